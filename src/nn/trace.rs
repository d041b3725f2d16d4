//! What a forward pass records per dense layer, for the analyzer.

use smallvec::SmallVec;

use crate::activation::Activation;
use crate::autodiff::Var;
use crate::element::Element;

/// What one dense layer recorded on the tape during a forward pass: its
/// input `A` (batch × in), its pre-activation `Z = A·Wᵀ + b` (batch × out),
/// its output `f(Z)`, and its parameters as tape variables.
///
/// After `backward`, `Δ = ∂L/∂Z` is `grads.get(layer.pre_activation)` and the
/// weight gradient is `grads.get(layer.weight)`; nothing needs re-running.
#[derive(Clone, Copy, Debug)]
pub struct LayerTrace<'t, F: Element> {
    /// The layer's input `A` (batch × in).
    pub input: Var<'t, F>,
    /// The pre-activation `Z = A·Wᵀ + b` (batch × out).
    pub pre_activation: Var<'t, F>,
    /// The output `f(Z)` (batch × out); equal to `pre_activation` for the
    /// identity.
    pub output: Var<'t, F>,
    /// The weight `W` (out × in): row `j` is neuron `j`.
    pub weight: Var<'t, F>,
    /// The bias (out), if the layer has one.
    pub bias: Option<Var<'t, F>>,
    /// The layer's activation.
    pub activation: Activation,
}

/// The per-layer record of one forward pass, first layer first.
///
/// Stored inline for up to 8 layers, so a forward pass allocates nothing.
#[derive(Clone, Debug, Default)]
pub struct Trace<'t, F: Element> {
    layers: SmallVec<[LayerTrace<'t, F>; 8]>,
}

impl<'t, F: Element> Trace<'t, F> {
    /// An empty trace.
    pub fn new() -> Self {
        Trace {
            layers: SmallVec::new(),
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

    /// The network's output (the last layer's output), if any layer ran.
    pub fn output(&self) -> Option<Var<'t, F>> {
        self.layers.last().map(|l| l.output)
    }
}
