//! Ops that pick elements by integer index or by a mask: `gather` (one
//! element per row, what a loss with labels needs), `index_select` (whole
//! slices along an axis) and `select` (element-wise choice between two
//! branches, with its NaN rule), plus `mask`, which turns a predicate into
//! the 0/1 condition `select` takes.
//!
//! Indices are validated when the op is recorded and stored in the tape's
//! index buffer ([`Tape::push_indices`](crate::Tape::push_indices)), so
//! recording allocates nothing once the tape is warm.

use crate::autodiff::{BackwardCtx, Var, saved_dims};
use crate::element::Element;
use crate::error::{Error, Result};
use crate::shape::{MAX_RANK, Shape, broadcast_shapes, broadcast_strides};

saved_dims! {
    /// The saved state of `gather`: the indices at `off..off + rows` of the
    /// tape's index buffer, one per row of a `rows × cols` input.
    struct Gather {
        off,
        rows,
        cols,
    }
}

saved_dims! {
    /// The saved state of `index_select`: the input as `[outer, len, inner]`
    /// around the axis, the indices from `off` in the index buffer.
    struct IndexSelect {
        outer,
        len,
        inner,
        off,
    }
}

/// Backward of `gather`: `dx[r, idx_r] += g[r]`.
fn gather_backward<F: Element>(ctx: &mut BackwardCtx<'_, F>) {
    let Gather { off, rows, cols } = ctx.saved();
    let (idx, g) = (&ctx.indices()[off..off + rows], ctx.grad_out());
    if let Some(gx) = ctx.grad_input(0) {
        for (r, (&i, &gr)) in idx.iter().zip(g).enumerate() {
            gx[r * cols + i] += gr;
        }
    }
}

/// Backward of `index_select`: output slice `j` adds into input slice
/// `idx_j` (repeated indices accumulate).
fn index_select_backward<F: Element>(ctx: &mut BackwardCtx<'_, F>) {
    let IndexSelect {
        outer,
        len,
        inner,
        off,
    } = ctx.saved();
    let g = ctx.grad_out();
    let k = g.len() / (outer * inner).max(1);
    let idx = &ctx.indices()[off..off + k];
    if let Some(gx) = ctx.grad_input(0) {
        for o in 0..outer {
            for (j, &i) in idx.iter().enumerate() {
                let src = &g[(o * k + j) * inner..(o * k + j + 1) * inner];
                let dst = &mut gx[(o * len + i) * inner..(o * len + i + 1) * inner];
                for (d, &s) in dst.iter_mut().zip(src) {
                    *d += s;
                }
            }
        }
    }
}

/// Calls `f(out_index, [cond, a, b] offsets)` for every element of the
/// broadcast shape `out`, each operand read through its broadcast strides.
fn for_each_broadcast3(
    out: Shape,
    strides: &[[usize; MAX_RANK]; 3],
    mut f: impl FnMut(usize, [usize; 3]),
) {
    let dims = out.dims();
    let mut idx = [0usize; MAX_RANK];
    let mut offs = [0usize; 3];
    for o in 0..out.numel() {
        f(o, offs);
        // Advance the multi-index like an odometer, keeping the offsets.
        for ax in (0..dims.len()).rev() {
            idx[ax] += 1;
            for (off, s) in offs.iter_mut().zip(strides) {
                *off += s[ax];
            }
            if idx[ax] < dims[ax] {
                break;
            }
            for (off, s) in offs.iter_mut().zip(strides) {
                *off -= s[ax] * dims[ax];
            }
            idx[ax] = 0;
        }
    }
}

/// Backward of `select`: the gradient of each output element goes, whole, to
/// the branch it came from; the other branch gets nothing added (exactly 0)
/// and the condition gets no gradient.
fn select_backward<F: Element>(ctx: &mut BackwardCtx<'_, F>) {
    let cond = ctx.input(0);
    let so = ctx.output_shape();
    let shapes = [ctx.input_shape(0), ctx.input_shape(1), ctx.input_shape(2)];
    let strides = shapes.map(|s| broadcast_strides(s, so));
    let g = ctx.grad_out();
    for (branch, chosen) in [(1, true), (2, false)] {
        if let Some(gx) = ctx.grad_input(branch) {
            for_each_broadcast3(so, &strides, |o, i| {
                if (cond[i[0]] != F::zero()) == chosen {
                    gx[i[branch]] += g[o];
                }
            });
        }
    }
}

/// Element-wise choice: `a` where `cond ≠ 0`, `b` where `cond = 0`, with
/// NumPy broadcasting over all three. The condition is usually a constant
/// 0/1 mask, for instance from [`Var::mask`]; any tensor works, and NaN
/// counts as true (as `bool(nan)` in NumPy).
///
/// VJP: `da = g` where chosen, `db = g` where chosen, summed over broadcast
/// axes; the condition receives no gradient (it is piecewise constant).
///
/// **NaN rule.** The output holds exactly the chosen branch's value: a NaN
/// or ±∞ in the unselected branch never reaches it. The gradient of the
/// unselected branch at those elements is exactly 0, not `0·g`: nothing is
/// added. An op *inside* that branch then multiplies this 0 by its own
/// derivative, and `0·∞ = NaN`: in `select(x > 0, x.sqrt(), 0)`, `sqrt`'s
/// derivative at `x < 0` is NaN and poisons `dx`. Make the branch's input
/// safe first (the "double where"): select a harmless value, such as 1, into
/// it where it will not be used, as in the example.
///
/// ```
/// use gradsign::{ops::select, Tape, Tensor};
/// let tape = Tape::<f64>::new();
/// let x = tape.var(&Tensor::from_vec(vec![-1.0, 4.0], &[2])?);
/// let positive = x.mask(|v| v > 0.0);                // constant 0/1
/// let (one, zero) = (tape.constant_scalar(1.0), tape.constant_scalar(0.0));
/// let safe = select(positive, x, one)?;               // [1, 4]: sqrt is smooth there
/// let y = select(positive, safe.sqrt(), zero)?;       // [0, 2]
/// assert_eq!(y.value().as_slice(), &[0.0, 2.0]);
/// let g = y.sum().backward()?;
/// assert_eq!(g.get(x)?, &[0.0, 0.25]);                // exactly 0, no NaN
///
/// // Without the inner select, sqrt's NaN derivative at −1 reaches dx.
/// let naive = select(positive, x.sqrt(), zero)?;
/// assert_eq!(naive.value().as_slice(), &[0.0, 2.0]);   // the value is fine
/// assert!(naive.sum().backward()?.get(x)?[0].is_nan()); // 0 · NaN
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// # Errors
/// [`Error::ShapeMismatch`] if the shapes do not broadcast;
/// [`Error::ForeignVar`] if the operands come from different tapes;
/// [`Error::NonFinite`] in checked mode, on a non-finite output.
pub fn select<'t, F: Element>(
    cond: Var<'t, F>,
    a: Var<'t, F>,
    b: Var<'t, F>,
) -> Result<Var<'t, F>> {
    let (sc, sa, sb) = (cond.shape(), a.shape(), b.shape());
    let sab = broadcast_shapes("select", sa, sb).map_err(|_| Error::ShapeMismatch {
        op: "select",
        lhs: sa,
        rhs: sb,
        reason: "the two branches do not broadcast",
    })?;
    let so = broadcast_shapes("select", sc, sab).map_err(|_| Error::ShapeMismatch {
        op: "select",
        lhs: sc,
        rhs: sab,
        reason: "the condition does not broadcast with the branches",
    })?;
    cond.tape().record(
        "select",
        &[cond, a, b],
        so,
        (),
        select_backward,
        |y, inp| {
            let (c, a, b) = (inp.value(0), inp.value(1), inp.value(2));
            if sc == so && sa == so && sb == so {
                for (((y, &c), &a), &b) in y.iter_mut().zip(c).zip(a).zip(b) {
                    *y = if c != F::zero() { a } else { b };
                }
            } else {
                let strides = [sc, sa, sb].map(|s| broadcast_strides(s, so));
                for_each_broadcast3(so, &strides, |o, [ic, ia, ib]| {
                    y[o] = if c[ic] != F::zero() { a[ia] } else { b[ib] };
                });
            }
        },
    )
}

impl<'t, F: Element> Var<'t, F> {
    /// Picks one element per row along the last axis: for `x` of shape
    /// `[.., C]` with `R` rows and one index per row, `y[r] = x[r, idx_r]`,
    /// of shape `[..]` (the last axis removed). For logits `[N, C]` and labels
    /// `[N]` this is `logits[n, label_n]`, the term a cross-entropy needs.
    /// VJP: `dx[r, idx_r] += g[r]`, every other element 0.
    ///
    /// ```
    /// use gradsign::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let logits = tape.var(&Tensor::from_vec(vec![0.1, 0.7, 0.2, 0.5, 0.3, 0.2], &[2, 3])?);
    /// let picked = logits.gather(&[1, 0])?;                 // labels 1 and 0
    /// assert_eq!(picked.value().as_slice(), &[0.7, 0.5]);
    /// let g = picked.sum().backward()?;
    /// assert_eq!(g.get(logits)?, &[0.0, 1.0, 0.0, 1.0, 0.0, 0.0]);
    /// assert!(logits.gather(&[1, 3]).is_err());             // label 3 ≥ 3 classes
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::RankMismatch`] for a 0-d input; [`Error::ShapeMismatch`]
    /// unless there is exactly one index per row (the shapes named are the
    /// input's and `[indices.len()]`); [`Error::IndexOutOfRange`] for an
    /// index not below the last axis' length.
    pub fn gather(self, indices: &[usize]) -> Result<Var<'t, F>> {
        let shape = self.shape();
        if shape.rank() == 0 {
            return Err(Error::RankMismatch {
                op: "gather",
                expected: "at least 1",
                shape,
            });
        }
        let last = shape.rank() - 1;
        let (rows, cols, _) = shape.split_at_axis(last);
        if indices.len() != rows {
            return Err(Error::ShapeMismatch {
                op: "gather",
                lhs: shape,
                rhs: Shape::vector(indices.len()),
                reason: "needs one index per row of the last axis",
            });
        }
        if let Some(&bad) = indices.iter().find(|&&i| i >= cols) {
            return Err(Error::IndexOutOfRange {
                op: "gather",
                index: bad,
                bound: cols,
                shape,
            });
        }
        let off = self.tape().push_indices(indices);
        self.tape().record(
            "gather",
            &[self],
            shape.with_axis(last, None),
            Gather { off, rows, cols },
            gather_backward,
            |y, inp| {
                let (x, idx) = (inp.value(0), &inp.indices()[off..off + rows]);
                for (r, (y, &i)) in y.iter_mut().zip(idx).enumerate() {
                    *y = x[r * cols + i];
                }
            },
        )
    }

    /// The slices `indices[0], indices[1], ...` along `axis`, in that order
    /// (repeats allowed): the output has `indices.len()` entries on `axis`.
    /// VJP: each output slice's gradient is added into the input slice it
    /// came from, so a repeated index accumulates.
    ///
    /// ```
    /// use gradsign::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(&Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2])?);
    /// let rows = x.index_select(0, &[2, 0, 2])?;
    /// assert_eq!(rows.value().as_slice(), &[5.0, 6.0, 1.0, 2.0, 5.0, 6.0]);
    /// let g = rows.sum().backward()?;
    /// assert_eq!(g.get(x)?, &[1.0, 1.0, 0.0, 0.0, 2.0, 2.0]); // row 2 picked twice
    /// assert!(x.index_select(1, &[2]).is_err());
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::AxisOutOfRange`] if `axis ≥ rank`; [`Error::IndexOutOfRange`]
    /// for an index not below the axis length; [`Error::TooLarge`] if the
    /// result's shape overflows a `usize`.
    pub fn index_select(self, axis: usize, indices: &[usize]) -> Result<Var<'t, F>> {
        let shape = self.shape();
        shape.check_axis("index_select", axis)?;
        let (outer, len, inner) = shape.split_at_axis(axis);
        if let Some(&bad) = indices.iter().find(|&&i| i >= len) {
            return Err(Error::IndexOutOfRange {
                op: "index_select",
                index: bad,
                bound: len,
                shape,
            });
        }
        let k = indices.len();
        // More indices than the axis is long can grow an empty shape past
        // usize: 6 picks along axis 0 of [1, 2⁶², 0] (found by fuzzing).
        let out = shape.with_axis(axis, Some(k));
        let out = Shape::new(out.dims()).map_err(|_| Error::TooLarge {
            op: "index_select",
            what: format!("{k} indices along axis {axis} of {shape}"),
            reason: format!("the result {out} has more elements than a usize counts"),
        })?;
        let off = self.tape().push_indices(indices);
        self.tape().record(
            "index_select",
            &[self],
            out,
            IndexSelect {
                outer,
                len,
                inner,
                off,
            },
            index_select_backward,
            |y, inp| {
                let (x, idx) = (inp.value(0), &inp.indices()[off..off + k]);
                for o in 0..outer {
                    for (j, &i) in idx.iter().enumerate() {
                        let src = (o * len + i) * inner;
                        y[(o * k + j) * inner..(o * k + j + 1) * inner]
                            .copy_from_slice(&x[src..src + inner]);
                    }
                }
            },
        )
    }

    /// A constant 0/1 tensor of this variable's shape: 1 where `pred` holds.
    /// It is the condition [`select`] takes, and receives no gradient.
    ///
    /// ```
    /// use gradsign::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(&Tensor::from_vec(vec![-2.0, 0.0, 3.0], &[3])?);
    /// let m = x.mask(|v| v > 0.0);
    /// assert_eq!(m.value().as_slice(), &[0.0, 0.0, 1.0]);
    /// assert!(!m.requires_grad());
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    pub fn mask(self, pred: impl Fn(F) -> bool) -> Var<'t, F> {
        self.tape()
            .record_constant("mask", &[self], self.shape(), |out, inp| {
                for (o, &x) in out.iter_mut().zip(inp.value(0)) {
                    *o = if pred(x) { F::one() } else { F::zero() };
                }
            })
            .expect("mask records on the variable's own tape")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Tape, Tensor};

    fn t(data: &[f64]) -> Tensor<f64> {
        Tensor::from_slice(data, &[data.len()]).unwrap()
    }

    #[test]
    fn select_keeps_non_finite_unselected_values_out_of_value_and_gradient() {
        let tape = Tape::<f64>::new();
        let cond = tape.constant(&t(&[1.0, 0.0]));
        let a = tape.var(&t(&[1.0, f64::NAN]));
        let b = tape.var(&t(&[f64::INFINITY, 2.0]));
        let y = select(cond, a, b).unwrap();
        assert_eq!(y.value().as_slice(), &[1.0, 2.0]);
        // Upstream weights 3 and 5: each goes whole to the chosen branch,
        // and the other branch gets exactly 0, not 0·g.
        let w = tape.constant(&t(&[3.0, 5.0]));
        let g = (y * w).sum().backward().unwrap();
        assert_eq!(g.get(a).unwrap(), &[3.0, 0.0]);
        assert_eq!(g.get(b).unwrap(), &[0.0, 5.0]);
    }

    #[test]
    fn select_gives_the_unselected_branch_zero_even_for_an_infinite_upstream() {
        // grad_out = ∞ at an element: 0·∞ would be NaN in the other branch.
        let tape = Tape::<f64>::new();
        let cond = tape.constant(&t(&[1.0]));
        let (a, b) = (tape.var(&t(&[0.0])), tape.var(&t(&[0.0])));
        let y = select(cond, a, b).unwrap();
        let g = y.backward_with_seed(&t(&[f64::INFINITY])).unwrap();
        assert_eq!(g.get(a).unwrap(), &[f64::INFINITY]);
        assert_eq!(g.get(b).unwrap(), &[0.0]);
    }

    #[test]
    fn select_treats_any_non_zero_condition_including_nan_as_true() {
        let tape = Tape::<f64>::new();
        let cond = tape.constant(&t(&[f64::NAN, -0.5, 0.0, -0.0]));
        let a = tape.constant(&t(&[1.0; 4]));
        let b = tape.constant(&t(&[2.0; 4]));
        let y = select(cond, a, b).unwrap();
        assert_eq!(y.value().as_slice(), &[1.0, 1.0, 2.0, 2.0]);
    }

    #[test]
    fn a_differentiable_condition_receives_zero_gradient() {
        let tape = Tape::<f64>::new();
        let c = tape.var(&t(&[1.0, 0.0]));
        let a = tape.var(&t(&[4.0, 5.0]));
        let g = select(c, a, a * 2.0).unwrap().sum().backward().unwrap();
        assert_eq!(g.get(c).unwrap(), &[0.0, 0.0]);
        // Element 0 from a, element 1 from 2a.
        assert_eq!(g.get(a).unwrap(), &[1.0, 2.0]);
    }

    #[test]
    fn select_broadcasts_a_scalar_branch_and_sums_its_gradient() {
        let tape = Tape::<f64>::new();
        let cond = tape.constant(&Tensor::from_vec(vec![1.0, 0.0, 0.0, 1.0], &[2, 2]).unwrap());
        let a = tape.var(&Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap());
        let zero = tape.var_scalar(0.0);
        let y = select(cond, a, zero).unwrap();
        assert_eq!(y.value().as_slice(), &[1.0, 0.0, 0.0, 4.0]);
        let g = y.sum().backward().unwrap();
        // The scalar was chosen at two elements: dΣy/dzero = 2.
        assert_eq!(g.get(zero).unwrap(), &[2.0]);
        assert_eq!(g.get(a).unwrap(), &[1.0, 0.0, 0.0, 1.0]);
    }

    #[test]
    fn gather_on_a_rank_3_input_picks_along_the_last_axis() {
        let tape = Tape::<f64>::new();
        let x = tape
            .var(&Tensor::from_fn(&[2, 2, 3], |i| (i[0] * 6 + i[1] * 3 + i[2]) as f64).unwrap());
        let y = x.gather(&[2, 0, 1, 1]).unwrap();
        assert_eq!(y.dims(), vec![2, 2]);
        // Row r starts at 3r: picks 0+2, 3+0, 6+1, 9+1.
        assert_eq!(y.value().as_slice(), &[2.0, 3.0, 7.0, 10.0]);
    }

    #[test]
    fn index_select_with_no_indices_gives_an_empty_axis_and_zero_gradient() {
        let tape = Tape::<f64>::new();
        let x = tape.var(&Tensor::<f64>::ones(&[2, 3]).unwrap());
        let y = x.index_select(1, &[]).unwrap();
        assert_eq!(y.dims(), vec![2, 0]);
        assert_eq!(y.sum().backward().unwrap().get(x).unwrap(), &[0.0; 6]);
    }
}
