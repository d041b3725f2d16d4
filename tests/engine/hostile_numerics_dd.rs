//! A small double-double arithmetic (about 32 significant digits) for the
//! reference values of the activation accuracy tests: `hi + lo` with
//! `|lo| ≤ ulp(hi)/2`, exact products by `mul_add`. Only what the references
//! need: `+ − × ÷`, `exp`, `expm1`, `ln1p`, `sqrt`, `erfc` (z ≥ 0).

#![allow(dead_code)]

use std::ops::{Add, Div, Mul, Neg, Sub};

/// `hi + lo`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct D(pub f64, pub f64);

fn two_sum(a: f64, b: f64) -> D {
    let s = a + b;
    let bb = s - a;
    D(s, (a - (s - bb)) + (b - bb))
}

fn quick_two_sum(a: f64, b: f64) -> D {
    let s = a + b;
    D(s, b - (s - a))
}

fn two_prod(a: f64, b: f64) -> D {
    let p = a * b;
    D(p, a.mul_add(b, -p))
}

impl D {
    pub const ZERO: D = D(0.0, 0.0);
    pub const ONE: D = D(1.0, 0.0);
    /// ln 2.
    pub const LN2: D = D(std::f64::consts::LN_2, 2.319_046_813_846_299_6e-17);
    /// π.
    pub const PI: D = D(std::f64::consts::PI, 1.224_646_799_147_353_2e-16);

    pub fn new(x: f64) -> D {
        D(x, 0.0)
    }

    pub fn to_f64(self) -> f64 {
        self.0 + self.1
    }

    pub fn abs(self) -> D {
        if self.0 < 0.0 { -self } else { self }
    }

    pub fn scale(self, k: f64) -> D {
        D(self.0 * k, self.1 * k)
    }

    pub fn recip(self) -> D {
        D::ONE / self
    }

    pub fn sqr(self) -> D {
        self * self
    }

    pub fn sqrt(self) -> D {
        if self.0 <= 0.0 {
            return D::ZERO;
        }
        let x = self.0.sqrt();
        // One Newton step from the f64 root doubles the digits.
        let r = self - two_prod(x, x);
        two_sum(x, r.0 / (2.0 * x))
    }

    /// `eˣ`; 0 below −746, +∞ above 710.
    pub fn exp(self) -> D {
        if self.0 < -746.0 {
            return D::ZERO;
        }
        if self.0 > 710.0 {
            return D(f64::INFINITY, 0.0);
        }
        let k = (self.0 / D::LN2.0).round();
        let r = self - D::LN2 * D::new(k);
        // e^r = (e^{r/1024})^1024, as t ← 2t + t² on t = e^{·} − 1.
        let mut t = expm1_taylor(r.scale(1.0 / 1024.0));
        for _ in 0..10 {
            t = t.scale(2.0) + t * t;
        }
        let e = D::ONE + t;
        // 2^k in two halves so that subnormal results round once.
        let k1 = (k / 2.0).trunc();
        let k2 = k - k1;
        let (p1, p2) = (2f64.powi(k1 as i32), 2f64.powi(k2 as i32));
        D(e.0 * p1 * p2, e.1 * p1 * p2)
    }

    /// `eˣ − 1`, with full relative precision near 0.
    pub fn expm1(self) -> D {
        if self.0.abs() < 0.5 {
            expm1_taylor(self)
        } else {
            self.exp() - D::ONE
        }
    }

    /// `ln(1 + y)` for `y > −1`, by Newton on `expm1`.
    pub fn ln1p(self) -> D {
        let mut z = D::new(self.0.ln_1p());
        for _ in 0..3 {
            let em = z.expm1();
            z = z - (em - self) / (D::ONE + em);
        }
        z
    }

    /// `erfc z` for `z ≥ 0`.
    pub fn erfc(self) -> D {
        assert!(self.0 >= 0.0);
        if self.0 > 27.3 {
            // e^{−z²} underflows f64 entirely.
            return D::ZERO;
        }
        let sqrt_pi = D::PI.sqrt();
        let e = (-self.sqr()).exp();
        if self.0 == 0.0 {
            return D::ONE;
        }
        if self.0 < 3.0 {
            // erf z = (2/√π)·e^{−z²}·Σ 2ⁿz^{2n+1}/(1·3···(2n+1)), positive
            // terms only.
            let z2 = self.sqr().scale(2.0);
            let mut term = self;
            let mut sum = self;
            let mut n = 0.0;
            loop {
                n += 1.0;
                term = term * z2 / D::new(2.0 * n + 1.0);
                sum = sum + term;
                if term.0.abs() <= 1e-36 * sum.0.abs() || n > 400.0 {
                    break;
                }
            }
            D::ONE - sum * e.scale(2.0) / sqrt_pi
        } else {
            // Laplace's continued fraction, evaluated from the tail:
            // erfc z = e^{−z²}/√π · 1/(z + ½/(z + 1/(z + (3/2)/(z + …)))).
            let mut f = self;
            for n in (1..=1000).rev() {
                f = self + D::new(n as f64 * 0.5) / f;
            }
            e / (sqrt_pi * f)
        }
    }
}

/// `eʳ − 1` by its Taylor series (for `|r| < 0.5`).
fn expm1_taylor(r: D) -> D {
    let mut term = r;
    let mut sum = r;
    for n in 2..60 {
        term = term * r / D::new(n as f64);
        sum = sum + term;
        if term.0.abs() <= 1e-36 * sum.0.abs() {
            break;
        }
    }
    sum
}

impl Add for D {
    type Output = D;
    fn add(self, b: D) -> D {
        let s = two_sum(self.0, b.0);
        let t = two_sum(self.1, b.1);
        let s = quick_two_sum(s.0, s.1 + t.0);
        quick_two_sum(s.0, s.1 + t.1)
    }
}

impl Neg for D {
    type Output = D;
    fn neg(self) -> D {
        D(-self.0, -self.1)
    }
}

impl Sub for D {
    type Output = D;
    fn sub(self, b: D) -> D {
        self + (-b)
    }
}

impl Mul for D {
    type Output = D;
    fn mul(self, b: D) -> D {
        let p = two_prod(self.0, b.0);
        if !p.0.is_finite() {
            return D(p.0, 0.0);
        }
        quick_two_sum(p.0, p.1 + (self.0 * b.1 + self.1 * b.0))
    }
}

impl Div for D {
    type Output = D;
    fn div(self, b: D) -> D {
        let q1 = self.0 / b.0;
        let r = self - b * D::new(q1);
        let q2 = r.0 / b.0;
        let r = r - b * D::new(q2);
        let q3 = r.0 / b.0;
        quick_two_sum(q1, q2) + D::new(q3)
    }
}

#[test]
fn the_reference_arithmetic_is_accurate() {
    // e¹ = 2.71828182845904523536028747135266249775724709369995…
    let e = D::ONE.exp();
    assert_eq!(e.0, std::f64::consts::E);
    assert!((e.1 - 1.445_646_891_729_250_2e-16).abs() < 1e-31, "{e:?}");
    // √π·√π = π, ln1p ∘ expm1 = id, erfc(0) = 1, erfc on both sides of the switch.
    let s = D::PI.sqrt();
    assert!(((s * s) - D::PI).to_f64().abs() < 1e-30);
    let y = D::new(0.3).expm1().ln1p() - D::new(0.3);
    assert!(y.to_f64().abs() < 1e-31, "{y:?}");
    assert_eq!(D::ZERO.erfc(), D::ONE);
    // erfc(3) = 2.20904969985854413727761295823203798477e−5 (DLMF tables).
    let r = D::new(3.0).erfc();
    let below = D::new(3.0 - 1e-12).erfc();
    assert!((r.to_f64() / 2.209_049_699_858_544e-5 - 1.0).abs() < 1e-15);
    // Continuity across the switch at 3 (the series below, the fraction at 3):
    // erfc' = −2e^{−z²}/√π, so erfc(3 − h) − erfc(3) ≈ 2.3e−16·h·1e12.
    let slope = 2.0 * (-9f64).exp() / std::f64::consts::PI.sqrt();
    assert!(((below - r).to_f64() / (slope * 1e-12) - 1.0).abs() < 1e-3);
    // erfc(10) = 2.08848758376254e−45.
    let r = D::new(10.0).erfc();
    assert!((r.to_f64() / 2.088_487_583_762_545e-45 - 1.0).abs() < 1e-15);
}
