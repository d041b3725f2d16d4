//! What a forward pass records: every dense layer's input and
//! pre-activation for the analyzer, every layer's kind and place, and the
//! parameters' tape variables.

use smallvec::SmallVec;

use std::borrow::Cow;

use crate::activation::Activation;
use crate::autodiff::{Gradients, Var};
use crate::element::Element;
use crate::error::{Error, Result};
use crate::ops::conv::{Window, patch_rows};
use crate::shape::Shape;

/// What one dense layer recorded on the tape during a forward pass: its
/// input `A` (rows × in), its pre-activation `Z = A·Wᵀ + b` (rows × out),
/// its output `f(Z)`, and its parameters as tape variables.
///
/// After `backward`, `Δ = ∂L/∂Z` is `grads.get(layer.pre_activation)` and the
/// weight gradient is `grads.get(layer.weight)`; nothing needs re-running.
///
/// A convolution is a dense layer applied at every output position: its
/// `A` is the patch matrix (one row per example and position, see
/// [`Var::unfold2d`]), its `Z` the product with the flattened filters, and
/// [`positions`](Self::positions) says how many consecutive rows make one
/// example. Its tape variables are the NCHW input and output of the one
/// [`conv2d`](Var::conv2d) op, which keeps no patch matrix:
/// [`with_inputs`](Self::with_inputs) builds `A` and
/// [`deltas`](Self::deltas) lays `Δ` out as rows, for a dense layer and a
/// convolution alike.
///
/// ```
/// use gradsign::{nn::{self, Conv2d, Init}, Tape, Tensor};
/// let conv = Conv2d::<f64>::init(1, 2, (2, 2), Init::HeNormal, true, 1)?;
/// let tape = Tape::new();
/// let x = tape.constant(&Tensor::rand_uniform(&[3, 1, 4, 4], 0.0, 1.0, 2)?);
/// let (y, trace) = nn::forward(&conv, &tape, x)?;
/// let grads = y.sum().backward()?;
/// let layer = &trace.layers()[0];
/// // 3 examples × 9 positions, 1 channel × 2 × 2 taps, 2 filters.
/// let (a, z) = layer.dense_shapes()?;
/// assert_eq!((a.dims(), z.dims()), (&[27, 4][..], &[27, 2][..]));
/// assert_eq!(layer.with_inputs(|a| a.len())?, 27 * 4);
/// assert_eq!(layer.deltas(&grads)?.len(), 27 * 2);
/// # Ok::<(), gradsign::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct LayerTrace<'t, F: Element> {
    /// The layer's input: `A` (batch × in) for a dense layer, the NCHW
    /// input for a convolution.
    pub input: Var<'t, F>,
    /// The pre-activation: `Z = A·Wᵀ + b` (batch × out) for a dense layer,
    /// the NCHW output for a convolution.
    pub pre_activation: Var<'t, F>,
    /// The output `f(Z)`; equal to `pre_activation` for the identity.
    pub output: Var<'t, F>,
    /// The weight `W` (out × in): row `j` is neuron `j`. A convolution's
    /// is its `(O, C, kh, kw)` filter parameter, laid out as `(O, C·kh·kw)`.
    pub weight: Var<'t, F>,
    /// The bias (out), if the layer has one.
    pub bias: Option<Var<'t, F>>,
    /// The layer's activation.
    pub activation: Activation,
    /// Rows of `A` and `Z` per example: 1 for a dense layer, the output
    /// positions `OH·OW` for a convolution.
    pub positions: usize,
    /// A convolution's kernel and window; `None` for a dense layer.
    pub conv: Option<ConvWindow>,
}

/// The kernel and window of a convolution's [`LayerTrace`], which say how
/// its NCHW input becomes the patch matrix `A`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvWindow {
    /// `(kh, kw)`.
    pub kernel: (usize, usize),
    /// Stride, padding and dilation.
    pub window: Window,
}

impl<F: Element> LayerTrace<'_, F> {
    /// The shapes of `A` (rows × in) and `Z` (rows × out), rows being
    /// examples × [`positions`](Self::positions).
    ///
    /// # Errors
    /// [`Error::RankMismatch`] for a convolution whose input or output is
    /// not NCHW, or a weight that is not `(O, C, kh, kw)`.
    pub fn dense_shapes(&self) -> Result<(Shape, Shape)> {
        let Some(cw) = self.conv else {
            return Ok((self.input.shape(), self.pre_activation.shape()));
        };
        let (xs, ys) = (self.input.shape(), self.pre_activation.shape());
        let (&[_, c, _, _], &[n, o, oh, ow]) = (xs.dims(), ys.dims()) else {
            return Err(Error::RankMismatch {
                op: "LayerTrace::dense_shapes",
                expected: "4 (batch, channels, height, width)",
                shape: if xs.rank() == 4 { ys } else { xs },
            });
        };
        let rows = n * oh * ow;
        let a = Shape::new(&[rows, c * cw.kernel.0 * cw.kernel.1])?;
        Ok((a, Shape::new(&[rows, o])?))
    }

    /// Calls `f` with `A`: the input's value for a dense layer, the patch
    /// matrix built from the NCHW input for a convolution (see
    /// [`Var::unfold2d`]).
    ///
    /// # Errors
    /// As [`dense_shapes`](Self::dense_shapes); [`Error::TooLarge`] if the
    /// patch matrix cannot be allocated.
    pub fn with_inputs<R>(&self, f: impl FnOnce(&[F]) -> R) -> Result<R> {
        match self.patches()? {
            Some(p) => Ok(f(&p)),
            None => Ok(self.input.with_value(f)),
        }
    }

    /// A convolution's patch matrix; `None` for a dense layer (whose `A`
    /// is its input's value).
    pub(crate) fn patches(&self) -> Result<Option<Vec<F>>> {
        let Some(cw) = self.conv else {
            return Ok(None);
        };
        self.input
            .with_value(|x| patch_rows(x, self.input.shape(), cw.kernel, &cw.window))
            .map(Some)
    }

    /// `Δ = ∂L/∂Z` as rows (rows × out): the pre-activation's gradient for
    /// a dense layer, borrowed; a convolution's NCHW output gradient laid
    /// out one row per example and position.
    ///
    /// # Errors
    /// As [`Gradients::get`]; as [`dense_shapes`](Self::dense_shapes);
    /// [`Error::TooLarge`] if the rows cannot be allocated.
    pub fn deltas<'g>(&self, grads: &'g Gradients<F>) -> Result<Cow<'g, [F]>> {
        let g = grads.get(self.pre_activation)?;
        if self.conv.is_none() {
            return Ok(Cow::Borrowed(g));
        }
        let (_, z) = self.dense_shapes()?;
        let (rows, o) = (z.dims()[0], z.dims()[1]);
        let p = self.positions.max(1);
        let mut out = Vec::new();
        crate::dynamics::try_grow("LayerTrace::deltas", "the rows of δ", &mut out, rows * o)?;
        for example in g.chunks_exact((o * p).max(1)) {
            for pos in 0..p {
                out.extend((0..o).map(|c| example[c * p + pos]));
            }
        }
        Ok(Cow::Owned(out))
    }
}

/// What kind of layer a [`LayerRecord`] is.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum LayerKind {
    /// A dense layer `Z = A·Wᵀ + b`; its [`LayerTrace`] is in
    /// [`Trace::layers`].
    Dense,
    /// A 2-D convolution; its [`LayerTrace`] (patches and the dense
    /// product) is in [`Trace::layers`].
    Conv2d,
    /// An element-wise activation.
    Activation(Activation),
    /// Any other layer, by the name it reports itself with
    /// ([`Forward::record_layer`](super::Forward::record_layer)).
    Other(&'static str),
}

/// Where in a model a layer sits: the path of container positions and
/// child names leading to it (`2`, `encoder.1`); empty for a model that is
/// a single layer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LayerPath(pub(crate) SmallVec<[super::Segment; 4]>);

impl std::fmt::Display for LayerPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{s}")?;
        }
        Ok(())
    }
}

/// One layer of a forward pass, whatever its kind: its place in the model,
/// its input and its output.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct LayerRecord<'t, F: Element> {
    /// What the layer is.
    pub kind: LayerKind,
    /// Where it sits in the model (its parameters are named `<path>.weight`…).
    pub path: LayerPath,
    /// The layer's input.
    pub input: Var<'t, F>,
    /// The layer's output (for a dense layer, its pre-activation `Z`).
    pub output: Var<'t, F>,
}

/// The record of one forward pass of a [`Module`](super::Module): every
/// dense layer's [`LayerTrace`], first layer first, every layer's
/// [`LayerRecord`] in order, and the tape variable of every parameter the
/// pass used.
///
/// Stored inline for up to 8 dense layers and 16 parameters, so a forward
/// pass allocates nothing.
#[derive(Clone, Debug, Default)]
pub struct Trace<'t, F: Element> {
    layers: SmallVec<[LayerTrace<'t, F>; 8]>,
    /// Every layer that reported itself, in order.
    pub(crate) records: SmallVec<[LayerRecord<'t, F>; 16]>,
    /// `(address of the parameter tensor, its variable)`, in the order the
    /// forward pass put them on the tape.
    pub(crate) params: SmallVec<[(usize, Var<'t, F>); 16]>,
}

impl<'t, F: Element> Trace<'t, F> {
    /// An empty trace.
    pub fn new() -> Self {
        Trace {
            layers: SmallVec::new(),
            records: SmallVec::new(),
            params: SmallVec::new(),
        }
    }

    /// Appends a layer's record.
    pub fn push(&mut self, layer: LayerTrace<'t, F>) {
        self.layers.push(layer);
    }

    /// The layers, first to last.
    pub fn layers(&self) -> &[LayerTrace<'t, F>] {
        &self.layers
    }

    /// The number of layers.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// Whether no layer was recorded.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// Every layer that reported itself during the forward pass (dense
    /// layers, activations, and any layer that called
    /// [`Forward::record_layer`](super::Forward::record_layer)), in order.
    pub fn records(&self) -> &[LayerRecord<'t, F>] {
        &self.records
    }

    /// The last dense layer's record, mutably.
    pub(crate) fn last_mut(&mut self) -> Option<&mut LayerTrace<'t, F>> {
        self.layers.last_mut()
    }

    /// The number of parameters the forward pass put on the tape.
    pub fn num_params(&self) -> usize {
        self.params.len()
    }

    /// The tape variable of the parameter `value` (the `index`-th one a
    /// model visits, named `name`): found at `index` when the forward pass
    /// used the parameters in visiting order, searched for otherwise.
    ///
    /// # Errors
    /// [`Error::Incompatible`](crate::Error::Incompatible) if the
    /// forward pass did not put `value` on the tape (a trace of another
    /// model, or a parameter used as a constant).
    pub fn param_var<T>(&self, index: usize, value: &T, name: &str) -> crate::Result<Var<'t, F>> {
        let addr = std::ptr::from_ref(value) as usize;
        if let Some(&(a, v)) = self.params.get(index)
            && a == addr
        {
            return Ok(v);
        }
        self.params
            .iter()
            .find(|&&(a, _)| a == addr)
            .map(|&(_, v)| v)
            .ok_or_else(|| crate::Error::Incompatible {
                op: "Trace::param_var",
                what: format!(
                    "parameter {name} was not on the traced tape (a trace of another model, \
                     or a parameter used without Forward::param)"
                ),
            })
    }

    /// The network's output (the last layer's output), if any layer ran.
    pub fn output(&self) -> Option<Var<'t, F>> {
        self.layers.last().map(|l| l.output)
    }
}
