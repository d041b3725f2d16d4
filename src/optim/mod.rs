//! Optimisers: [`Sgd`] (momentum, Nesterov, weight decay), [`Adam`] and
//! [`AdamW`], behind one [`Optimizer`] trait, with learning-rate schedules.
//!
//! An optimiser steps over the parameters an [`Mlp`](crate::nn::Mlp) hands
//! out with their gradients ([`Mlp::params_with_grads`](crate::nn::Mlp::params_with_grads)).
//! Its state (momentum buffers, moment estimates) is allocated during the
//! first step and reused after: a step allocates nothing once warm.
//!
//! ```
//! use gradsign::{activation::Activation, nn::{Init, Mlp}, optim::{Optimizer, Sgd}, Tape, Tensor};
//! let mut mlp = Mlp::<f64>::new(&[1, 1], Activation::Identity, Activation::Identity, Init::Zeros, 0)?;
//! let mut opt = Sgd::new(0.1);
//! let mut tape = Tape::new();
//! for _ in 0..100 {
//!     tape.clear();
//!     let x = tape.constant(&Tensor::from_vec(vec![1.0, 2.0], &[2, 1])?);
//!     let y = tape.constant(&Tensor::from_vec(vec![3.0, 5.0], &[2, 1])?);
//!     let (out, trace) = mlp.forward(&tape, x)?;
//!     let loss = (out - y).square().mean()?;        // fit y = 2x + 1
//!     let grads = loss.backward()?;
//!     opt.step(mlp.params_with_grads(&trace, &grads)?)?;
//! }
//! let w = mlp.layers()[0].linear.weight.as_slice()[0];
//! assert!((w - 2.0).abs() < 0.05, "w = {w}");
//! # Ok::<(), gradsign::Error>(())
//! ```

mod adam;
mod schedule;
mod sgd;

pub use adam::{Adam, AdamW};
pub use schedule::LrSchedule;
pub use sgd::Sgd;

use crate::element::Element;
use crate::error::{Error, Result};
use crate::nn::{Param, ParamName};

/// A first-order optimiser: updates parameters in place from their
/// gradients.
///
/// Parameters must arrive in the same order, with the same sizes, at every
/// step: the optimiser's state is matched to them by position.
pub trait Optimizer<F: Element> {
    /// Applies one update to every parameter.
    ///
    /// Each parameter is updated only if its update is sound: its values and
    /// gradient are finite, and so is every new value and state entry the
    /// update computes (an overflow would otherwise leave `±∞` or NaN in the
    /// weights, or freeze them, silently). The update is computed once to be
    /// checked and once to be written, by the same operations, so the
    /// results are those of a single pass.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if a hyper-parameter is out of range (in
    /// the element type `F`), if the step's effective learning rate (base
    /// rate times the schedule's factor) is not finite in `F`, or if a
    /// parameter's size or name differs from the previous steps';
    /// [`Error::NonFinite`] naming the parameter and element if a value or a
    /// gradient is NaN or infinite, or if the update would make a value or a
    /// state entry non-finite. On an error the parameters before the
    /// offending one have been updated, that one and those after it have
    /// not, and the step count does not advance.
    fn step<'a>(&mut self, params: impl IntoIterator<Item = Param<'a, F>>) -> Result<()>
    where
        F: 'a;

    /// The learning rate the next step will use (the base rate times the
    /// schedule's factor).
    fn learning_rate(&self) -> F;

    /// The number of steps taken so far.
    fn steps_taken(&self) -> usize;
}

/// The error of a parameter whose value, gradient or update is not finite.
#[cold]
#[inline(never)]
fn non_finite<F: Element>(op: &'static str, name: ParamName, what: &str, i: usize, x: F) -> Error {
    Error::NonFinite {
        op,
        what: format!("{x} in {what} of {name} at element {i}"),
    }
}

/// Checks that a parameter's values and gradient are finite.
fn check_finite_inputs<F: Element>(op: &'static str, p: &Param<'_, F>) -> Result<()> {
    for (what, xs) in [("the values", &*p.value), ("the gradient", p.grad)] {
        if let Some(i) = xs.iter().position(|x| !x.is_finite()) {
            return Err(non_finite(op, p.name, what, i, xs[i]));
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
        Err(Error::InvalidArgument {
            op,
            message: format!(
                "the learning rate at step {t} is {lr} × {factor} = {rate}, not a finite {} ≥ 0",
                F::NAME
            ),
        })
    }
}

/// Per-parameter optimiser state: `per` values for every parameter value,
/// in one buffer that grows only while the first step discovers the
/// parameters.
#[derive(Clone, Debug, Default)]
struct StateBuffer<F> {
    data: Vec<F>,
    /// `(offset, len, name)` of each parameter's state, by position.
    slots: Vec<(usize, usize, ParamName)>,
}

impl<F: Element> StateBuffer<F> {
    /// The state of parameter number `i` (`per · len` values), created
    /// zeroed on first sight.
    fn slot(&mut self, i: usize, name: ParamName, len: usize, per: usize) -> Result<&mut [F]> {
        if i == self.slots.len() {
            let off = self.data.len();
            self.data.resize(off + per * len, F::zero());
            self.slots.push((off, len, name));
        }
        let (off, known, known_name) = self.slots[i];
        if known_name != name {
            return Err(Error::InvalidArgument {
                op: "optimizer step",
                message: format!(
                    "parameter #{i} is {name} but was {known_name} at the previous steps: \
                     parameters must arrive in the same order at every step"
                ),
            });
        }
        if known != len {
            return Err(Error::InvalidArgument {
                op: "optimizer step",
                message: format!(
                    "parameter #{i} ({name}) has {len} values but had {known} at the previous steps"
                ),
            });
        }
        Ok(&mut self.data[off..off + per * len])
    }
}

/// Checks a hyper-parameter lies in a range.
fn check(op: &'static str, what: &str, x: f64, ok: bool) -> Result<()> {
    if ok && x.is_finite() {
        Ok(())
    } else {
        Err(Error::InvalidArgument {
            op,
            message: format!("{what} out of range: {x}"),
        })
    }
}
