//! Binary classification losses on raw scores: binary cross-entropy with
//! logits, and the hinge loss.

use crate::activation::SigmoidOp;
use crate::autodiff::Var;
use crate::element::Element;
use crate::error::Result;
use crate::ops::UnaryOp;

use super::Reduction;
use super::elementwise::{ElementLoss, check_values, element_loss};

/// `−y·ln σ(x) − (1 − y)·ln(1 − σ(x))`, in the stable form
/// `max(x, 0) − x·y + ln(1 + e^{−|x|})`; `∂/∂x = σ(x) − y`, `∂/∂y = −x`.
struct BceWithLogits;
impl<F: Element> ElementLoss<F> for BceWithLogits {
    const NAME: &'static str = "bce_with_logits";
    #[inline]
    fn loss(x: F, y: F, _: F) -> F {
        // max(x, 0) − x·y split by the sign of x, with 0·∞ read as the
        // limit 0: at x = +∞ with y = 1 (or x = −∞ with y = 0) the label
        // agrees and the loss is 0, not NaN.
        let linear = if x > F::zero() {
            let miss = F::one() - y;
            if miss == F::zero() { miss } else { x * miss }
        } else if y == F::zero() {
            y
        } else {
            -x * y
        };
        linear + (-x.abs()).exp().ln_1p()
    }
    #[inline]
    fn d_pred(x: F, y: F, _: F) -> F {
        SigmoidOp::f(x, ()) - y
    }
    #[inline]
    fn d_target(x: F, _: F, _: F) -> F {
        -x
    }
}

/// `max(0, 1 − y·x)`; `∂/∂x = −y` where `y·x < 1`, else 0 (a kink at
/// `y·x = 1`); `∂/∂y = −x` there, else 0.
struct Hinge;
impl<F: Element> ElementLoss<F> for Hinge {
    const NAME: &'static str = "hinge";
    #[inline]
    fn loss(x: F, y: F, _: F) -> F {
        (F::one() - y * x).max(F::zero())
    }
    #[inline]
    fn d_pred(x: F, y: F, _: F) -> F {
        if y * x < F::one() { -y } else { F::zero() }
    }
    #[inline]
    fn d_target(x: F, y: F, _: F) -> F {
        if y * x < F::one() { -x } else { F::zero() }
    }
}

/// Binary cross-entropy of logits `x` against targets `y ∈ [0, 1]`:
/// per element `−y·ln σ(x) − (1 − y)·ln(1 − σ(x))`, computed as
/// `max(x, 0) − x·y + ln(1 + e^{−|x|})` so that no exponential exceeds 1
/// and no logarithm sees 0; gradient `σ(x) − y` (times the reduction's
/// scale). One fused op.
///
/// At logits of ±10⁴ the loss is exactly 0 (label agrees) or 10⁴, and the
/// gradient 0 or ±1; at ±∞, see the [module docs](super#infinite-logits).
///
/// ```
/// use gradsign::{loss::{self, Reduction}, Tape, Tensor};
/// let tape = Tape::<f32>::new();
/// let x = tape.var(&Tensor::from_vec(vec![1e4, 1e4, -1e4, 0.0], &[4])?);
/// let y = tape.constant(&Tensor::from_vec(vec![1.0, 0.0, 1.0, 1.0], &[4])?);
/// let l = loss::bce_with_logits(x, y, Reduction::Sum)?;
/// assert_eq!(l.item()?, 0.0 + 1e4 + 1e4 + std::f32::consts::LN_2);
/// assert_eq!(l.backward()?.get(x)?, &[0.0, 1.0, -1.0, -0.5]);
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// # Errors
/// [`Error::OutOfDomain`](crate::Error::OutOfDomain) if a target
/// lies outside `[0, 1]` (or is NaN), naming its index and value;
/// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) unless the shapes
/// are equal; [`Error::Empty`](crate::Error::Empty) for the mean of
/// nothing; [`Error::NonFinite`](crate::Error::NonFinite) in checked mode.
pub fn bce_with_logits<'t, F: Element>(
    logits: Var<'t, F>,
    targets: Var<'t, F>,
    reduction: Reduction,
) -> Result<Var<'t, F>> {
    check_values(
        "bce_with_logits",
        targets,
        "the targets",
        "in [0, 1]",
        |y| y >= F::zero() && y <= F::one(),
    )?;
    element_loss::<F, BceWithLogits>(logits, targets, reduction, F::zero())
}

/// The hinge loss of scores `x` against labels `y ∈ {−1, +1}`: per element
/// `max(0, 1 − y·x)`, zero once the margin `y·x` reaches 1; gradient `−y`
/// inside the margin, 0 outside (a kink at `y·x = 1`, where it is 0).
///
/// ```
/// use gradsign::{loss::{self, Reduction}, Tape, Tensor};
/// let tape = Tape::<f64>::new();
/// let x = tape.var(&Tensor::from_vec(vec![2.0, 0.5, 0.5], &[3])?);
/// let y = tape.constant(&Tensor::from_vec(vec![1.0, 1.0, -1.0], &[3])?);
/// let l = loss::hinge(x, y, Reduction::Sum)?;
/// assert_eq!(l.item()?, 0.0 + 0.5 + 1.5);
/// assert_eq!(l.backward()?.get(x)?, &[0.0, -1.0, 1.0]);
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// # Errors
/// [`Error::OutOfDomain`](crate::Error::OutOfDomain) if a label is
/// not exactly `−1` or `+1`, naming its index and value; otherwise as
/// [`bce_with_logits`].
pub fn hinge<'t, F: Element>(
    scores: Var<'t, F>,
    labels: Var<'t, F>,
    reduction: Reduction,
) -> Result<Var<'t, F>> {
    check_values("hinge", labels, "the labels", "−1 or +1", |y| {
        y == F::one() || y == -F::one()
    })?;
    element_loss::<F, Hinge>(scores, labels, reduction, F::zero())
}
