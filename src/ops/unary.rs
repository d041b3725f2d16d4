//! Element-wise maths: neg, exp, ln, sqrt, powi, powf, abs, square, recip,
//! tanh, clamp. Each op's value and derivative sit together.
//!
//! Each has a panicking form (which can only panic in checked mode, see
//! [`Tape::set_checked`](crate::Tape::set_checked)) and a `try_` twin.

use crate::autodiff::Var;
use crate::element::Element;
use crate::error::Result;

use super::UnaryOp;

/// `−x`; d/dx = −1. Keeps the sign of zero: `−(+0) = −0`.
pub struct NegOp;
impl<F: Element> UnaryOp<F> for NegOp {
    const NAME: &'static str = "neg";
    type State = ();
    #[inline]
    fn f(x: F, _: ()) -> F {
        -x
    }
    #[inline]
    fn df(_: F, _: F, _: ()) -> F {
        -F::one()
    }
}

/// `eˣ`; d/dx = eˣ (read from the output).
pub struct ExpOp;
impl<F: Element> UnaryOp<F> for ExpOp {
    const NAME: &'static str = "exp";
    type State = ();
    const SPLIT_FROM: usize = crate::ops::SPLIT_COSTLY;
    #[inline]
    fn f(x: F, _: ()) -> F {
        x.kernel_exp()
    }
    #[inline]
    fn df(_: F, y: F, _: ()) -> F {
        y
    }
}

/// `ln x`; d/dx = 1/x. `ln 0 = −∞`, `ln x = NaN` for `x < 0`.
pub struct LnOp;
impl<F: Element> UnaryOp<F> for LnOp {
    const NAME: &'static str = "ln";
    type State = ();
    const SPLIT_FROM: usize = crate::ops::SPLIT_COSTLY;
    #[inline]
    fn f(x: F, _: ()) -> F {
        x.ln()
    }
    #[inline]
    fn df(x: F, _: F, _: ()) -> F {
        x.recip()
    }
}

/// `√x`; d/dx = 1/(2√x) (from the output).
pub struct SqrtOp;
impl<F: Element> UnaryOp<F> for SqrtOp {
    const NAME: &'static str = "sqrt";
    type State = ();
    #[inline]
    fn f(x: F, _: ()) -> F {
        x.sqrt()
    }
    #[inline]
    fn df(_: F, y: F, _: ()) -> F {
        (y + y).recip()
    }
}

/// `xⁿ` for an integer `n`; d/dx = n·xⁿ⁻¹. The exponent is the op's
/// state, kept exactly (`x.powi(16_777_217)` of a negative `x` in `f32` is
/// negative).
pub struct PowiOp;

impl<F: Element> UnaryOp<F> for PowiOp {
    const NAME: &'static str = "powi";
    type State = i32;
    #[inline]
    fn f(x: F, n: i32) -> F {
        x.powi(n)
    }
    #[inline]
    fn df(x: F, _: F, n: i32) -> F {
        let nf = F::from_f64(f64::from(n));
        match n.checked_sub(1) {
            _ if n == 0 => F::zero(),
            Some(m) => nf * x.powi(m),
            // n = i32::MIN: n − 1 does not fit an i32; xⁿ⁻¹ = xⁿ/x.
            None => nf * x.powi(n) / x,
        }
    }
}

/// `xᵃ` for a real `a = p.f[0]`; d/dx = a·xᵃ⁻¹.
pub struct PowfOp;
impl<F: Element> UnaryOp<F> for PowfOp {
    const NAME: &'static str = "powf";
    type State = F;
    const SPLIT_FROM: usize = crate::ops::SPLIT_COSTLY;
    #[inline]
    fn f(x: F, c: F) -> F {
        x.powf(c)
    }
    #[inline]
    fn df(x: F, _: F, c: F) -> F {
        if c == F::zero() {
            F::zero()
        } else {
            c * x.powf(c - F::one())
        }
    }
}

/// `|x|`; d/dx = sign(x), and 0 at x = 0 (the subgradient PyTorch and JAX
/// use). A kink at 0.
pub struct AbsOp;
impl<F: Element> UnaryOp<F> for AbsOp {
    const NAME: &'static str = "abs";
    type State = ();
    #[inline]
    fn f(x: F, _: ()) -> F {
        x.abs()
    }
    #[inline]
    fn df(x: F, _: F, _: ()) -> F {
        if x > F::zero() {
            F::one()
        } else if x < F::zero() {
            -F::one()
        } else {
            x * F::zero() // 0, or NaN for NaN
        }
    }
}

/// `x²`; d/dx = 2x.
pub struct SquareOp;
impl<F: Element> UnaryOp<F> for SquareOp {
    const NAME: &'static str = "square";
    type State = ();
    #[inline]
    fn f(x: F, _: ()) -> F {
        x * x
    }
    #[inline]
    fn df(x: F, _: F, _: ()) -> F {
        x + x
    }
}

/// `1/x`; d/dx = −1/x² = −y².
pub struct RecipOp;
impl<F: Element> UnaryOp<F> for RecipOp {
    const NAME: &'static str = "recip";
    type State = ();
    #[inline]
    fn f(x: F, _: ()) -> F {
        x.recip()
    }
    #[inline]
    fn df(_: F, y: F, _: ()) -> F {
        -(y * y)
    }
}

/// `tanh x`; d/dx = `1 − tanh²x = sech²x`, computed from the input as
/// `4e/(1 + e)²` with `e = e^{−2|x|}` (the output form `1 − y²` is exactly
/// 0 for `|x| > 19` in f64, where `sech²` is still above `1e−17`).
pub struct TanhOp;
impl<F: Element> UnaryOp<F> for TanhOp {
    const NAME: &'static str = "tanh";
    type State = ();
    const SPLIT_FROM: usize = crate::ops::SPLIT_COSTLY;
    #[inline]
    fn f(x: F, _: ()) -> F {
        x.kernel_tanh()
    }
    #[inline]
    fn df(x: F, _: F, _: ()) -> F {
        crate::activation::sech2(x)
    }
}

/// `min(max(x, lo), hi)` with `lo = p.f[0]`, `hi = p.f[1]`; d/dx = 1 for
/// `lo ≤ x ≤ hi`, else 0 (kinks at both bounds). NaN stays NaN.
pub struct ClampOp;
impl<F: Element> UnaryOp<F> for ClampOp {
    const NAME: &'static str = "clamp";
    type State = (F, F);
    #[inline]
    fn f(x: F, (lo, hi): (F, F)) -> F {
        if x < lo {
            lo
        } else if x > hi {
            hi
        } else {
            x
        }
    }
    #[inline]
    fn df(x: F, _: F, (lo, hi): (F, F)) -> F {
        if x.is_nan() {
            x
        } else if x >= lo && x <= hi {
            F::one()
        } else {
            F::zero()
        }
    }
}

macro_rules! unary_methods {
    ($($(#[$doc:meta])* $name:ident, $try:ident, $op:ty;)*) => {
        impl<'t, F: Element> Var<'t, F> {
            $(
                $(#[$doc])*
                ///
                /// # Panics
                /// Only in checked mode, on a non-finite output; the `try_`
                /// twin returns that error.
                #[track_caller]
                pub fn $name(self) -> Var<'t, F> {
                    self.unary::<$op>(())
                }

                $(#[$doc])*
                ///
                /// # Errors
                /// [`Error::NonFinite`](crate::Error::NonFinite) in checked
                /// mode, on a non-finite output.
                pub fn $try(self) -> Result<Var<'t, F>> {
                    self.try_unary::<$op>(())
                }
            )*
        }
    };
}

unary_methods! {
    /// `eˣ` element-wise ([`ExpOp`]).
    exp, try_exp, ExpOp;
    /// `ln x` element-wise ([`LnOp`]).
    ln, try_ln, LnOp;
    /// `√x` element-wise ([`SqrtOp`]).
    sqrt, try_sqrt, SqrtOp;
    /// `|x|` element-wise ([`AbsOp`]).
    abs, try_abs, AbsOp;
    /// `x²` element-wise ([`SquareOp`]).
    square, try_square, SquareOp;
    /// `1/x` element-wise ([`RecipOp`]).
    recip, try_recip, RecipOp;
    /// `tanh x` element-wise ([`TanhOp`]).
    tanh, try_tanh, TanhOp;
}

impl<'t, F: Element> Var<'t, F> {
    /// `xⁿ` element-wise for an integer `n` ([`PowiOp`]).
    ///
    /// ```
    /// let tape = gradsign::Tape::<f64>::new();
    /// let x = tape.var_scalar(2.0);
    /// let y = x.powi(3);
    /// assert_eq!(y.item()?, 8.0);
    /// assert_eq!(y.backward()?.get(x)?, &[12.0]);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Panics
    /// Only in checked mode, on a non-finite output; the `try_` twin returns
    /// that error.
    #[track_caller]
    pub fn powi(self, n: i32) -> Var<'t, F> {
        crate::error::or_panic(self.try_powi(n))
    }

    /// [`powi`](Self::powi), returning errors.
    ///
    /// # Errors
    /// [`Error::NonFinite`](crate::Error::NonFinite) in checked mode, on a
    /// non-finite output (`0⁻¹`, an overflow).
    pub fn try_powi(self, n: i32) -> Result<Var<'t, F>> {
        self.try_unary::<PowiOp>(n)
    }

    /// `xᵃ` element-wise for a real `a` ([`PowfOp`]).
    ///
    /// # Panics
    /// Only in checked mode, on a non-finite output; the `try_` twin returns
    /// that error.
    #[track_caller]
    pub fn powf(self, a: F) -> Var<'t, F> {
        crate::error::or_panic(self.try_powf(a))
    }

    /// [`powf`](Self::powf), returning errors.
    ///
    /// # Errors
    /// [`Error::NonFinite`](crate::Error::NonFinite) in checked mode, on a
    /// non-finite output (a negative base with a fractional exponent...).
    pub fn try_powf(self, a: F) -> Result<Var<'t, F>> {
        self.try_unary::<PowfOp>(a)
    }

    /// Clamps every element into `[lo, hi]` ([`ClampOp`]).
    ///
    /// # Errors
    /// [`Error::OutOfDomain`](crate::Error::OutOfDomain) (parameter "the
    /// bounds") unless `lo ≤ hi` (NaN bounds included).
    pub fn clamp(self, lo: F, hi: F) -> Result<Var<'t, F>> {
        if lo.partial_cmp(&hi).is_none_or(|o| o.is_gt()) {
            return Err(crate::Error::out_of_domain(
                "clamp",
                "the bounds",
                "lo ≤ hi",
                format_args!("lo = {lo}, hi = {hi}"),
            ));
        }
        self.try_unary::<ClampOp>((lo, hi))
    }
}
