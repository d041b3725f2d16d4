//! Data: seeded generators, embedded real data sets, CSV loading, splits and
//! centring transforms.

pub mod bench_data;
mod splitmix;

pub use splitmix::SplitMix64;
