//! The orthant of one update row: which sign pattern it has.

/// The sign class of a vector (one neuron's update row), with zeros as their
/// own state: an update that leaves a weight unchanged is neither positive nor
/// negative there.
///
/// ```
/// use gradsign::dynamics::Orthant;
/// assert_eq!(Orthant::of(&[0.5, 2.0]), Orthant::Positive);
/// assert_eq!(Orthant::of(&[0.0, -2.0]), Orthant::WeaklyNegative);
/// assert_eq!(Orthant::of(&[-0.0, 0.0]), Orthant::Zero);
/// assert_eq!(Orthant::of(&[1.0, -1.0]), Orthant::Mixed);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Orthant {
    /// Every component `> 0`: the all-positive orthant.
    Positive,
    /// Every component `< 0`: the all-negative orthant.
    Negative,
    /// Every component `≥ 0`, some `= 0`, some `> 0`.
    WeaklyPositive,
    /// Every component `≤ 0`, some `= 0`, some `< 0`.
    WeaklyNegative,
    /// Every component is 0 (±0).
    Zero,
    /// Both signs occur.
    Mixed,
}

impl Orthant {
    /// The class of `row` (finite values; a NaN compares as neither sign and
    /// so counts as a zero here, which is why callers reject NaN first).
    pub fn of(row: &[f64]) -> Orthant {
        let (mut pos, mut neg, mut zero) = (false, false, false);
        for &x in row {
            if x > 0.0 {
                pos = true;
            } else if x < 0.0 {
                neg = true;
            } else {
                zero = true;
            }
        }
        Orthant::from_signs(pos, neg, zero)
    }

    /// The class from which signs occur among the components.
    pub(crate) fn from_signs(pos: bool, neg: bool, zero: bool) -> Orthant {
        match (pos, neg, zero) {
            (true, true, _) => Orthant::Mixed,
            (true, false, false) => Orthant::Positive,
            (true, false, true) => Orthant::WeaklyPositive,
            (false, true, false) => Orthant::Negative,
            (false, true, true) => Orthant::WeaklyNegative,
            (false, false, _) => Orthant::Zero,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// How many updates of one neuron fell in each [`Orthant`] class, and how
/// often consecutive updates lay in the same or in exactly opposite orthants.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct OrthantCounts {
    counts: [usize; 6],
    /// Consecutive updates with the same strict sign pattern (no zeros).
    pub same_as_previous: usize,
    /// Consecutive updates with exactly opposite strict sign patterns (no
    /// zeros): the zig-zag of one-signed inputs, all-positive then
    /// all-negative, is the extreme case.
    pub opposite_to_previous: usize,
}

impl OrthantCounts {
    pub(crate) fn add(&mut self, o: Orthant) {
        self.counts[o.index()] += 1;
    }

    /// The number of updates in class `o`.
    pub fn count(&self, o: Orthant) -> usize {
        self.counts[o.index()]
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
            (self.count(Orthant::Positive) + self.count(Orthant::Negative)) as f64 / total as f64
        })
    }
}
