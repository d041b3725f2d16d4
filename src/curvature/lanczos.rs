//! The extreme eigenpairs of a symmetric [`Operator`] by Lanczos with full
//! reorthogonalisation ([`lanczos`]), and the Krylov machinery that
//! [`slq`](super::density::slq) shares.
//!
//! Lanczos builds an orthonormal basis `Q = [q₁ … q_m]` of the Krylov space
//! `span{q₁, A q₁, …, A^{m−1} q₁}` in which `QᵀAQ = T` is tridiagonal
//! (`αⱼ` on the diagonal, `βⱼ` beside it). The eigenpairs `(θᵢ, sᵢ)` of
//! the small `T` give Ritz pairs `(θᵢ, Q sᵢ)` of `A`, whose residual norm is
//! `‖A Q sᵢ − θᵢ Q sᵢ‖ = βₘ |sᵢ[m]|`. The extreme eigenvalues converge
//! first, usually in a few dozen products for a Hessian's outliers. Each new
//! vector is orthogonalised against every earlier one, twice ("twice is
//! enough"), so no ghost copies of converged eigenvalues appear; the price
//! is `m` stored vectors of length `n`.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::error::{Error, Result};
use crate::tensor::Tensor;

use super::operator::Operator;
use super::spectrum::Spectrum;

/// Which end of the spectrum [`lanczos`] looks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    /// The `k` largest (algebraic) eigenvalues, largest first.
    Largest,
    /// The `k` smallest (algebraic) eigenvalues, smallest first.
    Smallest,
}

/// What [`lanczos`] computes and when it stops.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct LanczosConfig {
    /// How many eigenpairs.
    pub k: usize,
    /// Which end of the spectrum.
    pub which: Which,
    /// A Ritz pair `(θ, y)` has converged when
    /// `‖A y − θ y‖ ≤ max(tolerance·|θ|, 10·√n·ε·‖T‖)`: relative to `|θ|`,
    /// or at the rounding level of one product (no residual computed in
    /// f64 is smaller), so that an eigenvalue at 0 can converge.
    pub tolerance: f64,
    /// At most this many Lanczos steps (products with the operator), capped
    /// at the dimension; `None` means `min(n, max(100, 10k))`. The basis
    /// needs this many vectors of length `n`, reserved up front.
    pub max_iterations: Option<usize>,
    /// Seeds the start vector (Gaussian) and the symmetry probe.
    pub seed: u64,
}

impl LanczosConfig {
    /// The `k` largest eigenpairs, to relative residual `10⁻⁸`, seed 0.
    pub fn largest(k: usize) -> Self {
        LanczosConfig {
            k,
            which: Which::Largest,
            tolerance: 1e-8,
            max_iterations: None,
            seed: 0,
        }
    }

    /// The `k` smallest eigenpairs, to relative residual `10⁻⁸`, seed 0.
    pub fn smallest(k: usize) -> Self {
        LanczosConfig {
            which: Which::Smallest,
            ..Self::largest(k)
        }
    }

    /// Sets the relative residual tolerance.
    pub fn tolerance(mut self, tolerance: f64) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// Sets the largest number of Lanczos steps.
    pub fn max_iterations(mut self, max_iterations: usize) -> Self {
        self.max_iterations = Some(max_iterations);
        self
    }

    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

/// The Ritz pairs [`lanczos`] found, with the evidence for them.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Eigenpairs {
    /// The eigenvalue estimates, the wanted end first (largest first for
    /// [`Which::Largest`], smallest first for [`Which::Smallest`]).
    pub eigenvalues: Vec<f64>,
    /// The unit eigenvector estimates, one per eigenvalue, each signed so
    /// that its components sum to a non-negative number.
    pub eigenvectors: Vec<Vec<f64>>,
    /// `‖A yᵢ − θᵢ yᵢ‖`, computed with one more product per pair (not the
    /// Lanczos estimate `βₘ|sᵢ[m]|`, which assumes exact orthogonality).
    pub residuals: Vec<f64>,
    /// Whether every pair meets the tolerance by its computed residual.
    /// `false` means the iteration budget ran out first: the pairs are the
    /// best estimates, not converged ones.
    pub converged: bool,
    /// Lanczos steps taken (the dimension of the Krylov basis).
    pub iterations: usize,
    /// Every product with the operator: the symmetry probe, the Lanczos
    /// steps and the residual checks.
    pub applications: usize,
}

impl Eigenpairs {
    /// `residuals[i] / |eigenvalues[i]|` (infinite for a zero eigenvalue
    /// with a non-zero residual).
    pub fn relative_residual(&self, i: usize) -> f64 {
        let r = self.residuals[i];
        if r == 0.0 {
            0.0
        } else {
            r / self.eigenvalues[i].abs()
        }
    }
}

/// The `k` extreme eigenpairs of a symmetric operator by Lanczos with full
/// reorthogonalisation.
///
/// It first checks symmetry with a random probe pair (`u`, `w`):
/// `|wᵀAu − uᵀAw| ≤ 10⁻⁸·(‖w‖‖Au‖ + ‖u‖‖Aw‖)`, which any real asymmetry
/// fails with probability 1 and rounding passes by orders of magnitude.
/// After each step past the `k`-th it diagonalises `T` (with
/// [`Spectrum::of`], nalgebra's symmetric eigen-solver: `T` is at most a
/// few hundred wide) and stops when the wanted Ritz pairs' estimated
/// residuals meet the tolerance. If the Krylov space closes (`βⱼ ≈ 0`: an
/// invariant subspace, as for a repeated eigenvalue) it continues from a
/// fresh random vector orthogonal to the basis, until a block started that
/// way adds nothing to the wanted end, so an eigenvalue repeated exactly is
/// found as often as it occurs. (A cluster of distinct but nearly equal
/// eigenvalues that never closes the space converges one copy at a time,
/// as in any Lanczos.) The reported residuals are then computed, not
/// estimated.
///
/// Memory: the basis (`max_iterations × n` values, reserved once) and a few
/// vectors of length `n`; a step allocates only the small `T`'s
/// decomposition.
///
/// ```
/// use gradsign::curvature::lanczos::{lanczos, LanczosConfig};
/// use gradsign::curvature::DenseOperator;
/// use gradsign::Tensor;
/// // diag(1, 2, 3, 4) rotated a little is still 1, 2, 3, 4.
/// let m = Tensor::from_vec(
///     vec![1.0, 0.1, 0.0, 0.0, 0.1, 2.0, 0.0, 0.0, 0.0, 0.0, 3.0, 0.0, 0.0, 0.0, 0.0, 4.0],
///     &[4, 4],
/// )?;
/// let top = lanczos(&DenseOperator::new(&m)?, &LanczosConfig::largest(2))?;
/// assert!(top.converged);
/// assert!((top.eigenvalues[0] - 4.0).abs() < 1e-12 && (top.eigenvalues[1] - 3.0).abs() < 1e-12);
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidArgument`] for `k = 0`, `k` above the dimension, a
/// tolerance that is not finite and positive, or `max_iterations < k`;
/// [`Error::NotSymmetric`] if the probe finds the operator not symmetric;
/// [`Error::NonFinite`] if a product is not finite (NaN from the model);
/// whatever the operator returns; [`Error::InvalidArgument`] if the basis
/// cannot be allocated.
pub fn lanczos<O: Operator + ?Sized>(op: &O, config: &LanczosConfig) -> Result<Eigenpairs> {
    let name = "lanczos";
    let n = op.dim();
    let k = config.k;
    let bad = |message: String| Err(Error::InvalidArgument { op: name, message });
    if k == 0 {
        return bad("k = 0: ask for at least one eigenpair".into());
    }
    if k > n {
        return bad(format!(
            "k = {k} eigenpairs asked of the {n}-dimensional {}",
            op.name()
        ));
    }
    if !(config.tolerance.is_finite() && config.tolerance > 0.0) {
        return bad(format!(
            "the tolerance must be finite and positive, not {}",
            config.tolerance
        ));
    }
    let m = config.max_iterations.unwrap_or(100.max(10 * k)).min(n);
    if m < k {
        return bad(format!(
            "max_iterations = {m} is fewer than the k = {k} eigenpairs asked for"
        ));
    }

    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let mut start = gaussian(&mut rng, n);
    let mut a_start = vec![0.0; n];
    apply_checked(op, name, &start, &mut a_start)?;
    check_symmetry(op, name, &mut rng, &start, &a_start)?;
    let mut applications = 2;
    // The start vector is normalised; so is its product.
    let norm = dot(&start, &start).sqrt();
    start.iter_mut().for_each(|x| *x /= norm);
    a_start.iter_mut().for_each(|x| *x /= norm);

    let mut krylov = Krylov::new(name, n, m)?;
    krylov.start(&start);
    let mut first = Some(a_start);
    // Where the newest block of T (since the last restart) begins.
    let mut block: Option<usize> = None;
    let t = loop {
        let beta = match first.take() {
            Some(av) => krylov.step_with(&av),
            None => {
                applications += 1;
                krylov.step(op)?
            }
        };
        let j = krylov.steps();
        let closed = krylov.closed(beta);
        if j >= k {
            let t = krylov.ritz()?;
            let floor = rounding_floor(n, &t);
            let order = wanted(&t, k, config.which);
            let estimates_met = order.iter().all(|&i| {
                let estimate = beta * t.eigenvectors[(j - 1) * j + i].abs();
                estimate <= threshold(config.tolerance, t.eigenvalues[i], floor)
            });
            // A closed space holds each distinct eigenvalue its start
            // vector reaches once; copies live in the complement. Done
            // only once a block started in the complement adds nothing
            // to the wanted set (its values are the complement's).
            let complement_adds = |b: usize| {
                order.iter().any(|&i| {
                    let w: f64 = (b..j).map(|r| t.eigenvectors[r * j + i].powi(2)).sum();
                    w > 0.5
                })
            };
            let settled = !closed || block.is_some_and(|b| !complement_adds(b));
            let done = j == n || (estimates_met && settled);
            if done || j == m {
                break t;
            }
        }
        if closed {
            block = Some(j);
            krylov.restart(gaussian(&mut rng, n));
        } else {
            krylov.extend(beta);
        }
    };
    let j = krylov.steps();
    let order = wanted(&t, k, config.which);
    let (mut eigenvalues, mut eigenvectors, mut residuals) = (vec![], vec![], vec![]);
    let mut ay = vec![0.0; n];
    let mut converged = true;
    for &i in &order {
        let theta = t.eigenvalues[i];
        let mut y = vec![0.0; n];
        for (r, q) in krylov.basis().chunks_exact(n).enumerate() {
            axpy(t.eigenvectors[r * j + i], q, &mut y);
        }
        let norm = dot(&y, &y).sqrt();
        let sign = if y.iter().sum::<f64>() < 0.0 {
            -1.0
        } else {
            1.0
        };
        y.iter_mut().for_each(|x| *x *= sign / norm);
        apply_checked(op, name, &y, &mut ay)?;
        applications += 1;
        let residual = ay
            .iter()
            .zip(&y)
            .map(|(a, b)| (a - theta * b).powi(2))
            .sum::<f64>()
            .sqrt();
        converged &= residual <= threshold(config.tolerance, theta, rounding_floor(n, &t));
        eigenvalues.push(theta);
        eigenvectors.push(y);
        residuals.push(residual);
    }
    Ok(Eigenpairs {
        eigenvalues,
        eigenvectors,
        residuals,
        converged,
        iterations: j,
        applications,
    })
}

/// The smallest residual a product in f64 can resolve: `10·√n·ε·‖T‖`.
fn rounding_floor(n: usize, t: &Spectrum) -> f64 {
    let norm = t.largest().abs().max(t.smallest().abs());
    10.0 * (n as f64).sqrt() * f64::EPSILON * norm
}

/// The tolerance's bound on a residual for Ritz value `theta`.
fn threshold(tolerance: f64, theta: f64, floor: f64) -> f64 {
    (tolerance * theta.abs()).max(floor)
}

/// The indices (into `t`'s ascending eigenvalues) of the `k` wanted Ritz
/// values, the wanted end first.
fn wanted(t: &Spectrum, k: usize, which: Which) -> Vec<usize> {
    let j = t.len();
    match which {
        Which::Largest => (j - k..j).rev().collect(),
        Which::Smallest => (0..k).collect(),
    }
}

/// `n` standard normal draws.
pub(crate) fn gaussian(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
    (0..n).map(|_| StandardNormal.sample(rng)).collect()
}

pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn axpy(a: f64, x: &[f64], y: &mut [f64]) {
    y.iter_mut().zip(x).for_each(|(y, x)| *y += a * x);
}

/// `out = A v`, refusing a non-finite product whatever the operator.
pub(crate) fn apply_checked<O: Operator + ?Sized>(
    op: &O,
    name: &'static str,
    v: &[f64],
    out: &mut [f64],
) -> Result<()> {
    op.apply(v, out)?;
    match out.iter().position(|x| !x.is_finite()) {
        Some(i) => Err(Error::NonFinite {
            op: name,
            what: format!(
                "{} at element {i} of the {} times a vector",
                out[i],
                op.name()
            ),
        }),
        None => Ok(()),
    }
}

/// Fails with [`Error::NotSymmetric`] unless `wᵀAu = uᵀAw` for a fresh
/// random `w`, to `10⁻⁸` of the Cauchy–Schwarz bound on either side.
pub(crate) fn check_symmetry<O: Operator + ?Sized>(
    op: &O,
    name: &'static str,
    rng: &mut ChaCha8Rng,
    u: &[f64],
    au: &[f64],
) -> Result<()> {
    let w = gaussian(rng, u.len());
    let mut aw = vec![0.0; u.len()];
    apply_checked(op, name, &w, &mut aw)?;
    let (wau, uaw) = (dot(&w, au), dot(u, &aw));
    let norm = |x: &[f64]| dot(x, x).sqrt();
    let scale = norm(&w) * norm(au) + norm(u) * norm(&aw);
    if (wau - uaw).abs() > 1e-8 * scale {
        return Err(Error::NotSymmetric {
            op: name,
            what: op.name(),
            detail: format!("for random u, w: wᵀAu = {wau:e} but uᵀAw = {uaw:e} (scale {scale:e})"),
        });
    }
    Ok(())
}

/// A Lanczos basis with full reorthogonalisation and its tridiagonal `T`.
pub(crate) struct Krylov {
    n: usize,
    /// `q₁ … q_j` (row-major), then the next vector being built.
    q: Vec<f64>,
    alpha: Vec<f64>,
    /// `beta[i]` couples steps `i` and `i + 1`; 0 where the space restarted.
    beta: Vec<f64>,
    /// The step's work vector `A qⱼ − αⱼqⱼ − βⱼ₋₁qⱼ₋₁`, orthogonalised.
    w: Vec<f64>,
    /// `max |αᵢ|, |βᵢ|` so far: the scale of "β ≈ 0".
    scale: f64,
}

impl Krylov {
    /// Room for `m` basis vectors of length `n`, reserved now.
    pub(crate) fn new(op: &'static str, n: usize, m: usize) -> Result<Self> {
        let too_big = |why: String| Error::InvalidArgument {
            op,
            message: format!(
                "a Lanczos basis of {m} vectors of length {n} cannot be allocated: {why}"
            ),
        };
        let len = m
            .checked_add(1)
            .and_then(|m| m.checked_mul(n))
            .ok_or_else(|| too_big("more entries than a usize counts".into()))?;
        let mut q = Vec::new();
        q.try_reserve_exact(len)
            .map_err(|e| too_big(e.to_string()))?;
        Ok(Krylov {
            n,
            q,
            alpha: Vec::with_capacity(m),
            beta: Vec::with_capacity(m),
            w: vec![0.0; n],
            scale: 0.0,
        })
    }

    /// Forgets everything and starts from the unit vector `q1`.
    pub(crate) fn start(&mut self, q1: &[f64]) {
        self.q.clear();
        self.q.extend_from_slice(q1);
        self.alpha.clear();
        self.beta.clear();
        self.scale = 0.0;
    }

    /// Steps taken.
    pub(crate) fn steps(&self) -> usize {
        self.alpha.len()
    }

    /// The orthonormal basis `q₁ … q_j`, row-major.
    pub(crate) fn basis(&self) -> &[f64] {
        &self.q[..self.steps() * self.n]
    }

    /// One step: multiplies the newest vector by the operator and returns
    /// `βⱼ`, leaving the unnormalised next vector in the work buffer.
    pub(crate) fn step<O: Operator + ?Sized>(&mut self, op: &O) -> Result<f64> {
        let j = self.steps();
        let mut w = std::mem::take(&mut self.w);
        let applied = apply_checked(op, "lanczos", &self.q[j * self.n..(j + 1) * self.n], &mut w);
        self.w = w;
        applied?;
        Ok(self.orthogonalise())
    }

    /// [`step`](Self::step) with the product already known.
    pub(crate) fn step_with(&mut self, av: &[f64]) -> f64 {
        self.w.copy_from_slice(av);
        self.orthogonalise()
    }

    fn orthogonalise(&mut self) -> f64 {
        let (n, j) = (self.n, self.steps());
        let qj = &self.q[j * n..(j + 1) * n];
        let alpha = dot(qj, &self.w);
        self.alpha.push(alpha);
        // Against every basis vector, twice: the first pass removes the
        // components, the second the rounding the first left behind.
        for _ in 0..2 {
            for q in self.q[..(j + 1) * n].chunks_exact(n) {
                let c = dot(q, &self.w);
                axpy(-c, q, &mut self.w);
            }
        }
        let beta = dot(&self.w, &self.w).sqrt();
        self.scale = self.scale.max(alpha.abs()).max(beta);
        beta
    }

    /// Whether `beta` is zero to working precision: the Krylov space is
    /// invariant under the operator.
    pub(crate) fn closed(&self, beta: f64) -> bool {
        beta <= 1e-12 * self.scale
    }

    /// Appends `w / β` as the next basis vector.
    pub(crate) fn extend(&mut self, beta: f64) {
        self.beta.push(beta);
        self.q.extend(self.w.iter().map(|x| x / beta));
    }

    /// Appends `fresh` orthogonalised against the basis (a new, decoupled
    /// block of `T`).
    pub(crate) fn restart(&mut self, mut fresh: Vec<f64>) {
        let (n, j) = (self.n, self.steps());
        for _ in 0..2 {
            for q in self.q[..j * n].chunks_exact(n) {
                let c = dot(q, &fresh);
                axpy(-c, q, &mut fresh);
            }
        }
        let norm = dot(&fresh, &fresh).sqrt();
        self.beta.push(0.0);
        self.q.extend(fresh.iter().map(|x| x / norm));
    }

    /// The eigendecomposition of the current `T`.
    pub(crate) fn ritz(&self) -> Result<Spectrum> {
        let j = self.steps();
        let t = Tensor::from_fn(&[j, j], |ix| {
            let (r, c) = (ix[0], ix[1]);
            if r == c {
                self.alpha[r]
            } else if r + 1 == c {
                self.beta[r]
            } else if c + 1 == r {
                self.beta[c]
            } else {
                0.0
            }
        })?;
        Spectrum::of(&t)
    }
}
