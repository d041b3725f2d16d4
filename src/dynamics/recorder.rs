//! `TrajectoryRecorder`: the zig-zag of one layer's weights over training,
//! measured one step at a time.

use crate::element::Element;
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tensor::Tensor;

use super::orthant::{Orthant, OrthantCounts};
use super::report::{DirectionTrajectory, NeuronTrajectory, Tracked, TrajectoryReport};
use super::row::Lanes;

/// What the recorder is fed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Feed {
    Weights,
    Updates,
}

/// Running statistics of one neuron.
#[derive(Clone, Debug, Default)]
struct NeuronStats {
    path_length: f64,
    cos_sum: f64,
    cos_count: usize,
    cos_negative: usize,
    last_cos: Option<f64>,
    /// `‖u_{t−1}‖`, so the cosine needs no second pass.
    last_norm: f64,
    orthants: OrthantCounts,
    delta_flips: usize,
    delta_pairs: usize,
}

/// The tracked direction (the top eigenvector of `E[a aᵀ]`) and the
/// component of each neuron's error or update along it.
#[derive(Clone, Debug)]
struct Direction {
    unit: Vec<f64>,
    /// `W*` rows (with the bias appended) in error mode.
    target: Option<Vec<f64>>,
    component: Vec<f64>,
    previous: Vec<f64>,
    ratio: Vec<Option<f64>>,
    flips: Vec<usize>,
    layer_ratio: Option<f64>,
    recorded: usize,
}

/// Records, step by step, how one dense layer's weights move: per neuron the
/// cosine between consecutive updates, the path efficiency
/// `‖Σ_t u_t‖ / Σ_t ‖u_t‖`, the δ sign-flip rate and the orthant of each
/// update; per layer, optionally, the component of the weight error
/// `W − W*` (or of the update) along a fixed direction, normally the top
/// eigenvector of `E[ã ãᵀ]` ([`Spectrum::top_eigenvector`]), with its
/// per-step ratio and sign flips.
///
/// Neuron `j`'s row is `[W_j, b_j]` when the layer has a bias (the bias is
/// the weight of a constant input 1), so directions and targets have
/// `fan_in + 1` entries then.
///
/// Cheap enough for every step: one fused, branch-free pass over the layer
/// per call (each weight read once, `W_{t−1}` and `u_{t−1}` updated in
/// place; `Σ_t u_t` is `W_t − W_0`, never summed), and no allocation after
/// the first call (the δ buffer is sized on the first call that passes
/// deltas). A recorder is fed either weights ([`observe`](Self::observe)) or
/// updates ([`observe_update`](Self::observe_update)), not both.
///
/// ```
/// use gradsign::dynamics::TrajectoryRecorder;
/// use gradsign::Tensor;
/// let mut rec = TrajectoryRecorder::new(1, 2, false)?;
/// // A zig-zag: the weights go up, down, up.
/// for w in [[0.0, 0.0], [1.0, 1.0], [0.5, 0.5], [1.5, 1.5]] {
///     rec.observe(&Tensor::from_vec(w.to_vec(), &[1, 2])?, None, None)?;
/// }
/// let n = rec.neuron(0);
/// assert_eq!(n.updates, 3);
/// assert!((n.mean_cosine.unwrap() + 1.0).abs() < 1e-15); // each update reverses the last
/// // ‖Σu‖ / Σ‖u‖ = ‖(1.5, 1.5)‖ / (2.5·‖(1, 1)‖) = 0.6
/// assert!((n.path_efficiency.unwrap() - 0.6).abs() < 1e-15);
/// assert_eq!(n.orthants.opposite_to_previous, 2);
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// [`Spectrum::top_eigenvector`]: crate::curvature::spectrum::Spectrum::top_eigenvector
#[derive(Clone, Debug)]
pub struct TrajectoryRecorder {
    neurons: usize,
    fan_in: usize,
    bias: bool,
    row: usize,
    /// How the layer is fed, fixed by the first call.
    feed: Option<Feed>,
    /// `W_t` (fed updates: `Σ_s u_s`, from 0).
    weights: Vec<f64>,
    /// `W_0`, so that `Σ_t u_t = W_t − W_0` needs no running sum.
    start: Vec<f64>,
    previous_update: Vec<f64>,
    /// A zero row: the direction and target when none is tracked, so the
    /// fused loop has no branches.
    zeros: Vec<f64>,
    updates: usize,
    stats: Vec<NeuronStats>,
    delta_signs: Vec<i8>,
    delta_rows: usize,
    direction: Option<Direction>,
}

impl TrajectoryRecorder {
    /// A recorder for a layer of `neurons` outputs and `fan_in` inputs, with
    /// or without a bias.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `neurons` or `fan_in` is 0.
    pub fn new(neurons: usize, fan_in: usize, bias: bool) -> Result<Self> {
        if neurons == 0 || fan_in == 0 {
            return Err(Error::InvalidArgument {
                op: "TrajectoryRecorder::new",
                message: format!("needs at least one neuron and one input, got {neurons}×{fan_in}"),
            });
        }
        let row = fan_in + usize::from(bias);
        let n = neurons * row;
        Ok(TrajectoryRecorder {
            neurons,
            fan_in,
            bias,
            row,
            feed: None,
            weights: vec![0.0; n],
            start: vec![0.0; n],
            previous_update: vec![0.0; n],
            zeros: vec![0.0; row],
            updates: 0,
            stats: vec![NeuronStats::default(); neurons],
            delta_signs: Vec::new(),
            delta_rows: 0,
            direction: None,
        })
    }

    fn unit_direction(&self, op: &'static str, direction: &[f64]) -> Result<Vec<f64>> {
        if direction.len() != self.row {
            return Err(Error::ShapeMismatch {
                op,
                lhs: Shape::vector(self.row),
                rhs: Shape::vector(direction.len()),
                reason: "the direction needs one entry per input (and one for the bias)",
            });
        }
        let norm = direction.iter().map(|x| x * x).sum::<f64>().sqrt();
        if !(norm.is_finite() && norm > 0.0) {
            return Err(Error::InvalidArgument {
                op,
                message: format!("the direction must be finite and non-zero, its norm is {norm}"),
            });
        }
        Ok(direction.iter().map(|x| x / norm).collect())
    }

    fn set_direction(&mut self, unit: Vec<f64>, target: Option<Vec<f64>>) {
        let j = self.neurons;
        self.direction = Some(Direction {
            unit,
            target,
            component: vec![0.0; j],
            previous: vec![0.0; j],
            ratio: vec![None; j],
            flips: vec![0; j],
            layer_ratio: None,
            recorded: 0,
        });
    }

    /// Also tracks the component of each update along `direction`
    /// (normalised here), its per-step ratio and sign flips.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] unless `direction` has `fan_in (+ 1)`
    /// entries; [`Error::InvalidArgument`] if it is zero or not finite.
    pub fn track_update_along(mut self, direction: &[f64]) -> Result<Self> {
        let unit = self.unit_direction("track_update_along", direction)?;
        self.set_direction(unit, None);
        Ok(self)
    }

    /// Also tracks the component of each neuron's weight error `w_j − w*_j`
    /// along `direction` (normalised here) at every [`observe`](Self::observe):
    /// for gradient descent on a quadratic whose Hessian has `direction` as
    /// its top eigenvector, it is multiplied by exactly `1 − ηλmax` each step.
    ///
    /// # Errors
    /// As [`track_update_along`](Self::track_update_along), plus
    /// [`Error::ShapeMismatch`] if the target's shapes are not the layer's
    /// and [`Error::NonFinite`] on a non-finite target.
    pub fn track_error_along<F: Element>(
        mut self,
        direction: &[f64],
        target_weight: &Tensor<F>,
        target_bias: Option<&Tensor<F>>,
    ) -> Result<Self> {
        let op = "track_error_along";
        let unit = self.unit_direction(op, direction)?;
        self.check_layer(op, "target", target_weight, target_bias)?;
        let mut target = vec![0.0; self.neurons * self.row];
        self.gather(&mut target, target_weight, target_bias);
        self.set_direction(unit, Some(target));
        Ok(self)
    }

    /// Checks a (weight, bias) pair has the layer's shapes and finite values.
    fn check_layer<F: Element>(
        &self,
        op: &'static str,
        what: &str,
        weight: &Tensor<F>,
        bias: Option<&Tensor<F>>,
    ) -> Result<()> {
        let want = Shape::matrix(self.neurons, self.fan_in);
        if weight.shape() != want {
            return Err(Error::ShapeMismatch {
                op,
                lhs: want,
                rhs: weight.shape(),
                reason: "the weight must be (neurons, fan_in) as the recorder was built",
            });
        }
        match (self.bias, bias) {
            (true, Some(b)) if b.shape() != Shape::vector(self.neurons) => {
                return Err(Error::ShapeMismatch {
                    op,
                    lhs: Shape::vector(self.neurons),
                    rhs: b.shape(),
                    reason: "the bias must be (neurons)",
                });
            }
            (true, None) | (false, Some(_)) => {
                return Err(Error::InvalidArgument {
                    op,
                    message: format!(
                        "the recorder was built {} a bias, but the {what} {} one",
                        if self.bias { "with" } else { "without" },
                        if self.bias { "lacks" } else { "has" }
                    ),
                });
            }
            _ => {}
        }
        let all_finite = |t: &[F]| t.iter().fold(true, |ok, x| ok & x.is_finite());
        if all_finite(weight.as_slice()) && bias.is_none_or(|b| all_finite(b.as_slice())) {
            return Ok(());
        }
        let values = weight
            .as_slice()
            .iter()
            .chain(bias.map_or(&[][..], |b| b.as_slice()));
        if let Some((i, x)) = values.enumerate().find(|(_, x)| !x.is_finite()) {
            return Err(Error::NonFinite {
                op,
                what: format!("{x} at element {i} of the {what} (weight then bias)"),
            });
        }
        Ok(())
    }

    /// Writes the rows `[W_j, b_j]` into `out`.
    fn gather<F: Element>(&self, out: &mut [f64], weight: &Tensor<F>, bias: Option<&Tensor<F>>) {
        let (k, w) = (self.fan_in, weight.as_slice());
        for (j, row) in out.chunks_exact_mut(self.row).enumerate() {
            for (o, &x) in row.iter_mut().zip(&w[j * k..(j + 1) * k]) {
                *o = x.to_f64();
            }
            if let Some(b) = bias {
                row[k] = b.as_slice()[j].to_f64();
            }
        }
    }

    /// Checks deltas are `B×neurons`, finite, and of the batch size seen before.
    fn check_deltas<F: Element>(&self, op: &'static str, deltas: Option<&Tensor<F>>) -> Result<()> {
        let Some(d) = deltas else { return Ok(()) };
        let rows = match d.dims() {
            &[b, j] if j == self.neurons && b > 0 => b,
            _ => {
                return Err(Error::ShapeMismatch {
                    op,
                    lhs: Shape::matrix(self.delta_rows.max(1), self.neurons),
                    rhs: d.shape(),
                    reason: "deltas must be (batch, neurons) with batch ≥ 1",
                });
            }
        };
        if self.delta_rows != 0 && rows != self.delta_rows {
            return Err(Error::ShapeMismatch {
                op,
                lhs: Shape::matrix(self.delta_rows, self.neurons),
                rhs: d.shape(),
                reason: "the batch size of the deltas must not change (flips compare example n with example n)",
            });
        }
        if let Some(i) = d.as_slice().iter().position(|x| !x.is_finite()) {
            return Err(Error::NonFinite {
                op,
                what: format!(
                    "{} at element {i} of the deltas {}",
                    d.as_slice()[i],
                    d.shape()
                ),
            });
        }
        Ok(())
    }

    /// Feeds the layer's weights (and bias) after a step, and optionally the
    /// deltas `Δ = ∂L/∂Z` (`B×neurons`) of that step. The first call only
    /// stores the weights; every later call records the update
    /// `u_t = W_t − W_{t−1}`. An `Err` leaves the recorder unchanged.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] / [`Error::InvalidArgument`] if the shapes
    /// are not the layer's (or the deltas' batch size changes);
    /// [`Error::NonFinite`] on a non-finite weight or delta.
    pub fn observe<F: Element>(
        &mut self,
        weight: &Tensor<F>,
        bias: Option<&Tensor<F>>,
        deltas: Option<&Tensor<F>>,
    ) -> Result<()> {
        self.check_feed("observe", Feed::Weights)?;
        self.check_layer("observe", "weights", weight, bias)?;
        self.check_deltas("observe", deltas)?;
        if self.feed.is_none() {
            self.gather_first(weight, bias);
        } else {
            self.fold(weight, bias, Feed::Weights);
        }
        self.feed = Some(Feed::Weights);
        self.record_deltas(deltas);
        Ok(())
    }

    /// Feeds an update `u_t` directly (weight part `neurons×fan_in`, bias
    /// part `neurons`), and optionally the step's deltas.
    ///
    /// # Errors
    /// As [`observe`](Self::observe), and [`Error::InvalidArgument`] if the
    /// recorder tracks the weight error (which needs the weights themselves)
    /// or was fed weights before.
    pub fn observe_update<F: Element>(
        &mut self,
        update: &Tensor<F>,
        bias_update: Option<&Tensor<F>>,
        deltas: Option<&Tensor<F>>,
    ) -> Result<()> {
        if self.direction.as_ref().is_some_and(|d| d.target.is_some()) {
            return Err(Error::InvalidArgument {
                op: "observe_update",
                message:
                    "this recorder tracks the weight error, which needs the weights: call observe"
                        .into(),
            });
        }
        self.check_feed("observe_update", Feed::Updates)?;
        self.check_layer("observe_update", "update", update, bias_update)?;
        self.check_deltas("observe_update", deltas)?;
        self.fold(update, bias_update, Feed::Updates);
        self.feed = Some(Feed::Updates);
        self.record_deltas(deltas);
        Ok(())
    }

    fn check_feed(&self, op: &'static str, feed: Feed) -> Result<()> {
        match self.feed {
            Some(f) if f != feed => Err(Error::InvalidArgument {
                op,
                message: "a recorder is fed either weights (observe) or updates (observe_update), not both".into(),
            }),
            _ => Ok(()),
        }
    }

    /// The first weights: stored as `W_0`; no update yet.
    fn gather_first<F: Element>(&mut self, weight: &Tensor<F>, bias: Option<&Tensor<F>>) {
        let mut w = std::mem::take(&mut self.weights);
        self.gather(&mut w, weight, bias);
        self.start.copy_from_slice(&w);
        self.weights = w;
        if let Some(dir) = self.direction.as_mut()
            && let Some(target) = &dir.target
        {
            for (j, row) in self.weights.chunks_exact(self.row).enumerate() {
                let t = &target[j * self.row..(j + 1) * self.row];
                dir.component[j] = row
                    .iter()
                    .zip(t)
                    .zip(&dir.unit)
                    .map(|((w, s), u)| (w - s) * u)
                    .sum();
            }
            dir.advance();
        }
    }

    /// One fused pass over the layer: reads the new weights (or the
    /// update) once, updates `W_t` and the previous update in place, and
    /// accumulates each neuron's norm, dot product with the previous update,
    /// sign flags and components along the direction. About one read of the
    /// layer and two read-writes of `f64` state per weight.
    fn fold<F: Element>(&mut self, values: &Tensor<F>, bias: Option<&Tensor<F>>, feed: Feed) {
        let (r, k) = (self.row, self.fan_in);
        let first = self.updates == 0;
        let vals = values.as_slice();
        // Take the direction out so its fields and `self`'s buffers can be
        // borrowed side by side.
        let mut dir = self.direction.take();
        let (unit, target, mut components) = match dir.as_mut() {
            Some(d) => (
                d.unit.as_slice(),
                d.target.as_deref(),
                Some(d.component.as_mut_slice()),
            ),
            None => (self.zeros.as_slice(), None, None),
        };
        for (j, s) in self.stats.iter_mut().enumerate() {
            let w = &mut self.weights[j * r..(j + 1) * r];
            let p = &mut self.previous_update[j * r..(j + 1) * r];
            let t = target.map_or(self.zeros.as_slice(), |t| &t[j * r..(j + 1) * r]);
            let mut lanes = Lanes::default();
            let row = &vals[j * k..(j + 1) * k];
            match feed {
                Feed::Weights => lanes.fold::<true, F>(row, w, p, t, unit),
                Feed::Updates => lanes.fold::<false, F>(row, w, p, t, unit),
            }
            if let Some(b) = bias {
                let x = [b.as_slice()[j]];
                let (w, p, t, unit) = (&mut w[k..], &mut p[k..], &t[k..], &unit[k..]);
                match feed {
                    Feed::Weights => lanes.fold::<true, F>(&x, w, p, t, unit),
                    Feed::Updates => lanes.fold::<false, F>(&x, w, p, t, unit),
                }
            }
            let acc = lanes.total(r);
            let norm = acc.norm2.sqrt();
            s.path_length += norm;
            s.orthants
                .add(Orthant::from_signs(acc.pos, acc.neg, acc.zero));
            s.last_cos = None;
            if !first {
                s.orthants.same_as_previous += usize::from(acc.same);
                s.orthants.opposite_to_previous += usize::from(acc.opposite);
                if norm > 0.0 && s.last_norm > 0.0 {
                    let cos = (acc.dot / (norm * s.last_norm)).clamp(-1.0, 1.0);
                    s.cos_sum += cos;
                    s.cos_count += 1;
                    s.cos_negative += usize::from(cos < 0.0);
                    s.last_cos = Some(cos);
                }
            }
            s.last_norm = norm;
            if let Some(c) = components.as_mut() {
                c[j] = if target.is_some() {
                    acc.error_along
                } else {
                    acc.update_along
                };
            }
        }
        if let Some(d) = dir.as_mut() {
            d.advance();
        }
        self.direction = dir;
        self.updates += 1;
    }

    fn record_deltas<F: Element>(&mut self, deltas: Option<&Tensor<F>>) {
        let Some(d) = deltas else { return };
        let first = self.delta_rows == 0;
        if first {
            self.delta_rows = d.dims()[0];
            self.delta_signs.resize(d.numel(), 0);
        }
        let j = self.neurons;
        for (row, prev_row) in d
            .as_slice()
            .chunks_exact(j)
            .zip(self.delta_signs.chunks_exact_mut(j))
        {
            for ((&x, prev), s) in row.iter().zip(prev_row).zip(&mut self.stats) {
                let sign = i8::from(x > F::zero()) - i8::from(x < F::zero());
                if !first {
                    let comparable = sign != 0 && *prev != 0;
                    s.delta_pairs += usize::from(comparable);
                    s.delta_flips += usize::from(comparable && sign != *prev);
                }
                *prev = sign;
            }
        }
    }

    /// Updates recorded so far.
    pub fn updates(&self) -> usize {
        self.updates
    }

    /// Neuron `j`'s statistics so far (no allocation; `O(fan_in)` for the
    /// path efficiency).
    ///
    /// # Panics
    /// If `j` is not a neuron of the layer.
    #[track_caller]
    pub fn neuron(&self, j: usize) -> NeuronTrajectory {
        assert!(
            j < self.neurons,
            "neuron {j} out of range for a layer of {}",
            self.neurons
        );
        let s = &self.stats[j];
        let range = j * self.row..(j + 1) * self.row;
        // Σ_t u_t = W_t − W_0.
        let net = self.weights[range.clone()]
            .iter()
            .zip(&self.start[range])
            .map(|(w, s)| (w - s).powi(2))
            .sum::<f64>()
            .sqrt();
        let ratio = |a: usize, b: usize| (b > 0).then(|| a as f64 / b as f64);
        NeuronTrajectory {
            updates: self.updates,
            mean_cosine: (s.cos_count > 0).then(|| s.cos_sum / s.cos_count as f64),
            negative_cosine_share: ratio(s.cos_negative, s.cos_count),
            last_cosine: s.last_cos,
            path_efficiency: (s.path_length > 0.0).then(|| net / s.path_length),
            delta_flip_rate: ratio(s.delta_flips, s.delta_pairs),
            orthants: s.orthants,
        }
    }

    /// The current component of neuron `j`'s error (or last update) along
    /// the tracked direction; `None` without a direction or before the first
    /// value.
    pub fn component(&self, j: usize) -> Option<f64> {
        let d = self.direction.as_ref()?;
        (d.recorded > 0)
            .then(|| d.component.get(j).copied())
            .flatten()
    }

    /// The last per-step ratio `c_t / c_{t−1}` of neuron `j`'s component
    /// (`None` before two values, or when `c_{t−1} = 0`).
    pub fn component_ratio(&self, j: usize) -> Option<f64> {
        self.direction.as_ref()?.ratio.get(j).copied().flatten()
    }

    /// How many times neuron `j`'s component changed sign (strictly: from
    /// `> 0` to `< 0` or back) between consecutive steps.
    pub fn component_flips(&self, j: usize) -> usize {
        self.direction
            .as_ref()
            .and_then(|d| d.flips.get(j).copied())
            .unwrap_or(0)
    }

    /// Everything recorded, as a typed report (allocates; call it when you
    /// want to look, not every step).
    pub fn report(&self) -> TrajectoryReport {
        TrajectoryReport {
            updates: self.updates,
            neurons: (0..self.neurons).map(|j| self.neuron(j)).collect(),
            direction: self.direction.as_ref().map(|d| DirectionTrajectory {
                tracked: if d.target.is_some() {
                    Tracked::Error
                } else {
                    Tracked::Update
                },
                steps: d.recorded,
                components: d.component.clone(),
                last_ratios: d.ratio.clone(),
                sign_flips: d.flips.clone(),
                layer_ratio: d.layer_ratio,
            }),
        }
    }
}

impl Direction {
    /// Folds the freshly written `component` into ratios and flips.
    fn advance(&mut self) {
        if self.recorded > 0 {
            let (mut now, mut before) = (0.0, 0.0);
            for j in 0..self.component.len() {
                let (c, p) = (self.component[j], self.previous[j]);
                self.ratio[j] = (p != 0.0).then(|| c / p);
                self.flips[j] += usize::from((c > 0.0 && p < 0.0) || (c < 0.0 && p > 0.0));
                now += c * c;
                before += p * p;
            }
            self.layer_ratio = (before > 0.0).then(|| (now / before).sqrt());
        }
        self.previous.copy_from_slice(&self.component);
        self.recorded += 1;
    }
}
