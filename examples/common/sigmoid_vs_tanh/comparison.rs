//! Example 04's comparison: the grid of runs, their medians, and the
//! tallies of what each change did.

use gradsign::data::Playground;
use gradsign::error::{Error, Result};

use super::{
    Coding, Hidden, Output, Run, Setting, TrainFn, TrainingConfig, median_epochs, run_all,
};

/// What [`compare`] runs: the training settings and the grid's axes.
#[derive(Clone, Debug, PartialEq)]
pub struct ComparisonConfig {
    /// The training settings shared by every run.
    pub training: TrainingConfig,
    /// The data sets.
    pub datasets: Vec<Playground>,
    /// The units of the playground table (every one in the same setting).
    pub units: Vec<Hidden>,
    /// The learning rates tried for the best-rate table.
    pub learning_rates: Vec<f64>,
    /// The units of the best-rate table.
    pub tuned_units: Vec<Hidden>,
    /// The units of the label-coding table.
    pub coding_units: Vec<Hidden>,
    /// Seeds of the best-rate and coding tables (which stop each run at the
    /// threshold and so report step counts only).
    pub quick_seeds: Vec<u64>,
}

impl Default for ComparisonConfig {
    fn default() -> Self {
        ComparisonConfig {
            training: TrainingConfig::default(),
            datasets: vec![
                Playground::Circle,
                Playground::Xor,
                Playground::Gauss,
                Playground::Spiral,
            ],
            units: Hidden::ALL.to_vec(),
            learning_rates: vec![0.03, 0.1, 0.3, 1.0, 3.0],
            tuned_units: vec![
                Hidden::Sigmoid,
                Hidden::CentredSigmoid,
                Hidden::ShiftedTanh,
                Hidden::Tanh,
            ],
            coding_units: vec![Hidden::Sigmoid, Hidden::Tanh],
            quick_seeds: vec![1, 2, 3],
        }
    }
}

/// One unit on one data set in the playground's setting.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    /// The data set.
    pub dataset: Playground,
    /// The hidden unit.
    pub hidden: Hidden,
    /// The median over seeds of the epochs to the loss threshold (`None`
    /// when half or more of the seeds never got there).
    pub median_epochs: Option<usize>,
    /// The mean over seeds of the final test accuracy.
    pub mean_accuracy: f64,
    /// Per epoch, the median over seeds of the normalised training loss.
    pub median_curve: Vec<f64>,
    /// Per layer, the mean over seeds of the share of one-signed
    /// per-example gradient rows after training ([`Run::coherence`]).
    pub mean_coherence: Vec<f64>,
}

/// One unit on one data set, at the best of several learning rates.
#[derive(Clone, Debug, PartialEq)]
pub struct TunedCell {
    /// The data set.
    pub dataset: Playground,
    /// The hidden unit.
    pub hidden: Hidden,
    /// `(learning rate, median epochs)` for every rate tried.
    pub by_rate: Vec<(f64, Option<usize>)>,
    /// The rate with the fewest median epochs (the smaller rate on a tie),
    /// if any rate reached the threshold.
    pub best_rate: Option<f64>,
    /// The median epochs at the best rate.
    pub best_epochs: Option<usize>,
}

/// One unit and label coding on one data set (linear output).
#[derive(Clone, Debug, PartialEq)]
pub struct CodingCell {
    /// The data set.
    pub dataset: Playground,
    /// The hidden unit.
    pub hidden: Hidden,
    /// The label coding.
    pub coding: Coding,
    /// The median over seeds of the epochs to the threshold.
    pub median_epochs: Option<usize>,
}

/// How often one change (centring, a steeper slope, another coding) made
/// training reach the threshold in fewer epochs, in more, in the same
/// number, or neither setting reached it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Tally {
    /// Fewer epochs after the change (or reached only after it).
    pub faster: usize,
    /// More epochs after the change (or reached only before it).
    pub slower: usize,
    /// The same number of epochs.
    pub same: usize,
    /// Neither setting reached the threshold.
    pub undecided: usize,
    /// `Σ ln(after/before)` over the comparisons where both reached the
    /// threshold (an epoch count of 0 counts as ½ so the ratio stays finite).
    pub log_ratio_sum: f64,
    /// The number of comparisons where both reached the threshold.
    pub both_reached: usize,
}

impl Tally {
    /// Adds one comparison of median epochs before and after a change; a
    /// run that never reached the threshold counts as slower than any that
    /// did.
    pub fn add(&mut self, before: Option<usize>, after: Option<usize>) {
        if let (Some(b), Some(a)) = (before, after) {
            let e = |n: usize| (n as f64).max(0.5);
            self.log_ratio_sum += (e(a) / e(b)).ln();
            self.both_reached += 1;
        }
        match (before, after) {
            (None, None) => self.undecided += 1,
            (Some(_), None) => self.slower += 1,
            (None, Some(_)) => self.faster += 1,
            (Some(b), Some(a)) if a < b => self.faster += 1,
            (Some(b), Some(a)) if a > b => self.slower += 1,
            _ => self.same += 1,
        }
    }

    /// The geometric mean of `after/before` epochs over the comparisons
    /// where both reached the threshold: below 1 when the change sped
    /// training up on the whole.
    pub fn mean_ratio(&self) -> Option<f64> {
        (self.both_reached > 0).then(|| (self.log_ratio_sum / self.both_reached as f64).exp())
    }

    /// The number of comparisons.
    pub fn total(&self) -> usize {
        self.faster + self.slower + self.same + self.undecided
    }
}

/// What example 04 computes.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// The settings.
    pub config: ComparisonConfig,
    /// Every run of the playground table, for anything the cells leave out.
    pub runs: Vec<Run>,
    /// The playground table: data set × unit.
    pub playground: Vec<Cell>,
    /// Each tuned unit at its best learning rate: data set × unit.
    pub tuned: Vec<TunedCell>,
    /// The label codings: data set × unit × coding.
    pub coding: Vec<CodingCell>,
}

impl Comparison {
    /// The playground cell of a data set and unit.
    pub fn cell(&self, dataset: Playground, hidden: Hidden) -> Option<&Cell> {
        self.playground
            .iter()
            .find(|c| c.dataset == dataset && c.hidden == hidden)
    }

    /// The best-rate cell of a data set and unit.
    pub fn tuned_cell(&self, dataset: Playground, hidden: Hidden) -> Option<&TunedCell> {
        self.tuned
            .iter()
            .find(|c| c.dataset == dataset && c.hidden == hidden)
    }

    /// Centring alone, in the playground setting: for every data set and
    /// every uncentred unit of `units` whose centred twin also ran, the
    /// twin's median epochs against the unit's.
    pub fn centring(&self) -> Tally {
        let mut t = Tally::default();
        for c in self.playground.iter().filter(|c| !c.hidden.is_centred()) {
            if let Some(twin) = c.hidden.twin().and_then(|h| self.cell(c.dataset, h)) {
                t.add(c.median_epochs, twin.median_epochs);
            }
        }
        t
    }

    /// The slope alone, in the playground setting: for every data set, each
    /// centred unit against the centred unit of twice its slope (σ − ½ →
    /// tanh(x/2) → tanh x).
    pub fn steeper(&self) -> Tally {
        let mut t = Tally::default();
        let chain = [Hidden::CentredSigmoid, Hidden::HalfTanh, Hidden::Tanh];
        for &d in &self.config.datasets {
            for pair in chain.windows(2) {
                if let (Some(a), Some(b)) = (self.cell(d, pair[0]), self.cell(d, pair[1])) {
                    t.add(a.median_epochs, b.median_epochs);
                }
            }
        }
        t
    }

    /// Centring alone with each unit at its best learning rate: every
    /// uncentred tuned unit against its centred twin, if that was tuned too.
    pub fn centring_at_best_rate(&self) -> Tally {
        let mut t = Tally::default();
        for c in self.tuned.iter().filter(|c| !c.hidden.is_centred()) {
            if let Some(twin) = c.hidden.twin().and_then(|h| self.tuned_cell(c.dataset, h)) {
                t.add(c.best_epochs, twin.best_epochs);
            }
        }
        t
    }

    /// A coding change for every data set and coding unit: the epochs with
    /// `to` against those with `from`.
    pub fn recoding(&self, from: Coding, to: Coding) -> Tally {
        let mut t = Tally::default();
        for c in self.coding.iter().filter(|c| c.coding == from) {
            if let Some(other) = self.coding_cell(c.dataset, c.hidden, to) {
                t.add(c.median_epochs, other.median_epochs);
            }
        }
        t
    }

    /// The coding cell of a data set, unit and coding.
    pub fn coding_cell(
        &self,
        dataset: Playground,
        hidden: Hidden,
        coding: Coding,
    ) -> Option<&CodingCell> {
        self.coding
            .iter()
            .find(|c| c.dataset == dataset && c.hidden == hidden && c.coding == coding)
    }
}

/// Per epoch, the median of the runs' losses (a run that stopped early
/// contributes nothing past its end).
fn median_curve(runs: &[&Run]) -> Vec<f64> {
    let len = runs.iter().map(|r| r.losses.len()).max().unwrap_or(0);
    (0..len)
        .map(|e| {
            let mut v: Vec<f64> = runs
                .iter()
                .filter_map(|r| r.losses.get(e).copied())
                .collect();
            v.sort_by(f64::total_cmp);
            v[(v.len() - 1) / 2]
        })
        .collect()
}

/// Per layer, the mean of the runs' coherence.
fn mean_coherence(runs: &[&Run]) -> Vec<f64> {
    let layers = runs.iter().map(|r| r.coherence.len()).max().unwrap_or(0);
    (0..layers)
        .map(|l| {
            let v: Vec<f64> = runs
                .iter()
                .filter_map(|r| r.coherence.get(l).copied())
                .collect();
            v.iter().sum::<f64>() / v.len().max(1) as f64
        })
        .collect()
}

/// Runs the comparison of example 04:
///
/// 1. the playground table: every unit of `config.units` in the
///    playground's setting ([`Setting::playground`]: tanh output, `±1`
///    labels, learning rate 0.03), full length, on every data set and seed;
/// 2. the best-rate table: each of `tuned_units` at every rate of
///    `learning_rates`, keeping the fastest, so a unit is not judged by a
///    step size that suits another;
/// 3. the coding table: each of `coding_units` with a linear output and
///    targets `0/1`, `±½` and `±1`.
///
/// Tables 2 and 3 stop each run at the threshold, use `quick_seeds`, and
/// skip a data set that no unit learned in table 1.
///
/// # Errors
/// [`Error::InvalidArgument`] for no data set, unit or seed; any error of
/// a run.
pub fn compare(config: &ComparisonConfig, train: TrainFn) -> Result<Comparison> {
    if config.datasets.is_empty()
        || config.units.is_empty()
        || config.training.seeds.is_empty()
        || config.quick_seeds.is_empty()
    {
        return Err(Error::InvalidArgument {
            op: "compare",
            message: "needs at least one data set, unit and seed".into(),
        });
    }
    let jobs: Vec<(Playground, Setting)> = config
        .datasets
        .iter()
        .flat_map(|&d| {
            config
                .units
                .iter()
                .map(move |&h| (d, Setting::playground(h)))
        })
        .collect();
    let runs = run_all(&jobs, &config.training, train)?;
    let mut playground = Vec::new();
    for &(dataset, setting) in &jobs {
        let mine: Vec<&Run> = runs
            .iter()
            .filter(|r| r.dataset == dataset && r.setting == setting)
            .collect();
        playground.push(Cell {
            dataset,
            hidden: setting.hidden,
            median_epochs: median_epochs(&mine),
            mean_accuracy: mine.iter().map(|r| r.test_accuracy).sum::<f64>() / mine.len() as f64,
            median_curve: median_curve(&mine),
            mean_coherence: mean_coherence(&mine),
        });
    }

    // The quick tables skip a data set no unit learned in the playground
    // table: every rate and coding would run its full length for nothing.
    let learned: Vec<Playground> = config
        .datasets
        .iter()
        .copied()
        .filter(|&d| {
            playground
                .iter()
                .any(|c| c.dataset == d && c.median_epochs.is_some())
        })
        .collect();
    let quick = TrainingConfig {
        seeds: config.quick_seeds.clone(),
        stop_at_threshold: true,
        ..config.training.clone()
    };
    let mut tuned_jobs = Vec::new();
    for &d in &learned {
        for &h in &config.tuned_units {
            for &lr in &config.learning_rates {
                tuned_jobs.push((
                    d,
                    Setting {
                        learning_rate: lr,
                        ..Setting::playground(h)
                    },
                ));
            }
        }
    }
    let tuned_runs = run_all(&tuned_jobs, &quick, train)?;
    let mut tuned = Vec::new();
    for &dataset in &learned {
        for &hidden in &config.tuned_units {
            let by_rate: Vec<(f64, Option<usize>)> = config
                .learning_rates
                .iter()
                .map(|&lr| {
                    let mine: Vec<&Run> = tuned_runs
                        .iter()
                        .filter(|r| {
                            r.dataset == dataset
                                && r.setting.hidden == hidden
                                && r.setting.learning_rate == lr
                        })
                        .collect();
                    (lr, median_epochs(&mine))
                })
                .collect();
            let best = by_rate
                .iter()
                .filter_map(|&(lr, e)| e.map(|e| (e, lr)))
                .min_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
            tuned.push(TunedCell {
                dataset,
                hidden,
                by_rate,
                best_rate: best.map(|b| b.1),
                best_epochs: best.map(|b| b.0),
            });
        }
    }

    let codings = [Coding::ZeroOne, Coding::PlusMinusHalf, Coding::PlusMinusOne];
    let mut coding_jobs = Vec::new();
    for &d in &learned {
        for &h in &config.coding_units {
            for c in codings {
                coding_jobs.push((
                    d,
                    Setting {
                        hidden: h,
                        output: Output::Linear,
                        coding: c,
                        learning_rate: 0.03,
                    },
                ));
            }
        }
    }
    let coding_runs = run_all(&coding_jobs, &quick, train)?;
    let coding = coding_jobs
        .iter()
        .map(|&(dataset, setting)| {
            let mine: Vec<&Run> = coding_runs
                .iter()
                .filter(|r| r.dataset == dataset && r.setting == setting)
                .collect();
            CodingCell {
                dataset,
                hidden: setting.hidden,
                coding: setting.coding,
                median_epochs: median_epochs(&mine),
            }
        })
        .collect();
    Ok(Comparison {
        config: config.clone(),
        runs,
        playground,
        tuned,
        coding,
    })
}
