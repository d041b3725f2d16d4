//! δ's sign balance per neuron: how often it is positive, negative or zero.

use crate::analysis::diagnostics::share;

/// The signs `δ = ∂L/∂z` took for one neuron (or a whole layer) over the
/// batch. It shows that `δ` takes both signs: it is not "always positive
/// because `σ′ > 0`" — `σ′` only scales `Σ_k W_kj δ_k`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct DeltaBalance {
    /// `δ > tol`.
    pub positive: usize,
    /// `δ < −tol`.
    pub negative: usize,
    /// `|δ| ≤ tol`.
    pub zero: usize,
    /// NaN or infinite `δ`.
    pub non_finite: usize,
}

impl DeltaBalance {
    /// The share of finite `δ` that are positive (0 if none is finite).
    pub fn positive_share(&self) -> f64 {
        share(self.positive, self.positive + self.negative + self.zero)
    }

    /// Adds another balance into this one.
    pub fn merge(&mut self, o: &DeltaBalance) {
        self.positive += o.positive;
        self.negative += o.negative;
        self.zero += o.zero;
        self.non_finite += o.non_finite;
    }
}
