//! The studies behind `gradsign`'s numbered examples, and the benchmark
//! workloads' data: a workspace member that is not published, so that the
//! library's public API is the engine, the toolkit and the instruments.
//!
//! The stories the numbered examples tell, as functions that return typed
//! results.
//!
//! Each submodule is the computation behind one example in `examples/`;
//! the example binary only calls it, prints a table and draws a plot, and
//! `studies/tests/experiments.rs` runs each one at a small size and checks the
//! numbers the maths fixes. Everything is seeded: the same configuration
//! gives the same result, bit for bit.
//!
//! | module | example | story |
//! | --- | --- | --- |
//! | [`foreign`] | `08_foreign_gradients` | a layer's `A` and `Δ` read from `.npy` files: the framework-agnostic path |
//! | [`sigmoid_vs_tanh`] | `04_sigmoid_vs_tanh` | the playground's data sets: sigmoid, tanh, ReLU and their twins, the causes taken apart |

pub mod bench_data;
pub mod foreign;
pub mod sigmoid_vs_tanh;
pub mod splitmix;

pub use splitmix::SplitMix64;
