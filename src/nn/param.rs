//! Named parameters and their gradients, as optimisers receive them.

use std::fmt;

/// Whether a parameter is a layer's weight or its bias.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ParamKind {
    /// The weight matrix `(out, in)`.
    Weight,
    /// The bias vector `(out)`.
    Bias,
}

/// A parameter's name: its layer and kind. Displays as `layers.0.weight`,
/// `layers.0.bias`, ... without allocating.
///
/// ```
/// use gradsign::nn::{ParamKind, ParamName};
/// let n = ParamName { layer: 2, kind: ParamKind::Bias };
/// assert_eq!(n.to_string(), "layers.2.bias");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ParamName {
    /// The layer index, first layer 0.
    pub layer: usize,
    /// Weight or bias.
    pub kind: ParamKind,
}

impl fmt::Display for ParamName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            ParamKind::Weight => "weight",
            ParamKind::Bias => "bias",
        };
        write!(f, "layers.{}.{kind}", self.layer)
    }
}

/// One parameter handed to an optimiser: its name, its values (to update in
/// place, row-major) and the gradient of the loss with respect to it (same
/// layout).
#[derive(Debug)]
pub struct Param<'a, F> {
    /// The parameter's name.
    pub name: ParamName,
    /// The values, updated in place.
    pub value: &'a mut [F],
    /// `∂L/∂value`.
    pub grad: &'a [F],
}
