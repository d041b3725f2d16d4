//! The limits, the checks every statistic makes of `(A, Δ)`, and the
//! helpers the statistics share.

use crate::element::Element;
use crate::element::GemmArgs;
use crate::error::{Error, Result};
use crate::kernels::all_finite;
use crate::shape::Shape;

/// The largest batch whose `B×B` per-example Gram the statistics form
/// (`2¹⁵` examples: an 8.6 GB Gram). Checked before anything is allocated,
/// because on an overcommitting system a larger request may be granted and
/// then fail on first touch.
pub const MAX_GRAM_BATCH: usize = 1 << 15;

/// The most values of per-example gradients a convolution's statistics
/// materialise (`B·J·K'`, `2²⁷` values: 1 GiB of `f64`). Checked before
/// anything is allocated, as [`MAX_GRAM_BATCH`] is.
pub const MAX_SUMMED_GRADIENTS: usize = 1 << 27;

/// `a·b`, or an error naming `op` and `what` when it overflows `usize`.
pub(crate) fn checked(op: &'static str, what: &str, a: usize, b: usize) -> Result<usize> {
    a.checked_mul(b).ok_or_else(|| Error::TooLarge {
        op,
        what: format!("{what} ({a} × {b} elements)"),
        reason: "the element count overflows usize".to_string(),
    })
}

/// The checks every statistic makes of a layer's `(A, Δ)`: ranks, batch
/// sizes, an empty batch or layer, rows that do not split into examples of
/// `positions` rows, the batch limit and non-finite values. Returns
/// `(B, K, K', J)`: rows, inputs, parameters per neuron (`K` plus the bias)
/// and neurons.
pub(crate) fn check_layer<F: Element>(
    op: &'static str,
    (a, a_shape): (&[F], Shape),
    (d, d_shape): (&[F], Shape),
    bias: bool,
    positions: usize,
) -> Result<(usize, usize, usize, usize)> {
    let (b, k_in, j) = crate::analysis::pass::check_matrices(op, a_shape, d_shape)?;
    let k = k_in + usize::from(bias);
    if k == 0 {
        // No parameter at all: every statistic would be 0/0.
        return Err(Error::Empty { op, shape: a_shape });
    }
    if positions == 0 {
        return Err(Error::out_of_domain(op, "positions", "at least 1", 0));
    }
    if b % positions != 0 {
        return Err(Error::Incompatible {
            op,
            what: format!("{b} rows do not split into examples of {positions} positions each"),
        });
    }
    let examples = b / positions;
    if examples > MAX_GRAM_BATCH {
        return Err(Error::TooLarge {
            op,
            what: format!("the {examples}×{examples} per-example Gram of {examples} examples"),
            reason: format!("the batch exceeds MAX_GRAM_BATCH = {MAX_GRAM_BATCH} examples"),
        });
    }
    check_finite(op, "inputs", a, k_in.max(1))?;
    check_finite(op, "deltas", d, j)?;
    Ok((b, k_in, k, j))
}

/// `Σ x²` in `f64` of the values as given (see
/// [`kernels::reduce::sum_sq`](crate::kernels::reduce::sum_sq)).
#[inline]
pub(crate) fn sum_sq<F: Element>(v: &[F]) -> f64 {
    crate::kernels::reduce::sum_sq(v)
}

/// An error naming `op` when a product in `F` overflowed.
pub(crate) fn finite_products<F: Element>(op: &'static str, what: &str, v: &[F]) -> Result<()> {
    if all_finite(v) {
        Ok(())
    } else {
        Err(Error::NonFinite {
            op,
            what: format!(
                "in {what}: the products of the inputs and deltas overflow {} \
                 (rescale them)",
                F::NAME
            ),
        })
    }
}

/// `C = A·B` through the crate's matrix kernel in `F` (the one `Tensor`
/// products use), with strides `(row, column)` for `A` and `B`.
pub(crate) fn gemm<F: Element>(
    (m, n, k): (usize, usize, usize),
    (a, a_rs, a_cs): (&[F], usize, usize),
    (b, b_rs, b_cs): (&[F], usize, usize),
    c: &mut [F],
    threads: usize,
) {
    F::gemm(GemmArgs {
        m,
        n,
        k,
        a,
        a_rs,
        a_cs,
        b,
        b_rs,
        b_cs,
        c,
        c_rs: n,
        accumulate: false,
        threads,
    });
}

/// Sign of a finite value: `−1`, `0` or `1` (`±0` is 0).
#[inline]
pub(crate) fn sign_of<F: Element>(x: F) -> F {
    if x > F::zero() {
        F::one()
    } else if x < F::zero() {
        -F::one()
    } else {
        F::zero()
    }
}

/// The first non-finite entry of a row-major `rows × cols` slice, as an
/// error naming `op`, the matrix and the position.
pub(crate) fn check_finite<F: Element>(
    op: &'static str,
    what: &str,
    data: &[F],
    cols: usize,
) -> Result<()> {
    if all_finite(data) {
        return Ok(());
    }
    match data.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => Err(Error::NonFinite {
            op,
            what: format!("{what}[{}, {}] = {}", i / cols, i % cols, data[i]),
        }),
    }
}

/// `v` as `n` copies of `fill`, within its capacity when it has room: no
/// allocation once warm.
pub(crate) fn fit<T: Clone>(
    op: &'static str,
    what: &str,
    v: &mut Vec<T>,
    n: usize,
    fill: T,
) -> Result<()> {
    v.clear();
    crate::dynamics::try_grow(op, what, v, n)?;
    v.resize(n, fill);
    Ok(())
}
