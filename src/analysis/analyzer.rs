//! [`GradientSignAnalyzer`] and every one of its public methods: the
//! builders, the one-step reports, the per-sample gradients and the tracking
//! over training.

use crate::autodiff::Gradients;
use crate::dynamics::{try_filled, try_grow};
use crate::element::Element;
use crate::error::{Error, Result};
use crate::nn::{LayerTrace, Trace};
use crate::shape::Shape;
use crate::stats::StatisticsWorkspace;
use crate::tensor::Tensor;

use crate::analysis::SignCategory;
use crate::analysis::config::{AnalyzerConfig, LayerSelection, OptimizerKind, TrackingConfig};
use crate::analysis::diagnosis::Diagnosis;
use crate::analysis::diagnostics::coherence::codes_of_example;
use crate::analysis::diagnostics::curvature::input_curvature;
use crate::analysis::diagnostics::input_path::{InputSource, input_path};
use crate::analysis::diagnostics::inputs::summarize_rows;
use crate::analysis::diagnostics::saturation::saturation;
use crate::analysis::pass::{
    LayerData, analyze_data, batch_row_codes, check_matrices, grouped_row_counts,
};
use crate::analysis::per_sample::{fill_threaded, per_sample_len};
use crate::analysis::report::{LayerReport, NetworkReport};
use crate::analysis::sign::presence;
use crate::analysis::tracker::SignTracker;
use crate::analysis::tracker_report::TrackerReport;

/// Measures per-neuron sign coherence of weight gradients: how far one-signed
/// inputs confine each example's gradient row `δ·a` to two orthants, how
/// much batching mixes it, and why (see the [module docs](super)).
///
/// Two kinds of use: [`analyze`](Self::analyze) (and
/// [`analyze_layer`](Self::analyze_layer)) report on one step;
/// [`observe`](Self::observe), called every step, follows the updates over
/// training in a [`SignTracker`] the analyzer owns.
///
/// ```
/// use gradsign::analysis::GradientSignAnalyzer;
/// let analyzer = GradientSignAnalyzer::default().with_sign_tolerance(1e-12).without_bias();
/// assert_eq!(analyzer.config().sign_tolerance, 1e-12);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GradientSignAnalyzer {
    config: AnalyzerConfig,
    tracker: SignTracker,
}

impl GradientSignAnalyzer {
    /// An analyzer with the given settings.
    pub fn new(config: AnalyzerConfig) -> Self {
        GradientSignAnalyzer {
            config,
            tracker: SignTracker::default(),
        }
    }

    /// The settings.
    pub fn config(&self) -> &AnalyzerConfig {
        &self.config
    }

    /// Sets the sign tolerance. It is checked when analysing, in the
    /// element type of the analysed values: it must be finite and `≥ 0` (NaN
    /// is rejected), and a non-zero tolerance must stay finite and non-zero
    /// in that type (`1e300` overflows `f32`, `1e-50` underflows it), or the
    /// analysis returns [`Error::OutOfDomain`].
    pub fn with_sign_tolerance(mut self, tol: f64) -> Self {
        self.config.sign_tolerance = tol;
        self
    }

    /// Includes the bias as an input equal to 1, or not.
    pub fn with_bias(mut self, include: bool) -> Self {
        self.config.include_bias = include;
        self
    }

    /// Leaves the bias out of every row.
    pub fn without_bias(self) -> Self {
        self.with_bias(false)
    }

    /// Analyses only these layers of a trace.
    pub fn with_layers(mut self, layers: LayerSelection) -> Self {
        self.config.layers = layers;
        self
    }

    /// Sets the threads the kernels may use, clamped to
    /// `1 ..= `[`max_threads`](crate::threads::max_threads)`()` (the crate's
    /// rule for every thread count, see [`threads`](crate::threads#thread-counts)):
    /// 0 means 1, and `usize::MAX` every thread the machine has.
    ///
    /// ```
    /// use gradsign::analysis::GradientSignAnalyzer;
    /// use gradsign::threads::max_threads;
    /// let a = GradientSignAnalyzer::default().with_threads(usize::MAX);
    /// assert_eq!(a.config().threads, max_threads());
    /// assert_eq!(GradientSignAnalyzer::default().with_threads(0).config().threads, 1);
    /// ```
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.config.threads = crate::threads::clamp_threads(threads);
        self
    }

    /// Tells the diagnosis which optimiser the gradients feed (see
    /// [`OptimizerKind`]): with [`OptimizerKind::WithState`] it warns that
    /// the steps leave the two orthants, with [`OptimizerKind::PlainSgd`] it
    /// does not, and by default it says that this depends on the optimiser.
    pub fn with_optimizer(mut self, optimizer: OptimizerKind) -> Self {
        self.config.optimizer = optimizer;
        self
    }

    /// Adds the curvature of each layer's inputs to the reports, or not
    /// (see [`AnalyzerConfig::curvature`] for its cost).
    pub fn with_curvature(mut self, curvature: bool) -> Self {
        self.config.curvature = curvature;
        self
    }

    /// Adds the gradient statistics of [`stats`](crate::stats) that
    /// `statistics` selects to the reports (see
    /// [`AnalyzerConfig::statistics`]; [`StatisticsConfig::default`]
    /// for the ones no dearer than the sign pass,
    /// [`StatisticsConfig::full`] for all of them).
    ///
    /// ```
    /// use gradsign::analysis::GradientSignAnalyzer;
    /// use gradsign::stats::StatisticsConfig;
    /// use gradsign::Tensor;
    /// let a = Tensor::<f64>::rand_uniform(&[32, 4], 0.0, 1.0, 1)?;
    /// let d = Tensor::<f64>::rand_normal(&[32, 3], 0.0, 1.0, 2)?;
    /// let analyzer = GradientSignAnalyzer::default().with_statistics(StatisticsConfig::default());
    /// let s = analyzer.analyze_layer(&a, &d)?.statistics.unwrap();
    /// assert_eq!(s.neurons.len(), 3);
    /// assert!(s.alignment.unwrap().alpha < 0.2); // zero-mean δ: near 1/B
    /// assert!(s.stiffness.is_none()); // opt-in
    /// let full = GradientSignAnalyzer::default().with_statistics(StatisticsConfig::full());
    /// assert!(full.analyze_layer(&a, &d)?.statistics.unwrap().stiffness.is_some());
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// [`StatisticsConfig::default`]: crate::stats::StatisticsConfig
    /// [`StatisticsConfig::full`]: crate::stats::StatisticsConfig::full
    pub fn with_statistics(mut self, statistics: crate::stats::StatisticsConfig) -> Self {
        self.config.statistics = Some(statistics);
        self
    }

    /// Sets what [`observe`](Self::observe) records.
    pub fn with_tracking(mut self, tracking: TrackingConfig) -> Self {
        self.config.tracking = tracking;
        self
    }

    /// Records one training step of every selected layer, read from the
    /// trace and the gradients after `backward` (nothing is re-run): per
    /// neuron the update (by default `u = −∇L`, see
    /// [`UpdateSource`](super::UpdateSource)), its orthant, its cosine with
    /// the previous update and the path efficiency `‖Σu_t‖ / Σ‖u_t‖`, the sign
    /// flips of `δ`; per layer the component of each neuron's update along
    /// the top eigenvector of the layer's `E[ã ãᵀ]` (`ã = [a, 1]` with the
    /// bias), computed from the first observed batch (see
    /// [`TopEigenvector`](super::TopEigenvector)). Read the results with
    /// [`trajectories`](Self::trajectories) or [`tracker`](Self::tracker).
    ///
    /// The first call sizes one [`TrajectoryRecorder`](crate::dynamics::TrajectoryRecorder)
    /// per layer and computes the eigenvectors; every later call makes one
    /// pass over each layer's gradient (or weights) and deltas and allocates
    /// nothing. `step` is the caller's step index; it must increase from
    /// call to call.
    ///
    /// ```
    /// use gradsign::activation::Activation;
    /// use gradsign::analysis::GradientSignAnalyzer;
    /// use gradsign::nn::{self, Init, Mlp};
    /// use gradsign::optim::Optimizer;
    /// use gradsign::{Tape, Tensor};
    /// let mut mlp = Mlp::builder(&[3, 4, 1]).hidden(Activation::Sigmoid).output(Activation::Identity).init(Init::LecunNormal).seed(1).build::<f64>()?;
    /// let data = Tensor::rand_uniform(&[20, 3], 0.0, 1.0, 2)?; // positive inputs
    /// let mut analyzer = GradientSignAnalyzer::default();
    /// let mut opt = gradsign::optim::Sgd::new(0.5);
    /// let mut tape = Tape::new();
    /// for step in 0..20 {
    ///     // Plain SGD, one example per step.
    ///     tape.clear();
    ///     let row = &data.as_slice()[3 * step..3 * step + 3];
    ///     let x = tape.constant_from_slice(row, &[1, 3])?;
    ///     let (y, trace) = nn::forward(&mlp, &tape, x)?;
    ///     let grads = (y - 1.0).square().sum().backward()?;
    ///     analyzer.observe(step, &trace, &grads)?;
    ///     opt.step(&mut mlp, &trace, &grads)?; // plain SGD
    /// }
    /// let report = analyzer.trajectories();
    /// for layer in &report.layers {
    ///     // Positive inputs (data, then sigmoid outputs): every update of
    ///     // every neuron is all-positive or all-negative.
    ///     assert_eq!(layer.min_one_signed_share(), Some(1.0));
    /// }
    /// println!("{report}");
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::OutOfOrder`] if `step` does not exceed the last one, or when
    /// the layer selection or the update source changed since the first
    /// call (call [`SignTracker::reset`] first); [`Error::OutOfDomain`] for
    /// an empty trace or for
    /// [`TopEigenvector::Every(0)`](super::TopEigenvector::Every);
    /// [`Error::IndexOutOfRange`] for a selected layer past its end;
    /// [`Error::Incompatible`] for a selected convolution (tracking covers
    /// dense layers); [`Error::Layer`] wrapping the error of one layer: a
    /// shape that is not the first call's ([`Error::ShapeMismatch`], or
    /// [`Error::Incompatible`] for a bias that appeared or vanished), a
    /// weight (or pre-activation) without a gradient
    /// ([`Error::NoGradient`]), a non-finite gradient, weight or delta
    /// ([`Error::NonFinite`]), or (as [`Error::TooLarge`] naming the sizes)
    /// a top eigenvector larger than
    /// [`MAX_CURVATURE_INPUTS`](super::MAX_CURVATURE_INPUTS) or a buffer
    /// that cannot be allocated. An `Err` records nothing.
    pub fn observe<F: Element>(
        &mut self,
        step: usize,
        trace: &Trace<'_, F>,
        gradients: &Gradients<F>,
    ) -> Result<()> {
        self.tracker.observe(&self.config, step, trace, gradients)
    }

    /// What [`observe`](Self::observe) has recorded.
    pub fn tracker(&self) -> &SignTracker {
        &self.tracker
    }

    /// The tracker, to refresh its eigenvectors or reset it.
    pub fn tracker_mut(&mut self) -> &mut SignTracker {
        &mut self.tracker
    }

    /// The per-layer trajectories recorded by [`observe`](Self::observe)
    /// (allocates; call it to look, not every step).
    pub fn trajectories(&self) -> TrackerReport {
        self.tracker.report()
    }

    /// The tolerance in `F`, validated there: finite and `≥ 0` as given, and
    /// a non-zero tolerance finite and non-zero once rounded to `F`.
    pub(crate) fn tolerance<F: Element>(&self, op: &'static str) -> Result<F> {
        let tol = self.config.sign_tolerance;
        let bad = |why: &str| Err(Error::out_of_domain(op, "the sign tolerance", why, tol));
        if !(tol.is_finite() && tol >= 0.0) {
            return bad("finite and ≥ 0");
        }
        let in_f = F::from_f64(tol);
        let type_name = std::any::type_name::<F>();
        if !in_f.is_finite() {
            return bad(&format!("finite in {type_name} (it overflows to {in_f})"));
        }
        if tol > 0.0 && in_f == F::zero() {
            return bad(&format!(
                "representable in {type_name} (it underflows to 0, which would silently \
                 mean an exact-zero tolerance)"
            ));
        }
        Ok(in_f)
    }

    /// Analyses every selected layer of a traced forward pass after
    /// `backward`: `A_l` is the layer's recorded input and
    /// `Δ_l = gradients.get(pre_activation)`. Nothing is re-run.
    ///
    /// The batch rows are read from the weight's (and bias's) gradient when
    /// they have one — that is `Δᵀ·A`, exactly what an optimiser applies, at no
    /// extra cost; if the loss also touches `W` elsewhere (weight decay), the
    /// batch rows include that term. Otherwise they are computed as `Δᵀ·A`.
    ///
    /// ```
    /// use gradsign::activation::Activation;
    /// use gradsign::analysis::{GradientSignAnalyzer, InputSource};
    /// use gradsign::nn::{self, Init, Mlp};
    /// use gradsign::{Tape, Tensor};
    /// let mlp = Mlp::builder(&[3, 4, 2]).hidden(Activation::Sigmoid).output(Activation::Identity).init(Init::LecunNormal).seed(1).build::<f64>()?;
    /// let tape = Tape::new();
    /// let x = tape.constant(&Tensor::rand_uniform(&[16, 3], 0.0, 1.0, 2)?); // raw positive data
    /// let (y, trace) = nn::forward(&mlp, &tape, x)?;
    /// let grads = (y - 0.5).square().sum().backward()?;
    /// let report = GradientSignAnalyzer::default().analyze(&trace, &grads)?;
    /// for layer in &report.layers {
    ///     // Positive data, then sigmoid outputs: every per-example row is one-signed.
    ///     assert_eq!(layer.per_example_coherence(), 1.0);
    ///     assert_eq!(layer.theorem.violations, 0);
    /// }
    /// assert_eq!(report.layers[1].input_source, InputSource::Activation(Activation::Sigmoid));
    /// println!("{report}");
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::OutOfDomain`] for an empty trace or a bad tolerance,
    /// [`Error::IndexOutOfRange`] for a selected layer past its end (see
    /// [`with_sign_tolerance`](Self::with_sign_tolerance)); [`Error::Layer`]
    /// wrapping the error of one layer: a pre-activation without a gradient
    /// ([`Error::NoGradient`]), inconsistent shapes (the input must be B×K,
    /// the pre-activation B×J, the weight J×K: [`Error::RankMismatch`],
    /// [`Error::ShapeMismatch`], or [`Error::Empty`] for an empty batch), or
    /// (as [`Error::TooLarge`] naming the sizes) a buffer of the analysis
    /// that cannot be allocated or, with
    /// [`curvature`](AnalyzerConfig::curvature), more than
    /// [`MAX_CURVATURE_INPUTS`](super::MAX_CURVATURE_INPUTS) inputs; or, with
    /// [`statistics`](AnalyzerConfig::statistics), the errors of
    /// [`layer_statistics`](crate::stats::layer_statistics) (a NaN or
    /// infinite input or delta among them).
    pub fn analyze<F: Element>(
        &self,
        trace: &Trace<'_, F>,
        gradients: &Gradients<F>,
    ) -> Result<NetworkReport> {
        self.analyze_with_workspace(trace, gradients, &mut StatisticsWorkspace::new())
    }

    /// [`analyze`](Self::analyze) with the buffers of the
    /// [`statistics`](AnalyzerConfig::statistics) in `workspace`: every
    /// layer's statistics are computed on it, and a workspace kept from
    /// step to step has, once warm, every buffer the statistics need
    /// (`analyze` makes one per call, shared by the layers).
    ///
    /// ```
    /// use gradsign::activation::Activation;
    /// use gradsign::analysis::GradientSignAnalyzer;
    /// use gradsign::nn::{self, Init, Mlp};
    /// use gradsign::stats::{StatisticsConfig, StatisticsWorkspace};
    /// use gradsign::{Tape, Tensor};
    /// let mlp = Mlp::builder(&[3, 4, 2]).hidden(Activation::Sigmoid).output(Activation::Identity).init(Init::LecunNormal).seed(1).build::<f64>()?;
    /// let analyzer = GradientSignAnalyzer::default().with_statistics(StatisticsConfig::default());
    /// let mut ws = StatisticsWorkspace::new();
    /// for step in 0..3 {
    ///     let tape = Tape::new();
    ///     let x = tape.constant(&Tensor::rand_uniform(&[16, 3], 0.0, 1.0, step)?);
    ///     let (y, trace) = nn::forward(&mlp, &tape, x)?;
    ///     let grads = y.square().sum().backward()?;
    ///     let report = analyzer.analyze_with_workspace(&trace, &grads, &mut ws)?;
    ///     assert!(report.statistics().is_some());
    /// }
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`analyze`](Self::analyze).
    pub fn analyze_with_workspace<F: Element>(
        &self,
        trace: &Trace<'_, F>,
        gradients: &Gradients<F>,
        workspace: &mut StatisticsWorkspace<F>,
    ) -> Result<NetworkReport> {
        let tol = self.tolerance::<F>("analyze")?;
        let n = trace.len();
        if n == 0 {
            return Err(Error::out_of_domain(
                "analyze",
                "the trace's layer count",
                "at least 1",
                0,
            ));
        }
        let selected: Vec<usize> = match &self.config.layers {
            LayerSelection::All => (0..n).collect(),
            LayerSelection::Only(v) => v.clone(),
        };
        let mut layers = Vec::with_capacity(selected.len());
        for l in selected {
            if l >= n {
                return Err(Error::IndexOutOfRange {
                    op: "analyze",
                    index: l,
                    bound: n,
                    shape: Shape::vector(n),
                });
            }
            let report = self
                .analyze_traced(trace, l, gradients, tol, workspace)
                .map_err(|e| Error::Layer {
                    layer: l,
                    source: Box::new(e),
                })?;
            layers.push(report);
        }
        let diagnosis = Diagnosis::for_optimizer(&layers, self.config.optimizer);
        Ok(NetworkReport { layers, diagnosis })
    }

    fn analyze_traced<F: Element>(
        &self,
        trace: &Trace<'_, F>,
        l: usize,
        gradients: &Gradients<F>,
        tol: F,
        workspace: &mut StatisticsWorkspace<F>,
    ) -> Result<LayerReport> {
        let lt = &trace.layers()[l];
        let (a_shape, z_shape) = lt.dense_shapes()?;
        let (batch, fan_in, fan_out) = check_matrices("analyze", a_shape, z_shape)?;
        check_parameters(lt, fan_in, fan_out)?;
        let deltas = lt.deltas(gradients)?;
        let deltas = &*deltas;
        // A convolution's patch matrix, built once for every reader below.
        let patches = lt.patches()?;
        let patches = patches.as_deref();
        let bias = self.config.include_bias && lt.bias.is_some();
        let weight_grad = if lt.weight.requires_grad() {
            Some(gradients.get(lt.weight)?)
        } else {
            None
        };
        let bias_grad = match lt.bias {
            Some(b) if bias && b.requires_grad() => Some(gradients.get(b)?),
            _ => None,
        };
        let threads = crate::threads::clamp_threads(self.config.threads);
        let mut report = with_rows(lt, patches, |inputs| {
            let data = LayerData {
                inputs,
                deltas,
                batch,
                fan_in,
                fan_out,
                bias,
                known_batch_rows: weight_grad.map(|g| (g, bias_grad)),
                threads,
            };
            analyze_data("analyze", &data, tol, self.config.sign_tolerance)
        })?;
        if lt.positions > 1 {
            let summed = with_rows(lt, patches, |inputs| {
                let data = LayerData {
                    inputs,
                    deltas,
                    batch,
                    fan_in,
                    fan_out,
                    bias,
                    known_batch_rows: None,
                    threads,
                };
                grouped_row_counts("analyze", &data, lt.positions, tol)
            })?;
            report.positions = lt.positions;
            report.per_example_summed = Some(summed);
        }
        report.layer = Some(l);
        report.activation = Some(lt.activation);
        report.input_source = match l.checked_sub(1).map(|p| &trace.layers()[p]) {
            None => InputSource::Data,
            Some(below) if below.output.id() == lt.input.id() => {
                InputSource::Activation(below.activation)
            }
            Some(_) => InputSource::Unknown,
        };
        report.input_path = input_path(trace, l);
        report.saturation = saturation(lt);
        if let Some(cfg) = &self.config.statistics {
            let cfg = self
                .statistics_config(cfg, bias, threads)
                .with_positions(lt.positions.max(1));
            // The summed gradient as the batch rows read it (a bias
            // without a gradient has its sums taken from Δ).
            let known = weight_grad.map(|g| (g, bias_grad));
            report.statistics = Some(with_rows(lt, patches, |inputs| {
                crate::stats::layer_statistics_slices(
                    "analyze",
                    (inputs, a_shape),
                    (deltas, z_shape),
                    known,
                    &cfg,
                    workspace,
                )
            })?);
        }
        if self.config.curvature {
            (report.curvature, report.constant_inputs) = with_rows(lt, patches, |inputs| {
                input_curvature("analyze", inputs, batch, fan_in)
            })?;
        }
        Ok(report)
    }
}

/// `f(A)`: a dense layer's input on the tape, or a convolution's patch
/// matrix built once by the caller.
fn with_rows<F: Element, R>(
    lt: &LayerTrace<'_, F>,
    patches: Option<&[F]>,
    f: impl FnOnce(&[F]) -> R,
) -> R {
    match patches {
        Some(p) => f(p),
        None => lt.input.with_value(f),
    }
}

impl GradientSignAnalyzer {
    /// Analyses one dense layer from raw matrices: its inputs `A` (B×K, row
    /// `a_n` per example) and the deltas `Δ = ∂L/∂Z` (B×J) of its
    /// pre-activations, however they were computed (this engine, PyTorch,
    /// JAX). With [`include_bias`](super::AnalyzerConfig::include_bias) each
    /// row gets an extra input equal to 1.
    ///
    /// The per-example gradient row of neuron `j` on example `n` is
    /// `g_nj = Δ_nj·a_n`; its category follows from `a_n`'s extremes and
    /// `Δ_nj` in `O(1)`, so the whole per-example analysis is `O(B·(K+J))` and
    /// the `B×J×K` tensor is never formed. The batch rows are
    /// `G = Δᵀ·A` (products over blocks of neurons) and `G_j,bias = Σ_n Δ_nj`. With
    /// [`curvature`](super::AnalyzerConfig::curvature) on, the report also
    /// carries the inputs' [`InputCurvature`](crate::curvature::spectrum::InputCurvature).
    ///
    /// ```
    /// use gradsign::analysis::GradientSignAnalyzer;
    /// use gradsign::Tensor;
    /// // Two examples with positive inputs; δ of both signs.
    /// let a = Tensor::from_vec(vec![1.0, 0.1, 0.1, 1.0], &[2, 2])?;
    /// let d = Tensor::from_vec(vec![1.0, -1.0], &[2, 1])?;
    /// let report = GradientSignAnalyzer::default().without_bias().analyze_layer(&a, &d)?;
    /// assert_eq!(report.per_example.positive, 1);  // δ = 1:  (1, 0.1)
    /// assert_eq!(report.per_example.negative, 1);  // δ = −1: (−0.1, −1)
    /// assert_eq!(report.theorem.violations, 0);
    /// // The batch row (0.9, −0.9) is mixed although no example's row is.
    /// assert_eq!(report.batch_rows.mixed, 1);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::RankMismatch`] unless both are matrices;
    /// [`Error::ShapeMismatch`] if their batch sizes differ; [`Error::Empty`]
    /// for an empty batch or a layer with no neurons (`deltas` with no
    /// column); [`Error::OutOfDomain`] for a bad tolerance (see
    /// [`with_sign_tolerance`](Self::with_sign_tolerance));
    /// [`Error::TooLarge`], naming the sizes, for a buffer of the analysis
    /// that cannot be allocated or, with
    /// [`curvature`](super::AnalyzerConfig::curvature), more than
    /// [`MAX_CURVATURE_INPUTS`](super::MAX_CURVATURE_INPUTS) inputs; or, with
    /// [`statistics`](super::AnalyzerConfig::statistics), the errors of
    /// [`layer_statistics`](crate::stats::layer_statistics). NaN and
    /// infinities are not errors of the sign report (the rows they touch are
    /// counted as non-finite), but are of the statistics.
    ///
    /// Memory: besides the report, `B×J` bytes of codes, `O(B + J + K)`
    /// counters and at most a few MB of batch rows at a time (none for
    /// `B = 1`); the `J×K` matrix `G` is never held whole. Time: `O(B·(K+J))`
    /// plus the product `Δᵀ·A`, `O(B·J·K)`, for `B ≥ 2`.
    pub fn analyze_layer<F: Element>(
        &self,
        inputs: &Tensor<F>,
        deltas: &Tensor<F>,
    ) -> Result<LayerReport> {
        let (batch, fan_in, fan_out) =
            check_matrices("analyze_layer", inputs.shape(), deltas.shape())?;
        let tol = self.tolerance::<F>("analyze_layer")?;
        let data = LayerData {
            inputs: inputs.as_slice(),
            deltas: deltas.as_slice(),
            batch,
            fan_in,
            fan_out,
            bias: self.config().include_bias,
            known_batch_rows: None,
            threads: crate::threads::clamp_threads(self.config().threads),
        };
        let mut report = analyze_data("analyze_layer", &data, tol, self.config().sign_tolerance)?;
        if self.config().curvature {
            let c = input_curvature("analyze_layer", inputs.as_slice(), batch, fan_in)?;
            (report.curvature, report.constant_inputs) = c;
        }
        if let Some(cfg) = &self.config().statistics {
            let cfg = self.statistics_config(cfg, self.config().include_bias, data.threads);
            report.statistics = Some(crate::stats::layer_statistics(inputs, deltas, &cfg)?);
        }
        Ok(report)
    }

    /// The category of every per-example row `g_nj = Δ_nj·a_n`, as a B×J
    /// row-major list, in `O(B·(K+J))`: exactly the categories of the
    /// materialised rows (under the same tolerance and bias setting), without
    /// forming them.
    ///
    /// ```
    /// use gradsign::analysis::{GradientSignAnalyzer, SignCategory};
    /// use gradsign::Tensor;
    /// let a = Tensor::from_vec(vec![0.5, 0.0], &[1, 2])?;   // a ReLU-like input
    /// let d = Tensor::from_vec(vec![-2.0, 0.0], &[1, 2])?;  // the second unit is dead
    /// let cats = GradientSignAnalyzer::default().without_bias().example_categories(&a, &d)?;
    /// assert_eq!(cats, [SignCategory::WeaklyNegative, SignCategory::Zero]);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`analyze_layer`](Self::analyze_layer).
    pub fn example_categories<F: Element>(
        &self,
        inputs: &Tensor<F>,
        deltas: &Tensor<F>,
    ) -> Result<Vec<SignCategory>> {
        let (batch, fan_in, fan_out) =
            check_matrices("example_categories", inputs.shape(), deltas.shape())?;
        let tol = self.tolerance::<F>("example_categories")?;
        let op = "example_categories";
        let bias = self.config().include_bias;
        let mut rows = Vec::new();
        summarize_rows(op, inputs.as_slice(), batch, fan_in, bias, tol, &mut rows)?;
        let entries = fan_in + usize::from(bias);
        let mut out = Vec::new();
        // B×J ≤ the deltas' length: no overflow.
        try_grow(op, "the categories", &mut out, batch * fan_out)?;
        for (r, drow) in rows
            .iter()
            .zip(deltas.as_slice().chunks_exact(fan_out.max(1)))
        {
            out.extend(drow.iter().map(|&dv| r.category_times(dv, tol, entries)));
        }
        Ok(out)
    }
}

impl GradientSignAnalyzer {
    /// The category of each batch row `G_j = Σ_n Δ_nj·a_n` (with the bias
    /// entry `Σ_n Δ_nj` when the bias is included), from one product and
    /// nothing else: the cheap way to follow batch coherence step by step.
    ///
    /// ```
    /// use gradsign::analysis::{GradientSignAnalyzer, SignCategory};
    /// use gradsign::Tensor;
    /// let a = Tensor::from_vec(vec![1.0, 0.1, 0.1, 1.0], &[2, 2])?;
    /// let d = Tensor::from_vec(vec![1.0, -1.0], &[2, 1])?;
    /// // G = (1, 0.1) − (0.1, 1) = (0.9, −0.9)
    /// let cats = GradientSignAnalyzer::default().without_bias().batch_row_categories(&a, &d)?;
    /// assert_eq!(cats, [SignCategory::Mixed]);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`analyze_layer`](Self::analyze_layer).
    pub fn batch_row_categories<F: Element>(
        &self,
        inputs: &Tensor<F>,
        deltas: &Tensor<F>,
    ) -> Result<Vec<SignCategory>> {
        let (batch, fan_in, fan_out) =
            check_matrices("batch_row_categories", inputs.shape(), deltas.shape())?;
        let tol = self.tolerance::<F>("batch_row_categories")?;
        let op = "batch_row_categories";
        let bias = self.config().include_bias;
        if batch == 1 {
            // The batch row is the one example's row, classified exactly.
            let mut rows = Vec::new();
            summarize_rows(op, inputs.as_slice(), 1, fan_in, bias, tol, &mut rows)?;
            let mut codes = try_filled(op, "the batch-row codes", fan_out, 0u8)?;
            let empty = fan_in + usize::from(bias) == 0;
            codes_of_example(&rows[0], deltas.as_slice(), tol, empty, &mut codes);
            return Ok(codes
                .iter()
                .map(|&c| SignCategory::from_code(c & 15))
                .collect());
        }
        let data = LayerData {
            inputs: inputs.as_slice(),
            deltas: deltas.as_slice(),
            batch,
            fan_in,
            fan_out,
            bias,
            known_batch_rows: None,
            threads: crate::threads::clamp_threads(self.config().threads),
        };
        let weights = batch_row_codes(op, &data, tol)?;
        let mut bias_sums = try_filled(op, "the bias sums", fan_out, F::zero())?;
        for row in deltas.as_slice().chunks_exact(fan_out.max(1)) {
            for (s, &x) in bias_sums.iter_mut().zip(row) {
                *s += x;
            }
        }
        Ok((0..fan_out)
            .map(|j| {
                let mut code = weights[j];
                if bias {
                    code |= presence(bias_sums[j], tol);
                }
                SignCategory::from_code(code)
            })
            .collect())
    }
}

impl GradientSignAnalyzer {
    /// The per-example weight gradients of a dense layer from its inputs `A`
    /// (B×K) and deltas `Δ` (B×J): `g_njk = Δ_nj·a_nk` as a `B×J×K` tensor,
    /// and, with [`include_bias`](super::AnalyzerConfig::include_bias), the
    /// per-example bias gradients `Δ` (B×J).
    ///
    /// For these to be each example's own gradient, `Δ` must come from the
    /// sum of the per-example losses (a mean divides every row by `B`).
    /// The output is written once, in place (to keep and refill buffers
    /// across batches, use [`PerSampleGradients`](crate::analysis::PerSampleGradients)); with
    /// [`threads`](super::AnalyzerConfig::threads) `> 1` the examples are
    /// split between threads.
    ///
    /// ```
    /// use gradsign::analysis::GradientSignAnalyzer;
    /// use gradsign::Tensor;
    /// let a = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2])?;
    /// let d = Tensor::from_vec(vec![10.0, -1.0], &[2, 1])?;
    /// let (w, b) = GradientSignAnalyzer::default().per_sample_gradients(&a, &d)?;
    /// assert_eq!(w.dims(), &[2, 1, 2]);
    /// assert_eq!(w.as_slice(), &[10.0, 20.0, -3.0, -4.0]);
    /// assert_eq!(b.unwrap().as_slice(), &[10.0, -1.0]);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`analyze_layer`](Self::analyze_layer), and
    /// [`Error::TooLarge`](crate::Error::TooLarge) naming the
    /// sizes if the `B×J×K` values overflow `usize` or cannot be allocated.
    pub fn per_sample_gradients<F: Element>(
        &self,
        inputs: &Tensor<F>,
        deltas: &Tensor<F>,
    ) -> Result<(Tensor<F>, Option<Tensor<F>>)> {
        let (batch, fan_in, fan_out) =
            check_matrices("per_sample_gradients", inputs.shape(), deltas.shape())?;
        let op = "per_sample_gradients";
        let n = per_sample_len(op, (batch, fan_in, fan_out))?;
        let what = format!("the {batch}×{fan_out}×{fan_in} per-example gradients");
        let mut out = try_filled(op, &what, n, F::zero())?;
        fill_threaded(
            &mut out,
            inputs.as_slice(),
            deltas.as_slice(),
            (batch, fan_in, fan_out),
            crate::threads::clamp_threads(self.config().threads),
        );
        let weights = Tensor::from_vec(out, &[batch, fan_out, fan_in])?;
        let bias = self.config().include_bias.then(|| deltas.clone());
        Ok((weights, bias))
    }
}

impl GradientSignAnalyzer {
    /// What the statistics of one layer are computed with.
    pub(crate) fn statistics_config(
        &self,
        selected: &crate::stats::StatisticsConfig,
        bias: bool,
        threads: usize,
    ) -> crate::stats::StatisticsConfig {
        selected.clone().with_bias(bias).with_threads(threads)
    }
}

/// The weight must be J×K and the bias J.
fn check_parameters<F: Element>(
    lt: &LayerTrace<'_, F>,
    fan_in: usize,
    fan_out: usize,
) -> Result<()> {
    let expected = Shape::matrix(fan_out, fan_in);
    let ws = lt.weight.shape();
    // A convolution's (O, C, kh, kw) filters are (O, C·kh·kw) in memory.
    let conv_layout = lt.positions > 1
        && ws.rank() == 4
        && ws.dims()[0] == fan_out
        && ws.numel() == fan_out * fan_in;
    if ws != expected && !conv_layout {
        return Err(Error::ShapeMismatch {
            op: "analyze",
            lhs: expected,
            rhs: lt.weight.shape(),
            reason: "the weight must be (out, in) for the layer's input and pre-activation widths",
        });
    }
    if let Some(b) = lt.bias.filter(|b| b.shape() != Shape::vector(fan_out)) {
        return Err(Error::ShapeMismatch {
            op: "analyze",
            lhs: Shape::vector(fan_out),
            rhs: b.shape(),
            reason: "the bias must be (out)",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::Activation;
    use crate::nn::{LayerTrace, Trace};
    use crate::{Tape, Tensor};

    /// One layer `z = x·w` (a 3×1 input, weight 1) with `activation`.
    fn one_layer_report(z: [f64; 3], activation: Activation) -> LayerReport {
        let tape = Tape::<f64>::new();
        let x = tape.constant(&Tensor::from_vec(z.to_vec(), &[3, 1]).unwrap());
        let w = tape.var(&Tensor::from_vec(vec![1.0], &[1, 1]).unwrap());
        let pre = x.linear(w, None).unwrap();
        let out = activation.apply(pre).unwrap();
        let mut trace = Trace::new();
        trace.push(LayerTrace {
            input: x,
            pre_activation: pre,
            output: out,
            weight: w,
            bias: None,
            activation,
            positions: 1,
            conv: None,
        });
        let grads = out.sum().backward().unwrap();
        let mut r = GradientSignAnalyzer::default()
            .analyze(&trace, &grads)
            .unwrap();
        r.layers.remove(0)
    }

    #[test]
    fn sigmoid_saturation_counts_outputs_with_a_small_derivative() {
        // σ′(±10) = 4.5e-5 < 0.1·¼; σ′(0) = ¼.
        let s = one_layer_report([-10.0, 0.0, 10.0], Activation::Sigmoid)
            .saturation
            .unwrap();
        assert_eq!(s.share, 2.0 / 3.0);
    }

    #[test]
    fn tanh_saturation_uses_its_own_threshold() {
        // tanh′(2) = 1 − tanh²(2) = 0.0707 < 0.1; tanh′(1) = 0.42; tanh′(0) = 1.
        let s = one_layer_report([0.0, 1.0, 2.0], Activation::Tanh)
            .saturation
            .unwrap();
        assert_eq!(s.share, 1.0 / 3.0);
    }

    #[test]
    fn relu_layers_report_no_saturation() {
        assert!(
            one_layer_report([1.0, 2.0, 3.0], Activation::Relu)
                .saturation
                .is_none()
        );
    }

    #[test]
    fn layer_errors_name_the_layer() {
        let tape = Tape::<f64>::new();
        let x = tape.constant(&Tensor::ones(&[2, 3]).unwrap());
        let w = tape.constant(&Tensor::ones(&[4, 3]).unwrap());
        let z = x.linear(w, None).unwrap(); // constant: no gradient
        let mut trace = Trace::new();
        trace.push(LayerTrace {
            input: x,
            pre_activation: z,
            output: z,
            weight: w,
            bias: None,
            activation: Activation::Identity,
            positions: 1,
            conv: None,
        });
        let other = tape.var_scalar(1.0);
        let grads = (other * 2.0).backward().unwrap();
        let err = GradientSignAnalyzer::default()
            .analyze(&trace, &grads)
            .unwrap_err();
        assert!(matches!(err, Error::Layer { layer: 0, .. }), "{err}");
        assert!(err.to_string().starts_with("layer 0: "), "{err}");
    }

    #[test]
    fn selecting_a_missing_layer_is_an_error() {
        let tape = Tape::<f64>::new();
        let x = tape.constant(&Tensor::ones(&[2, 1]).unwrap());
        let w = tape.var(&Tensor::ones(&[1, 1]).unwrap());
        let z = x.linear(w, None).unwrap();
        let mut trace = Trace::new();
        trace.push(LayerTrace {
            input: x,
            pre_activation: z,
            output: z,
            weight: w,
            bias: None,
            activation: Activation::Identity,
            positions: 1,
            conv: None,
        });
        let grads = z.sum().backward().unwrap();
        let err = GradientSignAnalyzer::default()
            .with_layers(LayerSelection::Only(vec![3]))
            .analyze(&trace, &grads)
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::IndexOutOfRange {
                    op: "analyze",
                    index: 3,
                    bound: 1,
                    ..
                }
            ),
            "{err}"
        );
    }
}
