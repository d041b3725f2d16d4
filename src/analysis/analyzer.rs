//! `GradientSignAnalyzer`: its configuration, and the analysis of every
//! layer of a traced forward pass at once.

use crate::activation::Activation;
use crate::autodiff::Gradients;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::nn::{LayerTrace, Trace};
use crate::shape::Shape;

use super::curvature::input_curvature;
use super::diagnosis::Diagnosis;
use super::layer::{LayerData, analyze_data, check_matrices, grouped_row_counts};
use super::report::{InputSource, LayerReport, NetworkReport, Saturation};
use super::tracker::{SignTracker, TrackingConfig};
use super::tracker_report::TrackerReport;

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
/// it is told ([`GradientSignAnalyzer::with_optimizer`]).
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

/// Settings of a [`GradientSignAnalyzer`].
///
/// ```
/// let cfg = gradsign::analysis::AnalyzerConfig::default();
/// assert_eq!(cfg.sign_tolerance, 0.0);
/// assert!(cfg.include_bias);
/// assert!(!cfg.curvature); // opt-in: far more expensive than the report
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct AnalyzerConfig {
    /// A value `x` counts as zero when `|x| ≤ sign_tolerance`. Default exactly
    /// 0: only `±0.0` is zero.
    pub sign_tolerance: f64,
    /// Treat the bias as one more input equal to 1, so each row is the
    /// neuron's whole parameter vector `(w, b)`. Default `true`. A layer
    /// without a bias never gets one.
    pub include_bias: bool,
    /// Which layers [`GradientSignAnalyzer::analyze`] covers.
    pub layers: LayerSelection,
    /// Threads the batch-row product and the per-sample gradients may use.
    /// Default 1. Clamped where it is used to `1 ..= `[`max_threads`](crate::kernels::max_threads)`()`,
    /// the crate's rule for every thread count (see
    /// [`kernels`](crate::kernels#thread-counts)): 0 means 1, `usize::MAX`
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
    /// What [`GradientSignAnalyzer::observe`] records over training.
    pub tracking: TrackingConfig,
    /// The optimiser the gradients feed, for the diagnosis's caveats.
    /// Default [`OptimizerKind::Unknown`].
    pub optimizer: OptimizerKind,
    /// Adds to each layer's report the gradient statistics of the
    /// literature ([`LayerStatistics`](crate::stats::LayerStatistics):
    /// per-example norms, α and m-coherence, `B_simple`, GSNR, the GradSign
    /// score, the AND-mask, stiffness), and to the network report their
    /// combination ([`NetworkReport::statistics`]). Default off: it costs
    /// three `B×J×K` products and two `B×B` ones per layer, in the
    /// model's element type, on top of the report. A convolution's statistics are its
    /// examples' (each the sum over positions), from materialised summed
    /// per-example gradients (see [`stats`](crate::stats#convolutions)).
    pub statistics: bool,
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
            statistics: false,
        }
    }
}

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

/// A sigmoid or tanh output counts as saturated when the derivative is below
/// this share of its maximum (σ′ < 0.025, tanh′ < 0.1).
pub const SATURATION_THRESHOLD: f64 = 0.1;

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
    /// analysis returns [`Error::InvalidArgument`].
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
    /// `1 ..= `[`max_threads`](crate::kernels::max_threads)`()` (the crate's
    /// rule for every thread count, see [`kernels`](crate::kernels#thread-counts)):
    /// 0 means 1, and `usize::MAX` every thread the machine has.
    ///
    /// ```
    /// use gradsign::analysis::GradientSignAnalyzer;
    /// use gradsign::kernels::max_threads;
    /// let a = GradientSignAnalyzer::default().with_threads(usize::MAX);
    /// assert_eq!(a.config().threads, max_threads());
    /// assert_eq!(GradientSignAnalyzer::default().with_threads(0).config().threads, 1);
    /// ```
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.config.threads = crate::kernels::clamp_threads(threads);
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

    /// Adds the gradient statistics of [`stats`](crate::stats) to the
    /// reports, or not (see [`AnalyzerConfig::statistics`]).
    ///
    /// ```
    /// use gradsign::analysis::GradientSignAnalyzer;
    /// use gradsign::Tensor;
    /// let a = Tensor::<f64>::rand_uniform(&[32, 4], 0.0, 1.0, 1)?;
    /// let d = Tensor::<f64>::rand_normal(&[32, 3], 0.0, 1.0, 2)?;
    /// let r = GradientSignAnalyzer::default().with_statistics(true).analyze_layer(&a, &d)?;
    /// let s = r.statistics.as_ref().unwrap();
    /// assert_eq!(s.neurons.len(), 3);
    /// assert!(s.alignment.unwrap().alpha < 0.2); // zero-mean δ: near 1/B
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    pub fn with_statistics(mut self, statistics: bool) -> Self {
        self.config.statistics = statistics;
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
        let bad = |why: &str| {
            Err(Error::InvalidArgument {
                op,
                message: format!("the sign tolerance must be {why}, got {tol}"),
            })
        };
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
    /// [`Error::InvalidArgument`] for an empty trace, a selected layer past
    /// its end or a bad tolerance (see
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
        let tol = self.tolerance::<F>("analyze")?;
        let n = trace.len();
        if n == 0 {
            return Err(Error::InvalidArgument {
                op: "analyze",
                message: "the trace records no layer".to_string(),
            });
        }
        let selected: Vec<usize> = match &self.config.layers {
            LayerSelection::All => (0..n).collect(),
            LayerSelection::Only(v) => v.clone(),
        };
        let mut layers = Vec::with_capacity(selected.len());
        for l in selected {
            if l >= n {
                return Err(Error::InvalidArgument {
                    op: "analyze",
                    message: format!("layer {l} was selected but the trace has {n} layers"),
                });
            }
            let report =
                self.analyze_traced(trace, l, gradients, tol)
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
    ) -> Result<LayerReport> {
        let lt = &trace.layers()[l];
        let (batch, fan_in, fan_out) =
            check_matrices("analyze", lt.input.shape(), lt.pre_activation.shape())?;
        check_parameters(lt, fan_in, fan_out)?;
        let deltas = gradients.get(lt.pre_activation)?;
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
        let threads = crate::kernels::clamp_threads(self.config.threads);
        let mut report = lt.input.with_value(|inputs| {
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
            let summed = lt.input.with_value(|inputs| {
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
        report.input_path = super::layer::input_path(trace, l);
        report.saturation = saturation(lt);
        if self.config.statistics {
            report.statistics = Some(lt.input.with_value(|inputs| {
                crate::stats::layer_statistics_slices(
                    "analyze",
                    (inputs, lt.input.shape()),
                    (deltas, lt.pre_activation.shape()),
                    &self
                        .statistics_config(bias, threads)
                        .with_positions(lt.positions.max(1)),
                    &mut crate::stats::StatisticsWorkspace::new(),
                )
            })?);
        }
        if self.config.curvature {
            (report.curvature, report.constant_inputs) = lt
                .input
                .with_value(|inputs| input_curvature("analyze", inputs, batch, fan_in))?;
        }
        Ok(report)
    }
}

impl GradientSignAnalyzer {
    /// What the statistics of one layer are computed with.
    pub(crate) fn statistics_config(
        &self,
        bias: bool,
        threads: usize,
    ) -> crate::stats::StatisticsConfig {
        crate::stats::StatisticsConfig::default()
            .with_bias(bias)
            .with_threads(threads)
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

/// The saturated share of a sigmoid or tanh layer's outputs: `f′(z)` below
/// [`SATURATION_THRESHOLD`] times its maximum, read from the output `y`
/// (`σ′ = y(1 − y)`, max ¼; `tanh′ = 1 − y²`, max 1).
fn saturation<F: Element>(lt: &LayerTrace<'_, F>) -> Option<Saturation> {
    let sigmoid = if lt.activation == Activation::Sigmoid {
        true
    } else if lt.activation == Activation::Tanh {
        false
    } else {
        return None;
    };
    // Thresholds on the output itself, so the loop is a comparison per
    // element: 4y(1 − y) < t  ⇔  |y − ½| > ½√(1 − t);  1 − y² < t  ⇔  |y| > √(1 − t).
    let (centre, radius) = if sigmoid {
        (0.5, 0.5 * (1.0 - SATURATION_THRESHOLD).sqrt())
    } else {
        (0.0, (1.0 - SATURATION_THRESHOLD).sqrt())
    };
    let (centre, radius) = (F::from_f64(centre), F::from_f64(radius));
    let (saturated, total) = lt.output.with_value(|y| {
        let s: usize = y
            .iter()
            .map(|&v| usize::from((v - centre).abs() > radius && v.is_finite()))
            .sum();
        (s, y.len())
    });
    Some(Saturation {
        activation: lt.activation,
        share: super::report::share(saturated, total),
        threshold: SATURATION_THRESHOLD,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
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
        });
        let grads = z.sum().backward().unwrap();
        let err = GradientSignAnalyzer::default()
            .with_layers(LayerSelection::Only(vec![3]))
            .analyze(&trace, &grads)
            .unwrap_err();
        assert!(err.to_string().contains("layer 3 was selected"), "{err}");
    }
}
