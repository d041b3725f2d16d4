//! What the analyzer needs of each input row `a_n`, computed once in
//! `O(K)`: enough to classify every per-example gradient row `Δ_nj·a_n` in
//! `O(1)` without forming it, the row's sign pattern, and its `|cos(a, 1)|`.
//! The per-feature input statistics come from the same pass.

use crate::dynamics::{try_filled, try_grow};
use crate::element::Element;
use crate::error::Result;

use crate::analysis::diagnostics::orthants::PatternHasher;
use crate::analysis::diagnostics::share;
use crate::analysis::{SignCategory, sign};

/// Statistics of a layer's inputs `A`, per feature (the bias input excluded).
#[derive(Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct InputStats {
    /// Mean of each feature over its finite entries.
    pub mean: Vec<f64>,
    /// Share of examples where the feature is `> 0`.
    pub positive_share: Vec<f64>,
    /// Share of examples where the feature is exactly zero (`±0.0`).
    pub zero_share: Vec<f64>,
    /// NaN or infinite entries in the whole input.
    pub non_finite: usize,
}

impl InputStats {
    /// The smallest and largest feature mean (`None` without features).
    pub fn mean_range(&self) -> Option<(f64, f64)> {
        let min = self.mean.iter().copied().reduce(f64::min)?;
        let max = self.mean.iter().copied().reduce(f64::max)?;
        Some((min, max))
    }

    /// The share of all entries that are positive.
    pub fn overall_positive_share(&self) -> f64 {
        average(&self.positive_share)
    }

    /// The share of all entries that are exactly zero.
    pub fn overall_zero_share(&self) -> f64 {
        average(&self.zero_share)
    }
}

fn average(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// The theorem's precondition, measured per example.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Precondition {
    /// Examples in the batch.
    pub examples: usize,
    /// Examples whose inputs (and the bias input) are all strictly positive:
    /// the classic precondition.
    pub strictly_positive: usize,
    /// Examples whose finite inputs are all `≥ 0` (zeros allowed, as ReLU
    /// outputs): the weak precondition, under which rows are never mixed.
    pub non_negative: usize,
    /// Examples sharing the batch's most frequent sign pattern with no zero
    /// entry: their rows all lie in the same two opposite orthants.
    pub one_pattern: usize,
}

impl Precondition {
    /// `strictly_positive / examples`.
    pub fn strictly_positive_share(&self) -> f64 {
        share(self.strictly_positive, self.examples)
    }

    /// `non_negative / examples`.
    pub fn non_negative_share(&self) -> f64 {
        share(self.non_negative, self.examples)
    }

    /// `one_pattern / examples`.
    pub fn one_pattern_share(&self) -> f64 {
        share(self.one_pattern, self.examples)
    }
}

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
    /// The presence code (see [`sign::presence`]) of the per-example
    /// gradient row `fl(d·a_n)` under `tol`, in `O(1)` and without branches
    /// on the signs (which are close to random and would mispredict).
    ///
    /// The caller handles rows with no entries (they are zero).
    #[inline]
    pub(crate) fn presence_times(&self, d: F, tol: F) -> u8 {
        let m = d.abs();
        let up = m * self.max_pos;
        let down = m * self.max_neg;
        // NaN or ±∞ in d, or fl(d·a_i) overflowing for the largest entries.
        let non_finite = !self.finite | !up.is_finite() | !down.is_finite() | !m.is_finite();
        let d_pos = d > F::zero();
        let (big_up, big_down) = (up > tol, down > tol);
        let has_pos = (d_pos & big_up) | (!d_pos & big_down);
        let has_neg = (d_pos & big_down) | (!d_pos & big_up);
        let zero = m * self.min_abs <= tol;
        sign::code(has_pos, has_neg, zero, non_finite)
    }

    /// The category of the per-example gradient row `fl(d·a_n)` under `tol`;
    /// `entries` is the row length (`K`, plus one with a bias), and a row
    /// with no entries is zero.
    #[inline]
    pub(crate) fn category_times(&self, d: F, tol: F, entries: usize) -> SignCategory {
        if entries == 0 {
            return SignCategory::Zero;
        }
        SignCategory::from_code(self.presence_times(d, tol))
    }
}

/// The 2-bit orthant code of one input (see `orthants`): negative `10`,
/// non-finite `11`, otherwise `01` — a zero input counts as positive (see
/// [`OrthantOccupancy`](super::OrthantOccupancy)).
#[inline]
fn orthant_code<F: Element>(x: F, tol: F) -> u64 {
    let non_finite = !x.is_finite();
    (1 + u64::from(x < -tol)) | (3 * u64::from(non_finite))
}

/// Per-feature accumulators, updated one row at a time. Counts are `u32`
/// (a batch of 4·10⁹ examples is out of reach) to halve the memory traffic.
struct FeatureSums {
    sum: Vec<f64>,
    positive: Vec<u32>,
    zero: Vec<u32>,
    non_finite: Vec<u32>,
}

impl FeatureSums {
    fn new(op: &'static str, k: usize) -> Result<Self> {
        let what = format!("the statistics of {k} input features");
        Ok(FeatureSums {
            sum: try_filled(op, &what, k, 0.0)?,
            positive: try_filled(op, &what, k, 0)?,
            zero: try_filled(op, &what, k, 0)?,
            non_finite: try_filled(op, &what, k, 0)?,
        })
    }

    /// Adds one row: a plain loop without data-dependent branches.
    #[inline]
    fn add_finite<F: Element>(&mut self, a: &[F]) {
        let it = self
            .sum
            .iter_mut()
            .zip(&mut self.positive)
            .zip(&mut self.zero);
        for (((s, p), z), &x) in it.zip(a) {
            *s += x.to_f64();
            *p += u32::from(x > F::zero());
            *z += u32::from(x == F::zero());
        }
    }

    /// Adds a row holding NaN or infinities (rare): those entries are counted
    /// apart and left out of the sums.
    fn add_with_non_finite<F: Element>(&mut self, a: &[F]) -> usize {
        let mut bad = 0;
        for (k, &x) in a.iter().enumerate() {
            if x.is_finite() {
                self.sum[k] += x.to_f64();
                self.positive[k] += u32::from(x > F::zero());
                self.zero[k] += u32::from(x == F::zero());
            } else {
                self.non_finite[k] += 1;
                bad += 1;
            }
        }
        bad
    }
}

/// `(max of positive entries, max |negative entry|, min |entry|)` of a
/// finite row (0, 0, +∞ for none), over eight lanes so that the loop
/// vectorises; plain comparisons suffice since the row has no NaN.
// Always inlined: its callers run compiled for the CPU's vector
// instructions, and a call would run this at baseline.
#[inline(always)]
fn extremes<F: Element>(a: &[F]) -> (F, F, F) {
    let (mut mp, mut mn, mut ma) = ([F::zero(); 8], [F::zero(); 8], [F::infinity(); 8]);
    let chunks = a.chunks_exact(8);
    let rest = chunks.remainder();
    let mut lane = |i: usize, x: F| {
        let (ax, neg) = (x.abs(), -x);
        mp[i] = if x > mp[i] { x } else { mp[i] };
        mn[i] = if neg > mn[i] { neg } else { mn[i] };
        ma[i] = if ax < ma[i] { ax } else { ma[i] };
    };
    for chunk in chunks {
        for (i, &x) in chunk.iter().enumerate() {
            lane(i, x);
        }
    }
    for (i, &x) in rest.iter().enumerate() {
        lane(i, x);
    }
    let max = |v: [F; 8]| v.iter().fold(F::zero(), |m, &x| if x > m { x } else { m });
    let min = ma
        .iter()
        .fold(F::infinity(), |m, &x| if x < m { x } else { m });
    (max(mp), max(mn), min)
}

/// The extremes of a row (see [`extremes`]) when every entry is finite,
/// `None` otherwise: two passes, each a loop that vectorises (one pass
/// doing both did not).
#[inline(always)]
fn finite_extremes<F: Element>(a: &[F]) -> Option<(F, F, F)> {
    a.iter()
        .fold(true, |ok, &x| ok & x.is_finite())
        .then(|| extremes(a))
}

/// `(Σx, Σx²)` of a row in `f64`, over eight independent partial sums: a
/// single running sum would make every addition wait for the previous one.
/// The two sums are taken in two passes over the row (which is in cache):
/// taken in one loop, the compiler paired `Σx` with `Σx²` in a vector and
/// ran the eight lanes one at a time.
// Always inlined: its caller runs compiled for the CPU's vector
// instructions (`analyze_data`), and a call would run this at baseline.
#[inline(always)]
fn sums<F: Element>(a: &[F]) -> (f64, f64) {
    #[inline(always)]
    fn lanes<F: Element>(a: &[F], f: impl Fn(f64) -> f64) -> f64 {
        let mut s = [0.0f64; 8];
        let chunks = a.chunks_exact(8);
        let rest = chunks.remainder();
        for chunk in chunks {
            for i in 0..8 {
                s[i] += f(chunk[i].to_f64());
            }
        }
        for (i, &x) in rest.iter().enumerate() {
            s[i] += f(x.to_f64());
        }
        s.iter().sum()
    }
    (lanes(a, |v| v), lanes(a, |v| v * v))
}

/// The hashes of a row's orthant pattern (see [`orthant_code`]) and of its
/// negation.
fn orthant_hash<F: Element>(a: &[F], bias: bool, tol: F) -> (u64, u64) {
    let mut hasher = PatternHasher::new();
    for chunk in a.chunks(32) {
        let word = chunk
            .iter()
            .enumerate()
            .fold(0u64, |w, (i, &x)| w | (orthant_code(x, tol) << (2 * i)));
        hasher.push_word(word, chunk.len() as u32);
    }
    if bias {
        hasher.push_word(orthant_code(F::one(), tol), 1);
    }
    hasher.finish()
}

/// Summarises every input row (row-major `B×K`), appending an input equal
/// to 1 when `bias`, and gathers the per-feature statistics. Each pass over
/// a row is a simple loop without branches on the data, so it vectorises.
///
/// # Errors
/// [`Error::TooLarge`](crate::Error::TooLarge) naming `op`
/// when the row summaries (`B`) or the feature statistics (`K`) cannot be
/// allocated.
#[inline(always)]
pub(crate) fn summarize_rows<F: Element>(
    op: &'static str,
    inputs: &[F],
    batch: usize,
    fan_in: usize,
    bias: bool,
    tol: F,
    rows: &mut Vec<InputRow<F>>,
) -> Result<InputStats> {
    rows.clear();
    try_grow(op, "the input-row summaries", rows, batch)?;
    let mut feat = FeatureSums::new(op, fan_in)?;
    let mut non_finite = 0usize;
    let entries = fan_in + usize::from(bias);
    let sqrt_entries = (entries as f64).sqrt();
    // A row without negative or non-finite entries has the all-positive
    // orthant pattern (zeros count as positive): hashed once, from packed
    // words of positive codes (no K-long row of ones is built).
    let positive_pattern = positive_hash(fan_in, bias);
    for n in 0..batch {
        let a = &inputs[n * fan_in..(n + 1) * fan_in];
        // For a finite row the extremes give the presence code too: some
        // x > tol iff max a⁺ > tol, some x < −tol iff max |a⁻| > tol, some
        // |x| ≤ tol iff min |a| ≤ tol.
        let found = finite_extremes(a);
        let finite = found.is_some();
        let ext = found.unwrap_or((F::zero(), F::zero(), F::infinity()));
        let mut code = if finite {
            sign::code(ext.0 > tol, ext.1 > tol, ext.2 <= tol, false)
        } else {
            sign::row_presence(a, tol)
        };
        if bias {
            code |= sign::presence(F::one(), tol);
        }
        let mut row = InputRow {
            max_pos: F::zero(),
            max_neg: F::zero(),
            min_abs: F::infinity(),
            finite,
            strictly_positive: code == sign::POSITIVE,
            non_negative: code & (sign::NEGATIVE | sign::NON_FINITE) == 0,
            definite: code & (sign::ZERO | sign::NON_FINITE) == 0,
            abs_cos_ones: f64::NAN,
            pattern: if code & (sign::NEGATIVE | sign::NON_FINITE) == 0 {
                positive_pattern
            } else {
                orthant_hash(a, bias, tol)
            },
        };
        if finite {
            feat.add_finite(a);
            let (mut max_pos, max_neg, mut min_abs) = ext;
            let (mut s, mut ss) = sums(a);
            if bias {
                max_pos = max_pos.max(F::one());
                min_abs = min_abs.min(F::one());
                s += 1.0;
                ss += 1.0;
            }
            row.max_pos = max_pos;
            row.max_neg = max_neg;
            row.min_abs = min_abs;
            if ss > 0.0 {
                row.abs_cos_ones = s.abs() / (sqrt_entries * ss.sqrt());
            }
        } else {
            non_finite += feat.add_with_non_finite(a);
        }
        rows.push(row);
    }
    // The counters become shares in place of the sums' buffers: the f64
    // vectors are the sums (reused for the means) and two fresh ones.
    let share = |c: &[u32]| -> Result<Vec<f64>> {
        let mut v = Vec::new();
        try_grow(op, "the input feature shares", &mut v, c.len())?;
        v.extend(c.iter().map(|&c| f64::from(c) / batch as f64));
        Ok(v)
    };
    let positive_share = share(&feat.positive)?;
    let zero_share = share(&feat.zero)?;
    let mut mean = feat.sum;
    for (m, &bad) in mean.iter_mut().zip(&feat.non_finite) {
        let n = batch - bad as usize;
        *m = if n > 0 { *m / n as f64 } else { 0.0 };
    }
    Ok(InputStats {
        mean,
        positive_share,
        zero_share,
        non_finite,
    })
}

/// The hashes of the all-positive pattern of `fan_in` entries (and the
/// bias), as [`orthant_hash`] would give them for a row of ones.
fn positive_hash(fan_in: usize, bias: bool) -> (u64, u64) {
    const POSITIVE_WORD: u64 = 0x5555_5555_5555_5555; // 32 codes `01`
    let mut hasher = PatternHasher::new();
    for _ in 0..fan_in / 32 {
        hasher.push_word(POSITIVE_WORD, 32);
    }
    let rest = (fan_in % 32) as u32;
    if rest > 0 {
        hasher.push_word(POSITIVE_WORD & ((1u64 << (2 * rest)) - 1), rest);
    }
    if bias {
        hasher.push_word(1, 1);
    }
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_row(a: &[f64], bias: bool, tol: f64) -> InputRow<f64> {
        let mut rows = Vec::new();
        summarize_rows("test", a, 1, a.len(), bias, tol, &mut rows).unwrap();
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
    fn the_packed_positive_hash_is_the_hash_of_a_row_of_ones() {
        for k in [0, 1, 31, 32, 33, 64, 70] {
            for bias in [false, true] {
                let ones = vec![1.0f64; k];
                assert_eq!(
                    positive_hash(k, bias),
                    orthant_hash(&ones, bias, 0.0),
                    "k {k} bias {bias}"
                );
            }
        }
    }

    #[test]
    fn feature_statistics_skip_non_finite_entries() {
        let a = [1.0, 0.0, f64::NAN, 0.0, 3.0, -1.0];
        let mut rows = Vec::new();
        let s = summarize_rows("test", &a, 3, 2, false, 0.0, &mut rows).unwrap();
        // feature 0: 1, NaN, 3 → mean 2 over the finite two; feature 1: 0, 0, −1.
        assert_eq!(s.mean, vec![2.0, -1.0 / 3.0]);
        assert_eq!(s.positive_share, vec![2.0 / 3.0, 0.0]);
        assert_eq!(s.zero_share, vec![0.0, 2.0 / 3.0]);
        assert_eq!(s.non_finite, 1);
        assert!(!rows[1].finite);
    }
}
