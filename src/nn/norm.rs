//! Normalisation layers: [`BatchNorm`], [`MeanOnlyBatchNorm`] and
//! [`LayerNorm`] (weight normalisation is
//! [`WeightNormLinear`](super::WeightNormLinear)).

use std::any::TypeId;
use std::sync::{Mutex, MutexGuard};

use crate::autodiff::Var;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::ops::GroupLayout;
use crate::shape::Shape;
use crate::tensor::Tensor;

use super::module::{Forward, ModelElement, Module, Visitor, VisitorMut};

/// PyTorch's default `eps` of its normalisation layers.
pub const DEFAULT_EPS: f64 = 1e-5;
/// PyTorch's default `momentum` of BatchNorm's running statistics.
pub const DEFAULT_MOMENTUM: f64 = 0.1;

/// Whether `E` is a real float (not a dual number): only real passes update
/// running statistics.
fn is_real<E: 'static>() -> bool {
    TypeId::of::<E>() == TypeId::of::<f32>() || TypeId::of::<E>() == TypeId::of::<f64>()
}

/// `eps` given as `f64`, as it will be used: finite and positive in `F`
/// (`1e-50` is 0 in `f32`).
pub(crate) fn check_eps<F: Element>(op: &'static str, eps: f64) -> Result<F> {
    let e = F::from_f64(eps);
    if e.is_finite() && e > F::zero() {
        Ok(e)
    } else {
        Err(Error::out_of_domain(
            op,
            "eps",
            format!("finite and > 0 in {}", F::NAME),
            format_args!("{eps:e} (which is {e} there)"),
        ))
    }
}

/// `momentum` given as `f64`, as it will be used: in `[0, 1]` in `F`.
pub(crate) fn check_momentum<F: Element>(op: &'static str, momentum: f64) -> Result<F> {
    let m = F::from_f64(momentum);
    if m >= F::zero() && m <= F::one() {
        Ok(m)
    } else {
        Err(Error::out_of_domain(
            op,
            "momentum",
            format!("in [0, 1] in {}", F::NAME),
            momentum,
        ))
    }
}

/// A layer's running mean and variance, behind a lock so that a forward
/// pass through `&self` can update them.
#[derive(Debug)]
struct Running<F> {
    inner: Mutex<RunningValues<F>>,
}

#[derive(Clone, Debug, PartialEq)]
struct RunningValues<F> {
    mean: Vec<F>,
    var: Vec<F>,
}

impl<F: Element> Running<F> {
    fn new(channels: usize) -> Self {
        Running {
            inner: Mutex::new(RunningValues {
                mean: vec![F::zero(); channels],
                var: vec![F::one(); channels],
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, RunningValues<F>> {
        // The values are plain numbers updated element by element; a panic
        // elsewhere while holding the lock cannot leave them torn.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Moves the estimates by `momentum` towards the batch moments
    /// `[μ; σ²_biased]` of `m` values per channel; the variance with
    /// Bessel's correction, `σ²·m/(m − 1)`, as PyTorch does.
    fn update<E: Element>(&self, stats: &[E], m: usize, momentum: F, mean_only: bool) {
        let mut r = self.lock();
        let c = r.mean.len();
        let keep = F::one() - momentum;
        let bessel = m as f64 / (m as f64 - 1.0);
        for ch in 0..c {
            let mu = F::from_f64(stats[ch].to_f64());
            r.mean[ch] = momentum * mu + keep * r.mean[ch];
            if !mean_only {
                let v = F::from_f64(stats[c + ch].to_f64() * bessel);
                r.var[ch] = momentum * v + keep * r.var[ch];
            }
        }
    }

    /// `[running mean; running variance]` in the tape's type, as a constant.
    fn constant<'t, E: ModelElement>(
        &self,
        f: &Forward<'t, '_, impl Element, E>,
    ) -> Result<Var<'t, E>> {
        let r = self.lock();
        let c = r.mean.len();
        let vals: Vec<E> = r
            .mean
            .iter()
            .chain(&r.var)
            .map(|&v| E::from_f64(v.to_f64()))
            .collect();
        f.tape().constant_from_slice(&vals, &[2, c])
    }
}

impl<F: Element> Clone for Running<F> {
    fn clone(&self) -> Self {
        Running {
            inner: Mutex::new(self.lock().clone()),
        }
    }
}

impl<F: Element> PartialEq for Running<F> {
    fn eq(&self, other: &Self) -> bool {
        // One lock at a time: two threads comparing `a == b` and `b == a`
        // must not each hold one lock and wait for the other.
        if std::ptr::eq(self, other) {
            return true;
        }
        let mine = self.lock().clone();
        mine == *other.lock()
    }
}

/// Checks loaded or assigned running statistics: `channels` values each,
/// finite, variances ≥ 0.
fn check_running<F: Element>(
    op: &'static str,
    channels: usize,
    mean: &[F],
    var: Option<&[F]>,
) -> Result<()> {
    let lengths =
        std::iter::once(("running mean", mean)).chain(var.map(|v| ("running variance", v)));
    for (what, v) in lengths {
        if v.len() != channels {
            return Err(Error::incompatible(
                op,
                format!("the {what} has {} values for {channels} channels", v.len()),
            ));
        }
        if let Some((i, x)) = v.iter().enumerate().find(|(_, x)| !x.is_finite()) {
            return Err(Error::NonFinite {
                op,
                what: format!("{x} at channel {i} of the {what}"),
            });
        }
    }
    if let Some((i, x)) = var
        .into_iter()
        .flatten()
        .enumerate()
        .find(|(_, x)| **x < F::zero())
    {
        return Err(Error::out_of_domain(
            op,
            format!("the running variance of channel {i}"),
            "≥ 0",
            x,
        ));
    }
    Ok(())
}

/// The batch moments `[μ; σ²]` of `x`, refused when not finite (a NaN or
/// ∞ in the batch, or a spread whose square overflows the tape's type).
fn finite_moments<'t, E: Element>(
    op: &'static str,
    x: Var<'t, E>,
    layout: GroupLayout,
    mean_only: bool,
) -> Result<Var<'t, E>> {
    let stats = x.norm_moments(layout, mean_only)?;
    let c = layout.groups;
    if let Some((i, v)) = stats.with_value(|s| {
        s.iter()
            .enumerate()
            .find(|(_, v)| !v.is_finite())
            .map(|(i, v)| (i, *v))
    }) {
        let what = if i < c { "mean" } else { "variance" };
        return Err(Error::NonFinite {
            op,
            what: format!(
                "{v} as the batch {what} of group {} (input {}): the input holds NaN or ∞, \
                 or values whose spread overflows {}",
                i % c,
                x.shape(),
                E::NAME
            ),
        });
    }
    Ok(stats)
}

/// The `(N, C, rest…)` layout of a BatchNorm input, checked.
fn channel_layout(op: &'static str, shape: Shape, channels: usize) -> Result<GroupLayout> {
    let dims = shape.dims();
    if !(2..=4).contains(&dims.len()) {
        return Err(Error::RankMismatch {
            op,
            expected: "2 (N, C), 3 (N, C, L) or 4 (N, C, H, W)",
            shape,
        });
    }
    if dims[1] != channels {
        return Err(Error::ShapeMismatch {
            op,
            lhs: shape,
            rhs: Shape::vector(channels),
            reason: "the input's axis 1 must equal the layer's number of channels",
        });
    }
    if shape.numel() == 0 {
        return Err(Error::Empty { op, shape });
    }
    Ok(GroupLayout {
        outer: dims[0],
        groups: channels,
        inner: dims[2..].iter().product(),
    })
}

/// Batch normalisation (Ioffe & Szegedy 2015) over `(N, C)`, `(N, C, L)`
/// or `(N, C, H, W)`, with PyTorch's rules.
///
/// Training mode normalises each channel `c` with the statistics of the
/// batch, over its `M = N·H·W` values:
/// `y = γ_c·(x − μ_c)/√(σ²_c + ε) + β_c`, `σ²_c` the biased variance
/// `(1/M)·Σ(x − μ_c)²`, and moves the running statistics
/// `μ̂ ← (1 − m)·μ̂ + m·μ_c`, `σ̂² ← (1 − m)·σ̂² + m·σ²_c·M/(M − 1)`
/// (unbiased). Evaluation mode uses `μ̂`, `σ̂²` instead. Defaults: `ε =
/// 1e-5`, `m = 0.1`, `γ = 1`, `β = 0`, running statistics `0` and `1`.
///
/// # Running statistics
///
/// BatchNorm keeps running estimates of each channel's mean and variance
/// for evaluation mode. They are *state*, not parameters: no optimiser
/// sees them and [`Module::visit`] does not list them. Because
/// [`Module::forward`] takes `&self` (a model is shared by reference with
/// the analyzer, the curvature tools and the training loop), the running
/// statistics sit behind a [`Mutex`] inside the layer and are updated by
/// the forward pass itself, as in PyTorch: every training-mode forward pass
/// on a real-float tape (`f32` or `f64`) moves them by `momentum` towards
/// the batch's statistics. A pass on dual numbers (the Hessian-vector
/// products of [`curvature`](crate::curvature)) never updates them: it
/// differentiates the same function again along a direction, and counting
/// it as another batch would move the estimates once per HVP. No training
/// loop or optimiser needs to know about the layer (the alternative, an
/// explicit update step after each forward pass, would need every loop to
/// call it). The lock is held only to copy or update the `2·C` values, and
/// a forward pass that fails (a NaN in the batch) leaves them untouched.
///
/// Like PyTorch, a training-mode forward pass made for inspection (one
/// whose trace goes to the analyzer,
/// [`Objective::gradient`](crate::curvature::Objective) on `f64`) also
/// counts as a batch; switch the model to evaluation mode with
/// [`Module::set_training`] for passes that must not touch them.
///
/// ```
/// use gradsign::nn::{self, BatchNorm, Module};
/// use gradsign::{Tape, Tensor};
/// let bn = BatchNorm::<f64>::new(2)?;
/// let tape = Tape::new();
/// let x = tape.constant(&Tensor::from_vec(vec![1.0, 10.0, 3.0, 30.0], &[2, 2])?);
/// let (y, _) = nn::forward(&bn, &tape, x)?;
/// let y = y.value();
/// assert!((y.as_slice()[0] + 1.0).abs() < 1e-5 && (y.as_slice()[3] - 1.0).abs() < 1e-5);
/// assert_eq!(bn.running_mean(), [0.2, 2.0]); // 0.9·0 + 0.1·batch mean
/// # Ok::<(), gradsign::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct BatchNorm<F: Element> {
    /// The gain `γ` `(C)`, if the layer is affine.
    pub weight: Option<Tensor<F>>,
    /// The shift `β` `(C)`, if the layer is affine.
    pub bias: Option<Tensor<F>>,
    channels: usize,
    eps: F,
    momentum: F,
    training: bool,
    running: Running<F>,
}

impl<F: Element> BatchNorm<F> {
    /// An affine layer over `channels` channels (`γ = 1`, `β = 0`), with
    /// `ε = 1e-5` and momentum 0.1, in training mode.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for zero channels.
    pub fn new(channels: usize) -> Result<Self> {
        if channels == 0 {
            return Err(Error::out_of_domain(
                "BatchNorm::new",
                "the channel count",
                "at least 1",
                0,
            ));
        }
        Ok(BatchNorm {
            weight: Some(Tensor::ones(&[channels])?),
            bias: Some(Tensor::zeros(&[channels])?),
            channels,
            eps: check_eps("BatchNorm::new", DEFAULT_EPS)?,
            momentum: check_momentum("BatchNorm::new", DEFAULT_MOMENTUM)?,
            training: true,
            running: Running::new(channels),
        })
    }

    /// The layer without `γ` and `β` (PyTorch's `affine=False`).
    #[must_use]
    pub fn without_affine(mut self) -> Self {
        self.weight = None;
        self.bias = None;
        self
    }

    /// The layer with another `ε`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `eps` is not finite and positive in
    /// `F` (NaN, ∞, ≤ 0, or so small it rounds to 0).
    pub fn with_eps(mut self, eps: f64) -> Result<Self> {
        self.eps = check_eps("BatchNorm::with_eps", eps)?;
        Ok(self)
    }

    /// The layer with another momentum for the running statistics.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `momentum` is not in `[0, 1]` (NaN
    /// included).
    pub fn with_momentum(mut self, momentum: f64) -> Result<Self> {
        self.momentum = check_momentum("BatchNorm::with_momentum", momentum)?;
        Ok(self)
    }

    /// The number of channels.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// `ε`.
    pub fn eps(&self) -> F {
        self.eps
    }

    /// The momentum of the running statistics.
    pub fn momentum(&self) -> F {
        self.momentum
    }

    /// Whether the layer is in training mode.
    pub fn is_training(&self) -> bool {
        self.training
    }

    /// A copy of the running mean.
    pub fn running_mean(&self) -> Vec<F> {
        self.running.lock().mean.clone()
    }

    /// A copy of the running (unbiased) variance.
    pub fn running_var(&self) -> Vec<F> {
        self.running.lock().var.clone()
    }

    /// Replaces the running statistics.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a length other than the number of
    /// channels or a negative variance; [`Error::NonFinite`] for a NaN or
    /// infinite value.
    pub fn set_running_stats(&mut self, mean: &[F], var: &[F]) -> Result<()> {
        check_running(
            "BatchNorm::set_running_stats",
            self.channels,
            mean,
            Some(var),
        )?;
        let mut r = self.running.lock();
        r.mean.copy_from_slice(mean);
        r.var.copy_from_slice(var);
        Ok(())
    }
}

impl<F: Element> Module<F> for BatchNorm<F> {
    /// Normalises `x` per channel (see the [type docs](BatchNorm)) and
    /// reports the layer as `"batch_norm"`.
    ///
    /// # Errors
    /// [`Error::RankMismatch`] for an input of rank other than 2, 3, 4;
    /// [`Error::ShapeMismatch`] if axis 1 is not the number of channels;
    /// [`Error::Empty`] for an empty input; [`Error::InvalidArgument`] in
    /// training mode with one value per channel (the variance of one value
    /// is undefined; PyTorch refuses it too), or an `ε` that is 0 in the
    /// tape's type; [`Error::NonFinite`] if the batch statistics are not
    /// finite (NaN or ∞ in the input).
    fn forward<'t, E: ModelElement>(
        &self,
        x: Var<'t, E>,
        ctx: &mut Forward<'t, '_, F, E>,
    ) -> Result<Var<'t, E>> {
        let op = "BatchNorm::forward";
        let layout = channel_layout(op, x.shape(), self.channels)?;
        let eps: E = check_eps(op, self.eps.to_f64())?;
        let stats = if self.training {
            if layout.group_len() < 2 {
                return Err(Error::out_of_domain(
                    op,
                    "the values per channel in training mode",
                    "more than one (to estimate a variance)",
                    format_args!("input {}", x.shape()),
                ));
            }
            let stats = finite_moments(op, x, layout, false)?;
            if is_real::<E>() {
                stats.with_value(|s| {
                    self.running
                        .update(s, layout.group_len(), self.momentum, false)
                });
            }
            stats
        } else {
            self.running.constant(ctx)?
        };
        let gamma = self.weight.as_ref().map(|w| ctx.param(w)).transpose()?;
        let beta = self.bias.as_ref().map(|b| ctx.param(b)).transpose()?;
        let coeffs = stats.norm_coeffs(gamma, beta, eps, false)?;
        let y = x.group_affine(coeffs, layout)?;
        ctx.record_layer("batch_norm", x, y);
        Ok(y)
    }

    fn visit(&self, v: &mut Visitor<'_, F>) -> Result<()> {
        if let Some(w) = &self.weight {
            v.param("weight", w)?;
        }
        match &self.bias {
            Some(b) => v.param("bias", b),
            None => Ok(()),
        }
    }

    fn visit_mut(&mut self, v: &mut VisitorMut<'_, F>) -> Result<()> {
        if let Some(w) = &mut self.weight {
            v.param("weight", w)?;
        }
        match &mut self.bias {
            Some(b) => v.param("bias", b),
            None => Ok(()),
        }
    }

    fn set_training(&mut self, training: bool) {
        self.training = training;
    }
}

/// Mean-only batch normalisation (Salimans & Kingma 2016, with weight
/// normalisation): `y = x − μ_c + β_c`, subtracting each channel's batch
/// mean and adding a learned shift, without dividing by a deviation.
///
/// Its backward pass removes the batch mean of the incoming gradient,
/// `∂L/∂x = ∂L/∂y − mean_batch ∂L/∂y`, so placed on a dense layer's
/// pre-activation it makes that layer's deltas sum to zero over the batch:
/// the batch weight gradient `Σ_b δ_b·a_bᵀ` then no longer changes when a
/// constant vector is added to the inputs `a_b`, as if they were centred.
/// Training mode keeps a running mean (momentum 0.1) that evaluation mode
/// subtracts instead; it updates as [`BatchNorm`]'s does.
#[derive(Clone, Debug, PartialEq)]
pub struct MeanOnlyBatchNorm<F: Element> {
    /// The shift `β` `(C)`.
    pub bias: Tensor<F>,
    channels: usize,
    momentum: F,
    training: bool,
    running: Running<F>,
}

impl<F: Element> MeanOnlyBatchNorm<F> {
    /// A layer over `channels` channels with `β = 0`, momentum 0.1, in
    /// training mode.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for zero channels.
    pub fn new(channels: usize) -> Result<Self> {
        if channels == 0 {
            return Err(Error::out_of_domain(
                "MeanOnlyBatchNorm::new",
                "the channel count",
                "at least 1",
                0,
            ));
        }
        Ok(MeanOnlyBatchNorm {
            bias: Tensor::zeros(&[channels])?,
            channels,
            momentum: check_momentum("MeanOnlyBatchNorm::new", DEFAULT_MOMENTUM)?,
            training: true,
            running: Running::new(channels),
        })
    }

    /// The layer with another momentum for the running mean.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `momentum` is not in `[0, 1]`.
    pub fn with_momentum(mut self, momentum: f64) -> Result<Self> {
        self.momentum = check_momentum("MeanOnlyBatchNorm::with_momentum", momentum)?;
        Ok(self)
    }

    /// The number of channels.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// The momentum of the running mean.
    pub fn momentum(&self) -> F {
        self.momentum
    }

    /// Whether the layer is in training mode.
    pub fn is_training(&self) -> bool {
        self.training
    }

    /// A copy of the running mean.
    pub fn running_mean(&self) -> Vec<F> {
        self.running.lock().mean.clone()
    }

    /// Replaces the running mean.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a length other than the number of
    /// channels; [`Error::NonFinite`] for a NaN or infinite value.
    pub fn set_running_mean(&mut self, mean: &[F]) -> Result<()> {
        check_running(
            "MeanOnlyBatchNorm::set_running_mean",
            self.channels,
            mean,
            None,
        )?;
        self.running.lock().mean.copy_from_slice(mean);
        Ok(())
    }
}

impl<F: Element> Module<F> for MeanOnlyBatchNorm<F> {
    /// `y = x − μ_c + β_c`, reported as `"mean_only_batch_norm"`.
    ///
    /// # Errors
    /// As [`BatchNorm`]'s forward pass: the same ranks, channel axis, empty
    /// and non-finite checks, and in training mode more than one value per
    /// channel (with one, the output would be `β` whatever the input).
    fn forward<'t, E: ModelElement>(
        &self,
        x: Var<'t, E>,
        ctx: &mut Forward<'t, '_, F, E>,
    ) -> Result<Var<'t, E>> {
        let op = "MeanOnlyBatchNorm::forward";
        let layout = channel_layout(op, x.shape(), self.channels)?;
        let stats = if self.training {
            if layout.group_len() < 2 {
                return Err(Error::out_of_domain(
                    op,
                    "the values per channel in training mode",
                    "more than one (with one, the output is the shift whatever the input)",
                    format_args!("input {}", x.shape()),
                ));
            }
            let stats = finite_moments(op, x, layout, true)?;
            if is_real::<E>() {
                stats.with_value(|s| {
                    self.running
                        .update(s, layout.group_len(), self.momentum, true)
                });
            }
            stats
        } else {
            self.running.constant(ctx)?
        };
        let beta = ctx.param(&self.bias)?;
        let coeffs = stats.norm_coeffs(None, Some(beta), E::one(), true)?;
        let y = x.group_affine(coeffs, layout)?;
        ctx.record_layer("mean_only_batch_norm", x, y);
        Ok(y)
    }

    fn visit(&self, v: &mut Visitor<'_, F>) -> Result<()> {
        v.param("bias", &self.bias)
    }

    fn visit_mut(&mut self, v: &mut VisitorMut<'_, F>) -> Result<()> {
        v.param("bias", &mut self.bias)
    }

    fn set_training(&mut self, training: bool) {
        self.training = training;
    }
}

/// Layer normalisation (Ba, Kiros & Hinton 2016) over the trailing
/// dimensions `shape`: each example's `D = Π shape` values are normalised
/// by their own mean and biased variance,
/// `y = γ ⊙ (x − μ)/√(σ² + ε) + β`, with `γ`, `β` of `shape` (if affine).
/// The same in training and evaluation mode; no running statistics.
///
/// ```
/// use gradsign::nn::{self, LayerNorm};
/// use gradsign::{Tape, Tensor};
/// let ln = LayerNorm::<f64>::new(&[2])?;
/// let tape = Tape::new();
/// let x = tape.constant(&Tensor::from_vec(vec![1.0, 3.0, -5.0, 5.0], &[2, 2])?);
/// let y = nn::forward(&ln, &tape, x)?.0.value();
/// assert!(y.as_slice().iter().zip([-1.0, 1.0, -1.0, 1.0]).all(|(a, b)| (a - b).abs() < 1e-5));
/// # Ok::<(), gradsign::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct LayerNorm<F: Element> {
    /// The gain `γ` (of the normalised shape), if affine.
    pub weight: Option<Tensor<F>>,
    /// The shift `β` (of the normalised shape), if affine.
    pub bias: Option<Tensor<F>>,
    shape: Vec<usize>,
    eps: F,
}

impl<F: Element> LayerNorm<F> {
    /// An affine layer over the trailing dimensions `shape` (`γ = 1`,
    /// `β = 0`, `ε = 1e-5`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an empty `shape` or one with a zero
    /// dimension, or one too large to allocate.
    pub fn new(shape: &[usize]) -> Result<Self> {
        let op = "LayerNorm::new";
        if shape.is_empty() || shape.contains(&0) {
            return Err(Error::out_of_domain(
                op,
                "the normalised shape",
                "non-empty with no zero dimension",
                format_args!("{shape:?}"),
            ));
        }
        Ok(LayerNorm {
            weight: Some(Tensor::ones(shape)?),
            bias: Some(Tensor::zeros(shape)?),
            shape: shape.to_vec(),
            eps: check_eps(op, DEFAULT_EPS)?,
        })
    }

    /// The layer without `γ` and `β`.
    #[must_use]
    pub fn without_affine(mut self) -> Self {
        self.weight = None;
        self.bias = None;
        self
    }

    /// The layer with another `ε`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `eps` is not finite and positive in `F`.
    pub fn with_eps(mut self, eps: f64) -> Result<Self> {
        self.eps = check_eps("LayerNorm::with_eps", eps)?;
        Ok(self)
    }

    /// The normalised (trailing) shape.
    pub fn normalized_shape(&self) -> &[usize] {
        &self.shape
    }

    /// `ε`.
    pub fn eps(&self) -> F {
        self.eps
    }
}

impl<F: Element> Module<F> for LayerNorm<F> {
    /// Normalises each example over the trailing dimensions, reported as
    /// `"layer_norm"`.
    ///
    /// # Errors
    /// [`Error::RankMismatch`] if the input does not have at least one
    /// dimension before the normalised ones; [`Error::ShapeMismatch`] if
    /// its trailing dimensions differ from the normalised shape;
    /// [`Error::Empty`] for an empty batch; [`Error::InvalidArgument`] for
    /// an `ε` that is 0 in the tape's type; [`Error::NonFinite`] if an
    /// example's mean or variance is not finite.
    fn forward<'t, E: ModelElement>(
        &self,
        x: Var<'t, E>,
        ctx: &mut Forward<'t, '_, F, E>,
    ) -> Result<Var<'t, E>> {
        let op = "LayerNorm::forward";
        let s = x.shape();
        let dims = s.dims();
        let k = self.shape.len();
        if dims.len() <= k {
            return Err(Error::RankMismatch {
                op,
                expected: "at least one batch dimension before the normalised shape",
                shape: s,
            });
        }
        if dims[dims.len() - k..] != self.shape[..] {
            return Err(Error::ShapeMismatch {
                op,
                lhs: s,
                rhs: Shape::new(&self.shape)?,
                reason: "the input's trailing dimensions must equal the normalised shape",
            });
        }
        if s.numel() == 0 {
            return Err(Error::Empty { op, shape: s });
        }
        let eps: E = check_eps(op, self.eps.to_f64())?;
        let d: usize = self.shape.iter().product();
        let layout = GroupLayout {
            outer: 1,
            groups: s.numel() / d,
            inner: d,
        };
        let stats = finite_moments(op, x, layout, false)?;
        let coeffs = stats.norm_coeffs(None, None, eps, false)?;
        let mut y = x.group_affine(coeffs, layout)?;
        if let Some(w) = &self.weight {
            let gamma = ctx.param(w)?;
            let beta = self.bias.as_ref().map(|b| ctx.param(b)).transpose()?;
            y = y.feature_affine(gamma, beta)?;
        } else if let Some(b) = &self.bias {
            let beta = ctx.param(b)?;
            y = y.try_add(beta)?;
        }
        ctx.record_layer("layer_norm", x, y);
        Ok(y)
    }

    fn visit(&self, v: &mut Visitor<'_, F>) -> Result<()> {
        if let Some(w) = &self.weight {
            v.param("weight", w)?;
        }
        match &self.bias {
            Some(b) => v.param("bias", b),
            None => Ok(()),
        }
    }

    fn visit_mut(&mut self, v: &mut VisitorMut<'_, F>) -> Result<()> {
        if let Some(w) = &mut self.weight {
            v.param("weight", w)?;
        }
        match &mut self.bias {
            Some(b) => v.param("bias", b),
            None => Ok(()),
        }
    }
}

/// Re-validates a deserialised layer's settings (used by the JSON loader).
#[cfg(feature = "serde")]
pub(crate) mod restore {
    use super::*;

    /// A BatchNorm from saved parts, every value checked in `F`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn batch_norm<F: Element>(
        op: &'static str,
        channels: usize,
        eps: f64,
        momentum: f64,
        weight: Option<Vec<F>>,
        bias: Option<Vec<F>>,
        running_mean: &[F],
        running_var: &[F],
        training: bool,
    ) -> Result<BatchNorm<F>> {
        let mut bn = BatchNorm::new(channels)?;
        bn.eps = check_eps(op, eps)?;
        bn.momentum = check_momentum(op, momentum)?;
        bn.weight = weight
            .map(|w| vec_tensor(op, "weight", w, channels))
            .transpose()?;
        bn.bias = bias
            .map(|b| vec_tensor(op, "bias", b, channels))
            .transpose()?;
        check_running(op, channels, running_mean, Some(running_var))?;
        {
            let mut r = bn.running.lock();
            r.mean.copy_from_slice(running_mean);
            r.var.copy_from_slice(running_var);
        }
        bn.training = training;
        Ok(bn)
    }

    /// A mean-only BatchNorm from saved parts.
    pub(crate) fn mean_only<F: Element>(
        op: &'static str,
        channels: usize,
        momentum: f64,
        bias: Vec<F>,
        running_mean: &[F],
        training: bool,
    ) -> Result<MeanOnlyBatchNorm<F>> {
        let mut m = MeanOnlyBatchNorm::new(channels)?;
        m.momentum = check_momentum(op, momentum)?;
        m.bias = vec_tensor(op, "bias", bias, channels)?;
        check_running(op, channels, running_mean, None)?;
        m.running.lock().mean.copy_from_slice(running_mean);
        m.training = training;
        Ok(m)
    }

    /// A LayerNorm from saved parts.
    pub(crate) fn layer_norm<F: Element>(
        op: &'static str,
        shape: &[usize],
        eps: f64,
        weight: Option<Vec<F>>,
        bias: Option<Vec<F>>,
    ) -> Result<LayerNorm<F>> {
        let mut ln = LayerNorm::new(shape)?;
        ln.eps = check_eps(op, eps)?;
        let d: usize = shape.iter().product();
        let shaped = |name, v: Vec<F>| -> Result<Tensor<F>> {
            if v.len() != d {
                return Err(Error::incompatible(
                    op,
                    format!("the {name} has {} values for shape {shape:?}", v.len()),
                ));
            }
            Tensor::from_vec(v, shape)
        };
        ln.weight = weight.map(|w| shaped("weight", w)).transpose()?;
        ln.bias = bias.map(|b| shaped("bias", b)).transpose()?;
        Ok(ln)
    }

    fn vec_tensor<F: Element>(
        op: &'static str,
        name: &str,
        v: Vec<F>,
        channels: usize,
    ) -> Result<Tensor<F>> {
        if v.len() != channels {
            return Err(Error::incompatible(
                op,
                format!("the {name} has {} values for {channels} channels", v.len()),
            ));
        }
        Tensor::from_vec(v, &[channels])
    }
}
