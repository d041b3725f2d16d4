//! The typed results of a [`TrajectoryRecorder`](super::TrajectoryRecorder).

use std::fmt;

use super::orthant::OrthantCounts;
use crate::analysis::SignCategory;

/// One neuron's trajectory so far.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct NeuronTrajectory {
    /// Updates recorded.
    pub updates: usize,
    /// The mean cosine between consecutive non-zero updates (`None` before
    /// two): near −1 is a zig-zag, near +1 a straight path.
    pub mean_cosine: Option<f64>,
    /// The share of consecutive update pairs with a negative cosine.
    pub negative_cosine_share: Option<f64>,
    /// The cosine between the last two updates (`None` if either is zero).
    pub last_cosine: Option<f64>,
    /// `‖Σ_t u_t‖ / Σ_t ‖u_t‖`: 1 for a straight path, near 0 for a
    /// zig-zag that mostly cancels (`None` before a non-zero update).
    pub path_efficiency: Option<f64>,
    /// The share of (example, step) pairs whose δ changed sign between
    /// consecutive calls, among those where both δ are non-zero (`None`
    /// without such a pair). Example `n` is compared with example `n` of the
    /// previous call, so this is meaningful for a fixed batch or for one
    /// example per step.
    pub delta_flip_rate: Option<f64>,
    /// The orthant of each update.
    pub orthants: OrthantCounts,
}

/// What a [`DirectionTrajectory`] follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Tracked {
    /// The weight error `w_j − w*_j`.
    Error,
    /// The update `u_t`.
    Update,
}

/// The component of each neuron's error (or update) along a fixed direction,
/// normally the top eigenvector of `E[ã ãᵀ]`.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct DirectionTrajectory {
    /// Error or update.
    pub tracked: Tracked,
    /// Values recorded.
    pub steps: usize,
    /// The current component per neuron.
    pub components: Vec<f64>,
    /// The last ratio `c_t / c_{t−1}` per neuron; under gradient descent on
    /// a quadratic it is `1 − ηλmax`, negative (a sign flip every step)
    /// exactly when `η > 1/λmax`.
    pub last_ratios: Vec<Option<f64>>,
    /// Sign flips per neuron.
    pub sign_flips: Vec<usize>,
    /// `‖c_t‖ / ‖c_{t−1}‖` over the layer's neurons.
    pub layer_ratio: Option<f64>,
}

/// Everything a [`TrajectoryRecorder`](super::TrajectoryRecorder) measured.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct TrajectoryReport {
    /// Updates recorded.
    pub updates: usize,
    /// Per neuron.
    pub neurons: Vec<NeuronTrajectory>,
    /// The tracked direction, if any.
    pub direction: Option<DirectionTrajectory>,
}

/// At most this many neurons are listed by `Display`.
const SHOWN: usize = 16;

fn opt(x: Option<f64>) -> String {
    x.map_or_else(|| "-".to_string(), crate::analysis::format_number)
}

impl fmt::Display for TrajectoryReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "trajectory: {} updates, {} neurons",
            self.updates,
            self.neurons.len()
        )?;
        writeln!(
            f,
            "  {:>6} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "neuron", "mean cos", "cos < 0", "path eff", "δ flips", "±orthant", "opposite"
        )?;
        for (j, n) in self.neurons.iter().enumerate().take(SHOWN) {
            let opposite =
                n.orthants.opposite_to_previous as f64 / n.updates.max(2).saturating_sub(1) as f64;
            writeln!(
                f,
                "  {:>6} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9.4}",
                j,
                opt(n.mean_cosine),
                opt(n.negative_cosine_share),
                opt(n.path_efficiency),
                opt(n.delta_flip_rate),
                opt(n.orthants.one_signed_share()),
                opposite
            )?;
        }
        if self.neurons.len() > SHOWN {
            writeln!(f, "  … {} more neurons", self.neurons.len() - SHOWN)?;
        }
        let one_signed: usize = self
            .neurons
            .iter()
            .map(|n| {
                n.orthants.count(SignCategory::Positive) + n.orthants.count(SignCategory::Negative)
            })
            .sum();
        let total: usize = self.neurons.iter().map(|n| n.orthants.total()).sum();
        if total > 0 {
            writeln!(
                f,
                "  updates in the all-positive or all-negative orthant: {one_signed} of {total} ({:.1}%)",
                100.0 * one_signed as f64 / total as f64
            )?;
        }
        if let Some(d) = &self.direction {
            let what = match d.tracked {
                Tracked::Error => "weight error",
                Tracked::Update => "update",
            };
            let flips: usize = d.sign_flips.iter().sum();
            writeln!(
                f,
                "  {what} along the tracked direction: {} values, layer ratio {}, {flips} sign flips over {} neurons",
                d.steps,
                opt(d.layer_ratio),
                d.components.len()
            )?;
        }
        Ok(())
    }
}
