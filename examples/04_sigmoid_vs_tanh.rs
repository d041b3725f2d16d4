//! 04 — sigmoid against tanh on the TensorFlow playground's data sets, and
//! why.
//!
//! People often report that tanh trains faster than sigmoid in the
//! playground, and the usual reason given is that tanh is zero-centred.
//! But `tanh x = 2σ(2x) − 1` differs from `σ` in three ways at once:
//! centred, twice as tall, twice as steep (slope 1 at the origin against
//! ¼). This example measures the observation in the playground's setting
//! (same architecture, seeds and data for every unit), then switches the
//! causes on one at a time: centring alone (`σ` against `σ − ½`, whose
//! networks represent exactly the same functions), slope alone, each unit
//! at its own best learning rate, and the label coding.
//!
//! One run is [`train_run`] below: a `Sequential` of `Linear` layers and a
//! hidden unit written as a module, `train` with an observer that scores
//! every epoch, and the analyzer on the trained network. The grid of runs,
//! its tables and its figure are in `examples/common/sigmoid_vs_tanh/`.
//!
//! ```sh
//! cargo run --release --example 04_sigmoid_vs_tanh
//! ```

mod common;

use common::plot_path;
use common::sigmoid_vs_tanh::comparison::{ComparisonConfig, compare};
use common::sigmoid_vs_tanh::{Hidden, Output, Run, Setting, TrainingConfig, tables};
use common::sigmoid_vs_tanh::{accuracy, coded, normalised_loss};
use gradsign::activation::Activation;
use gradsign::analysis::GradientSignAnalyzer;
use gradsign::autodiff::{Tape, Var};
use gradsign::data::{Dataset, LabelEncoding, Playground, PlaygroundConfig};
use gradsign::error::Result;
use gradsign::loss::{Reduction, mse};
use gradsign::nn::{Forward, Linear, ModelElement, Module, Sequential, Visitor, VisitorMut};
use gradsign::optim::Sgd;
use gradsign::tensor::Tensor;
use gradsign::train::{Control, EpochInfo, Observer, OnDivergence, TrainConfig, train};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// A hidden unit is a layer without parameters: applied element-wise, and
/// reported to the trace as the crate activation whose sign facts it shares
/// (so the analyzer knows what fed the next layer).
impl<F: gradsign::Element> Module<F> for Hidden {
    fn forward<'t, E: ModelElement>(
        &self,
        z: Var<'t, E>,
        ctx: &mut Forward<'t, '_, F, E>,
    ) -> Result<Var<'t, E>> {
        let c = E::from_f64;
        let y = match self {
            Hidden::Sigmoid => z.try_sigmoid()?,
            Hidden::CentredSigmoid => z.try_centred_sigmoid()?,
            Hidden::TwiceSigmoid => z.try_sigmoid()?.mul_scalar(c(2.0)),
            Hidden::HalfTanh => z.mul_scalar(c(0.5)).try_tanh()?,
            Hidden::ShiftedTanh => z.try_tanh()?.add_scalar(c(1.0)),
            Hidden::Tanh => z.try_tanh()?,
            Hidden::Relu => Activation::Relu.apply(z)?,
        };
        ctx.record_activation(self.activation(), z, y);
        Ok(y)
    }
    fn visit(&self, _: &mut Visitor<'_, F>) -> Result<()> {
        Ok(())
    }
    fn visit_mut(&mut self, _: &mut VisitorMut<'_, F>) -> Result<()> {
        Ok(())
    }
}

/// Scores the network on the whole training half after every epoch (the
/// normalised loss, 1 for predicting the mean target); stops a run that
/// diverged, or (when given a threshold) one that reached it.
struct EpochLosses<'a>(&'a Dataset<f64>, Vec<f64>, Option<f64>);

impl Observer<Sequential<f64>> for EpochLosses<'_> {
    fn on_epoch_end(&mut self, net: &Sequential<f64>, _: &EpochInfo) -> Result<Control> {
        let l = normalised_loss(net, self.0)?;
        self.1.push(l);
        let done = !l.is_finite() || self.2.is_some_and(|t| l <= t);
        Ok(if done {
            Control::Stop
        } else {
            Control::Continue
        })
    }
}

/// One network on one data set: minibatch SGD on `½·mean (f(x) − y)²`,
/// then the analyzer's share of one-signed rows per layer and the held-out
/// accuracy.
fn train_run(
    dataset: Playground,
    setting: &Setting,
    config: &TrainingConfig,
    seed: u64,
) -> Result<Run> {
    let cfg = PlaygroundConfig::default()
        .samples(config.samples)
        .noise(config.noise)
        .encoding(LabelEncoding::ZeroOne)
        .seed(seed);
    let (half, test) = dataset.generate::<f64>(&cfg)?.split(0.5, seed)?;
    // Targets in the setting's coding; the labels stay 0/1.
    let data = coded(&half, setting.coding.values())?;

    // 2 → hidden sizes → 1: weights from one ChaCha8 stream, biases zero.
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut sizes = vec![2];
    sizes.extend(&config.hidden_sizes);
    sizes.push(1);
    let mut net = Sequential::new();
    for (l, pair) in sizes.windows(2).enumerate() {
        let weight = config.init.sample(pair[1], pair[0], &mut rng)?;
        net.add(Linear::new(weight, Some(Tensor::zeros(&[pair[1]])?))?);
        if l + 2 < sizes.len() {
            net.add(setting.hidden);
        } else if setting.output == Output::Tanh {
            net.add(Activation::Tanh);
        }
    }
    let stop = config.stop_at_threshold.then_some(config.threshold);
    let mut epochs = EpochLosses(&data, Vec::new(), stop);
    epochs.1.push(normalised_loss(&net, &data)?);
    let tc = TrainConfig::default()
        .epochs(config.epochs)
        .batch_size(config.batch_size)
        .seed(seed)
        .on_divergence(OnDivergence::Stop); // a diverged run is an outcome
    let report = train(
        &mut net,
        &mut Sgd::new(setting.learning_rate),
        &data,
        &tc,
        |out, batch| Ok(mse(out, batch.targets_on(out.tape())?, Reduction::Mean)? * 0.5),
        &mut epochs,
    )?;

    // One full-batch gradient after training, read by the analyzer.
    let tape = Tape::new();
    let (out, trace) = gradsign::nn::forward(&net, &tape, tape.constant(data.features()))?;
    let grads = (mse(out, tape.constant(data.targets()), Reduction::Mean)? * 0.5).backward()?;
    let report_layers = GradientSignAnalyzer::default()
        .analyze(&trace, &grads)?
        .layers;
    let coherence = report_layers
        .iter()
        .map(|l| l.per_example_coherence())
        .collect();

    let mut losses = epochs.1;
    let diverged = report.diverged || losses.last().is_some_and(|l| !l.is_finite());
    losses.retain(|l| l.is_finite());
    Ok(Run {
        dataset,
        setting: *setting,
        seed,
        epochs_to_threshold: losses.iter().position(|&l| l <= config.threshold),
        losses,
        test_accuracy: accuracy(&net, &test, setting.coding.values())?,
        diverged,
        coherence,
    })
}

fn main() -> common::Res {
    let started = std::time::Instant::now();
    let c = compare(&ComparisonConfig::default(), train_run)?;
    tables::print(&c);
    let path = plot_path("04_sigmoid_vs_tanh.svg")?;
    tables::draw(&c, &path)?;
    println!("\nplot: {}", path.display());
    println!("({:.1} s)", started.elapsed().as_secs_f64());
    Ok(())
}

#[cfg(test)]
#[path = "common/sigmoid_vs_tanh/tests.rs"]
mod tests;
