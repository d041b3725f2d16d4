//! The diagnosis in plain words: which layers receive one-signed inputs,
//! why, what would fix it, with the measured size of the effect, and the
//! caveats an honest reading needs.
//!
//! Verdicts come from the measured signs only. Where the inputs come from
//! (the data, or an activation below) is used to *explain* a verdict, never
//! to decide it: a tanh layer whose outputs happen to be one-signed is
//! reported as one-signed.

use crate::activation::Activation;

mod rules;

use crate::analysis::diagnostics::curvature::CurvatureEvidence;

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
#[non_exhaustive]
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
#[non_exhaustive]
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
    /// analyzer was told ([`OptimizerKind::WithState`](crate::analysis::OptimizerKind::WithState)) that the optimiser
    /// carries state: its steps leave those orthants.
    OptimiserState,
    /// The optimiser was not given ([`OptimizerKind::Unknown`](crate::analysis::OptimizerKind::Unknown)): whether the
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
#[non_exhaustive]
pub struct Diagnosis {
    /// One entry per analysed layer.
    pub layers: Vec<LayerDiagnosis>,
    /// Caveats, in the order they should be read.
    pub caveats: Vec<Caveat>,
}
