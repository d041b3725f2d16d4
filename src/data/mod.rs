//! Data: seeded generators, embedded real data sets, CSV loading, splits and
//! centring transforms.
//!
//! - [`Playground`]: the TensorFlow playground's circle, xor, gauss and
//!   spiral sets, seeded, labels `0/1` or `±1`;
//! - [`iris`], [`wine`] and [`digits`] (8 × 8 images): small real sets
//!   embedded in the crate;
//! - [`Table`]: numeric CSV with errors naming the line and column;
//! - [`Dataset`]: features, labels, targets, and a seeded train/test split;
//! - [`Standardizer`] and [`Centering`]: fitted on training data, applied to
//!   anything.

mod csv;
mod dataset;
mod embedded;
mod playground;
mod standardize;

pub use csv::Table;
pub use dataset::Dataset;
pub use embedded::{digits, iris, wine};
pub use playground::{LabelEncoding, Playground, PlaygroundConfig};
pub use standardize::{Centering, Standardizer};
pub(crate) use standardize::{ScaledColumn, scaled_means};
