//! Ops that move data without arithmetic: reshape, transpose, detach.

use crate::autodiff::{BackwardCtx, Params, Var};
use crate::element::Element;
use crate::error::{Error, Result};
use crate::shape::Shape;

/// Backward of reshape: the gradient's data is the same sequence.
fn reshape_backward<F: Element>(ctx: &mut BackwardCtx<'_, F>) {
    let g = ctx.grad_out();
    if let Some(gx) = ctx.grad_input(0) {
        for (x, &gi) in gx.iter_mut().zip(g) {
            *x += gi;
        }
    }
}

/// Backward of a transpose of the last two axes over `p.u = [batch, r, c]`.
fn transpose_backward<F: Element>(ctx: &mut BackwardCtx<'_, F>) {
    let [batch, r, c, _] = ctx.params().u;
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

impl<'t, F: Element> Var<'t, F> {
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
    /// [`Error::ShapeMismatch`] if the sizes differ.
    pub fn reshape(self, dims: &[usize]) -> Result<Var<'t, F>> {
        let from = self.shape();
        let to = Shape::new(dims)?;
        if from.numel() != to.numel() {
            return Err(Error::ShapeMismatch {
                op: "reshape",
                lhs: from,
                rhs: to,
                reason: "the number of elements differs",
            });
        }
        self.tape().record(
            "reshape",
            &[self],
            to,
            Params::none(),
            reshape_backward,
            |out, inp| out.copy_from_slice(inp.value(0)),
        )
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
            Params::ints([batch, r, c, 0]),
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
