//! Matrix products: `matmul` (2-D and batched 3-D) and the fused dense layer
//! `linear` (`x·Wᵀ + b`, weights stored `(out, in)`).
//!
//! The VJPs use accumulate-mode strided products: `dA += G·Bᵀ` and
//! `dB += Aᵀ·G` read `A`, `B` and `G` in place, so a backward copies nothing.

use crate::autodiff::{BackwardCtx, Slot, Var, saved_dims};
use crate::element::Element;
use crate::element::GemmArgs;
use crate::error::{Error, Result};
use crate::kernels::matmul::PARALLEL;
use crate::shape::Shape;

/// Why a product of empty operands (`[n, 0]·[0, n]`) is refused.
const TOO_LARGE: &str = "the product has more elements than a usize can count";

/// `C (+)= A·B` for row-major contiguous `A` (m×k) and `B` (k×n).
#[allow(clippy::too_many_arguments)]
fn gemm<F: Element>(
    m: usize,
    n: usize,
    k: usize,
    a: (&[F], usize, usize),
    b: (&[F], usize, usize),
    c: &mut [F],
    accumulate: bool,
    threads: usize,
) {
    F::gemm(GemmArgs {
        m,
        n,
        k,
        a: a.0,
        a_rs: a.1,
        a_cs: a.2,
        b: b.0,
        b_rs: b.1,
        b_cs: b.2,
        c,
        c_rs: n,
        accumulate,
        threads,
    });
}

saved_dims! {
    /// The saved state of `C = A·B`: `batch` products of `m×k` by `k×n`
    /// (`B` is batched iff its rank is 3; a shared 2-D `B` has batch
    /// stride 0).
    struct Matmul {
        batch,
        m,
        k,
        n,
    }
}

saved_dims! {
    /// The saved state of `Y = X·Wᵀ (+ b)`: `m` rows of `fan_in` inputs,
    /// `fan_out` outputs, `has_bias` 1 when a bias was added.
    struct Linear {
        m,
        fan_in,
        fan_out,
        has_bias,
    }
}

/// Backward of `C = A·B`.
fn matmul_backward<F: Element>(ctx: &mut BackwardCtx<'_, F>) {
    let Matmul { batch, m, k, n } = ctx.saved();
    let (a, b, g) = (ctx.input(0), ctx.input(1), ctx.grad_out());
    let b_batched = ctx.input_shape(1).rank() == 3;
    let threads = ctx.threads();
    let bstride = if b_batched { k * n } else { 0 };
    if let Some(ga) = ctx.grad_slot(0) {
        for t in 0..batch {
            // dA_t (+)= G_t · B_tᵀ   (m×n · n×k)
            gemm(
                m,
                k,
                n,
                (&g[t * m * n..], n, 1),
                (&b[t * bstride..], 1, n),
                &mut ga.data[t * m * k..(t + 1) * m * k],
                ga.accumulate,
                threads,
            );
        }
    }
    if let Some(gb) = ctx.grad_slot(1) {
        for t in 0..batch {
            // dB_t += A_tᵀ · G_t   (k×m · m×n); a shared B sums over t.
            gemm(
                k,
                n,
                m,
                (&a[t * m * k..], 1, k),
                (&g[t * m * n..], n, 1),
                &mut gb.data[t * bstride..t * bstride + k * n],
                gb.accumulate || (t > 0 && bstride == 0),
                threads,
            );
        }
    }
}

/// Backward of `Y = X·Wᵀ (+ b)`.
///
/// With two threads and both `dX` and `dW` worth a second thread, the two
/// products run side by side, one thread each, rather than one after the
/// other each split in two: a whole product per thread wastes less on
/// splitting and synchronising. Each product computes the same sums either
/// way.
fn linear_backward<F: Element>(ctx: &mut BackwardCtx<'_, F>) {
    let Linear {
        m,
        fan_in,
        fan_out,
        has_bias,
    } = ctx.saved();
    let (x, w, g) = (ctx.input(0), ctx.input(1), ctx.grad_out());
    let threads = ctx.threads();
    // dX (+)= G·W   (m×out · out×in)
    let dx = |gx: Slot<'_, F>, threads| {
        gemm(
            m,
            fan_in,
            fan_out,
            (g, fan_out, 1),
            (w, fan_in, 1),
            gx.data,
            gx.accumulate,
            threads,
        )
    };
    // dW (+)= Gᵀ·X   (out×m · m×in)
    let dw = |gw: Slot<'_, F>, threads| {
        gemm(
            fan_out,
            fan_in,
            m,
            (g, 1, fan_out),
            (x, fan_in, 1),
            gw.data,
            gw.accumulate,
            threads,
        )
    };
    let work = m * fan_in * fan_out;
    match ctx.two_grad_slots(0, 1) {
        Some((Some(gx), Some(gw))) if threads > 1 && work >= PARALLEL => {
            rayon::join(|| dx(gx, 1), || dw(gw, 1));
        }
        Some((gx, gw)) => {
            if let Some(gx) = gx {
                dx(gx, threads);
            }
            if let Some(gw) = gw {
                dw(gw, threads);
            }
        }
        None => {
            // The same variable as input and weight: one slot, which the
            // second product finds written and adds into.
            if let Some(gx) = ctx.grad_slot(0) {
                dx(gx, threads);
            }
            if let Some(gw) = ctx.grad_slot(1) {
                dw(gw, threads);
            }
        }
    }
    if has_bias == 1
        && fan_out > 0
        && let Some(gb) = ctx.grad_input(2)
    {
        // db += column sums of G
        for row in g.chunks_exact(fan_out) {
            for (b, &gi) in gb.iter_mut().zip(row) {
                *b += gi;
            }
        }
    }
}

impl<'t, F: Element> Var<'t, F> {
    /// The matrix product: `(m×k)·(k×n)`, or batched `(b×m×k)·(b×k×n)` and
    /// `(b×m×k)·(k×n)`. VJP: `dA = G·Bᵀ`, `dB = Aᵀ·G`.
    ///
    /// ```
    /// use gradsign::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let a = tape.var(&Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2])?);
    /// let b = tape.var(&Tensor::from_vec(vec![1.0, 0.0, 0.0, 1.0], &[2, 2])?);
    /// assert_eq!(a.matmul(b)?.value().as_slice(), &[1.0, 2.0, 3.0, 4.0]);
    /// let c = tape.var(&Tensor::<f64>::zeros(&[3, 2])?);
    /// assert!(a.matmul(c).is_err()); // k = 2 vs 3
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if the inner dimensions differ or the batch
    /// sizes differ; [`Error::RankMismatch`] for ranks other than 2 and 3.
    pub fn matmul(self, rhs: Var<'t, F>) -> Result<Var<'t, F>> {
        let (sa, sb) = (self.shape(), rhs.shape());
        let mismatch = |reason: &'static str| Error::ShapeMismatch {
            op: "matmul",
            lhs: sa,
            rhs: sb,
            reason,
        };
        if sa.rank() == 2 && sb.rank() == 3 {
            return Err(mismatch("a 2-D left operand needs a 2-D right operand"));
        }
        let (batch, m, k, n, out) = match (sa.dims(), sb.dims()) {
            (&[m, k], &[k2, n]) => {
                if k != k2 {
                    return Err(mismatch("inner dimensions differ"));
                }
                let out = Shape::new(&[m, n]).map_err(|_| mismatch(TOO_LARGE))?;
                (1, m, k, n, out)
            }
            (&[bt, m, k], &[k2, n]) | (&[bt, m, k], &[_, k2, n]) => {
                if k != k2 {
                    return Err(mismatch("inner dimensions differ"));
                }
                if sb.rank() == 3 && sb.dims()[0] != bt {
                    return Err(mismatch("batch sizes differ"));
                }
                let out = Shape::new(&[bt, m, n]).map_err(|_| mismatch(TOO_LARGE))?;
                (bt, m, k, n, out)
            }
            _ => {
                let bad = if matches!(sa.rank(), 2 | 3) { sb } else { sa };
                return Err(Error::RankMismatch {
                    op: "matmul",
                    expected: "2 or 3 (and 2 or 3 on the right)",
                    shape: bad,
                });
            }
        };
        let bstride = if sb.rank() == 3 { k * n } else { 0 };
        self.tape().record(
            "matmul",
            &[self, rhs],
            out,
            Matmul { batch, m, k, n },
            matmul_backward,
            |c, inp| {
                let (a, b) = (inp.value(0), inp.value(1));
                for t in 0..batch {
                    gemm(
                        m,
                        n,
                        k,
                        (&a[t * m * k..], k, 1),
                        (&b[t * bstride..], n, 1),
                        &mut c[t * m * n..(t + 1) * m * n],
                        false,
                        inp.threads(),
                    );
                }
            },
        )
    }

    /// A dense layer: `x·Wᵀ + b` with `x` (batch × in), `W` (out × in), row
    /// `j` of `W` being neuron `j`'s weights, and an optional bias (out).
    /// One fused op; its VJP is `dx = G·W`, `dW = Gᵀ·x`, `db = Σ_rows G`,
    /// all computed in place with strided products.
    ///
    /// ```
    /// use gradsign::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.constant(&Tensor::from_vec(vec![1.0, 2.0], &[1, 2])?);
    /// let w = tape.var(&Tensor::from_vec(vec![1.0, 1.0, 0.0, -1.0], &[2, 2])?);
    /// let b = tape.var(&Tensor::from_vec(vec![0.5, 0.0], &[2])?);
    /// let y = x.linear(w, Some(b))?;
    /// assert_eq!(y.value().as_slice(), &[3.5, -2.0]);
    /// // dΣy/dW: each row is x, the whole row has x's signs.
    /// assert_eq!(y.sum().backward()?.get(w)?, &[1.0, 2.0, 1.0, 2.0]);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if `x` is not `(batch, in)`, `W` not
    /// `(out, in)` or `b` not `(out)`.
    pub fn linear(self, w: Var<'t, F>, b: Option<Var<'t, F>>) -> Result<Var<'t, F>> {
        let (sx, sw) = (self.shape(), w.shape());
        let (m, fan_in) = match sx.dims() {
            &[m, k] => (m, k),
            _ => {
                return Err(Error::RankMismatch {
                    op: "linear",
                    expected: "2 (batch, in) for the input",
                    shape: sx,
                });
            }
        };
        let fan_out = match sw.dims() {
            &[o, k] if k == fan_in => o,
            _ => {
                return Err(Error::ShapeMismatch {
                    op: "linear",
                    lhs: sx,
                    rhs: sw,
                    reason: "the weight must be (out, in) with the input's in",
                });
            }
        };
        if let Some(b) = b.filter(|b| b.shape() != Shape::vector(fan_out)) {
            {
                return Err(Error::ShapeMismatch {
                    op: "linear",
                    lhs: sw,
                    rhs: b.shape(),
                    reason: "the bias must be (out)",
                });
            }
        }
        let p = Linear {
            m,
            fan_in,
            fan_out,
            has_bias: usize::from(b.is_some()),
        };
        let forward = |y: &mut [F], inp: &crate::autodiff::ForwardInputs<'_, F>| {
            let (x, w) = (inp.value(0), inp.value(1));
            if b.is_some() && fan_out > 0 {
                let bias = inp.value(2);
                for row in y.chunks_exact_mut(fan_out) {
                    row.copy_from_slice(bias);
                }
            }
            // Y (+)= X·Wᵀ, Wᵀ read through strides.
            gemm(
                m,
                fan_out,
                fan_in,
                (x, fan_in, 1),
                (w, 1, fan_in),
                y,
                b.is_some(),
                inp.threads(),
            );
        };
        let out = Shape::new(&[m, fan_out]).map_err(|_| Error::ShapeMismatch {
            op: "linear",
            lhs: sx,
            rhs: sw,
            reason: TOO_LARGE,
        })?;
        match b {
            Some(b) => {
                self.tape()
                    .record("linear", &[self, w, b], out, p, linear_backward, forward)
            }
            None => self
                .tape()
                .record("linear", &[self, w], out, p, linear_backward, forward),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Tape, Tensor};

    /// `∂/∂(x, W, b)` of `Σ (x·Wᵀ + b)²` for a layer large enough that, on
    /// two threads, `dX` and `dW` run side by side.
    fn linear_grads(threads: usize) -> Vec<Vec<f32>> {
        let x = Tensor::<f32>::rand_uniform(&[128, 256], -1.0, 1.0, 1).unwrap();
        let w = Tensor::<f32>::rand_uniform(&[160, 256], -0.1, 0.1, 2).unwrap();
        let b = Tensor::<f32>::rand_uniform(&[160], -0.1, 0.1, 3).unwrap();
        let mut tape = Tape::new();
        tape.set_threads(threads);
        let (xv, wv, bv) = (tape.var(&x), tape.var(&w), tape.var(&b));
        let y = xv.linear(wv, Some(bv)).unwrap();
        let grads = y.square().sum().backward().unwrap();
        [xv, wv, bv]
            .iter()
            .map(|&v| grads.get(v).unwrap().to_vec())
            .collect()
    }

    #[test]
    fn linear_backward_on_two_threads_equals_one_thread_exactly() {
        // 128·256·160 multiply-adds per product: above the threshold for a
        // second thread, so dX and dW run concurrently, each on one thread.
        assert_eq!(linear_grads(2), linear_grads(1));
    }

    #[test]
    fn linear_of_a_variable_with_itself_as_weight_has_both_gradients() {
        // y = x·xᵀ with x both input and weight: one shared gradient slot,
        // so the two products must run one after the other. Σy = Σ_ij x_i·x_j
        // row-wise, so ∂/∂x = G·x + Gᵀ·x with G all ones: each row is twice
        // the column sums of x, 2·(4, 6).
        let mut tape = Tape::<f64>::new();
        tape.set_threads(2);
        let x = tape.var(&Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap());
        let g = x.linear(x, None).unwrap().sum().backward().unwrap();
        assert_eq!(g.get(x).unwrap(), &[8.0, 12.0, 8.0, 12.0]);
        // The same at a size where two threads would run dX and dW apart.
        let big = Tensor::<f32>::rand_uniform(&[128, 256], -1.0, 1.0, 4).unwrap();
        let grad = |threads| {
            let mut tape = Tape::<f32>::new();
            tape.set_threads(threads);
            let x = tape.var(&big);
            let g = x.linear(x, None).unwrap().sum().backward().unwrap();
            g.get(x).unwrap().to_vec()
        };
        assert_eq!(grad(2), grad(1));
    }
}
