//! Sign coherence: the category counts of per-example and batch rows, the
//! theorem's check, and the per-example tallies the fused pass keeps.
//!
//! The per-example pass over a layer, shaped for the compiler. `Δ` is
//! row-major (B×J), so for each example `n` one contiguous loop turns the
//! deltas of all `J` neurons into code bytes (no branch on the near-random
//! signs: it vectorises), and short loops over `j` add those bytes into
//! per-neuron byte counters, spilled into `u32` ones every 255 examples
//! (see [`TallyPass`]). Nothing is transposed and nothing is allocated per
//! neuron.
//!
//! A code byte holds, for example `n` and neuron `j`:
//! bits 0–3, the presence code of the row `fl(Δ_nj·a_n)` (see
//! `sign::presence`); bit 4, `Δ_nj > 0`; bit 5, `Δ_nj < 0` (raw signs, for
//! the theorem); bits 6–7, `Δ_nj`'s class under the tolerance (0 positive,
//! 1 negative, 2 zero, 3 non-finite).

use crate::dynamics::try_filled;
use crate::element::Element;

use crate::analysis::diagnostics::inputs::InputRow;
use crate::analysis::diagnostics::share;
use crate::analysis::sign::{NEGATIVE, NON_FINITE, POSITIVE, ZERO};
use crate::analysis::{SignCategory, sign};

/// How many rows fell in each [`SignCategory`].
///
/// ```
/// use gradsign::analysis::{CategoryCounts, SignCategory};
/// let mut c = CategoryCounts::default();
/// c.add(SignCategory::Positive);
/// c.add(SignCategory::Mixed);
/// assert_eq!(c.total(), 2);
/// assert_eq!(c.coherent_share(), 0.5);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct CategoryCounts {
    /// Rows with every entry positive.
    pub positive: usize,
    /// Rows with every entry negative.
    pub negative: usize,
    /// Rows with positive and zero entries only.
    pub weakly_positive: usize,
    /// Rows with negative and zero entries only.
    pub weakly_negative: usize,
    /// All-zero rows.
    pub zero: usize,
    /// Rows with entries of both signs.
    pub mixed: usize,
    /// Rows with a NaN or infinite entry.
    pub non_finite: usize,
}

impl CategoryCounts {
    /// Counts one row.
    #[inline]
    pub fn add(&mut self, c: SignCategory) {
        *self.slot(c) += 1;
    }

    fn slot(&mut self, c: SignCategory) -> &mut usize {
        match c {
            SignCategory::Positive => &mut self.positive,
            SignCategory::Negative => &mut self.negative,
            SignCategory::WeaklyPositive => &mut self.weakly_positive,
            SignCategory::WeaklyNegative => &mut self.weakly_negative,
            SignCategory::Zero => &mut self.zero,
            SignCategory::Mixed => &mut self.mixed,
            SignCategory::NonFinite => &mut self.non_finite,
        }
    }

    /// Counts in [`SignCategory::ALL`] order.
    pub fn from_array(c: [usize; 7]) -> Self {
        CategoryCounts {
            positive: c[0],
            negative: c[1],
            weakly_positive: c[2],
            weakly_negative: c[3],
            zero: c[4],
            mixed: c[5],
            non_finite: c[6],
        }
    }

    /// The count of one category.
    pub fn get(&self, c: SignCategory) -> usize {
        let mut copy = *self;
        *copy.slot(c)
    }

    /// Adds another set of counts into this one.
    pub fn merge(&mut self, other: &CategoryCounts) {
        for c in SignCategory::ALL {
            *self.slot(c) += other.get(c);
        }
    }

    /// All rows counted.
    pub fn total(&self) -> usize {
        SignCategory::ALL.iter().map(|&c| self.get(c)).sum()
    }

    /// Rows whose non-zero entries share one sign (see
    /// [`SignCategory::is_coherent`]).
    pub fn coherent(&self) -> usize {
        self.positive + self.negative + self.weakly_positive + self.weakly_negative
    }

    /// Rows with every entry non-zero and of one sign.
    pub fn strictly_coherent(&self) -> usize {
        self.positive + self.negative
    }

    /// Rows that move the weights: neither zero nor non-finite.
    pub fn nonzero_finite(&self) -> usize {
        self.total() - self.zero - self.non_finite
    }

    /// The share of coherent rows among those that move the weights
    /// (`coherent / nonzero_finite`; 0 when there is none). A zero row (a
    /// dead unit, `δ = 0`) moves nothing and a non-finite row has no sign, so
    /// neither counts for or against coherence.
    pub fn coherent_share(&self) -> f64 {
        share(self.coherent(), self.nonzero_finite())
    }

    /// `strictly_coherent / nonzero_finite` (0 when there is none).
    pub fn strictly_coherent_share(&self) -> f64 {
        share(self.strictly_coherent(), self.nonzero_finite())
    }
}

/// The theorem checked on every row it applies to: if `a_n ≥ 0` entrywise
/// (strictly positive is the classic case), no entry of `Δ_nj·a_n` has the
/// sign opposite to `Δ_nj`, so the row is (weakly) positive, (weakly)
/// negative or zero, never mixed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct TheoremCheck {
    /// Finite rows whose input met the precondition `a_n ≥ 0`.
    pub rows_checked: usize,
    /// Of those, rows not coherent with `sign(δ)`. Must be 0.
    pub violations: usize,
}

impl TheoremCheck {
    /// Whether there was no violation.
    pub fn holds(&self) -> bool {
        self.violations == 0
    }
}

/// Bit 4 of a code byte: `δ > 0`.
pub(crate) const DELTA_POSITIVE: u8 = 16;

/// Bit 5 of a code byte: `δ < 0`.
const DELTA_NEGATIVE: u8 = 32;

/// Whether a row code moves the weights: some non-zero entry, all finite.
#[inline]
pub(crate) fn moves(code: u8) -> bool {
    let row = code & 15;
    row < NON_FINITE && row & (POSITIVE | NEGATIVE) != 0
}

/// The code bytes of example `n` (input row `row`) for every neuron, from
/// its deltas `Δ_n·` (see the module docs); `empty` rows (no entries) are
/// zero whatever `δ`.
///
/// Rounding is monotone and symmetric, so the three products
/// `|δ|·max a⁺`, `|δ|·max |a⁻|` and `|δ|·min |a|` decide, exactly as the
/// materialised row `fl(δ·a_n)` would, whether it has a positive entry, a
/// negative one, a zero under the tolerance, and an overflow.
#[inline(always)]
pub(crate) fn codes_of_example<F: Element>(
    row: &InputRow<F>,
    deltas: &[F],
    tol: F,
    empty: bool,
    out: &mut [u8],
) {
    let (mp, mn, ma) = (row.max_pos, row.max_neg, row.min_abs);
    let row_non_finite = !row.finite;
    let row_mask = if empty { 0xF0u8 } else { 0xFF };
    for (&d, o) in deltas.iter().zip(out.iter_mut()) {
        let m = d.abs();
        let (up, down) = (m * mp, m * mn);
        let d_non_finite = !m.is_finite();
        let non_finite = row_non_finite | d_non_finite | !up.is_finite() | !down.is_finite();
        let d_pos = d > F::zero();
        let d_neg = d < F::zero();
        let (big_up, big_down) = (up > tol, down > tol);
        let has_pos = (d_pos & big_up) | (!d_pos & big_down);
        let has_neg = (d_pos & big_down) | (!d_pos & big_up);
        let zero = m * ma <= tol;
        let code = sign::code(has_pos, has_neg, zero, non_finite);
        let (above, below) = (d > tol, d < -tol);
        let class = if d_non_finite {
            3
        } else {
            u8::from(below) | (u8::from(!above & !below) << 1)
        };
        *o = (code & row_mask)
            | (u8::from(d_pos) * DELTA_POSITIVE)
            | (u8::from(d_neg) * DELTA_NEGATIVE)
            | (class << 6);
    }
}

/// Per-neuron counters, each an array over the layer's neurons: what
/// [`TallyPass::finish`] returns.
pub(crate) struct Tallies {
    /// Rows per category, in `SignCategory::ALL` order.
    pub(crate) categories: [Vec<u32>; 7],
    /// `δ` per class: positive, negative, zero, non-finite.
    pub(crate) deltas: [Vec<u32>; 4],
    /// Rows the theorem applies to (inputs `≥ 0`, row finite).
    pub(crate) checked: Vec<u32>,
    /// Of those, rows with an entry against `δ`'s sign.
    pub(crate) violations: Vec<u32>,
    /// `Σ |cos(g, 1)|` over moving rows where defined.
    pub(crate) cos_sum: Vec<f64>,
    /// How many rows that sum counts.
    pub(crate) cos_n: Vec<u32>,
}

/// The counters of [`Tallies`] in order: 7 categories, 4 δ classes,
/// checked, violations, `cos_n`.
const COUNTERS: usize = 14;

/// Examples a byte counter holds before it is added into the `u32` ones.
const BYTE_EXAMPLES: u8 = u8::MAX;

/// The per-example pass's counters while examples are added.
///
/// Each example adds `0` or `1` per counter and neuron into byte
/// counters, [`COUNTERS`] rows of `J` bytes, which are added into the
/// `u32` [`Tallies`] every [`BYTE_EXAMPLES`] examples and at
/// [`finish`](Self::finish): a byte compare-and-add covers 32 neurons per
/// 256-bit instruction where a `u32` one covers 8, and the code bytes need
/// no widening.
pub(crate) struct TallyPass {
    tallies: Tallies,
    /// `COUNTERS × J` byte counters, counter-major.
    pending: Vec<u8>,
    /// Examples in `pending`.
    held: u8,
}

/// `acc[j] += 1` where `pred(codes[j])`: a loop the compiler vectorises.
#[inline(always)]
fn count(acc: &mut [u8], codes: &[u8], pred: impl Fn(u8) -> bool) {
    for (a, &c) in acc.iter_mut().zip(codes) {
        *a += u8::from(pred(c));
    }
}

impl TallyPass {
    /// Zeroed counters for `neurons` neurons.
    ///
    /// # Errors
    /// [`Error::TooLarge`](crate::Error::TooLarge) naming `op`
    /// when they cannot be allocated.
    pub(crate) fn new(op: &'static str, neurons: usize) -> crate::error::Result<Self> {
        let what = format!("the counters of {neurons} neurons");
        let z = || try_filled(op, &what, neurons, 0u32);
        let mut categories: [Vec<u32>; 7] = Default::default();
        for c in &mut categories {
            *c = z()?;
        }
        let mut deltas: [Vec<u32>; 4] = Default::default();
        for c in &mut deltas {
            *c = z()?;
        }
        let tallies = Tallies {
            categories,
            deltas,
            checked: z()?,
            violations: z()?,
            cos_sum: try_filled(op, &what, neurons, 0.0)?,
            cos_n: z()?,
        };
        let bytes = crate::stats::prepare::checked(op, "the byte counters", neurons, COUNTERS)?;
        Ok(TallyPass {
            tallies,
            pending: try_filled(op, &what, bytes, 0u8)?,
            held: 0,
        })
    }

    /// Adds example `n`'s code bytes for every neuron.
    #[inline(always)]
    pub(crate) fn add_example<F: Element>(&mut self, row: &InputRow<F>, codes: &[u8]) {
        let j = codes.len();
        debug_assert_eq!(j * COUNTERS, self.pending.len());
        let mut rows = self.pending.chunks_exact_mut(j.max(1));
        let mut next = || rows.next().unwrap_or_default();
        let finite_row = |c: u8| c & 15 < NON_FINITE;
        count(next(), codes, |c| c & 15 == POSITIVE);
        count(next(), codes, |c| c & 15 == NEGATIVE);
        count(next(), codes, |c| c & 15 == POSITIVE | ZERO);
        count(next(), codes, |c| c & 15 == NEGATIVE | ZERO);
        count(next(), codes, |c| {
            finite_row(c) & (c & (POSITIVE | NEGATIVE) == 0)
        });
        count(next(), codes, |c| {
            finite_row(c) & (c & (POSITIVE | NEGATIVE) == POSITIVE | NEGATIVE)
        });
        count(next(), codes, |c| !finite_row(c));
        for i in 0..4u8 {
            count(next(), codes, |c| c >> 6 == i);
        }
        let (checked, violations, cos_n) = (next(), next(), next());
        if row.non_negative && row.finite {
            count(checked, codes, finite_row);
            // Non-zero entries must carry δ's sign; a zero row always agrees.
            count(violations, codes, |c| {
                let against = ((c & DELTA_POSITIVE != 0) & (c & NEGATIVE != 0))
                    | ((c & DELTA_NEGATIVE != 0) & (c & POSITIVE != 0))
                    | ((c & (DELTA_POSITIVE | DELTA_NEGATIVE) == 0)
                        & (c & (POSITIVE | NEGATIVE) != 0));
                finite_row(c) & against
            });
        }
        if !row.abs_cos_ones.is_nan() {
            let cos = row.abs_cos_ones;
            for (s, &c) in self.tallies.cos_sum.iter_mut().zip(codes) {
                *s += if moves(c) { cos } else { 0.0 };
            }
            count(cos_n, codes, moves);
        }
        self.held += 1;
        if self.held == BYTE_EXAMPLES {
            self.spill();
        }
    }

    /// Adds the byte counters into the `u32` ones and zeroes them.
    fn spill(&mut self) {
        let t = &mut self.tallies;
        let [c0, c1, c2, c3, c4, c5, c6] = &mut t.categories;
        let [d0, d1, d2, d3] = &mut t.deltas;
        let totals: [&mut Vec<u32>; COUNTERS] = [
            c0,
            c1,
            c2,
            c3,
            c4,
            c5,
            c6,
            d0,
            d1,
            d2,
            d3,
            &mut t.checked,
            &mut t.violations,
            &mut t.cos_n,
        ];
        let j = totals[0].len().max(1);
        for (total, bytes) in totals.into_iter().zip(self.pending.chunks_exact_mut(j)) {
            for (t, b) in total.iter_mut().zip(bytes.iter_mut()) {
                *t += u32::from(*b);
                *b = 0;
            }
        }
        self.held = 0;
    }

    /// The counters over every example added.
    pub(crate) fn finish(mut self) -> Tallies {
        self.spill();
        self.tallies
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::diagnostics::inputs::summarize_rows;
    use crate::analysis::sign::{SignCategory, category_index};

    #[test]
    fn codes_match_the_scalar_classification() {
        let a = [0.5, -2.0, 0.0, 1e-300, 3.0, 1.0, f64::NAN, 1.0];
        let deltas = [2.0, -3.0, 0.0, -0.0, 1e-10, 1e300, f64::NAN, f64::INFINITY];
        for bias in [false, true] {
            for tol in [0.0, 1e-9] {
                let mut rows = Vec::new();
                summarize_rows("test", &a, 4, 2, bias, tol, &mut rows).unwrap();
                let entries = 2 + usize::from(bias);
                for row in &rows {
                    let mut codes = [0u8; 8];
                    codes_of_example(row, &deltas, tol, false, &mut codes);
                    for (&d, &code) in deltas.iter().zip(&codes) {
                        assert_eq!(
                            SignCategory::ALL[category_index(code & 15)],
                            row.category_times(d, tol, entries),
                            "d {d} tol {tol} bias {bias}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn tallies_count_each_category_once() {
        // Three examples, one neuron: (1, 2)·1 positive; (−1, 1)·1 mixed;
        // (0, 1)·(−1) weakly negative.
        let a = [1.0, 2.0, -1.0, 1.0, 0.0, 1.0];
        let mut rows = Vec::new();
        summarize_rows("test", &a, 3, 2, false, 0.0, &mut rows).unwrap();
        let mut t = TallyPass::new("test", 1).unwrap();
        for (row, d) in rows.iter().zip([1.0, 1.0, -1.0]) {
            let mut code = [0u8];
            codes_of_example(row, &[d], 0.0, false, &mut code);
            t.add_example(row, &code);
        }
        let t = t.finish();
        let cats: Vec<u32> = t.categories.iter().map(|c| c[0]).collect();
        assert_eq!(cats, [1, 0, 0, 1, 0, 1, 0]);
        let deltas: Vec<u32> = t.deltas.iter().map(|c| c[0]).collect();
        assert_eq!(deltas, [2, 1, 0, 0]);
        // Examples 0 and 2 have inputs ≥ 0; both rows agree with their δ.
        assert_eq!((t.checked[0], t.violations[0]), (2, 0));
    }

    #[test]
    fn byte_counters_spill_past_255_examples() {
        // 700 examples (two spills and a remainder), 3 neurons: every
        // counter must equal a count over the examples' codes, with no byte
        // counter wrapping.
        let (b, k, j) = (700usize, 2usize, 3usize);
        let a: Vec<f64> = (0..b * k)
            .map(|i| {
                if i % 7 == 3 {
                    -1.0
                } else {
                    0.5 + (i % 5) as f64
                }
            })
            .collect();
        let deltas: Vec<f64> = (0..b * j).map(|i| [1.0, -2.0, 0.0][i % 3]).collect();
        let mut rows = Vec::new();
        summarize_rows("test", &a, b, k, false, 0.0, &mut rows).unwrap();
        let mut t = TallyPass::new("test", j).unwrap();
        let mut want_cats = vec![[0u32; 7]; j];
        let mut want_deltas = vec![[0u32; 4]; j];
        let mut want_cos_n = vec![0u32; j];
        for (n, row) in rows.iter().enumerate() {
            let mut codes = [0u8; 3];
            codes_of_example(row, &deltas[n * j..(n + 1) * j], 0.0, false, &mut codes);
            t.add_example(row, &codes);
            for (jj, &c) in codes.iter().enumerate() {
                want_cats[jj][category_index(c & 15)] += 1;
                want_deltas[jj][usize::from(c >> 6)] += 1;
                want_cos_n[jj] += u32::from(moves(c) && !row.abs_cos_ones.is_nan());
            }
        }
        let t = t.finish();
        for jj in 0..j {
            let cats: Vec<u32> = t.categories.iter().map(|c| c[jj]).collect();
            assert_eq!(cats, want_cats[jj], "neuron {jj}");
            let ds: Vec<u32> = t.deltas.iter().map(|c| c[jj]).collect();
            assert_eq!(ds, want_deltas[jj], "neuron {jj}");
            assert_eq!(t.cos_n[jj], want_cos_n[jj], "neuron {jj}");
        }
        // Every example counted once per neuron.
        assert_eq!(t.categories.iter().map(|c| c[0]).sum::<u32>(), b as u32);
        assert!(t.cos_n[0] > 255, "the test must cross a spill");
    }
}
