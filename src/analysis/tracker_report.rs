//! What a [`SignTracker`](super::SignTracker) measured over training, per
//! layer, and the table `Display` renders.

use crate::dynamics::TrajectoryReport;

use crate::analysis::SignCategory;
use crate::analysis::config::UpdateSource;

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
