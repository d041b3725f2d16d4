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
use std::any::TypeId;

/// `xs` as the `f32` slice it is, when `F` is `f32` (the AVX2 kernels'
/// one element type); `None` for any other `F`.
#[allow(unsafe_code)]
pub(crate) fn as_f32<F: Element>(xs: &[F]) -> Option<&[f32]> {
    // SAFETY: `F` is `f32` (same type id), so the slice is one of `f32` of
    // the same length.
    (TypeId::of::<F>() == TypeId::of::<f32>())
        .then(|| unsafe { std::slice::from_raw_parts(xs.as_ptr().cast::<f32>(), xs.len()) })
}

/// [`as_f32`] for a slice borrowed mutably (the view aliases nothing else:
/// it takes over the borrow).
#[allow(unsafe_code)]
pub(crate) fn as_f32_mut<F: Element>(xs: &mut [F]) -> Option<&mut [f32]> {
    // SAFETY: as in `as_f32`.
    (TypeId::of::<F>() == TypeId::of::<f32>())
        .then(|| unsafe { std::slice::from_raw_parts_mut(xs.as_mut_ptr().cast::<f32>(), xs.len()) })
}

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
