//! Training dynamics: the zig-zag, measured step by step.
//!
//! With one-signed inputs every per-example update of a neuron lies in the
//! all-positive or the all-negative orthant, and with a large mean input the
//! error along the top eigenvector of `E[a aᵀ]` is multiplied by
//! `1 − ηλmax` each step, which is negative (a sign flip every step) when
//! `η > 1/λmax`. [`TrajectoryRecorder`] measures both, cheaply enough to run
//! every step: cosines between consecutive updates, path efficiency, δ sign
//! flips, orthant counts, and the component along a tracked direction.

mod deltas;
mod direction;
mod orthant;
mod recorder;
mod report;
mod row;
mod state;

pub use orthant::OrthantCounts;
pub use recorder::TrajectoryRecorder;
pub use report::{DirectionTrajectory, NeuronTrajectory, Tracked, TrajectoryReport};

pub(crate) use recorder::{DeltaValues, LayerValues};
pub(crate) use state::Feed;

/// `n` copies of `value` in a fresh vector, or an error naming `op`, `what`
/// the buffer holds and its size when that many cannot be allocated (more
/// bytes than `isize::MAX`, or the allocator refuses): a size read from the
/// caller's input is bad input, never a reason to abort the process.
pub(crate) fn try_filled<T: Clone>(
    op: &'static str,
    what: &str,
    n: usize,
    value: T,
) -> crate::error::Result<Vec<T>> {
    let mut v = Vec::new();
    try_grow(op, what, &mut v, n)?;
    v.resize(n, value);
    Ok(v)
}

/// Makes room for `n` more elements in `v`, or an error as [`try_filled`].
pub(crate) fn try_grow<T>(
    op: &'static str,
    what: &str,
    v: &mut Vec<T>,
    n: usize,
) -> crate::error::Result<()> {
    v.try_reserve_exact(n)
        .map_err(|e| crate::error::Error::TooLarge {
            op,
            what: format!(
                "{what} ({n} elements of {} bytes)",
                std::mem::size_of::<T>()
            ),
            reason: e.to_string(),
        })
}
