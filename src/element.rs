//! The scalar types a tensor can hold.

use std::fmt::{Debug, Display};
use std::ops::{AddAssign, DivAssign, MulAssign, SubAssign};

use num_traits::Float;

use crate::kernels::matmul::{GemmArgs, gemm_naive};

/// A floating-point element: any [`num_traits::Float`] plus the kernels the
/// engine dispatches to.
///
/// `f32` and `f64` run on tuned kernels; any other type (for instance
/// a dual-number type for exact Hessian-vector products) runs on the generic
/// fallback that the provided methods implement, so a new type needs only
/// `impl Element for MyFloat {}`.
///
/// ```
/// use gradsign::Element;
/// fn total<F: Element>(xs: &[F]) -> F {
///     xs.iter().fold(F::zero(), |a, &x| a + x)
/// }
/// assert_eq!(total(&[1.0f32, 2.0]), 3.0);
/// ```
pub trait Element:
    Float
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Default
    + Debug
    + Display
    + Send
    + Sync
    + 'static
{
    /// A short name for messages and benchmark labels (`"f32"`, `"f64"`).
    const NAME: &'static str;

    /// `C (+)= A·B` on strided matrices: see [`GemmArgs`]. The default is a
    /// straightforward loop; `f32` and `f64` override it with a tuned kernel.
    #[doc(hidden)]
    fn gemm(args: GemmArgs<'_, Self>) {
        gemm_naive(args)
    }

    /// Converts from `f64` (exact for `f64`, rounded for `f32`).
    #[inline]
    fn from_f64(x: f64) -> Self {
        <Self as num_traits::NumCast>::from(x).unwrap_or_else(Self::nan)
    }

    /// Converts to `f64`.
    #[inline]
    fn to_f64(self) -> f64 {
        <Self as num_traits::ToPrimitive>::to_f64(&self).unwrap_or(f64::NAN)
    }
}

impl Element for f32 {
    const NAME: &'static str = "f32";
    fn gemm(args: GemmArgs<'_, Self>) {
        crate::kernels::matmul::gemm_f32(args)
    }
}

impl Element for f64 {
    const NAME: &'static str = "f64";
    fn gemm(args: GemmArgs<'_, Self>) {
        crate::kernels::matmul::gemm_f64(args)
    }
}
