//! One training run, and many spread over threads.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use gradsign::activation::Activation;
use gradsign::analysis::GradientSignAnalyzer;
use gradsign::autodiff::Tape;
use gradsign::data::{Dataset, LabelEncoding, Playground, PlaygroundConfig};
use gradsign::error::{Error, Result};
use gradsign::loss::{Reduction, mse};
use gradsign::nn::{Init, Linear, Sequential};
use gradsign::optim::Sgd;
use gradsign::tensor::Tensor;
use gradsign::train::{Control, EpochInfo, Observer, OnDivergence, TrainConfig, train};

use super::{Coding, Hidden, Output, Setting};

/// What stays fixed across the comparison.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainingConfig {
    /// Points per data set (half for training, half for testing).
    pub samples: usize,
    /// The playground's noise `ν`.
    pub noise: f64,
    /// The hidden layer widths.
    pub hidden_sizes: Vec<usize>,
    /// Examples per SGD step (the playground's default is 10).
    pub batch_size: usize,
    /// Epochs per run.
    pub epochs: usize,
    /// The normalised training loss to reach (see [`Run::losses`]).
    pub threshold: f64,
    /// The weight initialiser (biases start at 0).
    pub init: Init,
    /// The seeds: each gives its own data set, initial weights and example
    /// order; tables report the median over seeds.
    pub seeds: Vec<u64>,
    /// Threads to spread independent runs over (results do not depend on it).
    pub threads: usize,
    /// Stop a run once it reaches the threshold (for tables of step counts
    /// only: its loss curve and test accuracy then stop there too).
    pub stop_at_threshold: bool,
}

impl Default for TrainingConfig {
    fn default() -> Self {
        TrainingConfig {
            samples: 400,
            noise: 0.0,
            hidden_sizes: vec![8, 8],
            batch_size: 10,
            epochs: 200,
            threshold: 0.1,
            init: Init::GlorotUniform,
            seeds: vec![1, 2, 3, 4, 5],
            threads: 2,
            stop_at_threshold: false,
        }
    }
}

/// One training run.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    /// The data set.
    pub dataset: Playground,
    /// The setting.
    pub setting: Setting,
    /// The seed.
    pub seed: u64,
    /// The normalised training loss `mean (f(x) − y)² / Var(y)` before
    /// training and after each epoch (1 for always predicting the mean
    /// target; invariant under an affine change of the label coding).
    pub losses: Vec<f64>,
    /// The first epoch after which the normalised loss was at most the
    /// threshold.
    pub epochs_to_threshold: Option<usize>,
    /// The accuracy on the held-out half after the last epoch (the decision
    /// threshold is the midpoint of the two targets).
    pub test_accuracy: f64,
    /// Whether the loss stopped being finite (too large a learning rate);
    /// the run stopped there, and its losses end at the last finite one.
    pub diverged: bool,
    /// Per layer, the share of per-example weight-gradient rows (bias
    /// included) that are one-signed, measured by the
    /// [`GradientSignAnalyzer`] on the full training set after the last
    /// epoch.
    pub coherence: Vec<f64>,
}

/// A data set's training half, with targets in one coding, and its test
/// half.
struct Split {
    train: Dataset<f64>,
    test_x: Tensor<f64>,
    test_labels: Vec<usize>,
}

fn split(dataset: Playground, coding: Coding, config: &TrainingConfig, seed: u64) -> Result<Split> {
    let cfg = PlaygroundConfig {
        samples: config.samples,
        noise: config.noise,
        encoding: LabelEncoding::ZeroOne,
        seed,
    };
    let data = dataset.generate::<f64>(&cfg)?;
    let (train, test) = data.split(0.5, seed)?;
    let (lo, hi) = coding.values();
    let coded: Vec<f64> = train
        .labels()
        .iter()
        .map(|&l| if l == 1 { hi } else { lo })
        .collect();
    let n = coded.len();
    Ok(Split {
        train: Dataset::with_targets(
            train.features().clone(),
            train.labels().to_vec(),
            Tensor::from_vec(coded, &[n, 1])?,
        )?,
        test_x: test.features().clone(),
        test_labels: test.labels().to_vec(),
    })
}

/// The network: dense layers with `hidden` units after every one but the
/// last, and `output` after the last; weights drawn by `init` from one
/// ChaCha8 stream seeded by `seed`, biases zero (as [`Mlp`](gradsign::nn::Mlp)
/// draws them).
fn network(
    sizes: &[usize],
    hidden: Hidden,
    output: Output,
    init: Init,
    seed: u64,
) -> Result<Sequential<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut net = Sequential::new();
    let n = sizes.len() - 1;
    for (l, pair) in sizes.windows(2).enumerate() {
        let weight = init.sample(pair[1], pair[0], &mut rng)?;
        net.add(Linear::new(weight, Some(Tensor::zeros(&[pair[1]])?))?);
        if l + 1 < n {
            net.add(hidden);
        } else if output == Output::Tanh {
            net.add(Activation::Tanh);
        }
    }
    Ok(net)
}

/// The normalised loss `mean (f(x) − y)² / Var(y)` of `net` on `data`.
fn normalised_loss(net: &Sequential<f64>, data: &Dataset<f64>) -> Result<f64> {
    let pred = gradsign::nn::predict(net, data.features())?;
    let y = data.targets().as_slice();
    let n = y.len() as f64;
    let mean = y.iter().sum::<f64>() / n;
    let var = y.iter().map(|t| (t - mean).powi(2)).sum::<f64>() / n;
    let mse = pred
        .as_slice()
        .iter()
        .zip(y)
        .map(|(p, t)| (p - t).powi(2))
        .sum::<f64>()
        / n;
    Ok(mse / var)
}

/// Evaluates the whole training half after every epoch, and stops the run
/// at the threshold (if asked) or when the loss stops being finite.
struct EpochLosses<'a> {
    data: &'a Dataset<f64>,
    threshold: Option<f64>,
    losses: Vec<f64>,
    diverged: bool,
}

impl Observer<Sequential<f64>> for EpochLosses<'_> {
    fn on_epoch_end(&mut self, net: &Sequential<f64>, _: &EpochInfo) -> Result<Control> {
        let l = normalised_loss(net, self.data)?;
        if !l.is_finite() {
            self.diverged = true;
            return Ok(Control::Stop);
        }
        self.losses.push(l);
        Ok(match self.threshold {
            Some(t) if l <= t => Control::Stop,
            _ => Control::Continue,
        })
    }
}

/// Trains one network on one data set with [`train`](gradsign::train::train):
/// plain minibatch SGD on `½·mean (f(x) − y)²` (the playground's loss),
/// examples reshuffled every epoch, the whole training half evaluated after
/// every epoch.
///
/// # Errors
/// [`Error::InvalidArgument`] for a zero batch size, no epochs, an empty
/// hidden-size list or a non-positive learning rate; any error of the data
/// generator. Divergence is not an error: see [`Run::diverged`].
pub fn train_run(
    dataset: Playground,
    setting: &Setting,
    config: &TrainingConfig,
    seed: u64,
) -> Result<Run> {
    if config.batch_size == 0 || config.epochs == 0 || config.hidden_sizes.is_empty() {
        return Err(Error::InvalidArgument {
            op: "train_run",
            message: format!(
                "needs a batch size, epochs and hidden layers, got batch {}, {} epochs, sizes {:?}",
                config.batch_size, config.epochs, config.hidden_sizes
            ),
        });
    }
    if !(setting.learning_rate > 0.0 && setting.learning_rate.is_finite()) {
        return Err(Error::InvalidArgument {
            op: "train_run",
            message: format!(
                "the learning rate must be positive, got {}",
                setting.learning_rate
            ),
        });
    }
    let data = split(dataset, setting.coding, config, seed)?;
    let mut sizes = vec![2];
    sizes.extend(&config.hidden_sizes);
    sizes.push(1);
    let mut net = network(&sizes, setting.hidden, setting.output, config.init, seed)?;
    let mut epochs = EpochLosses {
        data: &data.train,
        threshold: config.stop_at_threshold.then_some(config.threshold),
        losses: Vec::with_capacity(config.epochs + 1),
        diverged: false,
    };
    epochs.losses.push(normalised_loss(&net, &data.train)?);
    let train_config = TrainConfig {
        epochs: config.epochs,
        batch_size: config.batch_size,
        shuffle: true,
        seed,
        on_divergence: OnDivergence::Stop,
        ..TrainConfig::default()
    };
    let report = train(
        &mut net,
        &mut Sgd::new(setting.learning_rate),
        &data.train,
        &train_config,
        |out, batch| Ok(mse(out, batch.targets_on(out.tape())?, Reduction::Mean)? * 0.5),
        &mut epochs,
    )?;
    let coherence = {
        let tape = Tape::new();
        let x = tape.constant(data.train.features());
        let y = tape.constant(data.train.targets());
        let (out, trace) = gradsign::nn::forward(&net, &tape, x)?;
        let grads = (mse(out, y, Reduction::Mean)? * 0.5).backward()?;
        GradientSignAnalyzer::default()
            .analyze(&trace, &grads)?
            .layers
            .iter()
            .map(|l| l.per_example_coherence())
            .collect()
    };
    let (lo, hi) = setting.coding.values();
    let mid = (lo + hi) / 2.0;
    let pred = gradsign::nn::predict(&net, &data.test_x)?;
    let correct = pred
        .as_slice()
        .iter()
        .zip(&data.test_labels)
        .filter(|&(&p, &l)| (p > mid) == (l == 1))
        .count();
    let losses = epochs.losses;
    Ok(Run {
        dataset,
        setting: *setting,
        seed,
        epochs_to_threshold: losses.iter().position(|&l| l <= config.threshold),
        losses,
        test_accuracy: correct as f64 / data.test_labels.len() as f64,
        diverged: report.diverged || epochs.diverged,
        coherence,
    })
}

/// Runs every `(data set, setting, seed)` job, spread over
/// `config.threads` threads; the result is in job order whatever the
/// threads.
///
/// # Errors
/// The first error of any run.
pub fn run_all(jobs: &[(Playground, Setting)], config: &TrainingConfig) -> Result<Vec<Run>> {
    let all: Vec<(Playground, Setting, u64)> = jobs
        .iter()
        .flat_map(|&(d, s)| config.seeds.iter().map(move |&seed| (d, s, seed)))
        .collect();
    let threads = config.threads.clamp(1, all.len().max(1));
    // Runs differ a lot in length, so threads take the next job as they
    // finish one; each result goes to its job's slot.
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<Result<Run>>>> = Mutex::new((0..all.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&(d, s, seed)) = all.get(k) else {
                        break;
                    };
                    let run = train_run(d, &s, config, seed);
                    slots.lock().expect("no thread panics holding the lock")[k] = Some(run);
                }
            });
        }
    });
    slots
        .into_inner()
        .expect("no thread panicked holding the lock")
        .into_iter()
        .map(|s| s.expect("every job ran"))
        .collect()
}

/// The median of some step counts, a run that never reached the threshold
/// counting as `never` (so the median is `None` when half or more never
/// did).
pub fn median_epochs(runs: &[&Run]) -> Option<usize> {
    let mut e: Vec<Option<usize>> = runs.iter().map(|r| r.epochs_to_threshold).collect();
    // None sorts after every Some.
    e.sort_by_key(|x| x.map_or(usize::MAX, |v| v));
    e.get(e.len().saturating_sub(1) / 2).copied().flatten()
}
