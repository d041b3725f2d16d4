//! The studies behind `gradsign`'s numbered examples, and the benchmark
//! workloads' data: a workspace member that is not published, so that the
//! library's public API is the engine, the toolkit and the instruments.
//!
//! The numbered examples compute their stories inline, from the library's
//! API; what stays here is example 04's job grid (seven hidden units, four
//! data sets, five seeds, learning-rate and label-coding sweeps, run on a
//! small thread pool), which is longer than an example should be, with its
//! tests in `studies/tests/experiments.rs`. Everything is seeded: the same
//! configuration gives the same result, bit for bit.
//!
//! | module | example | story |
//! | --- | --- | --- |
//! | [`sigmoid_vs_tanh`] | `04_sigmoid_vs_tanh` | the playground's data sets: sigmoid, tanh, ReLU and their twins, the causes taken apart |

pub mod bench_data;
pub mod sigmoid_vs_tanh;
pub mod splitmix;

pub use splitmix::SplitMix64;
