//! Saving and loading an optimiser's state as JSON (feature `serde`): its
//! step count and its per-parameter buffers by parameter name, so that a
//! training run saved at step `k` and resumed continues bit for bit.
//!
//! The hyper-parameters are not saved: build the optimiser as before, then
//! load its state. The buffers are checked against the model's parameters,
//! by name and size, at the next step.

use serde::{Deserialize, Serialize};

use crate::element::Element;
use crate::error::{Error, Result};
use crate::nn::{check_header, convert, finite_values, parse};

use super::{Adam, AdamW, Sgd, StateBuffer};

const FORMAT: &str = "gradsign-optimizer";
const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Slot {
    name: String,
    /// The values per parameter value (`1` for SGD's velocity, `2` for
    /// Adam's `m` then `v`) times the parameter's length.
    values: Vec<f64>,
}

#[derive(Serialize)]
struct StateOut<'a> {
    format: &'static str,
    version: u32,
    dtype: &'static str,
    optimizer: &'a str,
    steps: usize,
    slots: Vec<Slot>,
}

#[derive(Deserialize)]
struct StateIn {
    format: String,
    version: u32,
    #[serde(default)]
    dtype: Option<serde_json::Value>,
    optimizer: String,
    steps: usize,
    slots: Vec<Slot>,
}

fn save<F: Element>(
    op: &'static str,
    optimizer: &str,
    steps: usize,
    state: &StateBuffer<F>,
    per: usize,
) -> Result<String> {
    let slots = state
        .slots
        .iter()
        .map(|(name, off, len)| {
            Ok(Slot {
                name: name.clone(),
                values: finite_values(op, name, &state.data[*off..*off + per * len])?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    serde_json::to_string_pretty(&StateOut {
        format: FORMAT,
        version: VERSION,
        dtype: F::NAME,
        optimizer,
        steps,
        slots,
    })
    .map_err(|e| Error::Io {
        op,
        message: e.to_string(),
    })
}

fn load<F: Element>(
    op: &'static str,
    optimizer: &str,
    per: usize,
    text: &str,
) -> Result<(usize, StateBuffer<F>)> {
    let file: StateIn = parse(text)?;
    check_header::<F>(
        op,
        (&file.format, FORMAT),
        file.version,
        file.dtype.as_ref(),
    )?;
    let bad = |what: String| Error::incompatible(op, what);
    if file.optimizer != optimizer {
        return Err(bad(format!(
            "the file holds the state of {}, not of {optimizer}",
            file.optimizer
        )));
    }
    let mut state = StateBuffer::default();
    for slot in &file.slots {
        if state.slots.iter().any(|(n, _, _)| n == &slot.name) {
            return Err(bad(format!(
                "parameter {} appears twice in the file",
                slot.name
            )));
        }
        if slot.values.len() % per != 0 {
            return Err(bad(format!(
                "the state of {} has {} values, not a multiple of {per}",
                slot.name,
                slot.values.len()
            )));
        }
        let off = state.data.len();
        state
            .data
            .extend(convert::<F>(op, &slot.name, &slot.values)?);
        state
            .slots
            .push((slot.name.clone(), off, slot.values.len() / per));
    }
    Ok((file.steps, state))
}

impl<F: Element> Sgd<F> {
    /// The step count and momentum buffers as JSON.
    ///
    /// ```
    /// use gradsign::nn::Param;
    /// use gradsign::optim::{Optimizer, Sgd};
    /// let mut opt = Sgd::new(0.1).momentum(0.9);
    /// let mut w = [1.0f64];
    /// opt.step_params([Param { name: "w", value: &mut w, grad: &[2.0] }])?;
    /// let mut resumed = Sgd::new(0.1).momentum(0.9);
    /// resumed.load_state_json(&opt.state_json()?)?;
    /// let (mut a, mut b) = (w, w);
    /// opt.step_params([Param { name: "w", value: &mut a, grad: &[1.0] }])?;
    /// resumed.step_params([Param { name: "w", value: &mut b, grad: &[1.0] }])?;
    /// assert_eq!(a[0].to_bits(), b[0].to_bits());
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::NonFinite`] for a non-finite buffer entry.
    pub fn state_json(&self) -> Result<String> {
        save("Sgd::state_json", "Sgd", self.steps, &self.velocity, 1)
    }

    /// Replaces the step count and buffers with those saved by
    /// [`state_json`](Self::state_json).
    ///
    /// # Errors
    /// [`Error::Parse`] for malformed JSON; [`Error::InvalidArgument`] for
    /// another format, version, dtype or optimiser, a parameter twice, or a
    /// value beyond the range of `F`.
    pub fn load_state_json(&mut self, text: &str) -> Result<()> {
        let (steps, state) = load("Sgd::load_state_json", "Sgd", 1, text)?;
        (self.steps, self.velocity) = (steps, state);
        Ok(())
    }
}

impl<F: Element> Adam<F> {
    /// The step count and moment estimates as JSON (see
    /// [`Sgd::state_json`]).
    ///
    /// # Errors
    /// [`Error::NonFinite`] for a non-finite buffer entry.
    pub fn state_json(&self) -> Result<String> {
        save("Adam::state_json", "Adam", self.steps, &self.moments, 2)
    }

    /// Replaces the step count and moments with those saved by
    /// [`state_json`](Self::state_json).
    ///
    /// # Errors
    /// As [`Sgd::load_state_json`].
    pub fn load_state_json(&mut self, text: &str) -> Result<()> {
        let (steps, state) = load("Adam::load_state_json", "Adam", 2, text)?;
        (self.steps, self.moments) = (steps, state);
        Ok(())
    }
}

impl<F: Element> AdamW<F> {
    /// The step count and moment estimates as JSON (see
    /// [`Sgd::state_json`]).
    ///
    /// # Errors
    /// [`Error::NonFinite`] for a non-finite buffer entry.
    pub fn state_json(&self) -> Result<String> {
        save(
            "AdamW::state_json",
            "AdamW",
            self.inner.steps,
            &self.inner.moments,
            2,
        )
    }

    /// Replaces the step count and moments with those saved by
    /// [`state_json`](Self::state_json).
    ///
    /// # Errors
    /// As [`Sgd::load_state_json`].
    pub fn load_state_json(&mut self, text: &str) -> Result<()> {
        let (steps, state) = load("AdamW::load_state_json", "AdamW", 2, text)?;
        (self.inner.steps, self.inner.moments) = (steps, state);
        Ok(())
    }
}
