//! Optimisers: [`Sgd`] (momentum, Nesterov, weight decay), [`Adam`] and
//! [`AdamW`], behind one [`Optimizer`] trait, with learning-rate schedules.
//!
//! An optimiser steps over any [`Module`]'s parameters with the gradients of
//! a traced forward pass ([`Optimizer::step`]). Its state (momentum buffers,
//! moment estimates) is keyed by parameter name, allocated during the first
//! step and reused after: a step allocates nothing once warm.
//!
//! ```
//! use gradsign::{activation::Activation, nn::{self, Init, Mlp}, optim::{Optimizer, Sgd}, Tape, Tensor};
//! use gradsign::nn::Linear;
//! let mut net = Mlp::builder(&[1, 1]).init(Init::Zeros).build::<f64>()?;
//! let mut opt = Sgd::new(0.1);
//! let mut tape = Tape::new();
//! for _ in 0..100 {
//!     tape.clear();
//!     let x = tape.constant(&Tensor::from_vec(vec![1.0, 2.0], &[2, 1])?);
//!     let y = tape.constant(&Tensor::from_vec(vec![3.0, 5.0], &[2, 1])?);
//!     let (out, trace) = nn::forward(&net, &tape, x)?;
//!     let loss = (out - y).square().mean()?;        // fit y = 2x + 1
//!     let grads = loss.backward()?;
//!     opt.step(&mut net, &trace, &grads)?;
//! }
//! let w = net.layer::<Linear<f64>>(0).unwrap().weight.as_slice()[0];
//! assert!((w - 2.0).abs() < 0.05, "w = {w}");
//! # Ok::<(), gradsign::Error>(())
//! ```

mod adam;
mod schedule;
mod sgd;
#[cfg(feature = "serde")]
mod state;

pub use adam::{Adam, AdamW};
pub use schedule::LrSchedule;
pub use sgd::Sgd;

use crate::autodiff::Gradients;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::nn::{Module, Param, Trace, Visitor, VisitorMut};

/// A first-order optimiser: updates parameters in place from their
/// gradients.
///
/// An implementation provides [`begin_step`](Self::begin_step) (validate
/// the hyper-parameters, fix this step's rate), [`update`](Self::update)
/// (one parameter) and [`end_step`](Self::end_step); [`step`](Self::step)
/// walks a model with them and [`step_params`](Self::step_params) walks
/// parameters held outside any model. State is matched to parameters by
/// position and checked by name: a model whose parameters change between
/// steps is an error, not a silent mix-up.
pub trait Optimizer<F: Element> {
    /// Starts a step: checks the hyper-parameters and fixes the step's
    /// learning rate.
    ///
    /// # Errors
    /// [`Error::OutOfDomain`] if a hyper-parameter is out of range (in
    /// the element type `F`), or the step's effective learning rate (base
    /// rate times the schedule's factor) is not finite in `F`.
    fn begin_step(&mut self) -> Result<()>;

    /// Updates parameter number `index` (in visiting order), named `name`,
    /// from its gradient.
    ///
    /// The parameter is updated only if its update is sound: its values and
    /// gradient are finite, and so is every new value and state entry the
    /// update computes (an overflow would otherwise leave `±∞` or NaN in
    /// the weights, or freeze them, silently). The update is computed once
    /// to be checked and once to be written, by the same operations, so the
    /// results are those of a single pass.
    ///
    /// # Errors
    /// [`Error::Incompatible`] if the value and gradient lengths differ, or
    /// the parameter's size differs from the previous steps';
    /// [`Error::OutOfOrder`] if its name differs from the previous steps'
    /// (parameters must arrive in the same order), or it arrives before the
    /// parameters ahead of it were seen; [`Error::TooLarge`] if its state
    /// cannot be allocated; [`Error::NonFinite`] naming the parameter and
    /// element if a value or a gradient is NaN or infinite, or if the update
    /// would make a value or a state entry non-finite. On an error nothing
    /// of this parameter is written.
    fn update(&mut self, index: usize, name: &str, value: &mut [F], grad: &[F]) -> Result<()>;

    /// Checks, before any parameter is written, that parameter number
    /// `index` named `name` with `len` values matches the state kept for
    /// it (the default has no state to check).
    ///
    /// # Errors
    /// [`Error::OutOfOrder`] if the state was kept for another name;
    /// [`Error::Incompatible`] if it was kept for another size.
    fn check_param(&self, index: usize, name: &str, len: usize) -> Result<()> {
        let _ = (index, name, len);
        Ok(())
    }

    /// Ends a step (counts it).
    fn end_step(&mut self);

    /// The learning rate the next step will use (the base rate times the
    /// schedule's factor).
    fn learning_rate(&self) -> F;

    /// The number of steps taken so far.
    fn steps_taken(&self) -> usize;

    /// One update of every parameter of `model`, with the gradients `grads`
    /// of a forward pass traced in `trace`.
    ///
    /// Every gradient is looked up, and every parameter checked against the
    /// state kept for it (name and size), before any parameter changes. An
    /// update found unsound while writing (a non-finite value, gradient or
    /// result, see [`update`](Self::update)) stops the step there: the
    /// parameters before it have been updated, that one and those after it
    /// have not, and the step count does not advance.
    ///
    /// # Errors
    /// As [`begin_step`](Self::begin_step) and [`update`](Self::update);
    /// [`Error::Incompatible`] if a parameter was not on the traced tape;
    /// [`Error::ForeignVar`] if `grads` belongs to another tape;
    /// [`Error::NoGradient`] if a parameter has no gradient in `grads`.
    fn step<M: Module<F> + ?Sized>(
        &mut self,
        model: &mut M,
        trace: &Trace<'_, F>,
        grads: &Gradients<F>,
    ) -> Result<()>
    where
        Self: Sized,
    {
        self.begin_step()?;
        let mut i = 0;
        model.visit(&mut Visitor::new(&mut |name, t| {
            let var = trace.param_var(i, t, name)?;
            let g = grads.get(var)?;
            check_lengths(name, t.numel(), g.len())?;
            self.check_param(i, name, t.numel())?;
            i += 1;
            Ok(())
        }))?;
        let mut i = 0;
        model.visit_mut(&mut VisitorMut::new(&mut |name, t| {
            let var = trace.param_var(i, t, name)?;
            let g = grads.get(var)?;
            self.update(i, name, t.as_mut_slice(), g)?;
            i += 1;
            Ok(())
        }))?;
        self.end_step();
        Ok(())
    }

    /// One update of parameters held outside any model.
    ///
    /// # Errors
    /// As [`step`](Self::step).
    fn step_params<'a>(&mut self, params: impl IntoIterator<Item = Param<'a, F>>) -> Result<()>
    where
        F: 'a,
        Self: Sized,
    {
        self.begin_step()?;
        for (i, p) in params.into_iter().enumerate() {
            self.update(i, p.name, p.value, p.grad)?;
        }
        self.end_step();
        Ok(())
    }
}

/// Per-parameter optimiser state: `per` values for every parameter value,
/// in one buffer that grows only while the first step discovers the
/// parameters, each slot remembered with its parameter's name.
#[derive(Clone, Debug, Default)]
pub(crate) struct StateBuffer<F> {
    pub(crate) data: Vec<F>,
    /// `(name, offset, len)` of each parameter's state, by position.
    pub(crate) slots: Vec<(String, usize, usize)>,
}

impl<F: Element> StateBuffer<F> {
    /// Checks that parameter number `i` is `name` with `len` values, if
    /// its state exists.
    pub(crate) fn check(&self, i: usize, name: &str, len: usize) -> Result<()> {
        match self.slots.get(i) {
            Some((known_name, _, known)) => Self::same(i, name, len, known_name, *known),
            None => Ok(()),
        }
    }

    fn same(i: usize, name: &str, len: usize, known_name: &str, known: usize) -> Result<()> {
        if known_name != name {
            return Err(Error::OutOfOrder {
                op: "optimizer step",
                what: format!(
                    "parameter #{i} is {name} but was {known_name} at the previous steps: \
                     parameters must arrive in the same order at every step"
                ),
            });
        }
        if known != len {
            return Err(Error::incompatible(
                "optimizer step",
                format!(
                    "parameter #{i} ({name}) has {len} values but had {known} at the previous steps"
                ),
            ));
        }
        Ok(())
    }

    /// The state of parameter number `i` (`per · len` values), created
    /// zeroed on first sight.
    fn slot(&mut self, i: usize, name: &str, len: usize, per: usize) -> Result<&mut [F]> {
        if i == self.slots.len() {
            let off = self.data.len();
            let need = per.checked_mul(len).and_then(|n| n.checked_add(off));
            let Some(end) = need else {
                return Err(Error::TooLarge {
                    op: "optimizer step",
                    what: format!("the state of {name} ({len} values)"),
                    reason: "its offset overflows a usize".into(),
                });
            };
            self.data
                .try_reserve(end - off)
                .map_err(|e| Error::TooLarge {
                    op: "optimizer step",
                    what: format!("the state of {name} ({len} values)"),
                    reason: e.to_string(),
                })?;
            self.data.resize(end, F::zero());
            self.slots.push((name.to_owned(), off, len));
        }
        let Some((known_name, off, known)) = self.slots.get(i) else {
            return Err(Error::OutOfOrder {
                op: "optimizer step",
                what: format!(
                    "parameter #{i} ({name}) arrived before parameter #{}",
                    self.slots.len()
                ),
            });
        };
        Self::same(i, name, len, known_name, *known)?;
        let off = *off;
        Ok(&mut self.data[off..off + per * len])
    }
}

/// Parameters from this many values up have their updates split between
/// the optimiser's threads (below it, the hand-off costs more than the
/// pass).
pub(crate) const PARALLEL_UPDATE: usize = 1 << 15;

/// A parameter's values, its gradient, and up to two state slices of the
/// same length (an unused one is empty).
pub(crate) type Piece<'a, F> = (&'a mut [F], &'a [F], &'a mut [F], &'a mut [F]);

/// Runs `work` over `pieces` contiguous parts of one parameter (split in
/// halves by `rayon::join`, which allocates nothing; inline for one) and
/// returns whether every part's `work` returned `true`.
pub(crate) fn in_pieces<F: Element>(
    pieces: usize,
    (value, grad, s1, s2): Piece<'_, F>,
    work: &(impl Fn(Piece<'_, F>) -> bool + Sync),
) -> bool {
    if pieces <= 1 || value.len() < 2 {
        return work((value, grad, s1, s2));
    }
    let left = pieces / 2;
    let mid = value.len() * left / pieces;
    let (v0, v1) = value.split_at_mut(mid);
    let (g0, g1) = grad.split_at(mid);
    let (a0, a1) = s1.split_at_mut(mid.min(s1.len()));
    let (b0, b1) = s2.split_at_mut(mid.min(s2.len()));
    let (a, c) = rayon::join(
        || in_pieces(left, (v0, g0, a0, b0), work),
        || in_pieces(pieces - left, (v1, g1, a1, b1), work),
    );
    a && c
}

/// A parameter and its gradient must have the same number of values.
pub(crate) fn check_lengths(name: &str, values: usize, grads: usize) -> Result<()> {
    if values != grads {
        return Err(Error::incompatible(
            "optimizer step",
            format!("{name} has {values} values but its gradient {grads}"),
        ));
    }
    Ok(())
}

/// The error of a parameter whose value, gradient or update is not finite.
#[cold]
#[inline(never)]
fn non_finite<F: Element>(op: &'static str, name: &str, what: &str, i: usize, x: F) -> Error {
    Error::NonFinite {
        op,
        what: format!("{x} in {what} of {name} at element {i}"),
    }
}

/// Checks that a parameter's values and gradient are finite.
fn check_finite_inputs<F: Element>(
    op: &'static str,
    name: &str,
    value: &[F],
    grad: &[F],
) -> Result<()> {
    if crate::kernels::all_finite(value) && crate::kernels::all_finite(grad) {
        return Ok(());
    }
    for (what, xs) in [("the values", value), ("the gradient", grad)] {
        if let Some(i) = xs.iter().position(|x| !x.is_finite()) {
            return Err(non_finite(op, name, what, i, xs[i]));
        }
    }
    Ok(())
}

/// The step's learning rate `η·factor(t)` in `F`, refused unless it is
/// finite and `≥ 0` there (a growing `Step` schedule overflows `f32` long
/// before `f64`).
fn effective_rate<F: Element>(
    op: &'static str,
    lr: F,
    schedule: &LrSchedule,
    t: usize,
) -> Result<F> {
    let factor = schedule.factor(t);
    let rate = lr * F::from_f64(factor);
    if rate.is_finite() && rate >= F::zero() {
        Ok(rate)
    } else {
        Err(Error::out_of_domain(
            op,
            format!("the learning rate at step {t}"),
            format!("a finite {} ≥ 0", F::NAME),
            format_args!("{lr} × {factor} = {rate}"),
        ))
    }
}

/// Checks a hyper-parameter is finite and in its domain (`ok`).
fn check(op: &'static str, param: &str, domain: &str, x: f64, ok: bool) -> Result<()> {
    if ok && x.is_finite() {
        Ok(())
    } else {
        Err(Error::out_of_domain(op, param, domain, x))
    }
}
