//! What an op's kernels see: [`ForwardInputs`] while recording, and
//! [`BackwardCtx`] during the backward sweep.

use std::cell::{RefCell, RefMut};

use crate::element::Element;
use crate::shape::Shape;

use super::saved::Saved;
use super::tape::Node;

/// What an op's forward kernel reads: its inputs' values and shapes.
pub struct ForwardInputs<'a, F> {
    pub(crate) values: &'a [F],
    pub(crate) nodes: &'a [Node<F>],
    pub(crate) parents: &'a [u32],
    pub(crate) indices: &'a [usize],
    pub(crate) threads: usize,
    pub(crate) scratch: &'a RefCell<Vec<F>>,
}

impl<'a, F: Element> ForwardInputs<'a, F> {
    /// Input `i`'s values.
    #[inline]
    pub fn value(&self, i: usize) -> &'a [F] {
        let n = &self.nodes[self.parents[i] as usize];
        &self.values[n.offset..n.offset + n.len]
    }

    /// Input `i`'s shape.
    #[inline]
    pub fn shape(&self, i: usize) -> Shape {
        self.nodes[self.parents[i] as usize].shape
    }

    /// The tape's integer side buffer (see [`BackwardCtx::indices`]).
    #[inline]
    pub fn indices(&self) -> &'a [usize] {
        self.indices
    }

    /// Threads the kernels may use.
    #[inline]
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The tape's working space (see [`scratch_slice`]).
    pub(crate) fn scratch(&self) -> RefMut<'a, Vec<F>> {
        self.scratch.borrow_mut()
    }
}

/// The first `len` elements of an op's working space, grown (never shrunk)
/// to fit: their contents are whatever the last op left, so a kernel must
/// write before it reads. Growing checks the size first; an op that
/// reserved its backward's space while recording ([`reserve_scratch`])
/// never grows it in the backward sweep.
pub(crate) fn scratch_slice<F: Element>(v: &mut Vec<F>, len: usize) -> &mut [F] {
    if v.len() < len {
        v.resize(len, F::zero());
    }
    &mut v[..len]
}

/// Makes room for `len` elements of working space, as a [`TooLarge`]
/// error naming `op` when that cannot be had.
///
/// [`TooLarge`]: crate::Error::TooLarge
pub(crate) fn reserve_scratch<F: Element>(
    v: &mut Vec<F>,
    op: &'static str,
    len: usize,
) -> crate::Result<()> {
    if v.len() < len {
        v.try_reserve(len - v.len())
            .map_err(|e| crate::Error::TooLarge {
                op,
                what: format!("{len} elements of working space"),
                reason: e.to_string(),
            })?;
        v.resize(len, F::zero());
    }
    Ok(())
}

/// Two inputs' gradient slots, each `None` when that input needs none.
pub(crate) type TwoSlots<'s, F> = (Option<&'s mut [F]>, Option<&'s mut [F]>);

/// [`TwoSlots`] with each slot's mode (see [`Slot`]).
pub(crate) type TwoSlotsOf<'s, F> = (Option<Slot<'s, F>>, Option<Slot<'s, F>>);

/// What an op's backward rule sees: its inputs, its output, the gradient
/// flowing into the output, and mutable gradient slots of the inputs.
pub struct BackwardCtx<'a, F> {
    pub(crate) node: &'a Node<F>,
    pub(crate) nodes: &'a [Node<F>],
    pub(crate) values: &'a [F],
    pub(crate) indices: &'a [usize],
    pub(crate) grad_out: &'a [F],
    /// The gradient buffer below this node's slot: every parent's slot lies
    /// here, because parents were recorded first.
    pub(crate) grads: &'a mut [F],
    /// Per node below this one: whether its gradient slot is still
    /// unwritten in this sweep (its contents are whatever the buffer held
    /// before), so that the first rule to reach it zeroes it or overwrites
    /// it instead of adding.
    pub(crate) unwritten: &'a mut [bool],
    pub(crate) threads: usize,
    pub(crate) scratch: &'a RefCell<Vec<F>>,
}

/// An input's gradient slot as [`BackwardCtx::grad_slot`] hands it out:
/// `accumulate` when it already holds other rules' contributions (add into
/// it), otherwise its contents are unspecified and the rule must write
/// every element.
pub(crate) struct Slot<'s, F> {
    pub(crate) data: &'s mut [F],
    pub(crate) accumulate: bool,
}

impl<'s, F: Element> Slot<'s, F> {
    /// The slot to add into: zeroed first if it was unwritten.
    #[inline]
    pub(crate) fn zeroed(self) -> &'s mut [F] {
        if !self.accumulate {
            self.data.fill(F::zero());
        }
        self.data
    }
}

impl<'a, F: Element> BackwardCtx<'a, F> {
    #[inline]
    fn parent(&self, i: usize) -> &'a Node<F> {
        &self.nodes[self.input_id(i)]
    }

    /// Input `i`'s value.
    ///
    /// # Panics
    /// If `i` is not below the op's number of inputs (a bug in the op's
    /// backward rule); so do the other accessors taking an input number.
    #[inline]
    pub fn input(&self, i: usize) -> &'a [F] {
        let p = self.parent(i);
        &self.values[p.offset..p.offset + p.len]
    }

    /// The first element of input `i`'s value (the whole value of a
    /// one-element input), with one bounds check instead of a slice's.
    #[inline]
    pub(crate) fn input_first(&self, i: usize) -> F {
        self.values[self.parent(i).offset]
    }

    /// The first element of input `i`'s gradient slot (the whole slot of a
    /// one-element input) with whether it already holds other rules'
    /// contributions, as [`grad_slot`](Self::grad_slot) gives the slot;
    /// `None` when that input needs no gradient. One bounds check instead
    /// of a slice's.
    #[inline]
    pub(crate) fn grad_first(&mut self, i: usize) -> Option<(&mut F, bool)> {
        let id = self.input_id(i);
        let p = &self.nodes[id];
        if !p.needs_grad() {
            return None;
        }
        let accumulate = !std::mem::replace(&mut self.unwritten[id], false);
        Some((&mut self.grads[p.grad_offset], accumulate))
    }

    /// Input `i`'s shape.
    #[inline]
    pub fn input_shape(&self, i: usize) -> Shape {
        self.parent(i).shape
    }

    /// The op's output value.
    #[inline]
    pub fn output(&self) -> &'a [F] {
        &self.values[self.node.offset..self.node.offset + self.node.len]
    }

    /// The op's output shape.
    #[inline]
    pub fn output_shape(&self) -> Shape {
        self.node.shape
    }

    /// `∂L/∂output`.
    #[inline]
    pub fn grad_out(&self) -> &'a [F] {
        self.grad_out
    }

    /// The state the op saved when it was recorded (the `saved` argument
    /// of [`Tape::record`](super::Tape::record)), as the type it was saved
    /// as.
    ///
    /// # Panics
    /// In debug builds, if `S` is not the type the op saved (a bug in the
    /// op's code: its backward rule reads another op's state).
    #[inline]
    pub fn saved<S: Saved<F>>(&self) -> S {
        #[cfg(debug_assertions)]
        assert!(
            self.node.saved_type == std::any::TypeId::of::<S>(),
            "{}: the backward rule reads its saved state as {}, which is not the type it was recorded with",
            self.node.op,
            std::any::type_name::<S>()
        );
        S::unpack(&self.node.saved)
    }

    /// The tape's integer side buffer.
    #[inline]
    pub fn indices(&self) -> &'a [usize] {
        self.indices
    }

    /// Threads the kernels may use.
    #[inline]
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The tape's working space (see [`scratch_slice`]).
    pub(crate) fn scratch(&self) -> RefMut<'a, Vec<F>> {
        self.scratch.borrow_mut()
    }

    /// Input `i`'s gradient slot, to add into; `None` when that input needs no
    /// gradient (a constant), so the rule can skip the work.
    #[inline]
    pub fn grad_input(&mut self, i: usize) -> Option<&mut [F]> {
        self.grad_slot(i).map(Slot::zeroed)
    }

    /// Input `i`'s gradient slot with whether it already holds other rules'
    /// contributions (see [`Slot`]); `None` when that input needs no
    /// gradient. The slot counts as written from here on: a rule given one
    /// with `accumulate == false` must write every element.
    #[inline]
    pub(crate) fn grad_slot(&mut self, i: usize) -> Option<Slot<'_, F>> {
        let id = self.input_id(i);
        let p = &self.nodes[id];
        if !p.needs_grad() {
            return None;
        }
        let accumulate = !std::mem::replace(&mut self.unwritten[id], false);
        Some(Slot {
            data: &mut self.grads[p.grad_offset..p.grad_offset + p.len],
            accumulate,
        })
    }

    /// The node number of input `i`.
    #[inline]
    fn input_id(&self, i: usize) -> usize {
        if i >= self.node.n_parents as usize {
            missing_input(self.node.op, i, self.node.n_parents);
        }
        self.node.parents[i] as usize
    }

    /// The gradient slots of inputs `i` and `j` at once (each `None` when
    /// that input needs no gradient), so that two products can fill them
    /// concurrently; `None` if both need one and share a slot (the same
    /// variable passed twice).
    pub(crate) fn two_grad_inputs(&mut self, i: usize, j: usize) -> Option<TwoSlots<'_, F>> {
        let (a, b) = self.two_grad_slots(i, j)?;
        Some((a.map(Slot::zeroed), b.map(Slot::zeroed)))
    }

    /// [`two_grad_inputs`](Self::two_grad_inputs) as [`Slot`]s, for rules
    /// that overwrite an unwritten slot.
    pub(crate) fn two_grad_slots(&mut self, i: usize, j: usize) -> Option<TwoSlotsOf<'_, F>> {
        let (ii, jj) = (self.input_id(i), self.input_id(j));
        let range = |p: &Node<F>| p.needs_grad().then_some((p.grad_offset, p.len));
        let (ri, rj) = (range(&self.nodes[ii]), range(&self.nodes[jj]));
        if let (Some((oi, ni)), Some((oj, nj))) = (ri, rj)
            && !(oi + ni <= oj || oj + nj <= oi)
        {
            return None;
        }
        // Distinct slots (checked above), so distinct nodes: each flag is
        // taken once, and only for an input that gets a slot.
        let mut written = |id: usize| !std::mem::replace(&mut self.unwritten[id], false);
        let ai = ri.is_some() && written(ii);
        let aj = rj.is_some() && written(jj);
        let slot = |data, accumulate| Slot { data, accumulate };
        Some(match (ri, rj) {
            (Some((oi, ni)), Some((oj, nj))) => {
                if oi < oj {
                    let (lo, hi) = self.grads.split_at_mut(oj);
                    (
                        Some(slot(&mut lo[oi..oi + ni], ai)),
                        Some(slot(&mut hi[..nj], aj)),
                    )
                } else {
                    let (lo, hi) = self.grads.split_at_mut(oi);
                    (
                        Some(slot(&mut hi[..ni], ai)),
                        Some(slot(&mut lo[oj..oj + nj], aj)),
                    )
                }
            }
            (Some((o, n)), None) => (Some(slot(&mut self.grads[o..o + n], ai)), None),
            (None, Some((o, n))) => (None, Some(slot(&mut self.grads[o..o + n], aj))),
            (None, None) => (None, None),
        })
    }

    /// Input `i`'s gradient slot together with the read-only pieces a
    /// backward kernel needs at the same time.
    #[inline]
    pub fn split(&mut self, i: usize) -> (Option<&mut [F]>, &'a [F], &'a [F]) {
        let (gout, out) = (self.grad_out, self.output());
        (self.grad_input(i), gout, out)
    }
}

/// The panic of a backward rule that reads an input its op does not have
/// (a bug in the op, never user input); out of line to keep the accessors
/// small.
#[cold]
#[inline(never)]
fn missing_input(op: &str, i: usize, n: u8) -> ! {
    panic!("{op}: the backward rule asked for input {i} of an op with {n} input(s)")
}
