//! `Tape<F>`: an append-only list of nodes whose order is a topological
//! order, so the backward sweep is one loop from the last node to the first.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::element::Element;
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tensor::Tensor;

use super::saved::{Saved, Slots};
use super::{BackwardCtx, ForwardInputs, Gradients, Var};

/// Marks a node that receives no gradient.
pub(crate) const NO_GRAD: usize = usize::MAX;

/// Up to this many parents per node.
pub(crate) const MAX_PARENTS: usize = 3;

static NEXT_TAPE_ID: AtomicU64 = AtomicU64::new(1);

/// The backward rule of an op: reads the node's inputs, output and `grad_out`
/// from the context and **adds** each input's vector-Jacobian product into
/// its gradient slot.
pub type BackwardFn<F> = fn(&mut BackwardCtx<'_, F>);

#[derive(Clone, Copy)]
pub(crate) struct Node<F> {
    pub(crate) shape: Shape,
    /// `shape.numel()`, read on every access to the value or gradient.
    pub(crate) len: usize,
    /// Start of the value in `values`.
    pub(crate) offset: usize,
    /// Start of the gradient in the gradient buffer, or [`NO_GRAD`].
    pub(crate) grad_offset: usize,
    pub(crate) parents: [u32; MAX_PARENTS],
    /// How many of `parents` are real: reading past them is a bug in an
    /// op's code, caught instead of silently reading node 0.
    pub(crate) n_parents: u8,
    pub(crate) backward: Option<BackwardFn<F>>,
    /// The op's saved state, packed by its [`Saved`] impl.
    pub(crate) saved: Slots<F>,
    /// The type that packed `saved`: a backward rule reading another type
    /// is caught in debug builds.
    #[cfg(debug_assertions)]
    pub(crate) saved_type: std::any::TypeId,
    pub(crate) op: &'static str,
}

impl<F> Node<F> {
    #[inline]
    pub(crate) fn needs_grad(&self) -> bool {
        self.grad_offset != NO_GRAD
    }
}

pub(crate) struct Inner<F> {
    pub(crate) nodes: Vec<Node<F>>,
    /// Every node's value; only `..used` belongs to the current graph. The
    /// rest is kept across `clear` with whatever the last graph wrote, so
    /// that an op which overwrites its whole output
    /// ([`Tape::record_overwriting`]) is not given zeros to overwrite.
    pub(crate) values: Vec<F>,
    /// The end of the current graph's values.
    pub(crate) used: usize,
    /// Integer side data of ops (labels, gather indices).
    pub(crate) indices: Vec<usize>,
    pub(crate) grad_len: usize,
    pub(crate) threads: usize,
    pub(crate) checked: bool,
}

/// An append-only record of a computation, for reverse-mode differentiation.
///
/// Values live in one buffer owned by the tape; a [`Var`] is a `Copy` handle
/// (an index) that borrows the tape, so it cannot outlive it. Recording an op
/// appends one node and, only if some input needs a gradient, its backward
/// rule. [`Var::backward`] then runs one loop from the last node to the
/// first: no recursion, so a chain of a million nodes is fine.
///
/// [`clear`](Self::clear) forgets every node but keeps the buffers, so a
/// training loop that reuses one tape allocates nothing once warm.
///
/// ```
/// use gradsign::{Tape, Tensor};
/// let tape = Tape::<f64>::new();
/// let x = tape.var(&Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3])?);
/// let y = (x * x).sum();             // Σ x²
/// let grads = y.backward()?;
/// assert_eq!(grads.get(x)?, &[2.0, 4.0, 6.0]); // 2x
/// # Ok::<(), gradsign::Error>(())
/// ```
pub struct Tape<F: Element> {
    id: u64,
    /// Bumped by `clear`, so gradients from before cannot be read with the
    /// variables of after.
    generation: u64,
    pub(crate) inner: RefCell<Inner<F>>,
    /// Working space an op's kernels may use while they run (a convolution's
    /// per-example patch matrices), kept across `clear` like the other
    /// buffers; its contents mean nothing between uses.
    pub(crate) scratch: RefCell<Vec<F>>,
}

impl<F: Element> Default for Tape<F> {
    fn default() -> Self {
        Self::new()
    }
}

impl<F: Element> std::fmt::Debug for Tape<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.inner.borrow();
        f.debug_struct("Tape")
            .field("id", &self.id)
            .field("nodes", &inner.nodes.len())
            .field("values", &inner.used)
            .field("threads", &inner.threads)
            .finish()
    }
}

impl<F: Element> Tape<F> {
    /// An empty tape using one thread for its kernels.
    pub fn new() -> Self {
        Tape {
            id: NEXT_TAPE_ID.fetch_add(1, Ordering::Relaxed),
            generation: 0,
            inner: RefCell::new(Inner {
                nodes: Vec::new(),
                values: Vec::new(),
                used: 0,
                indices: Vec::new(),
                grad_len: 0,
                threads: 1,
                checked: false,
            }),
            scratch: RefCell::new(Vec::new()),
        }
    }

    /// This tape's unique id (named in [`Error::ForeignVar`]).
    pub fn id(&self) -> u64 {
        self.id
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    /// Sets how many threads the large kernels (matrix products) may use.
    /// Results do not depend on it beyond floating-point reassociation inside
    /// a product. Small graphs are fastest at 1, the default.
    ///
    /// The kernels share their work out on rayon's pool. Called from a
    /// thread outside a pool, each parallel product hands its pieces to the
    /// pool and waits; running the training loop inside
    /// [`Workers::run`](crate::threads::Workers::run) makes the calling
    /// thread one of the workers and keeps the others awake between
    /// products (the `workloads` example does this).
    ///
    /// The request is clamped to `1 ..= `[`max_threads`](crate::threads::max_threads)`()`,
    /// the crate's rule for every thread count (see
    /// [`threads`](crate::threads#thread-counts)): 0 means 1, and more threads
    /// than the machine has (up to `usize::MAX`) means all of them.
    ///
    /// ```
    /// use gradsign::threads::max_threads;
    /// let mut tape = gradsign::Tape::<f32>::new();
    /// tape.set_threads(2);
    /// assert_eq!(tape.threads(), 2.min(max_threads()));
    /// tape.set_threads(usize::MAX);
    /// assert_eq!(tape.threads(), max_threads());
    /// tape.set_threads(0);
    /// assert_eq!(tape.threads(), 1);
    /// ```
    pub fn set_threads(&mut self, threads: usize) {
        self.inner.get_mut().threads = crate::threads::clamp_threads(threads);
    }

    /// Threads the kernels may use (already clamped, see
    /// [`set_threads`](Self::set_threads)).
    pub fn threads(&self) -> usize {
        self.inner.borrow().threads
    }

    /// Checked mode (like an anomaly detector): when on, every op checks its
    /// output and fails with [`Error::NonFinite`] at the first NaN or
    /// infinity, naming the op and where its inputs came from (operators,
    /// which cannot return an error, panic with that message instead; their
    /// `try_` twins return it). The backward sweep checks every gradient a
    /// backward rule adds into, and fails at the first non-finite one, naming
    /// the op whose rule produced it and the input it was for. Leaves
    /// (`var`, `constant`) are not checked: a NaN in the data is reported by
    /// the first op that reads it. Off by default: then NaN and infinity
    /// propagate by IEEE 754 rules through values and gradients.
    ///
    /// ```
    /// use gradsign::{Tape, Tensor, Error};
    /// let mut tape = Tape::<f64>::new();
    /// tape.set_checked(true);
    /// let x = tape.var(&Tensor::from_vec(vec![-1.0], &[1])?);
    /// let err = x.try_ln().unwrap_err();
    /// assert!(matches!(err, Error::NonFinite { op: "ln", .. }));
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    pub fn set_checked(&mut self, checked: bool) {
        self.inner.get_mut().checked = checked;
    }

    /// Forgets every node but keeps the allocated buffers: a training loop
    /// that clears one tape each step allocates nothing once warm. Taking
    /// `&mut self` guarantees no [`Var`] of the old graph survives.
    ///
    /// ```
    /// let mut tape = gradsign::Tape::<f64>::new();
    /// for _ in 0..3 {
    ///     tape.clear();
    ///     let x = tape.var_scalar(3.0);
    ///     let g = (x * x).backward()?;
    ///     assert_eq!(g.get(x)?, &[6.0]);
    /// }
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    pub fn clear(&mut self) {
        let inner = self.inner.get_mut();
        inner.nodes.clear();
        inner.used = 0;
        inner.indices.clear();
        inner.grad_len = 0;
        self.generation += 1;
    }

    /// The number of nodes recorded.
    pub fn len(&self) -> usize {
        self.inner.borrow().nodes.len()
    }

    /// Whether nothing has been recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Records a leaf with the given data.
    fn leaf(&self, op: &'static str, data: &[F], shape: Shape, needs_grad: bool) -> Var<'_, F> {
        let mut inner = self.inner.borrow_mut();
        debug_assert_eq!(data.len(), shape.numel());
        let offset = inner.used;
        let end = offset + data.len();
        if inner.values.len() < end {
            inner.values.truncate(offset);
            inner.values.extend_from_slice(data);
        } else {
            // A large leaf (a layer's weight, an input batch) is copied by
            // the tape's threads.
            let threads = inner.threads;
            crate::ops::in_halves(threads, &mut inner.values[offset..end], &|r, out| {
                out.copy_from_slice(&data[r]);
            });
        }
        inner.used = end;
        let grad_offset = if needs_grad {
            let g = inner.grad_len;
            inner.grad_len += data.len();
            g
        } else {
            NO_GRAD
        };
        let id = inner.nodes.len() as u32;
        inner.nodes.push(Node {
            shape,
            len: data.len(),
            offset,
            grad_offset,
            parents: [0; MAX_PARENTS],
            n_parents: 0,
            backward: None,
            saved: ().pack(),
            #[cfg(debug_assertions)]
            saved_type: std::any::TypeId::of::<()>(),
            op,
        });
        Var::new(self, id)
    }

    /// A differentiable leaf holding a copy of `value`: its gradient is
    /// available from [`Gradients`] after backward.
    pub fn var(&self, value: &Tensor<F>) -> Var<'_, F> {
        self.leaf("var", value.as_slice(), value.shape(), true)
    }

    /// A differentiable leaf from a slice and a shape (no intermediate
    /// [`Tensor`]).
    ///
    /// # Errors
    /// [`Error::DataLength`] on a length mismatch.
    pub fn var_from_slice(&self, data: &[F], dims: &[usize]) -> Result<Var<'_, F>> {
        let shape = checked_shape("var_from_slice", data.len(), dims)?;
        Ok(self.leaf("var", data, shape, true))
    }

    /// A differentiable 0-d leaf.
    pub fn var_scalar(&self, value: F) -> Var<'_, F> {
        self.leaf("var", &[value], Shape::scalar(), true)
    }

    /// A constant: recorded, but never differentiated (no gradient slot, and
    /// ops whose inputs are all constants record no backward rule).
    pub fn constant(&self, value: &Tensor<F>) -> Var<'_, F> {
        self.leaf("constant", value.as_slice(), value.shape(), false)
    }

    /// A constant from a slice and a shape.
    ///
    /// # Errors
    /// [`Error::DataLength`] on a length mismatch.
    pub fn constant_from_slice(&self, data: &[F], dims: &[usize]) -> Result<Var<'_, F>> {
        let shape = checked_shape("constant_from_slice", data.len(), dims)?;
        Ok(self.leaf("constant", data, shape, false))
    }

    /// A 0-d constant.
    pub fn constant_scalar(&self, value: F) -> Var<'_, F> {
        self.leaf("constant", &[value], Shape::scalar(), false)
    }

    /// Appends integer side data (labels, indices) for an op's forward and
    /// backward, returning its offset in the tape's index buffer.
    pub fn push_indices(&self, data: &[usize]) -> usize {
        let mut inner = self.inner.borrow_mut();
        let off = inner.indices.len();
        inner.indices.extend_from_slice(data);
        off
    }

    /// Records one op: checks every input comes from this tape, runs
    /// `forward` into a fresh output slot of `shape`, and stores `backward`
    /// only if some input needs a gradient.
    ///
    /// This is how every op in the crate is written, and how a user writes
    /// their own. `saved` is what the backward rule needs besides the
    /// inputs and the output (`()` for nothing, a scalar, or the op's own
    /// [`Saved`] type), stored inline in the node and read back with
    /// [`BackwardCtx::saved`]. `forward` fills the output (which starts
    /// zeroed) from the inputs; `backward` **adds** each input's
    /// vector-Jacobian product into its slot.
    ///
    /// ```
    /// use gradsign::{BackwardCtx, Tape, Tensor};
    /// /// y = c·x with the scalar c saved in the node; dx += c·g.
    /// fn scale_backward(ctx: &mut BackwardCtx<'_, f64>) {
    ///     let c: f64 = ctx.saved();
    ///     let g = ctx.grad_out();
    ///     if let Some(gx) = ctx.grad_input(0) {
    ///         for (d, &gi) in gx.iter_mut().zip(g) {
    ///             *d += c * gi;
    ///         }
    ///     }
    /// }
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(&Tensor::from_vec(vec![1.0, 2.0], &[2])?);
    /// let y = tape.record("scale", &[x], x.shape(), 3.0, scale_backward, |out, inp| {
    ///     for (o, &xi) in out.iter_mut().zip(inp.value(0)) {
    ///         *o = 3.0 * xi;
    ///     }
    /// })?;
    /// assert_eq!(y.value().as_slice(), &[3.0, 6.0]);
    /// assert_eq!(y.sum().backward()?.get(x)?, &[3.0, 3.0]);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::ForeignVar`] if an input belongs to another tape;
    /// [`Error::OutOfDomain`] for more than three inputs;
    /// [`Error::TooLarge`] for an output too large to allocate;
    /// [`Error::NonFinite`] in checked mode when the output is not finite.
    ///
    /// # Panics
    /// If `forward` reaches the tape through a [`Var`] (its `shape`, `value`,
    /// or another op): the tape is being written. Read inputs through the
    /// [`ForwardInputs`] it receives.
    pub fn record<'t, S: Saved<F>>(
        &'t self,
        op: &'static str,
        inputs: &[Var<'t, F>],
        shape: Shape,
        saved: S,
        backward: BackwardFn<F>,
        forward: impl FnOnce(&mut [F], &ForwardInputs<'_, F>),
    ) -> Result<Var<'t, F>> {
        self.record_impl(op, inputs, shape, saved, Some(backward), true, forward)
    }

    /// [`record`](Self::record) for an op whose `forward` writes every
    /// element of its output: the slot is handed over as it is (stale values
    /// of an earlier graph, once the tape is warm), not zeroed first.
    pub(crate) fn record_overwriting<'t, S: Saved<F>>(
        &'t self,
        op: &'static str,
        inputs: &[Var<'t, F>],
        shape: Shape,
        saved: S,
        backward: BackwardFn<F>,
        forward: impl FnOnce(&mut [F], &ForwardInputs<'_, F>),
    ) -> Result<Var<'t, F>> {
        self.record_impl(op, inputs, shape, saved, Some(backward), false, forward)
    }

    /// [`record`](Self::record) for an op that is never differentiated and
    /// never checked (`detach`): its node is a constant whatever its inputs.
    pub(crate) fn record_constant<'t>(
        &'t self,
        op: &'static str,
        inputs: &[Var<'t, F>],
        shape: Shape,
        forward: impl FnOnce(&mut [F], &ForwardInputs<'_, F>),
    ) -> Result<Var<'t, F>> {
        self.record_impl(op, inputs, shape, (), None, true, forward)
    }

    #[allow(clippy::too_many_arguments)]
    fn record_impl<'t, S: Saved<F>>(
        &'t self,
        op: &'static str,
        inputs: &[Var<'t, F>],
        shape: Shape,
        saved: S,
        backward: Option<BackwardFn<F>>,
        zeroed: bool,
        forward: impl FnOnce(&mut [F], &ForwardInputs<'_, F>),
    ) -> Result<Var<'t, F>> {
        if inputs.len() > MAX_PARENTS {
            return Err(too_many_inputs(op, inputs));
        }
        let mut parents = [0u32; MAX_PARENTS];
        for (slot, v) in parents.iter_mut().zip(inputs) {
            if !std::ptr::eq(v.tape(), self) {
                return Err(Error::ForeignVar {
                    op,
                    expected: self.id,
                    found: v.tape().id,
                });
            }
            *slot = v.id();
        }
        let mut guard = self.inner.borrow_mut();
        let inner = &mut *guard;
        let offset = inner.used;
        let n = shape.numel();
        let end = offset.checked_add(n).ok_or_else(|| Error::TooLarge {
            op,
            what: format!("the output {shape} ({n} elements)"),
            reason: "the tape's values would overflow a usize".into(),
        })?;
        if inner.values.len() < end {
            // Shapes are user input: summing the empty axis of [0, 2⁶¹]
            // asks for 2⁶¹ zeros. An impossible size is an error, not an
            // abort.
            let grow = end - inner.values.len();
            inner
                .values
                .try_reserve(grow)
                .map_err(|e| Error::TooLarge {
                    op,
                    what: format!("the output {shape} ({n} elements)"),
                    reason: e.to_string(),
                })?;
            inner.values.resize(end, F::zero());
        } else if zeroed {
            inner.values[offset..end].fill(F::zero());
        }
        inner.used = end;
        let (before, rest) = inner.values.split_at_mut(offset);
        let out = &mut rest[..n];
        let fwd = ForwardInputs {
            values: before,
            nodes: &inner.nodes,
            parents: &parents[..inputs.len()],
            indices: &inner.indices,
            threads: inner.threads,
            scratch: &self.scratch,
        };
        // An empty output needs no work, and its kernel's loops may still
        // run over the other dimensions: summing axis 1 of [2⁴⁰, 2²⁰, 0]
        // would loop 2⁶⁰ times to write nothing (found by fuzzing).
        if n > 0 {
            forward(out, &fwd);
        }
        let id = finish_node(
            inner,
            NewNode {
                op,
                shape,
                offset,
                parents,
                n_parents: inputs.len(),
                saved,
                backward,
            },
        )?;
        drop(guard);
        Ok(Var::new(self, id))
    }

    /// [`record_overwriting`](Self::record_overwriting) for an op whose
    /// `N` inputs each hold one element, all of the same shape (the scalar
    /// chains of W1): one borrow of the tape, `f` of the input values
    /// written in place, none of the general path's slices and closures.
    /// `None`, with nothing recorded, when an input is from another tape,
    /// holds more than one element or differs in shape: the caller then
    /// takes the general path, which reports what is wrong.
    #[inline]
    pub(crate) fn record_scalar<'t, S: Saved<F>, const N: usize>(
        &'t self,
        op: &'static str,
        inputs: [Var<'t, F>; N],
        saved: S,
        backward: BackwardFn<F>,
        f: impl FnOnce([F; N]) -> F,
    ) -> Option<Result<Var<'t, F>>> {
        const { assert!(N >= 1 && N <= MAX_PARENTS) };
        let mut parents = [0u32; MAX_PARENTS];
        for (slot, v) in parents.iter_mut().zip(&inputs) {
            if !std::ptr::eq(v.tape(), self) {
                return None;
            }
            *slot = v.id();
        }
        let mut guard = self.inner.borrow_mut();
        let inner = &mut *guard;
        let shape = inner.nodes[parents[0] as usize].shape;
        let mut xs = [F::zero(); N];
        for (x, &p) in xs.iter_mut().zip(&parents) {
            let node = &inner.nodes[p as usize];
            // Every dimension of a one-element shape is 1: two of them are
            // equal when their ranks are.
            if node.len != 1 || node.shape.rank() != shape.rank() {
                return None;
            }
            *x = inner.values[node.offset];
        }
        let value = f(xs);
        let offset = inner.used;
        if let Some(slot) = inner.values.get_mut(offset) {
            *slot = value;
        } else {
            if let Err(e) = inner.values.try_reserve(1) {
                return Some(Err(Error::TooLarge {
                    op,
                    what: format!("the output {shape} (1 element)"),
                    reason: e.to_string(),
                }));
            }
            inner.values.push(value);
        }
        inner.used = offset + 1;
        let node = NewNode {
            op,
            shape,
            offset,
            parents,
            n_parents: N,
            saved,
            backward: Some(backward),
        };
        Some(finish_node(inner, node).map(|id| {
            drop(guard);
            Var::new(self, id)
        }))
    }

    /// The backward sweep from `root`, seeded with `seed`, into `grads`.
    pub(crate) fn backward_into(
        &self,
        root: u32,
        seed: Option<&[F]>,
        grads: &mut Gradients<F>,
    ) -> Result<()> {
        let inner = self.inner.borrow();
        grads.reset(self.id, self.generation, inner.nodes.len(), inner.grad_len);
        let swept = sweep(&inner, &self.scratch, root, seed, grads);
        // Also after an error, so that no slot keeps a previous sweep's values.
        grads.zero_unwritten(&inner.nodes);
        swept
    }

    /// The value of a node, copied into a tensor.
    pub(crate) fn value_of(&self, id: u32) -> Tensor<F> {
        let inner = self.inner.borrow();
        let n = &inner.nodes[id as usize];
        Tensor::from_vec_shape(inner.values[n.offset..n.offset + n.len].to_vec(), n.shape)
            .expect("a node's value matches its shape")
    }
}

/// The backward sweep from `root` into `grads` (just reset): seeds the
/// root's slot, then runs each node's rule from the root down. A node whose
/// slot no rule has written has a zero gradient (it does not lead to the
/// root) and is skipped: its rule would add only zeros.
fn sweep<F: Element>(
    inner: &Inner<F>,
    scratch: &RefCell<Vec<F>>,
    root: u32,
    seed: Option<&[F]>,
    grads: &mut Gradients<F>,
) -> Result<()> {
    let root_node = &inner.nodes[root as usize];
    if !root_node.needs_grad() {
        // A constant root: every gradient is zero.
        return Ok(());
    }
    let n = root_node.len;
    let slot = &mut grads.data[root_node.grad_offset..root_node.grad_offset + n];
    match seed {
        Some(s) => slot.copy_from_slice(s),
        None => {
            slot.fill(F::zero());
            slot[0] = F::one();
        }
    }
    grads.unwritten[root as usize] = false;
    for (id, node) in inner.nodes[..=root as usize].iter().enumerate().rev() {
        let Some(backward) = node.backward else {
            continue;
        };
        if node.len == 0 || grads.unwritten[id] {
            // No output element, or a zero gradient flowing in: every
            // input's VJP is exactly zero.
            continue;
        }
        let n = node.len;
        let (before, rest) = grads.data.split_at_mut(node.grad_offset);
        let mut ctx = BackwardCtx {
            node,
            nodes: &inner.nodes,
            values: &inner.values,
            indices: &inner.indices,
            grad_out: &rest[..n],
            grads: before,
            unwritten: &mut grads.unwritten[..id],
            threads: inner.threads,
            scratch,
        };
        backward(&mut ctx);
        if inner.checked {
            check_input_gradients(&inner.nodes, id, before, &grads.unwritten)?;
        }
    }
    Ok(())
}

/// Checked mode's test after node `id`'s backward rule ran: every
/// gradient it added into is finite, or an error names the op, the input
/// and where that input came from. Parents' slots lie in `grads` (below the
/// node's own).
fn check_input_gradients<F: Element>(
    nodes: &[Node<F>],
    id: usize,
    grads: &[F],
    unwritten: &[bool],
) -> Result<()> {
    let node = &nodes[id];
    for (i, &p) in node.parents[..node.n_parents as usize].iter().enumerate() {
        let parent = &nodes[p as usize];
        if !parent.needs_grad() || unwritten[p as usize] {
            continue;
        }
        let slot = &grads[parent.grad_offset..parent.grad_offset + parent.len];
        if let Some(pos) = slot.iter().position(|g| !g.is_finite()) {
            return Err(Error::NonFinite {
                op: node.op,
                what: format!(
                    "{} in the gradient of input {i} ({} #{p} {}) at element {pos}, from the backward rule of {} #{id} {}",
                    slot[pos], parent.op, parent.shape, node.op, node.shape
                ),
            });
        }
    }
    Ok(())
}

/// The error of an op given more than [`MAX_PARENTS`] inputs (out of line:
/// recording a node is the engine's hottest path).
#[cold]
#[inline(never)]
fn too_many_inputs<F: Element>(op: &'static str, inputs: &[Var<'_, F>]) -> Error {
    Error::out_of_domain(
        op,
        "the input count",
        format!("at most {MAX_PARENTS}"),
        format_args!(
            "{} (shapes {})",
            inputs.len(),
            inputs
                .iter()
                .map(|v| v.shape().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )
}

/// A node whose output `values[offset..offset + shape.numel()]` is written,
/// for [`finish_node`].
struct NewNode<S, F> {
    op: &'static str,
    shape: Shape,
    offset: usize,
    parents: [u32; MAX_PARENTS],
    n_parents: usize,
    saved: S,
    backward: Option<BackwardFn<F>>,
}

/// The end of recording an op, shared by the general path and the scalar
/// one: checked mode's test of the output (an error, and the output slot
/// given back, if it is not finite), the gradient slot when an input needs
/// one, and the node appended. Returns the node's id.
#[inline(always)]
fn finish_node<F: Element, S: Saved<F>>(inner: &mut Inner<F>, node: NewNode<S, F>) -> Result<u32> {
    let NewNode {
        op,
        shape,
        offset,
        parents,
        n_parents,
        saved,
        backward,
    } = node;
    let n = shape.numel();
    let parents_used = &parents[..n_parents];
    if inner.checked && backward.is_some() {
        let out = &inner.values[offset..offset + n];
        if let Some(pos) = out.iter().position(|x| !x.is_finite()) {
            let err = non_finite(op, shape, pos, out[pos], parents_used, &inner.nodes);
            inner.used = offset;
            return Err(err);
        }
    }
    let needs_grad = backward.is_some()
        && parents_used
            .iter()
            .any(|&p| inner.nodes[p as usize].needs_grad());
    let grad_offset = if needs_grad {
        let g = inner.grad_len;
        inner.grad_len += n;
        g
    } else {
        NO_GRAD
    };
    let id = inner.nodes.len() as u32;
    inner.nodes.push(Node {
        shape,
        len: n,
        offset,
        grad_offset,
        parents,
        n_parents: n_parents as u8,
        backward: backward.filter(|_| needs_grad),
        saved: saved.pack(),
        #[cfg(debug_assertions)]
        saved_type: std::any::TypeId::of::<S>(),
        op,
    });
    Ok(id)
}

/// The checked-mode error for a non-finite output element `pos` (value
/// `bad`), naming where the op's inputs came from.
#[cold]
#[inline(never)]
fn non_finite<F: Element>(
    op: &'static str,
    shape: Shape,
    pos: usize,
    bad: F,
    parents: &[u32],
    nodes: &[Node<F>],
) -> Error {
    let from: Vec<String> = parents
        .iter()
        .map(|&p| {
            let node = &nodes[p as usize];
            format!("{} #{p} {}", node.op, node.shape)
        })
        .collect();
    let what = format!(
        "{bad} at element {pos} of the output {shape}; inputs: {}",
        from.join(", ")
    );
    Error::NonFinite { op, what }
}

fn checked_shape(op: &'static str, len: usize, dims: &[usize]) -> Result<Shape> {
    let shape = Shape::new(dims)?;
    if shape.numel() != len {
        return Err(Error::DataLength { op, len, shape });
    }
    Ok(shape)
}
