//! A small neural-network toolkit: dense layers, multi-layer perceptrons and
//! the per-layer trace the sign analysis reads.

mod trace;

pub use trace::{LayerTrace, Trace};
