//! Natural-gradient, Gauss–Newton and Newton steps for small models: the
//! rigorous counterpart of "centre your inputs". The matrices come from an
//! [`Objective`] (any model, a likelihood and a data set).
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
//! Everything here is dense `P×P`: for models with up to a few hundred
//! parameters.

use nalgebra::{DMatrix, DVector};

use crate::element::Element;
use crate::error::{Error, Result};
use crate::nn::{Module, Visitor, VisitorMut};
use crate::tensor::Tensor;

use super::objective::{Objective, add_outer, scaled};
use super::spectrum::{check_symmetric, square_dims};

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
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// # Errors
/// [`Error::RankMismatch`] / [`Error::ShapeMismatch`] unless `M` is square
/// and `r` has its size; [`Error::NonFinite`] on a non-finite entry;
/// [`Error::InvalidArgument`] for a negative or non-finite `λ`;
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
        return Err(Error::out_of_domain(
            op,
            "the damping",
            "finite and ≥ 0",
            damping,
        ));
    }
    let mut m = DMatrix::from_row_slice(n, n, matrix.as_slice());
    for i in 0..n {
        m[(i, i)] += damping;
    }
    if let Some(i) = (0..n).find(|&i| !m[(i, i)].is_finite()) {
        return Err(Error::NonFinite {
            op,
            what: format!(
                "from damping {damping:?} added to diagonal entry {i} ({:?}): it overflows f64",
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
/// use gradsign::curvature::natural::{Curvature, NaturalGradient};
/// use gradsign::curvature::{Likelihood, Objective};
/// use gradsign::nn::Linear;
/// use gradsign::Tensor;
/// // Linear regression (one dense layer): one Gauss–Newton step with η = 1
/// // lands on the least-squares solution.
/// let x = Tensor::from_vec(vec![1.0, 0.5, 2.0, 1.5, 3.0, 0.5], &[3, 2])?;
/// let y = Tensor::from_vec(vec![1.0, 2.0, 2.5], &[3, 1])?;
/// let mut model = Linear::<f64>::new(Tensor::zeros(&[1, 2])?, Some(Tensor::zeros(&[1])?))?;
/// let ng = NaturalGradient { learning_rate: 1.0, damping: 0.0, curvature: Curvature::GaussNewton };
/// ng.step(&mut model, Likelihood::Gaussian, &x, &y)?;
/// let g = Objective::new(&model, Likelihood::Gaussian, &x, &y)?.gradient()?;
/// assert!(g.iter().all(|g| g.abs() < 1e-12));
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
        Err(Error::out_of_domain(
            "NaturalGradient",
            "the damping λ",
            "finite and ≥ 0",
            format_args!("{:?}", self.damping),
        ))
    }

    fn check_learning_rate(&self) -> Result<()> {
        // η = 0 would be a costly no-op, η < 0 an ascent: both mistakes.
        if self.learning_rate.is_finite() && self.learning_rate > 0.0 {
            return Ok(());
        }
        Err(Error::out_of_domain(
            "NaturalGradient",
            "the learning rate η",
            "finite and > 0",
            format_args!("{:?}", self.learning_rate),
        ))
    }

    /// The direction `(G + λI)⁻¹ ∇L(θ)` over the objective's selected
    /// parameters, flattened in their order.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a negative or non-finite damping;
    /// whatever computing `G` or `∇L` returns; as [`solve_damped`].
    pub fn direction<F: Element, M: Module<F> + ?Sized>(
        &self,
        objective: &Objective<'_, F, M>,
    ) -> Result<Vec<f64>> {
        self.check_damping()?;
        let (g, what) = match self.curvature {
            Curvature::Fisher => (objective.fisher()?, "Fisher"),
            Curvature::EmpiricalFisher => (objective.empirical_fisher()?, "empirical Fisher"),
            Curvature::GaussNewton => (objective.gauss_newton()?, "Gauss–Newton"),
            Curvature::Hessian => (objective.hessian()?, "Hessian"),
        };
        solve_damped(&g, &objective.gradient()?, self.damping, what)
    }

    /// One step on every parameter of `model`, `θ ← θ − η·d`, each new
    /// value rounded to the parameters' element type. All or nothing: if
    /// any new value is not finite in that type, nothing is written.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] unless `0 < η < ∞`; as
    /// [`direction`](Self::direction) and [`Objective::new`];
    /// [`Error::NonFinite`] if a new parameter overflows.
    pub fn step<F: Element, M: Module<F> + ?Sized>(
        &self,
        model: &mut M,
        likelihood: super::Likelihood,
        inputs: &Tensor<f64>,
        targets: &Tensor<f64>,
    ) -> Result<()> {
        self.check_learning_rate()?;
        let d = self.direction(&Objective::new(&*model, likelihood, inputs, targets)?)?;
        let eta = self.learning_rate;
        let new_value = |theta: F, d: f64| F::from_f64(theta.to_f64() - eta * d);
        // Check every new value before writing any.
        let mut off = 0;
        model.visit(&mut Visitor::new(&mut |name, t| {
            let head = &d[off..off + t.numel()];
            off += t.numel();
            for (i, (&theta, &di)) in t.as_slice().iter().zip(head).enumerate() {
                let v = new_value(theta, di);
                if !v.is_finite() {
                    return Err(Error::NonFinite {
                        op: "NaturalGradient::step",
                        what: format!("{v} at element {i} of {name} after the step (η = {eta:?})"),
                    });
                }
            }
            Ok(())
        }))?;
        let mut off = 0;
        model.visit_mut(&mut VisitorMut::new(&mut |_, t| {
            let head = &d[off..off + t.numel()];
            off += t.numel();
            for (theta, &di) in t.as_mut_slice().iter_mut().zip(head) {
                *theta = new_value(*theta, di);
            }
            Ok(())
        }))
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
    let mut m = super::square_buffer(op, d)?;
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
