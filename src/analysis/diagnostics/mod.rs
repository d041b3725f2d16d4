//! One file per diagnostic: its report type and its part of the
//! computation.

pub(crate) mod coherence;
pub(crate) mod curvature;
pub(crate) mod delta_balance;
pub(crate) mod input_path;
pub(crate) mod inputs;
pub(crate) mod orthants;
pub(crate) mod saturation;

/// `part / whole`, 0 for an empty whole.
pub(crate) fn share(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}
