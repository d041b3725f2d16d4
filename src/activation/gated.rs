//! Self-gated activations `x·g(x)`: GELU (exact erf form and the tanh
//! approximation), SiLU/swish and mish. Each is smooth, dips below zero to a
//! minimum near `x ≈ −1`, and grows like `x`.

use std::f64::consts::{FRAC_1_SQRT_2, FRAC_2_SQRT_PI};

use crate::element::Element;
use crate::ops::UnaryOp;

use super::sigmoidal::{logistic, logistic_pair, sech2};

/// `1/√(2π)`.
const FRAC_1_SQRT_2PI: f64 = FRAC_2_SQRT_PI * FRAC_1_SQRT_2 * 0.5;

/// `1/√2 − FRAC_1_SQRT_2`: the rounding error of the `f64` constant.
const FRAC_1_SQRT_2_LO: f64 = -4.833_646_656_726_457e-17;

/// The rounded product `a·b` and its exact rounding error (by `mul_add`),
/// the error replaced by 0 where the product is not finite.
#[inline]
fn product_with_error<F: Element>(a: F, b: F) -> (F, F) {
    let p = a * b;
    let e = a.mul_add(b, -p);
    (
        p,
        if p.is_finite() && e.is_finite() {
            e
        } else {
            F::zero()
        },
    )
}

/// The standard normal density `φ(x) = e^{−x²/2}/√(2π)`.
///
/// `x²` is formed with its rounding error `l` and `e^{−(x² + l)/2}` taken as
/// `e^{−x²/2}·(1 − l/2)`: in the tail the rounding of `x²` alone would cost
/// `x²/4` ulps (about 40 in f32 at `x = −12.8`, 300 in f64 at `x = −36`).
#[inline]
pub(crate) fn normal_pdf<F: Element>(x: F) -> F {
    let half = F::from_f64(0.5);
    let (sq, l) = product_with_error(x, x);
    (-sq * half).exp() * (F::one() - l * half) * F::from_f64(FRAC_1_SQRT_2PI)
}

/// The standard normal distribution function `Φ(x) = ½·erfc(−x/√2)`, given
/// `φ(x)` (see [`normal_pdf`]).
///
/// The value comes from `libm::erfc` in `f64` (correctly rounded to about one
/// ulp; the `erfc` form keeps full relative precision in the lower tail,
/// where `½(1 + erf(x/√2))` would cancel to 0). Its argument `w = −x/√2` is
/// formed with its rounding error `δ` (the product's, and that of the
/// constant `1/√2`), and `erfc(w + δ) = erfc(w) − δ·(2/√π)e^{−w²}` to first
/// order, that is `Φ = ½erfc(w) − δ·√2·φ(x)`: the tail's relative error
/// would otherwise be `x²` times that of `w` (1500 ulps in f64 at
/// `x = −36`). For a type other than `f32` and `f64` — a dual number — the
/// result is lifted to first order around the `f64` point `x₀`:
/// `Φ(x₀) + (x − x₀)·φ(x)`, whose value is `Φ(x₀)` and whose tangent is
/// `φ(x₀)·ẋ`, the exact derivative. For `f32` and `f64`, `x − x₀` is exactly
/// 0 and the lift changes nothing.
#[inline]
pub(crate) fn normal_cdf<F: Element>(x: F, pdf: F) -> F {
    let x0 = x.to_f64();
    let (w, l) = product_with_error(-x0, FRAC_1_SQRT_2);
    let delta = l + -x0 * FRAC_1_SQRT_2_LO;
    let tail = normal_pdf(x0) * std::f64::consts::SQRT_2;
    let value = F::from_f64(0.5 * libm::erfc(w) - delta * tail);
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
    type State = ();
    const SPLIT_FROM: usize = crate::ops::SPLIT_COSTLY;
    #[inline]
    fn f(x: F, _: ()) -> F {
        x * normal_cdf(x, normal_pdf(x))
    }
    #[inline]
    fn df(x: F, _: F, _: ()) -> F {
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
/// full relative precision for negative `x`, where `1 + tanh u` cancels. In
/// the derivative `s(1 − s)` is `σ(2u)·σ(−2u)`, each factor from the input:
/// `1 − s` formed by subtraction has an absolute error of an ulp of 1,
/// which `2x·u'` would multiply (35 ulps at `x = 5`). Minimum `−0.170041` at
/// `x = −0.752461`.
pub struct GeluTanhOp;
impl<F: Element> UnaryOp<F> for GeluTanhOp {
    const NAME: &'static str = "gelu_tanh";
    type State = ();
    const SPLIT_FROM: usize = crate::ops::SPLIT_COSTLY;
    #[inline]
    fn f(x: F, _: ()) -> F {
        let (h, l, _) = gelu_tanh_2u(x);
        let (s, t) = logistic_pair(h);
        // σ(h + l) = σ(h)·(1 + l·σ(−h)) to first order.
        gate(x, s * (F::one() + l * t))
    }
    #[inline]
    fn df(x: F, _: F, _: ()) -> F {
        let (h, l, m) = gelu_tanh_2u(x);
        let (s0, t0) = logistic_pair(h);
        let s = s0 * (F::one() + l * t0);
        // σσ(−)' = σσ(−)·(σ(−) − σ).
        if s0 < F::min_positive_value() {
            // σ(2u) = e^h is subnormal (or 0), with an absolute error of a
            // unit of the smallest subnormal that m = 2x·u' (about 0.27x³,
            // large) would multiply into hundreds of ulps. Here σ(−2u) = 1
            // and ds = e^h(1 + l): apply m to the normal e^{h/2} first.
            let root = (h * F::from_f64(0.5)).exp();
            if root == F::zero() {
                return s;
            }
            return s + ((m * root) * root) * (F::one() + l);
        }
        let ds = s0 * t0 * (F::one() + l * (t0 - s0));
        if ds == F::zero() {
            // Saturated gate (x → +∞): the second term is x·0·u', exactly 0
            // in the limit, but NaN if u' overflowed.
            return s;
        }
        // s + m·ds = σ(h)·(1 + σ(−h)·(l + m + m·l·(σ(−h) − σ(h)))): σ(h)
        // factored out of both terms, so that its error enters once.
        s0 * (F::one() + t0 * (m + l + m * l * (t0 - s0)))
    }
}

/// `2√(2/π)` as the `f64` nearest and the rest.
const GELU_TANH_2C: (f64, f64) = (1.595_769_121_605_730_8, -9.969_308_809_110_92e-17);

/// `2u = 2√(2/π)·(x + 0.044715x³)` as `(h, l)`: the rounded value and its
/// error, carried through every product and sum (`mul_add` for the
/// products' errors, the constants split into two `F`s); and the
/// derivative's factor `m = 2x·u' = 2√(2/π)·(x + 3·0.044715x³)`, formed as
/// `2u + 2·(2√(2/π)·0.044715x³)` from the same pieces: two terms of one
/// sign, so one rounding, where `2x·√(2/π)·(1 + 3·0.044715x²)` took five
/// (the derivative reached 8.5 ulps in f32 near `x = −4.63`). In the lower tail
/// `σ(2u) ≈ e^{2u}`, so an error of `δ` in `2u` is a relative error of `δ`
/// in the result: a plain evaluation loses `|2u|` times its few-ulp
/// relative error (135 ulps in f32, 1500 in f64).
#[inline]
fn gelu_tanh_2u<F: Element>(x: F) -> (F, F, F) {
    let split = |v: f64, lo: f64| {
        let hi = F::from_f64(v);
        (hi, F::from_f64((v - hi.to_f64()) + lo))
    };
    let (k_hi, k_lo) = split(GELU_TANH_CUBIC, 0.0);
    let (c_hi, c_lo) = split(GELU_TANH_2C.0, GELU_TANH_2C.1);
    let (p2, e2) = product_with_error(x, x);
    let (p3, e3) = product_with_error(x, p2);
    let e3 = e3 + x * e2;
    let (q, eq) = product_with_error(k_hi, p3);
    let eq = eq + k_hi * e3 + k_lo * p3;
    // Two-sum of x + q.
    let s = x + q;
    let bb = s - x;
    let es = ((x - (s - bb)) + (q - bb)) + eq;
    let (h, l) = product_with_error(c_hi, s);
    let l = l + c_hi * es + c_lo * s;
    let l = if l.is_finite() { l } else { F::zero() };
    let (r, er) = product_with_error(c_hi, q);
    let er = er + c_hi * eq + c_lo * q;
    let two = F::from_f64(2.0);
    let m = (h + two * r) + (l + two * if er.is_finite() { er } else { F::zero() });
    (h, l, m)
}

/// SiLU, also called swish: `x·σ(x)` (Elfwing et al. 2018; Ramachandran et
/// al. 2017); derivative `σ(x)·(1 + x·σ(−x))`, with `σ(x)` and `σ(−x)` from
/// one exponential of the input. The output form `σ + y(1 − σ)` forms
/// `1 − σ` by subtraction, whose absolute error of an ulp of 1 the factor
/// `y ≈ x` multiplies (about `x` ulps for large `x`). Minimum `−0.278465`
/// at `x = −1.278465`.
pub struct SiluOp;
impl<F: Element> UnaryOp<F> for SiluOp {
    const NAME: &'static str = "silu";
    type State = ();
    const SPLIT_FROM: usize = crate::ops::SPLIT_COSTLY;
    #[inline]
    fn f(x: F, _: ()) -> F {
        gate(x, logistic(x))
    }
    #[inline]
    fn df(x: F, _: F, _: ()) -> F {
        let (s, t) = logistic_pair(x);
        gate(F::one() + gate(x, t), s)
    }
}

/// `ln(1 + eˣ)` without overflow.
#[inline]
fn softplus1<F: Element>(x: F) -> F {
    x.max(F::zero()) + (-x.abs()).exp().ln_1p()
}

/// Mish `x·tanh(softplus(x))` (Misra 2019); derivative
/// `t + x·sech²(sp)·σ(x)` with `sp = softplus(x)` and `t = tanh(sp)`, since
/// `softplus' = σ`. Minimum `−0.308843` at `x = −1.192431`.
///
/// In the derivative, `t = −m/(2 + m)` with `m = e^{−2·sp} − 1` (`expm1`,
/// exact near 0), and `1 − t² = sech²(sp)` from its own stable form
/// `4e/(1 + e)²` with `e = e^{−2·sp}`: `1 − t²`, or `1 + m`, formed by subtraction has the absolute
/// error of an ulp of 1, which `x` multiplies (18 ulps in f64 at
/// `x = 18.7`).
pub struct MishOp;
impl<F: Element> UnaryOp<F> for MishOp {
    const NAME: &'static str = "mish";
    type State = ();
    const SPLIT_FROM: usize = crate::ops::SPLIT_COSTLY;
    #[inline]
    fn f(x: F, _: ()) -> F {
        gate(x, softplus1(x).tanh())
    }
    #[inline]
    fn df(x: F, _: F, _: ()) -> F {
        let sp = softplus1(x);
        let m = (-(sp + sp)).exp_m1();
        let d = F::from_f64(2.0) + m;
        let t = -m / d;
        t + gate(x, sech2(sp) * logistic(x))
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
    /// `σ(x)(1 + x·σ(−x))`.
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
