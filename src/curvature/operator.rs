//! Symmetric linear operators `v ↦ A v` without forming `A`: the Hessian,
//! Gauss–Newton, Fisher and empirical Fisher of any model
//! ([`CurvatureOperator`], from [`Objective::operator`]), and a dense
//! symmetric matrix ([`DenseOperator`], for tests and small problems).

use std::cell::RefCell;

use crate::autodiff::Tape;
use crate::dual::Dual;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::nn::Module;
use crate::shape::Shape;
use crate::tensor::Tensor;

use super::natural::Curvature;
use super::objective::{Objective, Sandwich};

/// A symmetric linear map on `ℝⁿ`, applied matrix-free.
///
/// Implementations must be symmetric (`⟨u, A v⟩ = ⟨A u, v⟩`); the
/// algorithms check it cheaply with random probes and refuse an operator
/// that is not.
pub trait Operator {
    /// The dimension `n`.
    fn dim(&self) -> usize;

    /// Writes `A v` into `out` (both of length [`dim`](Self::dim)).
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if a length is not `dim()`;
    /// [`Error::NonFinite`] for a non-finite `v` or result (naming the
    /// operation that produced it); whatever the underlying computation
    /// returns.
    fn apply(&self, v: &[f64], out: &mut [f64]) -> Result<()>;

    /// A short name for messages ("Hessian", "dense matrix").
    fn name(&self) -> &'static str {
        "operator"
    }
}

impl<T: Operator + ?Sized> Operator for &T {
    fn dim(&self) -> usize {
        (**self).dim()
    }
    fn apply(&self, v: &[f64], out: &mut [f64]) -> Result<()> {
        (**self).apply(v, out)
    }
    fn name(&self) -> &'static str {
        (**self).name()
    }
}

/// Checks the lengths of `v` and `out` against `n`.
pub(crate) fn check_lengths(op: &'static str, n: usize, v: &[f64], out: &[f64]) -> Result<()> {
    for len in [v.len(), out.len()] {
        if len != n {
            return Err(Error::ShapeMismatch {
                op,
                lhs: Shape::vector(n),
                rhs: Shape::vector(len),
                reason: "vectors need one entry per dimension of the operator",
            });
        }
    }
    Ok(())
}

/// One curvature matrix of an [`Objective`] as an [`Operator`] over the
/// objective's selected parameters (all, or one layer's with
/// [`Objective::only`]). Each application is one forward and one or two
/// reverse passes on a [`Dual`] tape kept between calls, so repeated
/// applications reuse the tape's buffers.
pub struct CurvatureOperator<'o, 'a, F: Element, M: ?Sized> {
    objective: &'o Objective<'a, F, M>,
    kind: Curvature,
    dim: usize,
    tape: RefCell<Tape<Dual<f64>>>,
    result: RefCell<Vec<f64>>,
}

impl<F: Element, M: ?Sized> std::fmt::Debug for CurvatureOperator<'_, '_, F, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CurvatureOperator")
            .field("kind", &self.kind)
            .field("dim", &self.dim)
            .finish()
    }
}

impl<'a, F: Element, M: Module<F> + ?Sized> Objective<'a, F, M> {
    /// The matrix `kind` of this objective as a matrix-free [`Operator`].
    ///
    /// ```
    /// use gradsign::curvature::{Curvature, Likelihood, Objective, Operator};
    /// use gradsign::nn::Mlp;
    /// use gradsign::Tensor;
    /// let net = Mlp::builder(&[2, 3, 1]).seed(4).build::<f64>()?;
    /// let x = Tensor::rand_uniform(&[8, 2], 0.0, 1.0, 1)?;
    /// let y = Tensor::rand_uniform(&[8, 1], 0.0, 1.0, 2)?;
    /// let objective = Objective::new(&net, Likelihood::Gaussian, &x, &y)?;
    /// let h = objective.operator(Curvature::Hessian)?;
    /// let v = vec![1.0; h.dim()];
    /// let mut hv = vec![0.0; h.dim()];
    /// h.apply(&v, &mut hv)?;
    /// assert_eq!(hv, objective.hvp(&v)?);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// Whatever a custom module's visitor returns.
    pub fn operator(&self, kind: Curvature) -> Result<CurvatureOperator<'_, 'a, F, M>> {
        let dim = self.dim()?;
        Ok(CurvatureOperator {
            objective: self,
            kind,
            dim,
            tape: RefCell::new(Tape::new()),
            result: RefCell::new(Vec::new()),
        })
    }
}

impl<F: Element, M: Module<F> + ?Sized> Operator for CurvatureOperator<'_, '_, F, M> {
    fn dim(&self) -> usize {
        self.dim
    }

    fn apply(&self, v: &[f64], out: &mut [f64]) -> Result<()> {
        check_lengths("CurvatureOperator::apply", self.dim, v, out)?;
        let mut tape = self.tape.borrow_mut();
        let mut result = self.result.borrow_mut();
        let o = self.objective;
        match self.kind {
            Curvature::Hessian => o.hvp_into(&mut tape, v, &mut result)?,
            Curvature::GaussNewton => {
                o.sandwich_vp_into(Sandwich::GaussNewton, &mut tape, v, &mut result)?
            }
            Curvature::Fisher => o.sandwich_vp_into(Sandwich::Fisher, &mut tape, v, &mut result)?,
            Curvature::EmpiricalFisher => {
                o.sandwich_vp_into(Sandwich::EmpiricalFisher, &mut tape, v, &mut result)?
            }
        }
        out.copy_from_slice(&result);
        Ok(())
    }

    fn name(&self) -> &'static str {
        match self.kind {
            Curvature::Hessian => "Hessian",
            Curvature::GaussNewton => "Gauss–Newton",
            Curvature::Fisher => "Fisher",
            Curvature::EmpiricalFisher => "empirical Fisher",
        }
    }
}

/// A dense `n×n` matrix as an [`Operator`] (row-major). Symmetry is not
/// required here — so that the algorithms' own check can be tested — but
/// the algorithms refuse a matrix that is not symmetric.
#[derive(Clone, Debug)]
pub struct DenseOperator {
    n: usize,
    values: Vec<f64>,
}

impl DenseOperator {
    /// The operator `v ↦ M v` of a square matrix `M`.
    ///
    /// # Errors
    /// [`Error::RankMismatch`] unless `matrix` is 2-D; [`Error::ShapeMismatch`]
    /// unless it is square; [`Error::Empty`] for a `0×0` matrix;
    /// [`Error::NonFinite`] for a non-finite entry.
    pub fn new(matrix: &Tensor<f64>) -> Result<Self> {
        let op = "DenseOperator::new";
        let n = super::spectrum::square_dims(op, matrix)?;
        Ok(DenseOperator {
            n,
            values: matrix.as_slice().to_vec(),
        })
    }
}

impl Operator for DenseOperator {
    fn dim(&self) -> usize {
        self.n
    }

    fn apply(&self, v: &[f64], out: &mut [f64]) -> Result<()> {
        let op = "DenseOperator::apply";
        check_lengths(op, self.n, v, out)?;
        if let Some(i) = v.iter().position(|x| !x.is_finite()) {
            return Err(Error::NonFinite {
                op,
                what: format!("{} at element {i} of the vector", v[i]),
            });
        }
        for (o, row) in out.iter_mut().zip(self.values.chunks_exact(self.n)) {
            *o = row.iter().zip(v).map(|(a, b)| a * b).sum();
        }
        if let Some(i) = out.iter().position(|x| !x.is_finite()) {
            return Err(Error::NonFinite {
                op,
                what: format!("{} at element {i} of the product (overflow)", out[i]),
            });
        }
        Ok(())
    }

    fn name(&self) -> &'static str {
        "dense matrix"
    }
}
