//! Numeric kernels on slices. The only module allowed `unsafe`: it wraps the
//! tuned matrix-multiply crate behind bounds-checked safe functions.

pub mod matmul;
pub mod vmath;
