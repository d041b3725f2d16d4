//! The analyzer's typed reports, gathering each diagnostic's result.
//!
//! Each diagnostic's type and its part of the computation live in
//! `diagnostics/`, the fused pass that fills them in `pass.rs`, and their
//! `Display` in `present/`; this file only gathers the results. Every
//! statistic is an `f64` or a count, so
//! the reports are not generic over the float type and serialise as plain
//! JSON with the `serde` feature. A statistic that is undefined (the mean of
//! nothing) is `None`, never NaN.

use crate::activation::Activation;
use crate::curvature::spectrum::InputCurvature;
use crate::stats::{LayerStatistics, NetworkStatistics};

use crate::analysis::SignCategory;
use crate::analysis::diagnosis::Diagnosis;
use crate::analysis::diagnostics::coherence::{CategoryCounts, TheoremCheck};
use crate::analysis::diagnostics::curvature::ConstantInputs;
use crate::analysis::diagnostics::delta_balance::DeltaBalance;
use crate::analysis::diagnostics::input_path::{InputPath, InputSource};
use crate::analysis::diagnostics::inputs::{InputStats, Precondition};
use crate::analysis::diagnostics::orthants::OrthantOccupancy;
use crate::analysis::diagnostics::saturation::Saturation;

/// One neuron's row of the report.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct NeuronReport {
    /// The neuron's index `j` in its layer.
    pub neuron: usize,
    /// Categories of its per-example rows `g_nj = Δ_nj·a_n` (`B` rows).
    pub per_example: CategoryCounts,
    /// Category of its batch row `G_j = Σ_n Δ_nj·a_n`.
    pub batch_row: SignCategory,
    /// Signs of its `δ` over the batch.
    pub delta: DeltaBalance,
    /// Distinct closed orthants its non-zero finite per-example rows visit
    /// (see [`OrthantOccupancy`]).
    pub orthants_visited: usize,
    /// Mean `|cos(g_nj, 1)|` over its non-zero finite per-example rows.
    pub mean_abs_cos_ones: Option<f64>,
    /// Rows whose input met the precondition `a_n ≥ 0` yet had an entry of
    /// the sign opposite to `δ`'s. Must be 0.
    pub theorem_violations: usize,
}

/// The analysis of one dense layer.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct LayerReport {
    /// The layer's index in the network (`None` for raw matrices).
    pub layer: Option<usize>,
    /// Examples `B`.
    pub batch: usize,
    /// Inputs per example `K` (the bias not counted).
    pub fan_in: usize,
    /// Neurons `J`.
    pub fan_out: usize,
    /// Whether the bias is part of each row (as an input equal to 1).
    pub bias: bool,
    /// The tolerance under which a value counts as zero.
    pub sign_tolerance: f64,
    /// The layer's own activation, when known.
    pub activation: Option<Activation>,
    /// Where its inputs come from.
    pub input_source: InputSource,
    /// The layers its inputs passed through since the dense layer below
    /// (activations, normalisations), from the trace; empty for raw
    /// matrices.
    pub input_path: InputPath,
    /// Statistics of its inputs.
    pub inputs: InputStats,
    /// The theorem's precondition.
    pub precondition: Precondition,
    /// The theorem's conclusion, checked.
    pub theorem: TheoremCheck,
    /// Categories of all `B·J` per-example rows.
    pub per_example: CategoryCounts,
    /// Categories of the `J` batch rows `G_j`.
    pub batch_rows: CategoryCounts,
    /// Signs of all `B·J` deltas.
    pub delta: DeltaBalance,
    /// Orthant occupancy over neurons.
    pub orthants: OrthantOccupancy,
    /// Mean `|cos(g, 1)|` over all non-zero finite per-example rows.
    pub mean_abs_cos_ones: Option<f64>,
    /// Neurons whose every per-example row is zero (`δ = 0` throughout).
    pub dead_neurons: usize,
    /// Saturation, for sigmoid and tanh layers analysed from a trace.
    pub saturation: Option<Saturation>,
    /// The curvature the inputs impose (spectra of `E[a aᵀ]` and `Cov(a)`,
    /// with and without the bias column), only when asked for
    /// ([`AnalyzerConfig::curvature`](super::AnalyzerConfig::curvature)) and
    /// every input is finite.
    pub curvature: Option<InputCurvature>,
    /// With [`curvature`](Self::curvature): the inputs constant over the
    /// batch (which make `Cov(a)` singular) and the curvature of the others;
    /// `None` when no input is constant (or the curvature was not asked for).
    pub constant_inputs: Option<ConstantInputs>,
    /// The gradient statistics of the literature, only when asked for
    /// ([`AnalyzerConfig::statistics`](super::AnalyzerConfig::statistics)).
    pub statistics: Option<LayerStatistics>,
    /// One entry per neuron.
    pub neurons: Vec<NeuronReport>,
    /// Rows per example: 1 for a dense layer; for a convolution, the output
    /// positions `OH·OW`. Then a "per-example" row above is one *position*'s
    /// gradient `δ_p·patch_p` (the theorem's exact unit), [`batch`](Self::batch)
    /// counts positions, and the precondition is checked on patches.
    pub positions: usize,
    /// For a convolution: the categories of the `N·J` rows of each
    /// example's own gradient, `G_nj = Σ_p δ_{n,p,j}·patch_{n,p}` — already
    /// a sum over positions, so mixed like a batch would be; `None` for a
    /// dense layer (where they are [`per_example`](Self::per_example)).
    pub per_example_summed: Option<CategoryCounts>,
}

impl LayerReport {
    /// Share of per-example rows that are coherent (one sign, zeros allowed),
    /// among the non-zero finite ones (see [`CategoryCounts::coherent_share`]).
    pub fn per_example_coherence(&self) -> f64 {
        self.per_example.coherent_share()
    }

    /// Share of batch rows that are coherent, among the non-zero finite ones.
    pub fn batch_coherence(&self) -> f64 {
        self.batch_rows.coherent_share()
    }

    /// `per_example_coherence − batch_coherence`: how much summing over the
    /// batch mixed the signs.
    pub fn coherence_gap(&self) -> f64 {
        self.per_example_coherence() - self.batch_coherence()
    }

    /// The range of the per-neuron share of positive `δ` (`None` without
    /// neurons).
    pub fn delta_positive_range(&self) -> Option<(f64, f64)> {
        let it = self.neurons.iter().map(|n| n.delta.positive_share());
        let min = it.clone().reduce(f64::min)?;
        Some((min, it.reduce(f64::max)?))
    }

    /// A per-neuron table (one line per neuron), for a closer look.
    pub fn neuron_table(&self) -> NeuronTable<'_> {
        NeuronTable(self)
    }

    pub(crate) fn name(&self) -> String {
        match self.layer {
            Some(l) => format!("layer {l}"),
            None => "layer".to_string(),
        }
    }
}

/// The analysis of every selected layer of a network, with its diagnosis.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct NetworkReport {
    /// One report per analysed layer, first layer first.
    pub layers: Vec<LayerReport>,
    /// What the numbers mean, in words.
    pub diagnosis: Diagnosis,
}

impl NetworkReport {
    /// The gradient statistics of the analysed layers taken together
    /// ([`network_statistics`](crate::stats::network_statistics): the
    /// Gram of the concatenated per-example gradients is the sum of the
    /// layers'). `None` unless every analysed layer carries statistics
    /// ([`AnalyzerConfig::statistics`](super::AnalyzerConfig::statistics)),
    /// or if they cannot be combined (different batch sizes, an overflow).
    pub fn statistics(&self) -> Option<NetworkStatistics> {
        let layers: Option<Vec<&LayerStatistics>> =
            self.layers.iter().map(|l| l.statistics.as_ref()).collect();
        crate::stats::network_statistics(&layers?).ok()
    }
}

/// The per-neuron table of a [`LayerReport`] (see
/// [`LayerReport::neuron_table`]).
pub struct NeuronTable<'a>(pub(crate) &'a LayerReport);
