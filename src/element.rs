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

    /// `eˣ`, as the element-wise ops compute it: `f32` and `f64` use a
    /// branch-free form within 1 ulp that a loop over a slice turns into
    /// SIMD code (see [`kernels::vmath`](crate::kernels::vmath)); any other
    /// type, [`Float::exp`].
    #[doc(hidden)]
    #[inline]
    fn kernel_exp(self) -> Self {
        self.exp()
    }

    /// `tanh x`, as the element-wise ops compute it (branch-free, within 3
    /// ulps, for `f32` and `f64`).
    #[doc(hidden)]
    #[inline]
    fn kernel_tanh(self) -> Self {
        self.tanh()
    }

    /// The logistic `σ(x) = 1/(1 + e⁻ˣ)` without overflow: `e⁻ˣ` is only
    /// formed for `x ≥ 0` and `eˣ` only for `x < 0`, so the exponential
    /// never exceeds 1 (branch-free, within 2 ulps, for `f32` and `f64`).
    #[doc(hidden)]
    #[inline]
    fn kernel_logistic(self) -> Self {
        if self >= Self::zero() {
            (Self::one() + (-self).exp()).recip()
        } else {
            let e = self.exp();
            e / (Self::one() + e)
        }
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
    #[inline(always)]
    fn kernel_exp(self) -> Self {
        crate::kernels::vmath::exp_f32(self)
    }
    #[inline(always)]
    fn kernel_tanh(self) -> Self {
        crate::kernels::vmath::tanh_f32(self)
    }
    #[inline(always)]
    fn kernel_logistic(self) -> Self {
        crate::kernels::vmath::logistic_f32(self)
    }
    fn gemm(args: GemmArgs<'_, Self>) {
        crate::kernels::matmul::gemm_f32(args)
    }
}

impl Element for f64 {
    const NAME: &'static str = "f64";
    #[inline(always)]
    fn kernel_exp(self) -> Self {
        crate::kernels::vmath::exp_f64(self)
    }
    #[inline(always)]
    fn kernel_tanh(self) -> Self {
        crate::kernels::vmath::tanh_f64(self)
    }
    #[inline(always)]
    fn kernel_logistic(self) -> Self {
        crate::kernels::vmath::logistic_f64(self)
    }
    fn gemm(args: GemmArgs<'_, Self>) {
        crate::kernels::matmul::gemm_f64(args)
    }
}
