//! Stochastic estimates of a symmetric [`Operator`]'s whole spectrum:
//! Hutchinson's trace estimator ([`hutchinson`]) and stochastic Lanczos
//! quadrature for the spectral density ([`slq`]), as PyHessian computes
//! them for networks, on exact products.
//!
//! Both draw Rademacher probes `z ∈ {−1, 1}ⁿ`, for which `E[zᵀAz] = tr A`.
//! SLQ runs `m` Lanczos steps from `z/√n`; the eigenvalues `θᵢ` of the
//! tridiagonal `T` and the squared first components `τᵢ = sᵢ[1]²` of its
//! eigenvectors are an `m`-point Gauss quadrature for the measure
//! `Σⱼ (vᵀuⱼ)² δ(t − λⱼ)`, whose average over probes estimates the
//! spectral density `(1/n) Σⱼ δ(t − λⱼ)`. The quadrature is exact for
//! polynomials up to degree `2m − 1`, so its first moments are those of
//! the probes' Rayleigh quotients: `Σ τᵢθᵢ = zᵀAz/n`, whose mean is
//! `tr(A)/n`.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::{Error, Result};

use super::lanczos::{Krylov, apply_checked, check_symmetry, dot};
use super::operator::Operator;

/// A trace estimate with its standard error.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct TraceEstimate {
    /// The mean of `zᵀAz` over the probes.
    pub trace: f64,
    /// The sample standard deviation of `zᵀAz` over `√probes`.
    pub standard_error: f64,
    /// Each probe's `zᵀAz`.
    pub samples: Vec<f64>,
}

/// `n` Rademacher signs.
fn rademacher(rng: &mut ChaCha8Rng, n: usize, out: &mut [f64]) {
    debug_assert_eq!(out.len(), n);
    out.iter_mut()
        .for_each(|x| *x = if rng.random::<bool>() { 1.0 } else { -1.0 });
}

fn check_probes(op: &'static str, probes: usize) -> Result<()> {
    if probes < 2 {
        return Err(Error::out_of_domain(
            op,
            "the number of probes",
            "at least 2 (a standard error needs two)",
            probes,
        ));
    }
    Ok(())
}

/// Hutchinson's estimate of `tr A`: the mean of `zᵀAz` over `probes`
/// Rademacher vectors `z` drawn from `seed`, with its standard error
/// `s/√probes` (`s` the samples' standard deviation). For a symmetric `A`
/// the variance of one sample is `2 Σ_{i≠j} aᵢⱼ²`: diagonal matrices are
/// estimated exactly, so the error comes from the off-diagonal mass.
///
/// ```
/// use gradsign::curvature::density::hutchinson;
/// use gradsign::curvature::DenseOperator;
/// use gradsign::Tensor;
/// let m = Tensor::from_vec(vec![2.0, 0.0, 0.0, 5.0], &[2, 2])?;
/// let t = hutchinson(&DenseOperator::new(&m)?, 10, 1)?;
/// assert_eq!((t.trace, t.standard_error), (7.0, 0.0)); // diagonal: exact
/// assert!(hutchinson(&DenseOperator::new(&m)?, 0, 1).is_err());
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// # Errors
/// [`Error::OutOfDomain`] for fewer than 2 probes (0 gives no estimate,
/// 1 no standard error); [`Error::NonFinite`] for a non-finite product;
/// whatever the operator returns.
pub fn hutchinson<O: Operator + ?Sized>(op: &O, probes: usize, seed: u64) -> Result<TraceEstimate> {
    let name = "hutchinson";
    check_probes(name, probes)?;
    let n = op.dim();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut z, mut az) = (vec![0.0; n], vec![0.0; n]);
    let mut samples = Vec::with_capacity(probes);
    for _ in 0..probes {
        rademacher(&mut rng, n, &mut z);
        apply_checked(op, name, &z, &mut az)?;
        samples.push(dot(&z, &az));
    }
    let (trace, standard_error) = mean_and_error(&samples);
    Ok(TraceEstimate {
        trace,
        standard_error,
        samples,
    })
}

fn mean_and_error(samples: &[f64]) -> (f64, f64) {
    let l = samples.len() as f64;
    let mean = samples.iter().sum::<f64>() / l;
    let var = samples.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / (l - 1.0);
    (mean, (var / l).sqrt())
}

/// What [`slq`] computes.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SlqConfig {
    /// Rademacher probes (at least 2).
    pub probes: usize,
    /// Lanczos steps per probe (at least 1; capped at the dimension).
    pub steps: usize,
    /// Grid points of the density (at least 2).
    pub points: usize,
    /// The Gaussian broadening's standard deviation; `None` means 1% of
    /// the range of the quadrature nodes (or `10⁻³·max(1, |θ|)` if they
    /// coincide).
    pub sigma: Option<f64>,
    /// Seeds the probes (the same probes as [`hutchinson`] with this seed).
    pub seed: u64,
}

impl SlqConfig {
    /// `probes` probes of `steps` Lanczos steps, 1000 grid points, the
    /// default broadening, seed 0.
    pub fn new(probes: usize, steps: usize) -> Self {
        SlqConfig {
            probes,
            steps,
            points: 1000,
            sigma: None,
            seed: 0,
        }
    }

    /// Sets the number of grid points.
    pub fn points(mut self, points: usize) -> Self {
        self.points = points;
        self
    }

    /// Sets the broadening.
    pub fn sigma(mut self, sigma: f64) -> Self {
        self.sigma = Some(sigma);
        self
    }

    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

/// A spectral density estimate: the quadrature and its broadened density.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SpectralDensity {
    /// All probes' quadrature nodes (Ritz values).
    pub nodes: Vec<f64>,
    /// Their weights `τᵢ/probes`, summing to 1.
    pub weights: Vec<f64>,
    /// Evenly spaced points from `min θ − 5σ` to `max θ + 5σ`.
    pub grid: Vec<f64>,
    /// `Σᵢ wᵢ N(t; θᵢ, σ²)` at each grid point: integrates to 1 up to the
    /// Gaussian tails beyond `5σ` (`< 10⁻⁶`) and the grid's rule.
    pub density: Vec<f64>,
    /// The broadening used.
    pub sigma: f64,
    /// Lanczos steps each probe took (fewer than asked where its Krylov
    /// space closed, which makes that probe's quadrature exact).
    pub steps: Vec<usize>,
}

impl SpectralDensity {
    /// The quadrature's `p`-th moment `Σ wᵢ θᵢᵖ`: an estimate of
    /// `tr(Aᵖ)/n`, exact for each probe's `zᵀAᵖz/n` while `p ≤ 2m − 1`.
    pub fn moment(&self, p: i32) -> f64 {
        self.nodes
            .iter()
            .zip(&self.weights)
            .map(|(t, w)| w * t.powi(p))
            .sum()
    }

    /// The trapezoid rule's integral of the density over the grid.
    pub fn integral(&self) -> f64 {
        let h = self.grid[1] - self.grid[0];
        let d = &self.density;
        h * (d.iter().sum::<f64>() - 0.5 * (d[0] + d[d.len() - 1]))
    }
}

/// Stochastic Lanczos quadrature: the spectral density of a symmetric
/// operator from `probes` Rademacher probes of `steps` Lanczos steps each
/// (full reorthogonalisation), Gaussian-broadened on a grid.
///
/// Symmetry is checked first, as in [`lanczos`](super::lanczos::lanczos).
/// A density with one large outlier and a bulk near 0 spans many decades:
/// plot `density` on a log axis.
///
/// ```
/// use gradsign::curvature::density::{slq, SlqConfig};
/// use gradsign::curvature::DenseOperator;
/// use gradsign::Tensor;
/// // Eigenvalues 1, 1, 1, 9: the density has 3/4 of its mass at 1.
/// let m = Tensor::from_fn(&[4, 4], |ix| if ix[0] == ix[1] { 3.0 } else { 2.0 })?;
/// let d = slq(&DenseOperator::new(&m)?, &SlqConfig::new(20, 4).seed(3))?;
/// assert!((d.integral() - 1.0).abs() < 1e-3);
/// let near_one: f64 = d.nodes.iter().zip(&d.weights)
///     .filter(|(t, _)| (**t - 1.0).abs() < 1e-9).map(|(_, w)| w).sum();
/// assert!((near_one - 0.75).abs() < 0.2);
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// # Errors
/// [`Error::OutOfDomain`] for fewer than 2 probes, 0 steps, fewer than
/// 2 grid points or a broadening that is not finite and positive;
/// [`Error::TooLarge`] for a basis that cannot be allocated; [`Error::NotSymmetric`] for an operator that
/// is not symmetric; [`Error::NonFinite`] for a non-finite product;
/// whatever the operator returns.
pub fn slq<O: Operator + ?Sized>(op: &O, config: &SlqConfig) -> Result<SpectralDensity> {
    let name = "slq";
    check_probes(name, config.probes)?;
    if config.steps == 0 {
        return Err(Error::out_of_domain(
            name,
            "the Lanczos steps per probe",
            "at least 1",
            0,
        ));
    }
    if config.points < 2 {
        return Err(Error::out_of_domain(
            name,
            "the number of grid points",
            "at least 2",
            config.points,
        ));
    }
    if let Some(s) = config.sigma.filter(|s| !(s.is_finite() && *s > 0.0)) {
        return Err(Error::out_of_domain(
            name,
            "the broadening σ",
            "finite and positive",
            s,
        ));
    }
    let n = op.dim();
    let m = config.steps.min(n);
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let mut krylov = Krylov::new(name, n, m)?;
    let (mut z, mut az) = (vec![0.0; n], vec![0.0; n]);
    let (mut nodes, mut weights, mut steps) = (vec![], vec![], vec![]);
    let inv_sqrt_n = 1.0 / (n as f64).sqrt();
    for probe in 0..config.probes {
        rademacher(&mut rng, n, &mut z);
        apply_checked(op, name, &z, &mut az)?;
        if probe == 0 {
            // Its own generator, so the probes stay hutchinson's.
            let mut side = ChaCha8Rng::seed_from_u64(config.seed ^ 0x9e37_79b9_7f4a_7c15);
            check_symmetry(op, name, &mut side, &z, &az)?;
        }
        z.iter_mut().for_each(|x| *x *= inv_sqrt_n);
        az.iter_mut().for_each(|x| *x *= inv_sqrt_n);
        krylov.start(&z);
        let mut beta = krylov.step_with(&az);
        while krylov.steps() < m && !krylov.closed(beta) {
            krylov.extend(beta);
            beta = krylov.step(op)?;
        }
        let t = krylov.ritz()?;
        let j = t.len();
        for i in 0..j {
            nodes.push(t.eigenvalues[i]);
            weights.push(t.eigenvectors[i].powi(2) / config.probes as f64);
        }
        steps.push(j);
    }
    let (lo, hi) = nodes
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &t| {
            (a.min(t), b.max(t))
        });
    let sigma = config.sigma.unwrap_or(if hi > lo {
        0.01 * (hi - lo)
    } else {
        1e-3 * lo.abs().max(1.0)
    });
    let (a, b) = (lo - 5.0 * sigma, hi + 5.0 * sigma);
    let h = (b - a) / (config.points - 1) as f64;
    let grid: Vec<f64> = (0..config.points).map(|i| a + h * i as f64).collect();
    let c = 1.0 / (sigma * (2.0 * std::f64::consts::PI).sqrt());
    let density = grid
        .iter()
        .map(|&t| {
            nodes
                .iter()
                .zip(&weights)
                .map(|(&x, &w)| w * c * (-0.5 * ((t - x) / sigma).powi(2)).exp())
                .sum()
        })
        .collect();
    Ok(SpectralDensity {
        nodes,
        weights,
        grid,
        density,
        sigma,
        steps,
    })
}
