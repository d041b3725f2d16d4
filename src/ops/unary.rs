//! Element-wise maths: neg, exp, ln, sqrt, powi, powf, abs, square, recip,
//! tanh, clamp. Each op's value and derivative sit together.
//!
//! Each has a panicking form (which can only panic in checked mode, see
//! [`Tape::set_checked`](crate::Tape::set_checked)) and a `try_` twin.

use crate::autodiff::{Params, Var};
use crate::element::Element;
use crate::error::Result;

use super::UnaryOp;

/// `−x`; d/dx = −1. Keeps the sign of zero: `−(+0) = −0`.
pub struct NegOp;
impl<F: Element> UnaryOp<F> for NegOp {
    const NAME: &'static str = "neg";
    #[inline]
    fn f(x: F, _: &Params<F>) -> F {
        -x
    }
    #[inline]
    fn df(_: F, _: F, _: &Params<F>) -> F {
        -F::one()
    }
}

/// `eˣ`; d/dx = eˣ (read from the output).
pub struct ExpOp;
impl<F: Element> UnaryOp<F> for ExpOp {
    const NAME: &'static str = "exp";
    #[inline]
    fn f(x: F, _: &Params<F>) -> F {
        x.kernel_exp()
    }
    #[inline]
    fn df(_: F, y: F, _: &Params<F>) -> F {
        y
    }
}

/// `ln x`; d/dx = 1/x. `ln 0 = −∞`, `ln x = NaN` for `x < 0`.
pub struct LnOp;
impl<F: Element> UnaryOp<F> for LnOp {
    const NAME: &'static str = "ln";
    #[inline]
    fn f(x: F, _: &Params<F>) -> F {
        x.ln()
    }
    #[inline]
    fn df(x: F, _: F, _: &Params<F>) -> F {
        x.recip()
    }
}

/// `√x`; d/dx = 1/(2√x) (from the output).
pub struct SqrtOp;
impl<F: Element> UnaryOp<F> for SqrtOp {
    const NAME: &'static str = "sqrt";
    #[inline]
    fn f(x: F, _: &Params<F>) -> F {
        x.sqrt()
    }
    #[inline]
    fn df(_: F, y: F, _: &Params<F>) -> F {
        (y + y).recip()
    }
}

/// `xⁿ` for an integer `n`; d/dx = n·xⁿ⁻¹.
///
/// The exponent is [`PowiOp::params`]`(n)`: `n` exactly, in the integer
/// parameters. (For compatibility, parameters whose `u[1]` is not the
/// marker [`PowiOp::params`] sets read `n` from `p.f[0]`, truncated; an
/// `f32` holds integers exactly only up to 2²⁴, so `x.powi(16_777_217)`
/// stored that way would compute x¹⁶⁷⁷⁷²¹⁶, the wrong sign for a negative
/// `x`.)
pub struct PowiOp;

/// `PowiOp`'s marker in `p.u[1]`: the exponent is exact in `p.u[0]`.
const EXACT_EXPONENT: usize = 0x706f_7769; // "powi"

impl PowiOp {
    /// The parameters of `xⁿ`, with `n` stored exactly.
    pub fn params<F: Element>(n: i32) -> Params<F> {
        Params {
            f: [F::from_f64(f64::from(n)), F::zero()],
            u: [n as u32 as usize, EXACT_EXPONENT, 0, 0],
        }
    }

    #[inline]
    fn exponent<F: Element>(p: &Params<F>) -> i32 {
        if p.u[1] == EXACT_EXPONENT {
            p.u[0] as u32 as i32
        } else {
            p.f[0].to_f64() as i32
        }
    }
}

impl<F: Element> UnaryOp<F> for PowiOp {
    const NAME: &'static str = "powi";
    #[inline]
    fn f(x: F, p: &Params<F>) -> F {
        x.powi(Self::exponent(p))
    }
    #[inline]
    fn df(x: F, _: F, p: &Params<F>) -> F {
        let n = Self::exponent(p);
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
    #[inline]
    fn f(x: F, p: &Params<F>) -> F {
        x.powf(p.f[0])
    }
    #[inline]
    fn df(x: F, _: F, p: &Params<F>) -> F {
        if p.f[0] == F::zero() {
            F::zero()
        } else {
            p.f[0] * x.powf(p.f[0] - F::one())
        }
    }
}

/// `|x|`; d/dx = sign(x), and 0 at x = 0 (the subgradient PyTorch and JAX
/// use). A kink at 0.
pub struct AbsOp;
impl<F: Element> UnaryOp<F> for AbsOp {
    const NAME: &'static str = "abs";
    #[inline]
    fn f(x: F, _: &Params<F>) -> F {
        x.abs()
    }
    #[inline]
    fn df(x: F, _: F, _: &Params<F>) -> F {
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
    #[inline]
    fn f(x: F, _: &Params<F>) -> F {
        x * x
    }
    #[inline]
    fn df(x: F, _: F, _: &Params<F>) -> F {
        x + x
    }
}

/// `1/x`; d/dx = −1/x² = −y².
pub struct RecipOp;
impl<F: Element> UnaryOp<F> for RecipOp {
    const NAME: &'static str = "recip";
    #[inline]
    fn f(x: F, _: &Params<F>) -> F {
        x.recip()
    }
    #[inline]
    fn df(_: F, y: F, _: &Params<F>) -> F {
        -(y * y)
    }
}

/// `tanh x`; d/dx = `1 − tanh²x = sech²x`, computed from the input as
/// `4e/(1 + e)²` with `e = e^{−2|x|}` (the output form `1 − y²` is exactly
/// 0 for `|x| > 19` in f64, where `sech²` is still above `1e−17`).
pub struct TanhOp;
impl<F: Element> UnaryOp<F> for TanhOp {
    const NAME: &'static str = "tanh";
    #[inline]
    fn f(x: F, _: &Params<F>) -> F {
        x.kernel_tanh()
    }
    #[inline]
    fn df(x: F, _: F, _: &Params<F>) -> F {
        crate::activation::sech2(x)
    }
}

/// `min(max(x, lo), hi)` with `lo = p.f[0]`, `hi = p.f[1]`; d/dx = 1 for
/// `lo ≤ x ≤ hi`, else 0 (kinks at both bounds). NaN stays NaN.
pub struct ClampOp;
impl<F: Element> UnaryOp<F> for ClampOp {
    const NAME: &'static str = "clamp";
    #[inline]
    fn f(x: F, p: &Params<F>) -> F {
        if x < p.f[0] {
            p.f[0]
        } else if x > p.f[1] {
            p.f[1]
        } else {
            x
        }
    }
    #[inline]
    fn df(x: F, _: F, p: &Params<F>) -> F {
        if x.is_nan() {
            x
        } else if x >= p.f[0] && x <= p.f[1] {
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
                    self.unary::<$op>(Params::none())
                }

                $(#[$doc])*
                ///
                /// # Errors
                /// [`Error::NonFinite`](crate::Error::NonFinite) in checked
                /// mode, on a non-finite output.
                pub fn $try(self) -> Result<Var<'t, F>> {
                    self.try_unary::<$op>(Params::none())
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
        self.try_unary::<PowiOp>(PowiOp::params(n))
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
        self.try_unary::<PowfOp>(Params::scalar(a))
    }

    /// Clamps every element into `[lo, hi]` ([`ClampOp`]).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) unless
    /// `lo ≤ hi` (NaN bounds included).
    pub fn clamp(self, lo: F, hi: F) -> Result<Var<'t, F>> {
        if lo.partial_cmp(&hi).is_none_or(|o| o.is_gt()) {
            return Err(crate::Error::out_of_domain(
                "clamp",
                "the bounds",
                "lo ≤ hi",
                format_args!("lo = {lo}, hi = {hi}"),
            ));
        }
        let p = Params {
            f: [lo, hi],
            u: [0; 4],
        };
        self.try_unary::<ClampOp>(p)
    }
}
