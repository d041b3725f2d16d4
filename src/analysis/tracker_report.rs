//! What a [`SignTracker`](super::SignTracker) measured over training, per
//! layer, and the table `Display` renders.

use std::fmt;

use crate::analysis::SignCategory;
use crate::dynamics::{Tracked, TrajectoryReport};

use super::tracker::UpdateSource;

/// One tracked layer's trajectory.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct LayerTrajectory {
    /// The layer's index in the network.
    pub layer: usize,
    /// Inputs per neuron `K` (the bias not counted).
    pub fan_in: usize,
    /// Neurons `J`.
    pub fan_out: usize,
    /// Whether each row carries the bias as its last entry.
    pub bias: bool,
    /// `λmax` of `E[ã ãᵀ]` on the batch the tracked direction came from.
    pub top_eigenvalue: Option<f64>,
    /// The step of that batch.
    pub top_eigenvector_step: Option<usize>,
    /// Per neuron (and along the top eigenvector), from the recorder.
    pub trajectory: TrajectoryReport,
}

impl LayerTrajectory {
    /// The share of all the layer's updates (every neuron, every step) that
    /// lie in the all-positive or the all-negative orthant (`None` before
    /// an update).
    pub fn one_signed_share(&self) -> Option<f64> {
        let (one_signed, total) = self.trajectory.neurons.iter().fold((0, 0), |(o, t), n| {
            let c = &n.orthants;
            (
                o + c.count(SignCategory::Positive) + c.count(SignCategory::Negative),
                t + c.total(),
            )
        });
        (total > 0).then(|| one_signed as f64 / total as f64)
    }

    /// The smallest per-neuron share of one-signed updates.
    pub fn min_one_signed_share(&self) -> Option<f64> {
        self.per_neuron(|n| n.orthants.one_signed_share())
            .reduce(f64::min)
    }

    /// The mean over neurons of the mean cosine between consecutive updates.
    pub fn mean_cosine(&self) -> Option<f64> {
        mean(self.per_neuron(|n| n.mean_cosine))
    }

    /// The mean over neurons of the path efficiency `‖Σu_t‖ / Σ‖u_t‖`.
    pub fn mean_path_efficiency(&self) -> Option<f64> {
        mean(self.per_neuron(|n| n.path_efficiency))
    }

    /// The mean over neurons of the δ sign-flip rate.
    pub fn mean_delta_flip_rate(&self) -> Option<f64> {
        mean(self.per_neuron(|n| n.delta_flip_rate))
    }

    fn per_neuron<'a>(
        &'a self,
        f: impl Fn(&crate::dynamics::NeuronTrajectory) -> Option<f64> + 'a,
    ) -> impl Iterator<Item = f64> + 'a {
        self.trajectory.neurons.iter().filter_map(f)
    }
}

fn mean(it: impl Iterator<Item = f64>) -> Option<f64> {
    let (s, n) = it.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    (n > 0).then(|| s / n as f64)
}

/// Everything the analyzer's [`observe`](super::GradientSignAnalyzer::observe)
/// recorded.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct TrackerReport {
    /// Observations.
    pub steps: usize,
    /// The first and last step indices observed.
    pub first_step: Option<usize>,
    /// See [`first_step`](Self::first_step).
    pub last_step: Option<usize>,
    /// Which update was recorded (`None` before the first observation).
    pub updates: Option<UpdateSource>,
    /// Steps whose δ were not compared with the previous step's because the
    /// batch size differed from the first one's.
    pub skipped_delta_steps: usize,
    /// One entry per tracked layer, first layer first.
    pub layers: Vec<LayerTrajectory>,
}

fn opt(x: Option<f64>) -> String {
    x.map_or_else(|| "-".to_string(), super::curvature::number)
}

fn pct(x: Option<f64>) -> String {
    x.map_or_else(|| "-".to_string(), |v| format!("{:.1}%", 100.0 * v))
}

impl fmt::Display for TrackerReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let updates = match self.updates {
            None => "nothing yet",
            Some(UpdateSource::NegativeGradient) => "u = −∇L (the plain SGD step without η)",
            Some(UpdateSource::WeightChange) => "u = W_t − W_{t−1} (the optimiser's step)",
        };
        let span = match (self.first_step, self.last_step) {
            (Some(a), Some(b)) => format!(", steps {a}..={b}"),
            _ => String::new(),
        };
        writeln!(
            f,
            "training trajectory: {} observations{span}; {updates}",
            self.steps
        )?;
        if self.skipped_delta_steps > 0 {
            writeln!(
                f,
                "  δ not compared on {} steps (batch size changed)",
                self.skipped_delta_steps
            )?;
        }
        writeln!(
            f,
            "{:>5}  {:>10}  {:>10}  {:>10}  {:>9}  {:>9}  {:>8}  {:>11}  {:>9}  {:>9}",
            "layer",
            "in -> out",
            "one-signed",
            "min/neuron",
            "mean cos",
            "path eff",
            "δ flips",
            "λmax E[aaᵀ]",
            "top ratio",
            "top flips"
        )?;
        for l in &self.layers {
            let dir = l.trajectory.direction.as_ref();
            // Sign changes per neuron and step of the top component.
            let flips = dir.and_then(|d| {
                let flips: usize = d.sign_flips.iter().sum();
                let pairs = d.components.len() * d.steps.saturating_sub(1);
                (pairs > 0).then(|| flips as f64 / pairs as f64)
            });
            writeln!(
                f,
                "{:>5}  {:>10}  {:>10}  {:>10}  {:>9}  {:>9}  {:>8}  {:>11}  {:>9}  {:>9}",
                l.layer,
                format!("{} -> {}", l.fan_in, l.fan_out),
                pct(l.one_signed_share()),
                pct(l.min_one_signed_share()),
                opt(l.mean_cosine()),
                opt(l.mean_path_efficiency()),
                pct(l.mean_delta_flip_rate()),
                l.top_eigenvalue
                    .map_or_else(|| "-".to_string(), super::curvature::number),
                opt(dir.and_then(|d| d.layer_ratio)),
                pct(flips)
            )?;
        }
        if self.layers.iter().any(|l| l.trajectory.direction.is_some()) {
            let what = match self
                .layers
                .iter()
                .find_map(|l| l.trajectory.direction.as_ref())
            {
                Some(d) if d.tracked == Tracked::Error => "weight error",
                _ => "update",
            };
            writeln!(
                f,
                "  top ratio: ‖c_t‖/‖c_{{t−1}}‖ over the neurons' {what} components c along the \
                 top eigenvector of E[ã ãᵀ], |1 − ηλmax| under gradient descent on a quadratic; \
                 top flips: how often c changed sign between steps (every step iff η > 1/λmax)"
            )?;
        }
        for l in &self.layers {
            write!(f, "{l}")?;
        }
        Ok(())
    }
}

impl fmt::Display for LayerTrajectory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "layer {} ({} -> {}{}):",
            self.layer,
            self.fan_in,
            self.fan_out,
            if self.bias {
                ", rows with the bias"
            } else {
                ""
            }
        )?;
        match (self.top_eigenvalue, self.top_eigenvector_step) {
            (Some(l), Some(s)) => writeln!(
                f,
                " top eigenvector of E[ã ãᵀ] from step {s}'s batch, λmax = {}",
                super::curvature::number(l)
            )?,
            _ => writeln!(f)?,
        }
        write!(f, "{}", self.trajectory)
    }
}
