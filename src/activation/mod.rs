//! Activation functions: each a differentiable element-wise op ([`UnaryOp`],
//! value beside derivative) with a `Var` method, and a value of the
//! [`Activation`] enum that layers take, carrying the analytic facts the sign
//! analysis reasons with.
//!
//! | activation | `f(x)` | output range | one-signed | zero-centred |
//! | --- | --- | --- | --- | --- |
//! | identity | `x` | (−∞, ∞) | no | yes |
//! | sigmoid | `1/(1 + e⁻ˣ)` | (0, 1) | strictly positive | no |
//! | centred sigmoid | `σ(x) − ½ = ½·tanh(x/2)` | (−½, ½) | no | yes |
//! | tanh | `tanh x` | (−1, 1) | no | yes |
//! | LeCun tanh | `1.7159·tanh(2x/3)` | (−1.7159, 1.7159) | no | yes |
//! | softsign | `x/(1 + \|x\|)` | (−1, 1) | no | yes |
//! | hard tanh | `clamp(x, −1, 1)` | [−1, 1] | no | yes |
//! | hard sigmoid | `clamp(x/6 + ½, 0, 1)` | [0, 1] | non-negative | no |
//! | ReLU | `max(x, 0)` | [0, ∞) | non-negative | no |
//! | leaky ReLU (α) | `x` or `αx` | (−∞, ∞) | no | no |
//! | ELU (α) | `x` or `α(eˣ − 1)` | (−α, ∞) | no | no |
//! | SELU | `λx` or `λα(eˣ − 1)` | (−1.7581, ∞) | no | no |
//! | softplus (β) | `ln(1 + e^{βx})/β` | (0, ∞) | strictly positive | no |
//! | GELU | `x·Φ(x)` | [−0.16997, ∞) | no | no |
//! | GELU (tanh) | `½x(1 + tanh(√(2/π)(x + 0.044715x³)))` | [−0.17004, ∞) | no | no |
//! | SiLU / swish | `x·σ(x)` | [−0.27846, ∞) | no | no |
//! | mish | `x·tanh(ln(1 + eˣ))` | [−0.30884, ∞) | no | no |
//!
//! `softmax` and `log_softmax` along an axis are [`Var`] methods (they are
//! not element-wise, so they have no enum value; a classifier's last layer
//! is `Identity` followed by a loss on logits, see [`crate::loss`]).
//!
//! Every function is stable over the whole finite `f32`/`f64` range
//! (`sigmoid(−1000) = 0` without overflow, `softplus(1000) = 1000`), and
//! every derivative is computed from the input in a form with no
//! cancellation, so that it keeps its relative precision in the tails
//! (`sigmoid'(40)`, `tanh'(30)`, `elu'(−100)`): forms read from the output
//! such as `y(1 − y)`, `1 − y²` or `y + α` lose every digit there. The
//! tape's backward pass calls the same derivative functions.

use std::fmt;

use crate::autodiff::Var;
use crate::element::Element;
use crate::error::Result;
use crate::ops::UnaryOp;
use crate::ops::unary::TanhOp;

/// Generates, for each parameterless op, a method that panics only in
/// checked mode and its `try_` twin.
macro_rules! activation_methods {
    ($($(#[$doc:meta])* $name:ident, $try:ident, $op:ty;)*) => {
        impl<'t, F: $crate::element::Element> $crate::autodiff::Var<'t, F> {
            $(
                $(#[$doc])*
                ///
                /// # Panics
                /// Only in checked mode, on a non-finite output; the `try_`
                /// twin returns that error.
                #[track_caller]
                pub fn $name(self) -> $crate::autodiff::Var<'t, F> {
                    self.unary::<$op>(())
                }

                $(#[$doc])*
                ///
                /// # Errors
                /// [`Error::NonFinite`](crate::Error::NonFinite) in checked
                /// mode, on a non-finite output.
                pub fn $try(self) -> $crate::error::Result<$crate::autodiff::Var<'t, F>> {
                    self.try_unary::<$op>(())
                }
            )*
        }
    };
}

mod gated;
mod properties;
mod quadrature;
mod rectifiers;
pub(crate) mod sigmoidal;
mod softmax;

pub use gated::{GeluOp, GeluTanhOp, MishOp, SiluOp};
pub use properties::{GaussianMoments, Interval, OutputSign};
pub use rectifiers::{EluOp, LeakyReluOp, ReluOp, SELU_ALPHA, SELU_LAMBDA, SeluOp, SoftplusOp};
pub(crate) use sigmoidal::sech2;
pub use sigmoidal::{
    CentredSigmoidOp, HardSigmoidOp, HardTanhOp, LECUN_TANH_GAIN, LECUN_TANH_SCALE, LecunTanhOp,
    SigmoidOp, SoftsignOp,
};
pub(crate) use softmax::shifted;

/// An activation function, as layers take it. Parameterised ones carry their
/// parameter (`LeakyRelu(α)`, `Elu(α)`, `Softplus(β)`) as an `f64`, checked
/// in the element type it will run in by [`validate`](Self::validate) (which
/// [`apply`](Self::apply) and every network constructor call).
///
/// ```
/// use gradsign::{activation::Activation, Tape};
/// let tape = Tape::<f64>::new();
/// let x = tape.var_scalar(0.0);
/// assert_eq!(Activation::Sigmoid.apply(x)?.item()?, 0.5);
/// assert_eq!(Activation::Tanh.apply(x)?.item()?, 0.0);
/// assert_eq!(Activation::LeakyRelu(0.01).to_string(), "leaky_relu(α = 0.01)");
/// assert!(Activation::Softplus(-1.0).apply(x).is_err());
/// # Ok::<(), gradsign::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Activation {
    /// `f(x) = x`.
    Identity,
    /// The logistic sigmoid ([`SigmoidOp`]).
    Sigmoid,
    /// The hyperbolic tangent ([`TanhOp`]).
    Tanh,
    /// The rectifier ([`ReluOp`]).
    Relu,
    /// The leaky rectifier with slope `α ≥ 0` for `x ≤ 0` ([`LeakyReluOp`]).
    LeakyRelu(f64),
    /// The exponential linear unit with `α ≥ 0` ([`EluOp`]).
    Elu(f64),
    /// The scaled ELU ([`SeluOp`]).
    Selu,
    /// GELU, exact erf form ([`GeluOp`]).
    Gelu,
    /// GELU, tanh approximation ([`GeluTanhOp`]).
    GeluTanh,
    /// SiLU, also called swish ([`SiluOp`]).
    Silu,
    /// Softplus with sharpness `β > 0` ([`SoftplusOp`]).
    Softplus(f64),
    /// Softsign ([`SoftsignOp`]).
    Softsign,
    /// The hard tanh ([`HardTanhOp`]).
    HardTanh,
    /// The hard sigmoid ([`HardSigmoidOp`]).
    HardSigmoid,
    /// Mish ([`MishOp`]).
    Mish,
    /// LeCun's scaled tanh `1.7159·tanh(2x/3)` ([`LecunTanhOp`]).
    LecunTanh,
    /// The centred sigmoid `σ(x) − ½` ([`CentredSigmoidOp`]).
    CentredSigmoid,
}

impl Activation {
    /// One value of every variant, with the usual parameters (leaky ReLU
    /// α = 0.01, ELU α = 1, softplus β = 1): for tables and tests.
    pub const ALL: [Activation; 17] = [
        Activation::Identity,
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Relu,
        Activation::LeakyRelu(0.01),
        Activation::Elu(1.0),
        Activation::Selu,
        Activation::Gelu,
        Activation::GeluTanh,
        Activation::Silu,
        Activation::Softplus(1.0),
        Activation::Softsign,
        Activation::HardTanh,
        Activation::HardSigmoid,
        Activation::Mish,
        Activation::LecunTanh,
        Activation::CentredSigmoid,
    ];

    /// The activation's name, as its op is named on the tape (`"sigmoid"`,
    /// `"leaky_relu"`...).
    pub fn name(self) -> &'static str {
        match self {
            Activation::Identity => "identity",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Relu => "relu",
            Activation::LeakyRelu(_) => "leaky_relu",
            Activation::Elu(_) => "elu",
            Activation::Selu => "selu",
            Activation::Gelu => "gelu",
            Activation::GeluTanh => "gelu_tanh",
            Activation::Silu => "silu",
            Activation::Softplus(_) => "softplus",
            Activation::Softsign => "softsign",
            Activation::HardTanh => "hard_tanh",
            Activation::HardSigmoid => "hard_sigmoid",
            Activation::Mish => "mish",
            Activation::LecunTanh => "lecun_tanh",
            Activation::CentredSigmoid => "centred_sigmoid",
        }
    }

    /// Checks the parameter in the element type `F` the activation will run
    /// in: the one check every constructor that takes an activation
    /// ([`Mlp::build`](crate::nn::Mlp::build),
    /// [`Mlp::build_with`](crate::nn::Mlp::build_with)), the JSON
    /// loader and [`apply`](Self::apply) (so an activation layer of a
    /// [`Sequential`](crate::nn::Sequential) too) run, so that a network that can be built can be
    /// saved and loaded back, and one that is refused is refused the same way
    /// everywhere.
    ///
    /// The rules, for the parameter `p` as given (`f64`) and as converted to `F`:
    /// - leaky ReLU and ELU: `α` finite and `≥ 0`;
    /// - softplus: `β` finite and `> 0`;
    /// - and for each, `F(p)` finite (`1e39` overflows `f32`) and, unless `p`
    ///   is 0, at least `F`'s smallest normal number: a parameter that
    ///   underflows would silently change the function (`softplus(β = 1e-50)`
    ///   in `f32` divides by 0; `leaky_relu(α = 1e-50)` would become ReLU).
    ///
    /// The parameterless activations are always valid.
    ///
    /// ```
    /// use gradsign::activation::Activation;
    /// assert!(Activation::LeakyRelu(0.01).validate::<f32>().is_ok());
    /// assert!(Activation::LeakyRelu(1e39).validate::<f64>().is_ok());
    /// assert!(Activation::LeakyRelu(1e39).validate::<f32>().is_err());
    /// assert!(Activation::Softplus(1e-50).validate::<f32>().is_err());
    /// assert!(Activation::Softplus(f64::NAN).validate::<f64>().is_err());
    /// ```
    ///
    /// # Errors
    /// [`Error::OutOfDomain`](crate::Error::OutOfDomain) whose `op` is the
    /// activation's name (`"leaky_relu"`, `"elu"`, `"softplus"`) and whose
    /// `param` is `"α"` or `"β"`, naming the parameter's value and, when the
    /// value is valid as `f64` but not as `F`, the type.
    pub fn validate<F: Element>(self) -> Result<()> {
        match self {
            Activation::LeakyRelu(a) => rectifiers::check_alpha_f64::<F>("leaky_relu", a),
            Activation::Elu(a) => rectifiers::check_alpha_f64::<F>("elu", a),
            Activation::Softplus(b) => rectifiers::check_beta_f64::<F>(b),
            _ => Ok(()),
        }
    }

    /// Applies the activation to a variable (the identity records nothing
    /// and returns `x`).
    ///
    /// # Errors
    /// [`Error::OutOfDomain`](crate::Error::OutOfDomain) for a parameter
    /// invalid in `F` (see [`validate`](Self::validate));
    /// [`Error::NonFinite`](crate::Error::NonFinite) in checked mode.
    pub fn apply<'t, F: Element>(self, x: Var<'t, F>) -> Result<Var<'t, F>> {
        self.validate::<F>()?;
        let p = |a: f64| F::from_f64(a);
        match self {
            Activation::Identity => Ok(x),
            Activation::Sigmoid => x.try_unary::<SigmoidOp>(()),
            Activation::Tanh => x.try_unary::<TanhOp>(()),
            Activation::Relu => x.try_unary::<ReluOp>(()),
            Activation::LeakyRelu(a) => x.try_unary::<LeakyReluOp>(p(a)),
            Activation::Elu(a) => x.try_unary::<EluOp>(p(a)),
            Activation::Selu => x.try_unary::<SeluOp>(()),
            Activation::Gelu => x.try_unary::<GeluOp>(()),
            Activation::GeluTanh => x.try_unary::<GeluTanhOp>(()),
            Activation::Silu => x.try_unary::<SiluOp>(()),
            Activation::Softplus(b) => x.try_unary::<SoftplusOp>(p(b)),
            Activation::Softsign => x.try_unary::<SoftsignOp>(()),
            Activation::HardTanh => x.try_unary::<HardTanhOp>(()),
            Activation::HardSigmoid => x.try_unary::<HardSigmoidOp>(()),
            Activation::Mish => x.try_unary::<MishOp>(()),
            Activation::LecunTanh => x.try_unary::<LecunTanhOp>(()),
            Activation::CentredSigmoid => x.try_unary::<CentredSigmoidOp>(()),
        }
    }

    /// `(f(x), f'(x))` in `f64`, by the same op code the tape runs.
    fn scalar(self, x: f64) -> (f64, f64) {
        fn run<U: UnaryOp<f64>>(x: f64, s: U::State) -> (f64, f64) {
            let y = U::f(x, s);
            (y, U::df(x, y, s))
        }
        match self {
            Activation::Identity => (x, 1.0),
            Activation::Sigmoid => run::<SigmoidOp>(x, ()),
            Activation::Tanh => run::<TanhOp>(x, ()),
            Activation::Relu => run::<ReluOp>(x, ()),
            Activation::LeakyRelu(a) => run::<LeakyReluOp>(x, a),
            Activation::Elu(a) => run::<EluOp>(x, a),
            Activation::Selu => run::<SeluOp>(x, ()),
            Activation::Gelu => run::<GeluOp>(x, ()),
            Activation::GeluTanh => run::<GeluTanhOp>(x, ()),
            Activation::Silu => run::<SiluOp>(x, ()),
            Activation::Softplus(b) => run::<SoftplusOp>(x, b),
            Activation::Softsign => run::<SoftsignOp>(x, ()),
            Activation::HardTanh => run::<HardTanhOp>(x, ()),
            Activation::HardSigmoid => run::<HardSigmoidOp>(x, ()),
            Activation::Mish => run::<MishOp>(x, ()),
            Activation::LecunTanh => run::<LecunTanhOp>(x, ()),
            Activation::CentredSigmoid => run::<CentredSigmoidOp>(x, ()),
        }
    }

    /// `f(x)` for one `f64`, with no tape (for parameters that
    /// [`validate`](Self::validate) accepts).
    ///
    /// ```
    /// use gradsign::activation::Activation;
    /// assert_eq!(Activation::Relu.value_at(-2.0), 0.0);
    /// assert_eq!(Activation::Softplus(1.0).value_at(1000.0), 1000.0);
    /// ```
    pub fn value_at(self, x: f64) -> f64 {
        self.scalar(x).0
    }

    /// `f'(x)` for one `f64`, with no tape, using the op's one-sided choice
    /// at a kink.
    ///
    /// ```
    /// use gradsign::activation::Activation;
    /// assert_eq!(Activation::Sigmoid.derivative_at(0.0), 0.25);
    /// assert_eq!(Activation::Relu.derivative_at(0.0), 0.0);
    /// ```
    pub fn derivative_at(self, x: f64) -> f64 {
        self.scalar(x).1
    }
}

/// The name, with the parameter when there is one: `sigmoid`,
/// `leaky_relu(α = 0.01)`, `softplus(β = 2)`.
impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Activation::LeakyRelu(a) | Activation::Elu(a) => write!(f, "{}(α = {a})", self.name()),
            Activation::Softplus(b) => write!(f, "{}(β = {b})", self.name()),
            _ => f.write_str(self.name()),
        }
    }
}
