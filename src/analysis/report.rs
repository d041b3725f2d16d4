//! The analyzer's typed reports, and the tables `Display` renders.
//!
//! Computation lives in `layer.rs` and `analyzer.rs`; this file only holds
//! the results and presents them. Every statistic is an `f64` or a count, so
//! the reports are not generic over the float type and serialise as plain
//! JSON with the `serde` feature. A statistic that is undefined (the mean of
//! nothing) is `None`, never NaN.

use std::fmt;

use crate::activation::Activation;
use crate::curvature::spectrum::InputCurvature;

use super::curvature::{ConstantInputs, curvature_section, index_list, number};
use super::diagnosis::Diagnosis;
use super::sign::SignCategory;

/// How many rows fell in each [`SignCategory`].
///
/// ```
/// use gradsign::analysis::{CategoryCounts, SignCategory};
/// let mut c = CategoryCounts::default();
/// c.add(SignCategory::Positive);
/// c.add(SignCategory::Mixed);
/// assert_eq!(c.total(), 2);
/// assert_eq!(c.coherent_share(), 0.5);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct CategoryCounts {
    /// Rows with every entry positive.
    pub positive: usize,
    /// Rows with every entry negative.
    pub negative: usize,
    /// Rows with positive and zero entries only.
    pub weakly_positive: usize,
    /// Rows with negative and zero entries only.
    pub weakly_negative: usize,
    /// All-zero rows.
    pub zero: usize,
    /// Rows with entries of both signs.
    pub mixed: usize,
    /// Rows with a NaN or infinite entry.
    pub non_finite: usize,
}

impl CategoryCounts {
    /// Counts one row.
    #[inline]
    pub fn add(&mut self, c: SignCategory) {
        *self.slot(c) += 1;
    }

    fn slot(&mut self, c: SignCategory) -> &mut usize {
        match c {
            SignCategory::Positive => &mut self.positive,
            SignCategory::Negative => &mut self.negative,
            SignCategory::WeaklyPositive => &mut self.weakly_positive,
            SignCategory::WeaklyNegative => &mut self.weakly_negative,
            SignCategory::Zero => &mut self.zero,
            SignCategory::Mixed => &mut self.mixed,
            SignCategory::NonFinite => &mut self.non_finite,
        }
    }

    /// Counts in [`SignCategory::ALL`] order.
    pub fn from_array(c: [usize; 7]) -> Self {
        CategoryCounts {
            positive: c[0],
            negative: c[1],
            weakly_positive: c[2],
            weakly_negative: c[3],
            zero: c[4],
            mixed: c[5],
            non_finite: c[6],
        }
    }

    /// The count of one category.
    pub fn get(&self, c: SignCategory) -> usize {
        let mut copy = *self;
        *copy.slot(c)
    }

    /// Adds another set of counts into this one.
    pub fn merge(&mut self, other: &CategoryCounts) {
        for c in SignCategory::ALL {
            *self.slot(c) += other.get(c);
        }
    }

    /// All rows counted.
    pub fn total(&self) -> usize {
        SignCategory::ALL.iter().map(|&c| self.get(c)).sum()
    }

    /// Rows whose non-zero entries share one sign (see
    /// [`SignCategory::is_coherent`]).
    pub fn coherent(&self) -> usize {
        self.positive + self.negative + self.weakly_positive + self.weakly_negative
    }

    /// Rows with every entry non-zero and of one sign.
    pub fn strictly_coherent(&self) -> usize {
        self.positive + self.negative
    }

    /// Rows that move the weights: neither zero nor non-finite.
    pub fn nonzero_finite(&self) -> usize {
        self.total() - self.zero - self.non_finite
    }

    /// The share of coherent rows among those that move the weights
    /// (`coherent / nonzero_finite`; 0 when there is none). A zero row (a
    /// dead unit, `δ = 0`) moves nothing and a non-finite row has no sign, so
    /// neither counts for or against coherence.
    pub fn coherent_share(&self) -> f64 {
        share(self.coherent(), self.nonzero_finite())
    }

    /// `strictly_coherent / nonzero_finite` (0 when there is none).
    pub fn strictly_coherent_share(&self) -> f64 {
        share(self.strictly_coherent(), self.nonzero_finite())
    }
}

/// `part / whole`, 0 for an empty whole.
pub(crate) fn share(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// The signs `δ = ∂L/∂z` took for one neuron (or a whole layer) over the
/// batch. It shows that `δ` takes both signs: it is not "always positive
/// because `σ′ > 0`" — `σ′` only scales `Σ_k W_kj δ_k`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct DeltaBalance {
    /// `δ > tol`.
    pub positive: usize,
    /// `δ < −tol`.
    pub negative: usize,
    /// `|δ| ≤ tol`.
    pub zero: usize,
    /// NaN or infinite `δ`.
    pub non_finite: usize,
}

impl DeltaBalance {
    /// The share of finite `δ` that are positive (0 if none is finite).
    pub fn positive_share(&self) -> f64 {
        share(self.positive, self.positive + self.negative + self.zero)
    }

    /// Adds another balance into this one.
    pub fn merge(&mut self, o: &DeltaBalance) {
        self.positive += o.positive;
        self.negative += o.negative;
        self.zero += o.zero;
        self.non_finite += o.non_finite;
    }
}

/// One neuron's row of the report.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
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

/// Statistics of a layer's inputs `A`, per feature (the bias input excluded).
#[derive(Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct InputStats {
    /// Mean of each feature over its finite entries.
    pub mean: Vec<f64>,
    /// Share of examples where the feature is `> 0`.
    pub positive_share: Vec<f64>,
    /// Share of examples where the feature is exactly zero (`±0.0`).
    pub zero_share: Vec<f64>,
    /// NaN or infinite entries in the whole input.
    pub non_finite: usize,
}

impl InputStats {
    /// The smallest and largest feature mean (`None` without features).
    pub fn mean_range(&self) -> Option<(f64, f64)> {
        let min = self.mean.iter().copied().reduce(f64::min)?;
        let max = self.mean.iter().copied().reduce(f64::max)?;
        Some((min, max))
    }

    /// The share of all entries that are positive.
    pub fn overall_positive_share(&self) -> f64 {
        average(&self.positive_share)
    }

    /// The share of all entries that are exactly zero.
    pub fn overall_zero_share(&self) -> f64 {
        average(&self.zero_share)
    }
}

fn average(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// The theorem's precondition, measured per example.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Precondition {
    /// Examples in the batch.
    pub examples: usize,
    /// Examples whose inputs (and the bias input) are all strictly positive:
    /// the classic precondition.
    pub strictly_positive: usize,
    /// Examples whose finite inputs are all `≥ 0` (zeros allowed, as ReLU
    /// outputs): the weak precondition, under which rows are never mixed.
    pub non_negative: usize,
    /// Examples sharing the batch's most frequent sign pattern with no zero
    /// entry: their rows all lie in the same two opposite orthants.
    pub one_pattern: usize,
}

impl Precondition {
    /// `strictly_positive / examples`.
    pub fn strictly_positive_share(&self) -> f64 {
        share(self.strictly_positive, self.examples)
    }

    /// `non_negative / examples`.
    pub fn non_negative_share(&self) -> f64 {
        share(self.non_negative, self.examples)
    }

    /// `one_pattern / examples`.
    pub fn one_pattern_share(&self) -> f64 {
        share(self.one_pattern, self.examples)
    }
}

/// The theorem checked on every row it applies to: if `a_n ≥ 0` entrywise
/// (strictly positive is the classic case), no entry of `Δ_nj·a_n` has the
/// sign opposite to `Δ_nj`, so the row is (weakly) positive, (weakly)
/// negative or zero, never mixed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct TheoremCheck {
    /// Finite rows whose input met the precondition `a_n ≥ 0`.
    pub rows_checked: usize,
    /// Of those, rows not coherent with `sign(δ)`. Must be 0.
    pub violations: usize,
}

impl TheoremCheck {
    /// Whether there was no violation.
    pub fn holds(&self) -> bool {
        self.violations == 0
    }
}

/// Distinct orthants the per-example rows of each neuron visit.
///
/// Row `Δ_nj·a_n` is assigned the closed orthant `sign(Δ_nj)·s(a_n)`, where
/// `s_i` is the sign of `a_ni` under the tolerance and a zero input counts as
/// positive (a zero entry lies on the boundary of both orthants; this choice
/// puts every row of non-negative inputs, ReLU outputs included, in the
/// closed positive or negative orthant). Zero and non-finite rows visit none.
/// Patterns are compared by a 64-bit hash.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct OrthantOccupancy {
    /// The row length `K` (plus one with the bias): there are `2^dimension`
    /// orthants.
    pub dimension: usize,
    /// The fewest any neuron visited.
    pub min: usize,
    /// The mean over neurons.
    pub mean: f64,
    /// The most any neuron visited.
    pub max: usize,
}

/// Where a layer's inputs come from, to explain (never to decide) a verdict.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum InputSource {
    /// The network's input: the data.
    Data,
    /// The output of the layer below, with its activation.
    Activation(Activation),
    /// Raw matrices given to `analyze_layer`: unknown.
    Unknown,
}

/// One layer a dense layer's inputs passed through on their way from the
/// dense layer below (or from the data).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum InputStep {
    /// An element-wise activation.
    Activation(Activation),
    /// Any other layer, by the kind it reports itself with
    /// (`"batch_norm"`, `"layer_norm"`, `"mean_only_batch_norm"`…).
    Layer(&'static str),
}

/// What reached a dense layer: the layers between the dense layer below
/// (or the data) and this one, in order, read from
/// [`Trace::records`](crate::nn::Trace::records). Empty for inputs fed
/// straight from the data or the layer below, and for raw matrices.
///
/// A normalisation is any layer whose kind ends in `norm`; it *centres*
/// the layer's inputs when no activation (other than the identity) comes
/// after it: BatchNorm after a sigmoid centres the next layer's inputs,
/// BatchNorm before it only centres the sigmoid's pre-activation.
#[derive(Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct InputPath {
    /// The steps, first applied first.
    pub steps: Vec<InputStep>,
}

impl InputPath {
    fn is_norm(s: &InputStep) -> bool {
        matches!(s, InputStep::Layer(k) if k.ends_with("norm"))
    }

    fn activation(s: &InputStep) -> Option<Activation> {
        match *s {
            InputStep::Activation(a) if a != Activation::Identity => Some(a),
            _ => None,
        }
    }

    /// The last normalisation on the path, if any.
    pub fn normalisation(&self) -> Option<&'static str> {
        self.steps.iter().rev().find_map(|s| match s {
            InputStep::Layer(k) if k.ends_with("norm") => Some(*k),
            _ => None,
        })
    }

    /// The last activation on the path (the identity not counted).
    pub fn last_activation(&self) -> Option<Activation> {
        self.steps.iter().rev().find_map(Self::activation)
    }

    /// Whether a normalisation comes after the last activation: the inputs
    /// arrive normalised (centred) by it.
    pub fn centred(&self) -> bool {
        let last_norm = self.steps.iter().rposition(Self::is_norm);
        let last_act = self
            .steps
            .iter()
            .rposition(|s| Self::activation(s).is_some());
        match (last_norm, last_act) {
            (Some(n), Some(a)) => n > a,
            (Some(_), None) => true,
            _ => false,
        }
    }

    /// The normalisation in words: `"batch_norm after sigmoid"`,
    /// `"batch_norm before sigmoid"`, `"layer_norm"`; `None` without one.
    pub fn describe(&self) -> Option<String> {
        let n = self.steps.iter().rposition(Self::is_norm)?;
        let InputStep::Layer(kind) = self.steps[n] else {
            return None;
        };
        if let Some(a) = self.steps[n + 1..].iter().find_map(Self::activation) {
            return Some(format!("{kind} before {a}"));
        }
        Some(
            match self.steps[..n].iter().rev().find_map(Self::activation) {
                Some(a) => format!("{kind} after {a}"),
                None => kind.to_string(),
            },
        )
    }
}

/// The share of a sigmoid or tanh layer's units that are saturated: the
/// activation's derivative is below `threshold` times its maximum.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Saturation {
    /// The layer's activation.
    pub activation: Activation,
    /// Saturated outputs over all `B·J` outputs.
    pub share: f64,
    /// The derivative ratio below which an output counts as saturated.
    pub threshold: f64,
}

/// The analysis of one dense layer.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
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

    fn name(&self) -> String {
        match self.layer {
            Some(l) => format!("layer {l}"),
            None => "layer".to_string(),
        }
    }
}

/// The analysis of every selected layer of a network, with its diagnosis.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct NetworkReport {
    /// One report per analysed layer, first layer first.
    pub layers: Vec<LayerReport>,
    /// What the numbers mean, in words.
    pub diagnosis: Diagnosis,
}

fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

fn opt(x: Option<f64>) -> String {
    x.map_or_else(|| "-".to_string(), number)
}

fn source_name(s: InputSource) -> String {
    match s {
        InputSource::Data => "data".to_string(),
        InputSource::Activation(a) => a.to_string(),
        InputSource::Unknown => "?".to_string(),
    }
}

const CATEGORY_HEADER: &str = "                 positive   negative    weak +    weak -      zero     mixed  non-fin.  coherent";

fn category_line(f: &mut fmt::Formatter<'_>, label: &str, c: &CategoryCounts) -> fmt::Result {
    writeln!(
        f,
        "  {label:<14}{:>9}  {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        c.positive,
        c.negative,
        c.weakly_positive,
        c.weakly_negative,
        c.zero,
        c.mixed,
        c.non_finite,
        pct(c.coherent_share())
    )
}

impl fmt::Display for LayerReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: {} inputs{} from {} -> {} neurons, batch {}, sign tolerance {}",
            self.name(),
            self.fan_in,
            if self.bias { " (+ bias)" } else { "" },
            match self.input_path.describe() {
                Some(n) => format!("{} via {n}", source_name(self.input_source)),
                None => source_name(self.input_source),
            },
            self.fan_out,
            self.batch,
            number(self.sign_tolerance)
        )?;
        if self.positions > 1 {
            writeln!(
                f,
                "  convolution: {} examples × {} positions; each row below is one position's \
                 patch (filter = neuron), and an example's gradient sums its positions",
                self.batch / self.positions,
                self.positions
            )?;
        }
        let (lo, hi) = self.inputs.mean_range().unwrap_or((0.0, 0.0));
        writeln!(
            f,
            "  inputs: {} of examples strictly positive, {} non-negative, {} share one sign pattern; \
             feature means {} .. {}; {} of entries positive, {} exactly zero; {} non-finite",
            pct(self.precondition.strictly_positive_share()),
            pct(self.precondition.non_negative_share()),
            pct(self.precondition.one_pattern_share()),
            number(lo),
            number(hi),
            pct(self.inputs.overall_positive_share()),
            pct(self.inputs.overall_zero_share()),
            self.inputs.non_finite
        )?;
        writeln!(
            f,
            "  theorem (inputs >= 0 => no entry against the sign of δ): {} rows checked, {} violations{}",
            self.theorem.rows_checked,
            self.theorem.violations,
            if self.theorem.holds() {
                ""
            } else {
                "  <-- MUST BE 0"
            }
        )?;
        writeln!(f, "{CATEGORY_HEADER}")?;
        if let Some(summed) = &self.per_example_summed {
            category_line(f, "per-position", &self.per_example)?;
            category_line(f, "per-example", summed)?;
        } else {
            category_line(f, "per-example", &self.per_example)?;
        }
        category_line(f, "batch rows", &self.batch_rows)?;
        writeln!(
            f,
            "  gap per-example - batch: {:+.1} points",
            100.0 * self.coherence_gap()
        )?;
        let (dlo, dhi) = self.delta_positive_range().unwrap_or((0.0, 0.0));
        writeln!(
            f,
            "  δ > 0: {} of all deltas (per neuron {} .. {}); {} dead neurons; {} non-finite deltas",
            pct(self.delta.positive_share()),
            pct(dlo),
            pct(dhi),
            self.dead_neurons,
            self.delta.non_finite
        )?;
        writeln!(
            f,
            "  orthants visited per neuron: min {}, mean {}, max {} of 2^{}; mean |cos(g, 1)| {}",
            self.orthants.min,
            number(self.orthants.mean),
            self.orthants.max,
            self.orthants.dimension,
            opt(self.mean_abs_cos_ones)
        )?;
        if let Some(s) = &self.saturation {
            writeln!(
                f,
                "  saturation ({}): {} of outputs have f' < {} of its maximum",
                s.activation,
                pct(s.share),
                pct(s.threshold)
            )?;
        }
        if let Some(c) = &self.curvature {
            curvature_section(f, c)?;
        }
        if let Some(c) = &self.constant_inputs {
            writeln!(
                f,
                "  constant inputs (equal on every example): {} of {}: {}",
                c.columns.len(),
                self.fan_in,
                index_list(&c.columns)
            )?;
            if let Some(sub) = &c.curvature {
                writeln!(f, "  without them:")?;
                curvature_section(f, sub)?;
            }
        }
        Ok(())
    }
}

/// The per-neuron table of a [`LayerReport`] (see
/// [`LayerReport::neuron_table`]).
pub struct NeuronTable<'a>(&'a LayerReport);

impl fmt::Display for NeuronTable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:>6}  {:>9}  {:>6}  {:>6}  {:>6}  {:>15}  {:>8}  {:>9}  {:>10}",
            "neuron",
            "coherent",
            "mixed",
            "zero",
            "δ>0",
            "batch row",
            "orthants",
            "|cos|",
            "violations"
        )?;
        for n in &self.0.neurons {
            writeln!(
                f,
                "{:>6}  {:>9}  {:>6}  {:>6}  {:>6}  {:>15}  {:>8}  {:>9}  {:>10}",
                n.neuron,
                pct(n.per_example.coherent_share()),
                n.per_example.mixed,
                n.per_example.zero,
                pct(n.delta.positive_share()),
                n.batch_row,
                n.orthants_visited,
                opt(n.mean_abs_cos_ones),
                n.theorem_violations
            )?;
        }
        Ok(())
    }
}

impl fmt::Display for NetworkReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:>5}  {:>10}  {:>8}  {:>9}  {:>9}  {:>10}  {:>9}  {:>7}  {:>6}  {:>8}  {:>6}  {:>10}",
            "layer",
            "in -> out",
            "from",
            "inputs>0",
            "inputs≥0",
            "per-ex coh",
            "batch coh",
            "gap",
            "δ>0",
            "orthants",
            "|cos|",
            "violations"
        )?;
        for l in &self.layers {
            writeln!(
                f,
                "{:>5}  {:>10}  {:>8}  {:>9}  {:>9}  {:>10}  {:>9}  {:>+7.1}  {:>6}  {:>8}  {:>6}  {:>10}",
                l.layer.map_or_else(|| "-".to_string(), |i| i.to_string()),
                format!("{} -> {}", l.fan_in, l.fan_out),
                source_name(l.input_source),
                pct(l.precondition.strictly_positive_share()),
                pct(l.precondition.non_negative_share()),
                pct(l.per_example_coherence()),
                pct(l.batch_coherence()),
                100.0 * l.coherence_gap(),
                pct(l.delta.positive_share()),
                number(l.orthants.mean),
                opt(l.mean_abs_cos_ones),
                l.theorem.violations
            )?;
        }
        super::curvature::network_table(f, &self.layers)?;
        writeln!(f)?;
        write!(f, "{}", self.diagnosis)
    }
}
