//! Activation functions: each a differentiable element-wise op, and a value
//! of the [`Activation`] enum that layers take.

use crate::autodiff::{Params, Var};
use crate::element::Element;
use crate::error::Result;
use crate::ops::UnaryOp;

/// The logistic sigmoid `σ(x) = 1/(1 + e⁻ˣ)`; `σ'(x) = σ(x)(1 − σ(x))`,
/// read from the output. Stable for every finite `x`: `σ(−1000) = 0`.
pub struct SigmoidOp;
impl<F: Element> UnaryOp<F> for SigmoidOp {
    const NAME: &'static str = "sigmoid";
    #[inline]
    fn f(x: F, _: &Params<F>) -> F {
        if x >= F::zero() {
            (F::one() + (-x).exp()).recip()
        } else {
            let e = x.exp();
            e / (F::one() + e)
        }
    }
    #[inline]
    fn df(_: F, y: F, _: &Params<F>) -> F {
        y * (F::one() - y)
    }
}

/// The rectifier `max(x, 0)`; derivative 1 for `x > 0`, 0 for `x ≤ 0` (a
/// kink at 0). Outputs are non-negative with exact zeros.
pub struct ReluOp;
impl<F: Element> UnaryOp<F> for ReluOp {
    const NAME: &'static str = "relu";
    #[inline]
    fn f(x: F, _: &Params<F>) -> F {
        if x > F::zero() { x } else { x * F::zero() }
    }
    #[inline]
    fn df(x: F, _: F, _: &Params<F>) -> F {
        if x > F::zero() {
            F::one()
        } else if x.is_nan() {
            x
        } else {
            F::zero()
        }
    }
}

impl<'t, F: Element> Var<'t, F> {
    /// The logistic sigmoid ([`SigmoidOp`]).
    ///
    /// ```
    /// let tape = gradsign::Tape::<f64>::new();
    /// assert_eq!(tape.var_scalar(0.0).sigmoid().item()?, 0.5);
    /// assert_eq!(tape.var_scalar(-1000.0).sigmoid().item()?, 0.0);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Panics
    /// Only in checked mode, on a non-finite output.
    #[track_caller]
    pub fn sigmoid(self) -> Var<'t, F> {
        self.unary::<SigmoidOp>(Params::none())
    }

    /// The rectifier ([`ReluOp`]).
    ///
    /// # Panics
    /// Only in checked mode, on a non-finite output.
    #[track_caller]
    pub fn relu(self) -> Var<'t, F> {
        self.unary::<ReluOp>(Params::none())
    }
}

/// An activation function, as layers take it.
///
/// ```
/// use gradsign::{activation::Activation, Tape};
/// let tape = Tape::<f64>::new();
/// let x = tape.var_scalar(0.0);
/// assert_eq!(Activation::Sigmoid.apply(x)?.item()?, 0.5);
/// assert_eq!(Activation::Tanh.apply(x)?.item()?, 0.0);
/// # Ok::<(), gradsign::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Activation {
    /// `f(x) = x`.
    Identity,
    /// The logistic sigmoid.
    Sigmoid,
    /// The hyperbolic tangent.
    Tanh,
    /// The rectifier.
    Relu,
}

impl Activation {
    /// Applies the activation to a variable.
    ///
    /// # Errors
    /// [`Error::NonFinite`](crate::Error::NonFinite) in checked mode.
    pub fn apply<'t, F: Element>(self, x: Var<'t, F>) -> Result<Var<'t, F>> {
        match self {
            Activation::Identity => Ok(x),
            Activation::Sigmoid => x.try_unary::<SigmoidOp>(Params::none()),
            Activation::Tanh => x.try_tanh(),
            Activation::Relu => x.try_unary::<ReluOp>(Params::none()),
        }
    }
}
