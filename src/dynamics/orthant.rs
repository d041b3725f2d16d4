//! Orthant occupancy of one neuron's updates: how many fell in each sign
//! class ([`SignCategory`], the vocabulary of the analyzer too) and how often
//! consecutive updates shared or reversed their orthant.

use crate::analysis::SignCategory;

/// How many updates of one neuron fell in each [`SignCategory`], and how
/// often consecutive updates lay in the same or in exactly opposite orthants.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct OrthantCounts {
    counts: [usize; 7],
    /// Consecutive updates with the same strict sign pattern (no zeros).
    pub same_as_previous: usize,
    /// Consecutive updates with exactly opposite strict sign patterns (no
    /// zeros): the zig-zag of one-signed inputs, all-positive then
    /// all-negative, is the extreme case.
    pub opposite_to_previous: usize,
}

impl OrthantCounts {
    pub(crate) fn add(&mut self, c: SignCategory) {
        self.counts[c as usize] += 1;
    }

    /// The number of updates in category `c` (never
    /// [`NonFinite`](SignCategory::NonFinite): the recorder refuses
    /// non-finite updates).
    pub fn count(&self, c: SignCategory) -> usize {
        self.counts[c as usize]
    }

    /// The number of updates classified.
    pub fn total(&self) -> usize {
        self.counts.iter().sum()
    }

    /// The share of updates in the all-positive or all-negative orthant
    /// (`None` before any update): 1 for a neuron whose inputs are all
    /// positive, under plain SGD on one example per step.
    pub fn one_signed_share(&self) -> Option<f64> {
        let total = self.total();
        (total > 0).then(|| {
            (self.count(SignCategory::Positive) + self.count(SignCategory::Negative)) as f64
                / total as f64
        })
    }
}
