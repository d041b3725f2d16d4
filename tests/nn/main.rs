//! The network toolkit: layers (dense, convolution, pooling, normalisation),
//! training, optimisers, data sets, input and output, and the allocation
//! and memory figures of a warm training step.
//!
//! One test binary per area, one module per topic: every test binary links
//! the whole crate, so a few binaries keep a build small on disk and quick
//! to link.

#[path = "../support/counting_alloc.rs"]
mod counting_alloc;

mod alloc_free_step;
mod conv_ops;
mod conv_serde;
mod custom_layer;
mod data_bad_input;
mod hostile_data;
mod hostile_data_tensor;
mod io_bad_input;
mod io_cli;
mod io_pytorch_fixture;
mod io_roundtrip;
mod memory_flat;
mod nn_bad_input;
mod nn_iris;
mod nn_optim;
mod nn_serde;
mod nn_trace;
mod nn_train;
mod norm_alloc_free;
mod norm_bad_input;
mod norm_layers;
mod norm_properties;
mod norm_serde;
mod norm_torch;
mod norm_train;
mod norm_weight_conv;
mod observe;
mod resume;
mod train_observer;
