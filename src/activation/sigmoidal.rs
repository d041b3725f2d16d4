//! Bounded, S-shaped activations: sigmoid, centred sigmoid, LeCun's scaled
//! tanh, softsign, and the piecewise-linear hard sigmoid and hard tanh.
//!
//! `tanh` itself lives with the other element-wise maths in
//! [`ops::unary`](crate::ops::unary) ([`TanhOp`](crate::ops::unary::TanhOp)).

use crate::element::Element;
use crate::ops::UnaryOp;

/// `σ(x) = 1/(1 + e⁻ˣ)` without overflow: `e⁻ˣ` is only formed for `x ≥ 0`
/// and `eˣ` only for `x < 0`, so the exponential never exceeds 1
/// (branch-free for `f32` and `f64`, so loops over it vectorise).
#[inline]
pub(crate) fn logistic<F: Element>(x: F) -> F {
    x.kernel_logistic()
}

/// `(σ(x), σ(−x))` from one exponential `e = e^{−|x|} ≤ 1`: `1/(1 + e)` and
/// `e/(1 + e)`, in the order the sign of `x` gives. Each has full relative
/// precision, so `σ(−x) = 1 − σ(x)` never has to be formed by cancellation.
/// For `f32` and `f64` the first of the pair is bit for bit the kernel
/// [`logistic`] (the same operations in the same order).
#[inline]
pub(crate) fn logistic_pair<F: Element>(x: F) -> (F, F) {
    let e = (-x.abs()).kernel_exp();
    let s = (F::one() + e).recip();
    let t = e * s;
    if x >= F::zero() { (s, t) } else { (t, s) }
}

/// `sech²z = 1 − tanh²z = 4e/(1 + e)²` with `e = e^{−2|z|} ≤ 1`: the
/// derivative of `tanh` from its input. Every operation is on positive
/// numbers, so the result keeps full relative precision at every `z`
/// (`sech²30 ≈ 3.5e−26`, where `1 − tanh²30` is exactly 0), within about 4
/// ulps (subnormal results: within 2 units of the smallest subnormal).
#[inline]
pub(crate) fn sech2<F: Element>(z: F) -> F {
    let e = (-(z.abs() + z.abs())).kernel_exp();
    let s = (F::one() + e).recip();
    let four = F::from_f64(4.0);
    (e * s) * (s * four)
}

/// `sech²(z + δ)` for `z` the rounded value of an argument and `δ` its
/// rounding error (`|δ| ≤ ulp(z)`): `sech²z·(1 − 2δ·tanh z)`, to first
/// order in `δ`. Without it the rounding of the argument costs about `2|z|`
/// ulps of relative precision in the tail, where `sech²z ≈ 4e^{−2|z|}`.
#[inline]
fn sech2_corrected<F: Element>(z: F, delta: F) -> F {
    let e = (-(z.abs() + z.abs())).kernel_exp();
    let s = (F::one() + e).recip();
    let four = F::from_f64(4.0);
    let d = (e * s) * (s * four);
    // tanh z = (1 − e)/(1 + e), with the sign of z.
    let t = ((F::one() - e) * s).copysign(z);
    if delta.is_finite() {
        d * (F::one() - (delta + delta) * t)
    } else {
        d
    }
}

/// The logistic sigmoid `σ(x) = 1/(1 + e⁻ˣ)`; derivative
/// `σ'(x) = σ(x)·σ(−x)`, both factors from one exponential of the input
/// (`1/(1 + e)` and `e/(1 + e)` with `e = e^{−|x|}`). Stable for every finite `x`: `σ(−1000) = 0`,
/// `σ(1000) = 1`, no overflow on the way.
///
/// The derivative keeps full relative precision in both tails:
/// `σ'(30) ≈ 9.4e−14`, where the output form `y(1 − y)` loses every digit
/// once `σ(x)` rounds to 1 (`x > 37` in f64, `x > 17` in f32). Value within
/// 3 ulps, derivative within about 4.5 (`f32` and `f64`; measured bounds in
/// `tests/engine/hostile_numerics.rs`).
pub struct SigmoidOp;
impl<F: Element> UnaryOp<F> for SigmoidOp {
    const NAME: &'static str = "sigmoid";
    type State = ();
    const SPLIT_FROM: usize = crate::ops::SPLIT_COSTLY;
    #[inline]
    fn f(x: F, _: ()) -> F {
        logistic(x)
    }
    #[inline]
    fn df(x: F, _: F, _: ()) -> F {
        let (s, t) = logistic_pair(x);
        s * t
    }
}

/// The centred sigmoid `σ(x) − ½ = ½·tanh(x/2)`; derivative
/// `σ'(x) = ¼·sech²(x/2)`, from the input (`4e/(1 + e)²`, `e = e^{−2|z|}`).
///
/// The value is computed as `½·tanh(x/2)`, which keeps full relative
/// precision near 0 where `σ(x) − ½` would cancel. The derivative is not
/// read from the output: `(½ − y)(½ + y)` cancels in the tails (it is 0 at
/// `x = −100`, where the derivative is `≈ 3.7e−44`). It is the sigmoid moved
/// down by its mean: odd, with outputs in `(−½, ½)`.
pub struct CentredSigmoidOp;
impl<F: Element> UnaryOp<F> for CentredSigmoidOp {
    const NAME: &'static str = "centred_sigmoid";
    type State = ();
    const SPLIT_FROM: usize = crate::ops::SPLIT_COSTLY;
    #[inline]
    fn f(x: F, _: ()) -> F {
        let half = F::from_f64(0.5);
        half * (x * half).tanh()
    }
    #[inline]
    fn df(x: F, _: F, _: ()) -> F {
        let half = F::from_f64(0.5);
        sech2(x * half) * (half * half)
    }
}

/// The amplitude `A = 1.7159` of LeCun's scaled tanh.
pub const LECUN_TANH_SCALE: f64 = 1.7159;
/// The input gain `B = 2/3` of LeCun's scaled tanh.
pub const LECUN_TANH_GAIN: f64 = 2.0 / 3.0;
/// `2/3 − LECUN_TANH_GAIN` (exactly `1/(3·2⁵³)`): the rounding error of the
/// `f64` gain, so that `B·x` can be formed to double precision.
const LECUN_TANH_GAIN_LO: f64 = 3.700_743_415_417_188e-17;

/// LeCun's scaled tanh `A·tanh(B·x)` with `A = 1.7159`, `B = 2/3`
/// (LeCun, Bottou, Orr, Müller, "Efficient BackProp", 1998, §4.4): chosen so
/// that `f(±1) ≈ ±1` and the gain is largest where unit-variance inputs
/// lie. Derivative `A·B·sech²(B·x)`, from the input.
///
/// The output form `(B/A)(A − y)(A + y)` would cancel in the tails; and
/// since `sech²z ≈ 4e^{−2|z|}` there, the rounding of `z = B·x` itself would
/// cost `2|z|` ulps, so `z` is formed with its rounding error (an exact
/// product by `mul_add`, and `B`'s own error) and the error corrected for.
pub struct LecunTanhOp;
impl<F: Element> UnaryOp<F> for LecunTanhOp {
    const NAME: &'static str = "lecun_tanh";
    type State = ();
    const SPLIT_FROM: usize = crate::ops::SPLIT_COSTLY;
    #[inline]
    fn f(x: F, _: ()) -> F {
        F::from_f64(LECUN_TANH_SCALE) * (x * F::from_f64(LECUN_TANH_GAIN)).tanh()
    }
    #[inline]
    fn df(x: F, _: F, _: ()) -> F {
        let b_hi = F::from_f64(LECUN_TANH_GAIN);
        let b_lo = F::from_f64((LECUN_TANH_GAIN - b_hi.to_f64()) + LECUN_TANH_GAIN_LO);
        let z = x * b_hi;
        let delta = x.mul_add(b_hi, -z) + x * b_lo;
        F::from_f64(LECUN_TANH_SCALE * LECUN_TANH_GAIN) * sech2_corrected(z, delta)
    }
}

/// Softsign `x/(1 + |x|)` (`±1` at `±∞`); derivative `1/(1 + |x|)²`,
/// from the input: the output form `(1 − |y|)²` would lose all precision for
/// large `|x|`, where `|y|` rounds towards 1. The derivative is formed as
/// `r·r` with `r = 1/(1 + |x|)`, so it does not overflow to a false 0 for
/// `|x| > √MAX` (`1/(1 + 1e20)² = 1e−40` in f32, a subnormal). Outputs in
/// `(−1, 1)` for finite `x`.
pub struct SoftsignOp;
impl<F: Element> UnaryOp<F> for SoftsignOp {
    const NAME: &'static str = "softsign";
    type State = ();
    #[inline]
    fn f(x: F, _: ()) -> F {
        if x.is_infinite() {
            x.signum()
        } else {
            x / (F::one() + x.abs())
        }
    }
    #[inline]
    fn df(x: F, _: F, _: ()) -> F {
        let r = (F::one() + x.abs()).recip();
        r * r
    }
}

/// The hard sigmoid `min(max(x/6 + ½, 0), 1) = relu6(x + 3)/6` (PyTorch's
/// definition); derivative `1/6` for `−3 < x < 3`, else 0 (kinks at ±3).
/// Outputs in `[0, 1]`, with exact zeros below −3. NaN stays NaN.
///
/// Computed as `(x + 3)/6`: near `x = −3` the sum is exact (Sterbenz) and
/// the result within half an ulp, where `x/6 + ½` would cancel the
/// rounding error of `x/6` into a relative error of up to 100 %.
pub struct HardSigmoidOp;
impl<F: Element> UnaryOp<F> for HardSigmoidOp {
    const NAME: &'static str = "hard_sigmoid";
    type State = ();
    #[inline]
    fn f(x: F, _: ()) -> F {
        let three = F::from_f64(3.0);
        if x <= -three {
            F::zero()
        } else if x >= three {
            F::one()
        } else {
            (x + three) / F::from_f64(6.0)
        }
    }
    #[inline]
    fn df(x: F, _: F, _: ()) -> F {
        let three = F::from_f64(3.0);
        if x.is_nan() {
            x
        } else if x > -three && x < three {
            F::from_f64(6.0).recip()
        } else {
            F::zero()
        }
    }
}

/// The hard tanh `min(max(x, −1), 1)`; derivative 1 for `−1 < x < 1`, else
/// 0 (kinks at ±1, where 0 is the one-sided derivative from outside, as in
/// PyTorch). NaN stays NaN.
pub struct HardTanhOp;
impl<F: Element> UnaryOp<F> for HardTanhOp {
    const NAME: &'static str = "hard_tanh";
    type State = ();
    #[inline]
    fn f(x: F, _: ()) -> F {
        if x < -F::one() {
            -F::one()
        } else if x > F::one() {
            F::one()
        } else {
            x
        }
    }
    #[inline]
    fn df(x: F, _: F, _: ()) -> F {
        if x.is_nan() {
            x
        } else if x > -F::one() && x < F::one() {
            F::one()
        } else {
            F::zero()
        }
    }
}

activation_methods! {
    /// The logistic sigmoid `σ(x) = 1/(1 + e⁻ˣ)` element-wise
    /// ([`SigmoidOp`]); derivative `σ(x)·σ(−x)`.
    ///
    /// ```
    /// let tape = gradsign::Tape::<f64>::new();
    /// assert_eq!(tape.var_scalar(0.0).sigmoid().item()?, 0.5);
    /// assert_eq!(tape.var_scalar(-1000.0).sigmoid().item()?, 0.0);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    sigmoid, try_sigmoid, SigmoidOp;
    /// The centred sigmoid `σ(x) − ½ = ½·tanh(x/2)` element-wise
    /// ([`CentredSigmoidOp`]); derivative `¼·sech²(x/2)`.
    ///
    /// ```
    /// let tape = gradsign::Tape::<f64>::new();
    /// let x = tape.var_scalar(0.0);
    /// let y = x.centred_sigmoid();
    /// assert_eq!(y.item()?, 0.0);
    /// assert_eq!(y.backward()?.get(x)?, &[0.25]);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    centred_sigmoid, try_centred_sigmoid, CentredSigmoidOp;
    /// LeCun's scaled tanh `1.7159·tanh(2x/3)` element-wise
    /// ([`LecunTanhOp`]); derivative `A·B·sech²(B·x)`.
    lecun_tanh, try_lecun_tanh, LecunTanhOp;
    /// Softsign `x/(1 + |x|)` element-wise ([`SoftsignOp`]); derivative
    /// `1/(1 + |x|)²`.
    softsign, try_softsign, SoftsignOp;
    /// The hard sigmoid `clamp(x/6 + ½, 0, 1)` element-wise
    /// ([`HardSigmoidOp`]); derivative `1/6` on `(−3, 3)`, else 0.
    hard_sigmoid, try_hard_sigmoid, HardSigmoidOp;
    /// The hard tanh `clamp(x, −1, 1)` element-wise ([`HardTanhOp`]);
    /// derivative 1 on `(−1, 1)`, else 0.
    ///
    /// ```
    /// use gradsign::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(&Tensor::from_vec(vec![-3.0, 0.5, 2.0], &[3])?);
    /// let y = x.hard_tanh();
    /// assert_eq!(y.value().as_slice(), &[-1.0, 0.5, 1.0]);
    /// assert_eq!(y.sum().backward()?.get(x)?, &[0.0, 1.0, 0.0]);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    hard_tanh, try_hard_tanh, HardTanhOp;
}
