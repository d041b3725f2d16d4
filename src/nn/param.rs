//! A named parameter beside its gradient, for optimisers stepping over
//! parameters held outside any model.

/// One parameter handed to [`Optimizer::step_params`](crate::optim::Optimizer::step_params):
/// its name (which keys the optimiser's state), its values (updated in
/// place, row-major) and the gradient of the loss with respect to it (same
/// layout). Models need none of this: [`Optimizer::step`](crate::optim::Optimizer::step)
/// walks their named parameters itself.
#[derive(Debug)]
pub struct Param<'a, F> {
    /// The parameter's name.
    pub name: &'a str,
    /// The values, updated in place.
    pub value: &'a mut [F],
    /// `∂L/∂value`.
    pub grad: &'a [F],
}
