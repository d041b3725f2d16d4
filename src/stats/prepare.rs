//! The limits, the checks every statistic makes of `(A, Δ)`, the helpers
//! the statistics share, and the `f64` copies of a convolution's `(A, Δ)`
//! (whose per-example gradients are materialised).

use crate::element::Element;
use crate::element::GemmArgs;
use crate::error::{Error, Result};
use crate::shape::Shape;

use crate::dynamics::try_filled;

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

/// A validated convolution in `f64`: `Ã` (B·P×K', the bias column of ones
/// appended when asked) and `Δ` (B·P×J).
pub(crate) struct Prepared {
    /// Examples.
    pub b: usize,
    /// Parameters per neuron (inputs, plus one for the bias).
    pub k: usize,
    /// Neurons.
    pub j: usize,
    /// `Ã`, row-major.
    pub a: Vec<f64>,
    /// `Δ`, row-major.
    pub d: Vec<f64>,
    /// Threads the products may use.
    pub threads: usize,
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

impl Prepared {
    /// Checks and converts: ranks, batch sizes, an empty batch or layer,
    /// rows that do not split into examples of `positions` rows, non-finite
    /// values, the batch limit, and the sizes of every buffer.
    pub(crate) fn new<F: Element>(
        op: &'static str,
        (a, a_shape): (&[F], Shape),
        (d, d_shape): (&[F], Shape),
        bias: bool,
        threads: usize,
        positions: usize,
    ) -> Result<Prepared> {
        let (b, k_in, k, j) = check_layer(op, (a, a_shape), (d, d_shape), bias, positions)?;
        let na = checked(op, "the inputs", b, k)?;
        let mut a64 = try_filled(op, "the inputs in f64", na, 1.0)?;
        for (row, src) in a64.chunks_exact_mut(k).zip(a.chunks_exact(k_in.max(1))) {
            for (x, &v) in row.iter_mut().zip(src) {
                *x = v.to_f64();
            }
        }
        let nd = checked(op, "the deltas", b, j)?;
        let mut d64 = try_filled(op, "the deltas in f64", nd, 0.0)?;
        for (x, &v) in d64.iter_mut().zip(d) {
            *x = v.to_f64();
        }
        Ok(Prepared {
            b,
            k,
            j,
            a: a64,
            d: d64,
            threads: crate::threads::clamp_threads(threads),
        })
    }
}

/// An error naming `op` when a product in `F` overflowed.
pub(crate) fn finite_products<F: Element>(op: &'static str, what: &str, v: &[F]) -> Result<()> {
    if v.iter().all(|x| x.is_finite()) {
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
