//! Reductions: sum and mean, over everything or along one axis.

use crate::autodiff::{BackwardCtx, Saved, Slots, Var};
use crate::element::Element;
use crate::error::{Error, Result};
use crate::shape::Shape;

/// The saved state of an axis reduction: the shape as `[outer, len,
/// inner]` around the axis, and the scale `c` (1 for a sum, `1/len` for a
/// mean).
#[derive(Clone, Copy, Debug)]
struct AxisReduction<F> {
    outer: usize,
    len: usize,
    inner: usize,
    scale: F,
}

impl<F: Element> Saved<F> for AxisReduction<F> {
    fn pack(self) -> Slots<F> {
        Slots {
            f: [self.scale, F::zero()],
            u: [self.outer, self.len, self.inner, 0],
        }
    }
    fn unpack(s: &Slots<F>) -> Self {
        let [outer, len, inner, _] = s.u;
        AxisReduction {
            outer,
            len,
            inner,
            scale: s.f[0],
        }
    }
}

/// Backward of a full reduction `y = c·Σx`: `dx_i += c·g` (the scale `c`
/// is the saved state).
fn reduce_all_backward<F: Element>(ctx: &mut BackwardCtx<'_, F>) {
    let scale: F = ctx.saved();
    let g = ctx.grad_out()[0] * scale;
    if let Some(gx) = ctx.grad_slot(0) {
        if gx.accumulate {
            gx.data.iter_mut().for_each(|x| *x += g);
        } else {
            gx.data.fill(g);
        }
    }
}

/// Backward of an axis reduction `y[o, i] = c·Σ_k x[o, k, i]`: every `x[o, k, i]`
/// receives `c·g[o, i]`.
fn reduce_axis_backward<F: Element>(ctx: &mut BackwardCtx<'_, F>) {
    let AxisReduction {
        outer,
        len,
        inner,
        scale,
    } = ctx.saved();
    let g = ctx.grad_out();
    if let Some(gx) = ctx.grad_input(0) {
        for o in 0..outer {
            let grow = &g[o * inner..(o + 1) * inner];
            for k in 0..len {
                let xrow = &mut gx[(o * len + k) * inner..(o * len + k + 1) * inner];
                for (x, &gi) in xrow.iter_mut().zip(grow) {
                    *x += gi * scale;
                }
            }
        }
    }
}

/// Below this length a sum is one sequential loop.
const PAIRWISE_BLOCK: usize = 128;

/// `Σx` by pairwise summation over blocks: the rounding error grows like
/// `u·log₂(n/128)` instead of `u·n`, so an f32 sum of millions of elements
/// stays accurate (a running f32 total stops growing at 2²⁴ when adding ones).
/// Recursion depth is `log₂(n/128)`, and nothing is allocated.
fn pairwise_sum<F: Element>(x: &[F]) -> F {
    if x.len() <= PAIRWISE_BLOCK {
        x.iter().fold(F::zero(), |a, &v| a + v)
    } else {
        let (lo, hi) = x.split_at(x.len() / 2);
        pairwise_sum(lo) + pairwise_sum(hi)
    }
}

/// `scale·Σx`, without the spurious overflow of the sum when it is a mean
/// (`scale < 1`) of finite values: `mean([f32::MAX; 2])` is `f32::MAX`,
/// not `+∞`. The common case is one pairwise sum; only an overflowing one
/// is summed again, term by term scaled.
pub(crate) fn scaled_sum<F: Element>(x: &[F], scale: F) -> F {
    let s = pairwise_sum(x) * scale;
    if s.is_finite() || scale == F::one() || !x.iter().all(|v| v.is_finite()) {
        return s;
    }
    scaled_pairwise_sum(x, scale)
}

fn scaled_pairwise_sum<F: Element>(x: &[F], scale: F) -> F {
    if x.len() <= PAIRWISE_BLOCK {
        x.iter().fold(F::zero(), |a, &v| a + v * scale)
    } else {
        let (lo, hi) = x.split_at(x.len() / 2);
        scaled_pairwise_sum(lo, scale) + scaled_pairwise_sum(hi, scale)
    }
}

impl<'t, F: Element> Var<'t, F> {
    fn reduce_all(self, op: &'static str, scale: F) -> Result<Var<'t, F>> {
        self.tape().record(
            op,
            &[self],
            Shape::scalar(),
            scale,
            reduce_all_backward,
            |out, inp| {
                out[0] = scaled_sum(inp.value(0), scale);
            },
        )
    }

    fn reduce_axis(
        self,
        op: &'static str,
        axis: usize,
        keepdim: bool,
        mean: bool,
    ) -> Result<Var<'t, F>> {
        let shape = self.shape();
        shape.check_axis(op, axis)?;
        let (outer, len, inner) = shape.split_at_axis(axis);
        if mean && len == 0 {
            return Err(Error::Empty { op, shape });
        }
        let scale = if mean {
            F::from_f64(len as f64).recip()
        } else {
            F::one()
        };
        let out_shape = shape.with_axis(axis, keepdim.then_some(1));
        self.tape().record(
            op,
            &[self],
            out_shape,
            AxisReduction {
                outer,
                len,
                inner,
                scale,
            },
            reduce_axis_backward,
            |out, inp| {
                let x = inp.value(0);
                for o in 0..outer {
                    let orow = &mut out[o * inner..(o + 1) * inner];
                    for k in 0..len {
                        let xrow = &x[(o * len + k) * inner..(o * len + k + 1) * inner];
                        for (a, &xi) in orow.iter_mut().zip(xrow) {
                            *a += xi;
                        }
                    }
                    orow.iter_mut().for_each(|a| *a *= scale);
                    if scale != F::one() {
                        for (j, a) in orow.iter_mut().enumerate() {
                            if !a.is_finite() {
                                // The running sum overflowed: a mean of
                                // finite values is finite, so sum the
                                // scaled terms instead.
                                let column = (0..len).map(|k| x[(o * len + k) * inner + j]);
                                if column.clone().all(|v| v.is_finite()) {
                                    *a = column.fold(F::zero(), |acc, v| acc + v * scale);
                                }
                            }
                        }
                    }
                }
            },
        )
    }

    /// The sum of every element, as a 0-d variable; d/dxᵢ = 1.
    ///
    /// ```
    /// use gradsign::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(&Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3])?);
    /// assert_eq!(x.sum().item()?, 6.0);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Panics
    /// Only in checked mode, on a non-finite sum ([`try_sum`](Self::try_sum)
    /// returns the error).
    #[track_caller]
    pub fn sum(self) -> Var<'t, F> {
        crate::error::or_panic(self.try_sum())
    }

    /// [`sum`](Self::sum), returning errors.
    ///
    /// # Errors
    /// [`Error::NonFinite`] in checked mode.
    pub fn try_sum(self) -> Result<Var<'t, F>> {
        self.reduce_all("sum", F::one())
    }

    /// The mean of every element, `(1/n)·Σxᵢ`; d/dxᵢ = 1/n.
    ///
    /// The mean of finite values is finite even where their sum overflows
    /// (`[f32::MAX; 2]` has mean `f32::MAX`): an overflowing sum is redone
    /// as `Σ(xᵢ/n)`. So is [`mean_axis`](Self::mean_axis), and the `Mean`
    /// reduction of every loss.
    ///
    /// ```
    /// use gradsign::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(&Tensor::from_vec(vec![1.0, 2.0, 6.0], &[3])?);
    /// assert_eq!(x.mean()?.item()?, 3.0);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Empty`] for an empty tensor (the mean of nothing).
    pub fn mean(self) -> Result<Var<'t, F>> {
        let shape = self.shape();
        if shape.numel() == 0 {
            return Err(Error::Empty { op: "mean", shape });
        }
        self.reduce_all("mean", F::from_f64(shape.numel() as f64).recip())
    }

    /// The sum along `axis`; the axis is kept with length 1 if `keepdim`.
    ///
    /// ```
    /// use gradsign::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(&Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?);
    /// assert_eq!(x.sum_axis(0, false)?.value().as_slice(), &[5.0, 7.0, 9.0]);
    /// assert_eq!(x.sum_axis(1, true)?.dims(), vec![2, 1]);
    /// assert!(x.sum_axis(2, false).is_err());
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::AxisOutOfRange`] if `axis ≥ rank`.
    pub fn sum_axis(self, axis: usize, keepdim: bool) -> Result<Var<'t, F>> {
        self.reduce_axis("sum_axis", axis, keepdim, false)
    }

    /// The mean along `axis`; the axis is kept with length 1 if `keepdim`.
    ///
    /// # Errors
    /// [`Error::AxisOutOfRange`] if `axis ≥ rank`; [`Error::Empty`] if the
    /// axis has length 0.
    pub fn mean_axis(self, axis: usize, keepdim: bool) -> Result<Var<'t, F>> {
        self.reduce_axis("mean_axis", axis, keepdim, true)
    }
}
