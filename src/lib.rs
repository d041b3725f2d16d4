//! # gradsign
//!
//! Reverse-mode automatic differentiation over dense tensors, and the tools
//! that make one classic claim about neural-network training measurable:
//! that one-signed inputs (sigmoid outputs, raw pixels, lengths) confine
//! each per-example weight update of a neuron to two orthants, so that
//! gradient descent zig-zags.
//!
//! # Overview
//!
//! The engine is a [`Tape`]: an append-only list of recorded operations
//! whose order is a topological order, so the backward sweep is one loop
//! from the last node to the first. A [`Var`] is a `Copy` handle borrowing
//! its tape; [`Var::backward`] returns [`Gradients`], looked up by variable.
//! On top sit the pieces of a small neural-network toolkit ([`nn`],
//! [`optim`], [`loss`], [`activation`], [`data`], [`train`]) around one
//! model abstraction, [`nn::Module`]: a forward pass written once for
//! `f32`, `f64` and dual numbers, and named parameters. Every tool takes a
//! module — training, the optimisers, and the instruments: [`analysis`] (sign coherence of weight gradients),
//! [`curvature`] (the spectra behind it, Hessian-vector products, natural
//! gradient) and [`dynamics`] (the zig-zag measured step by step).
//!
//! # A first example
//!
//! One neuron `z = w·x` with positive inputs and the loss `(z − 1)²`:
//!
//! ```
//! use gradsign::{Tape, Tensor};
//! let tape = Tape::<f64>::new();
//! let x = tape.constant(&Tensor::from_vec(vec![0.2, 0.7, 0.9], &[1, 3])?);
//! let w = tape.var(&Tensor::from_vec(vec![0.5, -1.0, 0.3], &[1, 3])?);
//! let z = x.linear(w, None)?;
//! let loss = (z - 1.0).square().sum();
//! let grads = loss.backward()?;
//! // ∂L/∂w = δ·x with δ = 2(z − 1) < 0: every component is negative.
//! assert!(grads.get(w)?.iter().all(|&g| g < 0.0));
//! # Ok::<(), gradsign::Error>(())
//! ```
//!
//! The same question for a whole layer of a network, after one backward
//! pass, goes to the [`analysis::GradientSignAnalyzer`]:
//!
//! ```
//! use gradsign::{activation::Activation, analysis::GradientSignAnalyzer, nn::{self, Mlp}, Tape, Tensor};
//! let mlp = Mlp::builder(&[3, 8, 1]).hidden(Activation::Sigmoid).seed(1).build::<f64>()?;
//! let tape = Tape::new();
//! let x = tape.constant(&Tensor::rand_uniform(&[32, 3], 0.0, 1.0, 2)?); // positive data
//! let (out, trace) = nn::forward(&mlp, &tape, x)?;
//! let grads = out.square().sum().backward()?;
//! let report = GradientSignAnalyzer::default().analyze(&trace, &grads)?;
//! // Positive data into layer 0, sigmoid outputs into layer 1: every
//! // example's gradient row of every neuron is one-signed.
//! assert!(report.layers.iter().all(|l| l.per_example_coherence() == 1.0));
//! # Ok::<(), gradsign::Error>(())
//! ```
//!
//! # The claim and its caveats
//!
//! For a dense layer with inputs `A` (rows `a_n`) and deltas `Δ = ∂L/∂Z`,
//! neuron `j`'s weight gradient on example `n` is `Δ_nj·a_n`. If `a_n > 0`,
//! each entry has the sign of `Δ_nj`: a plain SGD step on that example moves
//! the neuron within the all-positive or the all-negative orthant. What an
//! honest account adds, and what the crate measures:
//!
//! - `δ` is not positive "because `σ' > 0`": it is `σ'(z)·Σ_k W_kj δ_k`, and
//!   takes both signs across examples and neurons.
//! - Coherence belongs to one neuron's row on one example. The whole
//!   layer's gradient matrix is essentially never one-signed.
//! - Summing over a batch mixes signs but does not remove the effect: for
//!   `U(0, 1)^K` inputs the share of one-signed batch rows levels off at
//!   0.77 (K = 2), 0.40 (K = 10), 0.19 (K = 64).
//! - The mechanism that survives batching is curvature: `E[aaᵀ] = Cov(a) +
//!   μμᵀ` has one large eigenvalue along the mean (`κ = 3n + 1` for
//!   `U(0, 1)ⁿ`), and above `η = 1/λmax` the error along it flips sign
//!   every step.
//! - ReLU inputs have exact zeros: rows are then weakly coherent. Momentum,
//!   weight decay and Adam step outside the two orthants; the exact
//!   statement is for plain SGD.
//! - Saturation is a separate, usually larger effect of the sigmoid. In the
//!   playground, tanh's advantage over sigmoid comes mostly from its
//!   steeper slope, not from being centred (example `04_sigmoid_vs_tanh`).
//!
//! # A tour of the modules
//!
//! | module | contents |
//! | --- | --- |
//! | [`autodiff`] ([`Tape`], [`Var`], [`Gradients`]) | recording, the backward sweep, gradient lookup |
//! | [`tensor`], [`shape`], [`element`] | dense row-major tensors, broadcasting, the float trait |
//! | [`ops`] | element-wise ops ([`ops::UnaryOp`], [`ops::BinaryOp`]), matrix products, reductions, reshapes |
//! | [`activation`] | every common activation with its analytic facts |
//! | [`loss`] | stable fused losses |
//! | [`nn`], [`optim`], [`train`] | the [`nn::Module`] trait, [`nn::Sequential`], `Linear`, the `Mlp` builder, the per-layer [`nn::Trace`]; SGD, Adam, AdamW with state keyed by parameter name; a training loop over any module |
//! | [`data`], [`metrics`] | playground generators, iris and wine, CSV, centring; accuracy |
//! | [`gradcheck`] | finite-difference checks with kink recognition |
//! | `io` (feature `io`) | `.npy` and safetensors readers and writers; captured layers from PyTorch |
//! | [`determinism`], [`threads`] | what "same seed, same bits" covers; the one rule for thread counts |
//! | [`analysis`] | the sign analyzer and its diagnosis |
//! | [`curvature`], [`dual`] | exact Hessian-vector products, Hessian, Gauss–Newton and Fisher of any module ([`curvature::Objective`]), input spectra, natural gradient |
//! | [`dynamics`] | per-step trajectory measures |
//! | [`stats`] | the gradient statistics of the literature (per-example norms and Gram, α and m-coherence, `B_simple`, GSNR, the GradSign score, AND-mask, stiffness) from a dense layer's `A` and `Δ`, without per-example gradients |
//! | `testing` (feature `proptest`) | strategies and properties for downstream tests |
//!
//! # Errors
//!
//! Every named method whose validity depends on its input returns a
//! [`Result`] with the crate's one [`Error`]; the arithmetic operators
//! (`+ - * /`, unary `-`) panic with the message their `try_` twin would
//! return. The variants are typed by what was refused, so a caller can
//! match on them: [`Error::ShapeMismatch`] and its relatives for shapes,
//! [`Error::OutOfDomain`] for a parameter outside an op's domain (naming
//! `param`, its `domain` and the `value`), [`Error::Incompatible`] for
//! things that must agree, [`Error::TooLarge`] for sizes that overflow or
//! cannot be allocated, [`Error::NoGradient`], [`Error::OutOfOrder`],
//! [`Error::Format`] for files, [`Error::NonFinite`]. Each function's
//! `# Errors` section names the variants it returns.
//!
//! # Features
//!
//! - `proptest`: the `testing` module of strategies and ready properties.
//! - `serde`: JSON for reports and model parameters.
//! - `progress`: a progress bar in [`train::train`] on a terminal.
//!
//! No feature is on by default. The examples' plots use `plotters` as a
//! dev-dependency only.
//!
//! # Performance notes
//!
//! What a step costs, measured on a 2-vCPU AMD EPYC (Zen 4) on the
//! workloads of the repository's `docs/BENCHMARKS.md` (medians, one thread,
//! default allocator; `cargo run --release --example workloads` prints
//! them; `docs/PERFORMANCE.md` has the sittings and the profiles):
//!
//! | workload | gradsign | other frameworks, same sitting |
//! | --- | --- | --- |
//! | scalar chain, per op (f64) | 46 ns | micrograd 7 µs, PyTorch 22 µs |
//! | MLP 2-8-8-1, per step (f32) | 3.3 µs | JAX (jit) 32 µs |
//! | MLP 784-256-128-10, batch 128, per step | 1.52 ms | JAX (jit) 1.41 ms |
//! | per-sample gradients of that MLP, per batch | 8.3 ms | BackPACK 53 ms |
//! | a full sign report on top of a step | 1.46 × a step | — |
//!
//! - **Small graphs are bound by bookkeeping.** Recording a node costs a
//!   few hundred instructions: values live in one buffer owned by the
//!   tape, shapes are inline, a backward rule is a function pointer and is
//!   stored only when an input needs a gradient, and backward is one loop.
//!   Nothing is allocated per node once a tape is warm; reuse it with
//!   [`Tape::clear`].
//! - **MLP batches are bound by the matrix kernel.** Products go to the
//!   `gemm` crate in accumulate mode with strided transposes, so a
//!   product's backward copies nothing; products below 4,096
//!   multiply-adds run on register blocks instead (the kernel's packing
//!   would cost more than the arithmetic). About 80 % of a W3 step
//!   is in the kernel; the rest is copying the parameters onto the tape,
//!   the update and zero-fills.
//! - **Threads.** One thread by default; [`Tape::set_threads`] lets
//!   products of at least 128·128·64 multiply-adds use more. Small graphs
//!   never use a second thread: the hand-off costs more than it saves.
//! - **The analyzer never builds the `B × J × K` tensor** of per-example
//!   gradients: per-example sign coherence follows from the sign extremes
//!   of `A` and `Δ` in `O(B·(J + K))`, which is why a full report costs
//!   less than half a step.
//!
//! # Writing your own op
//!
//! An element-wise function is one [`ops::UnaryOp`] implementation: its
//! value beside its derivative, and the derivative may read the output
//! (cheaper for `exp`, `tanh`, `sigmoid`):
//!
//! ```
//! use gradsign::{ops::UnaryOp, Tape};
//! /// softsign(x) = x / (1 + |x|); d/dx = 1 / (1 + |x|)².
//! struct MySoftsign;
//! impl UnaryOp<f64> for MySoftsign {
//!     const NAME: &'static str = "my_softsign";
//!     type State = (); // nothing to save (a slope would be `f64`)
//!     fn f(x: f64, _: ()) -> f64 { x / (1.0 + x.abs()) }
//!     fn df(x: f64, _y: f64, _: ()) -> f64 { (1.0 + x.abs()).powi(-2) }
//! }
//! let tape = Tape::<f64>::new();
//! let x = tape.var_scalar(1.0);
//! let y = x.unary::<MySoftsign>(());
//! assert_eq!(y.item()?, 0.5);
//! assert_eq!(y.backward()?.get(x)?, &[0.25]);
//! # Ok::<(), gradsign::Error>(())
//! ```
//!
//! Anything else is recorded with [`Tape::record`]: the output shape, the
//! state the backward rule needs (`()`, a scalar, or a small `Copy` type of
//! the op's own implementing [`autodiff::Saved`], read back with
//! [`BackwardCtx::saved`]), a forward closure that fills the (zeroed)
//! output, and a plain `fn` backward rule that **adds** each input's
//! vector-Jacobian product into its slot ([`BackwardCtx::grad_input`] is
//! `None` for an input that needs no gradient):
//!
//! ```
//! use gradsign::{BackwardCtx, Tape, Tensor};
//! /// y = Σᵢ xᵢ³ (a scalar); ∂y/∂xᵢ = 3xᵢ².
//! fn sum_of_cubes_backward(ctx: &mut BackwardCtx<'_, f64>) {
//!     let g = ctx.grad_out()[0];
//!     let x = ctx.input(0);
//!     if let Some(gx) = ctx.grad_input(0) {
//!         for (gi, &xi) in gx.iter_mut().zip(x) {
//!             *gi += 3.0 * xi * xi * g;
//!         }
//!     }
//! }
//! let tape = Tape::<f64>::new();
//! let x = tape.var(&Tensor::from_vec(vec![1.0, 2.0], &[2])?);
//! let y = tape.record(
//!     "sum_of_cubes",
//!     &[x],
//!     gradsign::Shape::scalar(),
//!     (),
//!     sum_of_cubes_backward,
//!     |out, inp| out[0] = inp.value(0).iter().map(|v| v * v * v).sum(),
//! )?;
//! assert_eq!(y.item()?, 9.0);
//! assert_eq!(y.backward()?.get(x)?, &[3.0, 12.0]);
//! # Ok::<(), gradsign::Error>(())
//! ```
//!
//! Check a new op with [`gradcheck::gradcheck`] in `f64`, through a
//! non-trivial function of its output so the upstream gradient is not all
//! ones.
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
#[cfg(feature = "io")]
pub mod io;
pub(crate) mod kernels;
pub mod loss;
pub mod metrics;
pub mod nn;
pub mod ops;
pub mod optim;
pub mod shape;
pub mod stats;
pub mod tensor;
#[cfg(feature = "proptest")]
pub mod testing;
pub mod threads;
pub mod train;

pub use autodiff::{BackwardCtx, BackwardFn, ForwardInputs, Gradients, Tape, Var};
pub use element::Element;
pub use error::{Error, Result};
pub use shape::Shape;
pub use tensor::Tensor;

/// The README's code blocks, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
