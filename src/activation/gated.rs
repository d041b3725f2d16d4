//! Self-gated activations `x·g(x)`: GELU (exact erf form and the tanh
//! approximation), SiLU/swish and mish. Each is smooth, dips below zero to a
//! minimum near `x ≈ −1`, and grows like `x`.

use std::f64::consts::{FRAC_1_SQRT_2, FRAC_2_SQRT_PI, PI};

use crate::autodiff::Params;
use crate::element::Element;
use crate::ops::UnaryOp;

use super::sigmoidal::logistic;

/// `1/√(2π)`.
const FRAC_1_SQRT_2PI: f64 = FRAC_2_SQRT_PI * FRAC_1_SQRT_2 * 0.5;

/// The standard normal density `φ(x) = e^{−x²/2}/√(2π)`.
#[inline]
pub(crate) fn normal_pdf<F: Element>(x: F) -> F {
    (-(x * x) * F::from_f64(0.5)).exp() * F::from_f64(FRAC_1_SQRT_2PI)
}

/// The standard normal distribution function `Φ(x) = ½·erfc(−x/√2)`, given
/// `φ(x)` (see [`normal_pdf`]).
///
/// The value comes from `libm::erfc` in `f64` (correctly rounded to about one
/// ulp; the `erfc` form keeps full relative precision in the lower tail,
/// where `½(1 + erf(x/√2))` would cancel to 0). For a type other than `f32`
/// and `f64` — a dual number — the result is lifted to first order around
/// the `f64` point `x₀`: `Φ(x₀) + (x − x₀)·φ(x)`, whose value is `Φ(x₀)` and
/// whose tangent is `φ(x₀)·ẋ`, the exact derivative. For `f32` and `f64`,
/// `x − x₀` is exactly 0 and the lift changes nothing.
#[inline]
pub(crate) fn normal_cdf<F: Element>(x: F, pdf: F) -> F {
    let x0 = x.to_f64();
    let value = F::from_f64(0.5 * libm::erfc(-x0 * FRAC_1_SQRT_2));
    if x.is_finite() {
        value + (x - F::from_f64(x0)) * pdf
    } else {
        value
    }
}

/// `x·g` where `g` is a gate in `[0, 1]`: `0·g` would be NaN for an infinite
/// `x` and a zero gate, but the product of a finite `x` and a gate that
/// underflowed to 0 is exactly what the limit says.
#[inline]
fn gate<F: Element>(x: F, g: F) -> F {
    if g == F::zero() { g } else { x * g }
}

/// GELU, exact form: `x·Φ(x)` with `Φ` the standard normal distribution
/// function (Hendrycks & Gimpel 2016); derivative `Φ(x) + x·φ(x)`.
///
/// `Φ` is `½·erfc(−x/√2)` from `libm` (see the module's note on dual
/// numbers); `gelu(−10) = −7.6e−23` to full relative precision, `gelu(1e4)
/// = 1e4`, `gelu(−1e4) = 0`. Minimum `−0.169971` at `x = −0.751792`.
pub struct GeluOp;
impl<F: Element> UnaryOp<F> for GeluOp {
    const NAME: &'static str = "gelu";
    #[inline]
    fn f(x: F, _: &Params<F>) -> F {
        x * normal_cdf(x, normal_pdf(x))
    }
    #[inline]
    fn df(x: F, _: F, _: &Params<F>) -> F {
        let pdf = normal_pdf(x);
        normal_cdf(x, pdf) + gate(x, pdf)
    }
}

/// The cubic coefficient of GELU's tanh approximation.
const GELU_TANH_CUBIC: f64 = 0.044_715;

/// GELU, tanh approximation: `½x·(1 + tanh(u))` with
/// `u = √(2/π)·(x + 0.044715x³)`; derivative `s + 2x·s(1 − s)·u'` with
/// `s = σ(2u)` and `u' = √(2/π)·(1 + 3·0.044715x²)`.
///
/// Computed as `x·σ(2u)` (the identity `½(1 + tanh u) = σ(2u)`), which keeps
/// full relative precision for negative `x`, where `1 + tanh u` cancels.
/// Minimum `−0.170041` at `x = −0.752461`.
pub struct GeluTanhOp;
impl<F: Element> UnaryOp<F> for GeluTanhOp {
    const NAME: &'static str = "gelu_tanh";
    #[inline]
    fn f(x: F, _: &Params<F>) -> F {
        gate(x, logistic(gelu_tanh_2u(x)))
    }
    #[inline]
    fn df(x: F, _: F, _: &Params<F>) -> F {
        let s = logistic(gelu_tanh_2u(x));
        let ds = s * (F::one() - s);
        if ds == F::zero() {
            // Saturated gate: the second term is x·0·u', exactly 0 in the
            // limit, but NaN if u' overflowed.
            return s;
        }
        let du = F::from_f64((2.0 / PI).sqrt())
            * (F::one() + F::from_f64(3.0 * GELU_TANH_CUBIC) * x * x);
        s + (x + x) * ds * du
    }
}

/// `2u = 2√(2/π)·(x + 0.044715x³)`.
#[inline]
fn gelu_tanh_2u<F: Element>(x: F) -> F {
    F::from_f64(2.0 * (2.0 / PI).sqrt()) * (x + F::from_f64(GELU_TANH_CUBIC) * x * x * x)
}

/// SiLU, also called swish: `x·σ(x)` (Elfwing et al. 2018; Ramachandran et
/// al. 2017); derivative `σ(x) + y·(1 − σ(x))`, partly from the output.
/// Minimum `−0.278465` at `x = −1.278465`.
pub struct SiluOp;
impl<F: Element> UnaryOp<F> for SiluOp {
    const NAME: &'static str = "silu";
    #[inline]
    fn f(x: F, _: &Params<F>) -> F {
        gate(x, logistic(x))
    }
    #[inline]
    fn df(x: F, y: F, _: &Params<F>) -> F {
        let s = logistic(x);
        s + y * (F::one() - s)
    }
}

/// `ln(1 + eˣ)` without overflow.
#[inline]
fn softplus1<F: Element>(x: F) -> F {
    x.max(F::zero()) + (-x.abs()).exp().ln_1p()
}

/// Mish `x·tanh(softplus(x))` (Misra 2019); derivative
/// `t + x·(1 − t²)·σ(x)` with `t = tanh(softplus(x))`, since
/// `softplus' = σ`. Minimum `−0.308843` at `x = −1.192431`.
pub struct MishOp;
impl<F: Element> UnaryOp<F> for MishOp {
    const NAME: &'static str = "mish";
    #[inline]
    fn f(x: F, _: &Params<F>) -> F {
        gate(x, softplus1(x).tanh())
    }
    #[inline]
    fn df(x: F, _: F, _: &Params<F>) -> F {
        let t = softplus1(x).tanh();
        t + gate(x, (F::one() - t * t) * logistic(x))
    }
}

activation_methods! {
    /// GELU `x·Φ(x)` element-wise ([`GeluOp`]); derivative `Φ(x) + x·φ(x)`.
    ///
    /// ```
    /// let tape = gradsign::Tape::<f64>::new();
    /// let x = tape.var_scalar(0.0);
    /// let y = x.gelu();
    /// assert_eq!(y.item()?, 0.0);
    /// assert_eq!(y.backward()?.get(x)?, &[0.5]); // Φ(0)
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    gelu, try_gelu, GeluOp;
    /// GELU's tanh approximation `½x(1 + tanh(√(2/π)(x + 0.044715x³)))`
    /// element-wise ([`GeluTanhOp`]).
    gelu_tanh, try_gelu_tanh, GeluTanhOp;
    /// SiLU/swish `x·σ(x)` element-wise ([`SiluOp`]); derivative
    /// `σ(x)(1 + x(1 − σ(x)))`.
    ///
    /// ```
    /// let tape = gradsign::Tape::<f32>::new();
    /// assert_eq!(tape.var_scalar(-1e4).silu().item()?, 0.0);
    /// assert_eq!(tape.var_scalar(1e4).silu().item()?, 1e4);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    silu, try_silu, SiluOp;
    /// Mish `x·tanh(ln(1 + eˣ))` element-wise ([`MishOp`]).
    mish, try_mish, MishOp;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_cdf_keeps_relative_precision_in_the_lower_tail() {
        // Φ(−10) = 7.6198530241605e−24 (mpmath, 30 digits: 7.61985302416052606597334325e−24).
        let p = normal_cdf(-10.0f64, normal_pdf(-10.0f64));
        assert!((p / 7.619_853_024_160_526e-24 - 1.0).abs() < 1e-14, "{p}");
    }

    #[test]
    fn normal_cdf_is_symmetric() {
        // Φ(x) + Φ(−x) = 1.
        for x in [0.1f64, 0.7, 1.3, 2.9, 5.0] {
            let s = normal_cdf(x, normal_pdf(x)) + normal_cdf(-x, normal_pdf(-x));
            assert!((s - 1.0).abs() < 1e-15, "{x}: {s}");
        }
    }

    #[test]
    fn normal_pdf_has_its_peak_value_at_zero() {
        // φ(0) = 1/√(2π) = 0.3989422804014327.
        assert!((normal_pdf(0.0f64) - 0.398_942_280_401_432_7).abs() < 1e-16);
    }
}
