//! The scalar types a tensor can hold.

use std::fmt::{Debug, Display};
use std::ops::{AddAssign, DivAssign, MulAssign, SubAssign};

use num_traits::Float;

use crate::kernels::matmul::gemm_naive;

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

    /// `C (+)= A·B` on strided matrices (see [`GemmArgs`]): every matrix
    /// product of the engine and the instruments goes through here. The
    /// provided method is a generic blocked loop that sums each `C[i][j]`
    /// in order of `p`; `f32` and `f64` override it with a tuned kernel
    /// (products below 4,096 multiply-adds still take the loop), and
    /// [`Dual`](crate::dual::Dual) with four products of its parts. A new
    /// element type keeps the provided method unless it has a faster
    /// kernel of its own.
    ///
    /// # Panics
    /// If an operand is too short for its shape and strides, a stride
    /// exceeds `isize::MAX`, or `C`'s row stride is shorter than its row (so
    /// that rows would overlap). The crate only passes operands it has
    /// sized itself; the check guards the tuned kernel's raw addressing,
    /// as slice indexing does.
    #[track_caller]
    fn gemm(args: GemmArgs<'_, Self>) {
        gemm_naive(args)
    }

    /// `eˣ`, as the element-wise ops compute it: `f32` and `f64` use a
    /// branch-free form within 1 ulp that a loop over a slice turns into
    /// SIMD code (the crate's `vmath` kernels); any other
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

/// The operands of one strided matrix product `C = A·B`, or `C += A·B`
/// when `accumulate`, as [`Element::gemm`] receives them.
///
/// `A` is `m×k` with element `(i, p)` at `a[i*a_rs + p*a_cs]`, `B` is `k×n`
/// with element `(p, j)` at `b[p*b_rs + j*b_cs]`, and `C` is `m×n` with
/// element `(i, j)` at `c[i*c_rs + j]`; strides are in elements, so a
/// transpose is a swap of strides and copies nothing. Every addressed
/// element must lie inside its slice: [`Element::gemm`] checks this before
/// any kernel runs.
///
/// ```
/// use gradsign::{Element, element::GemmArgs};
/// // [1 2 3; 4 5 6] · [1 0; 0 1; 1 1], with B read through its transpose's
/// // strides: B is stored column by column.
/// let a = [1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0];
/// let b_cols = [1.0f64, 0.0, 1.0, 0.0, 1.0, 1.0];
/// let mut c = [0.0f64; 4];
/// f64::gemm(GemmArgs {
///     m: 2, n: 2, k: 3,
///     a: &a, a_rs: 3, a_cs: 1,
///     b: &b_cols, b_rs: 1, b_cs: 3,
///     c: &mut c, c_rs: 2,
///     accumulate: false,
///     threads: 1,
/// });
/// assert_eq!(c, [4.0, 5.0, 10.0, 11.0]);
/// ```
#[derive(Debug)]
pub struct GemmArgs<'a, F> {
    /// Rows of `A` and `C`.
    pub m: usize,
    /// Columns of `B` and `C`.
    pub n: usize,
    /// Columns of `A`, rows of `B`.
    pub k: usize,
    /// `A`'s data.
    pub a: &'a [F],
    /// `A`'s row stride.
    pub a_rs: usize,
    /// `A`'s column stride.
    pub a_cs: usize,
    /// `B`'s data.
    pub b: &'a [F],
    /// `B`'s row stride.
    pub b_rs: usize,
    /// `B`'s column stride.
    pub b_cs: usize,
    /// `C`'s data (rows of `n` contiguous elements, `c_rs` apart).
    pub c: &'a mut [F],
    /// `C`'s row stride.
    pub c_rs: usize,
    /// Add into `C` instead of overwriting it.
    pub accumulate: bool,
    /// Threads the kernel may use (1 = the calling thread only), under the
    /// crate's [rule](crate::threads#thread-counts): clamped to
    /// `1 ..= `[`max_threads`](crate::threads::max_threads)`()`, 0 means 1.
    /// Only products of at least 128·128·64 multiply-adds use a second one.
    pub threads: usize,
}
