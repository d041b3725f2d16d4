//! The diagnosis in plain words: which layers receive one-signed inputs,
//! why, what would fix it, with the measured size of the effect, and the
//! caveats an honest reading needs.
//!
//! Verdicts come from the measured signs only. Where the inputs come from
//! (the data, or an activation below) is used to *explain* a verdict, never
//! to decide it: a tanh layer whose outputs happen to be one-signed is
//! reported as one-signed.

use std::fmt;

use crate::activation::{Activation, OutputSign};

use super::analyzer::OptimizerKind;
use super::curvature::{CurvatureEvidence, index_list, number};
use super::report::{InputSource, LayerReport};

/// What the measured input signs of a layer imply for its gradient rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum Verdict {
    /// Every example's inputs are strictly positive: on every example, each
    /// neuron's row has every entry of the sign of its `δ` (two orthants).
    AllPositive,
    /// Every example's inputs are `≥ 0` with exact zeros (ReLU below): rows
    /// are weakly coherent, never mixed.
    NonNegative,
    /// Every example's inputs share one sign pattern without zeros (but not
    /// all positive): rows are confined to two opposite orthants all the same.
    OneSignPattern,
    /// Inputs have mixed signs, yet at least half of the per-example rows are
    /// coherent: the inputs are far from centred.
    MostlyCoherent,
    /// Most per-example rows are mixed: the sign restriction does not bind.
    Unrestricted,
}

impl Verdict {
    /// Whether the layer's updates are confined (fully or mostly) to two
    /// orthants per example.
    pub fn is_restricted(self) -> bool {
        self != Verdict::Unrestricted
    }
}

/// Why a layer's inputs are one-signed, as far as the network's structure
/// tells.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum Cause {
    /// The network's input data is not centred.
    NonCentredData,
    /// The layer below applies this activation.
    ActivationBelow(Activation),
    /// The inputs came as raw matrices: the source is unknown.
    Unknown,
}

/// A remedy for one-signed inputs.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum Fix {
    /// Subtract each feature's mean from the data (and scale it).
    CentreData,
    /// Use tanh or another zero-centred activation in the layer below.
    CentredActivation,
    /// Normalise the layer's inputs (batch or layer normalisation).
    Normalisation,
    /// Normalise the layer's inputs *after* this activation of the layer
    /// below (BatchNorm after the sigmoid, not before it: normalising the
    /// pre-activation leaves the activation's outputs one-signed).
    NormaliseAfter(Activation),
}

/// The numbers behind a layer's verdict.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Evidence {
    /// Share of examples whose inputs are strictly positive.
    pub strictly_positive: f64,
    /// Share of examples whose inputs are `≥ 0`.
    pub non_negative: f64,
    /// Share of per-example rows that are coherent.
    pub per_example_coherence: f64,
    /// Share of batch rows that are coherent.
    pub batch_coherence: f64,
    /// Mean distinct orthants visited per neuron.
    pub mean_orthants: f64,
    /// The row length: `2^dimension` orthants exist.
    pub orthant_dimension: usize,
    /// Mean `|cos(g, 1)|` of per-example rows.
    pub mean_abs_cos_ones: Option<f64>,
    /// The smallest and largest feature mean of the inputs.
    pub input_mean_range: Option<(f64, f64)>,
    /// Share of all `δ` that are positive.
    pub delta_positive: f64,
    /// The curvature of the inputs, when the report has it.
    pub curvature: Option<CurvatureEvidence>,
}

/// The diagnosis of one layer.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct LayerDiagnosis {
    /// The layer's index (`None` for raw matrices).
    pub layer: Option<usize>,
    /// `(fan_in, fan_out)`.
    pub size: (usize, usize),
    /// Rows per example: 1 for a dense layer, the output positions of a
    /// convolution (whose verdict is then about positions and filters).
    pub positions: usize,
    /// What the measured signs imply.
    pub verdict: Verdict,
    /// Why, for a restricted layer.
    pub cause: Option<Cause>,
    /// What would lift the restriction (empty when there is none).
    pub fixes: Vec<Fix>,
    /// The measured numbers.
    pub evidence: Evidence,
    /// How the layer's inputs were normalised, from the trace
    /// ([`InputPath::describe`](super::InputPath::describe)): `"batch_norm after sigmoid"`; `None`
    /// when no normalisation reaches them.
    pub normalised_by: Option<String>,
    /// Whether that normalisation comes after the last activation, so that
    /// it centres the inputs ([`InputPath::centred`](super::InputPath::centred)).
    pub inputs_centred_by_normalisation: bool,
    /// With curvature: the inputs constant over the batch (they make
    /// `Cov(a)` singular, so its `κ` is `∞` whatever the other inputs do).
    pub constant_inputs: Vec<usize>,
    /// With curvature and constant inputs: the numbers of the other inputs
    /// alone (`None` when every input is constant).
    pub curvature_without_constant: Option<CurvatureEvidence>,
}

/// Something the numbers do not show by themselves.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum Caveat {
    /// Summing over the batch mixed the signs of some rows (batch coherence
    /// below per-example coherence), which does not make each example's
    /// step any less one-signed. Only given when it happened.
    BatchMixing {
        /// Per-example coherence over the restricted layers.
        per_example: f64,
        /// Batch-row coherence over the same layers.
        batch: f64,
    },
    /// `δ` took both signs: `σ′ > 0` does not make `δ` positive, since `σ′`
    /// only scales `δ`, whose sign comes from the weights and the error
    /// above. Only given when both signs were measured.
    DeltaTakesBothSigns {
        /// Share of positive `δ` over the restricted layers.
        positive_share: f64,
    },
    /// The two-orthant statement is for plain SGD on one example, and the
    /// analyzer was told ([`OptimizerKind::WithState`]) that the optimiser
    /// carries state: its steps leave those orthants.
    OptimiserState,
    /// The optimiser was not given ([`OptimizerKind::Unknown`]): whether the
    /// steps taken stay in the two orthants depends on it.
    OptimiserUnknown,
    /// Saturation of squashing units (sigmoid, tanh and kin): a separate and
    /// often larger cause of slow training than one-signed inputs.
    Saturation {
        /// The saturated share per measured layer: `(layer, activation, share)`.
        measured: Vec<(Option<usize>, Activation, f64)>,
    },
    /// A convolution: the statement is exact per output position (one
    /// position's gradient `δ_p·patch_p`), while an example's own gradient
    /// sums its positions and is mixed as a batch would be. Given for every
    /// convolutional layer.
    Convolution {
        /// The layer.
        layer: Option<usize>,
        /// Output positions per example.
        positions: usize,
        /// Coherent share of the per-position rows.
        per_position: f64,
        /// Coherent share of the per-example (summed) rows.
        per_example: f64,
    },
    /// Non-finite values were found and left unclassified.
    NonFinite {
        /// The layer.
        layer: Option<usize>,
        /// Non-finite per-example rows.
        rows: usize,
    },
    /// The theorem was violated: with IEEE arithmetic this cannot happen, so
    /// it points at a bug.
    TheoremViolated {
        /// The layer.
        layer: Option<usize>,
        /// Violating rows.
        rows: usize,
    },
}

/// The diagnosis of a network (or of one layer).
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Diagnosis {
    /// One entry per analysed layer.
    pub layers: Vec<LayerDiagnosis>,
    /// Caveats, in the order they should be read.
    pub caveats: Vec<Caveat>,
}

/// A layer's verdict from its measured signs alone.
fn verdict(r: &LayerReport) -> Verdict {
    let p = &r.precondition;
    if p.strictly_positive == p.examples {
        Verdict::AllPositive
    } else if p.non_negative == p.examples {
        Verdict::NonNegative
    } else if p.one_pattern == p.examples {
        Verdict::OneSignPattern
    } else if r.per_example_coherence() >= 0.5 {
        Verdict::MostlyCoherent
    } else {
        Verdict::Unrestricted
    }
}

impl LayerDiagnosis {
    /// Diagnoses one layer from its report.
    pub fn from_report(r: &LayerReport) -> Self {
        let verdict = verdict(r);
        let path = &r.input_path;
        let cause =
            verdict
                .is_restricted()
                .then_some(match (r.input_source, path.last_activation()) {
                    (InputSource::Activation(a), _) | (InputSource::Unknown, Some(a)) => {
                        Cause::ActivationBelow(a)
                    }
                    (InputSource::Data, _) => Cause::NonCentredData,
                    (InputSource::Unknown, None) => Cause::Unknown,
                });
        // Never a fix the model already has: no normalisation where one
        // already centres the inputs, no zero-centred activation where the
        // activation below is one. The normalisation is placed after the
        // activation: before it, it centres the pre-activation only.
        let centred = path.centred();
        let mut fixes = Vec::new();
        match cause {
            None => {}
            Some(Cause::NonCentredData | Cause::Unknown) if !centred => {
                fixes.extend([Fix::CentreData, Fix::Normalisation]);
            }
            Some(Cause::NonCentredData | Cause::Unknown) => {}
            Some(Cause::ActivationBelow(a)) => {
                if !a.is_zero_centred() {
                    fixes.push(Fix::CentredActivation);
                }
                if !centred {
                    fixes.push(Fix::NormaliseAfter(a));
                }
            }
        }
        let (constant_inputs, curvature_without_constant) = match &r.constant_inputs {
            Some(c) => (
                c.columns.clone(),
                c.curvature.as_ref().map(CurvatureEvidence::of),
            ),
            None => (Vec::new(), None),
        };
        LayerDiagnosis {
            constant_inputs,
            curvature_without_constant,
            layer: r.layer,
            size: (r.fan_in, r.fan_out),
            positions: r.positions,
            verdict,
            cause,
            fixes,
            normalised_by: path.describe(),
            inputs_centred_by_normalisation: centred,
            evidence: Evidence {
                strictly_positive: r.precondition.strictly_positive_share(),
                non_negative: r.precondition.non_negative_share(),
                per_example_coherence: r.per_example_coherence(),
                batch_coherence: r.batch_coherence(),
                mean_orthants: r.orthants.mean,
                orthant_dimension: r.orthants.dimension,
                mean_abs_cos_ones: r.mean_abs_cos_ones,
                input_mean_range: r.inputs.mean_range(),
                delta_positive: r.delta.positive_share(),
                curvature: r.curvature.as_ref().map(CurvatureEvidence::of),
            },
        }
    }
}

impl Diagnosis {
    /// Diagnoses the given layer reports together, for an optimiser that is
    /// not known (see [`for_optimizer`](Self::for_optimizer)).
    pub fn from_layers(layers: &[LayerReport]) -> Self {
        Diagnosis::for_optimizer(layers, OptimizerKind::Unknown)
    }

    /// Diagnoses the given layer reports together, for gradients that feed
    /// `optimizer`. Every caveat is given only when the numbers show it:
    /// batch mixing when batch coherence is below per-example coherence,
    /// `δ`'s two signs when both were measured, the optimiser's state when
    /// it has some (or that it is unknown).
    pub fn for_optimizer(layers: &[LayerReport], optimizer: OptimizerKind) -> Self {
        let diagnosed: Vec<LayerDiagnosis> =
            layers.iter().map(LayerDiagnosis::from_report).collect();
        let mut caveats = Vec::new();
        for r in layers {
            if r.theorem.violations > 0 {
                caveats.push(Caveat::TheoremViolated {
                    layer: r.layer,
                    rows: r.theorem.violations,
                });
            }
        }
        let restricted: Vec<&LayerReport> = layers
            .iter()
            .zip(&diagnosed)
            .filter(|(_, d)| d.verdict.is_restricted())
            .map(|(r, _)| r)
            .collect();
        if !restricted.is_empty() {
            let mut per_example = super::report::CategoryCounts::default();
            let mut batch = super::report::CategoryCounts::default();
            let mut delta = super::report::DeltaBalance::default();
            for r in &restricted {
                per_example.merge(&r.per_example);
                batch.merge(&r.batch_rows);
                delta.merge(&r.delta);
            }
            let (per_example, batch) = (per_example.coherent_share(), batch.coherent_share());
            if batch < per_example {
                caveats.push(Caveat::BatchMixing { per_example, batch });
            }
            if delta.positive > 0 && delta.negative > 0 {
                caveats.push(Caveat::DeltaTakesBothSigns {
                    positive_share: delta.positive_share(),
                });
            }
            match optimizer {
                OptimizerKind::Unknown => caveats.push(Caveat::OptimiserUnknown),
                OptimizerKind::WithState => caveats.push(Caveat::OptimiserState),
                OptimizerKind::PlainSgd => {}
            }
        }
        for r in layers {
            if let Some(summed) = &r.per_example_summed {
                caveats.push(Caveat::Convolution {
                    layer: r.layer,
                    positions: r.positions,
                    per_position: r.per_example.coherent_share(),
                    per_example: summed.coherent_share(),
                });
            }
        }
        caveats.push(Caveat::Saturation {
            measured: layers
                .iter()
                .filter_map(|r| r.saturation.map(|s| (r.layer, s.activation, s.share)))
                .collect(),
        });
        for r in layers {
            if r.per_example.non_finite > 0 {
                caveats.push(Caveat::NonFinite {
                    layer: r.layer,
                    rows: r.per_example.non_finite,
                });
            }
        }
        Diagnosis {
            layers: diagnosed,
            caveats,
        }
    }
}

fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

fn layer_name(l: Option<usize>) -> String {
    l.map_or_else(|| "the layer".to_string(), |l| format!("layer {l}"))
}

/// Why an activation's outputs were one-signed, from its analytic
/// properties: an explanation of what was measured, never a verdict.
fn explain_activation(a: Activation) -> String {
    let range = a.output_range();
    match a.output_sign() {
        OutputSign::StrictlyPositive => {
            format!("{a}, whose outputs lie in {range}: never negative")
        }
        OutputSign::NonNegative => format!(
            "{a}, whose outputs lie in {range}: never negative, and exactly 0 where the unit is off"
        ),
        OutputSign::Any if a.is_zero_centred() => format!(
            "{a}, which is zero-centred (outputs in {range}); its outputs were measured one-signed \
             all the same, so its pre-activations sit far from zero (biases or inputs pushed them)"
        ),
        OutputSign::Any => format!(
            "{a}, whose outputs in {range} can be negative but are not zero-centred \
             (mean {:.2} for standard normal inputs); here they were measured one-signed",
            a.gaussian_moments().mean
        ),
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::NonCentredData => write!(f, "the input data is not centred"),
            Cause::ActivationBelow(a) => {
                write!(f, "the layer below applies {}", explain_activation(*a))
            }
            Cause::Unknown => write!(f, "the inputs are not centred (their source is unknown)"),
        }
    }
}

impl fmt::Display for Fix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fix::CentreData => f.write_str(
                "centre the inputs: subtract each feature's mean, fitted on the training data \
                 (gradsign::data::Centering), or standardise them (gradsign::data::Standardizer)",
            ),
            Fix::CentredActivation => {
                f.write_str("use tanh (Activation::Tanh) or another zero-centred activation below")
            }
            Fix::Normalisation => {
                f.write_str("normalise the layer's inputs (batch or layer normalisation)")
            }
            Fix::NormaliseAfter(a) => write!(
                f,
                "normalise the layer's inputs: BatchNorm (nn::BatchNorm) or LayerNorm after the \
                 {a}, not before it (before it, it centres the {a}'s pre-activation, and the \
                 {a}'s outputs reaching this layer keep their sign)"
            ),
        }
    }
}

impl fmt::Display for LayerDiagnosis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = &self.evidence;
        let name = layer_name(self.layer);
        let (k, j) = self.size;
        // A convolution's statement is about each output position's patch
        // and each filter.
        let (unit, inputs, neuron) = if self.positions > 1 {
            ("position", "patch", "filter")
        } else {
            ("example", "example's inputs", "neuron")
        };
        let what = match self.verdict {
            Verdict::AllPositive => format!(
                "every {inputs} is strictly positive, so on each {unit} every component of a \
                 {neuron}'s weight gradient has the sign of its δ"
            ),
            Verdict::NonNegative => format!(
                "every {inputs} is ≥ 0 with exact zeros ({} strictly positive), so each \
                 {unit}'s gradient row is weakly one-signed (never mixed)",
                pct(e.strictly_positive)
            ),
            Verdict::OneSignPattern => format!(
                "every {inputs} shares one sign pattern, so each {unit}'s gradient row lies in \
                 one of the same two opposite orthants"
            ),
            Verdict::MostlyCoherent => format!(
                "the inputs have mixed signs, yet most {unit}s' gradient rows are one-signed"
            ),
            Verdict::Unrestricted => format!(
                "the inputs take both signs; per-{unit} gradient rows are mostly mixed, so the \
                 sign restriction does not bind"
            ),
        };
        writeln!(f, "- {name} ({k} -> {j}): {what}.")?;
        write!(
            f,
            "  Measured: {} of per-{unit} rows one-signed, {} of batch rows; ",
            pct(e.per_example_coherence),
            pct(e.batch_coherence)
        )?;
        write!(
            f,
            "{} orthants visited per {neuron} out of 2^{}",
            number(e.mean_orthants),
            e.orthant_dimension
        )?;
        if let Some(c) = e.mean_abs_cos_ones {
            write!(f, "; mean |cos(g, 1)| = {}", number(c))?;
        }
        if let Some((lo, hi)) = e.input_mean_range {
            write!(f, "; input feature means {} .. {}", number(lo), number(hi))?;
        }
        writeln!(f, ".")?;
        if let Some(c) = &self.cause {
            writeln!(f, "  Cause: {c}.")?;
        }
        if let Some(n) = &self.normalised_by {
            if self.inputs_centred_by_normalisation {
                writeln!(f, "  Inputs: normalised by {n}, which centres them.")?;
            } else {
                writeln!(
                    f,
                    "  Inputs: {n}, which centres the pre-activation below, not this layer's inputs."
                )?;
            }
        }
        if let Some(c) = &e.curvature {
            if self.constant_inputs.is_empty() {
                writeln!(f, "  Curvature: {c}.")?;
            } else {
                let n = self.constant_inputs.len();
                write!(
                    f,
                    "  Curvature: input{} {} ({n} of {k}) {} constant over the batch, so Cov(a) \
                     is singular along {} (κ(Cov) = {} on all {k} inputs)",
                    if n == 1 { "" } else { "s" },
                    index_list(&self.constant_inputs),
                    if n == 1 { "is" } else { "are" },
                    if n == 1 { "it" } else { "them" },
                    number(c.kappa_covariance)
                )?;
                match &self.curvature_without_constant {
                    Some(sub) => writeln!(f, "; on the other {} inputs: {sub}.", k - n)?,
                    None => writeln!(
                        f,
                        "; no input varies, so there is no conditioning to report."
                    )?,
                }
            }
        }
        if !self.fixes.is_empty() {
            let fixes: Vec<String> = self.fixes.iter().map(Fix::to_string).collect();
            writeln!(f, "  Fix: {}.", fixes.join("; or "))?;
        }
        Ok(())
    }
}

impl fmt::Display for Caveat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Caveat::BatchMixing { per_example, batch } => write!(
                f,
                "Summing over the batch mixes signs: {} of batch rows are one-signed against {} of \
                 per-example rows in the affected layers. That does not remove the effect: each \
                 example's own step is still confined to two orthants, and the batch step is \
                 their sum.",
                pct(*batch),
                pct(*per_example)
            ),
            Caveat::Convolution {
                layer,
                positions,
                per_position,
                per_example,
            } => write!(
                f,
                "{} is a convolution: the statement holds per output position, where a filter's \
                 gradient is δ_p·patch_p ({} of position rows one-signed). An example's own \
                 gradient already sums its {positions} positions, so it is mixed like a batch \
                 ({} one-signed); one-signed patches still restrict every position's \
                 contribution, and the mean patch still adds an outlier to the curvature of \
                 E[patch patchᵀ].",
                layer.map_or_else(|| "The layer".to_owned(), |l| format!("Layer {l}")),
                pct(*per_position),
                pct(*per_example)
            ),
            Caveat::DeltaTakesBothSigns { positive_share } => write!(
                f,
                "δ takes both signs ({} positive in the affected layers): σ′ > 0 does not make δ \
                 positive. σ′ only scales δ; its sign comes from the weights and the error in the \
                 layer above.",
                pct(*positive_share)
            ),
            Caveat::OptimiserState => f.write_str(
                "The two-orthant statement is exact for a plain SGD step on one example; the \
                 optimiser here carries state (momentum, Adam, decoupled weight decay), so its \
                 steps leave these orthants.",
            ),
            Caveat::OptimiserUnknown => f.write_str(
                "The two-orthant statement is exact for a plain SGD step on one example; the \
                 optimiser was not given (GradientSignAnalyzer::with_optimizer), and one with \
                 state (momentum, Adam) steps outside these orthants.",
            ),
            Caveat::Saturation { measured } => {
                f.write_str(
                    "Saturation of squashing units (σ′ or tanh′ near 0) is a separate and often larger \
                     cause of slow training; do not blame everything on signs.",
                )?;
                for (l, a, s) in measured {
                    write!(
                        f,
                        " {} ({a}): {} of outputs saturated.",
                        layer_name(*l),
                        pct(*s)
                    )?;
                }
                Ok(())
            }
            Caveat::NonFinite { layer, rows } => write!(
                f,
                "{}: {rows} per-example rows contain NaN or infinity and were not classified.",
                layer_name(*layer)
            ),
            Caveat::TheoremViolated { layer, rows } => write!(
                f,
                "{}: {rows} rows with non-negative inputs had an entry against the sign of δ. \
                 This cannot happen in IEEE arithmetic: please report it as a bug.",
                layer_name(*layer)
            ),
        }
    }
}

impl fmt::Display for Diagnosis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Diagnosis")?;
        for l in &self.layers {
            write!(f, "{l}")?;
        }
        writeln!(f, "Caveats")?;
        for c in &self.caveats {
            writeln!(f, "- {c}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Tensor;
    use crate::analysis::GradientSignAnalyzer;

    fn report(a: &Tensor<f64>, source: InputSource) -> LayerReport {
        let d = Tensor::rand_normal(&[a.dims()[0], 4], 0.0, 1.0, 11).unwrap();
        let mut r = GradientSignAnalyzer::default()
            .analyze_layer(a, &d)
            .unwrap();
        r.input_source = source;
        r
    }

    #[test]
    fn positive_data_is_blamed_on_uncentred_data() {
        let a = Tensor::rand_uniform(&[32, 3], 0.0, 1.0, 1).unwrap();
        let d = LayerDiagnosis::from_report(&report(&a, InputSource::Data));
        assert_eq!(d.verdict, Verdict::AllPositive);
        assert_eq!(d.cause, Some(Cause::NonCentredData));
        assert_eq!(d.fixes, [Fix::CentreData, Fix::Normalisation]);
    }

    #[test]
    fn relu_below_gives_the_weak_verdict_and_a_centred_activation_fix() {
        let a = Tensor::rand_uniform(&[32, 3], -1.0, 1.0, 2)
            .unwrap()
            .map(|x: f64| x.max(0.0));
        let d = LayerDiagnosis::from_report(&report(&a, InputSource::Activation(Activation::Relu)));
        assert_eq!(d.verdict, Verdict::NonNegative);
        assert_eq!(d.fixes[0], Fix::CentredActivation);
    }

    #[test]
    fn verdict_comes_from_signs_not_from_the_activation() {
        // Centred inputs labelled as sigmoid outputs: the measured signs win.
        let a = Tensor::rand_uniform(&[64, 6], -1.0, 1.0, 3).unwrap();
        let d =
            LayerDiagnosis::from_report(&report(&a, InputSource::Activation(Activation::Sigmoid)));
        assert_eq!(d.verdict, Verdict::Unrestricted);
        assert_eq!(d.cause, None);
        assert!(d.fixes.is_empty());
    }

    #[test]
    fn causes_are_explained_from_the_activation_properties() {
        let text = |a| Cause::ActivationBelow(a).to_string();
        assert!(
            text(Activation::Sigmoid).contains("(0, 1): never negative"),
            "{}",
            text(Activation::Sigmoid)
        );
        assert!(text(Activation::Softplus(1.0)).contains("never negative"));
        assert!(text(Activation::Relu).contains("exactly 0"));
        assert!(text(Activation::Tanh).contains("zero-centred"));
        assert!(text(Activation::Gelu).contains("not zero-centred"));
    }

    #[test]
    fn diagnosis_text_names_cause_fix_and_caveats() {
        let a = Tensor::rand_uniform(&[32, 3], 0.0, 1.0, 4).unwrap();
        let text = Diagnosis::from_layers(&[report(&a, InputSource::Data)]).to_string();
        for needle in [
            "not centred",
            "centre the inputs",
            "batch",
            "Adam",
            "Saturation",
            "σ′",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
    }
}
