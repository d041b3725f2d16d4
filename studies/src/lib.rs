//! The benchmark workloads' data and the SplitMix64 initialisation they
//! share with their peers: a workspace member that is not published, so
//! that the library's public API is the engine, the toolkit and the
//! instruments. (The numbered examples compute their stories inline from
//! that API, with their support code in `examples/common/`.)

pub mod bench_data;
pub mod splitmix;
pub mod trainer;

pub use splitmix::SplitMix64;
