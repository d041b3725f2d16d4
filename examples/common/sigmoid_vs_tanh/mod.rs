//! Example 04's job grid: the hidden units, codings and settings it
//! compares, the runs spread over threads, the medians and tallies, and
//! (in [`tables`]) its printed tables and figure. One training run is the
//! example's own `train_run`, passed in as a [`TrainFn`].
//!
//! `tanh(x) = 2σ(2x) − 1`: tanh is a sigmoid that is (1) centred, (2)
//! twice as tall and (3) twice as steep, so its slope at 0 is 1 against
//! sigmoid's ¼. The hidden units of [`Hidden`] fill the two-by-three grid
//! *centred or not* × *slope ¼, ½ or 1 at the origin*, so that each cause
//! can be switched on alone:
//!
//! | slope at 0 | not centred | centred |
//! | --- | --- | --- |
//! | ¼ | `σ(x)` | `σ(x) − ½` |
//! | ½ | `2σ(x)` | `2σ(x) − 1 = tanh(x/2)` |
//! | 1 | `2σ(2x) = 1 + tanh x` | `2σ(2x) − 1 = tanh x` |
//!
//! A centred unit and its uncentred twin differ by a constant shift of the
//! layer's output, which the next layer's bias absorbs: both networks
//! represent exactly the same functions, and only the gradient dynamics
//! differ. Label coding (`0/1`, `±½`, `±1`) is compared with a linear output
//! unit, and the loss is normalised by the targets' variance so that codings
//! are comparable.

pub mod comparison;
pub mod tables;

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use gradsign::activation::Activation;
use gradsign::data::{Dataset, Playground};
use gradsign::error::Result;
use gradsign::nn::{Init, Sequential};
use gradsign::tensor::Tensor;

/// One training run of `setting` on a data set with a seed.
pub type TrainFn = fn(Playground, &Setting, &TrainingConfig, u64) -> Result<Run>;

/// A hidden unit of the comparison (see the module docs for the grid).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Hidden {
    /// `σ(x)`: range (0, 1), slope ¼ at 0.
    Sigmoid,
    /// `σ(x) − ½ = ½·tanh(x/2)`: centred, slope ¼.
    CentredSigmoid,
    /// `2σ(x)`: range (0, 2), slope ½.
    TwiceSigmoid,
    /// `2σ(x) − 1 = tanh(x/2)`: centred, slope ½.
    HalfTanh,
    /// `2σ(2x) = 1 + tanh x`: range (0, 2), slope 1.
    ShiftedTanh,
    /// `tanh x = 2σ(2x) − 1`: centred, slope 1.
    Tanh,
    /// `max(x, 0)`: non-negative, slope 1 for `x > 0`.
    Relu,
}

impl Hidden {
    /// Every unit, in the grid's order, ReLU last.
    pub const ALL: [Hidden; 7] = [
        Hidden::Sigmoid,
        Hidden::CentredSigmoid,
        Hidden::TwiceSigmoid,
        Hidden::HalfTanh,
        Hidden::ShiftedTanh,
        Hidden::Tanh,
        Hidden::Relu,
    ];

    /// The formula, for tables.
    pub fn formula(self) -> &'static str {
        match self {
            Hidden::Sigmoid => "σ(x)",
            Hidden::CentredSigmoid => "σ(x) − ½",
            Hidden::TwiceSigmoid => "2σ(x)",
            Hidden::HalfTanh => "tanh(x/2)",
            Hidden::ShiftedTanh => "1 + tanh x",
            Hidden::Tanh => "tanh x",
            Hidden::Relu => "relu x",
        }
    }

    /// Whether the unit is zero-centred (odd, `f(0) = 0`).
    pub fn is_centred(self) -> bool {
        matches!(
            self,
            Hidden::CentredSigmoid | Hidden::HalfTanh | Hidden::Tanh
        )
    }

    /// `f'(0)` (for ReLU, the slope on `x > 0`).
    pub fn slope_at_zero(self) -> f64 {
        match self {
            Hidden::Sigmoid | Hidden::CentredSigmoid => 0.25,
            Hidden::TwiceSigmoid | Hidden::HalfTanh => 0.5,
            Hidden::ShiftedTanh | Hidden::Tanh | Hidden::Relu => 1.0,
        }
    }

    /// The unit's uncentred or centred twin with the same slope (ReLU has
    /// none).
    pub fn twin(self) -> Option<Hidden> {
        match self {
            Hidden::Sigmoid => Some(Hidden::CentredSigmoid),
            Hidden::CentredSigmoid => Some(Hidden::Sigmoid),
            Hidden::TwiceSigmoid => Some(Hidden::HalfTanh),
            Hidden::HalfTanh => Some(Hidden::TwiceSigmoid),
            Hidden::ShiftedTanh => Some(Hidden::Tanh),
            Hidden::Tanh => Some(Hidden::ShiftedTanh),
            Hidden::Relu => None,
        }
    }

    /// The crate activation whose sign facts the unit shares, recorded in
    /// the trace.
    pub fn activation(self) -> Activation {
        match self {
            Hidden::Sigmoid | Hidden::TwiceSigmoid | Hidden::ShiftedTanh => Activation::Sigmoid,
            Hidden::CentredSigmoid | Hidden::HalfTanh => Activation::CentredSigmoid,
            Hidden::Tanh => Activation::Tanh,
            Hidden::Relu => Activation::Relu,
        }
    }
}

/// How the two classes are written as targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Coding {
    /// Class 0 ↦ 0, class 1 ↦ 1.
    ZeroOne,
    /// Class 0 ↦ −½, class 1 ↦ ½: centred, the same spread as `0/1`.
    PlusMinusHalf,
    /// Class 0 ↦ −1, class 1 ↦ 1: the playground's labels.
    PlusMinusOne,
}

impl Coding {
    /// The targets of class 0 and class 1.
    pub fn values(self) -> (f64, f64) {
        match self {
            Coding::ZeroOne => (0.0, 1.0),
            Coding::PlusMinusHalf => (-0.5, 0.5),
            Coding::PlusMinusOne => (-1.0, 1.0),
        }
    }

    /// The coding's name, for tables.
    pub fn name(self) -> &'static str {
        match self {
            Coding::ZeroOne => "0/1",
            Coding::PlusMinusHalf => "±½",
            Coding::PlusMinusOne => "±1",
        }
    }
}

/// The output unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Output {
    /// `tanh`, as in the playground (for `±1` targets).
    Tanh,
    /// The identity, so the label coding is the only thing that changes.
    Linear,
}

/// One network setting: what the comparison varies.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Setting {
    /// The hidden unit.
    pub hidden: Hidden,
    /// The output unit.
    pub output: Output,
    /// The label coding.
    pub coding: Coding,
    /// The SGD learning rate.
    pub learning_rate: f64,
}

impl Setting {
    /// The playground's setting with the given hidden unit: tanh output,
    /// `±1` labels, learning rate 0.03.
    pub fn playground(hidden: Hidden) -> Self {
        Setting {
            hidden,
            output: Output::Tanh,
            coding: Coding::PlusMinusOne,
            learning_rate: 0.03,
        }
    }
}

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
    /// `GradientSignAnalyzer` on the full training set after the last
    /// epoch.
    pub coherence: Vec<f64>,
}

/// Runs every `(data set, setting, seed)` job, spread over
/// `config.threads` threads, each run made by `train`; the result is in job order whatever the
/// threads.
///
/// # Errors
/// The first error of any run.
pub fn run_all(
    jobs: &[(Playground, Setting)],
    config: &TrainingConfig,
    train: TrainFn,
) -> Result<Vec<Run>> {
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
                    let run = train(d, &s, config, seed);
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

/// The normalised loss `mean (f(x) − y)² / Var(y)` of `net` on `data`: 1
/// for predicting the mean target, the same under any affine label coding.
pub fn normalised_loss(net: &Sequential<f64>, data: &Dataset<f64>) -> Result<f64> {
    let pred = gradsign::nn::predict(net, data.features())?;
    let y = data.targets().as_slice();
    let mean = y.iter().sum::<f64>() / y.len() as f64;
    let sq = |a: &f64, b: &f64| (a - b).powi(2);
    let err: f64 = pred.as_slice().iter().zip(y).map(|(p, t)| sq(p, t)).sum();
    Ok(err / y.iter().map(|t| sq(t, &mean)).sum::<f64>())
}

/// `half` with its 0/1 labels coded as the targets `lo` and `hi`.
pub fn coded(half: &Dataset<f64>, (lo, hi): (f64, f64)) -> Result<Dataset<f64>> {
    let coded = half.labels().iter().map(|&l| if l == 1 { hi } else { lo });
    let targets = Tensor::from_vec(coded.collect(), &[half.len(), 1])?;
    Dataset::with_targets(half.features().clone(), half.labels().to_vec(), targets)
}

/// The share of `test` that `net` puts on the right side of `(lo + hi)/2`.
pub fn accuracy(net: &Sequential<f64>, test: &Dataset<f64>, (lo, hi): (f64, f64)) -> Result<f64> {
    let pred = gradsign::nn::predict(net, test.features())?;
    let right = pred
        .as_slice()
        .iter()
        .zip(test.labels())
        .filter(|&(&p, &l)| (p > (lo + hi) / 2.0) == (l == 1));
    Ok(right.count() as f64 / test.len() as f64)
}
