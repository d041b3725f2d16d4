//! Ops that move data without arithmetic: reshape, transpose, concat,
//! slice, detach.

use crate::autodiff::{BackwardCtx, Var, saved_dims};
use crate::element::Element;
use crate::error::{Error, Result};
use crate::shape::Shape;

/// Backward of reshape: the gradient's data is the same sequence.
fn reshape_backward<F: Element>(ctx: &mut BackwardCtx<'_, F>) {
    let g = ctx.grad_out();
    if let Some(gx) = ctx.grad_slot(0) {
        if gx.accumulate {
            for (x, &gi) in gx.data.iter_mut().zip(g) {
                *x += gi;
            }
        } else {
            gx.data.copy_from_slice(g);
        }
    }
}

saved_dims! {
    /// The saved state of a transpose of the last two axes: `batch`
    /// matrices of `r × c`.
    struct Transpose {
        batch,
        r,
        c,
    }
}

saved_dims! {
    /// The saved state of a concatenation: the output as `[outer, total,
    /// inner]` around the axis, and the number of inputs.
    struct Concat {
        outer,
        inner,
        total,
        inputs,
    }
}

saved_dims! {
    /// The saved state of a slice: the input as `[outer, len, inner]`
    /// around the axis, the window starting at `start`.
    struct Slice {
        outer,
        len,
        inner,
        start,
    }
}

/// Backward of a transpose of the last two axes.
fn transpose_backward<F: Element>(ctx: &mut BackwardCtx<'_, F>) {
    let Transpose { batch, r, c } = ctx.saved();
    let g = ctx.grad_out();
    if let Some(gx) = ctx.grad_input(0) {
        for t in 0..batch {
            let (gx, g) = (&mut gx[t * r * c..], &g[t * r * c..]);
            for i in 0..r {
                for j in 0..c {
                    gx[i * c + j] += g[j * r + i];
                }
            }
        }
    }
}

/// Backward of a concatenation of up to three inputs along one axis:
/// input `i` receives its block of every outer row of `grad_out`.
fn concat_backward<F: Element>(ctx: &mut BackwardCtx<'_, F>) {
    let Concat {
        outer,
        inner,
        total,
        inputs,
    } = ctx.saved();
    let g = ctx.grad_out();
    let mut start = 0;
    for i in 0..inputs {
        let block = ctx.input_shape(i).numel() / (outer * inner).max(1);
        if let Some(gx) = ctx.grad_input(i) {
            for o in 0..outer {
                let src = &g[(o * total + start) * inner..(o * total + start + block) * inner];
                let dst = &mut gx[o * block * inner..(o + 1) * block * inner];
                for (d, &s) in dst.iter_mut().zip(src) {
                    *d += s;
                }
            }
        }
        start += block;
    }
}

/// One concatenation node of at most three parts (shapes already checked).
fn concat_node<'t, F: Element>(parts: &[Var<'t, F>], axis: usize) -> Result<Var<'t, F>> {
    let first = parts[0].shape();
    let (outer, _, inner) = first.split_at_axis(axis);
    let mut lens = [0usize; 3];
    for (l, p) in lens.iter_mut().zip(parts) {
        *l = p.shape().dims()[axis];
    }
    let total: usize = lens.iter().sum();
    let out = first.with_axis(axis, Some(total));
    let p = Concat {
        outer,
        inner,
        total,
        inputs: parts.len(),
    };
    parts[0]
        .tape()
        .record("concat", parts, out, p, concat_backward, |y, inp| {
            let mut start = 0;
            for (i, &len) in lens.iter().enumerate().take(parts.len()) {
                let x = inp.value(i);
                let block = len * inner;
                for o in 0..outer {
                    let dst = (o * total + start) * inner;
                    y[dst..dst + block].copy_from_slice(&x[o * block..(o + 1) * block]);
                }
                start += len;
            }
        })
}

/// Concatenates checked parts as a balanced tree of nodes of three parts.
fn concat_tree<'t, F: Element>(parts: &[Var<'t, F>], axis: usize) -> Result<Var<'t, F>> {
    match parts.len() {
        1 => Ok(parts[0]),
        2 | 3 => concat_node(parts, axis),
        n => {
            // Three groups whose sizes differ by at most one.
            let a = n / 3 + usize::from(n % 3 > 0);
            let b = a + n / 3 + usize::from(n % 3 > 1);
            let left = concat_tree(&parts[..a], axis)?;
            let middle = concat_tree(&parts[a..b], axis)?;
            let right = concat_tree(&parts[b..], axis)?;
            concat_node(&[left, middle, right], axis)
        }
    }
}

/// Joins variables along `axis`; every other dimension must agree. The VJP
/// hands each input its block of the gradient.
///
/// A node takes at most three inputs, so more parts are joined as a balanced
/// tree of three-input nodes: no heap allocation (recursion over sub-slices
/// of `parts`, depth ⌈log₃ n⌉), and every value is copied at most ⌈log₃ n⌉
/// times instead of up to n − 1 times along a left fold. One part is
/// returned as is.
///
/// ```
/// use gradsign::{ops::concat, Tape, Tensor};
/// let tape = Tape::<f64>::new();
/// let a = tape.var(&Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2])?);
/// let b = tape.var(&Tensor::from_vec(vec![5.0, 6.0], &[2, 1])?);
/// let c = concat(&[a, b], 1)?;
/// assert_eq!(c.value().as_slice(), &[1.0, 2.0, 5.0, 3.0, 4.0, 6.0]);
/// // Weighting the columns by 1, 2, 3 sends 3 to b's rows.
/// let w = tape.constant(&Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3])?);
/// let g = (c * w).sum().backward()?;
/// assert_eq!(g.get(b)?, &[3.0, 3.0]);
/// assert!(concat(&[a, b], 0).is_err()); // 2 columns vs 1
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// # Errors
/// [`Error::OutOfDomain`] for no parts; [`Error::TooLarge`] if the joined
/// shape's element count overflows a `usize`; [`Error::AxisOutOfRange`] if `axis` is
/// not below the parts' rank; [`Error::ShapeMismatch`] if two parts
/// differ in rank or in a dimension other than `axis`;
/// [`Error::ForeignVar`] if the parts come from different tapes.
pub fn concat<'t, F: Element>(parts: &[Var<'t, F>], axis: usize) -> Result<Var<'t, F>> {
    let Some(first) = parts.first() else {
        return Err(Error::out_of_domain(
            "concat",
            "the parts",
            "at least one tensor",
            "none",
        ));
    };
    let s0 = first.shape();
    s0.check_axis("concat", axis)?;
    // Everything is checked before the first node is recorded, so a bad part
    // leaves no half-built tree on the tape.
    let mut total = Some(s0.dims()[axis]);
    for p in &parts[1..] {
        if !std::ptr::eq(p.tape(), first.tape()) {
            return Err(Error::ForeignVar {
                op: "concat",
                expected: first.tape().id(),
                found: p.tape().id(),
            });
        }
        let s = p.shape();
        let agree = s.rank() == s0.rank()
            && s.dims()
                .iter()
                .zip(s0.dims())
                .enumerate()
                .all(|(i, (a, b))| i == axis || a == b);
        if !agree {
            return Err(Error::ShapeMismatch {
                op: "concat",
                lhs: s0,
                rhs: s,
                reason: "the parts must agree in every dimension but the concatenation axis",
            });
        }
        total = total.and_then(|t| t.checked_add(s.dims()[axis]));
    }
    // Empty parts ([2⁶², 0] four times) can add up to more than a usize.
    let out = total.and_then(|t| {
        let mut dims = [0; crate::shape::MAX_RANK];
        dims[..s0.rank()].copy_from_slice(s0.dims());
        dims[axis] = t;
        Shape::new(&dims[..s0.rank()]).ok()
    });
    if out.is_none() {
        return Err(Error::TooLarge {
            op: "concat",
            what: format!("{} parts like {s0} joined along axis {axis}", parts.len()),
            reason: "the result has more elements than a usize counts".into(),
        });
    }
    concat_tree(parts, axis)
}

/// Backward of `slice`: the gradient goes back into the sliced window.
fn slice_backward<F: Element>(ctx: &mut BackwardCtx<'_, F>) {
    let Slice {
        outer,
        len,
        inner,
        start,
    } = ctx.saved();
    let g = ctx.grad_out();
    let block = g.len() / outer.max(1);
    if let Some(gx) = ctx.grad_input(0) {
        for o in 0..outer {
            let dst = (o * len + start) * inner;
            for (d, &s) in gx[dst..dst + block]
                .iter_mut()
                .zip(&g[o * block..(o + 1) * block])
            {
                *d += s;
            }
        }
    }
}

impl<'t, F: Element> Var<'t, F> {
    /// The elements `start..end` along `axis` (every other axis whole). The
    /// VJP adds the gradient into that window and leaves the rest at 0.
    ///
    /// ```
    /// use gradsign::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(&Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?);
    /// let s = x.slice(1, 1, 3)?;                    // columns 1 and 2
    /// assert_eq!(s.value().as_slice(), &[2.0, 3.0, 5.0, 6.0]);
    /// assert_eq!(s.sum().backward()?.get(x)?, &[0.0, 1.0, 1.0, 0.0, 1.0, 1.0]);
    /// assert!(x.slice(1, 2, 4).is_err());           // past the end
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::AxisOutOfRange`] if `axis ≥ rank`; [`Error::OutOfDomain`]
    /// unless `start ≤ end ≤` the axis length.
    pub fn slice(self, axis: usize, start: usize, end: usize) -> Result<Var<'t, F>> {
        let shape = self.shape();
        shape.check_axis("slice", axis)?;
        let (outer, len, inner) = shape.split_at_axis(axis);
        if start > end || end > len {
            return Err(Error::out_of_domain(
                "slice",
                "the range",
                format!("within axis {axis} of length {len} in shape {shape}"),
                format_args!("{start}..{end}"),
            ));
        }
        let out = shape.with_axis(axis, Some(end - start));
        self.tape().record(
            "slice",
            &[self],
            out,
            Slice {
                outer,
                len,
                inner,
                start,
            },
            slice_backward,
            |y, inp| {
                let x = inp.value(0);
                let block = (end - start) * inner;
                for o in 0..outer {
                    let src = (o * len + start) * inner;
                    y[o * block..(o + 1) * block].copy_from_slice(&x[src..src + block]);
                }
            },
        )
    }

    /// The same values with a new shape of the same size (row-major order is
    /// kept); the VJP reshapes the gradient back.
    ///
    /// ```
    /// use gradsign::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(&Tensor::<f64>::zeros(&[2, 3])?);
    /// assert_eq!(x.reshape(&[3, 2])?.dims(), vec![3, 2]);
    /// assert!(x.reshape(&[4, 2]).is_err());
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if the sizes differ;
    /// [`Error::OutOfDomain`] for more than
    /// [`MAX_RANK`](crate::shape::MAX_RANK) dimensions; [`Error::TooLarge`]
    /// for more elements than a `usize` counts.
    pub fn reshape(self, dims: &[usize]) -> Result<Var<'t, F>> {
        let from = self.shape();
        let to = Shape::new(dims).map_err(|e| match e {
            Error::TooLarge { what, reason, .. } => Error::TooLarge {
                op: "reshape",
                what: format!("{from} reshaped to {what}"),
                reason,
            },
            _ => Error::out_of_domain(
                "reshape",
                format!("the rank of the target of {from}"),
                format!("at most {}", crate::shape::MAX_RANK),
                format_args!("{dims:?}"),
            ),
        })?;
        if from.numel() != to.numel() {
            return Err(Error::ShapeMismatch {
                op: "reshape",
                lhs: from,
                rhs: to,
                reason: "the number of elements differs",
            });
        }
        self.tape()
            .record("reshape", &[self], to, (), reshape_backward, |out, inp| {
                out.copy_from_slice(inp.value(0))
            })
    }

    /// Swaps the last two axes (a 2-D transpose, or a batched one for rank 3+).
    ///
    /// ```
    /// use gradsign::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(&Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?);
    /// assert_eq!(x.transpose()?.value().as_slice(), &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::RankMismatch`] for a tensor of rank below 2.
    pub fn transpose(self) -> Result<Var<'t, F>> {
        let s = self.shape();
        if s.rank() < 2 {
            return Err(Error::RankMismatch {
                op: "transpose",
                expected: "at least 2",
                shape: s,
            });
        }
        let d = s.dims();
        let (r, c) = (d[d.len() - 2], d[d.len() - 1]);
        let batch = s.numel() / (r * c).max(1);
        let mut out_dims = [0usize; crate::shape::MAX_RANK];
        out_dims[..d.len()].copy_from_slice(d);
        out_dims.swap(d.len() - 2, d.len() - 1);
        let out = Shape::new(&out_dims[..d.len()])?;
        self.tape().record(
            "transpose",
            &[self],
            out,
            Transpose { batch, r, c },
            transpose_backward,
            |y, inp| {
                let x = inp.value(0);
                for t in 0..batch {
                    let (y, x) = (&mut y[t * r * c..], &x[t * r * c..]);
                    for i in 0..r {
                        for j in 0..c {
                            y[j * r + i] = x[i * c + j];
                        }
                    }
                }
            },
        )
    }

    /// A constant copy of this variable's value: gradients stop here.
    ///
    /// ```
    /// let tape = gradsign::Tape::<f64>::new();
    /// let x = tape.var_scalar(3.0);
    /// let y = x * x.detach();           // d/dx = x (the detached factor is a constant)
    /// assert_eq!(y.backward()?.get(x)?, &[3.0]);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    pub fn detach(self) -> Var<'t, F> {
        self.tape()
            .record_constant("detach", &[self], self.shape(), |out, inp| {
                out.copy_from_slice(inp.value(0))
            })
            .expect("detach records on the variable's own tape")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Tape, Tensor};

    #[test]
    fn concat_of_many_parts_is_a_tree_of_three_input_nodes() {
        let tape = Tape::<f64>::new();
        let parts: Vec<_> = (0..10)
            .map(|i| tape.var_scalar(i as f64).reshape(&[1]).unwrap())
            .collect();
        let before = tape.len();
        let c = concat(&parts, 0).unwrap();
        // 10 = 4 + 3 + 3; 4 = 2 + 1 + 1: nodes for 10, 4, 2, 3 and 3.
        assert_eq!(tape.len() - before, 5);
        let expected: Vec<f64> = (0..10).map(f64::from).collect();
        assert_eq!(c.value().as_slice(), &expected[..]);
        // Weight part i by i + 1: its gradient is i + 1.
        let w = tape.constant(&Tensor::from_fn(&[10], |i| (i[0] + 1) as f64).unwrap());
        let g = (c * w).sum().backward().unwrap();
        for (i, p) in parts.iter().enumerate() {
            assert_eq!(g.get(*p).unwrap(), &[(i + 1) as f64]);
        }
    }

    #[test]
    fn concat_of_one_part_records_nothing() {
        let tape = Tape::<f64>::new();
        let x = tape.var(&Tensor::<f64>::ones(&[2]).unwrap());
        let before = tape.len();
        assert_eq!(concat(&[x], 0).unwrap().id(), x.id());
        assert_eq!(tape.len(), before);
    }

    #[test]
    fn concat_along_a_middle_axis_interleaves_the_blocks() {
        let tape = Tape::<f64>::new();
        let a = tape.var(&Tensor::from_fn(&[2, 1, 2], |i| (10 * i[0] + i[2]) as f64).unwrap());
        let b = tape.var(
            &Tensor::from_fn(&[2, 2, 2], |i| (100 + 10 * i[0] + 2 * i[1] + i[2]) as f64).unwrap(),
        );
        let c = concat(&[a, b], 1).unwrap();
        assert_eq!(c.dims(), vec![2, 3, 2]);
        assert_eq!(
            c.value().as_slice(),
            &[
                0.0, 1.0, 100.0, 101.0, 102.0, 103.0, 10.0, 11.0, 110.0, 111.0, 112.0, 113.0
            ]
        );
    }

    #[test]
    fn an_empty_slice_has_zero_length_and_gives_zero_gradient() {
        let tape = Tape::<f64>::new();
        let x = tape.var(&Tensor::<f64>::ones(&[3, 2]).unwrap());
        let s = x.slice(0, 2, 2).unwrap();
        assert_eq!(s.dims(), vec![0, 2]);
        assert_eq!(s.sum().backward().unwrap().get(x).unwrap(), &[0.0; 6]);
    }
}
