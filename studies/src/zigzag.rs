//! Example 02: the zig-zag. One linear neuron with two weights learns a
//! target `w*` that needs one weight up and the other down, by plain
//! per-example SGD, once on positive inputs (outputs of sigmoid units) and
//! once on the same inputs centred.
//!
//! With positive inputs every update `u = −η·(e·x)·x` (`e = w − w*`) is a
//! positive multiple of `x` or of `−x`: it points into quadrant I or III
//! around the current point, never II or IV, and the direction `w*` asks
//! for lies in II or IV. The path staircases. In the language of
//! curvature: `E[x xᵀ] = Cov(x) + μμᵀ` has one large eigenvalue along the
//! mean `μ`; the step size is capped by it, and the error along the small
//! eigenvalue (the direction `w*` lies in) creeps. Centred inputs remove
//! the large eigenvalue.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use gradsign::autodiff::Tape;
use gradsign::curvature::spectrum::{Spectrum, second_moment};
use gradsign::data::Centering;
use gradsign::dynamics::TrajectoryRecorder;
use gradsign::error::{Error, Result};
use gradsign::nn::Linear;
use gradsign::optim::{Optimizer, Sgd};
use gradsign::tensor::Tensor;

/// Which inputs a run learns from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inputs {
    /// `x = σ(u)`: every component in `(0, 1)`.
    Positive,
    /// `x − x̄`, the same points with the data set's mean removed.
    Centred,
}

/// Settings of [`zigzag`].
#[derive(Clone, Debug, PartialEq)]
pub struct ZigzagConfig {
    /// The number of examples `n`.
    pub examples: usize,
    /// The spread `s` of the sigmoid units' pre-activations: each input is
    /// `σ(u)` with `u ~ N(0, s²)`.
    pub spread: f64,
    /// The initial weights `w₀`.
    pub start: [f64; 2],
    /// The target weights `w*`; every example's target is `y = w*·x`, so
    /// the problem is realisable and SGD converges to `w*` exactly.
    pub target: [f64; 2],
    /// `c` in the step size `η = c / mean‖x‖²` (`mean‖x‖² = tr E[x xᵀ]`,
    /// so `η·λmax ≤ c`). The same rule is applied to each kind of input.
    pub step_scale: f64,
    /// Stop once `‖w − w*‖ ≤ tolerance·‖w₀ − w*‖`.
    pub tolerance: f64,
    /// Stop after this many steps in any case.
    pub max_steps: usize,
    /// The seed of the data and of the order examples are drawn in.
    pub seed: u64,
    /// Further step scales `c` at which to count the steps of both kinds of
    /// input (the table's sweep), so that no single choice of `c` decides
    /// the comparison.
    pub sweep: Vec<f64>,
    /// The number of example orders (seeds of the draw) whose median step
    /// count each sweep entry reports: one order is one noisy sample.
    pub sweep_orders: usize,
}

impl Default for ZigzagConfig {
    fn default() -> Self {
        ZigzagConfig {
            examples: 256,
            spread: 1.0,
            start: [-0.5, 1.0],
            target: [1.0, -0.5],
            step_scale: 0.25,
            tolerance: 0.01,
            max_steps: 5000,
            seed: 7,
            sweep: vec![0.25, 0.5, 1.0, 1.5, 2.0],
            sweep_orders: 11,
        }
    }
}

/// One SGD run.
#[derive(Clone, Debug, PartialEq)]
pub struct ZigzagRun {
    /// Positive or centred inputs.
    pub inputs: Inputs,
    /// The step size `η`.
    pub learning_rate: f64,
    /// `C = E[x xᵀ]` over the data set (row-major 2 × 2): the Hessian of the
    /// full-data loss `½·mean (w·x − y)²`.
    pub second_moment: [f64; 4],
    /// The eigenvalues of `C`, largest first.
    pub eigenvalues: [f64; 2],
    /// The unit eigenvector of the largest eigenvalue (signed so that its
    /// components sum to a non-negative number).
    pub top_eigenvector: [f64; 2],
    /// The weights before each step and after the last: `w₀ … w_T`.
    pub path: Vec<[f64; 2]>,
    /// The full-data loss at each point of the path.
    pub loss: Vec<f64>,
    /// `(w_t − w*)·v₁` at each point of the path (`v₁` the top eigenvector).
    pub error_along_top: Vec<f64>,
    /// The first step count at which the tolerance was met, if it was.
    pub steps_to_tolerance: Option<usize>,
    /// `‖w_T − w₀‖ / Σ_t ‖u_t‖`: 1 for a straight path.
    pub path_efficiency: f64,
    /// The share of updates `u_t` that point into quadrant I or III
    /// (`u_t[0]·u_t[1] > 0`).
    pub quadrant_share: f64,
    /// The mean cosine between consecutive updates.
    pub mean_cosine: f64,
    /// The share of consecutive steps whose error signal `δ = w·x − y`
    /// changed sign.
    pub delta_flip_rate: f64,
    /// How often `(w_t − w*)·v₁` changed sign between consecutive points.
    pub top_error_flips: usize,
}

impl ZigzagRun {
    /// The condition number `λmax / λmin` of `E[x xᵀ]`.
    pub fn condition_number(&self) -> f64 {
        self.eigenvalues[0] / self.eigenvalues[1]
    }

    /// The number of steps taken.
    pub fn steps(&self) -> usize {
        self.path.len() - 1
    }

    /// The full-data loss `½(w − w*)ᵀ C (w − w*)` at `w`, for a run towards
    /// `target`.
    pub fn loss_at(&self, w: [f64; 2], target: [f64; 2]) -> f64 {
        quadratic(&self.second_moment, [w[0] - target[0], w[1] - target[1]]) / 2.0
    }

    /// The contour `{w : loss = level}` around `target`, an ellipse, as
    /// `points` points (the first repeated at the end, to close it).
    ///
    /// `w = w* + √(2·level)·Σᵢ vᵢ (cos θ, sin θ)ᵢ / √λᵢ`.
    pub fn contour(&self, target: [f64; 2], level: f64, points: usize) -> Vec<[f64; 2]> {
        let v1 = self.top_eigenvector;
        let v2 = [-v1[1], v1[0]];
        let r = (2.0 * level).sqrt();
        let (a, b) = (
            r / self.eigenvalues[0].sqrt(),
            r / self.eigenvalues[1].sqrt(),
        );
        (0..=points)
            .map(|k| {
                let t = std::f64::consts::TAU * k as f64 / points.max(1) as f64;
                let (c, s) = (a * t.cos(), b * t.sin());
                [
                    target[0] + c * v1[0] + s * v2[0],
                    target[1] + c * v1[1] + s * v2[1],
                ]
            })
            .collect()
    }
}

/// What example 02 computes.
#[derive(Clone, Debug, PartialEq)]
pub struct Zigzag {
    /// The settings.
    pub config: ZigzagConfig,
    /// The mean input `x̄` (every component positive).
    pub input_mean: [f64; 2],
    /// Positive inputs, `η = c / mean‖x‖²`.
    pub positive: ZigzagRun,
    /// Centred inputs, `η = c / mean‖x − x̄‖²`.
    pub centred: ZigzagRun,
    /// Centred inputs at the positive run's `η`: the control that separates
    /// the direction of the steps from their size.
    pub centred_same_rate: ZigzagRun,
    /// Steps to the tolerance at each of the configuration's sweep scales.
    pub sweep: Vec<SweepRow>,
}

/// Steps to the tolerance at one step scale `c`, for both kinds of input
/// (each with `η = c / mean‖x‖²` of its own data): the median over
/// `sweep_orders` example orders, counting a run that did not get there
/// within `max_steps` (too small a step, or divergence) as `max_steps + 1`.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepRow {
    /// The step scale `c`.
    pub step_scale: f64,
    /// Median steps with positive inputs.
    pub positive: usize,
    /// Median steps with centred inputs.
    pub centred: usize,
}

/// `eᵀ M e` for a row-major 2 × 2 `M`.
fn quadratic(m: &[f64; 4], e: [f64; 2]) -> f64 {
    e[0] * (m[0] * e[0] + m[1] * e[1]) + e[1] * (m[2] * e[0] + m[3] * e[1])
}

fn norm(v: [f64; 2]) -> f64 {
    (v[0] * v[0] + v[1] * v[1]).sqrt()
}

/// `E[x xᵀ]` of an `(n, 2)` batch, row-major.
fn moment(x: &Tensor<f64>) -> Result<[f64; 4]> {
    let m = second_moment(x, false)?;
    let s = m.as_slice();
    Ok([s[0], s[1], s[2], s[3]])
}

/// Runs plain per-example SGD on `½(w·x − y)²` through the tape, with the
/// crate's [`Sgd`], from `config.start`, drawing one example per step.
fn run(
    inputs: Inputs,
    x: &Tensor<f64>,
    learning_rate: f64,
    config: &ZigzagConfig,
    order: u64,
) -> Result<ZigzagRun> {
    let m = second_moment(x, false)?;
    let c = [
        m.as_slice()[0],
        m.as_slice()[1],
        m.as_slice()[2],
        m.as_slice()[3],
    ];
    let spectrum = Spectrum::of(&m)?;
    let eigenvalues = [spectrum.largest(), spectrum.smallest()];
    let v1 = spectrum.top_eigenvector();
    let top = [v1[0], v1[1]];
    let w_star = config.target;
    let targets: Vec<f64> = x
        .as_slice()
        .chunks_exact(2)
        .map(|r| w_star[0] * r[0] + w_star[1] * r[1])
        .collect();
    let start = Tensor::from_vec(config.start.to_vec(), &[1, 2])?;
    let mut recorder = TrajectoryRecorder::new(1, 2, false)?.track_error_along(
        &top,
        &Tensor::from_vec(w_star.to_vec(), &[1, 2])?,
        None,
    )?;
    recorder.observe(&start, None, None)?;
    // One linear neuron: a dense layer is a module on its own.
    let mut mlp = Linear::new(start, None)?;
    let mut opt = Sgd::new(learning_rate);
    let mut tape = Tape::<f64>::new();
    // The same example order for every run of one configuration and order.
    let mut rng = ChaCha8Rng::seed_from_u64((config.seed ^ 0x005e_ed0f_0de5).wrapping_add(order));
    let n = targets.len();

    let mut path = vec![config.start];
    let mut loss = Vec::new();
    let mut error_along_top = Vec::new();
    let mut steps_to_tolerance = None;
    let initial = norm([config.start[0] - w_star[0], config.start[1] - w_star[1]]);
    let mut w = config.start;
    for step in 0..=config.max_steps {
        let e = [w[0] - w_star[0], w[1] - w_star[1]];
        loss.push(quadratic(&c, e) / 2.0);
        let along = recorder.component(0).unwrap_or(f64::NAN);
        error_along_top.push(along);
        if norm(e) <= config.tolerance * initial {
            steps_to_tolerance = Some(step);
            break;
        }
        // A diverged run stops too: it will not come back.
        if step == config.max_steps || !along.is_finite() {
            break;
        }
        let i = rng.random_range(0..n);
        tape.clear();
        let xi = tape.constant_from_slice(&x.as_slice()[2 * i..2 * i + 2], &[1, 2])?;
        let yi = tape.constant_scalar(targets[i]);
        let (out, trace) = gradsign::nn::forward(&mlp, &tape, xi)?;
        let l = (out.sum() - yi).square() * 0.5;
        let grads = l.backward()?;
        let delta = grads.tensor(trace.layers()[0].pre_activation)?;
        opt.step(&mut mlp, &trace, &grads)?;
        let weight = &mlp.weight;
        if !weight.all_finite() {
            break;
        }
        recorder.observe(weight, None, Some(&delta))?;
        let ws = weight.as_slice();
        w = [ws[0], ws[1]];
        path.push(w);
    }
    let neuron = recorder.neuron(0);
    Ok(ZigzagRun {
        inputs,
        learning_rate,
        second_moment: c,
        eigenvalues,
        top_eigenvector: top,
        path,
        loss,
        error_along_top,
        steps_to_tolerance,
        path_efficiency: neuron.path_efficiency.unwrap_or(1.0),
        quadrant_share: neuron.orthants.one_signed_share().unwrap_or(0.0),
        mean_cosine: neuron.mean_cosine.unwrap_or(0.0),
        delta_flip_rate: neuron.delta_flip_rate.unwrap_or(0.0),
        top_error_flips: recorder.component_flips(0),
    })
}

/// Runs the three SGD runs of example 02 on one seeded data set: positive
/// inputs and centred inputs, each with `η = c / mean‖x‖²` of its own data,
/// and centred inputs at the positive run's `η`.
///
/// ```
/// use gradsign_studies::zigzag::{zigzag, ZigzagConfig};
/// let r = zigzag(&ZigzagConfig { examples: 64, ..ZigzagConfig::default() })?;
/// assert_eq!(r.positive.quadrant_share, 1.0); // every step in quadrant I or III
/// assert!(r.centred.steps() < r.positive.steps());
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidArgument`] for fewer than two examples, a non-positive
/// or non-finite spread, step scale or tolerance, `w₀ = w*`, or a
/// non-finite start or target.
pub fn zigzag(config: &ZigzagConfig) -> Result<Zigzag> {
    let bad = |message: String| Error::InvalidArgument {
        op: "zigzag",
        message,
    };
    if config.examples < 2 {
        return Err(bad(format!(
            "needs at least 2 examples, got {}",
            config.examples
        )));
    }
    for (what, v) in [
        ("spread", config.spread),
        ("step scale", config.step_scale),
        ("tolerance", config.tolerance),
    ] {
        if !(v > 0.0 && v.is_finite()) {
            return Err(bad(format!(
                "the {what} must be positive and finite, got {v}"
            )));
        }
    }
    if !config
        .start
        .iter()
        .chain(&config.target)
        .all(|v| v.is_finite())
        || config.start == config.target
    {
        return Err(bad(format!(
            "the start {:?} and target {:?} must be finite and differ",
            config.start, config.target
        )));
    }
    let positive = Tensor::rand_normal(&[config.examples, 2], 0.0, config.spread, config.seed)?
        .map(|u| 1.0 / (1.0 + (-u).exp()));
    let centring = Centering::fit(&positive)?;
    let centred = centring.transform(&positive)?;
    let rate = |x: &Tensor<f64>| -> Result<f64> {
        let c = moment(x)?;
        Ok(config.step_scale / (c[0] + c[3]))
    };
    let eta_positive = rate(&positive)?;
    let mean = centring.mean();
    let mut sweep = Vec::with_capacity(config.sweep.len());
    for &c in &config.sweep {
        if !(c > 0.0 && c.is_finite()) {
            return Err(bad(format!(
                "a sweep scale must be positive and finite, got {c}"
            )));
        }
        let at = |x: &Tensor<f64>, inputs| -> Result<usize> {
            let eta = rate(x)? * c / config.step_scale;
            let mut steps = (0..config.sweep_orders.max(1) as u64)
                .map(|order| {
                    let r = run(inputs, x, eta, config, order)?;
                    Ok(r.steps_to_tolerance.unwrap_or(config.max_steps + 1))
                })
                .collect::<Result<Vec<usize>>>()?;
            steps.sort_unstable();
            Ok(steps[steps.len() / 2])
        };
        sweep.push(SweepRow {
            step_scale: c,
            positive: at(&positive, Inputs::Positive)?,
            centred: at(&centred, Inputs::Centred)?,
        });
    }
    Ok(Zigzag {
        config: config.clone(),
        input_mean: [mean[0], mean[1]],
        positive: run(Inputs::Positive, &positive, eta_positive, config, 0)?,
        centred: run(Inputs::Centred, &centred, rate(&centred)?, config, 0)?,
        centred_same_rate: run(Inputs::Centred, &centred, eta_positive, config, 0)?,
        sweep,
    })
}
