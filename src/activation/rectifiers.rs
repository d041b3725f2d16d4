//! Rectifier-like activations: ReLU, leaky ReLU, ELU, SELU and softplus.
//!
//! The parameterised ones read their parameter from `Params::f[0]` and
//! validate it in their `Var` method (a parameter is user input: an invalid
//! one is an `Err`, never a silent NaN).

use crate::autodiff::{Params, Var};
use crate::element::Element;
use crate::error::{Error, Result};
use crate::ops::UnaryOp;

use super::sigmoidal::logistic;

/// The rectifier `max(x, 0)`; derivative 1 for `x > 0`, 0 for `x ≤ 0` (a
/// kink at 0, where 0 is the left derivative). Outputs are non-negative with
/// exact zeros (`+0.0`, never `−0.0`). NaN stays NaN.
pub struct ReluOp;
impl<F: Element> UnaryOp<F> for ReluOp {
    const NAME: &'static str = "relu";
    #[inline]
    fn f(x: F, _: &Params<F>) -> F {
        if x > F::zero() || x.is_nan() {
            x
        } else {
            F::zero()
        }
    }
    #[inline]
    fn df(x: F, _: F, _: &Params<F>) -> F {
        if x > F::zero() {
            F::one()
        } else if x.is_nan() {
            x
        } else {
            F::zero()
        }
    }
}

/// The leaky rectifier `x` for `x > 0`, `α·x` otherwise (`α = p.f[0]`);
/// derivative 1 for `x > 0`, `α` for `x ≤ 0` (a kink at 0 unless `α = 1`).
pub struct LeakyReluOp;
impl<F: Element> UnaryOp<F> for LeakyReluOp {
    const NAME: &'static str = "leaky_relu";
    #[inline]
    fn f(x: F, p: &Params<F>) -> F {
        if x > F::zero() { x } else { p.f[0] * x }
    }
    #[inline]
    fn df(x: F, _: F, p: &Params<F>) -> F {
        if x > F::zero() {
            F::one()
        } else if x.is_nan() {
            x
        } else {
            p.f[0]
        }
    }
}

/// The exponential linear unit `x` for `x > 0`, `α·(eˣ − 1)` otherwise
/// (`α = p.f[0]`, Clevert et al. 2016); derivative 1 for `x > 0` and
/// `α·eˣ = y + α` (from the output) for `x ≤ 0`. `eˣ − 1` is `expm1`, exact
/// near 0. Continuous derivative at 0 only for `α = 1`.
pub struct EluOp;
impl<F: Element> UnaryOp<F> for EluOp {
    const NAME: &'static str = "elu";
    #[inline]
    fn f(x: F, p: &Params<F>) -> F {
        if x > F::zero() {
            x
        } else {
            p.f[0] * x.exp_m1()
        }
    }
    #[inline]
    fn df(x: F, y: F, p: &Params<F>) -> F {
        if x > F::zero() { F::one() } else { y + p.f[0] }
    }
}

/// SELU's scale `λ` (Klambauer et al. 2017).
pub const SELU_LAMBDA: f64 = 1.050_700_987_355_480_5;
/// SELU's `α` (Klambauer et al. 2017).
pub const SELU_ALPHA: f64 = 1.673_263_242_354_377_3;

/// The scaled ELU `λ·x` for `x > 0`, `λα·(eˣ − 1)` otherwise, with
/// [`SELU_LAMBDA`] and [`SELU_ALPHA`] chosen so that `z ~ N(0, 1)` maps to
/// mean 0 and variance 1; derivative `λ` for `x > 0`, `y + λα` (from the
/// output) for `x ≤ 0` (a kink at 0: `λ` against `λα`).
pub struct SeluOp;
impl<F: Element> UnaryOp<F> for SeluOp {
    const NAME: &'static str = "selu";
    #[inline]
    fn f(x: F, _: &Params<F>) -> F {
        if x > F::zero() {
            F::from_f64(SELU_LAMBDA) * x
        } else {
            F::from_f64(SELU_LAMBDA * SELU_ALPHA) * x.exp_m1()
        }
    }
    #[inline]
    fn df(x: F, y: F, _: &Params<F>) -> F {
        if x > F::zero() {
            F::from_f64(SELU_LAMBDA)
        } else {
            y + F::from_f64(SELU_LAMBDA * SELU_ALPHA)
        }
    }
}

/// Softplus `ln(1 + e^{βx})/β` (`β = p.f[0] > 0`); derivative `σ(βx)`.
///
/// Computed as `(max(βx, 0) + ln(1 + e^{−|βx|}))/β`: the exponential never
/// exceeds 1, so `softplus(1000) = 1000` with no overflow and
/// `softplus(−1000) = e⁻¹⁰⁰⁰` (0 in floating point) with no cancellation. The
/// derivative is computed from the input: the output form `1 − e^{−βy}`
/// cancels for very negative `x`.
pub struct SoftplusOp;
impl<F: Element> UnaryOp<F> for SoftplusOp {
    const NAME: &'static str = "softplus";
    #[inline]
    fn f(x: F, p: &Params<F>) -> F {
        let bx = p.f[0] * x;
        (bx.max(F::zero()) + (-bx.abs()).exp().ln_1p()) / p.f[0]
    }
    #[inline]
    fn df(x: F, _: F, p: &Params<F>) -> F {
        logistic(p.f[0] * x)
    }
}

/// Checks a slope or scale parameter `α`: finite and non-negative.
pub(crate) fn check_alpha<F: Element>(op: &'static str, alpha: F) -> Result<()> {
    if alpha.is_finite() && alpha >= F::zero() {
        Ok(())
    } else {
        Err(Error::InvalidArgument {
            op,
            message: format!("α must be finite and non-negative, got α = {alpha}"),
        })
    }
}

/// Checks softplus' sharpness `β`: finite and positive.
pub(crate) fn check_beta<F: Element>(beta: F) -> Result<()> {
    if beta.is_finite() && beta > F::zero() {
        Ok(())
    } else {
        Err(Error::InvalidArgument {
            op: "softplus",
            message: format!("β must be finite and positive, got β = {beta}"),
        })
    }
}

activation_methods! {
    /// The rectifier `max(x, 0)` element-wise ([`ReluOp`]); derivative 1 for
    /// `x > 0`, else 0.
    ///
    /// ```
    /// use gradsign::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(&Tensor::from_vec(vec![-2.0, 0.0, 3.0], &[3])?);
    /// let y = x.relu();
    /// assert_eq!(y.value().as_slice(), &[0.0, 0.0, 3.0]);
    /// assert_eq!(y.sum().backward()?.get(x)?, &[0.0, 0.0, 1.0]);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    relu, try_relu, ReluOp;
    /// SELU `λ·x` / `λα(eˣ − 1)` element-wise ([`SeluOp`]); derivative `λ`
    /// for `x > 0`, `y + λα` otherwise.
    selu, try_selu, SeluOp;
}

impl<'t, F: Element> Var<'t, F> {
    /// The leaky rectifier (`x` for `x > 0`, `α·x` otherwise) element-wise
    /// ([`LeakyReluOp`]); derivative 1 or `α`.
    ///
    /// ```
    /// use gradsign::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(&Tensor::from_vec(vec![-2.0, 3.0], &[2])?);
    /// let y = x.leaky_relu(0.1)?;
    /// assert_eq!(y.value().as_slice(), &[-0.2, 3.0]);
    /// assert_eq!(y.sum().backward()?.get(x)?, &[0.1, 1.0]);
    /// assert!(x.leaky_relu(-0.1).is_err());
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] unless `α` is finite and `≥ 0`;
    /// [`Error::NonFinite`] in checked mode.
    pub fn leaky_relu(self, alpha: F) -> Result<Var<'t, F>> {
        check_alpha("leaky_relu", alpha)?;
        self.try_unary::<LeakyReluOp>(Params::scalar(alpha))
    }

    /// ELU (`x` for `x > 0`, `α(eˣ − 1)` otherwise) element-wise
    /// ([`EluOp`]); derivative 1 or `y + α`.
    ///
    /// ```
    /// let tape = gradsign::Tape::<f64>::new();
    /// let y = tape.var_scalar(-1e4).elu(1.0)?;
    /// assert_eq!(y.item()?, -1.0);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] unless `α` is finite and `≥ 0`;
    /// [`Error::NonFinite`] in checked mode.
    pub fn elu(self, alpha: F) -> Result<Var<'t, F>> {
        check_alpha("elu", alpha)?;
        self.try_unary::<EluOp>(Params::scalar(alpha))
    }

    /// Softplus `ln(1 + e^{βx})/β` element-wise ([`SoftplusOp`]); derivative
    /// `σ(βx)`.
    ///
    /// ```
    /// let tape = gradsign::Tape::<f64>::new();
    /// let x = tape.var_scalar(1000.0);
    /// let y = x.softplus(1.0)?;
    /// assert_eq!(y.item()?, 1000.0);
    /// assert_eq!(y.backward()?.get(x)?, &[1.0]);
    /// assert!(x.softplus(-1.0).is_err());
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] unless `β` is finite and `> 0`;
    /// [`Error::NonFinite`] in checked mode.
    pub fn softplus(self, beta: F) -> Result<Var<'t, F>> {
        check_beta(beta)?;
        self.try_unary::<SoftplusOp>(Params::scalar(beta))
    }
}
