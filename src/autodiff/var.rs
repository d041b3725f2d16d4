//! `Var<'t, F>`: a `Copy` handle to a node of a tape.

use crate::element::Element;
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tensor::Tensor;

use super::{Gradients, Tape};

/// A variable: a `Copy` handle to one node of a [`Tape`], borrowing the tape
/// so that it cannot outlive it.
///
/// Arithmetic operators broadcast by NumPy rules. They panic on shapes that
/// do not broadcast (with the message the `try_` twin returns as an
/// [`Error`](crate::Error)); every named method whose validity depends on
/// shapes returns a [`Result`].
///
/// ```
/// use gradsign::{Tape, Tensor};
/// let tape = Tape::<f64>::new();
/// let x = tape.var(&Tensor::from_vec(vec![1.0, 2.0], &[2])?);
/// let y = x * x + x * 5.0;       // x² + 5x, element-wise
/// assert_eq!(y.value().as_slice(), &[6.0, 14.0]);
/// # Ok::<(), gradsign::Error>(())
/// ```
#[derive(Clone, Copy)]
pub struct Var<'t, F: Element> {
    tape: &'t Tape<F>,
    id: u32,
}

impl<F: Element> std::fmt::Debug for Var<'_, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.tape.inner.borrow();
        let node = &inner.nodes[self.id as usize];
        write!(
            f,
            "Var#{} {} {} on tape #{}",
            self.id,
            node.op,
            node.shape,
            self.tape.id()
        )
    }
}

impl<'t, F: Element> Var<'t, F> {
    pub(crate) fn new(tape: &'t Tape<F>, id: u32) -> Self {
        Var { tape, id }
    }

    /// The tape this variable belongs to.
    #[inline]
    pub fn tape(&self) -> &'t Tape<F> {
        self.tape
    }

    /// The node index on its tape.
    #[inline]
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The shape of the value.
    #[inline]
    pub fn shape(&self) -> Shape {
        self.tape.inner.borrow().nodes[self.id as usize].shape
    }

    /// The dimensions of the value.
    pub fn dims(&self) -> Vec<usize> {
        self.shape().dims().to_vec()
    }

    /// Whether this variable receives a gradient (it is a differentiable leaf
    /// or depends on one).
    pub fn requires_grad(&self) -> bool {
        self.tape.inner.borrow().nodes[self.id as usize].needs_grad()
    }

    /// The name of the op that produced this variable (`"var"`, `"constant"`,
    /// `"add"`, `"matmul"`...).
    pub fn op(&self) -> &'static str {
        self.tape.inner.borrow().nodes[self.id as usize].op
    }

    /// A copy of the value.
    pub fn value(&self) -> Tensor<F> {
        self.tape.value_of(self.id)
    }

    /// Calls `f` on the value in place, without copying it.
    ///
    /// ```
    /// let tape = gradsign::Tape::<f64>::new();
    /// let x = tape.var_scalar(4.0);
    /// assert_eq!(x.with_value(|v| v[0] * 2.0), 8.0);
    /// ```
    pub fn with_value<R>(&self, f: impl FnOnce(&[F]) -> R) -> R {
        let inner = self.tape.inner.borrow();
        let n = &inner.nodes[self.id as usize];
        f(&inner.values[n.offset..n.offset + n.len])
    }

    /// The value of a one-element variable.
    ///
    /// # Errors
    /// [`Error::RankMismatch`] if it has more than one element.
    pub fn item(&self) -> Result<F> {
        let shape = self.shape();
        if shape.numel() != 1 {
            return Err(Error::RankMismatch {
                op: "item",
                expected: "0 (one element)",
                shape,
            });
        }
        Ok(self.with_value(|v| v[0]))
    }

    /// Reverse-mode differentiation from this scalar: `∂self/∂v` for every
    /// variable `v` that needs a gradient.
    ///
    /// # Errors
    /// [`Error::NonScalarRoot`] if this variable has more than one element
    /// (use [`backward_with_seed`](Self::backward_with_seed));
    /// [`Error::NonFinite`] in checked mode (see
    /// [`Tape::set_checked`](crate::Tape::set_checked)) at the first backward
    /// rule that produces a non-finite gradient.
    pub fn backward(&self) -> Result<Gradients<F>> {
        let mut grads = Gradients::new();
        self.backward_into(&mut grads)?;
        Ok(grads)
    }

    /// Like [`backward`](Self::backward), reusing `grads`' buffer: a training
    /// loop allocates nothing once warm.
    ///
    /// ```
    /// use gradsign::{Gradients, Tape};
    /// let mut tape = Tape::<f64>::new();
    /// let mut grads = Gradients::new();
    /// for step in 0..3 {
    ///     tape.clear();
    ///     let x = tape.var_scalar(step as f64);
    ///     (x * x).backward_into(&mut grads)?;
    ///     assert_eq!(grads.get(x)?, &[2.0 * step as f64]);
    /// }
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`backward`](Self::backward).
    pub fn backward_into(&self, grads: &mut Gradients<F>) -> Result<()> {
        let shape = self.shape();
        if shape.numel() != 1 {
            return Err(Error::NonScalarRoot { shape });
        }
        self.tape.backward_into(self.id, None, grads)
    }

    /// Reverse-mode differentiation from a non-scalar root: the
    /// vector-Jacobian product `seedᵀ·∂self/∂v`.
    ///
    /// ```
    /// use gradsign::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(&Tensor::from_vec(vec![1.0, 2.0], &[2])?);
    /// let y = x * x;
    /// let g = y.backward_with_seed(&Tensor::from_vec(vec![1.0, 10.0], &[2])?)?;
    /// assert_eq!(g.get(x)?, &[2.0, 40.0]);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if `seed`'s shape is not this variable's;
    /// [`Error::NonFinite`] in checked mode, as for
    /// [`backward`](Self::backward).
    pub fn backward_with_seed(&self, seed: &Tensor<F>) -> Result<Gradients<F>> {
        let shape = self.shape();
        if seed.shape() != shape {
            return Err(Error::ShapeMismatch {
                op: "backward_with_seed",
                lhs: shape,
                rhs: seed.shape(),
                reason: "the seed must have the root's shape",
            });
        }
        let mut grads = Gradients::new();
        self.tape
            .backward_into(self.id, Some(seed.as_slice()), &mut grads)?;
        Ok(grads)
    }
}
