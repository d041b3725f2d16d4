//! The model abstraction and a small neural-network toolkit: the
//! [`Module`] trait every tool accepts, the [`Sequential`] container, dense
//! layers, the [`Mlp`] builder, initialisers and the per-layer [`Trace`]
//! the sign analysis reads.
//!
//! Parameters are plain [`Tensor`](crate::Tensor)s owned by the layers;
//! each forward pass copies them onto the tape as leaves, and the returned
//! [`Trace`] names the tape variables (inputs `A_l`, pre-activations `Z_l`,
//! weights, biases, every parameter) whose gradients an optimiser or the
//! analyzer reads. Parameters have hierarchical names (`0.weight`,
//! `encoder.1.bias`) from [`Module::visit`].

mod conv;
mod init;
mod linear;
mod mlp;
mod module;
mod norm;
mod norm_weight;
mod param;
mod sequential;
#[cfg(feature = "serde")]
mod serde_json_io;
mod trace;

pub use conv::{AvgPool2d, Conv2d, Flatten, MaxPool2d, Reshape};
pub use init::Init;
pub use linear::Linear;
pub use mlp::Mlp;
#[doc(hidden)]
pub use module::DynModule;
pub use module::{
    Forward, ModelElement, Module, Segment, Visitor, VisitorMut, forward, named_gradients,
    named_parameters, num_parameters, predict,
};
pub use norm::{BatchNorm, DEFAULT_EPS, DEFAULT_MOMENTUM, LayerNorm, MeanOnlyBatchNorm};
pub use norm_weight::{WeightNormConv2d, WeightNormLinear};
pub use param::Param;
pub use sequential::Sequential;
#[cfg(feature = "serde")]
pub(crate) use serde_json_io::{check_header, convert, finite_values, parse};
#[cfg(feature = "serde")]
pub use serde_json_io::{load_parameters, save_parameters};
pub use trace::{ConvWindow, LayerKind, LayerPath, LayerRecord, LayerTrace, Trace};
