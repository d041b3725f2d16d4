//! `Dual<F>`: forward-mode dual numbers `a + bε` (ε² = 0) that implement
//! [`num_traits::Float`], so they flow through the same tape and the same ops
//! as `f32` and `f64`.
//!
//! Recording a function on a `Tape<Dual<F>>` whose inputs are `x + εv` and
//! running the backward sweep differentiates the backward sweep itself in
//! the direction `v`: the value parts of the gradient are `∇f(x)` and the
//! tangent parts are the Hessian-vector product `∇²f(x)·v`
//! (forward-over-reverse). No op needs a second derivative rule: every
//! backward rule is written with `F`'s arithmetic, which the dual numbers
//! differentiate. See [`crate::curvature::Objective`].
//!
//! **Comparisons look at values only.** `==`, `<`, `max`, `min` compare the
//! value parts and ignore the tangents, so a branch in an op kernel (ReLU's
//! `x > 0`, the tie rule of `maximum`) is taken on the primal value and the
//! tangent follows the branch, exactly as the derivative of a piecewise
//! function does away from its kinks. Two duals with equal values and
//! different tangents therefore compare equal.
//!
//! Functions with a kink use the crate's subgradient conventions there:
//! `abs` has tangent 0 at 0 (as [`AbsOp`](crate::ops::unary::AbsOp)),
//! `floor`, `ceil`, `round`, `trunc` and `signum` have tangent 0.
//!
//! A dual is finite when both parts are, and NaN when either is, so checked
//! mode and the crate's NaN rules catch a non-finite derivative too.

use std::cmp::Ordering;
use std::fmt;
use std::num::FpCategory;
use std::ops::{
    Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Rem, RemAssign, Sub, SubAssign,
};

use num_traits::{Float, FromPrimitive, Num, NumCast, One, ToPrimitive, Zero};

use crate::element::Element;
use crate::element::GemmArgs;
use crate::kernels::matmul::{SMALL, gemm_naive};

/// A dual number `value + tangent·ε` with `ε² = 0`: `f(a + bε) = f(a) +
/// f'(a)·b·ε`, so the tangent carries a directional derivative alongside
/// every value.
///
/// ```
/// use gradsign::dual::Dual;
/// use num_traits::Float;
/// let x = Dual::new(2.0, 1.0);          // x = 2, dx = 1
/// let y = x * x * x + x.sin();          // x³ + sin x
/// assert_eq!(y.value, 8.0 + 2.0f64.sin());
/// assert_eq!(y.tangent, 12.0 + 2.0f64.cos()); // 3x² + cos x
/// // Comparisons look at values only:
/// assert_eq!(Dual::new(1.0, 5.0), Dual::new(1.0, -3.0));
/// ```
#[derive(Clone, Copy, Default)]
pub struct Dual<F> {
    /// The value (the primal part).
    pub value: F,
    /// The tangent: the derivative of the value along the seeded direction.
    pub tangent: F,
}

impl<F: Float> Dual<F> {
    /// `value + tangent·ε`.
    #[inline]
    pub fn new(value: F, tangent: F) -> Self {
        Dual { value, tangent }
    }

    /// A constant: tangent 0.
    #[inline]
    pub fn constant(value: F) -> Self {
        Dual::new(value, F::zero())
    }

    /// `f(self)` given `f(value)` and `f'(value)`: the tangent is
    /// `f'(value)·tangent`, and exactly 0 when the tangent is 0, so that a
    /// constant stays a constant where `f'` is infinite (`sqrt` at 0).
    #[inline]
    fn chain(self, value: F, derivative: F) -> Self {
        let tangent = if self.tangent == F::zero() {
            F::zero()
        } else {
            derivative * self.tangent
        };
        Dual::new(value, tangent)
    }
}

impl<F: Float> PartialEq for Dual<F> {
    /// Compares values only (see the module docs).
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl<F: Float> PartialOrd for Dual<F> {
    /// Orders by value only (see the module docs).
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        self.value.partial_cmp(&other.value)
    }
}

impl<F: fmt::Debug> fmt::Debug for Dual<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Dual({:?} + {:?}ε)", self.value, self.tangent)
    }
}

impl<F: fmt::Display> fmt::Display for Dual<F> {
    /// `value±tangentε` (`1.5-2ε`), with the formatter's precision applied to both.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match f.precision() {
            Some(p) => write!(f, "{:.*}{:+.*}ε", p, self.value, p, self.tangent),
            None => write!(f, "{}{:+}ε", self.value, self.tangent),
        }
    }
}

impl<F: Float> Neg for Dual<F> {
    type Output = Self;
    #[inline]
    fn neg(self) -> Self {
        Dual::new(-self.value, -self.tangent)
    }
}

impl<F: Float> Add for Dual<F> {
    type Output = Self;
    #[inline]
    fn add(self, rhs: Self) -> Self {
        Dual::new(self.value + rhs.value, self.tangent + rhs.tangent)
    }
}

impl<F: Float> Sub for Dual<F> {
    type Output = Self;
    #[inline]
    fn sub(self, rhs: Self) -> Self {
        Dual::new(self.value - rhs.value, self.tangent - rhs.tangent)
    }
}

impl<F: Float> Mul for Dual<F> {
    type Output = Self;
    /// `(a + a'ε)(b + b'ε) = ab + (a'b + ab')ε`.
    #[inline]
    fn mul(self, rhs: Self) -> Self {
        Dual::new(
            self.value * rhs.value,
            self.tangent * rhs.value + self.value * rhs.tangent,
        )
    }
}

impl<F: Float> Div for Dual<F> {
    type Output = Self;
    /// `a/b + (a' − (a/b)·b')/b · ε`.
    #[inline]
    fn div(self, rhs: Self) -> Self {
        let q = self.value / rhs.value;
        Dual::new(q, (self.tangent - q * rhs.tangent) / rhs.value)
    }
}

impl<F: Float> Rem for Dual<F> {
    type Output = Self;
    /// `a mod b = a − b·trunc(a/b)`; the truncation is locally constant, so
    /// the tangent is `a' − b'·trunc(a/b)`.
    #[inline]
    fn rem(self, rhs: Self) -> Self {
        let k = (self.value / rhs.value).trunc();
        Dual::new(self.value % rhs.value, self.tangent - rhs.tangent * k)
    }
}

macro_rules! assign_ops {
    ($($trait:ident, $method:ident, $op:tt;)*) => {
        $(
            impl<F: Float> $trait for Dual<F> {
                #[inline]
                fn $method(&mut self, rhs: Self) {
                    *self = *self $op rhs;
                }
            }
        )*
    };
}

assign_ops! {
    AddAssign, add_assign, +;
    SubAssign, sub_assign, -;
    MulAssign, mul_assign, *;
    DivAssign, div_assign, /;
    RemAssign, rem_assign, %;
}

impl<F: Float> Zero for Dual<F> {
    #[inline]
    fn zero() -> Self {
        Dual::constant(F::zero())
    }
    #[inline]
    fn is_zero(&self) -> bool {
        self.value.is_zero()
    }
}

impl<F: Float> One for Dual<F> {
    #[inline]
    fn one() -> Self {
        Dual::constant(F::one())
    }
}

impl<F: Float> Num for Dual<F> {
    type FromStrRadixErr = F::FromStrRadixErr;
    /// Parses the value; the tangent is 0.
    fn from_str_radix(s: &str, radix: u32) -> Result<Self, Self::FromStrRadixErr> {
        F::from_str_radix(s, radix).map(Dual::constant)
    }
}

impl<F: Float> ToPrimitive for Dual<F> {
    /// The value's conversion (the tangent is dropped).
    fn to_i64(&self) -> Option<i64> {
        self.value.to_i64()
    }
    /// The value's conversion (the tangent is dropped).
    fn to_u64(&self) -> Option<u64> {
        self.value.to_u64()
    }
    /// The value's conversion (the tangent is dropped).
    fn to_f64(&self) -> Option<f64> {
        self.value.to_f64()
    }
    /// The value's conversion (the tangent is dropped).
    fn to_f32(&self) -> Option<f32> {
        self.value.to_f32()
    }
}

impl<F: Float> NumCast for Dual<F> {
    /// A constant (tangent 0) from any primitive number.
    fn from<T: ToPrimitive>(n: T) -> Option<Self> {
        <F as NumCast>::from(n).map(Dual::constant)
    }
}

impl<F: Float + FromPrimitive> FromPrimitive for Dual<F> {
    fn from_i64(n: i64) -> Option<Self> {
        F::from_i64(n).map(Dual::constant)
    }
    fn from_u64(n: u64) -> Option<Self> {
        F::from_u64(n).map(Dual::constant)
    }
    fn from_f64(n: f64) -> Option<Self> {
        F::from_f64(n).map(Dual::constant)
    }
    fn from_f32(n: f32) -> Option<Self> {
        F::from_f32(n).map(Dual::constant)
    }
}

/// Constants of `F` as duals with tangent 0.
macro_rules! constants {
    ($($name:ident),*) => {
        $(
            #[inline]
            fn $name() -> Self {
                Dual::constant(F::$name())
            }
        )*
    };
}

/// Functions that are locally constant (tangent 0 wherever they are
/// differentiable).
macro_rules! piecewise_constant {
    ($($name:ident),*) => {
        $(
            #[inline]
            fn $name(self) -> Self {
                Dual::constant(self.value.$name())
            }
        )*
    };
}

impl<F: Float> Float for Dual<F> {
    constants!(
        nan,
        infinity,
        neg_infinity,
        neg_zero,
        min_value,
        min_positive_value,
        epsilon,
        max_value
    );
    piecewise_constant!(floor, ceil, round, trunc, signum);

    /// Either part is NaN.
    #[inline]
    fn is_nan(self) -> bool {
        self.value.is_nan() || self.tangent.is_nan()
    }
    /// Neither part is NaN and one is infinite.
    #[inline]
    fn is_infinite(self) -> bool {
        !self.is_nan() && (self.value.is_infinite() || self.tangent.is_infinite())
    }
    /// Both parts are finite.
    #[inline]
    fn is_finite(self) -> bool {
        self.value.is_finite() && self.tangent.is_finite()
    }
    #[inline]
    fn is_normal(self) -> bool {
        self.value.is_normal()
    }
    #[inline]
    fn classify(self) -> FpCategory {
        self.value.classify()
    }
    #[inline]
    fn fract(self) -> Self {
        Dual::new(self.value.fract(), self.tangent)
    }
    /// `|x|`; tangent `sign(x)·x'`, and 0 at `x = 0` (the crate's
    /// subgradient, as [`AbsOp`](crate::ops::unary::AbsOp)).
    #[inline]
    fn abs(self) -> Self {
        if self.value > F::zero() {
            self
        } else if self.value < F::zero() {
            -self
        } else {
            Dual::new(self.value.abs(), self.tangent * F::zero())
        }
    }
    #[inline]
    fn is_sign_positive(self) -> bool {
        self.value.is_sign_positive()
    }
    #[inline]
    fn is_sign_negative(self) -> bool {
        self.value.is_sign_negative()
    }
    /// `self·a + b`, fused on the values.
    #[inline]
    fn mul_add(self, a: Self, b: Self) -> Self {
        Dual::new(
            self.value.mul_add(a.value, b.value),
            self.tangent * a.value + self.value * a.tangent + b.tangent,
        )
    }
    /// `1/x`; d = −1/x².
    #[inline]
    fn recip(self) -> Self {
        let r = self.value.recip();
        self.chain(r, -(r * r))
    }
    /// `xⁿ`; d = n·xⁿ⁻¹.
    #[inline]
    fn powi(self, n: i32) -> Self {
        if n == 0 {
            return Dual::constant(F::one());
        }
        let d = F::from(n).unwrap_or_else(F::nan) * self.value.powi(n - 1);
        self.chain(self.value.powi(n), d)
    }
    /// `xⁿ` for a dual exponent: d = n·xⁿ⁻¹·x' + xⁿ·ln x·n'. Each term is
    /// added only when its tangent is non-zero, so `0^c` with a constant `c`
    /// has no `ln 0` in it.
    #[inline]
    fn powf(self, n: Self) -> Self {
        let y = self.value.powf(n.value);
        let mut tangent = F::zero();
        if self.tangent != F::zero() {
            tangent = tangent + n.value * self.value.powf(n.value - F::one()) * self.tangent;
        }
        if n.tangent != F::zero() {
            tangent = tangent + y * self.value.ln() * n.tangent;
        }
        Dual::new(y, tangent)
    }
    /// `√x`; d = 1/(2√x).
    #[inline]
    fn sqrt(self) -> Self {
        let s = self.value.sqrt();
        self.chain(s, (s + s).recip())
    }
    /// `eˣ`; d = eˣ.
    #[inline]
    fn exp(self) -> Self {
        let e = self.value.exp();
        self.chain(e, e)
    }
    /// `2ˣ`; d = 2ˣ·ln 2.
    #[inline]
    fn exp2(self) -> Self {
        let e = self.value.exp2();
        self.chain(
            e,
            e * F::from(std::f64::consts::LN_2).unwrap_or_else(F::nan),
        )
    }
    /// `ln x`; d = 1/x.
    #[inline]
    fn ln(self) -> Self {
        self.chain(self.value.ln(), self.value.recip())
    }
    /// `ln x / ln base`, both dual.
    #[inline]
    fn log(self, base: Self) -> Self {
        self.ln() / base.ln()
    }
    /// `log₂ x`; d = 1/(x·ln 2).
    #[inline]
    fn log2(self) -> Self {
        let ln2 = F::from(std::f64::consts::LN_2).unwrap_or_else(F::nan);
        self.chain(self.value.log2(), (self.value * ln2).recip())
    }
    /// `log₁₀ x`; d = 1/(x·ln 10).
    #[inline]
    fn log10(self) -> Self {
        let ln10 = F::from(std::f64::consts::LN_10).unwrap_or_else(F::nan);
        self.chain(self.value.log10(), (self.value * ln10).recip())
    }
    /// The larger value (and its tangent); a NaN loses, as in `f64::max`.
    #[inline]
    fn max(self, other: Self) -> Self {
        if self.value.is_nan() || other.value > self.value {
            other
        } else {
            self
        }
    }
    /// The smaller value (and its tangent); a NaN loses, as in `f64::min`.
    #[inline]
    fn min(self, other: Self) -> Self {
        if self.value.is_nan() || other.value < self.value {
            other
        } else {
            self
        }
    }
    /// `max(x − y, 0)`.
    #[inline]
    fn abs_sub(self, other: Self) -> Self {
        if self.value > other.value {
            self - other
        } else {
            Self::zero()
        }
    }
    /// `∛x`; d = 1/(3∛x²).
    #[inline]
    fn cbrt(self) -> Self {
        let c = self.value.cbrt();
        let three = F::one() + F::one() + F::one();
        self.chain(c, (three * c * c).recip())
    }
    /// `√(x² + y²)`; tangent `(x·x' + y·y')/h`.
    #[inline]
    fn hypot(self, other: Self) -> Self {
        let h = self.value.hypot(other.value);
        let num = self.value * self.tangent + other.value * other.tangent;
        let tangent = if num == F::zero() { F::zero() } else { num / h };
        Dual::new(h, tangent)
    }
    /// `sin x`; d = cos x.
    #[inline]
    fn sin(self) -> Self {
        self.chain(self.value.sin(), self.value.cos())
    }
    /// `cos x`; d = −sin x.
    #[inline]
    fn cos(self) -> Self {
        self.chain(self.value.cos(), -self.value.sin())
    }
    /// `tan x`; d = 1 + tan²x.
    #[inline]
    fn tan(self) -> Self {
        let t = self.value.tan();
        self.chain(t, F::one() + t * t)
    }
    /// `asin x`; d = 1/√(1 − x²).
    #[inline]
    fn asin(self) -> Self {
        let d = (F::one() - self.value * self.value).sqrt().recip();
        self.chain(self.value.asin(), d)
    }
    /// `acos x`; d = −1/√(1 − x²).
    #[inline]
    fn acos(self) -> Self {
        let d = -(F::one() - self.value * self.value).sqrt().recip();
        self.chain(self.value.acos(), d)
    }
    /// `atan x`; d = 1/(1 + x²).
    #[inline]
    fn atan(self) -> Self {
        let d = (F::one() + self.value * self.value).recip();
        self.chain(self.value.atan(), d)
    }
    /// `atan2(y, x)` with `self = y`; tangent `(x·y' − y·x')/(x² + y²)`.
    #[inline]
    fn atan2(self, other: Self) -> Self {
        let (y, x) = (self.value, other.value);
        let num = x * self.tangent - y * other.tangent;
        let tangent = if num == F::zero() {
            F::zero()
        } else {
            num / (x * x + y * y)
        };
        Dual::new(y.atan2(x), tangent)
    }
    #[inline]
    fn sin_cos(self) -> (Self, Self) {
        (self.sin(), self.cos())
    }
    /// `eˣ − 1`; d = eˣ.
    #[inline]
    fn exp_m1(self) -> Self {
        self.chain(self.value.exp_m1(), self.value.exp())
    }
    /// `ln(1 + x)`; d = 1/(1 + x).
    #[inline]
    fn ln_1p(self) -> Self {
        self.chain(self.value.ln_1p(), (F::one() + self.value).recip())
    }
    /// `sinh x`; d = cosh x.
    #[inline]
    fn sinh(self) -> Self {
        self.chain(self.value.sinh(), self.value.cosh())
    }
    /// `cosh x`; d = sinh x.
    #[inline]
    fn cosh(self) -> Self {
        self.chain(self.value.cosh(), self.value.sinh())
    }
    /// `tanh x`; d = 1 − tanh²x.
    #[inline]
    fn tanh(self) -> Self {
        let t = self.value.tanh();
        self.chain(t, F::one() - t * t)
    }
    /// `asinh x`; d = 1/√(x² + 1).
    #[inline]
    fn asinh(self) -> Self {
        let d = (self.value * self.value + F::one()).sqrt().recip();
        self.chain(self.value.asinh(), d)
    }
    /// `acosh x`; d = 1/√(x² − 1).
    #[inline]
    fn acosh(self) -> Self {
        let d = (self.value * self.value - F::one()).sqrt().recip();
        self.chain(self.value.acosh(), d)
    }
    /// `atanh x`; d = 1/(1 − x²).
    #[inline]
    fn atanh(self) -> Self {
        let d = (F::one() - self.value * self.value).recip();
        self.chain(self.value.atanh(), d)
    }
    /// The value's decomposition.
    #[inline]
    fn integer_decode(self) -> (u64, i16, i8) {
        self.value.integer_decode()
    }
}

/// The value parts come from the same kernels as plain `F`'s, so a dual
/// pass reproduces an `F` pass exactly in its values.
impl<F: Element> Element for Dual<F> {
    const NAME: &'static str = "dual";
    /// Three products of `F`'s own kernel on the value and tangent planes
    /// (`Cᵥ = AᵥBᵥ`, `Cₜ = AₜBᵥ + AᵥBₜ`): the tuned kernel for `f32` and
    /// `f64`, so a Hessian-vector product costs a few gradients' worth of
    /// products, and the values come from the kernel an `F` pass uses.
    fn gemm(args: GemmArgs<'_, Self>) {
        dual_gemm(args)
    }
    #[inline]
    fn kernel_exp(self) -> Self {
        let e = self.value.kernel_exp();
        self.chain(e, e)
    }
    #[inline]
    fn kernel_tanh(self) -> Self {
        let t = self.value.kernel_tanh();
        self.chain(t, F::one() - t * t)
    }
    #[inline]
    fn kernel_logistic(self) -> Self {
        // σ′ = σ(x)σ(−x), both with full relative precision (1 − σ would
        // cancel in the tail).
        let (s, t) = crate::activation::sigmoidal::logistic_pair(self.value);
        self.chain(s, s * t)
    }
}

/// The value and tangent planes of a strided `rows × cols` dual matrix, as
/// two row-major `F` matrices.
fn planes<F: Element>(
    src: &[Dual<F>],
    (rows, cols): (usize, usize),
    (rs, cs): (usize, usize),
) -> (Vec<F>, Vec<F>) {
    let mut v = Vec::with_capacity(rows * cols);
    let mut t = Vec::with_capacity(rows * cols);
    for i in 0..rows {
        for j in 0..cols {
            let d = src[i * rs + j * cs];
            v.push(d.value);
            t.push(d.tangent);
        }
    }
    (v, t)
}

/// `C (+)= A·B` for dual matrices by `F`'s kernel (see `Element::gemm` for
/// `Dual`): the product rule `(Aᵥ + εAₜ)(Bᵥ + εBₜ) = AᵥBᵥ + ε(AₜBᵥ + AᵥBₜ)`.
fn dual_gemm<F: Element>(args: GemmArgs<'_, Dual<F>>) {
    let (m, n, k) = (args.m, args.n, args.k);
    if m.saturating_mul(n).saturating_mul(k) < SMALL {
        return gemm_naive(args);
    }
    let GemmArgs {
        a,
        a_rs,
        a_cs,
        b,
        b_rs,
        b_cs,
        c,
        c_rs,
        accumulate,
        threads,
        ..
    } = args;
    let (av, at) = planes(a, (m, k), (a_rs, a_cs));
    let (bv, bt) = planes(b, (k, n), (b_rs, b_cs));
    let (mut cv, mut ct) = if accumulate {
        planes(c, (m, n), (c_rs, 1))
    } else {
        (vec![F::zero(); m * n], vec![F::zero(); m * n])
    };
    let product = |x: &[F], y: &[F], out: &mut [F], accumulate: bool| {
        F::gemm(GemmArgs {
            m,
            n,
            k,
            a: x,
            a_rs: k,
            a_cs: 1,
            b: y,
            b_rs: n,
            b_cs: 1,
            c: out,
            c_rs: n,
            accumulate,
            threads,
        })
    };
    product(&av, &bv, &mut cv, accumulate);
    product(&at, &bv, &mut ct, accumulate);
    product(&av, &bt, &mut ct, true);
    for i in 0..m {
        let row = &mut c[i * c_rs..i * c_rs + n];
        for (j, d) in row.iter_mut().enumerate() {
            *d = Dual {
                value: cv[i * n + j],
                tangent: ct[i * n + j],
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The split product equals the dual loop on strided operands, with and
    /// without accumulation, above and below the split threshold.
    #[test]
    fn the_split_product_equals_the_dual_loop() {
        let mut seed = 7u64;
        let mut next = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        for (m, n, k) in [(3, 4, 5), (17, 33, 29), (40, 9, 64)] {
            for accumulate in [false, true] {
                // A column-major (strides 1, m), B row-major with padded rows.
                let a: Vec<Dual<f64>> = (0..m * k).map(|_| Dual::new(next(), next())).collect();
                let b: Vec<Dual<f64>> = (0..k * (n + 2))
                    .map(|_| Dual::new(next(), next()))
                    .collect();
                let c0: Vec<Dual<f64>> = (0..m * n).map(|_| Dual::new(next(), next())).collect();
                let run = |split: bool| {
                    let mut c = c0.clone();
                    let args = GemmArgs {
                        m,
                        n,
                        k,
                        a: &a,
                        a_rs: 1,
                        a_cs: m,
                        b: &b,
                        b_rs: n + 2,
                        b_cs: 1,
                        c: &mut c,
                        c_rs: n,
                        accumulate,
                        threads: 1,
                    };
                    if split {
                        dual_gemm(args)
                    } else {
                        gemm_naive(args)
                    }
                    c
                };
                let (got, want) = (run(true), run(false));
                for (g, w) in got.iter().zip(&want) {
                    assert!(
                        (g.value - w.value).abs() <= 1e-12,
                        "{m}×{n}×{k}: {} vs {}",
                        g.value,
                        w.value
                    );
                    assert!(
                        (g.tangent - w.tangent).abs() <= 1e-12,
                        "{m}×{n}×{k}: {} vs {}",
                        g.tangent,
                        w.tangent
                    );
                }
            }
        }
    }
}
