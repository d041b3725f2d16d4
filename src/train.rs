//! A small training loop: epochs of shuffled minibatches, an [`Observer`]
//! told of every step and every epoch's end (which can stop the run), early
//! stopping on a loss threshold, and divergence either as an error or as an
//! outcome ([`OnDivergence`]).
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
use crate::nn::{Forward, Module};
use crate::optim::Optimizer;

/// The epoch losses reserved before training: more epochs than this grow
/// the report's vector at the end of an epoch.
const EPOCHS_RESERVED: usize = 1 << 16;

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
    /// Stop after the first epoch whose mean step loss is below this (NaN
    /// is refused: no loss is below it).
    pub stop_below: Option<f64>,
    /// The decision threshold for accuracy with a single output (see
    /// [`metrics`](crate::metrics)). `None` (the default) derives it from
    /// the data set's label coding: the midpoint of the targets of classes
    /// 0 and 1 (0.5 for `0/1` targets, 0 for `±1`). A threshold that does
    /// not lie strictly between the two classes' targets is refused, since
    /// the accuracy it would report is wrong. Ignored with more than one
    /// output (the class is the arg-max).
    pub threshold: Option<f64>,
    /// Draw a progress bar with the loss and an ETA (feature `progress`;
    /// drawn on stderr, and only when stderr is a terminal).
    pub progress: bool,
    /// What a non-finite loss or update does: an error (the default), or
    /// the end of the run with [`TrainReport::diverged`] set, for sweeps in
    /// which too large a learning rate is a result rather than a bug.
    pub on_divergence: OnDivergence,
}

/// What [`train`] does when training diverges: a loss that is NaN or
/// infinite, or an update the optimiser refuses as non-finite (the
/// optimisers update all parameters or none, so the model keeps the last
/// finite values either way).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnDivergence {
    /// Return [`Error::NonFinite`].
    #[default]
    Error,
    /// Stop, and return the report with [`TrainReport::diverged`] set.
    Stop,
}

/// Whether training goes on after an [`Observer`] has seen a step or an
/// epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[must_use]
pub enum Control {
    /// Go on.
    #[default]
    Continue,
    /// Stop now ([`TrainReport::stopped_early`] is set if epochs were
    /// left).
    Stop,
}

/// What an [`Observer`] is told at the end of an epoch.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct EpochInfo {
    /// The epoch, from 0.
    pub epoch: usize,
    /// Steps taken so far, over all epochs.
    pub steps: usize,
    /// The mean step loss of the epoch.
    pub mean_loss: f64,
}

/// Watches a run of [`train`]: after every step, and at the end of every
/// epoch with the model, where it can evaluate on held-out data, save a
/// checkpoint or stop the run.
///
/// Any closure `FnMut(StepInfo)` is an observer that sees the steps only;
/// implement the trait for a struct to see epochs too.
///
/// ```
/// use gradsign::data::{LabelEncoding, Playground, PlaygroundConfig};
/// use gradsign::nn::{Mlp, Module, Sequential};
/// use gradsign::optim::Sgd;
/// use gradsign::train::{train, Control, EpochInfo, Observer, TrainConfig};
///
/// /// Stops once the held-out accuracy reaches a target.
/// struct Holdout { data: gradsign::data::Dataset<f64>, accuracies: Vec<f64> }
/// impl Observer<Sequential<f64>> for Holdout {
///     fn on_epoch_end(&mut self, model: &Sequential<f64>, _: &EpochInfo) -> gradsign::Result<Control> {
///         let out = gradsign::nn::predict(model, self.data.features())?;
///         let acc = gradsign::metrics::accuracy(&out, self.data.labels(), 0.0)?;
///         self.accuracies.push(acc);
///         Ok(if acc >= 0.95 { Control::Stop } else { Control::Continue })
///     }
/// }
///
/// let cfg = PlaygroundConfig { samples: 200, encoding: LabelEncoding::PlusMinusOne, ..Default::default() };
/// let (fit, held) = Playground::Gauss.generate::<f64>(&cfg)?.split(0.5, 1)?;
/// let mut net = Mlp::builder(&[2, 4, 1]).seed(1).build()?;
/// let mut holdout = Holdout { data: held, accuracies: vec![] };
/// let config = TrainConfig { epochs: 50, batch_size: 10, ..Default::default() };
/// let report = train(&mut net, &mut Sgd::new(0.05), &fit, &config,
///     |out, batch| (out - batch.targets_on(out.tape())?).square().mean(), &mut holdout)?;
/// assert_eq!(report.epoch_losses.len(), holdout.accuracies.len());
/// assert!(holdout.accuracies.last().unwrap() >= &0.95 && report.stopped_early);
/// # Ok::<(), gradsign::Error>(())
/// ```
pub trait Observer<M: ?Sized> {
    /// Called after every step (after the update).
    fn on_step(&mut self, info: &StepInfo) -> Control {
        let _ = info;
        Control::Continue
    }

    /// Called at the end of every completed epoch (before
    /// [`TrainConfig::stop_below`] is checked, and before the next epoch's
    /// shuffle).
    ///
    /// # Errors
    /// An error ends the run with it (the model keeps its last update).
    fn on_epoch_end(&mut self, model: &M, info: &EpochInfo) -> Result<Control> {
        let _ = (model, info);
        Ok(Control::Continue)
    }
}

impl<M: ?Sized, C: FnMut(StepInfo)> Observer<M> for C {
    fn on_step(&mut self, info: &StepInfo) -> Control {
        self(*info);
        Control::Continue
    }
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 100,
            batch_size: 32,
            shuffle: true,
            seed: 0,
            stop_below: None,
            threshold: None,
            progress: false,
            on_divergence: OnDivergence::Error,
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

/// What an [`Observer`] is told after every step.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
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
#[non_exhaustive]
pub struct TrainReport {
    /// Steps taken (updates made).
    pub steps: usize,
    /// The mean step loss of each epoch completed.
    pub epoch_losses: Vec<f64>,
    /// Whether `stop_below` or an [`Observer`] ended training before the
    /// last epoch.
    pub stopped_early: bool,
    /// Whether training diverged and stopped there (only with
    /// [`OnDivergence::Stop`]; the epoch it happened in is not in
    /// `epoch_losses`).
    pub diverged: bool,
}

/// Trains `model` on `data` with `optimizer`, minimising `loss(output,
/// batch)`, and tells `observer` of every step and epoch (a closure
/// `&mut |info: StepInfo| …` sees the steps, and `&mut |_| {}` nothing;
/// see [`Observer`]).
///
/// ```
/// use gradsign::{activation::Activation, nn::{Init, Mlp}, optim::Adam};
/// use gradsign::data::{LabelEncoding, Playground, PlaygroundConfig};
/// use gradsign::train::{train, TrainConfig};
/// let cfg = PlaygroundConfig { samples: 200, encoding: LabelEncoding::PlusMinusOne, ..Default::default() };
/// let data = Playground::Gauss.generate::<f64>(&cfg)?;
/// let mut mlp = Mlp::builder(&[2, 4, 1]).hidden(Activation::Tanh).output(Activation::Tanh).init(Init::LecunNormal).seed(1).build()?;
/// let mut opt = Adam::new(0.05);
/// let config = TrainConfig { epochs: 20, batch_size: 20, stop_below: Some(0.05), ..Default::default() };
/// let mut last = None;
/// let report = train(&mut mlp, &mut opt, &data, &config,
///     |out, batch| (out - batch.targets_on(out.tape())?).square().mean(),
///     &mut |info| last = Some(info))?;
/// assert!(report.epoch_losses.last().unwrap() < &0.05);
/// assert_eq!(last.unwrap().accuracy, 1.0);
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidArgument`] for a zero batch size, or, with a single
/// output, for a decision threshold that cannot be derived from the data's
/// label coding or contradicts it (see [`TrainConfig::threshold`]);
/// [`Error::InvalidArgument`] for a NaN `stop_below`;
/// [`Error::Empty`] for an empty data set; [`Error::NonFinite`] if a loss
/// or an update is NaN or infinite (training diverged; unless
/// [`TrainConfig::on_divergence`] is [`OnDivergence::Stop`]);
/// [`Error::RankMismatch`] if `loss` returns more or
/// fewer than one value; any error of the forward pass (a width mismatch),
/// of `loss`, of the optimiser or of the observer.
pub fn train<F, M, O, L, C>(
    model: &mut M,
    optimizer: &mut O,
    data: &Dataset<F>,
    config: &TrainConfig,
    mut loss: L,
    observer: &mut C,
) -> Result<TrainReport>
where
    F: crate::nn::ModelElement,
    M: Module<F> + ?Sized,
    O: Optimizer<F>,
    L: for<'t> FnMut(Var<'t, F>, &Batch<'_, F>) -> Result<Var<'t, F>>,
    C: Observer<M> + ?Sized,
{
    if config.batch_size == 0 {
        return Err(Error::out_of_domain(
            "train",
            "the batch size",
            "at least 1",
            0,
        ));
    }
    if data.is_empty() {
        return Err(Error::Empty {
            op: "train",
            shape: data.features().shape(),
        });
    }
    if config.stop_below.is_some_and(f64::is_nan) {
        // `mean < NaN` is never true: the threshold would be ignored.
        return Err(Error::out_of_domain(
            "train",
            "stop_below",
            "a number (no loss is below NaN)",
            "NaN",
        ));
    }
    let (n, d, t) = (data.len(), data.width(), data.targets().dims()[1]);
    let (x_all, y_all) = (data.features().as_slice(), data.targets().as_slice());
    let bs = config.batch_size.min(n);
    // Derived from the first step's output width rather than from a probe
    // pass: a probe of one example would fail in (and update) a
    // training-mode BatchNorm.
    let mut decided: Option<F> = None;
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
        epoch_losses: Vec::new(),
        stopped_early: false,
        diverged: false,
    };
    let stop_on_divergence = config.on_divergence == OnDivergence::Stop;
    // `epochs` is user input (`usize::MAX` with `stop_below` means "until
    // the loss is low enough"): reserve what can be had, up to a bound, and
    // let the few pushes past it grow the vector once per epoch, never
    // inside a step.
    report
        .epoch_losses
        .try_reserve_exact(config.epochs.min(EPOCHS_RESERVED))
        .map_err(|e| Error::TooLarge {
            op: "train",
            what: format!(
                "the losses of {} epochs",
                config.epochs.min(EPOCHS_RESERVED)
            ),
            reason: e.to_string(),
        })?;
    let bar = progress::Bar::new(config.progress, config.epochs);
    'epochs: for epoch in 0..config.epochs {
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
            let mut ctx = Forward::new(&tape);
            let out = model.forward(x, &mut ctx)?;
            let width = out.shape().dims().last().copied().unwrap_or(1);
            let threshold = match decided {
                Some(t) => t,
                None => *decided.insert(decision_threshold(data, width, config.threshold)?),
            };
            let trace = ctx.finish();
            let l = loss(out, &batch)?;
            if l.shape().numel() != 1 {
                return Err(Error::RankMismatch {
                    op: "train (the loss closure's result)",
                    expected: "0 (one element)",
                    shape: l.shape(),
                });
            }
            let value = Element::to_f64(l.item()?);
            if !value.is_finite() {
                if stop_on_divergence {
                    report.diverged = true;
                    break 'epochs;
                }
                return Err(Error::NonFinite {
                    op: "train",
                    what: format!("loss {value} at step {} (epoch {epoch})", report.steps),
                });
            }
            let accuracy = out.with_value(|v| accuracy_of_rows(v, width, &lb, threshold));
            l.backward_into(&mut grads)?;
            match optimizer.step(model, &trace, &grads) {
                Err(Error::NonFinite { .. }) if stop_on_divergence => {
                    report.diverged = true;
                    break 'epochs;
                }
                r => r?,
            }
            let info = StepInfo {
                epoch,
                step: report.steps,
                loss: value,
                accuracy,
            };
            report.steps += 1;
            total += value;
            batches += 1;
            if observer.on_step(&info) == Control::Stop {
                report.stopped_early = true;
                break 'epochs;
            }
        }
        let mean = total / batches as f64;
        report.epoch_losses.push(mean);
        bar.epoch_done(mean);
        let info = EpochInfo {
            epoch,
            steps: report.steps,
            mean_loss: mean,
        };
        let asked = observer.on_epoch_end(model, &info)? == Control::Stop;
        if asked || config.stop_below.is_some_and(|s| mean < s) {
            report.stopped_early = epoch + 1 < config.epochs;
            break;
        }
    }
    bar.finish();
    Ok(report)
}

/// The decision threshold for a single output, derived from the label
/// coding of `data` (the targets of the examples labelled 0 and 1) or
/// checked against it; with more than one output the class is the arg-max
/// and the threshold is unused.
fn decision_threshold<F: Element>(
    data: &Dataset<F>,
    output_width: usize,
    configured: Option<f64>,
) -> Result<F> {
    if output_width != 1 {
        return Ok(F::zero());
    }
    let invalid = |what: String| Error::incompatible("train", what);
    // The target of each of classes 0 and 1, if every example of the class
    // has the same one.
    let targets = data.targets();
    let coding = if targets.dims()[1] == 1 && data.classes() <= 2 {
        let mut value: [Option<F>; 2] = [None, None];
        let mut consistent = true;
        for (&label, &t) in data.labels().iter().zip(targets.as_slice()) {
            match value[label] {
                None => value[label] = Some(t),
                Some(v) if v == t => {}
                Some(_) => consistent = false,
            }
        }
        match (consistent, value) {
            (true, [Some(t0), Some(t1)]) if t0 != t1 => Some((t0, t1)),
            _ => None,
        }
    } else {
        None
    };
    match (configured, coding) {
        (None, Some((t0, t1))) => Ok((t0 + t1) / F::from_f64(2.0)),
        (None, None) => Err(invalid(
            "with one output the accuracy needs a decision threshold, and the data's targets \
             do not code two classes by two values (set TrainConfig::threshold)"
                .into(),
        )),
        (Some(t), coding) => {
            let t_f = F::from_f64(t);
            if !t_f.is_finite() {
                return Err(invalid(format!(
                    "the decision threshold {t} is not a finite {}",
                    F::NAME
                )));
            }
            if let Some((t0, t1)) = coding {
                let (lo, hi) = if t0 < t1 { (t0, t1) } else { (t1, t0) };
                if !(lo < t_f && t_f < hi) {
                    return Err(invalid(format!(
                        "the decision threshold {t} does not separate the targets of class 0 \
                         ({}) and class 1 ({}): the accuracy would be wrong",
                        t0.to_f64(),
                        t1.to_f64()
                    )));
                }
            }
            Ok(t_f)
        }
    }
}

#[cfg(feature = "progress")]
mod progress {
    use std::io::IsTerminal;

    /// A progress bar over epochs, drawn only on a terminal.
    pub(super) struct Bar(Option<indicatif::ProgressBar>);

    /// Epochs done, the last epoch's mean loss (`{msg}`) and the time left.
    pub(super) const TEMPLATE: &str = "{bar:30} epoch {pos}/{len}  {msg}  ETA {eta}";

    fn style() -> indicatif::ProgressStyle {
        // The template is a constant, checked by the test below.
        indicatif::ProgressStyle::with_template(TEMPLATE)
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
    }

    impl Bar {
        pub(super) fn new(wanted: bool, epochs: usize) -> Self {
            // indicatif draws on stderr: that is the stream to test.
            let shown = wanted && std::io::stderr().is_terminal();
            Bar(shown.then(|| {
                let bar = indicatif::ProgressBar::new(epochs as u64);
                bar.set_style(style());
                bar
            }))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn coded(targets: &[f64], labels: &[usize]) -> Dataset<f64> {
        let n = labels.len();
        let x = crate::Tensor::zeros(&[n, 1]).unwrap();
        let t = crate::Tensor::from_vec(targets.to_vec(), &[n, 1]).unwrap();
        Dataset::with_targets(x, labels.to_vec(), t).unwrap()
    }

    #[test]
    fn the_threshold_is_the_midpoint_of_the_two_classes_targets() {
        // 0/1 coding: 0.5; ±1: 0; ±½ reversed (class 0 above class 1): 0.
        let cases = [
            (vec![0.0, 1.0, 1.0], 0.5),
            (vec![-1.0, 1.0, 1.0], 0.0),
            (vec![0.5, -0.5, -0.5], 0.0),
        ];
        for (targets, expected) in cases {
            let data = coded(&targets, &[0, 1, 1]);
            assert_eq!(decision_threshold(&data, 1, None).unwrap(), expected);
        }
    }

    #[test]
    fn a_threshold_outside_the_coding_is_refused() {
        let data = coded(&[0.0, 1.0], &[0, 1]);
        for t in [0.0, 1.0, -3.0, 7.0] {
            let e = decision_threshold(&data, 1, Some(t)).unwrap_err();
            assert!(e.to_string().contains("does not separate"), "{e}");
        }
        assert_eq!(decision_threshold(&data, 1, Some(0.25)).unwrap(), 0.25);
    }

    #[test]
    fn a_threshold_that_is_not_finite_in_the_element_type_is_refused() {
        let data = Dataset::<f32>::with_targets(
            crate::Tensor::zeros(&[2, 1]).unwrap(),
            vec![0, 1],
            crate::Tensor::from_vec(vec![0.0, 1e38], &[2, 1]).unwrap(),
        )
        .unwrap();
        for t in [f64::NAN, f64::INFINITY, 1e39] {
            let e = decision_threshold(&data, 1, Some(t)).unwrap_err();
            assert!(e.to_string().contains("not a finite f32"), "{e}");
        }
    }

    #[test]
    fn targets_that_code_no_two_classes_need_an_explicit_threshold() {
        // Regression-style targets (class 0 has two values), one class only,
        // and two classes coded by the same value.
        for (targets, labels) in [
            (vec![0.0, 0.3, 1.0], vec![0, 0, 1]),
            (vec![1.0, 1.0], vec![0, 0]),
            (vec![1.0, 1.0], vec![0, 1]),
        ] {
            let data = coded(&targets, &labels);
            let e = decision_threshold(&data, 1, None).unwrap_err();
            assert!(e.to_string().contains("set TrainConfig::threshold"), "{e}");
            assert_eq!(decision_threshold(&data, 1, Some(0.5)).unwrap(), 0.5);
        }
        // With several outputs the arg-max decides and nothing is needed.
        let data = coded(&[0.0, 0.3, 1.0], &[0, 0, 1]);
        assert!(decision_threshold(&data, 3, None).is_ok());
    }

    #[cfg(feature = "progress")]
    #[test]
    fn the_progress_template_shows_the_loss_and_the_time_left() {
        assert!(progress::TEMPLATE.contains("{msg}"));
        assert!(progress::TEMPLATE.contains("{eta}"));
        assert!(indicatif::ProgressStyle::with_template(progress::TEMPLATE).is_ok());
    }
}
