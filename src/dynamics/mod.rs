//! Training dynamics: the zig-zag, measured step by step.
//!
//! With one-signed inputs every per-example update of a neuron lies in the
//! all-positive or the all-negative orthant, and with a large mean input the
//! error along the top eigenvector of `E[a aᵀ]` is multiplied by
//! `1 − ηλmax` each step, which is negative (a sign flip every step) when
//! `η > 1/λmax`. [`TrajectoryRecorder`] measures both, cheaply enough to run
//! every step: cosines between consecutive updates, path efficiency, δ sign
//! flips, orthant counts, and the component along a tracked direction.

mod orthant;
mod recorder;
mod report;
mod row;

pub use orthant::{Orthant, OrthantCounts};
pub use recorder::TrajectoryRecorder;
pub use report::{DirectionTrajectory, NeuronTrajectory, Tracked, TrajectoryReport};
