//! What the analyzer needs of each input row `a_n`, computed once in
//! `O(K)`: enough to classify every per-example gradient row `Δ_nj·a_n` in
//! `O(1)` without forming it, the row's sign pattern, and its `|cos(a, 1)|`.
//! The per-feature input statistics come from the same pass.

use crate::element::Element;

use super::orthants::PatternHasher;
use super::report::InputStats;
use super::sign::{Sign, SignCategory};

/// One input row, reduced to what classifies `fl(d·a_n)` for any `d`.
///
/// Rounding is monotone and symmetric, so for `m = |d|`:
/// `max_i fl(m·a_i) = fl(m·max_i a_i)` and `min_i fl(m·|a_i|) = fl(m·min_i |a_i|)`.
/// Three products therefore decide, exactly as the materialised row would,
/// whether it has a positive entry, a negative entry, an entry that is zero
/// under the tolerance, and an entry that overflows.
#[derive(Clone, Copy, Debug)]
pub(crate) struct InputRow<F> {
    /// The largest positive entry (`0` if there is none).
    pub(crate) max_pos: F,
    /// The largest magnitude of a negative entry (`0` if there is none).
    pub(crate) max_neg: F,
    /// The smallest magnitude of any entry (`+∞` for an empty row).
    pub(crate) min_abs: F,
    /// No NaN or infinite entry.
    pub(crate) finite: bool,
    /// Every entry is positive under the tolerance: the theorem's precondition.
    pub(crate) strictly_positive: bool,
    /// Every entry is positive or zero under the tolerance (ReLU outputs):
    /// the weak precondition, under which a row is never mixed.
    pub(crate) non_negative: bool,
    /// No entry is zero (under the tolerance) or non-finite, so the row lies
    /// inside an open orthant.
    pub(crate) definite: bool,
    /// `|Σa| / (√K ‖a‖)`, or NaN when undefined (a zero or non-finite row).
    pub(crate) abs_cos_ones: f64,
    /// Hash of the sign pattern of `a_n` (zeros taken as positive), and of its
    /// negation.
    pub(crate) pattern: (u64, u64),
}

impl<F: Element> InputRow<F> {
    /// The category of the per-example gradient row `fl(d·a_n)` under `tol`,
    /// in `O(1)`.
    ///
    /// `entries` is the row length (`K`, plus one with a bias); a row with no
    /// entries is zero.
    #[inline]
    pub(crate) fn category_times(&self, d: F, tol: F, entries: usize) -> SignCategory {
        if entries == 0 {
            return SignCategory::Zero;
        }
        if !self.finite || !d.is_finite() {
            return SignCategory::NonFinite;
        }
        let m = d.abs();
        let up = m * self.max_pos;
        let down = m * self.max_neg;
        if !up.is_finite() || !down.is_finite() {
            // fl(d·a_i) overflowed for the largest entries.
            return SignCategory::NonFinite;
        }
        let zero = m * self.min_abs <= tol;
        let (has_pos, has_neg) = if d > F::zero() {
            (up > tol, down > tol)
        } else {
            (down > tol, up > tol)
        };
        SignCategory::from_presence(has_pos, has_neg, zero, false)
    }
}

/// Summarises every input row (row-major `B×K`), appending an input equal
/// to 1 when `bias`, and gathers the per-feature statistics.
pub(crate) fn summarize_rows<F: Element>(
    inputs: &[F],
    batch: usize,
    fan_in: usize,
    bias: bool,
    tol: F,
    rows: &mut Vec<InputRow<F>>,
) -> InputStats {
    rows.clear();
    rows.reserve(batch);
    let mut sum = vec![0.0f64; fan_in];
    let mut finite_count = vec![0usize; fan_in];
    let mut positive = vec![0usize; fan_in];
    let mut zero = vec![0usize; fan_in];
    let mut non_finite = 0usize;
    let entries = fan_in + usize::from(bias);
    let sqrt_entries = (entries as f64).sqrt();
    for n in 0..batch {
        let a = &inputs[n * fan_in..(n + 1) * fan_in];
        let mut row = InputRow {
            max_pos: F::zero(),
            max_neg: F::zero(),
            min_abs: F::infinity(),
            finite: true,
            strictly_positive: true,
            non_negative: true,
            definite: true,
            abs_cos_ones: f64::NAN,
            pattern: (0, 0),
        };
        let mut hasher = PatternHasher::new();
        let (mut s, mut ss) = (0.0f64, 0.0f64);
        for (k, &x) in a.iter().enumerate() {
            let sign = Sign::of(x, tol);
            // A zero entry lies in both closed orthants: take the positive one
            // (see `OrthantOccupancy`).
            hasher.push(if sign == Sign::Zero {
                Sign::Positive
            } else {
                sign
            });
            if x.is_finite() {
                let v = x.to_f64();
                s += v;
                ss += v * v;
                sum[k] += v;
                finite_count[k] += 1;
                let m = x.abs();
                if m < row.min_abs {
                    row.min_abs = m;
                }
                if x > F::zero() {
                    positive[k] += 1;
                    if x > row.max_pos {
                        row.max_pos = x;
                    }
                } else if x < F::zero() {
                    if m > row.max_neg {
                        row.max_neg = m;
                    }
                } else {
                    zero[k] += 1;
                }
            } else {
                row.finite = false;
                non_finite += 1;
            }
            row.strictly_positive &= sign == Sign::Positive;
            row.non_negative &= matches!(sign, Sign::Positive | Sign::Zero);
            row.definite &= matches!(sign, Sign::Positive | Sign::Negative);
        }
        if bias {
            let one = F::one();
            let sign = Sign::of(one, tol);
            hasher.push(if sign == Sign::Zero {
                Sign::Positive
            } else {
                sign
            });
            s += 1.0;
            ss += 1.0;
            row.max_pos = row.max_pos.max(one);
            row.min_abs = row.min_abs.min(one);
            row.strictly_positive &= sign == Sign::Positive;
            row.non_negative &= sign != Sign::Negative;
            row.definite &= sign == Sign::Positive;
        }
        if row.finite && ss > 0.0 {
            row.abs_cos_ones = s.abs() / (sqrt_entries * ss.sqrt());
        }
        row.pattern = hasher.finish();
        rows.push(row);
    }
    let share = |c: &[usize]| -> Vec<f64> { c.iter().map(|&c| c as f64 / batch as f64).collect() };
    let mean = sum
        .iter()
        .zip(&finite_count)
        .map(|(&s, &n)| if n > 0 { s / n as f64 } else { 0.0 })
        .collect();
    InputStats {
        mean,
        positive_share: share(&positive),
        zero_share: share(&zero),
        non_finite,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_row(a: &[f64], bias: bool, tol: f64) -> InputRow<f64> {
        let mut rows = Vec::new();
        summarize_rows(a, 1, a.len(), bias, tol, &mut rows);
        rows[0]
    }

    /// The category of the materialised row, entry by entry.
    fn materialised(d: f64, a: &[f64], bias: bool, tol: f64) -> SignCategory {
        let mut row: Vec<f64> = a.iter().map(|&x| d * x).collect();
        if bias {
            row.push(d);
        }
        SignCategory::of_row(&row, tol)
    }

    #[test]
    fn o1_category_matches_the_materialised_row() {
        let rows: [&[f64]; 6] = [
            &[0.5, 2.0, 1e-3],
            &[0.5, 0.0, 1e-3],
            &[-0.5, 2.0, 0.0],
            &[-0.5, -2.0],
            &[0.0, -0.0],
            &[1e-300, 1.0],
        ];
        let deltas = [2.0, -3.0, 0.0, -0.0, 1e-10, 1e-20, 1e300];
        for a in rows {
            for d in deltas {
                for tol in [0.0, 1e-9] {
                    for bias in [false, true] {
                        let got = one_row(a, bias, tol).category_times(
                            d,
                            tol,
                            a.len() + usize::from(bias),
                        );
                        assert_eq!(
                            got,
                            materialised(d, a, bias, tol),
                            "a={a:?} d={d} tol={tol} bias={bias}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn underflowing_product_is_a_zero_entry() {
        // 1e-300 · 1e-300 underflows to 0 in f64: the materialised row has a zero.
        let r = one_row(&[1e-300, 1.0], false, 0.0);
        assert_eq!(
            r.category_times(1e-300, 0.0, 2),
            SignCategory::WeaklyPositive
        );
    }

    #[test]
    fn overflowing_product_is_non_finite() {
        // 1e300 · 1e10 = ∞ in f64.
        let r = one_row(&[1e10, 1.0], false, 0.0);
        assert_eq!(r.category_times(1e300, 0.0, 2), SignCategory::NonFinite);
    }

    #[test]
    fn zero_delta_times_infinite_input_is_non_finite() {
        // 0 · ∞ = NaN.
        let r = one_row(&[f64::INFINITY, 1.0], false, 0.0);
        assert_eq!(r.category_times(0.0, 0.0, 2), SignCategory::NonFinite);
    }

    #[test]
    fn abs_cos_with_ones_of_a_constant_row_is_one() {
        // a = (2, 2, 2): Σa = 6, √3·‖a‖ = √3·√12 = 6.
        let r = one_row(&[2.0, 2.0, 2.0], false, 0.0);
        assert!((r.abs_cos_ones - 1.0).abs() < 1e-15);
    }

    #[test]
    fn abs_cos_with_ones_counts_the_bias_input() {
        // (a, 1) = (1, −1, 1): |Σ| = 1, √3·‖·‖ = √3·√3 = 3.
        let r = one_row(&[1.0, -1.0], true, 0.0);
        assert!((r.abs_cos_ones - 1.0 / 3.0).abs() < 1e-15);
    }

    #[test]
    fn precondition_needs_every_entry_strictly_positive() {
        assert!(one_row(&[0.1, 0.2], true, 0.0).strictly_positive);
        assert!(!one_row(&[0.1, 0.0], false, 0.0).strictly_positive);
        assert!(!one_row(&[0.1, 1e-9], false, 1e-6).strictly_positive);
    }

    #[test]
    fn feature_statistics_skip_non_finite_entries() {
        let a = [1.0, 0.0, f64::NAN, 0.0, 3.0, -1.0];
        let mut rows = Vec::new();
        let s = summarize_rows(&a, 3, 2, false, 0.0, &mut rows);
        // feature 0: 1, NaN, 3 → mean 2 over the finite two; feature 1: 0, 0, −1.
        assert_eq!(s.mean, vec![2.0, -1.0 / 3.0]);
        assert_eq!(s.positive_share, vec![2.0 / 3.0, 0.0]);
        assert_eq!(s.zero_share, vec![0.0, 2.0 / 3.0]);
        assert_eq!(s.non_finite, 1);
        assert!(!rows[1].finite);
    }
}
