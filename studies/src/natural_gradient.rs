//! Example 07: gradient descent against natural gradient, on raw and on
//! centred inputs.
//!
//! Logistic regression with a bias on inputs that are outputs of sigmoid
//! units (positive). Centring is an affine reparametrisation:
//! `w·(x − μ) + b'` is `w·x + b` with `b = b' − w·μ`. Plain gradient
//! descent is not invariant under it, which is why centring speeds it up;
//! natural gradient (`θ ← θ − η F⁻¹∇L`, `F` the Fisher) is invariant, so from
//! the same starting function it makes the same predictions at every step
//! on raw and on centred inputs — it needs no centring, at the price of
//! forming and solving with the `P×P` Fisher.

use gradsign::activation::Activation;
use gradsign::curvature::natural::{Curvature, NaturalGradient};
use gradsign::curvature::spectrum::Spectrum;
use gradsign::curvature::{Likelihood, Objective};
use gradsign::data::Centering;
use gradsign::error::{Error, Result};
use gradsign::nn::{Linear, Module, VisitorMut};
use gradsign::tensor::Tensor;

/// The logistic sigmoid: the crate's one implementation.
fn sigmoid(x: f64) -> f64 {
    Activation::Sigmoid.value_at(x)
}

/// Settings of [`natural_gradient`].
#[derive(Clone, Debug, PartialEq)]
pub struct NaturalGradientConfig {
    /// Examples `B`.
    pub examples: usize,
    /// Input features `K` (the model has `K + 1` parameters).
    pub features: usize,
    /// Each input is `σ(u)` with `u ~ N(0, spread²)`.
    pub spread: f64,
    /// The teacher's weights are `N(0, teacher_scale²)`; labels are drawn
    /// from `Bernoulli(σ(w*·(x − μ)))`, so the optimum is finite.
    pub teacher_scale: f64,
    /// Gradient-descent steps, at `η = 1/λmax` of the Fisher at `θ = 0`.
    pub gd_steps: usize,
    /// Natural-gradient steps.
    pub ng_steps: usize,
    /// The natural-gradient step size (1 is Fisher scoring, which for
    /// logistic regression is Newton's method).
    pub ng_rate: f64,
    /// A run has converged once `L − L* ≤ tolerance·(L₀ − L*)`.
    pub tolerance: f64,
    /// The seed of inputs, teacher and labels.
    pub seed: u64,
}

impl Default for NaturalGradientConfig {
    fn default() -> Self {
        NaturalGradientConfig {
            examples: 400,
            features: 5,
            spread: 2.0,
            teacher_scale: 2.0,
            gd_steps: 1000,
            ng_steps: 12,
            ng_rate: 1.0,
            tolerance: 1e-6,
            seed: 11,
        }
    }
}

/// One optimiser on one kind of input.
#[derive(Clone, Debug, PartialEq)]
pub struct Trajectory {
    /// Whether the inputs were centred.
    pub centred: bool,
    /// Whether the steps were natural-gradient steps.
    pub natural: bool,
    /// The step size.
    pub learning_rate: f64,
    /// `κ` of the Fisher at `θ = 0`, `¼·E[x̃ x̃ᵀ]` with `x̃ = [x, 1]`.
    pub fisher_kappa: f64,
    /// The loss before each step and after the last.
    pub losses: Vec<f64>,
    /// The first step at which `L − L* ≤ tolerance·(L₀ − L*)`.
    pub steps_to_tolerance: Option<usize>,
    /// The predicted probabilities `σ(f)` on every example after each step
    /// (and before the first), flattened step after step.
    predictions: Vec<f64>,
}

impl Trajectory {
    /// The largest difference of predicted probabilities between this run
    /// and `other` at each step they both reached.
    pub fn prediction_gap(&self, other: &Trajectory, examples: usize) -> Vec<f64> {
        self.predictions
            .chunks_exact(examples)
            .zip(other.predictions.chunks_exact(examples))
            .map(|(a, b)| {
                a.iter()
                    .zip(b)
                    .map(|(p, q)| (p - q).abs())
                    .fold(0.0, f64::max)
            })
            .collect()
    }
}

/// What example 07 computes.
#[derive(Clone, Debug, PartialEq)]
pub struct NaturalGradientComparison {
    /// The settings.
    pub config: NaturalGradientConfig,
    /// The minimum loss `L*` (natural gradient run to convergence).
    pub optimum: f64,
    /// Gradient descent on raw inputs.
    pub gd_raw: Trajectory,
    /// Gradient descent on centred inputs.
    pub gd_centred: Trajectory,
    /// Natural gradient on raw inputs.
    pub ng_raw: Trajectory,
    /// Natural gradient on centred inputs.
    pub ng_centred: Trajectory,
}

impl NaturalGradientComparison {
    /// Per step, the largest gap between the raw and centred runs' predicted
    /// probabilities, for natural gradient (`natural`) or gradient descent.
    pub fn invariance_gap(&self, natural: bool) -> Vec<f64> {
        let (a, b) = if natural {
            (&self.ng_raw, &self.ng_centred)
        } else {
            (&self.gd_raw, &self.gd_centred)
        };
        a.prediction_gap(b, self.config.examples)
    }
}

/// `κ` of `¼·E[x̃ x̃ᵀ]`, the logistic Fisher at `θ = 0`.
fn fisher_kappa_at_zero(x: &Tensor<f64>) -> Result<f64> {
    let m = gradsign::curvature::spectrum::second_moment(x, true)?;
    Ok(Spectrum::of(&m)?.condition_number())
}

/// The predicted probabilities of logistic regression `model` on `x`.
fn probabilities(objective: &Objective<'_, f64, Linear<f64>>) -> Result<Vec<f64>> {
    Ok(objective
        .outputs()?
        .as_slice()
        .iter()
        .map(|&f| sigmoid(f))
        .collect())
}

fn trajectory(
    x: &Tensor<f64>,
    y: &Tensor<f64>,
    centred: bool,
    natural: bool,
    config: &NaturalGradientConfig,
) -> Result<Trajectory> {
    // Logistic regression with a bias: one dense layer.
    let k = config.features;
    let mut model = Linear::new(Tensor::zeros(&[1, k])?, Some(Tensor::zeros(&[1])?))?;
    let lik = Likelihood::Bernoulli;
    let fisher_kappa = fisher_kappa_at_zero(x)?;
    let (steps, learning_rate) = if natural {
        (config.ng_steps, config.ng_rate)
    } else {
        let f = Objective::new(&model, lik, x, y)?.fisher()?;
        (config.gd_steps, 1.0 / Spectrum::of(&f)?.largest())
    };
    let ng = NaturalGradient {
        learning_rate,
        damping: 0.0,
        curvature: Curvature::Fisher,
    };
    let start = Objective::new(&model, lik, x, y)?;
    let mut losses = vec![start.loss()?];
    let mut predictions = probabilities(&start)?;
    for _ in 0..steps {
        if natural {
            ng.step(&mut model, lik, x, y)?;
        } else {
            let g = Objective::new(&model, lik, x, y)?.gradient()?;
            let mut rest = g.as_slice();
            model.visit_mut(&mut VisitorMut::new(&mut |_, t| {
                let (head, tail) = rest.split_at(t.numel());
                rest = tail;
                for (v, d) in t.as_mut_slice().iter_mut().zip(head) {
                    *v -= learning_rate * d;
                }
                Ok(())
            }))?;
        }
        let now = Objective::new(&model, lik, x, y)?;
        losses.push(now.loss()?);
        predictions.extend(probabilities(&now)?);
    }
    Ok(Trajectory {
        centred,
        natural,
        learning_rate,
        fisher_kappa,
        losses,
        steps_to_tolerance: None,
        predictions,
    })
}

/// Gradient descent and natural gradient, each on raw and on centred
/// inputs, from the same starting function (`θ = 0`: every prediction ½).
///
/// ```
/// use gradsign_studies::natural_gradient::{natural_gradient, NaturalGradientConfig};
/// let c = natural_gradient(&NaturalGradientConfig { examples: 100, gd_steps: 50, ..Default::default() })?;
/// // Natural gradient is affine invariant: the same predictions either way.
/// assert!(c.invariance_gap(true).iter().all(|&g| g < 1e-8));
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidArgument`] for fewer examples than parameters, no
/// feature, a non-positive spread, teacher scale, rate or tolerance;
/// [`Error::NotPositiveDefinite`] if a Fisher matrix is singular.
pub fn natural_gradient(config: &NaturalGradientConfig) -> Result<NaturalGradientComparison> {
    let positive = |v: f64| v > 0.0 && v.is_finite();
    if config.features == 0
        || config.examples <= config.features + 1
        || ![
            config.spread,
            config.teacher_scale,
            config.ng_rate,
            config.tolerance,
        ]
        .into_iter()
        .all(positive)
    {
        return Err(Error::InvalidArgument {
            op: "natural_gradient",
            message: format!(
                "needs more examples than parameters and positive scales, got {config:?}"
            ),
        });
    }
    let (b, k) = (config.examples, config.features);
    let x = Tensor::rand_normal(&[b, k], 0.0, config.spread, config.seed)?.map(sigmoid);
    let centring = Centering::fit(&x)?;
    let xc = centring.transform(&x)?;
    let teacher = Tensor::rand_normal(&[k], 0.0, config.teacher_scale, config.seed ^ 0x7eac)?;
    let coins = Tensor::rand_uniform(&[b], 0.0, 1.0, config.seed ^ 0xc014)?;
    let labels: Vec<f64> = xc
        .as_slice()
        .chunks_exact(k)
        .zip(coins.as_slice())
        .map(|(row, &u)| {
            let z: f64 = row.iter().zip(teacher.as_slice()).map(|(a, w)| a * w).sum();
            f64::from(u < sigmoid(z))
        })
        .collect();
    let y = Tensor::from_vec(labels, &[b, 1])?;

    let mut gd_raw = trajectory(&x, &y, false, false, config)?;
    let mut gd_centred = trajectory(&xc, &y, true, false, config)?;
    let mut ng_raw = trajectory(&x, &y, false, true, config)?;
    let mut ng_centred = trajectory(&xc, &y, true, true, config)?;
    // Newton's method converges quadratically: its last loss is L* to
    // rounding, and both parametrisations reach the same minimum.
    let optimum = ng_raw
        .losses
        .iter()
        .chain(&ng_centred.losses)
        .chain(&gd_raw.losses)
        .chain(&gd_centred.losses)
        .copied()
        .fold(f64::INFINITY, f64::min);
    for t in [&mut gd_raw, &mut gd_centred, &mut ng_raw, &mut ng_centred] {
        let start = t.losses[0] - optimum;
        t.steps_to_tolerance = t
            .losses
            .iter()
            .position(|&l| l - optimum <= config.tolerance * start);
    }
    Ok(NaturalGradientComparison {
        config: config.clone(),
        optimum,
        gd_raw,
        gd_centred,
        ng_raw,
        ng_centred,
    })
}
