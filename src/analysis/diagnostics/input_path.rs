//! What reaches a layer: its input's source and the normalisation steps
//! between the previous dense layer and it, read from the trace.

use crate::activation::Activation;
use crate::element::Element;

/// Where a layer's inputs come from, to explain (never to decide) a verdict.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum InputSource {
    /// The network's input: the data.
    Data,
    /// The output of the layer below, with its activation.
    Activation(Activation),
    /// Raw matrices given to `analyze_layer`: unknown.
    Unknown,
}

/// One layer a dense layer's inputs passed through on their way from the
/// dense layer below (or from the data).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum InputStep {
    /// An element-wise activation.
    Activation(Activation),
    /// Any other layer, by the kind it reports itself with
    /// (`"batch_norm"`, `"layer_norm"`, `"mean_only_batch_norm"`…).
    Layer(&'static str),
}

/// What reached a dense layer: the layers between the dense layer below
/// (or the data) and this one, in order, read from
/// [`Trace::records`](crate::nn::Trace::records). Empty for inputs fed
/// straight from the data or the layer below, and for raw matrices.
///
/// A normalisation is any layer whose kind ends in `norm`; it *centres*
/// the layer's inputs when no activation (other than the identity) comes
/// after it: BatchNorm after a sigmoid centres the next layer's inputs,
/// BatchNorm before it only centres the sigmoid's pre-activation.
#[derive(Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct InputPath {
    /// The steps, first applied first.
    pub steps: Vec<InputStep>,
}

impl InputPath {
    fn is_norm(s: &InputStep) -> bool {
        matches!(s, InputStep::Layer(k) if k.ends_with("norm"))
    }

    fn activation(s: &InputStep) -> Option<Activation> {
        match *s {
            InputStep::Activation(a) if a != Activation::Identity => Some(a),
            _ => None,
        }
    }

    /// The last normalisation on the path, if any.
    pub fn normalisation(&self) -> Option<&'static str> {
        self.steps.iter().rev().find_map(|s| match s {
            InputStep::Layer(k) if k.ends_with("norm") => Some(*k),
            _ => None,
        })
    }

    /// The last activation on the path (the identity not counted).
    pub fn last_activation(&self) -> Option<Activation> {
        self.steps.iter().rev().find_map(Self::activation)
    }

    /// Whether a normalisation comes after the last activation: the inputs
    /// arrive normalised (centred) by it.
    pub fn centred(&self) -> bool {
        let last_norm = self.steps.iter().rposition(Self::is_norm);
        let last_act = self
            .steps
            .iter()
            .rposition(|s| Self::activation(s).is_some());
        match (last_norm, last_act) {
            (Some(n), Some(a)) => n > a,
            (Some(_), None) => true,
            _ => false,
        }
    }

    /// The normalisation in words: `"batch_norm after sigmoid"`,
    /// `"batch_norm before sigmoid"`, `"layer_norm"`; `None` without one.
    pub fn describe(&self) -> Option<String> {
        let n = self.steps.iter().rposition(Self::is_norm)?;
        let InputStep::Layer(kind) = self.steps[n] else {
            return None;
        };
        if let Some(a) = self.steps[n + 1..].iter().find_map(Self::activation) {
            return Some(format!("{kind} before {a}"));
        }
        Some(
            match self.steps[..n].iter().rev().find_map(Self::activation) {
                Some(a) => format!("{kind} after {a}"),
                None => kind.to_string(),
            },
        )
    }
}

/// The layers between dense layer `l`'s input and the dense layer below it
/// (or the data), from the trace's records: walking back from the input,
/// each record whose output is the value sought is a step, and its input
/// the next value sought, until a dense layer's output (or the start).
pub(crate) fn input_path<F: Element>(trace: &crate::nn::Trace<'_, F>, l: usize) -> InputPath {
    use crate::nn::LayerKind;
    let Some(lt) = trace.layers().get(l) else {
        return InputPath::default();
    };
    let records = trace.records();
    // Dense and convolution records are written with their traces, in the
    // same order; a convolution's record starts from its NCHW input (its
    // trace's input is the patch matrix made from it).
    let traced = |k: LayerKind| matches!(k, LayerKind::Dense | LayerKind::Conv2d);
    let Some(at) = records
        .iter()
        .enumerate()
        .filter(|(_, r)| traced(r.kind))
        .nth(l)
        .map(|(i, _)| i)
        .filter(|&i| {
            records[i].kind == LayerKind::Conv2d || records[i].input.id() == lt.input.id()
        })
    else {
        return InputPath::default();
    };
    let mut target = records[at].input.id();
    let mut steps = Vec::new();
    for r in records[..at].iter().rev() {
        if r.output.id() != target {
            continue;
        }
        match r.kind {
            LayerKind::Dense | LayerKind::Conv2d => break,
            LayerKind::Activation(a) => steps.push(InputStep::Activation(a)),
            LayerKind::Other(k) => steps.push(InputStep::Layer(k)),
        }
        target = r.input.id();
    }
    steps.reverse();
    InputPath { steps }
}
