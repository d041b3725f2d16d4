//! The direction a recorder follows (normally the top eigenvector of
//! `E[ã ãᵀ]`) and the per-neuron series of components along it.

use super::report::{DirectionTrajectory, Tracked};

/// The tracked direction and the component of each neuron's error or update
/// along it.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Direction {
    pub(super) unit: Vec<f64>,
    /// `W*` rows (with the bias appended) in error mode.
    pub(super) target: Option<Vec<f64>>,
    pub(super) component: Vec<f64>,
    previous: Vec<f64>,
    ratio: Vec<Option<f64>>,
    flips: Vec<usize>,
    layer_ratio: Option<f64>,
    /// Values recorded in the current series (since the direction was set).
    recorded: usize,
    /// Values recorded over all series.
    total: usize,
}

impl Direction {
    pub(super) fn new(
        op: &'static str,
        neurons: usize,
        unit: Vec<f64>,
        target: Option<Vec<f64>>,
    ) -> crate::error::Result<Self> {
        let what = "the components along the direction";
        Ok(Direction {
            unit,
            target,
            component: super::try_filled(op, what, neurons, 0.0)?,
            previous: super::try_filled(op, what, neurons, 0.0)?,
            ratio: super::try_filled(op, what, neurons, None)?,
            flips: super::try_filled(op, what, neurons, 0)?,
            layer_ratio: None,
            recorded: 0,
            total: 0,
        })
    }

    /// Follows a new direction from the next value on: no ratio or flip is
    /// computed across the change (the components measure different things).
    pub(super) fn replace_unit(&mut self, unit: &[f64]) {
        self.unit.copy_from_slice(unit);
        self.recorded = 0;
        self.ratio.iter_mut().for_each(|r| *r = None);
        self.layer_ratio = None;
    }

    /// Folds the freshly written `component` into ratios and flips.
    pub(super) fn advance(&mut self) {
        if self.recorded > 0 {
            let (mut now, mut before) = (0.0, 0.0);
            for j in 0..self.component.len() {
                let (c, p) = (self.component[j], self.previous[j]);
                self.ratio[j] = (p != 0.0).then(|| c / p);
                self.flips[j] += usize::from((c > 0.0 && p < 0.0) || (c < 0.0 && p > 0.0));
                now += c * c;
                before += p * p;
            }
            self.layer_ratio = (before > 0.0).then(|| (now / before).sqrt());
        }
        self.previous.copy_from_slice(&self.component);
        self.recorded += 1;
        self.total += 1;
    }

    pub(super) fn has_value(&self) -> bool {
        self.total > 0
    }

    pub(super) fn ratio(&self, j: usize) -> Option<f64> {
        self.ratio.get(j).copied().flatten()
    }

    pub(super) fn flips(&self, j: usize) -> usize {
        self.flips.get(j).copied().unwrap_or(0)
    }

    pub(super) fn report(&self) -> DirectionTrajectory {
        DirectionTrajectory {
            tracked: if self.target.is_some() {
                Tracked::Error
            } else {
                Tracked::Update
            },
            steps: self.total,
            components: self.component.clone(),
            last_ratios: self.ratio.clone(),
            sign_flips: self.flips.clone(),
            layer_ratio: self.layer_ratio,
        }
    }
}
