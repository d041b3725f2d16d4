//! `Gradients<F>`: the store the backward sweep fills, keyed by variable.

use crate::element::Element;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

use super::Var;

/// The gradients of one backward sweep: `∂root/∂v` for every variable `v`
/// that needs one (differentiable leaves and every intermediate that depends
/// on them), looked up by the [`Var`].
///
/// Gradients live here, not on the values, so there is no `zero_grad`
/// ritual. A `Gradients` can be reused across steps with
/// [`Var::backward_into`], which keeps its buffer: no allocation once warm.
///
/// ```
/// use gradsign::Tape;
/// let tape = Tape::<f64>::new();
/// let x = tape.var_scalar(2.0);
/// let h = x * x;            // an intermediate
/// let y = h * 3.0;
/// let g = y.backward()?;
/// assert_eq!(g.get(x)?, &[12.0]); // d(3x²)/dx = 6x
/// assert_eq!(g.get(h)?, &[3.0]);  // dy/dh
/// # Ok::<(), gradsign::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Gradients<F> {
    tape_id: u64,
    generation: u64,
    /// Nodes on the tape when the sweep ran: a variable recorded later has
    /// no slot here.
    nodes: usize,
    pub(crate) data: Vec<F>,
    /// Per node, during a sweep: whether its slot in `data` is still
    /// unwritten (holding whatever the last sweep left). Every such slot is
    /// zeroed when the sweep ends.
    pub(crate) unwritten: Vec<bool>,
}

impl<F: Element> Gradients<F> {
    /// An empty store, to be filled by [`Var::backward_into`].
    pub fn new() -> Self {
        Gradients {
            tape_id: 0,
            generation: 0,
            nodes: 0,
            data: Vec::new(),
            unwritten: Vec::new(),
        }
    }

    pub(crate) fn reset(&mut self, tape_id: u64, generation: u64, nodes: usize, len: usize) {
        self.tape_id = tape_id;
        self.generation = generation;
        self.nodes = nodes;
        // The old contents stay: each slot is zeroed or overwritten by the
        // first rule that writes it, and the ones none writes are zeroed
        // when the sweep ends ([`zero_unwritten`](Self::zero_unwritten)),
        // so a warm sweep does not clear the whole buffer first.
        self.data.resize(len, F::zero());
        self.unwritten.clear();
        self.unwritten.resize(nodes, true);
    }

    /// Zeroes the slot of every node in `nodes` that needs a gradient and
    /// that no rule wrote in this sweep, so that every slot holds this
    /// sweep's gradient.
    pub(crate) fn zero_unwritten(&mut self, nodes: &[super::tape::Node<F>]) {
        for (node, unwritten) in nodes.iter().zip(&mut self.unwritten) {
            if std::mem::take(unwritten) && node.needs_grad() {
                self.data[node.grad_offset..node.grad_offset + node.len].fill(F::zero());
            }
        }
    }

    /// `∂root/∂v` as a flat row-major slice of `v`'s shape.
    ///
    /// ```
    /// use gradsign::Tape;
    /// let mut tape = Tape::<f64>::new();
    /// let g = {
    ///     let x = tape.var_scalar(2.0);
    ///     (x * x).backward()?
    /// };
    /// tape.clear();
    /// let y = tape.var_scalar(2.0);
    /// assert!(g.get(y).is_err()); // computed before the clear
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::ForeignVar`] if `v` is from another tape;
    /// [`Error::NoGradient`] if `v` is from this tape but not from the
    /// graph these gradients were computed on (recorded after the sweep, or
    /// after a [`Tape::clear`](crate::Tape::clear)), or if `v` is a constant,
    /// or depends only on constants, and so has no gradient.
    pub fn get(&self, v: Var<'_, F>) -> Result<&[F]> {
        let tape = v.tape();
        if tape.id() != self.tape_id {
            return Err(Error::ForeignVar {
                op: "gradient lookup",
                expected: self.tape_id,
                found: tape.id(),
            });
        }
        let inner = tape.inner.borrow();
        let node = &inner.nodes[v.id() as usize];
        if tape.generation() != self.generation || v.id() as usize >= self.nodes {
            return Err(Error::NoGradient {
                op: "gradient lookup",
                what: format!(
                    "variable #{} ({} {}) was recorded on tape #{} after these gradients were computed{}",
                    v.id(),
                    node.op,
                    node.shape,
                    tape.id(),
                    if tape.generation() != self.generation {
                        " (the tape has been cleared since)"
                    } else {
                        ""
                    }
                ),
            });
        }
        if !node.needs_grad() {
            return Err(Error::NoGradient {
                op: "gradient lookup",
                what: format!(
                    "variable #{} ({} {}) does not depend on any differentiable leaf, so it has no gradient",
                    v.id(),
                    node.op,
                    node.shape
                ),
            });
        }
        let (start, n) = (node.grad_offset, node.len);
        Ok(&self.data[start..start + n])
    }

    /// `∂root/∂v` as a tensor of `v`'s shape.
    ///
    /// ```
    /// use gradsign::{Tape, Tensor};
    /// let tape = Tape::<f32>::new();
    /// let w = tape.var(&Tensor::ones(&[2, 2])?);
    /// let g = w.sum().backward()?;
    /// assert_eq!(g.tensor(w)?, Tensor::ones(&[2, 2])?);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn tensor(&self, v: Var<'_, F>) -> Result<Tensor<F>> {
        let data = self.get(v)?.to_vec();
        Tensor::from_vec_shape(data, v.shape())
    }
}
