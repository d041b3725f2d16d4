//! Reading and writing tensors in the formats other frameworks write
//! (feature `io`): NumPy `.npy` ([`read_npy`], [`write_npy`], with the
//! `npyz` crate) and safetensors ([`SafetensorsFile`], [`write_safetensors`],
//! with the `safetensors` crate, read through a memory map), into
//! `Tensor<f32>` or `Tensor<f64>`; and the loader of captured layers
//! ([`Capture`]) that feeds [`GradientSignAnalyzer::analyze_layer`](crate::analysis::GradientSignAnalyzer::analyze_layer).
//!
//! # The capture convention
//!
//! A captured dense layer is a set of tensors named after the layer:
//!
//! | tensor | shape | what |
//! | --- | --- | --- |
//! | `<name>.input` | B×K | `A`, the layer's input for one batch |
//! | `<name>.delta` | B×J | `Δ = ∂L/∂Z`, the gradient of the loss with respect to the layer's pre-activation output `Z = A·Wᵀ + b` |
//! | `<name>.weight` (optional) | J×K | the weight, PyTorch's `(out_features, in_features)` |
//! | `<name>.weight_grad` (optional) | J×K | the framework's own weight gradient, `Δᵀ·A` |
//! | `<name>.bias_grad` (optional) | J | the framework's own bias gradient, `Σ_n Δ_n` |
//!
//! They may live in one safetensors file (what `python/gradsign_hooks.py`
//! writes, with the layer order under [`LAYERS_KEY`] in its metadata), in
//! several, or in `.npy` files named `<name>.<suffix>.npy`. [`Capture::load`]
//! pairs them and refuses, naming the layer: a missing input or delta,
//! batches that differ, a weight that is not J×K (which catches swapped
//! input and delta when J ≠ K), a tensor named twice, a name outside the
//! convention, a NaN or ±∞.
//!
//! # Element types
//!
//! Files may hold F32 or F64 (`<f4`/`<f8`, either byte order for `.npy`),
//! read into either `Tensor<f32>` or `Tensor<f64>`; an F64 value beyond
//! f32's range read as `f32` is an error, not ±∞. F16 and BF16 (and every
//! integer type) are refused with an error that says to save `.float()`.
//!
//! # Hostile files
//!
//! Nothing is allocated from a header before it is checked against the
//! file's size: a safetensors header is validated by the `safetensors` crate
//! (length ≤ 100 MB and within the file, valid JSON, every byte range in
//! bounds, contiguous, non-overlapping and of the size its shape and dtype
//! need, computed with overflow checks), and a duplicate tensor name is
//! refused; a `.npy` header's declared length and shape are checked (the
//! element count must not overflow and must fit in the bytes after the
//! header) before `npyz` reads it. Every failure is an `Err` naming the file
//! and, where there is one, the tensor.
//!
//! # Memory maps
//!
//! Files are mapped read-only (`memmap2`) and the tensors copied out, so a
//! 100 MB capture costs one pass over its pages. A map is only sound if the
//! file is not truncated or rewritten while it is mapped: do not load a
//! capture while another process is still writing it. (The one `unsafe`
//! block of the crate's I/O is that map, in `src/io/file.rs`.)

mod capture;
mod file;
mod npy;
mod safetensors;

pub use capture::{Capture, CapturedLayer, LAYERS_KEY, SUFFIXES};
pub use npy::{npy_from_bytes, read_npy, write_npy};
pub use safetensors::{SafetensorsFile, write_safetensors};
