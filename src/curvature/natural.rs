//! Natural-gradient, Gauss–Newton and Newton steps for small models: the
//! rigorous counterpart of "centre your inputs".
//!
//! For a model with outputs `f(x; θ)` (`C` per example) and a likelihood
//! `p(y | f)`, with `J_n = ∂f(x_n)/∂θ` (`C×P`):
//! - the **Fisher** matrix is `F = (1/B) Σ_n J_nᵀ Λ(f_n) J_n`, where `Λ` is
//!   the Fisher of the output distribution: `I` (Gaussian, unit variance),
//!   `σ(f)(1 − σ(f))` (Bernoulli on a logit), `diag(p) − ppᵀ` with
//!   `p = softmax(f)` (categorical on logits);
//! - the **empirical Fisher** is `(1/B) Σ_n g_n g_nᵀ` with the per-example
//!   loss gradients `g_n`: cheaper, but not the same matrix away from the
//!   optimum;
//! - the **Gauss–Newton** matrix is `(1/B) Σ_n J_nᵀ ∇²_f ℓ(f_n, y_n) J_n`,
//!   with the output Hessian of the loss computed exactly by forward-over-
//!   reverse ([`hessian`]). For these three likelihoods (canonical links) it
//!   equals the Fisher; computing it independently is a check.
//!
//! A step is `θ ← θ − η (G + λI)⁻¹ ∇L(θ)`: `λ ≥ 0` is Tikhonov
//! (Levenberg–Marquardt) damping. With `λ = 0` the matrix must be positive
//! definite, or the solve fails with [`Error::NotPositiveDefinite`] (a
//! softmax model's Fisher is always singular: adding a constant to every
//! logit changes nothing). Natural gradient is invariant under affine
//! reparametrisations, so centring the inputs (which is one: `w·(x − μ) + b'`
//! is `w·x + b` with `b = b' − w·μ`) leaves its predictions unchanged; plain
//! gradient descent is not invariant.
//!
//! Everything here is dense `P×P` and runs `B·(C + 1)` backward passes:
//! for models with up to a few hundred parameters.

use nalgebra::{DMatrix, DVector};

use crate::autodiff::{Tape, Var};
use crate::element::Element;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

use super::hvp::{ScalarFn, hessian};
use super::likelihood::{Likelihood, Model};
use super::spectrum::{check_symmetric, square_dims};
use super::square_buffer;

/// A model, a likelihood and a data set: the loss `L(θ)`, its per-example
/// gradients and the curvature matrices at any parameters.
///
/// ```
/// use gradsign::curvature::likelihood::{LinearModel, Likelihood};
/// use gradsign::curvature::natural::Problem;
/// use gradsign::Tensor;
/// let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2])?;
/// let y = Tensor::from_vec(vec![1.0, 0.0], &[2, 1])?;
/// let model = LinearModel { bias: false };
/// let p = Problem::new(&model, Likelihood::Gaussian, &x, &y)?;
/// // Linear-Gaussian: the Fisher is E[x xᵀ].
/// let f = p.fisher(&[Tensor::zeros(&[1, 2])?])?;
/// assert_eq!(f.as_slice(), &[5.0, 7.0, 7.0, 10.0]);
/// # Ok::<(), gradsign::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Problem<'a, M: ?Sized> {
    model: &'a M,
    likelihood: Likelihood,
    inputs: &'a Tensor<f64>,
    targets: &'a Tensor<f64>,
}

impl<'a, M: Model + ?Sized> Problem<'a, M> {
    /// Checks and bundles the pieces.
    ///
    /// # Errors
    /// [`Error::RankMismatch`] / [`Error::ShapeMismatch`] unless inputs are
    /// `B×K` and targets `B×C`; [`Error::Empty`] for `B = 0`;
    /// [`Error::NonFinite`] on a non-finite value; [`Error::InvalidArgument`]
    /// for targets outside the likelihood's domain.
    pub fn new(
        model: &'a M,
        likelihood: Likelihood,
        inputs: &'a Tensor<f64>,
        targets: &'a Tensor<f64>,
    ) -> Result<Self> {
        let op = "Problem::new";
        for t in [inputs, targets] {
            if t.rank() != 2 {
                return Err(Error::RankMismatch {
                    op,
                    expected: "2 (batch, features) for inputs and targets",
                    shape: t.shape(),
                });
            }
            if let Some(i) = t.as_slice().iter().position(|x| !x.is_finite()) {
                return Err(Error::NonFinite {
                    op,
                    what: format!(
                        "{} at element {i} of the {} data",
                        t.as_slice()[i],
                        t.shape()
                    ),
                });
            }
        }
        if inputs.dims()[0] != targets.dims()[0] {
            return Err(Error::ShapeMismatch {
                op,
                lhs: inputs.shape(),
                rhs: targets.shape(),
                reason: "inputs and targets need the same number of rows",
            });
        }
        if inputs.dims()[0] == 0 {
            return Err(Error::Empty {
                op,
                shape: inputs.shape(),
            });
        }
        likelihood.check_targets(targets)?;
        Ok(Problem {
            model,
            likelihood,
            inputs,
            targets,
        })
    }

    fn batch(&self) -> usize {
        self.inputs.dims()[0]
    }

    /// Records example `n` (or all, for `None`) and returns the parameter
    /// variables and the outputs.
    fn record<'t, E: Element>(
        &self,
        tape: &'t Tape<E>,
        params: &[Tensor<f64>],
        n: Option<usize>,
    ) -> Result<Recorded<'t, E>> {
        check_params(params)?;
        let vars: Vec<_> = params.iter().map(|p| tape.var(&p.cast::<E>())).collect();
        let (x, y) = self.rows(tape, n)?;
        let out = self.model.forward(tape, &vars, x)?;
        Ok(Recorded {
            params: vars,
            outputs: out,
            targets: y,
        })
    }

    /// The inputs and targets of example `n` (or all) as tape constants.
    fn rows<'t, E: Element>(
        &self,
        tape: &'t Tape<E>,
        n: Option<usize>,
    ) -> Result<(Var<'t, E>, Var<'t, E>)> {
        let (k, c) = (self.inputs.dims()[1], self.targets.dims()[1]);
        let (range, rows) = match n {
            Some(n) => (n..n + 1, 1),
            None => (0..self.batch(), self.batch()),
        };
        let cast = |s: &[f64]| s.iter().map(|&v| E::from_f64(v)).collect::<Vec<_>>();
        let x = cast(&self.inputs.as_slice()[range.start * k..range.end * k]);
        let y = cast(&self.targets.as_slice()[range.start * c..range.end * c]);
        Ok((
            tape.constant_from_slice(&x, &[rows, k])?,
            tape.constant_from_slice(&y, &[rows, c])?,
        ))
    }

    /// The model's outputs `B×C` (logits for Bernoulli and categorical).
    ///
    /// # Errors
    /// [`Error::NonFinite`] on non-finite parameters, and whatever the
    /// model returns.
    pub fn outputs(&self, params: &[Tensor<f64>]) -> Result<Tensor<f64>> {
        let tape = Tape::<f64>::new();
        Ok(self.record(&tape, params, None)?.outputs.value())
    }

    /// The mean loss `L(θ)`.
    ///
    /// # Errors
    /// As [`outputs`](Self::outputs), plus [`Error::ShapeMismatch`] if the
    /// outputs' shape is not the targets'.
    pub fn loss(&self, params: &[Tensor<f64>]) -> Result<f64> {
        let tape = Tape::<f64>::new();
        let Recorded {
            outputs: out,
            targets: y,
            ..
        } = self.record(&tape, params, None)?;
        self.likelihood.loss(out, y)?.item()
    }

    /// `∇L(θ)`, flattened in parameter order.
    ///
    /// # Errors
    /// As [`loss`](Self::loss).
    pub fn gradient(&self, params: &[Tensor<f64>]) -> Result<Vec<f64>> {
        let tape = Tape::<f64>::new();
        let Recorded {
            params: vars,
            outputs: out,
            targets: y,
        } = self.record(&tape, params, None)?;
        let grads = self.likelihood.loss(out, y)?.backward()?;
        flatten(&vars, |v| grads.get(v).map(<[f64]>::to_vec))
    }

    /// The per-example loss gradients `g_n = ∇ℓ(f(x_n), y_n)` as the rows of
    /// a `B×P` matrix (one backward pass per example).
    ///
    /// # Errors
    /// As [`loss`](Self::loss).
    pub fn per_sample_gradients(&self, params: &[Tensor<f64>]) -> Result<Tensor<f64>> {
        let mut rows = Vec::new();
        let mut tape = Tape::<f64>::new();
        for n in 0..self.batch() {
            tape.clear();
            let Recorded {
                params: vars,
                outputs: out,
                targets: y,
            } = self.record(&tape, params, Some(n))?;
            let grads = self.likelihood.loss(out, y)?.backward()?;
            rows.extend(flatten(&vars, |v| grads.get(v).map(<[f64]>::to_vec))?);
        }
        let p = rows.len() / self.batch();
        Tensor::from_vec(rows, &[self.batch(), p])
    }

    /// The empirical Fisher `(1/B) Σ_n g_n g_nᵀ` (`P×P`).
    ///
    /// # Errors
    /// As [`loss`](Self::loss).
    pub fn empirical_fisher(&self, params: &[Tensor<f64>]) -> Result<Tensor<f64>> {
        let g = self.per_sample_gradients(params)?;
        let p = g.dims()[1];
        let mut m = square_buffer("Problem::empirical_fisher", p)?;
        for row in g.as_slice().chunks_exact(p) {
            add_outer(&mut m, row, row, 1.0);
        }
        scaled(m, p, 1.0 / self.batch() as f64)
    }

    /// `Σ_n J_nᵀ A_n J_n / B` with `A_n` from `output_matrix(n, f_n)`.
    fn sandwich(
        &self,
        params: &[Tensor<f64>],
        mut output_matrix: impl FnMut(usize, &[f64]) -> Result<Vec<f64>>,
    ) -> Result<Tensor<f64>> {
        let mut tape = Tape::<f64>::new();
        let mut result: Vec<f64> = Vec::new();
        let mut p = 0;
        for n in 0..self.batch() {
            tape.clear();
            let Recorded {
                params: vars,
                outputs: out,
                ..
            } = self.record(&tape, params, Some(n))?;
            let f = out.value().into_vec();
            let c = f.len();
            // Row c of the Jacobian: the gradient of output c.
            let mut jac = Vec::new();
            for i in 0..c {
                let seed = Tensor::from_fn(&[1, c], |ix| f64::from(ix[1] == i))?;
                let grads = out.backward_with_seed(&seed)?;
                jac.extend(flatten(&vars, |v| grads.get(v).map(<[f64]>::to_vec))?);
            }
            p = jac.len() / c.max(1);
            if result.is_empty() {
                result = square_buffer("Problem::fisher", p)?;
            }
            let a = output_matrix(n, &f)?;
            for i in 0..c {
                for j in 0..c {
                    let aij = a[i * c + j];
                    if aij != 0.0 {
                        add_outer(
                            &mut result,
                            &jac[i * p..(i + 1) * p],
                            &jac[j * p..(j + 1) * p],
                            aij,
                        );
                    }
                }
            }
        }
        scaled(result, p, 1.0 / self.batch() as f64)
    }

    /// The Fisher `F = (1/B) Σ_n J_nᵀ Λ(f_n) J_n` (`P×P`), with the
    /// likelihood's output Fisher `Λ` in closed form.
    ///
    /// # Errors
    /// As [`loss`](Self::loss).
    pub fn fisher(&self, params: &[Tensor<f64>]) -> Result<Tensor<f64>> {
        let lik = self.likelihood;
        self.sandwich(params, |_, f| {
            let mut out = vec![0.0; f.len() * f.len()];
            lik.add_output_fisher(f, &mut out);
            Ok(out)
        })
    }

    /// The Gauss–Newton matrix `(1/B) Σ_n J_nᵀ ∇²_f ℓ(f_n, y_n) J_n`, the
    /// output Hessian of the loss computed by forward-over-reverse.
    ///
    /// # Errors
    /// As [`loss`](Self::loss).
    pub fn gauss_newton(&self, params: &[Tensor<f64>]) -> Result<Tensor<f64>> {
        let c = self.targets.dims()[1];
        self.sandwich(params, |n, f| {
            let loss = OutputLoss {
                likelihood: self.likelihood,
                target: &self.targets.as_slice()[n * c..(n + 1) * c],
            };
            Ok(hessian(&loss, &[Tensor::from_slice(f, &[1, f.len()])?])?.into_vec())
        })
    }
}

impl<M: Model + ?Sized> ScalarFn for Problem<'_, M> {
    /// The mean loss as a function of the parameters, so that
    /// [`hessian`]`(&problem, params)` is the exact Hessian of `L`.
    fn eval<'t, E: Element>(&self, tape: &'t Tape<E>, params: &[Var<'t, E>]) -> Result<Var<'t, E>> {
        let (x, y) = self.rows(tape, None)?;
        let out = self.model.forward(tape, params, x)?;
        self.likelihood.loss(out, y)
    }
}

/// The loss of one example as a function of its outputs.
struct OutputLoss<'a> {
    likelihood: Likelihood,
    target: &'a [f64],
}

impl ScalarFn for OutputLoss<'_> {
    fn eval<'t, E: Element>(&self, tape: &'t Tape<E>, p: &[Var<'t, E>]) -> Result<Var<'t, E>> {
        let y: Vec<E> = self.target.iter().map(|&v| E::from_f64(v)).collect();
        let y = tape.constant_from_slice(&y, &[1, y.len()])?;
        self.likelihood.loss(p[0], y)
    }
}

/// A forward pass of a [`Problem`] on a tape.
struct Recorded<'t, E: Element> {
    params: Vec<Var<'t, E>>,
    outputs: Var<'t, E>,
    targets: Var<'t, E>,
}

fn check_params(params: &[Tensor<f64>]) -> Result<()> {
    if params.is_empty() {
        return Err(Error::InvalidArgument {
            op: "Problem",
            message: "needs at least one parameter tensor".into(),
        });
    }
    for (j, p) in params.iter().enumerate() {
        if let Some(i) = p.as_slice().iter().position(|x| !x.is_finite()) {
            return Err(Error::NonFinite {
                op: "Problem",
                what: format!(
                    "{} at element {i} of parameter {j} {}",
                    p.as_slice()[i],
                    p.shape()
                ),
            });
        }
    }
    Ok(())
}

fn flatten<'t>(
    vars: &[Var<'t, f64>],
    mut get: impl FnMut(Var<'t, f64>) -> Result<Vec<f64>>,
) -> Result<Vec<f64>> {
    let mut out = Vec::new();
    for &v in vars {
        out.extend(get(v)?);
    }
    Ok(out)
}

/// `m += s·a bᵀ` for a `P×P` row-major `m`.
fn add_outer(m: &mut [f64], a: &[f64], b: &[f64], s: f64) {
    let p = b.len();
    for (i, &ai) in a.iter().enumerate() {
        let f = s * ai;
        for (mij, &bj) in m[i * p..(i + 1) * p].iter_mut().zip(b) {
            *mij += f * bj;
        }
    }
}

fn scaled(mut m: Vec<f64>, p: usize, s: f64) -> Result<Tensor<f64>> {
    m.iter_mut().for_each(|x| *x *= s);
    Tensor::from_vec(m, &[p, p])
}

/// Solves `(M + λI) d = r` by Cholesky for a symmetric positive
/// (semi-)definite `M` and damping `λ ≥ 0`. A pivot below
/// `16·n·ε·max_i (M + λI)_ii` counts as zero: the matrix is then singular to
/// working precision and the solve fails rather than return a huge,
/// meaningless step.
///
/// ```
/// use gradsign::curvature::natural::solve_damped;
/// use gradsign::Tensor;
/// let m = Tensor::from_vec(vec![4.0, 0.0, 0.0, 16.0], &[2, 2])?;
/// assert_eq!(solve_damped(&m, &[4.0, 16.0], 0.0, "Fisher")?, vec![1.0, 1.0]);
/// let singular = Tensor::from_vec(vec![1.0, 1.0, 1.0, 1.0], &[2, 2])?;
/// assert!(solve_damped(&singular, &[1.0, 1.0], 0.0, "Fisher").is_err());
/// assert!(solve_damped(&singular, &[1.0, 1.0], 1e-3, "Fisher").is_ok());
/// let lower_only = Tensor::from_vec(vec![4.0, 0.0, 2.0, 16.0], &[2, 2])?;
/// assert!(solve_damped(&lower_only, &[4.0, 16.0], 0.0, "Fisher").is_err());
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// # Errors
/// [`Error::RankMismatch`] / [`Error::ShapeMismatch`] unless `M` is square
/// and `r` has its size; [`Error::Empty`] for `0×0`; [`Error::NonFinite`]
/// on a non-finite entry of `M` or `r`, or a solution that overflows;
/// [`Error::InvalidArgument`] if `M` is not symmetric (the test of
/// [`Spectrum::of`](super::spectrum::Spectrum::of)), for a negative or
/// non-finite `λ`, or a `λ` that overflows the diagonal;
/// [`Error::NotPositiveDefinite`] if `M + λI` is not positive definite.
pub fn solve_damped(
    matrix: &Tensor<f64>,
    rhs: &[f64],
    damping: f64,
    what: &'static str,
) -> Result<Vec<f64>> {
    let op = "solve_damped";
    let n = square_dims(op, matrix)?;
    // Cholesky reads one triangle only: a non-symmetric matrix would be
    // solved as a different, symmetric one.
    check_symmetric(op, matrix, n)?;
    if rhs.len() != n {
        return Err(Error::ShapeMismatch {
            op,
            lhs: matrix.shape(),
            rhs: crate::shape::Shape::vector(rhs.len()),
            reason: "the right-hand side needs one entry per row",
        });
    }
    if let Some(i) = rhs.iter().position(|x| !x.is_finite()) {
        return Err(Error::NonFinite {
            op,
            what: format!("{} at element {i} of the right-hand side", rhs[i]),
        });
    }
    if !(damping.is_finite() && damping >= 0.0) {
        return Err(Error::InvalidArgument {
            op,
            message: format!("damping must be finite and ≥ 0, got {damping}"),
        });
    }
    let mut m = DMatrix::from_row_slice(n, n, matrix.as_slice());
    for i in 0..n {
        m[(i, i)] += damping;
    }
    if let Some(i) = (0..n).find(|&i| !m[(i, i)].is_finite()) {
        return Err(Error::InvalidArgument {
            op,
            message: format!(
                "damping {damping:?} added to diagonal entry {i} ({:?}) overflows f64",
                matrix.as_slice()[i * n + i]
            ),
        });
    }
    let max_diag = (0..n).fold(0.0f64, |a, i| a.max(m[(i, i)].abs()));
    let tol = 16.0 * n as f64 * f64::EPSILON * max_diag;
    let fail = |detail: String| Error::NotPositiveDefinite {
        op,
        what,
        size: n,
        detail,
    };
    let chol = nalgebra::Cholesky::new(m).ok_or_else(|| fail("a non-positive pivot".into()))?;
    let l = chol.l();
    if let Some(i) = (0..n).find(|&i| l[(i, i)] * l[(i, i)] <= tol) {
        let pivot = l[(i, i)] * l[(i, i)];
        return Err(fail(format!(
            "pivot {pivot:.3e} at row {i}, below {tol:.3e}: singular to working precision"
        )));
    }
    let d: Vec<f64> = chol
        .solve(&DVector::from_column_slice(rhs))
        .iter()
        .copied()
        .collect();
    if let Some(i) = d.iter().position(|x| !x.is_finite()) {
        return Err(Error::NonFinite {
            op,
            what: format!(
                "{} at element {i} of the solution: the {what} system is too ill-conditioned for this right-hand side",
                d[i]
            ),
        });
    }
    Ok(d)
}

/// Which curvature matrix a [`NaturalGradient`] step uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Curvature {
    /// The exact Fisher: natural gradient.
    Fisher,
    /// The empirical Fisher from per-example gradients.
    EmpiricalFisher,
    /// The Gauss–Newton matrix.
    GaussNewton,
    /// The exact Hessian of `L`: Newton's method (needs `L` convex at `θ`,
    /// or damping).
    Hessian,
}

/// A preconditioned step `θ ← θ − η (G + λI)⁻¹ ∇L(θ)`.
///
/// ```
/// use gradsign::curvature::likelihood::{LinearModel, Likelihood};
/// use gradsign::curvature::natural::{Curvature, NaturalGradient, Problem};
/// use gradsign::Tensor;
/// // Linear regression: one Gauss–Newton step with η = 1 lands on the
/// // least-squares solution.
/// let x = Tensor::from_vec(vec![1.0, 0.5, 2.0, 1.5, 3.0, 0.5], &[3, 2])?;
/// let y = Tensor::from_vec(vec![1.0, 2.0, 2.5], &[3, 1])?;
/// let model = LinearModel { bias: true };
/// let problem = Problem::new(&model, Likelihood::Gaussian, &x, &y)?;
/// let ng = NaturalGradient { learning_rate: 1.0, damping: 0.0, curvature: Curvature::GaussNewton };
/// let theta = ng.step(&problem, &[Tensor::zeros(&[1, 2])?, Tensor::zeros(&[1])?])?;
/// assert!(problem.gradient(&theta)?.iter().all(|g| g.abs() < 1e-12));
/// # Ok::<(), gradsign::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct NaturalGradient {
    /// The step size `η`.
    pub learning_rate: f64,
    /// The damping `λ ≥ 0` added to the diagonal.
    pub damping: f64,
    /// Which matrix `G` is.
    pub curvature: Curvature,
}

impl NaturalGradient {
    /// A checked step rule (the fields are public, so [`direction`](Self::direction)
    /// and [`step`](Self::step) check them again).
    ///
    /// ```
    /// use gradsign::curvature::natural::{Curvature, NaturalGradient};
    /// assert!(NaturalGradient::new(0.5, 1e-3, Curvature::Fisher).is_ok());
    /// assert!(NaturalGradient::new(f64::NAN, 0.0, Curvature::Fisher).is_err());
    /// assert!(NaturalGradient::new(1.0, -1.0, Curvature::Fisher).is_err());
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] unless `0 < η < ∞` and `0 ≤ λ < ∞`.
    pub fn new(learning_rate: f64, damping: f64, curvature: Curvature) -> Result<Self> {
        let ng = NaturalGradient {
            learning_rate,
            damping,
            curvature,
        };
        ng.check_damping()?;
        ng.check_learning_rate()?;
        Ok(ng)
    }

    fn check_damping(&self) -> Result<()> {
        if self.damping.is_finite() && self.damping >= 0.0 {
            return Ok(());
        }
        Err(Error::InvalidArgument {
            op: "NaturalGradient",
            message: format!(
                "the damping λ must be finite and ≥ 0, got {:?}",
                self.damping
            ),
        })
    }

    fn check_learning_rate(&self) -> Result<()> {
        // η = 0 would be a costly no-op, η < 0 an ascent: both mistakes.
        if self.learning_rate.is_finite() && self.learning_rate > 0.0 {
            return Ok(());
        }
        Err(Error::InvalidArgument {
            op: "NaturalGradient",
            message: format!(
                "the learning rate η must be finite and > 0, got {:?}",
                self.learning_rate
            ),
        })
    }

    /// The direction `(G + λI)⁻¹ ∇L(θ)`, flattened.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a negative or non-finite damping; as
    /// [`Problem::loss`] and [`solve_damped`].
    pub fn direction<M: Model + ?Sized>(
        &self,
        problem: &Problem<'_, M>,
        params: &[Tensor<f64>],
    ) -> Result<Vec<f64>> {
        self.check_damping()?;
        let (g, what) = match self.curvature {
            Curvature::Fisher => (problem.fisher(params)?, "Fisher"),
            Curvature::EmpiricalFisher => (problem.empirical_fisher(params)?, "empirical Fisher"),
            Curvature::GaussNewton => (problem.gauss_newton(params)?, "Gauss–Newton"),
            Curvature::Hessian => (hessian(problem, params)?, "Hessian"),
        };
        solve_damped(&g, &problem.gradient(params)?, self.damping, what)
    }

    /// The parameters after one step, `θ − η·d`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] unless `0 < η < ∞`; as
    /// [`direction`](Self::direction); [`Error::NonFinite`] if a new
    /// parameter overflows.
    pub fn step<M: Model + ?Sized>(
        &self,
        problem: &Problem<'_, M>,
        params: &[Tensor<f64>],
    ) -> Result<Vec<Tensor<f64>>> {
        self.check_learning_rate()?;
        let d = self.direction(problem, params)?;
        let mut rest = d.as_slice();
        params
            .iter()
            .enumerate()
            .map(|(j, p)| {
                let (head, tail) = rest.split_at(p.numel().min(rest.len()));
                rest = tail;
                let data: Vec<f64> = p
                    .as_slice()
                    .iter()
                    .zip(head)
                    .map(|(a, b)| a - self.learning_rate * b)
                    .collect();
                if let Some(i) = data.iter().position(|x| !x.is_finite()) {
                    return Err(Error::NonFinite {
                        op: "NaturalGradient::step",
                        what: format!(
                            "{} at element {i} of parameter {j} after the step (η = {:?})",
                            data[i], self.learning_rate
                        ),
                    });
                }
                Tensor::from_vec(data, p.dims())
            })
            .collect()
    }
}

/// The empirical Fisher of one neuron from the per-example gradients the
/// analyzer already has: neuron `j`'s gradient on example `n` is
/// `δ_nj·ã_n`, so the matrix is `(1/B) Σ_n δ_nj² ã_n ã_nᵀ` with
/// `ã = a` or `[a, 1]` (`bias_column`).
///
/// ```
/// use gradsign::curvature::natural::neuron_empirical_fisher;
/// use gradsign::Tensor;
/// let a = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2])?;
/// let d = Tensor::from_vec(vec![1.0, -2.0], &[2, 1])?;
/// let f = neuron_empirical_fisher(&a, &d, 0, false)?;
/// // (1·[1,2][1,2]ᵀ + 4·[3,4][3,4]ᵀ)/2
/// assert_eq!(f.as_slice(), &[18.5, 25.0, 25.0, 34.0]);
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// # Errors
/// [`Error::RankMismatch`] / [`Error::ShapeMismatch`] unless inputs are
/// `B×K` and deltas `B×J` with `neuron < J`; [`Error::Empty`] for `B = 0`;
/// [`Error::NonFinite`] on a non-finite value.
pub fn neuron_empirical_fisher<F: Element>(
    inputs: &Tensor<F>,
    deltas: &Tensor<F>,
    neuron: usize,
    bias_column: bool,
) -> Result<Tensor<f64>> {
    let op = "neuron_empirical_fisher";
    let (b, k, j) = match (inputs.dims(), deltas.dims()) {
        ([b, k], [b2, j]) if b == b2 && neuron < *j => (*b, *k, *j),
        _ => {
            return Err(Error::ShapeMismatch {
                op,
                lhs: inputs.shape(),
                rhs: deltas.shape(),
                reason: "needs inputs (batch, in) and deltas (batch, out) with the neuron < out",
            });
        }
    };
    if b == 0 {
        return Err(Error::Empty {
            op,
            shape: inputs.shape(),
        });
    }
    if inputs
        .as_slice()
        .iter()
        .chain(deltas.as_slice())
        .any(|x| !x.is_finite())
    {
        return Err(Error::NonFinite {
            op,
            what: "in the inputs or the deltas".into(),
        });
    }
    let d = k + usize::from(bias_column);
    let mut m = square_buffer(op, d)?;
    let mut row = vec![1.0; d];
    for (a, dl) in inputs
        .as_slice()
        .chunks_exact(k.max(1))
        .zip(deltas.as_slice().chunks_exact(j))
    {
        for (r, &x) in row.iter_mut().zip(a) {
            *r = x.to_f64();
        }
        let w = dl[neuron].to_f64().powi(2);
        add_outer(&mut m, &row, &row, w);
    }
    scaled(m, d, 1.0 / b as f64)
}
