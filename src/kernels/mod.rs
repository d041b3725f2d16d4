//! Numeric kernels on slices, private to the crate. The only module allowed
//! `unsafe`: it wraps the tuned matrix-multiply crate behind bounds-checked
//! safe functions, and calls the loops of [`bits`], [`conv`], [`pool`] and [`reduce`] compiled
//! for the instructions the CPU was found to have. Element types reach them
//! through [`Element`](crate::Element); thread counts follow
//! [`threads`](crate::threads).

pub(crate) mod bits;
pub(crate) mod conv;
pub(crate) mod matmul;
pub(crate) mod pool;
pub(crate) mod reduce;
pub(crate) mod vmath;

use crate::element::Element;

/// `x − x`: 0 for a finite `x`, NaN for an infinity or a NaN.
#[inline(always)]
#[allow(clippy::eq_op)] // `x − x` is the point: 0 or NaN
pub(crate) fn nan_unless_finite<F: Element>(x: F) -> F {
    x - x
}

/// Whether every value is finite, in one pass the compiler can vectorise:
/// [`nan_unless_finite`] of each value, and NaN survives any sum, so lanes
/// of sums need no branch and no particular order.
pub(crate) fn all_finite<F: Element>(xs: &[F]) -> bool {
    const LANES: usize = 8;
    let mut acc = [F::zero(); LANES];
    let mut chunks = xs.chunks_exact(LANES);
    for c in &mut chunks {
        for l in 0..LANES {
            acc[l] += nan_unless_finite(c[l]);
        }
    }
    let rest = chunks
        .remainder()
        .iter()
        .fold(F::zero(), |a, &x| a + nan_unless_finite(x));
    acc.iter().fold(rest, |a, &x| a + x) == F::zero()
}
