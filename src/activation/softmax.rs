//! `softmax` and `log_softmax` along an axis: hand-written ops whose
//! backward reads only the output.
//!
//! Both subtract each lane's maximum before exponentiating, so no
//! exponential exceeds 1 and logits of ±10⁴ (or ±10³⁰⁰) are fine. An
//! infinite logit follows one convention: an element equal to its lane's
//! maximum contributes `e⁰ = 1`, even when that maximum is `+∞` (where
//! `x − max` would be `∞ − ∞ = NaN`). So a lane with one `+∞` gives the
//! one-hot limit, several `+∞` share the mass equally, `−∞` entries get
//! probability 0 (log-probability `−∞`), and a lane that is entirely `−∞`
//! is uniform. A NaN anywhere in a lane makes the whole lane NaN.

use crate::autodiff::{BackwardCtx, Var, saved_dims};
use crate::element::Element;
use crate::error::Result;

/// `x − m` with the convention above: 0 when `x` is an infinite lane maximum
/// `m` (where `∞ − ∞` would be NaN). A finite tie is left to the subtraction,
/// which is exactly 0 in value and keeps a dual number's tangent (`ẋ − ṁ`),
/// so exact Hessian-vector products see the softmax's curvature at ties.
#[inline]
pub(crate) fn shifted<F: Element>(x: F, m: F) -> F {
    if x == m && m.is_infinite() {
        F::zero()
    } else {
        x - m
    }
}

saved_dims! {
    /// The lanes along the softmax axis: the shape seen as
    /// `[outer, len, inner]` (the saved state of both softmax ops).
    struct Lanes {
        outer,
        len,
        inner,
    }
}

/// Runs `f(offset, stride, len)` for every lane: lane `(o, i)` holds
/// elements `o·len·inner + i + k·inner`, `k < len`.
#[inline]
fn for_each_lane(lanes: Lanes, mut f: impl FnMut(usize, usize, usize)) {
    let Lanes { outer, len, inner } = lanes;
    for o in 0..outer {
        for i in 0..inner {
            f(o * len * inner + i, inner, len);
        }
    }
}

/// The maximum of a lane, ignoring NaN (which then poisons the lane through
/// `x − m`); `−∞` for an empty lane.
#[inline]
fn lane_max<F: Element>(x: &[F], start: usize, stride: usize, len: usize) -> F {
    let mut m = F::neg_infinity();
    for k in 0..len {
        let v = x[start + k * stride];
        if v > m {
            m = v;
        }
    }
    m
}

/// Forward of both ops: writes `e^{x − m}` into `out` and returns its sum.
#[inline]
fn lane_exp<F: Element>(x: &[F], out: &mut [F], start: usize, stride: usize, len: usize) -> F {
    let m = lane_max(x, start, stride, len);
    let mut s = F::zero();
    for k in 0..len {
        let j = start + k * stride;
        let e = shifted(x[j], m).exp();
        out[j] = e;
        s += e;
    }
    s
}

/// Backward of softmax: `dx = y ⊙ (g − Σ_k g_k y_k)` along each lane.
fn softmax_backward<F: Element>(ctx: &mut BackwardCtx<'_, F>) {
    let lanes: Lanes = ctx.saved();
    let (gx, g, y) = ctx.split(0);
    if let Some(gx) = gx {
        for_each_lane(lanes, |start, stride, len| {
            let mut dot = F::zero();
            for k in 0..len {
                let j = start + k * stride;
                dot += g[j] * y[j];
            }
            for k in 0..len {
                let j = start + k * stride;
                gx[j] += y[j] * (g[j] - dot);
            }
        });
    }
}

/// Backward of log_softmax: `dx = g − softmax·Σ_k g_k`, with
/// `softmax = e^y` read from the output.
fn log_softmax_backward<F: Element>(ctx: &mut BackwardCtx<'_, F>) {
    let lanes: Lanes = ctx.saved();
    let (gx, g, y) = ctx.split(0);
    if let Some(gx) = gx {
        for_each_lane(lanes, |start, stride, len| {
            let mut total = F::zero();
            for k in 0..len {
                total += g[start + k * stride];
            }
            for k in 0..len {
                let j = start + k * stride;
                gx[j] += g[j] - y[j].exp() * total;
            }
        });
    }
}

impl<'t, F: Element> Var<'t, F> {
    /// The softmax along `axis`: `yᵢ = e^{xᵢ − m} / Σ_k e^{x_k − m}` with `m`
    /// the lane's maximum; VJP `dx = y ⊙ (g − ⟨g, y⟩)`, from the output.
    ///
    /// Infinite logits: an element equal to its lane's maximum counts as
    /// `e⁰ = 1` even when that maximum is `+∞`, so one `+∞` gives the one-hot
    /// limit, several `+∞` share the mass equally, `−∞` entries get 0, and a
    /// lane that is all `−∞` is uniform. A NaN makes its whole lane NaN.
    ///
    /// ```
    /// use gradsign::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(&Tensor::from_vec(vec![1e4, 0.0, -1e4, 0.0], &[2, 2])?);
    /// let y = x.softmax(1)?;
    /// assert_eq!(y.value().as_slice(), &[1.0, 0.0, 0.0, 1.0]);
    /// assert!(x.softmax(2).is_err());
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::AxisOutOfRange`](crate::Error::AxisOutOfRange) if
    /// `axis ≥ rank`; [`Error::NonFinite`](crate::Error::NonFinite) in checked
    /// mode.
    pub fn softmax(self, axis: usize) -> Result<Var<'t, F>> {
        let shape = self.shape();
        shape.check_axis("softmax", axis)?;
        let (outer, len, inner) = shape.split_at_axis(axis);
        let lanes = Lanes { outer, len, inner };
        self.tape().record(
            "softmax",
            &[self],
            shape,
            lanes,
            softmax_backward,
            |out, inp| {
                let x = inp.value(0);
                for_each_lane(lanes, |start, stride, len| {
                    let inv = lane_exp(x, out, start, stride, len).recip();
                    for k in 0..len {
                        out[start + k * stride] *= inv;
                    }
                });
            },
        )
    }

    /// The log-softmax along `axis`: `yᵢ = (xᵢ − m) − ln Σ_k e^{x_k − m}`;
    /// VJP `dx = g − e^y·Σ_k g_k`, from the output. Finite for finite logits
    /// of any size (`log_softmax([1e4, −1e4]) = [0, −2e4]`). Infinite
    /// logits follow [`softmax`](Self::softmax)'s convention: 0 at a lone
    /// `+∞`, `−∞` at a `−∞` logit.
    ///
    /// ```
    /// use gradsign::{Tape, Tensor};
    /// let tape = Tape::<f32>::new();
    /// let x = tape.var(&Tensor::from_vec(vec![1e4, -1e4], &[2])?);
    /// assert_eq!(x.log_softmax(0)?.value().as_slice(), &[0.0, -2e4]);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::AxisOutOfRange`](crate::Error::AxisOutOfRange) if
    /// `axis ≥ rank`; [`Error::NonFinite`](crate::Error::NonFinite) in checked
    /// mode (which a `−∞` log-probability is).
    pub fn log_softmax(self, axis: usize) -> Result<Var<'t, F>> {
        let shape = self.shape();
        shape.check_axis("log_softmax", axis)?;
        let (outer, len, inner) = shape.split_at_axis(axis);
        let lanes = Lanes { outer, len, inner };
        self.tape().record(
            "log_softmax",
            &[self],
            shape,
            lanes,
            log_softmax_backward,
            |out, inp| {
                let x = inp.value(0);
                for_each_lane(lanes, |start, stride, len| {
                    let m = lane_max(x, start, stride, len);
                    let mut s = F::zero();
                    for k in 0..len {
                        s += shifted(x[start + k * stride], m).exp();
                    }
                    let ln_s = s.ln();
                    for k in 0..len {
                        let j = start + k * stride;
                        out[j] = shifted(x[j], m) - ln_s;
                    }
                });
            },
        )
    }
}
