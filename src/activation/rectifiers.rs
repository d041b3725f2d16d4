//! Rectifier-like activations: ReLU, leaky ReLU, ELU, SELU and softplus.
//!
//! The parameterised ones take their parameter as their op's state and
//! validate it in their `Var` method (a parameter is user input: an invalid
//! one is an `Err`, never a silent NaN).

use crate::autodiff::Var;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::ops::UnaryOp;

use super::sigmoidal::logistic_pair;

/// The rectifier `max(x, 0)`; derivative 1 for `x > 0`, 0 for `x ≤ 0` (a
/// kink at 0, where 0 is the left derivative). Outputs are non-negative with
/// exact zeros (`+0.0`, never `−0.0`). NaN stays NaN.
pub struct ReluOp;
impl<F: Element> UnaryOp<F> for ReluOp {
    const NAME: &'static str = "relu";
    type State = ();
    #[inline]
    fn f(x: F, _: ()) -> F {
        if x > F::zero() || x.is_nan() {
            x
        } else {
            F::zero()
        }
    }
    #[inline]
    fn df(x: F, _: F, _: ()) -> F {
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
    type State = F;
    #[inline]
    fn f(x: F, c: F) -> F {
        if x > F::zero() { x } else { c * x }
    }
    #[inline]
    fn df(x: F, _: F, c: F) -> F {
        if x > F::zero() {
            F::one()
        } else if x.is_nan() {
            x
        } else {
            c
        }
    }
}

/// The exponential linear unit `x` for `x > 0`, `α·(eˣ − 1)` otherwise
/// (`α = p.f[0]`, Clevert et al. 2016); derivative 1 for `x > 0` and
/// `α·eˣ` for `x ≤ 0`, from the input. `eˣ − 1` is `expm1`, exact near 0.
/// Continuous derivative at 0 only for `α = 1`.
///
/// The derivative is not read from the output: `y + α` cancels as `y → −α`
/// (a relative error of 1.7e−4 at `x = −30` in f64, exactly 0 at `x = −100`
/// where `α·eˣ ≈ 3.7e−44`). Value within 2 ulps, derivative within about
/// 4.5 (the measured bounds of `tests/engine/hostile_numerics.rs`).
pub struct EluOp;
impl<F: Element> UnaryOp<F> for EluOp {
    const NAME: &'static str = "elu";
    type State = F;
    const SPLIT_FROM: usize = crate::ops::SPLIT_COSTLY;
    #[inline]
    fn f(x: F, c: F) -> F {
        if x > F::zero() { x } else { c * x.exp_m1() }
    }
    #[inline]
    fn df(x: F, _: F, c: F) -> F {
        if x > F::zero() {
            F::one()
        } else {
            scaled_exp(c, x)
        }
    }
}

/// `c·eˣ`, applying `c` before the exponential underflows: where `eˣ` is
/// subnormal its absolute error of a unit of the smallest subnormal would
/// become `c` such units, so `c·e^{x/2}` (normal) is formed first.
#[inline]
fn scaled_exp<F: Element>(c: F, x: F) -> F {
    let e = x.kernel_exp();
    if e >= F::min_positive_value() || e.is_nan() {
        c * e
    } else {
        let root = (x * F::from_f64(0.5)).kernel_exp();
        (c * root) * root
    }
}

/// SELU's scale `λ` (Klambauer et al. 2017).
pub const SELU_LAMBDA: f64 = 1.050_700_987_355_480_5;
/// SELU's `α` (Klambauer et al. 2017).
pub const SELU_ALPHA: f64 = 1.673_263_242_354_377_3;

/// The scaled ELU `λ·x` for `x > 0`, `λα·(eˣ − 1)` otherwise, with
/// [`SELU_LAMBDA`] and [`SELU_ALPHA`] chosen so that `z ~ N(0, 1)` maps to
/// mean 0 and variance 1; derivative `λ` for `x > 0`, `λα·eˣ` (from the
/// input, as for [`EluOp`]) for `x ≤ 0` (a kink at 0: `λ` against `λα`).
pub struct SeluOp;
impl<F: Element> UnaryOp<F> for SeluOp {
    const NAME: &'static str = "selu";
    type State = ();
    const SPLIT_FROM: usize = crate::ops::SPLIT_COSTLY;
    #[inline]
    fn f(x: F, _: ()) -> F {
        if x > F::zero() {
            F::from_f64(SELU_LAMBDA) * x
        } else {
            F::from_f64(SELU_LAMBDA * SELU_ALPHA) * x.exp_m1()
        }
    }
    #[inline]
    fn df(x: F, _: F, _: ()) -> F {
        if x > F::zero() {
            F::from_f64(SELU_LAMBDA)
        } else {
            scaled_exp(F::from_f64(SELU_LAMBDA * SELU_ALPHA), x)
        }
    }
}

/// `β·x` as `h + l` with `h` the rounded product and `l` its rounding error
/// (exact, by `mul_add`; 0 when `h` is not finite, where the tails the
/// correction serves are flat).
#[inline]
fn product_with_error<F: Element>(beta: F, x: F) -> (F, F) {
    let h = beta * x;
    let l = beta.mul_add(x, -h);
    (
        h,
        if h.is_finite() && l.is_finite() {
            l
        } else {
            F::zero()
        },
    )
}

/// Softplus `ln(1 + e^{βx})/β` (`β = p.f[0] > 0`); derivative `σ(βx)`.
///
/// Computed as `max(x, 0) + ln(1 + e^{−|βx|})/β`: the exponential never
/// exceeds 1 and `βx` is never divided back, so `softplus(1000) = 1000`
/// with no overflow even when `βx` overflows, and `softplus(−1000) =
/// e⁻¹⁰⁰⁰` (0 in floating point) with no cancellation. In the lower tail the
/// value is `≈ e^{βx}/β`, whose relative error would be `|βx|` times that of
/// the rounded product `βx`; the product's rounding error `l` is therefore
/// kept and corrected for (`e^{h + l} = e^h·(1 + l)` to first order), which
/// changes nothing when `β = 1`. The derivative is computed from the input
/// the same way (`σ(h + l) = σ(h)·(1 + l·σ(−h))`): the output form
/// `1 − e^{−βy}` cancels for very negative `x`.
pub struct SoftplusOp;
impl<F: Element> UnaryOp<F> for SoftplusOp {
    const NAME: &'static str = "softplus";
    type State = F;
    const SPLIT_FROM: usize = crate::ops::SPLIT_COSTLY;
    #[inline]
    fn f(x: F, c: F) -> F {
        let beta = c;
        let (h, l) = product_with_error(beta, x);
        // −|h + l| = −|h| − sign(h)·l.
        let signed_l = if h >= F::zero() { l } else { -l };
        let e = (-h.abs()).exp() * (F::one() - signed_l);
        x.max(F::zero()) + e.ln_1p() / beta
    }
    #[inline]
    fn df(x: F, _: F, c: F) -> F {
        let (h, l) = product_with_error(c, x);
        let (s, t) = logistic_pair(h);
        s * (F::one() + l * t)
    }
}

/// Checks that a parameter `p`, already valid in its own domain, is usable as
/// an `F`: finite, and 0 or at least `F`'s smallest normal number (see
/// [`Activation::validate`](super::Activation::validate)). `given` is the
/// parameter as the caller wrote it, for the message.
fn check_representable<F: Element>(op: &'static str, name: &str, given: f64, p: F) -> Result<()> {
    if !p.is_finite() {
        return Err(Error::out_of_domain(
            op,
            name,
            format!("within the range of {}", F::NAME),
            format_args!("{given:e}"),
        ));
    }
    // A non-zero value that rounds to 0 underflows too.
    if given != 0.0 && p.abs() < F::min_positive_value() {
        return Err(Error::out_of_domain(
            op,
            name,
            format!(
                "0 or at least {:e}, the smallest normal {}",
                F::min_positive_value().to_f64(),
                F::NAME
            ),
            format_args!("{given:e}, which underflows"),
        ));
    }
    Ok(())
}

/// Checks a slope or scale parameter `α` given in `F`: finite, non-negative,
/// and 0 or normal.
pub(crate) fn check_alpha<F: Element>(op: &'static str, alpha: F) -> Result<()> {
    if alpha.is_finite() && alpha >= F::zero() {
        check_representable(op, "α", alpha.to_f64(), alpha)
    } else {
        Err(Error::out_of_domain(op, "α", "finite and ≥ 0", alpha))
    }
}

/// Checks an `α` given as `f64` for use in `F`: valid as `f64`, then as `F`.
pub(crate) fn check_alpha_f64<F: Element>(op: &'static str, alpha: f64) -> Result<()> {
    check_alpha(op, alpha)?;
    check_representable(op, "α", alpha, F::from_f64(alpha))
}

/// Checks softplus' sharpness `β` given in `F`: finite, positive and normal.
pub(crate) fn check_beta<F: Element>(beta: F) -> Result<()> {
    if beta.is_finite() && beta > F::zero() {
        check_representable("softplus", "β", beta.to_f64(), beta)
    } else {
        Err(Error::out_of_domain(
            "softplus",
            "β",
            "finite and > 0",
            beta,
        ))
    }
}

/// Checks a `β` given as `f64` for use in `F`.
pub(crate) fn check_beta_f64<F: Element>(beta: f64) -> Result<()> {
    check_beta(beta)?;
    check_representable("softplus", "β", beta, F::from_f64(beta))
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
    /// for `x > 0`, `λα·eˣ` otherwise.
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
    /// [`Error::OutOfDomain`] unless `α` is finite, `≥ 0`, and 0 or at
    /// least `F`'s smallest normal number;
    /// [`Error::NonFinite`] in checked mode.
    pub fn leaky_relu(self, alpha: F) -> Result<Var<'t, F>> {
        check_alpha("leaky_relu", alpha)?;
        self.try_unary::<LeakyReluOp>(alpha)
    }

    /// ELU (`x` for `x > 0`, `α(eˣ − 1)` otherwise) element-wise
    /// ([`EluOp`]); derivative 1 or `α·eˣ`.
    ///
    /// ```
    /// let tape = gradsign::Tape::<f64>::new();
    /// let y = tape.var_scalar(-1e4).elu(1.0)?;
    /// assert_eq!(y.item()?, -1.0);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::OutOfDomain`] unless `α` is finite, `≥ 0`, and 0 or at
    /// least `F`'s smallest normal number;
    /// [`Error::NonFinite`] in checked mode.
    pub fn elu(self, alpha: F) -> Result<Var<'t, F>> {
        check_alpha("elu", alpha)?;
        self.try_unary::<EluOp>(alpha)
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
    /// [`Error::OutOfDomain`] unless `β` is finite, `> 0` and at least
    /// `F`'s smallest normal number;
    /// [`Error::NonFinite`] in checked mode.
    pub fn softplus(self, beta: F) -> Result<Var<'t, F>> {
        check_beta(beta)?;
        self.try_unary::<SoftplusOp>(beta)
    }
}
