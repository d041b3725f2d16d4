//! Bounded, S-shaped activations: sigmoid, centred sigmoid, LeCun's scaled
//! tanh, softsign, and the piecewise-linear hard sigmoid and hard tanh.
//!
//! `tanh` itself lives with the other element-wise maths in
//! [`ops::unary`](crate::ops::unary) ([`TanhOp`](crate::ops::unary::TanhOp)).

use crate::autodiff::Params;
use crate::element::Element;
use crate::ops::UnaryOp;

/// `σ(x) = 1/(1 + e⁻ˣ)` without overflow: `e⁻ˣ` is only formed for `x ≥ 0`
/// and `eˣ` only for `x < 0`, so the exponential never exceeds 1
/// (branch-free for `f32` and `f64`, so loops over it vectorise).
#[inline]
pub(crate) fn logistic<F: Element>(x: F) -> F {
    x.kernel_logistic()
}

/// The logistic sigmoid `σ(x) = 1/(1 + e⁻ˣ)`; `σ'(x) = σ(x)(1 − σ(x))`,
/// read from the output. Stable for every finite `x`: `σ(−1000) = 0`,
/// `σ(1000) = 1`, no overflow on the way.
///
/// The derivative from the output costs one multiply instead of a second
/// exponential; its error is absolute (a few ε), not relative: once `σ(x)`
/// rounds to 1 (`x > 37` in f64, `x > 17` in f32) it is exactly 0 where the
/// true value is below ε. The lower tail keeps full relative precision.
pub struct SigmoidOp;
impl<F: Element> UnaryOp<F> for SigmoidOp {
    const NAME: &'static str = "sigmoid";
    #[inline]
    fn f(x: F, _: &Params<F>) -> F {
        logistic(x)
    }
    #[inline]
    fn df(_: F, y: F, _: &Params<F>) -> F {
        y * (F::one() - y)
    }
}

/// The centred sigmoid `σ(x) − ½ = ½·tanh(x/2)`; derivative
/// `σ'(x) = ¼ − y² = (½ − y)(½ + y)`, read from the output.
///
/// The value is computed as `½·tanh(x/2)`, which keeps full relative
/// precision near 0 where `σ(x) − ½` would cancel. It is the sigmoid moved
/// down by its mean: odd, with outputs in `(−½, ½)`.
pub struct CentredSigmoidOp;
impl<F: Element> UnaryOp<F> for CentredSigmoidOp {
    const NAME: &'static str = "centred_sigmoid";
    #[inline]
    fn f(x: F, _: &Params<F>) -> F {
        let half = F::from_f64(0.5);
        half * (x * half).tanh()
    }
    #[inline]
    fn df(_: F, y: F, _: &Params<F>) -> F {
        let half = F::from_f64(0.5);
        (half - y) * (half + y)
    }
}

/// The amplitude `A = 1.7159` of LeCun's scaled tanh.
pub const LECUN_TANH_SCALE: f64 = 1.7159;
/// The input gain `B = 2/3` of LeCun's scaled tanh.
pub const LECUN_TANH_GAIN: f64 = 2.0 / 3.0;

/// LeCun's scaled tanh `A·tanh(B·x)` with `A = 1.7159`, `B = 2/3`
/// (LeCun, Bottou, Orr, Müller, "Efficient BackProp", 1998, §4.4): chosen so
/// that `f(±1) ≈ ±1` and the gain is largest where unit-variance inputs
/// lie. Derivative `A·B·(1 − tanh²(Bx)) = (B/A)·(A − y)(A + y)`, read from
/// the output.
pub struct LecunTanhOp;
impl<F: Element> UnaryOp<F> for LecunTanhOp {
    const NAME: &'static str = "lecun_tanh";
    #[inline]
    fn f(x: F, _: &Params<F>) -> F {
        F::from_f64(LECUN_TANH_SCALE) * (x * F::from_f64(LECUN_TANH_GAIN)).tanh()
    }
    #[inline]
    fn df(_: F, y: F, _: &Params<F>) -> F {
        let a = F::from_f64(LECUN_TANH_SCALE);
        F::from_f64(LECUN_TANH_GAIN / LECUN_TANH_SCALE) * (a - y) * (a + y)
    }
}

/// Softsign `x/(1 + |x|)`; derivative `1/(1 + |x|)²`, from the input: the
/// output form `(1 − |y|)²` would lose all precision for large `|x|`, where
/// `|y|` rounds towards 1. Outputs in `(−1, 1)` for finite `x`.
pub struct SoftsignOp;
impl<F: Element> UnaryOp<F> for SoftsignOp {
    const NAME: &'static str = "softsign";
    #[inline]
    fn f(x: F, _: &Params<F>) -> F {
        x / (F::one() + x.abs())
    }
    #[inline]
    fn df(x: F, _: F, _: &Params<F>) -> F {
        let d = F::one() + x.abs();
        (d * d).recip()
    }
}

/// The hard sigmoid `min(max(x/6 + ½, 0), 1) = relu6(x + 3)/6` (PyTorch's
/// definition); derivative `1/6` for `−3 < x < 3`, else 0 (kinks at ±3).
/// Outputs in `[0, 1]`, with exact zeros below −3. NaN stays NaN.
pub struct HardSigmoidOp;
impl<F: Element> UnaryOp<F> for HardSigmoidOp {
    const NAME: &'static str = "hard_sigmoid";
    #[inline]
    fn f(x: F, _: &Params<F>) -> F {
        let three = F::from_f64(3.0);
        if x <= -three {
            F::zero()
        } else if x >= three {
            F::one()
        } else {
            x / F::from_f64(6.0) + F::from_f64(0.5)
        }
    }
    #[inline]
    fn df(x: F, _: F, _: &Params<F>) -> F {
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
    #[inline]
    fn f(x: F, _: &Params<F>) -> F {
        if x < -F::one() {
            -F::one()
        } else if x > F::one() {
            F::one()
        } else {
            x
        }
    }
    #[inline]
    fn df(x: F, _: F, _: &Params<F>) -> F {
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
    /// ([`SigmoidOp`]); derivative `σ(1 − σ)`.
    ///
    /// ```
    /// let tape = gradsign::Tape::<f64>::new();
    /// assert_eq!(tape.var_scalar(0.0).sigmoid().item()?, 0.5);
    /// assert_eq!(tape.var_scalar(-1000.0).sigmoid().item()?, 0.0);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    sigmoid, try_sigmoid, SigmoidOp;
    /// The centred sigmoid `σ(x) − ½ = ½·tanh(x/2)` element-wise
    /// ([`CentredSigmoidOp`]); derivative `¼ − y²`.
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
    /// ([`LecunTanhOp`]); derivative `(B/A)(A − y)(A + y)`.
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
