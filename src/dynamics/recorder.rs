//! `TrajectoryRecorder`: the zig-zag of one layer's weights over training,
//! measured one step at a time.

use crate::element::Element;
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tensor::Tensor;

use super::deltas::DeltaFlips;
use super::direction::Direction;
use super::orthant::OrthantCounts;
use super::report::{NeuronTrajectory, TrajectoryReport};
use super::state::{Feed, State};
use crate::analysis::SignCategory;

/// Running statistics of one neuron.
#[derive(Clone, Debug, Default, PartialEq)]
struct NeuronStats {
    path_length: f64,
    cos_sum: f64,
    cos_count: usize,
    cos_negative: usize,
    last_cos: Option<f64>,
    /// `‖u_{t−1}‖`, so the cosine needs no second pass.
    last_norm: f64,
    orthants: OrthantCounts,
}

/// A layer's values (weights, an update or a gradient) as row-major slices
/// with their shapes, wherever they live (a tensor, a tape, a gradient store).
#[derive(Clone, Copy, Debug)]
pub(crate) struct LayerValues<'a, F> {
    pub(crate) weight: &'a [F],
    pub(crate) weight_shape: Shape,
    pub(crate) bias: Option<(&'a [F], Shape)>,
}

impl<'a, F: Element> LayerValues<'a, F> {
    fn of(weight: &'a Tensor<F>, bias: Option<&'a Tensor<F>>) -> Self {
        LayerValues {
            weight: weight.as_slice(),
            weight_shape: weight.shape(),
            bias: bias.map(|b| (b.as_slice(), b.shape())),
        }
    }
}

/// A step's deltas `Δ` (`B×neurons`) as a slice with its shape.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DeltaValues<'a, F> {
    pub(crate) data: &'a [F],
    pub(crate) shape: Shape,
}

impl<'a, F: Element> DeltaValues<'a, F> {
    fn of(d: &'a Tensor<F>) -> Self {
        DeltaValues {
            data: d.as_slice(),
            shape: d.shape(),
        }
    }
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
/// place; `Σ_t u_t` is `W_t − W_0`, never summed), in the precision of the
/// values fed (`f32` values keep `f32` state: half the memory traffic and
/// twice the SIMD lanes of `f64`), and no allocation after the first call
/// (the δ buffer is sized on the first call that passes deltas). A recorder
/// is fed either weights ([`observe`](Self::observe)) or updates
/// ([`observe_update`](Self::observe_update)), not both.
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
#[derive(Clone, Debug, PartialEq)]
pub struct TrajectoryRecorder {
    neurons: usize,
    fan_in: usize,
    bias: bool,
    row: usize,
    /// How the layer is fed, fixed by the first call.
    feed: Option<Feed>,
    /// The per-weight state, created by the first call in its values'
    /// precision.
    state: Option<State>,
    updates: usize,
    stats: Vec<NeuronStats>,
    deltas: DeltaFlips,
    direction: Option<Direction>,
}

impl TrajectoryRecorder {
    /// A recorder for a layer of `neurons` outputs and `fan_in` inputs, with
    /// or without a bias.
    ///
    /// The per-neuron counters are allocated here; the per-weight state (four
    /// rows of `neurons × (fan_in + bias)` values) on the first observation.
    ///
    /// # Errors
    /// [`Error::OutOfDomain`] if `neurons` or `fan_in` is 0;
    /// [`Error::TooLarge`] if the per-weight state of
    /// `neurons × (fan_in + bias)` values could not even be addressed (more
    /// than `isize::MAX` bytes), or if the per-neuron counters cannot be
    /// allocated; the message names the sizes.
    pub fn new(neurons: usize, fan_in: usize, bias: bool) -> Result<Self> {
        let op = "TrajectoryRecorder::new";
        if neurons == 0 || fan_in == 0 {
            return Err(Error::out_of_domain(
                op,
                "the layer size (neurons × inputs)",
                "at least 1 × 1",
                format_args!("{neurons}×{fan_in}"),
            ));
        }
        // The state later holds four vectors of this many f64 (f32 values
        // keep f32 state, but the f64 bound covers both).
        let too_big = || Error::TooLarge {
            op,
            what: format!(
                "a layer of {neurons} neurons × {fan_in} inputs{}",
                if bias { " (+ bias)" } else { "" }
            ),
            reason: "recording its state would need more than isize::MAX bytes".into(),
        };
        let row = fan_in.checked_add(usize::from(bias)).ok_or_else(too_big)?;
        neurons
            .checked_mul(row)
            .and_then(|n| n.checked_mul(4 * std::mem::size_of::<f64>()))
            .filter(|&bytes| bytes <= isize::MAX as usize)
            .ok_or_else(too_big)?;
        let what = format!("the counters of {neurons} neurons");
        Ok(TrajectoryRecorder {
            neurons,
            fan_in,
            bias,
            row,
            feed: None,
            state: None,
            updates: 0,
            stats: super::try_filled(op, &what, neurons, NeuronStats::default())?,
            deltas: DeltaFlips::new(op, neurons)?,
            direction: None,
        })
    }

    /// Allocates what the next observation needs (the per-weight state on
    /// the first one, the δ signs on the first with deltas), so that the
    /// observation itself cannot fail; an `Err` changes nothing that is
    /// observable.
    pub(crate) fn prepare<F: Element>(
        &mut self,
        op: &'static str,
        deltas: Option<DeltaValues<'_, F>>,
    ) -> Result<()> {
        if self.state.is_none() {
            let dir = self.direction.as_ref();
            let unit = dir.map(|d| d.unit.as_slice());
            let target = dir.and_then(|d| d.target.as_deref());
            self.state = Some(State::new::<F>(op, self.neurons * self.row, unit, target)?);
        }
        if let Some(d) = deltas {
            self.deltas.prepare(op, d.data.len())?;
        }
        Ok(())
    }

    /// The layer's neurons (its outputs).
    pub fn neurons(&self) -> usize {
        self.neurons
    }

    /// The layer's inputs per neuron (the bias not counted).
    pub fn fan_in(&self) -> usize {
        self.fan_in
    }

    /// Whether each row carries the bias as its last entry.
    pub fn has_bias(&self) -> bool {
        self.bias
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
        if let Some((i, x)) = direction.iter().enumerate().find(|(_, x)| !x.is_finite()) {
            return Err(Error::NonFinite {
                op,
                what: format!("{x} at entry {i} of the direction"),
            });
        }
        // Scaled by the largest entry first, so that neither 1e200 (whose
        // square overflows) nor 1e-200 (whose square underflows to 0) loses
        // a direction that is perfectly valid.
        let big = direction.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        if big == 0.0 {
            return Err(Error::out_of_domain(
                op,
                "the direction",
                "non-zero",
                "every entry 0",
            ));
        }
        let norm = direction
            .iter()
            .map(|x| (x / big).powi(2))
            .sum::<f64>()
            .sqrt();
        let mut unit = super::try_filled(op, "the direction", direction.len(), 0.0)?;
        for (u, x) in unit.iter_mut().zip(direction) {
            *u = x / big / norm;
        }
        Ok(unit)
    }

    /// Also tracks the component of each update along `direction`
    /// (normalised here), its per-step ratio and sign flips.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] unless `direction` has `fan_in (+ 1)`
    /// entries; [`Error::NonFinite`] for a non-finite entry;
    /// [`Error::OutOfDomain`] if it is zero; [`Error::TooLarge`] if its
    /// copy cannot be allocated.
    pub fn track_update_along(mut self, direction: &[f64]) -> Result<Self> {
        let unit = self.unit_direction("track_update_along", direction)?;
        if let Some(state) = self.state.as_mut() {
            state.set_direction(&unit, None);
        }
        self.direction = Some(Direction::new(
            "track_update_along",
            self.neurons,
            unit,
            None,
        )?);
        Ok(self)
    }

    /// Follows a new update direction from the next call on (a refreshed
    /// eigenvector): the series of components restarts, so no ratio or flip
    /// compares components along different directions; flips counted so far
    /// are kept. Without a direction yet, starts tracking one.
    ///
    /// # Errors
    /// As [`track_update_along`](Self::track_update_along), and
    /// [`Error::OutOfOrder`] if the recorder tracks the weight error.
    pub(crate) fn replace_update_direction(&mut self, direction: &[f64]) -> Result<()> {
        let op = "replace_update_direction";
        let unit = self.unit_direction(op, direction)?;
        match self.direction.as_mut() {
            Some(d) if d.target.is_some() => {
                return Err(Error::OutOfOrder {
                    op,
                    what: "this recorder tracks the weight error, not the update".into(),
                });
            }
            Some(d) => d.replace_unit(&unit),
            None => self.direction = Some(Direction::new(op, self.neurons, unit.clone(), None)?),
        }
        if let Some(state) = self.state.as_mut() {
            state.set_direction(&unit, None);
        }
        Ok(())
    }

    /// Also tracks the component of each neuron's weight error `w_j − w*_j`
    /// along `direction` (normalised here) at every [`observe`](Self::observe):
    /// for gradient descent on a quadratic whose Hessian has `direction` as
    /// its top eigenvector, it is multiplied by exactly `1 − ηλmax` each step.
    ///
    /// # Errors
    /// As [`track_update_along`](Self::track_update_along), plus
    /// [`Error::ShapeMismatch`] if the target's shapes are not the layer's,
    /// [`Error::NonFinite`] on a non-finite target.
    pub fn track_error_along<F: Element>(
        mut self,
        direction: &[f64],
        target_weight: &Tensor<F>,
        target_bias: Option<&Tensor<F>>,
    ) -> Result<Self> {
        let op = "track_error_along";
        let unit = self.unit_direction(op, direction)?;
        self.check_layer(op, "target", &LayerValues::of(target_weight, target_bias))?;
        let (k, r) = (self.fan_in, self.row);
        let mut target = super::try_filled(op, "the target rows", self.neurons * r, 0.0)?;
        let (w, b) = (target_weight.as_slice(), target_bias.map(|b| b.as_slice()));
        for (j, row) in target.chunks_exact_mut(r).enumerate() {
            for (o, &x) in row.iter_mut().zip(&w[j * k..(j + 1) * k]) {
                *o = x.to_f64();
            }
            if let Some(b) = b {
                row[k] = b[j].to_f64();
            }
        }
        if let Some(state) = self.state.as_mut() {
            state.set_direction(&unit, Some(&target));
        }
        self.direction = Some(Direction::new(op, self.neurons, unit, Some(target))?);
        Ok(self)
    }

    /// Checks a (weight, bias) pair has the layer's shapes and finite values.
    fn check_layer<F: Element>(
        &self,
        op: &'static str,
        what: &str,
        values: &LayerValues<'_, F>,
    ) -> Result<()> {
        let want = Shape::matrix(self.neurons, self.fan_in);
        if values.weight_shape != want {
            return Err(Error::ShapeMismatch {
                op,
                lhs: want,
                rhs: values.weight_shape,
                reason: "the weight must be (neurons, fan_in) as the recorder was built",
            });
        }
        match (self.bias, values.bias) {
            (true, Some((_, shape))) if shape != Shape::vector(self.neurons) => {
                return Err(Error::ShapeMismatch {
                    op,
                    lhs: Shape::vector(self.neurons),
                    rhs: shape,
                    reason: "the bias must be (neurons)",
                });
            }
            (true, None) | (false, Some(_)) => {
                return Err(Error::Incompatible {
                    op,
                    what: format!(
                        "the recorder was built {} a bias, but the {what} {} one",
                        if self.bias { "with" } else { "without" },
                        if self.bias { "lacks" } else { "has" }
                    ),
                });
            }
            _ => {}
        }
        let bias = values.bias.map_or(&[][..], |(b, _)| b);
        if crate::kernels::all_finite(values.weight) && crate::kernels::all_finite(bias) {
            return Ok(());
        }
        if let Some((i, x)) = values
            .weight
            .iter()
            .chain(bias)
            .enumerate()
            .find(|(_, x)| !x.is_finite())
        {
            return Err(Error::NonFinite {
                op,
                what: format!("{x} at element {i} of the {what} (weight then bias)"),
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
    /// [`Error::ShapeMismatch`] if the shapes are not the layer's (or the
    /// deltas' batch size changes); [`Error::Incompatible`] if a bias is
    /// given to a recorder built without one, or missing from one built
    /// with one; [`Error::NonFinite`] on a non-finite weight or delta;
    /// [`Error::OutOfOrder`] if the recorder was fed updates before
    /// ([`observe_update`](Self::observe_update)); [`Error::TooLarge`] if
    /// the first observation's state cannot be allocated.
    pub fn observe<F: Element>(
        &mut self,
        weight: &Tensor<F>,
        bias: Option<&Tensor<F>>,
        deltas: Option<&Tensor<F>>,
    ) -> Result<()> {
        let values = LayerValues::of(weight, bias);
        let deltas = deltas.map(DeltaValues::of);
        self.check_observation("observe", Feed::Weights, &values, deltas)?;
        self.prepare::<F>("observe", deltas)?;
        self.apply_observation(Feed::Weights, 1.0, &values, deltas);
        Ok(())
    }

    /// Feeds an update `u_t` directly (weight part `neurons×fan_in`, bias
    /// part `neurons`), and optionally the step's deltas.
    ///
    /// # Errors
    /// As [`observe`](Self::observe), and [`Error::OutOfOrder`] if the
    /// recorder tracks the weight error (which needs the weights themselves)
    /// or was fed weights before.
    pub fn observe_update<F: Element>(
        &mut self,
        update: &Tensor<F>,
        bias_update: Option<&Tensor<F>>,
        deltas: Option<&Tensor<F>>,
    ) -> Result<()> {
        let values = LayerValues::of(update, bias_update);
        let deltas = deltas.map(DeltaValues::of);
        self.check_observation("observe_update", Feed::Updates, &values, deltas)?;
        self.prepare::<F>("observe_update", deltas)?;
        self.apply_observation(Feed::Updates, 1.0, &values, deltas);
        Ok(())
    }

    /// The batch size of the deltas fixed by the first call that passed
    /// some (0 before).
    pub(crate) fn delta_rows(&self) -> usize {
        self.deltas.rows()
    }

    /// Everything an observation can get wrong, checked before anything is
    /// changed.
    pub(crate) fn check_observation<F: Element>(
        &self,
        op: &'static str,
        feed: Feed,
        values: &LayerValues<'_, F>,
        deltas: Option<DeltaValues<'_, F>>,
    ) -> Result<()> {
        if feed == Feed::Updates && self.direction.as_ref().is_some_and(|d| d.target.is_some()) {
            return Err(Error::OutOfOrder {
                op,
                what:
                    "this recorder tracks the weight error, which needs the weights: call observe"
                        .into(),
            });
        }
        if self.feed.is_some_and(|f| f != feed) {
            return Err(Error::OutOfOrder {
                op,
                what: "a recorder is fed either weights (observe) or updates (observe_update), \
                       not both"
                    .into(),
            });
        }
        let what = if feed == Feed::Weights {
            "weights"
        } else {
            "update"
        };
        self.check_layer(op, what, values)?;
        if let Some(d) = deltas {
            self.deltas.check(op, d.data, d.shape)?;
        }
        Ok(())
    }

    /// Records a checked observation: weights, or updates `scale·values`.
    pub(crate) fn apply_observation<F: Element>(
        &mut self,
        feed: Feed,
        scale: f64,
        values: &LayerValues<'_, F>,
        deltas: Option<DeltaValues<'_, F>>,
    ) {
        let bias = values.bias.map(|(b, _)| b);
        let (k, r) = (self.fan_in, self.row);
        let state = self
            .state
            .as_mut()
            .expect("prepare allocated the state before the first observation");
        if self.feed.is_none() && feed == Feed::Weights {
            // The first weights: stored as `W_0`; no update yet.
            state.store_first(values.weight, bias, k, r);
            if let Some(dir) = self.direction.as_mut().filter(|d| d.target.is_some()) {
                for (j, c) in dir.component.iter_mut().enumerate() {
                    *c = state.error_component(j, r);
                }
                dir.advance();
            }
        } else {
            self.fold(feed, scale, values.weight, bias);
        }
        self.feed = Some(feed);
        if let Some(d) = deltas {
            self.deltas.record(d.data, d.shape.dims()[0]);
        }
    }

    /// One fused pass over the layer (see [`Lanes`](super::row)): about one
    /// read of the values and two read-writes of the state per weight, then
    /// each neuron's norm, cosine, orthant and component from its row's
    /// totals.
    fn fold<F: Element>(&mut self, feed: Feed, scale: f64, values: &[F], bias: Option<&[F]>) {
        let k = self.fan_in;
        let first = self.updates == 0;
        let state = self.state.as_mut().expect("created before the first fold");
        let stats = &mut self.stats;
        let mut dir = self.direction.as_mut();
        state.fold(feed, scale, values, bias, k, |j, acc| {
            let s = &mut stats[j];
            let norm = acc.norm2.sqrt();
            s.path_length += norm;
            s.orthants
                .add(SignCategory::from_signs(acc.pos, acc.neg, acc.zero));
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
            if let Some(d) = dir.as_mut() {
                d.component[j] = if d.target.is_some() {
                    acc.error_along
                } else {
                    acc.update_along
                };
            }
        });
        if let Some(d) = dir {
            d.advance();
        }
        self.updates += 1;
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
        // Σ_t u_t = W_t − W_0.
        let net = self
            .state
            .as_ref()
            .map_or(0.0, |st| st.net_norm(j, self.row));
        let ratio = |a: usize, b: usize| (b > 0).then(|| a as f64 / b as f64);
        NeuronTrajectory {
            updates: self.updates,
            mean_cosine: (s.cos_count > 0).then(|| s.cos_sum / s.cos_count as f64),
            negative_cosine_share: ratio(s.cos_negative, s.cos_count),
            last_cosine: s.last_cos,
            path_efficiency: (s.path_length > 0.0).then(|| net / s.path_length),
            delta_flip_rate: self.deltas.rate(j),
            orthants: s.orthants,
        }
    }

    /// The current component of neuron `j`'s error (or last update) along
    /// the tracked direction; `None` without a direction or before the first
    /// value.
    pub fn component(&self, j: usize) -> Option<f64> {
        let d = self.direction.as_ref()?;
        d.has_value().then(|| d.component.get(j).copied()).flatten()
    }

    /// The last per-step ratio `c_t / c_{t−1}` of neuron `j`'s component
    /// (`None` before two values, or when `c_{t−1} = 0`).
    pub fn component_ratio(&self, j: usize) -> Option<f64> {
        self.direction.as_ref()?.ratio(j)
    }

    /// How many times neuron `j`'s component changed sign (strictly: from
    /// `> 0` to `< 0` or back) between consecutive steps.
    pub fn component_flips(&self, j: usize) -> usize {
        self.direction.as_ref().map_or(0, |d| d.flips(j))
    }

    /// Everything recorded, as a typed report (allocates; call it when you
    /// want to look, not every step).
    pub fn report(&self) -> TrajectoryReport {
        TrajectoryReport {
            updates: self.updates,
            neurons: (0..self.neurons).map(|j| self.neuron(j)).collect(),
            direction: self.direction.as_ref().map(Direction::report),
        }
    }
}
