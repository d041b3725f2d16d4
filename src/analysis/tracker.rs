//! `SignTracker`: the analyzer's memory over training. One
//! [`TrajectoryRecorder`] per analysed layer, created by the first
//! [`observe`](super::GradientSignAnalyzer::observe) with the layer's sizes,
//! fed each step from the trace and the gradients (nothing is re-run), and
//! the top eigenvector of each layer's `E[ã ãᵀ]`, whose component the
//! recorder follows.

use crate::analysis::config::{
    AnalyzerConfig, LayerSelection, TopEigenvector, TrackingConfig, UpdateSource,
};
use crate::analysis::pass::check_matrices;
use crate::analysis::top_direction::top_eigenpair;
use crate::analysis::tracker_report::{LayerTrajectory, TrackerReport};
use crate::autodiff::Gradients;
use crate::dynamics::{DeltaValues, Feed, LayerValues, TrajectoryRecorder};
use crate::element::Element;
use crate::error::{Error, Result};
use crate::nn::{LayerTrace, Trace};

/// The direction a layer's recorder follows.
#[derive(Clone, Debug, PartialEq)]
struct TopDirection {
    eigenvalue: f64,
    /// The step whose batch it came from.
    step: usize,
}

/// One analysed layer.
#[derive(Clone, Debug, PartialEq)]
struct TrackedLayer {
    layer: usize,
    recorder: TrajectoryRecorder,
    top: Option<TopDirection>,
}

/// What the analyzer remembers over training: per analysed layer a
/// [`TrajectoryRecorder`] (cosines between consecutive updates, path
/// efficiency `‖Σu_t‖ / Σ‖u_t‖`, δ sign flips, orthant of each update) and
/// the top eigenvector of the layer's `E[ã ãᵀ]`, along which the recorder
/// follows each neuron's update: under gradient descent on a quadratic that
/// component is multiplied by `1 − ηλmax` each step, so it flips sign every
/// step exactly when `η > 1/λmax` (the update is `−η` times the Hessian times
/// the error, so it has the error's ratio and flips).
///
/// Owned by a [`GradientSignAnalyzer`](super::GradientSignAnalyzer), fed by
/// its [`observe`](super::GradientSignAnalyzer::observe) and read through
/// [`report`](Self::report).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SignTracker {
    layers: Vec<TrackedLayer>,
    steps: usize,
    first_step: Option<usize>,
    last_step: Option<usize>,
    updates: Option<UpdateSource>,
    refresh: bool,
    skipped_delta_steps: usize,
}

/// The selected layer indices, without allocating.
fn selected(selection: &LayerSelection, n: usize) -> impl Iterator<Item = usize> + '_ {
    let (all, only) = match selection {
        LayerSelection::All => (0..n, &[][..]),
        LayerSelection::Only(v) => (0..0, v.as_slice()),
    };
    all.chain(only.iter().copied())
}

impl SignTracker {
    /// Observations recorded.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// The step index of the last observation.
    pub fn last_step(&self) -> Option<usize> {
        self.last_step
    }

    /// The tracked layers' indices, in order (empty before the first
    /// observation).
    pub fn layers(&self) -> impl Iterator<Item = usize> + '_ {
        self.layers.iter().map(|t| t.layer)
    }

    /// The recorder of layer `layer`, if it is tracked.
    pub fn recorder(&self, layer: usize) -> Option<&TrajectoryRecorder> {
        self.find(layer).map(|t| &t.recorder)
    }

    /// `λmax` of layer `layer`'s `E[ã ãᵀ]`, if its top eigenvector is tracked.
    pub fn top_eigenvalue(&self, layer: usize) -> Option<f64> {
        self.find(layer)?.top.as_ref().map(|t| t.eigenvalue)
    }

    fn find(&self, layer: usize) -> Option<&TrackedLayer> {
        self.layers.iter().find(|t| t.layer == layer)
    }

    /// Recomputes every layer's top eigenvector from the batch of the next
    /// observation (the series of components restarts there).
    pub fn refresh_top_eigenvectors(&mut self) {
        self.refresh = true;
    }

    /// Forgets everything: the next observation starts afresh.
    pub fn reset(&mut self) {
        *self = SignTracker::default();
    }

    /// Everything recorded, per layer (allocates; call it to look, not
    /// every step).
    pub fn report(&self) -> TrackerReport {
        TrackerReport {
            steps: self.steps,
            first_step: self.first_step,
            last_step: self.last_step,
            updates: self.updates,
            skipped_delta_steps: self.skipped_delta_steps,
            layers: self
                .layers
                .iter()
                .map(|t| LayerTrajectory {
                    layer: t.layer,
                    fan_in: t.recorder.fan_in(),
                    fan_out: t.recorder.neurons(),
                    bias: t.recorder.has_bias(),
                    top_eigenvalue: t.top.as_ref().map(|d| d.eigenvalue),
                    top_eigenvector_step: t.top.as_ref().map(|d| d.step),
                    trajectory: t.recorder.report(),
                })
                .collect(),
        }
    }

    /// Records one step: see
    /// [`GradientSignAnalyzer::observe`](super::GradientSignAnalyzer::observe).
    pub(crate) fn observe<F: Element>(
        &mut self,
        config: &AnalyzerConfig,
        step: usize,
        trace: &Trace<'_, F>,
        gradients: &Gradients<F>,
    ) -> Result<()> {
        let op = "observe";
        if let Some(last) = self.last_step.filter(|&last| step <= last) {
            return Err(Error::OutOfOrder {
                op,
                what: format!("step {step} does not follow the last observed step {last}"),
            });
        }
        let n = trace.len();
        if n == 0 {
            return Err(Error::out_of_domain(
                op,
                "the trace's layer count",
                "at least 1",
                0,
            ));
        }
        if let Some(l) = selected(&config.layers, n).find(|&l| l >= n) {
            return Err(Error::IndexOutOfRange {
                op,
                index: l,
                bound: n,
                shape: crate::Shape::vector(n),
            });
        }
        if let Some(l) = selected(&config.layers, n).find(|&l| trace.layers()[l].positions > 1) {
            // A filter's update over training is tracked like a neuron's
            // only once the recorder knows that an example spans positions.
            return Err(Error::Incompatible {
                op,
                what: format!(
                    "layer {l} is a convolution; tracking over training covers dense layers \
                     (select them with LayerSelection::Only)"
                ),
            });
        }
        let tracking = config.tracking;
        if tracking.top_eigenvector == TopEigenvector::Every(0) {
            return Err(Error::out_of_domain(
                op,
                "the period of TopEigenvector::Every",
                "at least 1 step (or use FirstBatch / Off)",
                0,
            ));
        }
        let starting = self.layers.is_empty();
        if starting {
            self.start(config, step, trace)?;
        } else if self.updates != Some(tracking.updates)
            || !selected(&config.layers, n).eq(self.layers())
        {
            return Err(Error::OutOfOrder {
                op,
                what: "the layer selection or the update source changed since the first \
                       observation: reset the tracker first"
                    .into(),
            });
        }
        let result = self.record(&tracking, step, trace, gradients);
        if result.is_err() && starting {
            // An `Err` leaves the tracker as it was: empty.
            *self = SignTracker {
                refresh: self.refresh,
                ..SignTracker::default()
            };
        }
        result
    }

    /// Checks every layer's values, refreshes the directions that are due,
    /// then folds the step into every recorder.
    fn record<F: Element>(
        &mut self,
        tracking: &TrackingConfig,
        step: usize,
        trace: &Trace<'_, F>,
        gradients: &Gradients<F>,
    ) -> Result<()> {
        let op = "observe";
        let feed = match tracking.updates {
            UpdateSource::NegativeGradient => Feed::Updates,
            UpdateSource::WeightChange => Feed::Weights,
        };
        // Everything is checked before anything changes, so an `Err` leaves
        // every layer as it was.
        let mut skipped = false;
        for t in &self.layers {
            let lt = &trace.layers()[t.layer];
            let deltas = self.deltas(tracking, t, lt, gradients, &mut skipped);
            with_values(feed, lt, t.recorder.has_bias(), gradients, |values| {
                t.recorder.check_observation(op, feed, &values?, deltas?)
            })
            .map_err(|e| in_layer(t.layer, e))?;
        }
        // New directions are computed before any is installed (and only on
        // the steps they are due, which allocate).
        let mut fresh = Vec::new();
        for (i, t) in self.layers.iter().enumerate() {
            let due = match (tracking.top_eigenvector, &t.top) {
                (TopEigenvector::Off, _) => false,
                (TopEigenvector::Every(every), Some(d)) => self.refresh || step - d.step >= every,
                _ => self.refresh,
            };
            if due {
                let lt = &trace.layers()[t.layer];
                let pair = top_of(lt, t.recorder.has_bias()).map_err(|e| in_layer(t.layer, e))?;
                fresh.push((i, pair));
            }
        }
        for (i, pair) in fresh {
            let t = &mut self.layers[i];
            match pair {
                Some((eigenvalue, v)) => {
                    t.recorder
                        .replace_update_direction(&v)
                        .map_err(|e| in_layer(t.layer, e))?;
                    t.top = Some(TopDirection { eigenvalue, step });
                }
                // All inputs zero: the old direction (if any) stays, and the
                // next attempt waits a full period.
                None => {
                    if let Some(top) = t.top.as_mut() {
                        top.step = step;
                    }
                }
            }
        }
        self.refresh = false;
        // Every buffer the step needs, before any layer records it.
        for l in 0..self.layers.len() {
            let lt = &trace.layers()[self.layers[l].layer];
            let mut ignored = false;
            let deltas = self
                .deltas(tracking, &self.layers[l], lt, gradients, &mut ignored)
                .ok()
                .flatten();
            let t = &mut self.layers[l];
            t.recorder
                .prepare::<F>(op, deltas)
                .map_err(|e| in_layer(t.layer, e))?;
        }
        let scale = if feed == Feed::Updates { -1.0 } else { 1.0 };
        for l in 0..self.layers.len() {
            let lt = &trace.layers()[self.layers[l].layer];
            let mut ignored = false;
            let deltas = self
                .deltas(tracking, &self.layers[l], lt, gradients, &mut ignored)
                .ok()
                .flatten();
            let t = &mut self.layers[l];
            with_values(feed, lt, t.recorder.has_bias(), gradients, |values| {
                if let Ok(values) = values {
                    t.recorder.apply_observation(feed, scale, &values, deltas);
                }
            });
        }
        self.skipped_delta_steps += usize::from(skipped);
        self.steps += 1;
        self.first_step.get_or_insert(step);
        self.last_step = Some(step);
        Ok(())
    }

    /// The step's deltas for layer `t`, or `None` when they are not counted
    /// (switched off, or a batch size other than the first one's: `skipped`).
    fn deltas<'g, F: Element>(
        &self,
        tracking: &TrackingConfig,
        t: &TrackedLayer,
        lt: &LayerTrace<'_, F>,
        gradients: &'g Gradients<F>,
        skipped: &mut bool,
    ) -> Result<Option<DeltaValues<'g, F>>> {
        if !tracking.delta_flips {
            return Ok(None);
        }
        let shape = lt.pre_activation.shape();
        let rows = t.recorder.delta_rows();
        if rows != 0 && shape.dims().first() != Some(&rows) {
            *skipped = true;
            return Ok(None);
        }
        Ok(Some(DeltaValues {
            data: gradients.get(lt.pre_activation)?,
            shape,
        }))
    }

    /// The first observation: one recorder per selected layer, sized from
    /// the trace, with its top eigenvector if asked for.
    fn start<F: Element>(
        &mut self,
        config: &AnalyzerConfig,
        step: usize,
        trace: &Trace<'_, F>,
    ) -> Result<()> {
        let mut layers = Vec::new();
        for l in selected(&config.layers, trace.len()) {
            let lt = &trace.layers()[l];
            let tracked = start_layer(config, l, lt, step).map_err(|e| in_layer(l, e))?;
            layers.push(tracked);
        }
        self.layers = layers;
        self.updates = Some(config.tracking.updates);
        Ok(())
    }
}

fn start_layer<F: Element>(
    config: &AnalyzerConfig,
    l: usize,
    lt: &LayerTrace<'_, F>,
    step: usize,
) -> Result<TrackedLayer> {
    let (_, fan_in, fan_out) =
        check_matrices("observe", lt.input.shape(), lt.pre_activation.shape())?;
    let bias = config.include_bias && lt.bias.is_some();
    let mut recorder = TrajectoryRecorder::new(fan_out, fan_in, bias)?;
    let mut top = None;
    if config.tracking.top_eigenvector != TopEigenvector::Off
        && let Some((eigenvalue, v)) = top_of(lt, bias)?
    {
        recorder = recorder.track_update_along(&v)?;
        top = Some(TopDirection { eigenvalue, step });
    }
    Ok(TrackedLayer {
        layer: l,
        recorder,
        top,
    })
}

/// The top eigenpair of the layer's `E[ã ãᵀ]` on this step's batch.
fn top_of<F: Element>(lt: &LayerTrace<'_, F>, bias: bool) -> Result<Option<(f64, Vec<f64>)>> {
    let (batch, fan_in, _) =
        check_matrices("observe", lt.input.shape(), lt.pre_activation.shape())?;
    lt.input
        .with_value(|a| top_eigenpair(a, batch, fan_in, bias))
}

/// Calls `f` with the layer's values for `feed`: the weight and bias
/// gradients (updates are their negatives), or the weights on the tape.
fn with_values<F: Element, R>(
    feed: Feed,
    lt: &LayerTrace<'_, F>,
    bias: bool,
    gradients: &Gradients<F>,
    f: impl FnOnce(Result<LayerValues<'_, F>>) -> R,
) -> R {
    let bias_var = lt.bias.filter(|_| bias);
    match feed {
        Feed::Updates => {
            let values = gradients.get(lt.weight).and_then(|weight| {
                let bias = match bias_var {
                    Some(b) => Some((gradients.get(b)?, b.shape())),
                    None => None,
                };
                Ok(LayerValues {
                    weight,
                    weight_shape: lt.weight.shape(),
                    bias,
                })
            });
            f(values)
        }
        Feed::Weights => lt.weight.with_value(|weight| {
            let weight_shape = lt.weight.shape();
            match bias_var {
                Some(b) => b.with_value(|bv| {
                    f(Ok(LayerValues {
                        weight,
                        weight_shape,
                        bias: Some((bv, b.shape())),
                    }))
                }),
                None => f(Ok(LayerValues {
                    weight,
                    weight_shape,
                    bias: None,
                })),
            }
        }),
    }
}

fn in_layer(layer: usize, e: Error) -> Error {
    Error::Layer {
        layer,
        source: Box::new(e),
    }
}
