//! Example 06: does a minibatch remove the effect? Per-example coherence
//! is a property of each example's inputs: with `a > 0`, every example's
//! weight-gradient row is one-signed, whatever the batch size. The batch row
//! `G_j = Σ_n δ_nj a_n` mixes signs as the batch grows, but for
//! non-centred inputs and zero-mean `δ` its coherence does not go to the
//! centred value: for large `B`, `G` is Gaussian with covariance
//! `B·E[a aᵀ]`, and for `a ~ U(0, 1)^K` the correlation of that matrix is
//! `ρ = (1/4)/(1/12 + 1/4) = 3/4`, so `G` lies in the all-positive or
//! all-negative orthant with probability
//!
//! `P_K(ρ) = 2∫ φ(z) Φ(z·√(ρ/(1 − ρ)))^K dz`
//!
//! (0.770 for K = 2, 0.400 for K = 10, 0.19 for K = 64), against
//! `2^{1−K}` for centred inputs (ρ = 0).

use gradsign::analysis::GradientSignAnalyzer;
use gradsign::error::{Error, Result};
use gradsign::tensor::Tensor;

/// Settings of [`batch_size`].
#[derive(Clone, Debug, PartialEq)]
pub struct BatchSizeConfig {
    /// The input widths `K`.
    pub widths: Vec<usize>,
    /// The batch sizes `B`.
    pub batch_sizes: Vec<usize>,
    /// Neurons `J` per trial (each an independent `δ` column).
    pub neurons: usize,
    /// Independent batches per point; each point averages
    /// `trials × neurons` batch rows.
    pub trials: usize,
    /// The seed.
    pub seed: u64,
}

impl Default for BatchSizeConfig {
    fn default() -> Self {
        BatchSizeConfig {
            widths: vec![2, 10, 64],
            batch_sizes: vec![1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
            neurons: 256,
            trials: 12,
            seed: 6,
        }
    }
}

/// One batch size for one width.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchPoint {
    /// The batch size `B`.
    pub batch: usize,
    /// Positive inputs `U(0, 1)^K`: the share of per-example rows that are
    /// one-signed (1, by the theorem).
    pub positive_per_example: f64,
    /// Positive inputs: the share of batch rows that are one-signed.
    pub positive_batch: f64,
    /// Centred inputs `U(−½, ½)^K`: per-example share (`2^{1−K}` expected).
    pub centred_per_example: f64,
    /// Centred inputs: batch share.
    pub centred_batch: f64,
}

/// One width: its limits and the points.
#[derive(Clone, Debug, PartialEq)]
pub struct WidthCurve {
    /// The width `K`.
    pub width: usize,
    /// `P_K(3/4)`: the large-batch limit for `U(0, 1)^K` inputs.
    pub positive_limit: f64,
    /// `P_K(0) = 2^{1−K}`: the limit (and the per-example value) for
    /// centred inputs.
    pub centred_limit: f64,
    /// One point per batch size.
    pub points: Vec<BatchPoint>,
}

/// What example 06 computes.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchSize {
    /// The settings.
    pub config: BatchSizeConfig,
    /// Batch rows per point (`trials × neurons`).
    pub rows_per_point: usize,
    /// One curve per width.
    pub curves: Vec<WidthCurve>,
}

/// `Φ(x)`, the standard normal distribution function.
fn normal_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// The probability that a zero-mean Gaussian vector of `k` equicorrelated
/// components (correlation `ρ ∈ [0, 1)`) lies in the all-positive or the
/// all-negative orthant:
///
/// `P_K(ρ) = 2∫ φ(z) Φ(z·√(ρ/(1 − ρ)))^K dz`
///
/// (write each component as `√ρ·Z + √(1 − ρ)·E_i`; given `Z`, the `E_i` are
/// independent). Composite Simpson's rule on `[−12, 12]` with 4,000
/// intervals: the integrand is smooth and its tails are below `10⁻³¹`.
///
/// ```
/// use gradsign_studies::batch_size::two_orthant_probability;
/// assert!((two_orthant_probability(2, 0.75) - 0.76995).abs() < 1e-5);
/// assert!((two_orthant_probability(10, 0.0) - 2f64.powi(-9)).abs() < 1e-12);
/// ```
pub fn two_orthant_probability(k: usize, rho: f64) -> f64 {
    let c = (rho / (1.0 - rho)).sqrt();
    let (lo, hi, n) = (-12.0f64, 12.0f64, 4000);
    let h = (hi - lo) / n as f64;
    let f = |z: f64| {
        let phi = (-0.5 * z * z).exp() / (std::f64::consts::TAU).sqrt();
        phi * normal_cdf(c * z).powi(k as i32)
    };
    let mut s = f(lo) + f(hi);
    for i in 1..n {
        let w = if i % 2 == 1 { 4.0 } else { 2.0 };
        s += w * f(lo + i as f64 * h);
    }
    2.0 * s * h / 3.0
}

/// Per-example and per-batch coherence of weight-gradient rows (no bias)
/// as the batch grows, for `U(0, 1)^K` and `U(−½, ½)^K` inputs and
/// independent `N(0, 1)` deltas, measured with the
/// [`GradientSignAnalyzer`].
///
/// ```
/// use gradsign_studies::batch_size::{batch_size, BatchSizeConfig};
/// let r = batch_size(&BatchSizeConfig { widths: vec![2], batch_sizes: vec![1, 64], neurons: 64, trials: 2, seed: 1 })?;
/// let p = &r.curves[0].points;
/// assert_eq!(p[0].positive_batch, 1.0);         // B = 1: the batch row is the example's row
/// assert_eq!(p[1].positive_per_example, 1.0);   // per example: always one-signed
/// assert!(p[1].positive_batch < 1.0);           // summed over 64 examples: some mix
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidArgument`] for an empty list, a zero width, batch size,
/// neuron or trial count.
pub fn batch_size(config: &BatchSizeConfig) -> Result<BatchSize> {
    if config.widths.is_empty()
        || config.batch_sizes.is_empty()
        || config.widths.contains(&0)
        || config.batch_sizes.contains(&0)
        || config.neurons == 0
        || config.trials == 0
    {
        return Err(Error::InvalidArgument {
            op: "batch_size",
            message: format!("needs non-empty lists and positive sizes, got {config:?}"),
        });
    }
    let analyzer = GradientSignAnalyzer::default().without_bias();
    let mut curves = Vec::with_capacity(config.widths.len());
    for &k in &config.widths {
        let mut points = Vec::with_capacity(config.batch_sizes.len());
        for &b in &config.batch_sizes {
            let mut sums = [0.0f64; 4];
            for t in 0..config.trials {
                let seed = config
                    .seed
                    .wrapping_mul(1_000_003)
                    .wrapping_add((k * 100_000 + b * 100 + t) as u64);
                let a = Tensor::rand_uniform(&[b, k], 0.0, 1.0, seed)?;
                let centred = a.map(|v| v - 0.5);
                let d = Tensor::rand_normal(&[b, config.neurons], 0.0, 1.0, seed ^ 0xde17a)?;
                let pos = analyzer.analyze_layer(&a, &d)?;
                let cen = analyzer.analyze_layer(&centred, &d)?;
                sums[0] += pos.per_example_coherence();
                sums[1] += pos.batch_coherence();
                sums[2] += cen.per_example_coherence();
                sums[3] += cen.batch_coherence();
            }
            let m = sums.map(|s| s / config.trials as f64);
            points.push(BatchPoint {
                batch: b,
                positive_per_example: m[0],
                positive_batch: m[1],
                centred_per_example: m[2],
                centred_batch: m[3],
            });
        }
        curves.push(WidthCurve {
            width: k,
            positive_limit: two_orthant_probability(k, 0.75),
            centred_limit: two_orthant_probability(k, 0.0),
            points,
        });
    }
    Ok(BatchSize {
        config: config.clone(),
        rows_per_point: config.trials * config.neurons,
        curves,
    })
}
