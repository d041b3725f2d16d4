//! # gradsign
//!
//! Reverse-mode automatic differentiation over dense tensors, and the tools
//! that make one classic claim about neural-network training measurable.
#![deny(missing_docs)]
#![deny(unsafe_code)]
#![warn(rust_2018_idioms)]

pub mod activation;
pub mod analysis;
pub mod autodiff;
pub mod curvature;
pub mod data;
pub mod determinism;
pub mod dual;
pub mod dynamics;
pub mod element;
pub mod error;
pub mod gradcheck;
pub mod kernels;
pub mod loss;
pub mod metrics;
pub mod nn;
pub mod ops;
pub mod optim;
pub mod shape;
pub mod tensor;
#[cfg(feature = "proptest")]
pub mod testing;
pub mod train;

pub use autodiff::{BackwardCtx, BackwardFn, ForwardInputs, Gradients, Params, Tape, Var};
pub use element::Element;
pub use error::{Error, Result};
pub use shape::Shape;
pub use tensor::Tensor;

/// The README's code blocks, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
