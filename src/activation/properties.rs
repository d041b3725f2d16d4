//! The analytic facts of each [`Activation`] that the sign analysis reasons
//! with: output range, output sign, zero-centring, derivative range and the
//! moments of `f(z)` for `z ~ N(0, 1)`.
//!
//! These explain the analyzer's findings; they never decide them (verdicts
//! come from measured signs). They are mathematical facts about the
//! function over the reals: floating point may still round a strictly
//! positive `σ(−800)` to 0, which the analyzer then counts as a zero.

use std::fmt;
use std::ops::{Bound, RangeBounds};

use super::Activation;
use super::quadrature::normal_expectation;
use super::rectifiers::{SELU_ALPHA, SELU_LAMBDA};
use super::sigmoidal::{LECUN_TANH_GAIN, LECUN_TANH_SCALE};

/// An interval of the real line with open, closed or infinite ends.
///
/// ```
/// use gradsign::activation::{Activation, Interval};
/// use std::ops::Bound;
/// let r = Activation::Sigmoid.output_range();
/// assert_eq!(r, Interval::new(Bound::Excluded(0.0), Bound::Excluded(1.0)));
/// assert!(r.contains(0.5) && !r.contains(0.0));
/// assert_eq!(r.to_string(), "(0, 1)");
/// assert_eq!(Activation::Relu.output_range().to_string(), "[0, ∞)");
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Interval {
    /// The lower end (`Unbounded` is `−∞`).
    pub lower: Bound<f64>,
    /// The upper end (`Unbounded` is `+∞`).
    pub upper: Bound<f64>,
}

impl Interval {
    /// The interval between two ends.
    pub const fn new(lower: Bound<f64>, upper: Bound<f64>) -> Self {
        Interval { lower, upper }
    }

    /// `(a, b)`.
    pub const fn open(a: f64, b: f64) -> Self {
        Interval::new(Bound::Excluded(a), Bound::Excluded(b))
    }

    /// `[a, b]`.
    pub const fn closed(a: f64, b: f64) -> Self {
        Interval::new(Bound::Included(a), Bound::Included(b))
    }

    /// `(−∞, ∞)`.
    pub const fn real_line() -> Self {
        Interval::new(Bound::Unbounded, Bound::Unbounded)
    }

    /// `[a, ∞)` or `(a, ∞)`.
    pub const fn starting_at(lower: Bound<f64>) -> Self {
        Interval::new(lower, Bound::Unbounded)
    }

    /// Whether `x` lies in the interval (NaN never does).
    pub fn contains(&self, x: f64) -> bool {
        RangeBounds::contains(self, &x)
    }

    /// The infimum (`−∞` when unbounded below).
    pub fn inf(&self) -> f64 {
        match self.lower {
            Bound::Included(a) | Bound::Excluded(a) => a,
            Bound::Unbounded => f64::NEG_INFINITY,
        }
    }

    /// The supremum (`+∞` when unbounded above).
    pub fn sup(&self) -> f64 {
        match self.upper {
            Bound::Included(b) | Bound::Excluded(b) => b,
            Bound::Unbounded => f64::INFINITY,
        }
    }
}

impl RangeBounds<f64> for Interval {
    fn start_bound(&self) -> Bound<&f64> {
        self.lower.as_ref()
    }
    fn end_bound(&self) -> Bound<&f64> {
        self.upper.as_ref()
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.lower {
            Bound::Included(a) => write!(f, "[{a}, ")?,
            Bound::Excluded(a) => write!(f, "({a}, ")?,
            Bound::Unbounded => write!(f, "(−∞, ")?,
        }
        match self.upper {
            Bound::Included(b) => write!(f, "{b}]"),
            Bound::Excluded(b) => write!(f, "{b})"),
            Bound::Unbounded => write!(f, "∞)"),
        }
    }
}

/// The sign every output of an activation has, whatever its input.
///
/// This is the precondition of the sign claim: if every input `a_k` of a
/// neuron has one sign, its per-example weight gradient `δ·a` has the sign
/// pattern of `sign(δ)·sign(a)` — all components positive or all negative
/// ([`StrictlyPositive`](Self::StrictlyPositive)), or all non-zero
/// components of one sign ([`NonNegative`](Self::NonNegative), the *weak*
/// case: exact zeros, as ReLU produces, drop out of the pattern).
///
/// ```
/// use gradsign::activation::{Activation, OutputSign};
/// assert_eq!(Activation::Sigmoid.output_sign(), OutputSign::StrictlyPositive);
/// assert_eq!(Activation::Relu.output_sign(), OutputSign::NonNegative);
/// assert_eq!(Activation::Tanh.output_sign(), OutputSign::Any);
/// assert!(Activation::Relu.output_sign().is_one_signed());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum OutputSign {
    /// `f(x) > 0` for every real `x` (sigmoid, softplus).
    StrictlyPositive,
    /// `f(x) ≥ 0` for every real `x`, with zeros attained (ReLU, hard sigmoid).
    NonNegative,
    /// Outputs of both signs occur.
    Any,
}

impl OutputSign {
    /// Whether the next layer's per-example weight gradients are one-signed
    /// (strictly or weakly) when its inputs are this activation's outputs.
    pub fn is_one_signed(self) -> bool {
        !matches!(self, OutputSign::Any)
    }
}

/// The mean and variance of `f(z)` for `z ~ N(0, 1)`.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct GaussianMoments {
    /// `E[f(z)]`.
    pub mean: f64,
    /// `Var[f(z)] = E[(f(z) − E[f(z)])²]`.
    pub variance: f64,
}

impl GaussianMoments {
    /// `E[f(z)²] = Var + mean²`.
    pub fn second_moment(&self) -> f64 {
        self.variance + self.mean * self.mean
    }
}

/// GELU's minimum, at `x = −0.7517915246935645`, the root of
/// `Φ(x) + x·φ(x) = 0` (mpmath, 40 digits: −0.16997120747990366169...).
const GELU_MIN: f64 = -0.169_971_207_479_903_66;
/// The tanh approximation's minimum, at `x = −0.7524614220710163`.
const GELU_TANH_MIN: f64 = -0.170_040_750_571_254_05;
/// SiLU's minimum, at `x = −1.2784645427610738` (where it equals `x + 1`).
const SILU_MIN: f64 = -0.278_464_542_761_073_8;
/// Mish's minimum, at `x = −1.1924312145154952`.
const MISH_MIN: f64 = -0.308_843_413_017_250_4;
/// The largest slope of GELU's tanh approximation, at `x = 1.4185040087908284`
/// (the smallest is `1 −` this: `f(x) − f(−x) = x`).
const GELU_TANH_MAX_SLOPE: f64 = 1.128_993_068_658_771_8;
/// SiLU's largest slope, at `x = 2.3993572805154677` (smallest: `1 −` this).
const SILU_MAX_SLOPE: f64 = 1.099_839_320_128_867;
/// Mish's smallest slope, at `x = −2.2563763963607931`.
const MISH_MIN_SLOPE: f64 = -0.112_526_122_389_462_56;
/// Mish's largest slope, at `x = 1.4905711794854285`.
const MISH_MAX_SLOPE: f64 = 1.088_498_161_251_728;

impl Activation {
    /// The set of values `f` takes over the reals, with open or closed ends.
    ///
    /// For parameters that [`validate`](Self::validate) accepts. Leaky ReLU
    /// and ELU with `α = 0` are ReLU: `[0, ∞)`.
    pub fn output_range(self) -> Interval {
        use Bound::{Excluded, Included};
        match self {
            Activation::Identity => Interval::real_line(),
            Activation::Sigmoid => Interval::open(0.0, 1.0),
            Activation::Softplus(_) => Interval::starting_at(Excluded(0.0)),
            Activation::Tanh | Activation::Softsign => Interval::open(-1.0, 1.0),
            Activation::Relu => Interval::starting_at(Included(0.0)),
            Activation::LeakyRelu(a) | Activation::Elu(a) if a == 0.0 => {
                Interval::starting_at(Included(0.0))
            }
            Activation::LeakyRelu(_) => Interval::real_line(),
            Activation::Elu(a) => Interval::starting_at(Excluded(-a)),
            Activation::Selu => Interval::starting_at(Excluded(-SELU_LAMBDA * SELU_ALPHA)),
            Activation::Gelu => Interval::starting_at(Included(GELU_MIN)),
            Activation::GeluTanh => Interval::starting_at(Included(GELU_TANH_MIN)),
            Activation::Silu => Interval::starting_at(Included(SILU_MIN)),
            Activation::Mish => Interval::starting_at(Included(MISH_MIN)),
            Activation::HardTanh => Interval::closed(-1.0, 1.0),
            Activation::HardSigmoid => Interval::closed(0.0, 1.0),
            Activation::LecunTanh => Interval::open(-LECUN_TANH_SCALE, LECUN_TANH_SCALE),
            Activation::CentredSigmoid => Interval::open(-0.5, 0.5),
        }
    }

    /// The sign of every output, read from [`output_range`](Self::output_range):
    /// strictly positive when the range lies in `(0, ∞)`, non-negative when
    /// it starts at a closed 0, otherwise any sign.
    pub fn output_sign(self) -> OutputSign {
        match self.output_range().lower {
            Bound::Excluded(a) if a >= 0.0 => OutputSign::StrictlyPositive,
            Bound::Included(a) if a > 0.0 => OutputSign::StrictlyPositive,
            Bound::Included(0.0) => OutputSign::NonNegative,
            _ => OutputSign::Any,
        }
    }

    /// Whether the activation is zero-centred.
    ///
    /// **Criterion**: `f(0) = 0` and `f` is odd (`f(−x) = −f(x)` for every
    /// `x`). Then the output range is symmetric about 0 and `E[f(z)] = 0` for
    /// any input distribution symmetric about 0, so zero-mean inputs stay
    /// zero-mean and the next layer's inputs take both signs. Identity, tanh,
    /// softsign, hard tanh, LeCun's tanh and the centred sigmoid qualify.
    ///
    /// Leaky ReLU, ELU, SELU, GELU, SiLU and mish also satisfy `f(0) = 0`
    /// and produce negative outputs, but they are not odd: their outputs
    /// under `N(0, 1)` have a positive mean (leaky ReLU with α = 0.01:
    /// ≈ 0.395; SELU is the exception by construction, mean 0 from
    /// asymmetric tails). Use [`gaussian_moments`](Self::gaussian_moments)
    /// for the size of the offset.
    ///
    /// ```
    /// use gradsign::activation::Activation;
    /// assert!(Activation::Tanh.is_zero_centred());
    /// assert!(!Activation::Sigmoid.is_zero_centred());
    /// assert!(!Activation::LeakyRelu(0.01).is_zero_centred());
    /// assert!(Activation::LeakyRelu(1.0).is_zero_centred()); // the identity
    /// ```
    pub fn is_zero_centred(self) -> bool {
        match self {
            Activation::Identity
            | Activation::Tanh
            | Activation::Softsign
            | Activation::HardTanh
            | Activation::LecunTanh
            | Activation::CentredSigmoid => true,
            Activation::LeakyRelu(a) => a == 1.0,
            Activation::Sigmoid
            | Activation::Relu
            | Activation::Elu(_)
            | Activation::Selu
            | Activation::Gelu
            | Activation::GeluTanh
            | Activation::Silu
            | Activation::Softplus(_)
            | Activation::HardSigmoid
            | Activation::Mish => false,
        }
    }

    /// The set of values `f'` takes over the reals, using the op's own
    /// one-sided choice at a kink (ReLU: `f'(0) = 0`; hard tanh:
    /// `f'(±1) = 0`). A bound below 1 everywhere is what makes deep stacks of
    /// the activation shrink gradients (sigmoid: at most ¼).
    ///
    /// ```
    /// use gradsign::activation::{Activation, Interval};
    /// use std::ops::Bound;
    /// assert_eq!(
    ///     Activation::Sigmoid.derivative_range(),
    ///     Interval::new(Bound::Excluded(0.0), Bound::Included(0.25)),
    /// );
    /// assert_eq!(Activation::Relu.derivative_range(), Interval::closed(0.0, 1.0));
    /// ```
    pub fn derivative_range(self) -> Interval {
        use Bound::{Excluded, Included};
        let positive_up_to = |b: f64| Interval::new(Excluded(0.0), Included(b));
        match self {
            Activation::Identity => Interval::closed(1.0, 1.0),
            Activation::Sigmoid | Activation::CentredSigmoid => positive_up_to(0.25),
            Activation::Tanh | Activation::Softsign => positive_up_to(1.0),
            Activation::Relu | Activation::HardTanh => Interval::closed(0.0, 1.0),
            Activation::LeakyRelu(a) => Interval::closed(a.min(1.0), a.max(1.0)),
            Activation::Elu(0.0) => Interval::closed(0.0, 1.0),
            Activation::Elu(a) => positive_up_to(a.max(1.0)),
            Activation::Selu => positive_up_to(SELU_LAMBDA * SELU_ALPHA),
            Activation::Gelu => {
                // f'' = φ(x)(2 − x²): the extremes are at ±√2, and
                // f'(√2) = Φ(√2) + √2·φ(√2) = Φ(√2) + e⁻¹/√π; f'(−x) = 1 − f'(x).
                let top = 0.5 * libm::erfc(-1.0) + (-1.0f64).exp() / std::f64::consts::PI.sqrt();
                Interval::closed(1.0 - top, top)
            }
            Activation::GeluTanh => {
                Interval::closed(1.0 - GELU_TANH_MAX_SLOPE, GELU_TANH_MAX_SLOPE)
            }
            Activation::Silu => Interval::closed(1.0 - SILU_MAX_SLOPE, SILU_MAX_SLOPE),
            Activation::Mish => Interval::closed(MISH_MIN_SLOPE, MISH_MAX_SLOPE),
            Activation::Softplus(_) => Interval::open(0.0, 1.0),
            Activation::HardSigmoid => Interval::closed(0.0, 1.0 / 6.0),
            Activation::LecunTanh => positive_up_to(LECUN_TANH_SCALE * LECUN_TANH_GAIN),
        }
    }

    /// The mean and variance of `f(z)` for `z ~ N(0, 1)`: what a unit of a
    /// layer whose pre-activations are standard normal outputs on average,
    /// and how much it varies. A mean far from 0 is the offset `μ` that
    /// makes `E[a aᵀ] = Cov(a) + μμᵀ` ill-conditioned.
    ///
    /// Computed by composite Gauss–Legendre quadrature on `[−10, 10]` with
    /// every kink on a panel edge (accurate to about 10⁻¹⁴; see
    /// `src/activation/quadrature.rs`); the variance is integrated as
    /// `E[(f − mean)²]`, with no cancellation.
    ///
    /// ```
    /// use gradsign::activation::Activation;
    /// let m = Activation::Relu.gaussian_moments();
    /// // E[max(z, 0)] = 1/√(2π); Var = ½ − 1/(2π).
    /// assert!((m.mean - 0.3989423).abs() < 1e-6);
    /// assert!((m.variance - 0.3408451).abs() < 1e-6);
    /// ```
    pub fn gaussian_moments(self) -> GaussianMoments {
        let mean = normal_expectation(|z| self.value_at(z));
        let variance = normal_expectation(|z| {
            let d = self.value_at(z) - mean;
            d * d
        });
        GaussianMoments { mean, variance }
    }
}
