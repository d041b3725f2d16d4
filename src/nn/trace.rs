//! What a forward pass records: every dense layer's input and
//! pre-activation for the analyzer, every layer's kind and place, and the
//! parameters' tape variables.

use smallvec::SmallVec;

use crate::activation::Activation;
use crate::autodiff::Var;
use crate::element::Element;

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
/// example. For a dense layer a row is an example (`positions = 1`).
#[derive(Clone, Copy, Debug)]
pub struct LayerTrace<'t, F: Element> {
    /// The layer's input `A` (batch × in).
    pub input: Var<'t, F>,
    /// The pre-activation `Z = A·Wᵀ + b` (batch × out).
    pub pre_activation: Var<'t, F>,
    /// The output `f(Z)` (batch × out); equal to `pre_activation` for the
    /// identity.
    pub output: Var<'t, F>,
    /// The weight `W` (out × in): row `j` is neuron `j`. A convolution's
    /// is its `(O, C, kh, kw)` filter parameter, laid out as `(O, C·kh·kw)`.
    pub weight: Var<'t, F>,
    /// The bias (out), if the layer has one.
    pub bias: Option<Var<'t, F>>,
    /// The layer's activation.
    pub activation: Activation,
    /// Rows of `input` and `pre_activation` per example: 1 for a dense
    /// layer, the output positions `OH·OW` for a convolution.
    pub positions: usize,
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
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) if the
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
