//! Regression losses: mean squared error, mean absolute error, Huber.

use crate::autodiff::Var;
use crate::element::Element;
use crate::error::{Error, Result};

use super::Reduction;
use super::elementwise::{ElementLoss, element_loss};

/// `(x − t)²`; `∂/∂x = 2(x − t) = −∂/∂t`.
struct Mse;
impl<F: Element> ElementLoss<F> for Mse {
    const NAME: &'static str = "mse";
    #[inline]
    fn loss(x: F, t: F, _: F) -> F {
        let r = x - t;
        r * r
    }
    #[inline]
    fn d_pred(x: F, t: F, _: F) -> F {
        let r = x - t;
        r + r
    }
    #[inline]
    fn d_target(x: F, t: F, c: F) -> F {
        -<Self as ElementLoss<F>>::d_pred(x, t, c)
    }
}

/// The sign of `r`, 0 at 0 (and NaN for NaN).
#[inline]
fn sign<F: Element>(r: F) -> F {
    if r > F::zero() {
        F::one()
    } else if r < F::zero() {
        -F::one()
    } else {
        r * F::zero()
    }
}

/// `|x − t|`; `∂/∂x = sign(x − t)`, 0 at `x = t` (a kink).
struct Mae;
impl<F: Element> ElementLoss<F> for Mae {
    const NAME: &'static str = "mae";
    #[inline]
    fn loss(x: F, t: F, _: F) -> F {
        (x - t).abs()
    }
    #[inline]
    fn d_pred(x: F, t: F, _: F) -> F {
        sign(x - t)
    }
    #[inline]
    fn d_target(x: F, t: F, _: F) -> F {
        -sign(x - t)
    }
}

/// Huber with threshold `δ = c`: `½r²` for `|r| ≤ δ`, `δ(|r| − ½δ)` beyond;
/// `∂/∂x = clamp(r, −δ, δ)`.
struct Huber;
impl<F: Element> ElementLoss<F> for Huber {
    const NAME: &'static str = "huber";
    #[inline]
    fn loss(x: F, t: F, delta: F) -> F {
        let r = (x - t).abs();
        let half = F::from_f64(0.5);
        if r <= delta {
            half * r * r
        } else {
            delta * (r - half * delta)
        }
    }
    #[inline]
    fn d_pred(x: F, t: F, delta: F) -> F {
        let r = x - t;
        if r > delta {
            delta
        } else if r < -delta {
            -delta
        } else {
            r
        }
    }
    #[inline]
    fn d_target(x: F, t: F, delta: F) -> F {
        -<Self as ElementLoss<F>>::d_pred(x, t, delta)
    }
}

/// Mean squared error `s·Σᵢ (xᵢ − tᵢ)²` (`s = 1/n` for
/// [`Reduction::Mean`]); gradient `2s(x − t)` for the prediction and its
/// negative for the target. One fused op.
///
/// ```
/// use gradsign::{loss::{self, Reduction}, Tape, Tensor};
/// let tape = Tape::<f64>::new();
/// let p = tape.var(&Tensor::from_vec(vec![1.0, 2.0], &[2, 1])?);
/// let t = tape.constant(&Tensor::from_vec(vec![0.0, 4.0], &[2, 1])?);
/// let l = loss::mse(p, t, Reduction::Mean)?;
/// assert_eq!(l.item()?, 2.5); // (1 + 4)/2
/// assert_eq!(l.backward()?.get(p)?, &[1.0, -2.0]); // 2(x − t)/2
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// # Errors
/// [`Error::ShapeMismatch`] unless `pred` and `target` have the same shape
/// (no broadcasting: a `(n, 1)` against an `(n,)` is a bug, not a wish);
/// [`Error::Empty`] for the mean of nothing; [`Error::NonFinite`] in
/// checked mode.
pub fn mse<'t, F: Element>(
    pred: Var<'t, F>,
    target: Var<'t, F>,
    reduction: Reduction,
) -> Result<Var<'t, F>> {
    element_loss::<F, Mse>(pred, target, reduction, F::zero())
}

/// Mean absolute error `s·Σᵢ |xᵢ − tᵢ|`; gradient `s·sign(x − t)`, 0 where
/// `x = t` (a kink).
///
/// ```
/// use gradsign::{loss::{self, Reduction}, Tape, Tensor};
/// let tape = Tape::<f64>::new();
/// let p = tape.var(&Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3])?);
/// let t = tape.constant(&Tensor::from_vec(vec![0.0, 2.0, 5.0], &[3])?);
/// let l = loss::mae(p, t, Reduction::Sum)?;
/// assert_eq!(l.item()?, 3.0);
/// assert_eq!(l.backward()?.get(p)?, &[1.0, 0.0, -1.0]);
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// # Errors
/// As [`mse`].
pub fn mae<'t, F: Element>(
    pred: Var<'t, F>,
    target: Var<'t, F>,
    reduction: Reduction,
) -> Result<Var<'t, F>> {
    element_loss::<F, Mae>(pred, target, reduction, F::zero())
}

/// The Huber loss with threshold `δ`: per element `½r²` for `|r| ≤ δ` and
/// `δ(|r| − ½δ)` beyond (`r = x − t`), quadratic near the target and linear
/// far from it; gradient `clamp(r, −δ, δ)` (continuous: no kink).
///
/// ```
/// use gradsign::{loss::{self, Reduction}, Tape, Tensor};
/// let tape = Tape::<f64>::new();
/// let p = tape.var(&Tensor::from_vec(vec![0.5, 3.0], &[2])?);
/// let t = tape.constant(&Tensor::from_vec(vec![0.0, 0.0], &[2])?);
/// let l = loss::huber(p, t, 1.0, Reduction::Sum)?;
/// assert_eq!(l.item()?, 0.125 + 2.5); // ½·0.5², 1·(3 − ½)
/// assert_eq!(l.backward()?.get(p)?, &[0.5, 1.0]);
/// assert!(loss::huber(p, t, 0.0, Reduction::Sum).is_err());
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidArgument`] unless `δ` is finite and positive; otherwise
/// as [`mse`].
pub fn huber<'t, F: Element>(
    pred: Var<'t, F>,
    target: Var<'t, F>,
    delta: F,
    reduction: Reduction,
) -> Result<Var<'t, F>> {
    if !(delta.is_finite() && delta > F::zero()) {
        return Err(Error::out_of_domain("huber", "δ", "finite and > 0", delta));
    }
    element_loss::<F, Huber>(pred, target, reduction, delta)
}
