//! The extreme eigenpairs of a symmetric [`Operator`] by thick-restart
//! Lanczos with full reorthogonalisation in a bounded basis ([`lanczos`]),
//! and the Krylov machinery that [`slq`](super::density::slq) shares.
//!
//! Lanczos builds an orthonormal basis `Q = [q₁ … q_j]` of the Krylov space
//! `span{q₁, A q₁, …, A^{j−1} q₁}` in which `QᵀAQ = T` is tridiagonal
//! (`αⱼ` on the diagonal, `βⱼ` beside it), and `A Q = Q T + βⱼ qⱼ₊₁ eⱼᵀ`.
//! The eigenpairs `(θᵢ, sᵢ)` of the small `T` give Ritz pairs `(θᵢ, Q sᵢ)`
//! of `A`, whose residual norm is `‖A Q sᵢ − θᵢ Q sᵢ‖ = βⱼ |sᵢ[j]|`. The
//! extreme eigenvalues converge first, usually in a few dozen products for
//! a Hessian's outliers. Each new vector is orthogonalised against every
//! vector in the basis, twice ("twice is enough"), so no ghost copies of
//! converged eigenvalues appear.
//!
//! The basis is bounded ([`LanczosConfig::basis`]): when it holds `m`
//! vectors and the wanted pairs have not converged, it restarts thick (Wu
//! and Simon, 2000): it keeps `l` Ritz vectors of the wanted end (the `k`
//! wanted and some more) and the residual direction `qⱼ₊₁`, so that `T`
//! becomes `diag(θ₁ … θ_l)` bordered by the couplings `βⱼ sᵢ[j]` to
//! `qⱼ₊₁` (an arrowhead), and Lanczos continues from `qⱼ₊₁` with full
//! reorthogonalisation against all `l + 1` kept vectors. Nothing is lost
//! that the wanted pairs need, and the memory stays `(m + 1)·n` values
//! however many steps the eigenvalues take.

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

/// What [`lanczos`] computes, in how much memory, and when it stops.
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
    /// At most this many Lanczos steps (products with the operator) in
    /// all, over every restart; `None` means `max(100, 10k)`. When the
    /// basis holds the whole space (`basis ≥ n`) the steps are capped at
    /// the dimension `n`, where `T` is exact.
    pub max_iterations: Option<usize>,
    /// At most this many Lanczos vectors of length `n` in the basis (one
    /// more holds the next direction); when it is full, Lanczos restarts
    /// thick. `None` means `max(2k + 8, 20)`, or the whole space `n` for
    /// an operator no wider than `max(100, 10k)` (exact after `n` steps, in
    /// at most that many squared values). Capped at the dimension and at
    /// the step budget; at least `k + 1` when given.
    pub basis: Option<usize>,
    /// Seeds the start vector (Gaussian) and the symmetry probe.
    pub seed: u64,
}

impl LanczosConfig {
    /// The `k` largest eigenpairs, to relative residual `10⁻⁸`, seed 0,
    /// the default budget and basis.
    pub fn largest(k: usize) -> Self {
        LanczosConfig {
            k,
            which: Which::Largest,
            tolerance: 1e-8,
            max_iterations: None,
            basis: None,
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

    /// Sets the largest number of Lanczos steps, over all restarts.
    pub fn max_iterations(mut self, max_iterations: usize) -> Self {
        self.max_iterations = Some(max_iterations);
        self
    }

    /// Sets the largest number of Lanczos vectors kept at once (at least
    /// `k + 1`): the memory is `(basis + 1)·n` values.
    ///
    /// ```
    /// use gradsign::curvature::lanczos::{lanczos, LanczosConfig};
    /// use gradsign::curvature::DenseOperator;
    /// use gradsign::Tensor;
    /// // diag(1, …, 60): the top 2 in a basis of 8 vectors, by restarts.
    /// let m = Tensor::from_fn(&[60, 60], |ix| if ix[0] == ix[1] { (ix[0] + 1) as f64 } else { 0.0 })?;
    /// let op = DenseOperator::new(&m)?;
    /// let top = lanczos(&op, &LanczosConfig::largest(2).basis(8).max_iterations(400))?;
    /// assert!(top.converged && top.restarts > 0);
    /// assert!((top.eigenvalues[0] - 60.0).abs() < 1e-6 && (top.eigenvalues[1] - 59.0).abs() < 1e-6);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    pub fn basis(mut self, basis: usize) -> Self {
        self.basis = Some(basis);
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
    /// Lanczos estimate `βⱼ|sᵢ[j]|`, which assumes exact orthogonality).
    pub residuals: Vec<f64>,
    /// Whether every pair meets the tolerance by its computed residual.
    /// `false` means the iteration budget ran out first: the pairs are the
    /// best estimates, not converged ones.
    pub converged: bool,
    /// Lanczos steps taken in all, over every restart (one product each).
    pub iterations: usize,
    /// Thick restarts: how often the basis was full and was compressed to
    /// Ritz vectors (0 when the basis never filled).
    pub restarts: usize,
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

/// The `k` extreme eigenpairs of a symmetric operator by thick-restart
/// Lanczos with full reorthogonalisation in a bounded basis.
///
/// It first checks symmetry with a random probe pair (`u`, `w`):
/// `|wᵀAu − uᵀAw| ≤ 10⁻⁸·(‖w‖‖Au‖ + ‖u‖‖Aw‖)`, which any real asymmetry
/// fails with probability 1 and rounding passes by orders of magnitude.
/// After each step past the `k`-th it diagonalises `T` (Householder
/// tridiagonalisation and implicit QL, in place in buffers sized once) and
/// stops when the wanted Ritz pairs' estimated residuals meet the
/// tolerance. When the basis is full it restarts thick (see the
/// [module](self) documentation), keeping the `l = k + ⌊(m − k)/2⌋` Ritz
/// vectors of the wanted end (at most `m − 1`). If the Krylov space closes
/// (`βⱼ ≈ 0`: an invariant subspace, as for a repeated eigenvalue) it
/// continues from a fresh random vector orthogonal to the basis, until a
/// block started that way adds nothing to the wanted end, so an eigenvalue
/// repeated exactly is found as often as it occurs (when the basis has
/// room for its copies). (A cluster of distinct but nearly equal
/// eigenvalues that never closes the space converges one copy at a time,
/// as in any Lanczos.) The reported residuals are then computed, not
/// estimated.
///
/// Memory: with `m` the basis and `n` the dimension, `(m + 1)·n` values for
/// the basis, four vectors of length `n`, and `3m² + O(m)` values for `T`
/// and its decomposition, all allocated before the first step: a step or a
/// restart allocates nothing. Cost: a step is one product, the two
/// orthogonalisation passes (`4jn` flops at basis size `j`) and the
/// decomposition of `T` (`O(j³)`, with `j ≤ m` a few dozen); a restart
/// cycle of `m − l` steps adds the Ritz vectors' `2lmn` flops, so a cycle
/// costs `m − l` products and `O(m²n)` flops.
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
/// assert!(top.converged && top.restarts == 0);
/// assert!((top.eigenvalues[0] - 4.0).abs() < 1e-12 && (top.eigenvalues[1] - 3.0).abs() < 1e-12);
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// # Errors
/// [`Error::OutOfDomain`] for `k = 0`, `k` above the dimension, a
/// tolerance that is not finite and positive, `max_iterations < k`, or a
/// basis of fewer than `k + 1` vectors; [`Error::TooLarge`] if the basis
/// (or `T`'s buffers) cannot be allocated; [`Error::NotSymmetric`] if the
/// probe finds the operator not symmetric; [`Error::NonFinite`] if a
/// product is not finite (NaN from the model); whatever the operator
/// returns.
pub fn lanczos<O: Operator + ?Sized>(op: &O, config: &LanczosConfig) -> Result<Eigenpairs> {
    let name = "lanczos";
    let n = op.dim();
    let k = config.k;
    if k == 0 {
        return Err(Error::out_of_domain(
            name,
            "the number of eigenpairs k",
            "at least 1",
            "k = 0",
        ));
    }
    if k > n {
        return Err(Error::out_of_domain(
            name,
            "the number of eigenpairs k",
            format!("at most the dimension {n} of the {}", op.name()),
            format!("k = {k}"),
        ));
    }
    if !(config.tolerance.is_finite() && config.tolerance > 0.0) {
        return Err(Error::out_of_domain(
            name,
            "the tolerance",
            "finite and positive",
            config.tolerance,
        ));
    }
    let budget = config.max_iterations.unwrap_or(100.max(10 * k));
    if budget < k {
        return Err(Error::out_of_domain(
            name,
            "max_iterations",
            format!("at least k = {k}"),
            budget,
        ));
    }
    if let Some(b) = config.basis.filter(|&b| b <= k) {
        return Err(Error::out_of_domain(
            name,
            "the basis",
            format!("at least k + 1 = {} vectors", k + 1),
            b,
        ));
    }
    // By default a small operator (no wider than the default budget) gets
    // the whole space, exact after n steps: a restarted basis converges a
    // tight cluster far from the rest of the spectrum (near-zero curvature
    // of a rank-deficient Gauss–Newton) very slowly, and n² values are
    // cheap there. A wide one gets max(2k + 8, 20) vectors.
    let default_basis = if n <= 100.max(10 * k) {
        n
    } else {
        (2 * k + 8).max(20)
    };
    let m = config.basis.unwrap_or(default_basis).min(n).min(budget);
    // A basis of the whole space is exact after n steps.
    let budget = if m == n { budget.min(n) } else { budget };

    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let mut ws = Thick::new(name, n, m)?;
    fill_gaussian(&mut rng, &mut ws.fresh);
    apply_checked(op, name, &ws.fresh, &mut ws.w)?;
    check_symmetry(op, name, &mut rng, &ws.fresh, &ws.w)?;
    let mut applications = 2;
    // The start vector is normalised; so is its product.
    let norm = dot(&ws.fresh, &ws.fresh).sqrt();
    ws.q[..n]
        .iter_mut()
        .zip(&ws.fresh)
        .for_each(|(q, x)| *q = x / norm);
    ws.w.iter_mut().for_each(|x| *x /= norm);

    // T's size (the vectors in the basis whose step is done), the steps in
    // all, and the restarts.
    let (mut j, mut steps, mut restarts) = (0, 0, 0);
    let mut first = true;
    // Where the newest block of T (since the space last closed) begins.
    let mut block: Option<usize> = None;
    loop {
        if first {
            first = false;
        } else {
            apply_checked(op, name, &ws.q[j * n..(j + 1) * n], &mut ws.w)?;
            applications += 1;
        }
        let beta = ws.orthogonalise(j);
        j += 1;
        steps += 1;
        let closed = beta <= 1e-12 * ws.scale;
        if j >= k {
            ws.decompose(j);
            let floor = ws.rounding_floor(n, j);
            let estimates_met = (0..k).all(|c| {
                let i = wanted_index(j, c, config.which);
                let estimate = beta * ws.s[(j - 1) * j + i].abs();
                estimate <= threshold(config.tolerance, ws.theta[i], floor)
            });
            // A closed space holds each distinct eigenvalue its start
            // vector reaches once; copies live in the complement. Done
            // only once a block started in the complement adds nothing
            // to the wanted set (its values are the complement's).
            let complement_adds = |b: usize| {
                (0..k).any(|c| {
                    let i = wanted_index(j, c, config.which);
                    let w: f64 = (b..j).map(|r| ws.s[r * j + i].powi(2)).sum();
                    w > 0.5
                })
            };
            let settled = !closed || block.is_some_and(|b| !complement_adds(b));
            let done = j == n || (estimates_met && settled);
            if done || steps == budget {
                break;
            }
        }
        if j == m {
            // Full (j = m > k here, as m = n or m = budget would have
            // stopped): keep l Ritz vectors of the wanted end, then the
            // residual direction, coupled to them in T.
            let l = (k + (m - k) / 2).clamp(k, m - 1);
            ws.compress(j, l, if closed { 0.0 } else { beta }, config.which);
            restarts += 1;
            j = l;
            block = None;
            if !closed {
                ws.place_w(j, beta);
                continue;
            }
        }
        if closed {
            block = Some(j);
            fill_gaussian(&mut rng, &mut ws.fresh);
            ws.append_fresh(j);
        } else {
            ws.append_w(j, beta);
        }
    }
    let floor = ws.rounding_floor(n, j);
    let (mut eigenvalues, mut eigenvectors, mut residuals) = (vec![], vec![], vec![]);
    let mut converged = true;
    for c in 0..k {
        let i = wanted_index(j, c, config.which);
        let theta = ws.theta[i];
        let mut y = vec![0.0; n];
        for (r, q) in ws.q[..j * n].chunks_exact(n).enumerate() {
            axpy(ws.s[r * j + i], q, &mut y);
        }
        let norm = dot(&y, &y).sqrt();
        let sign = if y.iter().sum::<f64>() < 0.0 {
            -1.0
        } else {
            1.0
        };
        y.iter_mut().for_each(|x| *x *= sign / norm);
        apply_checked(op, name, &y, &mut ws.w)?;
        applications += 1;
        let residual =
            ws.w.iter()
                .zip(&y)
                .map(|(a, b)| (a - theta * b).powi(2))
                .sum::<f64>()
                .sqrt();
        converged &= residual <= threshold(config.tolerance, theta, floor);
        eigenvalues.push(theta);
        eigenvectors.push(y);
        residuals.push(residual);
    }
    Ok(Eigenpairs {
        eigenvalues,
        eigenvectors,
        residuals,
        converged,
        iterations: steps,
        restarts,
        applications,
    })
}

/// The tolerance's bound on a residual for Ritz value `theta`.
fn threshold(tolerance: f64, theta: f64, floor: f64) -> f64 {
    (tolerance * theta.abs()).max(floor)
}

/// The index (into `T`'s `j` ascending eigenvalues) of the `c`-th wanted
/// Ritz value, the wanted end first.
fn wanted_index(j: usize, c: usize, which: Which) -> usize {
    match which {
        Which::Largest => j - 1 - c,
        Which::Smallest => c,
    }
}

/// A vector of `len` zeros, or [`Error::TooLarge`] naming `what`.
fn zeros(op: &'static str, len: Option<usize>, what: impl Fn() -> String) -> Result<Vec<f64>> {
    let too_large = |reason: String| Error::TooLarge {
        op,
        what: what(),
        reason,
    };
    let len = len.ok_or_else(|| too_large("more entries than a usize counts".into()))?;
    let mut v = Vec::new();
    v.try_reserve_exact(len)
        .map_err(|e| too_large(e.to_string()))?;
    v.resize(len, 0.0);
    Ok(v)
}

/// The buffers of thick-restart Lanczos, all sized once.
struct Thick {
    n: usize,
    m: usize,
    /// `q₁ … q_{m+1}`, row-major.
    q: Vec<f64>,
    /// `T`, `m × m`, row-major (symmetric; both triangles kept).
    t: Vec<f64>,
    /// The eigenvectors of the leading `j × j` of `T` (row `r`, column `i`
    /// at `r·j + i`), then scratch.
    s: Vec<f64>,
    /// Their eigenvalues, ascending.
    theta: Vec<f64>,
    /// The decomposition's off-diagonal scratch.
    e: Vec<f64>,
    /// The wanted end's Ritz vectors, a block of coordinates at a time.
    chunk: Vec<f64>,
    /// The work vector `A qⱼ` orthogonalised.
    w: Vec<f64>,
    /// A random vector: the start, or a fresh block's.
    fresh: Vec<f64>,
    /// `max |αᵢ|, |βᵢ|` so far: the scale of "β ≈ 0".
    scale: f64,
}

/// Coordinates per block when the Ritz vectors are formed in place.
const CHUNK: usize = 256;

impl Thick {
    fn new(op: &'static str, n: usize, m: usize) -> Result<Self> {
        let q = zeros(op, m.checked_add(1).and_then(|r| r.checked_mul(n)), || {
            format!("a Lanczos basis of {} vectors of length {n}", m + 1)
        })?;
        let square = || format!("the {m} × {m} Lanczos matrix T");
        let t = zeros(op, m.checked_mul(m), square)?;
        let s = zeros(op, m.checked_mul(m), square)?;
        let chunk = zeros(op, m.checked_mul(CHUNK.min(n)), || {
            format!("the Ritz vectors' block of {m} × {}", CHUNK.min(n))
        })?;
        let vector = || format!("a vector of length {n}");
        Ok(Thick {
            n,
            m,
            q,
            t,
            s,
            theta: vec![0.0; m],
            e: vec![0.0; m],
            chunk,
            w: zeros(op, Some(n), vector)?,
            fresh: zeros(op, Some(n), vector)?,
            scale: 0.0,
        })
    }

    /// Completes step `j` (0-based) with `w = A q_j`: `α = q_jᵀ w` into `T`,
    /// `w` orthogonalised against `q₀ … q_j` twice; returns `‖w‖`.
    fn orthogonalise(&mut self, j: usize) -> f64 {
        let n = self.n;
        let alpha = dot(&self.q[j * n..(j + 1) * n], &self.w);
        self.t[j * self.m + j] = alpha;
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

    /// Appends `w / β` as `q_j`, coupled to `q_{j−1}` by `β` alone.
    fn append_w(&mut self, j: usize, beta: f64) {
        let m = self.m;
        for r in 0..j {
            self.t[r * m + j] = 0.0;
            self.t[j * m + r] = 0.0;
        }
        self.t[(j - 1) * m + j] = beta;
        self.t[j * m + j - 1] = beta;
        self.place_w(j, beta);
    }

    /// Writes `w / β` as `q_j`, leaving `T` as it is.
    fn place_w(&mut self, j: usize, beta: f64) {
        let n = self.n;
        let (q, w) = (&mut self.q[j * n..(j + 1) * n], &self.w);
        q.iter_mut().zip(w).for_each(|(q, w)| *q = w / beta);
    }

    /// Appends the fresh vector, orthogonalised against `q₀ … q_{j−1}`
    /// twice and normalised, as `q_j`: a new, decoupled block of `T`.
    fn append_fresh(&mut self, j: usize) {
        let (n, m) = (self.n, self.m);
        for r in 0..j {
            self.t[r * m + j] = 0.0;
            self.t[j * m + r] = 0.0;
        }
        for _ in 0..2 {
            for q in self.q[..j * n].chunks_exact(n) {
                let c = dot(q, &self.fresh);
                axpy(-c, q, &mut self.fresh);
            }
        }
        let norm = dot(&self.fresh, &self.fresh).sqrt();
        let (q, f) = (&mut self.q[j * n..(j + 1) * n], &self.fresh);
        q.iter_mut().zip(f).for_each(|(q, f)| *q = f / norm);
    }

    /// Eigendecomposition of the leading `j × j` of `T` into `theta`, `s`.
    fn decompose(&mut self, j: usize) {
        for r in 0..j {
            let (src, dst) = (r * self.m, r * j);
            self.s[dst..dst + j].copy_from_slice(&self.t[src..src + j]);
        }
        symmetric_eigen(
            j,
            &mut self.s[..j * j],
            &mut self.theta[..j],
            &mut self.e[..j],
        );
    }

    /// The smallest residual a product in f64 can resolve: `10·√n·ε·‖T‖`.
    fn rounding_floor(&self, n: usize, j: usize) -> f64 {
        let norm = self.theta[0].abs().max(self.theta[j - 1].abs());
        10.0 * (n as f64).sqrt() * f64::EPSILON * norm
    }

    /// The thick restart: replaces `q₀ … q_{l−1}` by the `l` Ritz vectors
    /// of the wanted end (of the decomposition of the leading `j × j` of
    /// `T`) and `T` by their values bordered by the couplings
    /// `β sᵢ[j−1]` to the next vector (which the caller places as `q_l`).
    fn compress(&mut self, j: usize, l: usize, beta: f64, which: Which) {
        let (n, m) = (self.n, self.m);
        // Ritz vector c = Σ_r s[r][i_c] q_r, a block of coordinates at a
        // time so that the basis is overwritten in place.
        let mut start = 0;
        while start < n {
            let width = CHUNK.min(n - start);
            let chunk = &mut self.chunk[..l * width];
            chunk.iter_mut().for_each(|x| *x = 0.0);
            for r in 0..j {
                let q = &self.q[r * n + start..r * n + start + width];
                for c in 0..l {
                    let coef = self.s[r * j + wanted_index(j, c, which)];
                    axpy(coef, q, &mut chunk[c * width..(c + 1) * width]);
                }
            }
            for c in 0..l {
                self.q[c * n + start..c * n + start + width]
                    .copy_from_slice(&chunk[c * width..(c + 1) * width]);
            }
            start += width;
        }
        self.t[..m * m].iter_mut().for_each(|x| *x = 0.0);
        for c in 0..l {
            let i = wanted_index(j, c, which);
            self.t[c * m + c] = self.theta[i];
            let coupling = beta * self.s[(j - 1) * j + i];
            self.t[c * m + l] = coupling;
            self.t[l * m + c] = coupling;
        }
    }
}

/// The eigendecomposition of the symmetric `j × j` matrix in `a`
/// (row-major), in place: `a` becomes the eigenvectors (column `i`, at
/// `r·j + i`), `d` the eigenvalues in ascending order; `e` is scratch.
/// Householder tridiagonalisation, then implicit QL with Wilkinson-type
/// shifts (the EISPACK `tred2`/`tql2` pair), allocating nothing.
fn symmetric_eigen(j: usize, a: &mut [f64], d: &mut [f64], e: &mut [f64]) {
    let at = |r: usize, c: usize| r * j + c;
    if j == 1 {
        d[0] = a[0];
        a[0] = 1.0;
        return;
    }
    // Householder reduction to tridiagonal form (d diagonal, e below it),
    // accumulating the transformation in a.
    for c in 0..j {
        d[c] = a[at(j - 1, c)];
    }
    for i in (1..j).rev() {
        let scale: f64 = d[..i].iter().map(|x| x.abs()).sum();
        let mut h = 0.0;
        if scale == 0.0 {
            e[i] = d[i - 1];
            for c in 0..i {
                d[c] = a[at(i - 1, c)];
                a[at(i, c)] = 0.0;
                a[at(c, i)] = 0.0;
            }
        } else {
            for x in d[..i].iter_mut() {
                *x /= scale;
                h += *x * *x;
            }
            let mut f = d[i - 1];
            let mut g = if f > 0.0 { -h.sqrt() } else { h.sqrt() };
            e[i] = scale * g;
            h -= f * g;
            d[i - 1] = f - g;
            e[..i].iter_mut().for_each(|x| *x = 0.0);
            for c in 0..i {
                f = d[c];
                a[at(c, i)] = f;
                g = e[c] + a[at(c, c)] * f;
                for r in c + 1..i {
                    g += a[at(r, c)] * d[r];
                    e[r] += a[at(r, c)] * f;
                }
                e[c] = g;
            }
            f = 0.0;
            for c in 0..i {
                e[c] /= h;
                f += e[c] * d[c];
            }
            let hh = f / (h + h);
            for c in 0..i {
                e[c] -= hh * d[c];
            }
            for c in 0..i {
                f = d[c];
                g = e[c];
                for r in c..i {
                    a[at(r, c)] -= f * e[r] + g * d[r];
                }
                d[c] = a[at(i - 1, c)];
                a[at(i, c)] = 0.0;
            }
        }
        d[i] = h;
    }
    for i in 0..j - 1 {
        a[at(j - 1, i)] = a[at(i, i)];
        a[at(i, i)] = 1.0;
        let h = d[i + 1];
        if h != 0.0 {
            for r in 0..=i {
                d[r] = a[at(r, i + 1)] / h;
            }
            for c in 0..=i {
                let mut g = 0.0;
                for r in 0..=i {
                    g += a[at(r, i + 1)] * a[at(r, c)];
                }
                for r in 0..=i {
                    a[at(r, c)] -= g * d[r];
                }
            }
        }
        for r in 0..=i {
            a[at(r, i + 1)] = 0.0;
        }
    }
    for c in 0..j {
        d[c] = a[at(j - 1, c)];
        a[at(j - 1, c)] = 0.0;
    }
    a[at(j - 1, j - 1)] = 1.0;
    e[0] = 0.0;

    // Implicit QL on the tridiagonal matrix.
    for i in 1..j {
        e[i - 1] = e[i];
    }
    e[j - 1] = 0.0;
    let mut f = 0.0;
    let mut tst1 = 0.0f64;
    for l in 0..j {
        tst1 = tst1.max(d[l].abs() + e[l].abs());
        let mut m = l;
        while m < j - 1 && e[m].abs() > f64::EPSILON * tst1 {
            m += 1;
        }
        if m > l {
            // QL converges in two or three iterations per eigenvalue; the
            // cap only guards against a loop (the residuals are computed
            // from the Ritz vectors anyway).
            for _ in 0..60 {
                let mut g = d[l];
                let mut p = (d[l + 1] - g) / (2.0 * e[l]);
                let mut r = p.hypot(1.0);
                if p < 0.0 {
                    r = -r;
                }
                d[l] = e[l] / (p + r);
                d[l + 1] = e[l] * (p + r);
                let dl1 = d[l + 1];
                let mut h = g - d[l];
                for x in d[l + 2..j].iter_mut() {
                    *x -= h;
                }
                f += h;
                p = d[m];
                let (mut c, mut c2, mut c3) = (1.0, 1.0, 1.0);
                let el1 = e[l + 1];
                let (mut s, mut s2) = (0.0, 0.0);
                for i in (l..m).rev() {
                    c3 = c2;
                    c2 = c;
                    s2 = s;
                    g = c * e[i];
                    h = c * p;
                    r = p.hypot(e[i]);
                    e[i + 1] = s * r;
                    s = e[i] / r;
                    c = p / r;
                    p = c * d[i] - s * g;
                    d[i + 1] = h + s * (c * g + s * d[i]);
                    for row in 0..j {
                        let h = a[at(row, i + 1)];
                        a[at(row, i + 1)] = s * a[at(row, i)] + c * h;
                        a[at(row, i)] = c * a[at(row, i)] - s * h;
                    }
                }
                p = -s * s2 * c3 * el1 * e[l] / dl1;
                e[l] = s * p;
                d[l] = c * p;
                if e[l].abs() <= f64::EPSILON * tst1 {
                    break;
                }
            }
        }
        d[l] += f;
        e[l] = 0.0;
    }
    // Ascending, the eigenvectors with them (selection sort: j is small).
    for i in 0..j - 1 {
        let mut low = i;
        for c in i + 1..j {
            if d[c] < d[low] {
                low = c;
            }
        }
        if low != i {
            d.swap(i, low);
            for row in 0..j {
                a.swap(at(row, i), at(row, low));
            }
        }
    }
}

/// Fills `out` with standard normal draws.
fn fill_gaussian(rng: &mut ChaCha8Rng, out: &mut [f64]) {
    out.iter_mut().for_each(|x| *x = StandardNormal.sample(rng));
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
        let too_large = |reason: String| Error::TooLarge {
            op,
            what: format!("a Lanczos basis of {} vectors of length {n}", m + 1),
            reason,
        };
        let len = m
            .checked_add(1)
            .and_then(|m| m.checked_mul(n))
            .ok_or_else(|| too_large("more entries than a usize counts".into()))?;
        let mut q = Vec::new();
        q.try_reserve_exact(len)
            .map_err(|e| too_large(e.to_string()))?;
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
