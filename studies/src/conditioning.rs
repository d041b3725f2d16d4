//! Example 05: the curvature behind the zig-zag. For a linear unit under
//! squared loss the Hessian is `E[a aᵀ] = Cov(a) + μμᵀ`; for `a ~ U(0, 1)ⁿ`
//! that is `I/12 + 11ᵀ/4`, with condition number `κ = 3n + 1`, against 1
//! once the inputs are centred. Gradient descent at `η = 1/λmax` shrinks
//! the error along eigenvalue `λ` by `1 − λ/λmax` per step, so it needs
//! about `κ·ln(1/tol)` steps; at `1/λmax < η < 2/λmax` the error along the
//! top eigenvector is multiplied by `1 − ηλmax < 0`: it flips sign every
//! step, which is the zig-zag seen along one direction.

use gradsign::autodiff::Tape;
use gradsign::curvature::spectrum::{
    MomentSpectrum, Spectrum, covariance, second_moment, uniform_second_moment,
};
use gradsign::data::Centering;
use gradsign::dynamics::TrajectoryRecorder;
use gradsign::error::{Error, Result};
use gradsign::loss::{Reduction, mse};
use gradsign::nn::Linear;
use gradsign::optim::{Optimizer, Sgd};
use gradsign::tensor::Tensor;

/// Settings of [`conditioning`].
#[derive(Clone, Debug, PartialEq)]
pub struct ConditioningConfig {
    /// The input widths `n` of the table.
    pub widths: Vec<usize>,
    /// Examples `B` per data set (`a ~ U(0, 1)ⁿ`).
    pub examples: usize,
    /// Gradient descent stops once `‖w − w*‖ ≤ tolerance·‖w₀ − w*‖`.
    pub tolerance: f64,
    /// And after this many steps in any case.
    pub max_steps: usize,
    /// The width whose spectra and sign flips are plotted.
    pub flip_width: usize,
    /// The step sizes of the flip traces, as multiples `r` of `1/λmax`
    /// (`η = r/λmax`).
    pub flip_rates: Vec<f64>,
    /// Steps recorded per flip trace.
    pub flip_steps: usize,
    /// The seed of the inputs and of `w*`.
    pub seed: u64,
}

impl Default for ConditioningConfig {
    fn default() -> Self {
        ConditioningConfig {
            widths: vec![2, 5, 10, 20, 50],
            examples: 2000,
            tolerance: 0.01,
            max_steps: 20_000,
            flip_width: 10,
            flip_rates: vec![0.5, 1.8],
            flip_steps: 30,
            seed: 5,
        }
    }
}

/// One input width: spectra and gradient-descent step counts.
#[derive(Clone, Debug, PartialEq)]
pub struct WidthRow {
    /// The width `n`.
    pub width: usize,
    /// `κ` of the population matrix `I/12 + 11ᵀ/4`: `3n + 1`.
    pub population_kappa: f64,
    /// The sample `E[a aᵀ]`.
    pub raw: MomentSpectrum,
    /// The sample `Cov(a)`: the second moment of the centred inputs.
    pub centred: MomentSpectrum,
    /// Full-batch gradient descent at `η = 1/λmax` on the raw inputs: steps
    /// to the tolerance.
    pub raw_steps: Option<usize>,
    /// The same on the centred inputs (their own `λmax`).
    pub centred_steps: Option<usize>,
    /// `⌈ln(tol)/ln(1 − 1/κ)⌉` for the raw sample's `κ`: an upper bound on
    /// `raw_steps`, since every error component shrinks at least by
    /// `1 − 1/κ` per step.
    pub raw_bound: f64,
}

/// The error along the top eigenvector over gradient-descent steps at one
/// step size.
#[derive(Clone, Debug, PartialEq)]
pub struct FlipTrace {
    /// `r` in `η = r/λmax`.
    pub rate: f64,
    /// `(w_t − w*)·v₁` for `t = 0 … flip_steps`.
    pub components: Vec<f64>,
    /// How many times it changed sign.
    pub flips: usize,
    /// The last per-step ratio `c_t / c_{t−1}`: `1 − r` exactly, in exact
    /// arithmetic.
    pub ratio: Option<f64>,
}

/// What example 05 computes.
#[derive(Clone, Debug, PartialEq)]
pub struct Conditioning {
    /// The settings.
    pub config: ConditioningConfig,
    /// One row per width.
    pub rows: Vec<WidthRow>,
    /// The flip traces at `flip_width`, one per rate.
    pub flips: Vec<FlipTrace>,
}

/// Full-batch gradient descent on `½·mean (w·a − y)²` with `y = w*·a`, from
/// `w = 0`, through the tape and the crate's [`Sgd`]: the gradient is exactly
/// `E[a aᵀ](w − w*)`. Calls `each` with the weights before every step and
/// after the last; returns the step at which the tolerance was met.
fn descend(
    a: &Tensor<f64>,
    w_star: &Tensor<f64>,
    eta: f64,
    steps: usize,
    tolerance: Option<f64>,
    mut each: impl FnMut(&Tensor<f64>) -> Result<()>,
) -> Result<Option<usize>> {
    let (b, n) = (a.dims()[0], a.dims()[1]);
    let ws = w_star.as_slice();
    let y: Vec<f64> = a
        .as_slice()
        .chunks_exact(n)
        .map(|row| row.iter().zip(ws).map(|(x, w)| x * w).sum())
        .collect();
    // A linear model is one dense layer: a module on its own.
    let mut mlp = Linear::new(Tensor::zeros(&[1, n])?, None)?;
    let mut opt = Sgd::new(eta);
    let mut tape = Tape::new();
    let norm0 = ws.iter().map(|w| w * w).sum::<f64>().sqrt();
    for step in 0..=steps {
        let w = &mlp.weight;
        each(w)?;
        let err = w
            .as_slice()
            .iter()
            .zip(ws)
            .map(|(w, s)| (w - s).powi(2))
            .sum::<f64>()
            .sqrt();
        if tolerance.is_some_and(|t| err <= t * norm0) {
            return Ok(Some(step));
        }
        if step == steps || !err.is_finite() {
            break;
        }
        tape.clear();
        let x = tape.constant(a);
        let t = tape.constant_from_slice(&y, &[b, 1])?;
        let (out, trace) = gradsign::nn::forward(&mlp, &tape, x)?;
        let loss = mse(out, t, Reduction::Mean)? * 0.5;
        let grads = loss.backward()?;
        opt.step(&mut mlp, &trace, &grads)?;
    }
    Ok(None)
}

/// Spectra, step counts and sign flips for inputs `U(0, 1)ⁿ`, raw and
/// centred.
///
/// ```
/// use gradsign_studies::conditioning::{conditioning, ConditioningConfig};
/// let c = conditioning(&ConditioningConfig { widths: vec![4], examples: 400, flip_width: 4, ..Default::default() })?;
/// assert_eq!(c.rows[0].population_kappa.round(), 13.0); // 3n + 1
/// assert!(c.rows[0].centred_steps < c.rows[0].raw_steps);
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidArgument`] for no width, a width of 0, fewer examples
/// than the largest width (the sample covariance would be singular), a
/// tolerance outside `(0, 1)`, or a flip rate outside `(0, 2)`.
pub fn conditioning(config: &ConditioningConfig) -> Result<Conditioning> {
    let widest = config
        .widths
        .iter()
        .copied()
        .chain([config.flip_width])
        .max()
        .unwrap_or(0);
    let bad_rate = config.flip_rates.iter().any(|&r| !(r > 0.0 && r < 2.0));
    if config.widths.is_empty()
        || config.widths.contains(&0)
        || config.flip_width == 0
        || config.examples <= widest
        || !(config.tolerance > 0.0 && config.tolerance < 1.0)
        || bad_rate
    {
        return Err(Error::InvalidArgument {
            op: "conditioning",
            message: format!(
                "needs widths ≥ 1, more examples than the widest ({widest}), a tolerance in (0, 1) and flip rates in (0, 2); got {config:?}"
            ),
        });
    }
    let data = |n: usize| -> Result<(Tensor<f64>, Tensor<f64>, Tensor<f64>)> {
        let seed = config.seed.wrapping_mul(1000).wrapping_add(n as u64);
        let a = Tensor::rand_uniform(&[config.examples, n], 0.0, 1.0, seed)?;
        let centred = Centering::fit(&a)?.transform(&a)?;
        let w_star = Tensor::rand_normal(&[1, n], 0.0, 1.0, seed ^ 0xface)?;
        Ok((a, centred, w_star))
    };
    let mut rows = Vec::with_capacity(config.widths.len());
    for &n in &config.widths {
        let (a, centred, w_star) = data(n)?;
        let raw = MomentSpectrum::of(&second_moment(&a, false)?)?;
        let cov = MomentSpectrum::of(&covariance(&a, false)?)?;
        let top = |s: &MomentSpectrum| s.eigenvalues.last().copied().unwrap_or(f64::NAN);
        let raw_steps = descend(
            &a,
            &w_star,
            1.0 / top(&raw),
            config.max_steps,
            Some(config.tolerance),
            |_| Ok(()),
        )?;
        let centred_steps = descend(
            &centred,
            &w_star,
            1.0 / top(&cov),
            config.max_steps,
            Some(config.tolerance),
            |_| Ok(()),
        )?;
        rows.push(WidthRow {
            width: n,
            population_kappa: Spectrum::of(&uniform_second_moment(n, false)?)?.condition_number(),
            raw_bound: (config.tolerance.ln() / (1.0 - 1.0 / raw.condition_number).ln()).ceil(),
            raw,
            centred: cov,
            raw_steps,
            centred_steps,
        });
    }

    let (a, _, w_star) = data(config.flip_width)?;
    let spectrum = Spectrum::of(&second_moment(&a, false)?)?;
    let mut flips = Vec::with_capacity(config.flip_rates.len());
    for &r in &config.flip_rates {
        let mut rec = TrajectoryRecorder::new(1, config.flip_width, false)?.track_error_along(
            &spectrum.top_eigenvector(),
            &w_star,
            None,
        )?;
        let mut components = Vec::with_capacity(config.flip_steps + 1);
        descend(
            &a,
            &w_star,
            r / spectrum.largest(),
            config.flip_steps,
            None,
            |w| {
                rec.observe(w, None, None)?;
                components.push(rec.component(0).unwrap_or(f64::NAN));
                Ok(())
            },
        )?;
        flips.push(FlipTrace {
            rate: r,
            components,
            flips: rec.component_flips(0),
            ratio: rec.component_ratio(0),
        });
    }
    Ok(Conditioning {
        config: config.clone(),
        rows,
        flips,
    })
}
