//! Multi-class losses with integer labels: softmax cross-entropy from
//! logits, and negative log-likelihood from log-probabilities.
//!
//! Labels are stored in the tape's index buffer ([`Tape::push_indices`]),
//! so recording allocates nothing once the tape is warm.
//!
//! [`Tape::push_indices`]: crate::Tape::push_indices

use crate::activation::shifted;
use crate::autodiff::{BackwardCtx, Saved, Slots, Var};
use crate::element::Element;
use crate::error::{Error, Result};
use crate::shape::Shape;

use super::Reduction;

/// Checks logits of shape `(batch, classes)` against one label per row,
/// each below `classes`; returns `(batch, classes)`.
fn check_labels(op: &'static str, shape: Shape, labels: &[usize]) -> Result<(usize, usize)> {
    let &[batch, classes] = shape.dims() else {
        return Err(Error::RankMismatch {
            op,
            expected: "2 (batch, classes)",
            shape,
        });
    };
    if labels.len() != batch {
        return Err(Error::ShapeMismatch {
            op,
            lhs: shape,
            rhs: Shape::vector(labels.len()),
            reason: "there must be one label per row of the input",
        });
    }
    if let Some(&bad) = labels.iter().find(|&&l| l >= classes) {
        return Err(Error::IndexOutOfRange {
            op,
            index: bad,
            bound: classes,
            shape,
        });
    }
    Ok((batch, classes))
}

/// The saved state of the class losses: `batch` rows of `classes`, the
/// labels at `off` in the tape's index buffer, the reduction's `scale`.
#[derive(Clone, Copy, Debug)]
struct Labelled<F> {
    batch: usize,
    classes: usize,
    off: usize,
    scale: F,
}

impl<F: Element> Saved<F> for Labelled<F> {
    fn pack(self) -> Slots<F> {
        Slots {
            f: [self.scale, F::zero()],
            u: [self.batch, self.classes, self.off, 0],
        }
    }
    fn unpack(s: &Slots<F>) -> Self {
        Labelled {
            batch: s.u[0],
            classes: s.u[1],
            off: s.u[2],
            scale: s.f[0],
        }
    }
}

/// Backward of softmax cross-entropy: per row
/// `dx += g·s·(softmax(x) − onehot(label))`, the softmax read from the saved
/// row record (no exponential in the backward pass).
fn softmax_cross_entropy_backward<F: Element>(ctx: &mut BackwardCtx<'_, F>) {
    let Labelled {
        batch,
        classes,
        off,
        scale,
    } = ctx.saved();
    let record = ctx.input(1);
    let labels = &ctx.indices()[off..off + batch];
    let gs = ctx.grad_out()[0] * scale;
    let Some(gx) = ctx.grad_slot(0) else {
        return;
    };
    if classes == 0 {
        return;
    }
    let rows = gx
        .data
        .chunks_exact_mut(classes)
        .zip(record.chunks_exact(classes + 2));
    for ((grow, rec), &label) in rows.zip(labels) {
        if gx.accumulate {
            for (g, &prob) in grow.iter_mut().zip(&rec[..classes]) {
                *g += gs * prob;
            }
        } else {
            for (g, &prob) in grow.iter_mut().zip(&rec[..classes]) {
                *g = gs * prob;
            }
        }
        grow[label] -= gs;
    }
}

/// Softmax cross-entropy of logits `(batch, classes)` against integer
/// labels: per row `ln Σ_k e^{x_k} − x_label`, computed as
/// `(m − x_label) + ln Σ_k e^{x_k − m}` with `m` the row's maximum (no
/// exponential exceeds 1, so logits of ±10⁴ give finite, exact results);
/// gradient `softmax(x) − onehot(label)` per row, times the reduction's
/// scale ([`Reduction::Mean`] divides by the batch size).
///
/// Recorded as two nodes: a constant row record of shape
/// `(batch, classes + 2)` holding each row's softmax, its maximum `m` and
/// `ln Σ e^{x − m}` (one exponential per logit, computed once), and the
/// loss, whose backward reads the softmax back. See the
/// [module docs](super#infinite-logits) for `±∞` logits.
///
/// ```
/// use gradsign::{loss::{self, Reduction}, Tape, Tensor};
/// let tape = Tape::<f64>::new();
/// let x = tape.var(&Tensor::from_vec(vec![0.0, 0.0, 1e4, -1e4], &[2, 2])?);
/// let l = loss::softmax_cross_entropy(x, &[1, 0], Reduction::Sum)?;
/// assert_eq!(l.item()?, std::f64::consts::LN_2 + 0.0);
/// assert_eq!(l.backward()?.get(x)?, &[0.5, -0.5, 0.0, 0.0]);
/// assert!(loss::softmax_cross_entropy(x, &[2, 0], Reduction::Sum).is_err());
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// # Errors
/// [`Error::RankMismatch`] unless the logits are 2-D;
/// [`Error::ShapeMismatch`] if the number of labels is not the batch size;
/// [`Error::IndexOutOfRange`] for a label `≥ classes`; [`Error::Empty`] for
/// the mean over an empty batch; [`Error::NonFinite`] in checked mode.
pub fn softmax_cross_entropy<'t, F: Element>(
    logits: Var<'t, F>,
    labels: &[usize],
    reduction: Reduction,
) -> Result<Var<'t, F>> {
    const OP: &str = "softmax_cross_entropy";
    let shape = logits.shape();
    let (batch, classes) = check_labels(OP, shape, labels)?;
    let scale = reduction.scale::<F>(OP, batch, shape)?;
    let tape = logits.tape();
    let width = classes + 2;
    let record = tape.record_constant(
        "softmax_cross_entropy_record",
        &[logits],
        Shape::matrix(batch, width),
        |out, inp| {
            if classes == 0 {
                return;
            }
            let x = inp.value(0);
            for (row, rec) in x.chunks_exact(classes).zip(out.chunks_exact_mut(width)) {
                let m = row
                    .iter()
                    .fold(F::neg_infinity(), |m, &v| if v > m { v } else { m });
                let (probs, tail) = rec.split_at_mut(classes);
                let mut s = F::zero();
                for (p, &v) in probs.iter_mut().zip(row) {
                    *p = shifted(v, m).exp();
                    s += *p;
                }
                let inv = s.recip();
                probs.iter_mut().for_each(|p| *p *= inv);
                tail[0] = m;
                tail[1] = s.ln();
            }
        },
    )?;
    let off = tape.push_indices(labels);
    tape.record(
        OP,
        &[logits, record],
        Shape::scalar(),
        Labelled {
            batch,
            classes,
            off,
            scale,
        },
        softmax_cross_entropy_backward,
        |out, inp| {
            let (x, record) = (inp.value(0), inp.value(1));
            let labels = &inp.indices()[off..off + batch];
            let mut total = F::zero();
            for (r, &label) in labels.iter().enumerate() {
                // (m − x_label) + ln s, with m − x_label = 0 when the label
                // holds the maximum (even an infinite one).
                let (m, ln_s) = (record[r * width + classes], record[r * width + classes + 1]);
                total += ln_s - shifted(x[r * classes + label], m);
            }
            out[0] = total * scale;
            if !out[0].is_finite() && scale != F::one() {
                // An overflowing running sum of finite row losses: sum
                // them scaled instead (see `nll`).
                out[0] = labels.iter().enumerate().fold(F::zero(), |a, (r, &label)| {
                    let (m, ln_s) = (record[r * width + classes], record[r * width + classes + 1]);
                    a + (ln_s - shifted(x[r * classes + label], m)) * scale
                });
            }
        },
    )
}

/// Backward of nll: `dx[r, label_r] −= g·s`.
fn nll_backward<F: Element>(ctx: &mut BackwardCtx<'_, F>) {
    let Labelled {
        batch,
        classes,
        off,
        scale,
    } = ctx.saved();
    let labels = &ctx.indices()[off..off + batch];
    let gs = ctx.grad_out()[0] * scale;
    if let Some(gx) = ctx.grad_input(0) {
        for (r, &label) in labels.iter().enumerate() {
            gx[r * classes + label] -= gs;
        }
    }
}

/// Negative log-likelihood of log-probabilities `(batch, classes)` (for
/// instance from [`Var::log_softmax`]) against integer labels: per row
/// `−x_label`; gradient `−1` at each row's label, 0 elsewhere, times the
/// reduction's scale. `nll(log_softmax(x, 1))` equals
/// [`softmax_cross_entropy`]`(x)`, which is the fused, faster form.
///
/// ```
/// use gradsign::{loss::{self, Reduction}, Tape, Tensor};
/// let tape = Tape::<f64>::new();
/// let lp = tape.var(&Tensor::from_vec(vec![-0.5, -1.0, -2.0, -0.25], &[2, 2])?);
/// let l = loss::nll(lp, &[1, 0], Reduction::Mean)?;
/// assert_eq!(l.item()?, 1.5); // (1 + 2)/2
/// assert_eq!(l.backward()?.get(lp)?, &[0.0, -0.5, -0.5, 0.0]);
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// # Errors
/// As [`softmax_cross_entropy`].
pub fn nll<'t, F: Element>(
    log_probs: Var<'t, F>,
    labels: &[usize],
    reduction: Reduction,
) -> Result<Var<'t, F>> {
    const OP: &str = "nll";
    let shape = log_probs.shape();
    let (batch, classes) = check_labels(OP, shape, labels)?;
    let scale = reduction.scale::<F>(OP, batch, shape)?;
    let tape = log_probs.tape();
    let off = tape.push_indices(labels);
    tape.record(
        OP,
        &[log_probs],
        Shape::scalar(),
        Labelled {
            batch,
            classes,
            off,
            scale,
        },
        nll_backward,
        |out, inp| {
            let x = inp.value(0);
            let labels = &inp.indices()[off..off + batch];
            let mut total = F::zero();
            for (r, &label) in labels.iter().enumerate() {
                total -= x[r * classes + label];
            }
            out[0] = total * scale;
            if !out[0].is_finite() && scale != F::one() {
                // The running sum of finite log-probabilities overflowed
                // (rows of −1e38 in f32): the mean is finite, so sum the
                // scaled terms.
                out[0] = labels.iter().enumerate().fold(F::zero(), |a, (r, &label)| {
                    a - x[r * classes + label] * scale
                });
            }
        },
    )
}
