//! A small neural-network toolkit: dense layers, multi-layer perceptrons,
//! initialisers and the per-layer trace the sign analysis reads.
//!
//! Parameters are plain [`Tensor`](crate::Tensor)s owned by the layers;
//! each forward pass copies them onto the tape as leaves, and the returned
//! [`Trace`] names the tape variables (inputs `A_l`, pre-activations `Z_l`,
//! weights, biases) whose gradients an optimiser or the analyzer reads.

mod init;
mod linear;
mod mlp;
mod param;
#[cfg(feature = "serde")]
mod serde_json_io;
mod trace;

pub use init::Init;
pub use linear::Linear;
pub use mlp::{Layer, Mlp, ParamsWithGrads};
pub use param::{Param, ParamKind, ParamName};
pub use trace::{LayerTrace, Trace};
