//! A small training loop: epochs of shuffled minibatches, a callback after
//! every step, early stopping on a loss threshold.
//!
//! The loss is a closure over the network's output and the batch, so any
//! composition of ops serves (mean squared error, cross-entropy, …). One
//! tape, one [`Gradients`] and the batch buffers are reused throughout: once
//! the first step has sized them, a step allocates nothing.
//!
//! With the cargo feature `progress`, a progress bar (indicatif) is drawn
//! when [`TrainConfig::progress`] is set and stdout is a terminal; otherwise
//! training is silent.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::autodiff::{Gradients, Tape, Var};
use crate::data::Dataset;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::metrics::accuracy_of_rows;
use crate::nn::Mlp;
use crate::optim::Optimizer;

/// Settings of [`train`].
#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    /// Passes over the data.
    pub epochs: usize,
    /// Examples per step (≥ 1); a size of at least the data set's gives
    /// full-batch training. The last batch of an epoch may be smaller.
    pub batch_size: usize,
    /// Reshuffle the examples at the start of every epoch.
    pub shuffle: bool,
    /// The seed of the shuffling stream (ChaCha8).
    pub seed: u64,
    /// Stop after the first epoch whose mean step loss is below this.
    pub stop_below: Option<f64>,
    /// The decision threshold for accuracy with a single output (see
    /// [`metrics`](crate::metrics)): 0 for `±1` targets, 0.5 for `0/1`.
    pub threshold: f64,
    /// Draw a progress bar (feature `progress`, stdout a terminal).
    pub progress: bool,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 100,
            batch_size: 32,
            shuffle: true,
            seed: 0,
            stop_below: None,
            threshold: 0.0,
            progress: false,
        }
    }
}

/// One minibatch, as the loss closure sees it: row-major slices of
/// `rows` examples.
#[derive(Clone, Copy, Debug)]
pub struct Batch<'a, F> {
    /// Features, `rows × width`.
    pub features: &'a [F],
    /// Class labels, one per row.
    pub labels: &'a [usize],
    /// Numeric targets, `rows × target_width`.
    pub targets: &'a [F],
    /// The number of examples.
    pub rows: usize,
    /// Targets per example.
    pub target_width: usize,
}

impl<F: Element> Batch<'_, F> {
    /// The targets as a constant on `tape`, `(rows, target_width)`.
    ///
    /// # Errors
    /// Never for a batch built by [`train`].
    pub fn targets_on<'t>(&self, tape: &'t Tape<F>) -> Result<Var<'t, F>> {
        tape.constant_from_slice(self.targets, &[self.rows, self.target_width])
    }
}

/// What the callback receives after every step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepInfo {
    /// The epoch, from 0.
    pub epoch: usize,
    /// The step, from 0, counted over all epochs.
    pub step: usize,
    /// The batch loss before the update.
    pub loss: f64,
    /// The batch accuracy before the update.
    pub accuracy: f64,
}

/// The outcome of [`train`].
#[derive(Clone, Debug, PartialEq)]
pub struct TrainReport {
    /// Steps taken.
    pub steps: usize,
    /// The mean step loss of each epoch run.
    pub epoch_losses: Vec<f64>,
    /// Whether `stop_below` ended training before the last epoch.
    pub stopped_early: bool,
}

/// Trains `model` on `data` with `optimizer`, minimising `loss(output,
/// batch)`, and calls `on_step` after every step.
///
/// ```
/// use gradsign::{activation::Activation, nn::{Init, Mlp}, optim::Adam};
/// use gradsign::data::{LabelEncoding, Playground, PlaygroundConfig};
/// use gradsign::train::{train, TrainConfig};
/// let cfg = PlaygroundConfig { samples: 200, encoding: LabelEncoding::PlusMinusOne, ..Default::default() };
/// let data = Playground::Gauss.generate::<f64>(&cfg)?;
/// let mut mlp = Mlp::new(&[2, 4, 1], Activation::Tanh, Activation::Tanh, Init::LecunNormal, 1)?;
/// let mut opt = Adam::new(0.05);
/// let config = TrainConfig { epochs: 20, batch_size: 20, stop_below: Some(0.05), ..Default::default() };
/// let mut last = None;
/// let report = train(&mut mlp, &mut opt, &data, &config,
///     |out, batch| (out - batch.targets_on(out.tape())?).square().mean(),
///     |info| last = Some(info))?;
/// assert!(report.epoch_losses.last().unwrap() < &0.05);
/// assert_eq!(last.unwrap().accuracy, 1.0);
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidArgument`] for a zero batch size; [`Error::Empty`] for
/// an empty data set; [`Error::NonFinite`] if a loss is NaN or infinite
/// (training diverged); any error of the forward pass (a width mismatch),
/// of `loss`, or of the optimiser.
pub fn train<F, O, L, C>(
    model: &mut Mlp<F>,
    optimizer: &mut O,
    data: &Dataset<F>,
    config: &TrainConfig,
    mut loss: L,
    mut on_step: C,
) -> Result<TrainReport>
where
    F: Element,
    O: Optimizer<F>,
    L: for<'t> FnMut(Var<'t, F>, &Batch<'_, F>) -> Result<Var<'t, F>>,
    C: FnMut(StepInfo),
{
    if config.batch_size == 0 {
        return Err(Error::InvalidArgument {
            op: "train",
            message: "the batch size must be at least 1".into(),
        });
    }
    if data.is_empty() {
        return Err(Error::Empty {
            op: "train",
            shape: data.features().shape(),
        });
    }
    let (n, d, t) = (data.len(), data.width(), data.targets().dims()[1]);
    let (x_all, y_all) = (data.features().as_slice(), data.targets().as_slice());
    let bs = config.batch_size.min(n);
    let threshold = F::from_f64(config.threshold);
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let (mut xb, mut yb, mut lb) = (
        Vec::with_capacity(bs * d),
        Vec::with_capacity(bs * t),
        Vec::with_capacity(bs),
    );
    let mut tape = Tape::new();
    let mut grads = Gradients::new();
    let mut report = TrainReport {
        steps: 0,
        epoch_losses: Vec::with_capacity(config.epochs),
        stopped_early: false,
    };
    let bar = progress::Bar::new(config.progress, config.epochs);
    for epoch in 0..config.epochs {
        if config.shuffle {
            order.shuffle(&mut rng);
        }
        let mut total = 0.0;
        let mut batches = 0;
        for chunk in order.chunks(bs) {
            xb.clear();
            yb.clear();
            lb.clear();
            for &i in chunk {
                xb.extend_from_slice(&x_all[i * d..(i + 1) * d]);
                yb.extend_from_slice(&y_all[i * t..(i + 1) * t]);
                lb.push(data.labels()[i]);
            }
            let batch = Batch {
                features: &xb,
                labels: &lb,
                targets: &yb,
                rows: chunk.len(),
                target_width: t,
            };
            tape.clear();
            let x = tape.constant_from_slice(&xb, &[chunk.len(), d])?;
            let (out, trace) = model.forward(&tape, x)?;
            let l = loss(out, &batch)?;
            let value = Element::to_f64(l.item()?);
            if !value.is_finite() {
                return Err(Error::NonFinite {
                    op: "train",
                    what: format!("loss {value} at step {} (epoch {epoch})", report.steps),
                });
            }
            let width = model.output_width();
            let accuracy = out.with_value(|v| accuracy_of_rows(v, width, &lb, threshold));
            l.backward_into(&mut grads)?;
            optimizer.step(model.params_with_grads(&trace, &grads)?)?;
            on_step(StepInfo {
                epoch,
                step: report.steps,
                loss: value,
                accuracy,
            });
            report.steps += 1;
            total += value;
            batches += 1;
        }
        let mean = total / batches as f64;
        report.epoch_losses.push(mean);
        bar.epoch_done(mean);
        if config.stop_below.is_some_and(|s| mean < s) {
            report.stopped_early = epoch + 1 < config.epochs;
            break;
        }
    }
    bar.finish();
    Ok(report)
}

#[cfg(feature = "progress")]
mod progress {
    use std::io::IsTerminal;

    /// A progress bar over epochs, drawn only on a terminal.
    pub(super) struct Bar(Option<indicatif::ProgressBar>);

    impl Bar {
        pub(super) fn new(wanted: bool, epochs: usize) -> Self {
            let shown = wanted && std::io::stdout().is_terminal();
            Bar(shown.then(|| indicatif::ProgressBar::new(epochs as u64)))
        }

        pub(super) fn epoch_done(&self, loss: f64) {
            if let Some(b) = &self.0 {
                b.set_message(format!("loss {loss:.4e}"));
                b.inc(1);
            }
        }

        pub(super) fn finish(&self) {
            if let Some(b) = &self.0 {
                b.finish();
            }
        }
    }
}

#[cfg(not(feature = "progress"))]
mod progress {
    /// Without the `progress` feature, training is silent.
    pub(super) struct Bar;

    impl Bar {
        pub(super) fn new(_: bool, _: usize) -> Self {
            Bar
        }
        pub(super) fn epoch_done(&self, _: f64) {}
        pub(super) fn finish(&self) {}
    }
}
