//! The per-example pass over a layer, shaped for the compiler. `Δ` is
//! row-major (B×J), so for each example `n` one contiguous loop turns the
//! deltas of all `J` neurons into code bytes (no branch on the near-random
//! signs: it vectorises), and short loops over `j` add those bytes into
//! per-neuron counter arrays. Nothing is transposed and nothing is
//! allocated per neuron.
//!
//! A code byte holds, for example `n` and neuron `j`:
//! bits 0–3, the presence code of the row `fl(Δ_nj·a_n)` (see
//! `sign::presence`); bit 4, `Δ_nj > 0`; bit 5, `Δ_nj < 0` (raw signs, for
//! the theorem); bits 6–7, `Δ_nj`'s class under the tolerance (0 positive,
//! 1 negative, 2 zero, 3 non-finite).

use crate::dynamics::try_filled;
use crate::element::Element;

use super::input_rows::InputRow;
use super::sign::{self, NEGATIVE, NON_FINITE, POSITIVE, ZERO};

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

/// Per-neuron counters, each an array over the layer's neurons.
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

/// `acc[j] += 1` where `pred(codes[j])`: a loop the compiler vectorises.
#[inline]
fn count(acc: &mut [u32], codes: &[u8], pred: impl Fn(u8) -> bool) {
    for (a, &c) in acc.iter_mut().zip(codes) {
        *a += u32::from(pred(c));
    }
}

impl Tallies {
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
        Ok(Tallies {
            categories,
            deltas,
            checked: z()?,
            violations: z()?,
            cos_sum: try_filled(op, &what, neurons, 0.0)?,
            cos_n: z()?,
        })
    }

    /// Adds example `n`'s code bytes for every neuron.
    pub(crate) fn add_example<F: Element>(&mut self, row: &InputRow<F>, codes: &[u8]) {
        let [pos, neg, wpos, wneg, zero, mixed, nonfin] = &mut self.categories;
        let finite_row = |c: u8| c & 15 < NON_FINITE;
        count(pos, codes, |c| c & 15 == POSITIVE);
        count(neg, codes, |c| c & 15 == NEGATIVE);
        count(wpos, codes, |c| c & 15 == POSITIVE | ZERO);
        count(wneg, codes, |c| c & 15 == NEGATIVE | ZERO);
        count(zero, codes, |c| {
            finite_row(c) & (c & (POSITIVE | NEGATIVE) == 0)
        });
        count(mixed, codes, |c| {
            finite_row(c) & (c & (POSITIVE | NEGATIVE) == POSITIVE | NEGATIVE)
        });
        count(nonfin, codes, |c| !finite_row(c));
        for (i, acc) in self.deltas.iter_mut().enumerate() {
            count(acc, codes, |c| c >> 6 == i as u8);
        }
        if row.non_negative && row.finite {
            count(&mut self.checked, codes, finite_row);
            // Non-zero entries must carry δ's sign; a zero row always agrees.
            count(&mut self.violations, codes, |c| {
                let against = ((c & DELTA_POSITIVE != 0) & (c & NEGATIVE != 0))
                    | ((c & DELTA_NEGATIVE != 0) & (c & POSITIVE != 0))
                    | ((c & (DELTA_POSITIVE | DELTA_NEGATIVE) == 0)
                        & (c & (POSITIVE | NEGATIVE) != 0));
                finite_row(c) & against
            });
        }
        if !row.abs_cos_ones.is_nan() {
            let cos = row.abs_cos_ones;
            for ((s, k), &c) in self.cos_sum.iter_mut().zip(&mut self.cos_n).zip(codes) {
                let counted = moves(c);
                *s += if counted { cos } else { 0.0 };
                *k += u32::from(counted);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::input_rows::summarize_rows;
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
        let mut t = Tallies::new("test", 1).unwrap();
        for (row, d) in rows.iter().zip([1.0, 1.0, -1.0]) {
            let mut code = [0u8];
            codes_of_example(row, &[d], 0.0, false, &mut code);
            t.add_example(row, &code);
        }
        let cats: Vec<u32> = t.categories.iter().map(|c| c[0]).collect();
        assert_eq!(cats, [1, 0, 0, 1, 0, 1, 0]);
        let deltas: Vec<u32> = t.deltas.iter().map(|c| c[0]).collect();
        assert_eq!(deltas, [2, 1, 0, 0]);
        // Examples 0 and 2 have inputs ≥ 0; both rows agree with their δ.
        assert_eq!((t.checked[0], t.violations[0]), (2, 0));
    }
}
