//! Branch-free `exp`, `tanh` and the logistic sigmoid for `f32` and `f64`.
//!
//! The system's `libm` calls are exact to about half an ulp but branchy
//! and opaque to the compiler, so an element-wise loop over them runs one
//! call per element. These are straight-line code (selects, not jumps; no
//! table look-ups; no float-to-int conversion), so a loop over a slice of
//! them compiles to SIMD instructions, and a scalar call inlines.
//!
//! Method (Cody–Waite): `eˣ = 2ⁿ·eʳ` with `n = round(x·log₂e)` and
//! `r = x − n·ln 2` (`ln 2` split in a short high part, so `n·ln2_hi` is
//! exact, and a low part), `|r| ≤ ½ln 2`; `eʳ` from its Taylor polynomial
//! (degree 7 for `f32`, 13 for `f64`: the remainder `rᵈ⁺¹/(d+1)!` is below
//! a tenth of an ulp). `n` is rounded by adding `1.5·2^{mantissa bits}`,
//! whose low bits then hold `n` as an integer; `2ⁿ` is built from the
//! exponent bits in two halves, so that subnormal results and overflow to
//! `∞` come out right.
//!
//! Accuracy against the correctly rounded value, measured by the tests
//! below over the whole range: `exp` within 1 ulp, the logistic within 2,
//! `tanh` within 3 (its `eˣ − 1` form loses up to 1.5 ulp to a cancellation
//! when `n = −1`). NaN propagates; `±∞`, `±0` and the limits are exact.

/// `eˣ` for `f32`, branch-free.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    // e^−104 is below half the smallest subnormal, e^89 above f32::MAX.
    let x = if x < -104.0 { -104.0 } else { x };
    let x = if x > 89.0 { 89.0 } else { x };
    let (q, n) = reduce_f32(x);
    let p = q + 1.0;
    // 2ⁿ = 2^{n₁}·2^{n₂}, each a normal number for n ∈ [−150, 128].
    let n1 = n >> 1;
    let n2 = n.wrapping_sub(n1);
    p * pow2_f32(n1) * pow2_f32(n2)
}

/// `(eʳ − 1, n)` with `x = n·ln 2 + r`, `|r| ≤ ½ln 2 + ε` (garbage `n`
/// and NaN for NaN `x`).
#[inline(always)]
fn reduce_f32(x: f32) -> (f32, i32) {
    const MAGIC: f32 = 12_582_912.0; // 1.5·2²³
    const LN2_HI: f32 = 0.693_359_4; // 355/512: n·LN2_HI is exact
    const LN2_LO: f32 = -2.121_944_4e-4;
    let t = x * std::f32::consts::LOG2_E + MAGIC;
    let nf = t - MAGIC;
    let r = (x - nf * LN2_HI) - nf * LN2_LO;
    let n = (t.to_bits() as i32).wrapping_sub(0x4B40_0000);
    (expm1_poly_f32(r), n)
}

/// `eʳ − 1` for `|r| ≤ ½ln 2 + ε`: the Taylor polynomial of degree 7.
#[inline(always)]
fn expm1_poly_f32(r: f32) -> f32 {
    const C: [f32; 6] = [
        1.0 / 2.0,
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5040.0,
    ];
    let mut p = C[5];
    for &c in C[..5].iter().rev() {
        p = p * r + c;
    }
    r + r * r * p
}

/// `2ⁿ` for `n` in the normal exponent range (wrapping garbage outside).
#[inline(always)]
fn pow2_f32(n: i32) -> f32 {
    f32::from_bits((n.wrapping_add(127) as u32) << 23)
}

/// `eˣ` for `f64`, branch-free.
#[inline(always)]
pub fn exp_f64(x: f64) -> f64 {
    // e^−746 is below half the smallest subnormal, e^710 above f64::MAX.
    let x = if x < -746.0 { -746.0 } else { x };
    let x = if x > 710.0 { 710.0 } else { x };
    let (q, n) = reduce_f64(x);
    let p = q + 1.0;
    let n1 = n >> 1;
    let n2 = n.wrapping_sub(n1);
    p * pow2_f64(n1) * pow2_f64(n2)
}

/// `(eʳ − 1, n)` with `x = n·ln 2 + r`, `|r| ≤ ½ln 2 + ε`.
#[inline(always)]
fn reduce_f64(x: f64) -> (f64, i64) {
    const MAGIC: f64 = 6_755_399_441_055_744.0; // 1.5·2⁵²
    const LN2_HI: f64 = 6.931_457_519_531_25e-1; // 16 bits: n·LN2_HI is exact
    const LN2_LO: f64 = 1.428_606_820_309_417_2e-6;
    let t = x * std::f64::consts::LOG2_E + MAGIC;
    let nf = t - MAGIC;
    let r = (x - nf * LN2_HI) - nf * LN2_LO;
    let n = (t.to_bits() as i64).wrapping_sub(0x4338_0000_0000_0000);
    (expm1_poly_f64(r), n)
}

/// `eʳ − 1` for `|r| ≤ ½ln 2 + ε`: the Taylor polynomial of degree 13,
/// its inner part by Estrin's scheme (pairs, then powers `r², r⁴, r⁸`), so
/// that a lone scalar waits on four levels of multiply-adds instead of
/// Horner's eleven.
#[inline(always)]
fn expm1_poly_f64(r: f64) -> f64 {
    const C: [f64; 12] = [
        1.0 / 2.0,
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5040.0,
        1.0 / 40320.0,
        1.0 / 362_880.0,
        1.0 / 3_628_800.0,
        1.0 / 39_916_800.0,
        1.0 / 479_001_600.0,
        1.0 / 6_227_020_800.0,
    ];
    let (r2, pair) = (r * r, |i: usize| C[i] + C[i + 1] * r);
    let r4 = r2 * r2;
    let r8 = r4 * r4;
    let low = (pair(0) + pair(2) * r2) + (pair(4) + pair(6) * r2) * r4;
    let p = low + (pair(8) + pair(10) * r2) * r8;
    r + r2 * p
}

/// `2ⁿ` for `n` in the normal exponent range.
#[inline(always)]
fn pow2_f64(n: i64) -> f64 {
    f64::from_bits((n.wrapping_add(1023) as u64) << 52)
}

/// `tanh x` for `f32`: with `e = e^{−2|x|} − 1`, `tanh|x| = −e/(2 + e)`,
/// sign restored. Computing `eʸ − 1` as `(2ⁿ − 1) + 2ⁿ(eʳ − 1)` keeps full
/// relative precision near 0, where `1 − 2/(e^{2x} + 1)` would cancel.
#[inline(always)]
pub fn tanh_f32(x: f32) -> f32 {
    let y = -2.0 * x.abs();
    // e^−20 − 1 rounds to −1: tanh is 1 in f32 from |x| = 9.
    let y = if y < -20.0 { -20.0 } else { y };
    let (q, n) = reduce_f32(y);
    let s = pow2_f32(n);
    let em1 = (s - 1.0) + s * q;
    (-em1 / (2.0 + em1)).copysign(x)
}

/// `tanh x` for `f64`, as [`tanh_f32`].
#[inline(always)]
pub fn tanh_f64(x: f64) -> f64 {
    let y = -2.0 * x.abs();
    // e^−40 − 1 rounds to −1: tanh is 1 in f64 from |x| = 19.1.
    let y = if y < -40.0 { -40.0 } else { y };
    let (q, n) = reduce_f64(y);
    let s = pow2_f64(n);
    let em1 = (s - 1.0) + s * q;
    (-em1 / (2.0 + em1)).copysign(x)
}

/// The logistic `σ(x) = 1/(1 + e⁻ˣ)` for `f32`: with `e = e^{−|x|} ≤ 1`
/// (never overflows), `σ = 1/(1 + e)` for `x ≥ 0` and `e/(1 + e)` below.
#[inline(always)]
pub fn logistic_f32(x: f32) -> f32 {
    let e = exp_f32(-x.abs());
    let s = 1.0 / (1.0 + e);
    if x >= 0.0 { s } else { e * s }
}

/// The logistic for `f64`, as [`logistic_f32`].
#[inline(always)]
pub fn logistic_f64(x: f64) -> f64 {
    let e = exp_f64(-x.abs());
    let s = 1.0 / (1.0 + e);
    if x >= 0.0 { s } else { e * s }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in ulps between two finite f64 of the same sign.
    fn ulps64(a: f64, b: f64) -> u64 {
        (a.to_bits() as i64).abs_diff(b.to_bits() as i64)
    }

    fn ulps32(a: f32, b: f32) -> u32 {
        (a.to_bits() as i32).abs_diff(b.to_bits() as i32)
    }

    /// `count` points spread evenly over `[lo, hi]`.
    fn grid(lo: f64, hi: f64, count: usize) -> impl Iterator<Item = f64> {
        (0..=count).map(move |i| lo + (hi - lo) * i as f64 / count as f64)
    }

    /// The worst distance in ulps between `ours` and a reference rounded
    /// from f64 `libm` (itself within half an f64 ulp of the true value).
    fn worst32(ours: impl Fn(f32) -> f32, reference: impl Fn(f64) -> f64, lo: f64, hi: f64) -> u32 {
        grid(lo, hi, 200_000)
            .map(|x| {
                let x = x as f32;
                ulps32(ours(x), reference(f64::from(x)) as f32)
            })
            .max()
            .unwrap()
    }

    #[test]
    fn exp_f32_is_within_one_ulp_over_its_range() {
        // Normal results only: e^−87.3 is the smallest normal.
        assert!(worst32(exp_f32, f64::exp, -87.0, 88.7) <= 1);
    }

    #[test]
    fn tanh_f32_is_within_three_ulps() {
        assert!(worst32(tanh_f32, f64::tanh, -10.0, 10.0) <= 3);
        assert!(worst32(tanh_f32, f64::tanh, -1e-3, 1e-3) <= 3);
    }

    #[test]
    fn logistic_f32_is_within_two_ulps() {
        let reference = |x: f64| 1.0 / (1.0 + (-x).exp());
        assert!(worst32(logistic_f32, reference, -80.0, 30.0) <= 2);
    }

    #[test]
    fn f64_functions_match_libm_within_a_few_ulps() {
        // libm's f64 exp and tanh are within 1 ulp of the truth, so ours
        // are within (bound + 1) of it.
        let worst = |ours: fn(f64) -> f64, libm: fn(f64) -> f64, lo: f64, hi: f64| {
            grid(lo, hi, 200_000)
                .map(|x| ulps64(ours(x), libm(x)))
                .max()
                .unwrap()
        };
        assert!(worst(exp_f64, f64::exp, -708.0, 709.0) <= 1);
        assert!(worst(tanh_f64, f64::tanh, -20.0, 20.0) <= 3);
        assert!(worst(tanh_f64, f64::tanh, -1e-6, 1e-6) <= 3);
        let logistic = |x: f64| {
            if x >= 0.0 {
                1.0 / (1.0 + (-x).exp())
            } else {
                x.exp() / (1.0 + x.exp())
            }
        };
        assert!(worst(logistic_f64, logistic, -700.0, 40.0) <= 2);
    }

    #[test]
    fn special_values_are_exact() {
        assert_eq!(exp_f32(0.0), 1.0);
        assert_eq!(exp_f64(0.0), 1.0);
        assert_eq!(exp_f32(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp_f64(f64::INFINITY), f64::INFINITY);
        assert_eq!(exp_f32(100.0), f32::INFINITY);
        assert!(exp_f32(f32::NAN).is_nan() && exp_f64(f64::NAN).is_nan());
        // Subnormal results: e^−100 ≈ 3.72e−44 in f32, e^−740 ≈ 4.2e−322 in f64.
        assert_eq!(exp_f32(-100.0), (-100f64).exp() as f32);
        assert!(ulps64(exp_f64(-740.0), (-740f64).exp()) <= 1);
        for (x, t) in [
            (0.0f64, 0.0),
            (f64::INFINITY, 1.0),
            (f64::NEG_INFINITY, -1.0),
        ] {
            assert_eq!(tanh_f64(x), t);
            assert_eq!(tanh_f32(x as f32), t as f32);
        }
        assert!(tanh_f64(-0.0).is_sign_negative() && tanh_f32(-0.0).is_sign_negative());
        assert!(tanh_f32(f32::NAN).is_nan() && tanh_f64(f64::NAN).is_nan());
        assert_eq!(logistic_f64(0.0), 0.5);
        assert_eq!(logistic_f32(-1000.0), 0.0);
        assert_eq!(logistic_f64(1000.0), 1.0);
        assert_eq!(logistic_f64(f64::NEG_INFINITY), 0.0);
        assert!(logistic_f32(f32::NAN).is_nan());
    }
}
