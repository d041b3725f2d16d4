//! Every setting of the analyzer and of its tracking over training, in one
//! place.

/// Which layers of a trace to analyse.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum LayerSelection {
    /// Every layer.
    #[default]
    All,
    /// These layer indices (first layer = 0), in this order.
    Only(Vec<usize>),
}

/// What the analysed gradients will be used by: the diagnosis needs it to
/// say whether the two-orthant statement (exact for a plain SGD step) holds
/// for the steps actually taken. The analyzer cannot see the optimiser, so
/// it is told ([`GradientSignAnalyzer::with_optimizer`](crate::analysis::GradientSignAnalyzer::with_optimizer)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum OptimizerKind {
    /// Not said: the diagnosis says the statement depends on it. The
    /// default.
    #[default]
    Unknown,
    /// Plain SGD (no momentum, no decoupled weight decay): each step is
    /// `−η` times the measured gradient, so the statement applies as is.
    PlainSgd,
    /// An optimiser whose step is not a multiple of the gradient: momentum,
    /// Nesterov, Adam, AdamW, RMSProp, decoupled weight decay. The diagnosis
    /// warns that its steps leave the two orthants.
    WithState,
}

/// Settings of a [`GradientSignAnalyzer`](crate::analysis::GradientSignAnalyzer). Build them through the
/// analyzer's `with_*` methods ([`with_threads`](crate::analysis::GradientSignAnalyzer::with_threads),
/// [`with_curvature`](crate::analysis::GradientSignAnalyzer::with_curvature), ...), or start
/// from [`default`](Default::default) and set fields; the struct is
/// `#[non_exhaustive]`, so new settings are not breaking changes.
///
/// ```
/// let cfg = gradsign::analysis::AnalyzerConfig::default();
/// assert_eq!(cfg.sign_tolerance, 0.0);
/// assert!(cfg.include_bias);
/// assert!(!cfg.curvature); // opt-in: far more expensive than the report
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct AnalyzerConfig {
    /// A value `x` counts as zero when `|x| ≤ sign_tolerance`. Default exactly
    /// 0: only `±0.0` is zero.
    pub sign_tolerance: f64,
    /// Treat the bias as one more input equal to 1, so each row is the
    /// neuron's whole parameter vector `(w, b)`. Default `true`. A layer
    /// without a bias never gets one.
    pub include_bias: bool,
    /// Which layers [`GradientSignAnalyzer::analyze`](crate::analysis::GradientSignAnalyzer::analyze) covers.
    pub layers: LayerSelection,
    /// Threads the batch-row product and the per-sample gradients may use.
    /// Default 1. Clamped where it is used to `1 ..= `[`max_threads`](crate::threads::max_threads)`()`,
    /// the crate's rule for every thread count (see
    /// [`threads`](crate::threads#thread-counts)): 0 means 1, `usize::MAX`
    /// every thread the machine has.
    pub threads: usize,
    /// Adds to each layer's report the curvature its inputs impose
    /// ([`InputCurvature`](crate::curvature::spectrum::InputCurvature): the
    /// spectra and condition numbers of `E[a aᵀ]` and `Cov(a)`, with and
    /// without the bias column), and to the diagnosis what it means. Default
    /// off: it costs four full symmetric eigendecompositions of a
    /// `K×K` (or `(K+1)×(K+1)`) matrix per layer, `O(K³)`: for BENCH.md's
    /// W3 first layer (`K` = 784) about a second, some 500 times a training
    /// step, against about half a step for the default report.
    pub curvature: bool,
    /// What [`GradientSignAnalyzer::observe`](crate::analysis::GradientSignAnalyzer::observe) records over training.
    pub tracking: TrackingConfig,
    /// The optimiser the gradients feed, for the diagnosis's caveats.
    /// Default [`OptimizerKind::Unknown`].
    pub optimizer: OptimizerKind,
    /// Adds to each layer's report the gradient statistics of the
    /// literature ([`LayerStatistics`](crate::stats::LayerStatistics)), as
    /// this configuration selects, and to the network report their
    /// combination ([`NetworkReport::statistics`](crate::analysis::NetworkReport::statistics)).
    /// Default `None` (off). The analyzer sets the configuration's
    /// [`bias`](crate::stats::StatisticsConfig::bias) from
    /// [`include_bias`](Self::include_bias) and the layer,
    /// [`threads`](crate::stats::StatisticsConfig::threads) from
    /// [`threads`](Self::threads) and
    /// [`positions`](crate::stats::StatisticsConfig::positions) from the
    /// trace; the rest is used as given. The default selection (norms,
    /// `α`, `B_simple`, the GradSign score, the AND-mask) reads each
    /// layer's summed gradient from its weight's gradient, as the batch
    /// rows do, and adds about a fifth of a training step (W3, `cargo bench
    /// --bench stats`); the opt-in
    /// [`gram`](crate::stats::StatisticsConfig::gram) (stiffness) and
    /// [`gsnr`](crate::stats::StatisticsConfig::gsnr) cost a product the
    /// size of a weight gradient each. A convolution's statistics are its
    /// examples' (each the sum over positions), from materialised summed
    /// per-example gradients (see [`stats`](crate::stats#convolutions)).
    pub statistics: Option<crate::stats::StatisticsConfig>,
}

impl Default for AnalyzerConfig {
    fn default() -> Self {
        AnalyzerConfig {
            sign_tolerance: 0.0,
            include_bias: true,
            layers: LayerSelection::All,
            threads: 1,
            curvature: false,
            tracking: TrackingConfig::default(),
            optimizer: OptimizerKind::Unknown,
            statistics: None,
        }
    }
}

/// A sigmoid or tanh output counts as saturated when the derivative is below
/// this share of its maximum (σ′ < 0.025, tanh′ < 0.1).
pub const SATURATION_THRESHOLD: f64 = 0.1;

/// Which update of a layer [`observe`](super::GradientSignAnalyzer::observe)
/// records each step.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum UpdateSource {
    /// `u_t = −∇L` of the step, read from the gradients: plain SGD's step
    /// without its learning rate. A constant learning rate scales every
    /// update alike and changes no measure (cosines, orthants, sign flips,
    /// component ratios, path efficiency); the signs are exact, so one
    /// example's update over strictly positive inputs is always one-signed.
    /// The default.
    #[default]
    NegativeGradient,
    /// `u_t = W_t − W_{t−1}` from the weights of consecutive traces: the
    /// step the optimiser actually took (momentum, weight decay and Adam
    /// included), one step behind (the first call only stores `W_0`), and
    /// subject to rounding: an update smaller than half an ulp of a weight
    /// is lost in it.
    WeightChange,
}

/// When the tracker computes the top eigenvector of each layer's `E[ã ãᵀ]`.
///
/// Its cost is an eigendecomposition of the smaller of the `d×d` second
/// moment and the `B×B` Gram matrix (`d` = the layer's inputs, plus one with
/// the bias): a few milliseconds for BENCH.md's W3 (`B` = 128), paid on the
/// steps it is computed, which allocate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum TopEigenvector {
    /// Not tracked.
    Off,
    /// From the first observed batch, kept for the whole run. The default.
    #[default]
    FirstBatch,
    /// From the first observed batch, recomputed every this many steps
    /// (by the caller's step index); 0 is rejected by
    /// [`observe`](super::GradientSignAnalyzer::observe).
    Every(usize),
}

/// Settings of [`observe`](super::GradientSignAnalyzer::observe): start
/// from [`default`](Default::default) and change what differs with the
/// setters, each named after its field (the struct is `#[non_exhaustive]`, so
/// new settings are not breaking changes).
///
/// ```
/// use gradsign::analysis::{TopEigenvector, TrackingConfig, UpdateSource};
/// let cfg = TrackingConfig::default();
/// assert_eq!(cfg.updates, UpdateSource::NegativeGradient);
/// assert_eq!(cfg.top_eigenvector, TopEigenvector::FirstBatch);
/// assert!(cfg.delta_flips);
///
/// let cfg = TrackingConfig::default()
///     .updates(UpdateSource::WeightChange)
///     .top_eigenvector(TopEigenvector::Every(10));
/// assert_eq!(cfg.updates, UpdateSource::WeightChange);
/// assert!(cfg.delta_flips);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct TrackingConfig {
    /// Which update is recorded.
    pub updates: UpdateSource,
    /// Whether (and how often) the component of each update along the top
    /// eigenvector of `E[ã ãᵀ]` is followed.
    pub top_eigenvector: TopEigenvector,
    /// Whether to count the sign flips of each neuron's `δ` between
    /// consecutive steps (example `n` against example `n`: meaningful for a
    /// fixed batch or one example per step; a step whose batch size differs
    /// from the first one's is not compared).
    pub delta_flips: bool,
}

impl Default for TrackingConfig {
    fn default() -> Self {
        TrackingConfig {
            updates: UpdateSource::NegativeGradient,
            top_eigenvector: TopEigenvector::FirstBatch,
            delta_flips: true,
        }
    }
}

impl TrackingConfig {
    /// Sets [`updates`](Self::updates).
    ///
    /// ```
    /// use gradsign::analysis::{TrackingConfig, UpdateSource};
    /// let cfg = TrackingConfig::default().updates(UpdateSource::WeightChange);
    /// assert_eq!(cfg.updates, UpdateSource::WeightChange);
    /// ```
    pub fn updates(mut self, updates: UpdateSource) -> Self {
        self.updates = updates;
        self
    }

    /// Sets [`top_eigenvector`](Self::top_eigenvector).
    ///
    /// ```
    /// use gradsign::analysis::{TopEigenvector, TrackingConfig};
    /// let cfg = TrackingConfig::default().top_eigenvector(TopEigenvector::Off);
    /// assert_eq!(cfg.top_eigenvector, TopEigenvector::Off);
    /// ```
    pub fn top_eigenvector(mut self, top_eigenvector: TopEigenvector) -> Self {
        self.top_eigenvector = top_eigenvector;
        self
    }

    /// Sets [`delta_flips`](Self::delta_flips).
    ///
    /// ```
    /// use gradsign::analysis::TrackingConfig;
    /// assert!(!TrackingConfig::default().delta_flips(false).delta_flips);
    /// ```
    pub fn delta_flips(mut self, delta_flips: bool) -> Self {
        self.delta_flips = delta_flips;
        self
    }
}
