//! Numerically stable losses, each one fused op: one pass over the data
//! forward, one pass backward, nothing allocated beyond the tape.
//!
//! | loss | per element / row | inputs |
//! | --- | --- | --- |
//! | [`mse`] | `(x − t)²` | prediction, target (same shape) |
//! | [`mae`] | `\|x − t\|` | prediction, target |
//! | [`huber`] | `½r²` if `\|r\| ≤ δ`, else `δ(\|r\| − ½δ)` | prediction, target, `δ > 0` |
//! | [`bce_with_logits`] | `max(x, 0) − x·y + ln(1 + e^{−\|x\|})` | logits, targets in `[0, 1]` |
//! | [`hinge`] | `max(0, 1 − y·x)` | scores, labels `±1` |
//! | [`softmax_cross_entropy`] | `log Σ_k e^{x_k} − x_label` | logits `(batch, classes)`, `&[usize]` labels |
//! | [`nll`] | `−x_label` | log-probabilities `(batch, classes)`, `&[usize]` labels |
//!
//! [`Reduction::Mean`] divides the sum by the number of elements for the
//! element-wise losses and by the batch size for the class losses;
//! [`Reduction::Sum`] does not divide. Every loss returns a 0-d variable.
//!
//! # Infinite logits
//! The logit losses have a defined, finite-gradient limit at `±∞`:
//! - `bce_with_logits` at `x = ±∞`: loss 0 when the target agrees (`y = 1`
//!   at `+∞`, `y = 0` at `−∞`), `+∞` otherwise; gradient `σ(x) − y`, that
//!   is `1 − y` or `−y`, always finite.
//! - `softmax_cross_entropy`: the softmax follows the convention of
//!   [`Var::softmax`](crate::Var::softmax) (an entry equal to its row's
//!   maximum counts as `e⁰`), so a row whose label logit is the only `+∞`
//!   has loss 0 and gradient 0, a row where another logit is `+∞` or the
//!   label logit is `−∞` has loss `+∞` and the finite gradient
//!   `softmax − onehot`.
//! - `hinge` at `x = ±∞`: 0 when the sign agrees with the label, `+∞`
//!   otherwise, with gradient 0 or `−y`. `nll` at a `−∞` log-probability:
//!   `+∞`, gradient `−1` (times the reduction's scale).
//!
//! Non-finite predictions in the regression losses, and NaN logits in the
//! logit losses, give a non-finite loss (NaN propagates by IEEE 754 rules);
//! checked mode ([`Tape::set_checked`](crate::Tape::set_checked)) reports
//! the first one. Finite terms never give a spurious `+∞` under
//! [`Reduction::Mean`]: a running sum that overflows is redone as the sum
//! of the scaled terms.

mod binary;
mod classes;
mod elementwise;
mod regression;

pub use binary::{bce_with_logits, hinge};
pub use classes::{nll, softmax_cross_entropy};
pub use regression::{huber, mae, mse};

use crate::element::Element;
use crate::error::{Error, Result};
use crate::shape::Shape;

/// How a loss combines its per-element (or per-example) terms.
///
/// ```
/// use gradsign::{loss::{self, Reduction}, Tape, Tensor};
/// let tape = Tape::<f64>::new();
/// let p = tape.var(&Tensor::from_vec(vec![1.0, 3.0], &[2])?);
/// let t = tape.constant(&Tensor::from_vec(vec![0.0, 0.0], &[2])?);
/// assert_eq!(loss::mse(p, t, Reduction::Sum)?.item()?, 10.0);
/// assert_eq!(loss::mse(p, t, Reduction::Mean)?.item()?, 5.0);
/// # Ok::<(), gradsign::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Reduction {
    /// The mean over elements (element-wise losses) or examples (class losses).
    #[default]
    Mean,
    /// The sum.
    Sum,
}

impl Reduction {
    /// The factor applied to the sum of `count` terms: `1/count` or 1.
    ///
    /// # Errors
    /// [`Error::Empty`] for the mean of no terms.
    fn scale<F: Element>(self, op: &'static str, count: usize, shape: Shape) -> Result<F> {
        match self {
            Reduction::Sum => Ok(F::one()),
            Reduction::Mean if count == 0 => Err(Error::Empty { op, shape }),
            Reduction::Mean => Ok(F::from_f64(count as f64).recip()),
        }
    }
}
