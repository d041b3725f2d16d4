//! Signs of numbers and sign categories of gradient rows.
//!
//! A value is classified against a tolerance `tol ≥ 0`: positive if
//! `x > tol`, negative if `x < −tol`, zero otherwise, and non-finite if it is
//! NaN or ±∞. With the default `tol = 0`, both `+0.0` and `−0.0` are zero.
//! Nothing here uses `signum`, which maps `+0.0` to `1.0` and so would call
//! a dead unit's all-zero row "positive".

use std::fmt;

use crate::element::Element;

/// The sign of one value against a tolerance.
///
/// ```
/// use gradsign::analysis::Sign;
/// assert_eq!(Sign::of(0.0_f64, 0.0), Sign::Zero);
/// assert_eq!(Sign::of(-0.0_f64, 0.0), Sign::Zero);
/// assert_eq!(Sign::of(1e-9_f64, 1e-6), Sign::Zero);
/// assert_eq!(Sign::of(-2.0_f64, 0.0), Sign::Negative);
/// assert_eq!(Sign::of(f64::NAN, 0.0), Sign::NonFinite);
/// assert_eq!(Sign::of(f64::INFINITY, 0.0), Sign::NonFinite);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum Sign {
    /// `x > tol`.
    Positive,
    /// `x < −tol`.
    Negative,
    /// `|x| ≤ tol` (including `±0.0`).
    Zero,
    /// NaN or ±∞.
    NonFinite,
}

impl Sign {
    /// Classifies `x` against `tol` (a tolerance `≥ 0`).
    #[inline]
    pub fn of<F: Element>(x: F, tol: F) -> Sign {
        if !x.is_finite() {
            Sign::NonFinite
        } else if x > tol {
            Sign::Positive
        } else if x < -tol {
            Sign::Negative
        } else {
            Sign::Zero
        }
    }
}

/// The sign category of one gradient row (a neuron's weights, on one example
/// or summed over a batch).
///
/// ```
/// use gradsign::analysis::SignCategory;
/// let cat = |row: &[f64]| SignCategory::of_row(row, 0.0);
/// assert_eq!(cat(&[0.5, 2.0]), SignCategory::Positive);
/// assert_eq!(cat(&[0.5, 0.0]), SignCategory::WeaklyPositive);
/// assert_eq!(cat(&[-0.0, 0.0]), SignCategory::Zero);
/// assert_eq!(cat(&[0.5, -2.0]), SignCategory::Mixed);
/// assert_eq!(cat(&[0.5, f64::NAN]), SignCategory::NonFinite);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum SignCategory {
    /// Every entry positive.
    Positive,
    /// Every entry negative.
    Negative,
    /// Every non-zero entry positive, some entries zero (ReLU inputs).
    WeaklyPositive,
    /// Every non-zero entry negative, some entries zero.
    WeaklyNegative,
    /// Every entry zero (a dead unit, `δ = 0`): neither positive nor negative.
    Zero,
    /// Entries of both signs.
    Mixed,
    /// Some entry is NaN or ±∞; no sign is claimed.
    NonFinite,
}

impl SignCategory {
    /// Every category, in the order reports list them.
    pub const ALL: [SignCategory; 7] = [
        SignCategory::Positive,
        SignCategory::Negative,
        SignCategory::WeaklyPositive,
        SignCategory::WeaklyNegative,
        SignCategory::Zero,
        SignCategory::Mixed,
        SignCategory::NonFinite,
    ];

    /// The category of a row, each entry classified by [`Sign::of`] against
    /// `tol`.
    ///
    /// An empty row has no entry of either sign and is [`Zero`](Self::Zero).
    pub fn of_row<F: Element>(row: &[F], tol: F) -> SignCategory {
        SignCategory::from_code(row_presence(row, tol))
    }

    /// Whether all non-zero entries share one sign and at least one entry is
    /// non-zero: positive, negative, weakly positive or weakly negative.
    ///
    /// ```
    /// use gradsign::analysis::SignCategory;
    /// assert!(SignCategory::WeaklyNegative.is_coherent());
    /// assert!(!SignCategory::Zero.is_coherent());
    /// assert!(!SignCategory::Mixed.is_coherent());
    /// ```
    pub fn is_coherent(self) -> bool {
        matches!(
            self,
            SignCategory::Positive
                | SignCategory::Negative
                | SignCategory::WeaklyPositive
                | SignCategory::WeaklyNegative
        )
    }

    /// Whether every entry is non-zero and of one sign.
    pub fn is_strictly_coherent(self) -> bool {
        matches!(self, SignCategory::Positive | SignCategory::Negative)
    }

    /// The common sign of the non-zero entries of a coherent row
    /// ([`Sign::Positive`] or [`Sign::Negative`]); [`Sign::Zero`] for a zero
    /// row, [`Sign::NonFinite`] for a non-finite one, `None` for a mixed row.
    pub fn sign(self) -> Option<Sign> {
        match self {
            SignCategory::Positive | SignCategory::WeaklyPositive => Some(Sign::Positive),
            SignCategory::Negative | SignCategory::WeaklyNegative => Some(Sign::Negative),
            SignCategory::Zero => Some(Sign::Zero),
            SignCategory::NonFinite => Some(Sign::NonFinite),
            SignCategory::Mixed => None,
        }
    }

    /// The category's short name, as tables print it.
    pub fn name(self) -> &'static str {
        match self {
            SignCategory::Positive => "positive",
            SignCategory::Negative => "negative",
            SignCategory::WeaklyPositive => "weakly positive",
            SignCategory::WeaklyNegative => "weakly negative",
            SignCategory::Zero => "zero",
            SignCategory::Mixed => "mixed",
            SignCategory::NonFinite => "non-finite",
        }
    }

    /// The category's position in [`ALL`](Self::ALL).
    #[inline]
    pub fn index(self) -> usize {
        self as usize
    }

    /// The category of a row from its presence code (see [`presence`]):
    /// non-finite entries take precedence, then both signs make it mixed.
    #[inline]
    /// The category from which signs occur among a row's (finite) entries.
    pub(crate) fn from_signs(pos: bool, neg: bool, zero: bool) -> SignCategory {
        let code = if pos { POSITIVE } else { 0 }
            | if neg { NEGATIVE } else { 0 }
            | if zero { ZERO } else { 0 };
        SignCategory::from_code(code)
    }

    pub(crate) fn from_code(code: u8) -> SignCategory {
        SignCategory::ALL[category_index(code)]
    }
}

/// Presence bits: which kinds of entries a row contains.
pub(crate) const POSITIVE: u8 = 1;
/// See [`POSITIVE`].
pub(crate) const NEGATIVE: u8 = 2;
/// See [`POSITIVE`].
pub(crate) const ZERO: u8 = 4;
/// See [`POSITIVE`].
pub(crate) const NON_FINITE: u8 = 8;

/// The presence code of a row from what it contains.
#[inline]
pub(crate) fn code(positive: bool, negative: bool, zero: bool, non_finite: bool) -> u8 {
    u8::from(positive)
        | (u8::from(negative) << 1)
        | (u8::from(zero) << 2)
        | (u8::from(non_finite) << 3)
}

/// The index in [`SignCategory::ALL`] of each 4-bit presence code: a table
/// instead of branches, since signs in gradients are close to random and
/// branches on them mispredict half the time.
const CATEGORY_OF_CODE: [u8; 16] = [
    4, // nothing (an empty row) → zero
    0, // positive
    1, // negative
    5, // positive + negative → mixed
    4, // zero
    2, // positive + zero → weakly positive
    3, // negative + zero → weakly negative
    5, // mixed
    6, 6, 6, 6, 6, 6, 6, 6, // any non-finite entry
];

/// The category index of a presence code.
#[inline]
pub(crate) fn category_index(code: u8) -> usize {
    CATEGORY_OF_CODE[(code & 15) as usize] as usize
}

/// The presence code of one value against `tol`, without branches: ±∞ sets
/// a sign bit and [`NON_FINITE`], NaN only [`NON_FINITE`].
#[inline]
pub(crate) fn presence<F: Element>(x: F, tol: F) -> u8 {
    let a = x.abs();
    u8::from(x > tol)
        | (u8::from(x < -tol) << 1)
        | (u8::from(a <= tol) << 2)
        | (u8::from(!x.is_finite()) << 3)
}

/// The presence code of a row: the union of its entries' codes.
#[inline]
pub(crate) fn row_presence<F: Element>(row: &[F], tol: F) -> u8 {
    row.iter().fold(0u8, |c, &x| c | presence(x, tol))
}

impl fmt::Display for SignCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// How many entries of a row have each [`Sign`].
///
/// ```
/// use gradsign::analysis::{Sign, SignCategory, SignCounts};
/// let mut c = SignCounts::default();
/// for x in [1.0_f64, 0.0, 3.0] {
///     c.add(Sign::of(x, 0.0));
/// }
/// assert_eq!((c.positive, c.zero), (2, 1));
/// assert_eq!(c.category(), SignCategory::WeaklyPositive);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct SignCounts {
    /// Positive entries.
    pub positive: usize,
    /// Negative entries.
    pub negative: usize,
    /// Zero entries.
    pub zero: usize,
    /// NaN or infinite entries.
    pub non_finite: usize,
}

impl SignCounts {
    /// Counts one entry.
    #[inline]
    pub fn add(&mut self, s: Sign) {
        match s {
            Sign::Positive => self.positive += 1,
            Sign::Negative => self.negative += 1,
            Sign::Zero => self.zero += 1,
            Sign::NonFinite => self.non_finite += 1,
        }
    }

    /// The row's category.
    pub fn category(&self) -> SignCategory {
        SignCategory::from_code(code(
            self.positive > 0,
            self.negative > 0,
            self.zero > 0,
            self.non_finite > 0,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_zero_is_zero_not_negative() {
        assert_eq!(Sign::of(-0.0_f32, 0.0), Sign::Zero);
        assert_eq!(
            SignCategory::of_row(&[-0.0_f64, -0.0], 0.0),
            SignCategory::Zero
        );
    }

    #[test]
    fn positive_zero_row_is_zero_not_positive() {
        // signum(+0.0) = 1.0 would wrongly call this row positive.
        assert_eq!(SignCategory::of_row(&[0.0_f64; 5], 0.0), SignCategory::Zero);
    }

    #[test]
    fn tolerance_turns_small_entries_into_zeros() {
        let row = [1e-9_f64, 2.0, -1e-9];
        assert_eq!(SignCategory::of_row(&row, 0.0), SignCategory::Mixed);
        assert_eq!(
            SignCategory::of_row(&row, 1e-6),
            SignCategory::WeaklyPositive
        );
    }

    #[test]
    fn tolerance_boundary_counts_as_zero() {
        // |x| ≤ tol is zero; only x > tol is positive.
        assert_eq!(Sign::of(0.5_f64, 0.5), Sign::Zero);
        assert_eq!(Sign::of(-0.5_f64, 0.5), Sign::Zero);
    }

    #[test]
    fn non_finite_wins_over_mixed() {
        let row = [1.0_f64, -1.0, f64::NEG_INFINITY];
        assert_eq!(SignCategory::of_row(&row, 0.0), SignCategory::NonFinite);
    }

    #[test]
    fn branch_free_row_category_matches_counting_signs() {
        let values = [
            0.0,
            -0.0,
            1.0,
            -1.0,
            1e-9,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        for &a in &values {
            for &b in &values {
                for tol in [0.0, 1e-6] {
                    let mut c = SignCounts::default();
                    c.add(Sign::of(a, tol));
                    c.add(Sign::of(b, tol));
                    assert_eq!(
                        SignCategory::of_row(&[a, b], tol),
                        c.category(),
                        "{a} {b} {tol}"
                    );
                }
            }
        }
    }

    #[test]
    fn index_is_the_position_in_all() {
        for (i, c) in SignCategory::ALL.iter().enumerate() {
            assert_eq!(c.index(), i);
        }
    }

    #[test]
    fn empty_row_is_zero() {
        assert_eq!(SignCategory::of_row::<f64>(&[], 0.0), SignCategory::Zero);
    }

    #[test]
    fn negative_rows_are_negative_or_weakly_negative() {
        assert_eq!(
            SignCategory::of_row(&[-1.0_f64, -2.0], 0.0),
            SignCategory::Negative
        );
        assert_eq!(
            SignCategory::of_row(&[-1.0_f64, 0.0], 0.0),
            SignCategory::WeaklyNegative
        );
    }

    #[test]
    fn coherence_predicates_follow_the_definitions() {
        let coherent: Vec<_> = SignCategory::ALL
            .iter()
            .filter(|c| c.is_coherent())
            .collect();
        assert_eq!(coherent.len(), 4);
        let strict: Vec<_> = SignCategory::ALL
            .iter()
            .filter(|c| c.is_strictly_coherent())
            .collect();
        assert_eq!(strict, [&SignCategory::Positive, &SignCategory::Negative]);
        assert_eq!(SignCategory::Mixed.sign(), None);
    }
}
