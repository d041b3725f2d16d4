//! Sign patterns of rows, and how many distinct orthants the per-example
//! gradient rows of one neuron visit.
//!
//! The row `Δ_nj·a_n` has the sign pattern of `a_n` when `Δ_nj > 0` and the
//! negated pattern when `Δ_nj < 0`. So each input row is hashed twice (its
//! pattern and the negation), the `2B` hashes are numbered once per layer,
//! and a neuron's occupancy is the number of distinct numbers its rows pick:
//! `O(B)` per neuron with a bitset of `2B` bits reused for every neuron,
//! never a set per neuron and never a `B×J×K` tensor.

#[cfg(test)]
use crate::analysis::sign::Sign;
use crate::dynamics::{try_filled, try_grow};

/// Distinct orthants the per-example rows of each neuron visit.
///
/// Row `Δ_nj·a_n` is assigned the closed orthant `sign(Δ_nj)·s(a_n)`, where
/// `s_i` is the sign of `a_ni` under the tolerance and a zero input counts as
/// positive (a zero entry lies on the boundary of both orthants; this choice
/// puts every row of non-negative inputs, ReLU outputs included, in the
/// closed positive or negative orthant). Zero and non-finite rows visit none.
/// Patterns are compared by a 64-bit hash.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct OrthantOccupancy {
    /// The row length `K` (plus one with the bias): there are `2^dimension`
    /// orthants.
    pub dimension: usize,
    /// The fewest any neuron visited.
    pub min: usize,
    /// The mean over neurons.
    pub mean: f64,
    /// The most any neuron visited.
    pub max: usize,
}

/// 2-bit codes chosen so that negating a pattern swaps the two bits of every
/// code: positive `01` ↔ negative `10`; zero `00` and non-finite `11` stay.
/// (The analysis packs inputs' codes directly, zeros taken as positive: see
/// `inputs::orthant_code`.)
#[cfg(test)]
const fn code(s: Sign) -> u64 {
    match s {
        Sign::Zero => 0b00,
        Sign::Positive => 0b01,
        Sign::Negative => 0b10,
        Sign::NonFinite => 0b11,
    }
}

const LOW_BITS: u64 = 0x5555_5555_5555_5555;

/// The packed codes of the negated pattern.
#[inline]
fn negate(word: u64) -> u64 {
    ((word & LOW_BITS) << 1) | ((word >> 1) & LOW_BITS)
}

/// SplitMix64's finaliser: a bijective mix, so distinct states stay distinct
/// and nearby patterns land far apart.
#[inline]
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A 64-bit hash of a sign pattern and of its negation, built one sign at a
/// time (32 signs per word). Two distinct patterns collide with probability
/// about 2⁻⁶⁴, negligible against the `2B` patterns of a batch.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PatternHasher {
    state: (u64, u64),
    word: u64,
    filled: u32,
    len: u64,
}

impl PatternHasher {
    pub(crate) fn new() -> Self {
        PatternHasher {
            state: (0x243F_6A88_85A3_08D3, 0x243F_6A88_85A3_08D3),
            word: 0,
            filled: 0,
            len: 0,
        }
    }

    #[inline]
    fn flush(&mut self) {
        let (w, nw) = (self.word, negate(self.word));
        self.state.0 = mix(self.state.0.rotate_left(29) ^ w);
        self.state.1 = mix(self.state.1.rotate_left(29) ^ nw);
        self.word = 0;
        self.filled = 0;
    }

    /// Appends one sign.
    #[cfg(test)]
    pub(crate) fn push(&mut self, s: Sign) {
        self.word |= code(s) << (2 * self.filled);
        self.filled += 1;
        self.len += 1;
        if self.filled == 32 {
            self.flush();
        }
    }

    /// Appends `len ≤ 32` signs already packed as 2-bit codes (code `i` in
    /// bits `2i..2i+2`): a whole word at once when the current word is empty.
    #[inline]
    pub(crate) fn push_word(&mut self, word: u64, len: u32) {
        if self.filled == 0 && len == 32 {
            self.word = word;
            self.len += 32;
            self.flush();
            return;
        }
        for i in 0..len {
            self.word |= ((word >> (2 * i)) & 3) << (2 * self.filled);
            self.filled += 1;
            self.len += 1;
            if self.filled == 32 {
                self.flush();
            }
        }
    }

    /// The hashes of the pattern and of its negation.
    pub(crate) fn finish(mut self) -> (u64, u64) {
        if self.filled > 0 {
            self.flush();
        }
        (mix(self.state.0 ^ self.len), mix(self.state.1 ^ self.len))
    }
}

/// The orthant numbers of a batch's input rows, and a reusable bitset that
/// counts the distinct orthants one neuron visits.
#[derive(Debug, Default)]
pub(crate) struct OrthantCounter {
    /// For each example, the number of its pattern and of the negation.
    ids: Vec<(u32, u32)>,
    /// One bit per orthant number, plus a last one where rows that visit no
    /// orthant are marked (so that marking needs no branch).
    visited: Vec<u64>,
    /// The number of the extra slot.
    sink: usize,
    /// Examples sharing the most frequent definite pattern.
    modal: usize,
}

impl OrthantCounter {
    /// Numbers the patterns `(hash, negated hash)` of every example, each
    /// given with whether it is definite (no zero or non-finite entry).
    ///
    /// # Errors
    /// [`Error::TooLarge`](crate::Error::TooLarge) naming `op`
    /// when the tables (`O(B)`) cannot be allocated.
    pub(crate) fn new(
        op: &'static str,
        patterns: impl ExactSizeIterator<Item = ((u64, u64), bool)> + Clone,
    ) -> crate::error::Result<Self> {
        let what = "the orthant tables";
        let examples = patterns.len();
        let mut all = Vec::new();
        try_grow(op, what, &mut all, examples.saturating_mul(2))?;
        all.extend(patterns.clone().flat_map(|((p, q), _)| [p, q]));
        all.sort_unstable();
        all.dedup();
        let id = |h: u64| all.binary_search(&h).expect("every hash was collected") as u32;
        let mut ids = Vec::new();
        try_grow(op, what, &mut ids, examples)?;
        let mut frequency = try_filled(op, what, all.len(), 0u32)?;
        for ((p, q), definite) in patterns {
            let (ip, iq) = (id(p), id(q));
            ids.push((ip, iq));
            if definite {
                frequency[ip as usize] += 1;
            }
        }
        let modal = frequency.iter().copied().max().unwrap_or(0) as usize;
        let sink = all.len();
        Ok(OrthantCounter {
            ids,
            visited: try_filled(op, what, (sink + 1).div_ceil(64), 0)?,
            sink,
            modal,
        })
    }

    /// A second counter over the same examples (for a second thread),
    /// copied rather than numbered again: no sort of the `2B` hashes.
    ///
    /// # Errors
    /// As [`new`](Self::new), when the copy cannot be allocated.
    pub(crate) fn try_clone(&self, op: &'static str) -> crate::error::Result<Self> {
        let what = "the orthant tables";
        let mut ids = Vec::new();
        try_grow(op, what, &mut ids, self.ids.len())?;
        ids.extend_from_slice(&self.ids);
        Ok(OrthantCounter {
            ids,
            visited: try_filled(op, what, self.visited.len(), 0)?,
            sink: self.sink,
            modal: self.modal,
        })
    }

    /// How many examples share the most frequent definite sign pattern.
    pub(crate) fn modal_pattern_examples(&self) -> usize {
        self.modal
    }

    /// Starts counting for a new neuron.
    #[inline]
    pub(crate) fn reset(&mut self) {
        self.visited.iter_mut().for_each(|w| *w = 0);
    }

    /// Records the row of example `n` whose `δ` is positive (`true`) or
    /// negative (`false`), if it `moves` (is neither zero nor non-finite).
    #[inline]
    pub(crate) fn visit(&mut self, n: usize, delta_positive: bool, moves: bool) {
        let (p, q) = self.ids[n];
        let id = if delta_positive { p } else { q } as usize;
        let id = if moves { id } else { self.sink };
        self.visited[id / 64] |= 1u64 << (id % 64);
    }

    /// Marks the rows of every example for one neuron, from the code bytes
    /// of its column `j` in a B×`stride` code matrix (bit 4: `δ > 0`) and
    /// whether each row moves. When all orthant numbers fit in one word,
    /// the bits gather in a register instead of memory.
    // Always inlined into the vectorised analysis pass (see `extremes`).
    #[inline(always)]
    pub(crate) fn visit_column(
        &mut self,
        codes: &[u8],
        j: usize,
        stride: usize,
        moves: impl Fn(u8) -> bool,
    ) {
        let column = codes[j..].iter().step_by(stride);
        if self.sink < 64 {
            let mut word = 0u64;
            for (&(p, q), &code) in self.ids.iter().zip(column) {
                let id = if code & 16 != 0 { p } else { q } as usize;
                let id = if moves(code) { id } else { self.sink };
                word |= 1u64 << id;
            }
            self.visited[0] |= word;
        } else {
            for (n, &code) in column.enumerate() {
                self.visit(n, code & 16 != 0, moves(code));
            }
        }
    }

    /// Distinct orthants visited since the last [`reset`](Self::reset).
    #[inline]
    pub(crate) fn visited(&self) -> usize {
        let marked: u32 = self.visited.iter().map(|w| w.count_ones()).sum();
        let sink = (self.visited[self.sink / 64] >> (self.sink % 64)) & 1;
        (marked - sink as u32) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(signs: &[Sign]) -> (u64, u64) {
        let mut h = PatternHasher::new();
        signs.iter().for_each(|&s| h.push(s));
        h.finish()
    }

    #[test]
    fn negated_hash_equals_hash_of_the_negated_pattern() {
        use Sign::*;
        // 70 signs: spans three words, the last one partial.
        let p: Vec<Sign> = (0..70)
            .map(|i| [Positive, Negative, Zero, NonFinite][i * 7 % 4])
            .collect();
        let neg: Vec<Sign> = p
            .iter()
            .map(|&s| match s {
                Positive => Negative,
                Negative => Positive,
                s => s,
            })
            .collect();
        assert_eq!(hash(&p).1, hash(&neg).0);
        assert_eq!(hash(&neg).1, hash(&p).0);
    }

    #[test]
    fn packed_words_hash_like_single_signs() {
        use Sign::*;
        let signs: Vec<Sign> = (0..45)
            .map(|i| [Positive, Negative, NonFinite][i % 3])
            .collect();
        let mut packed = PatternHasher::new();
        for chunk in signs.chunks(32) {
            let word = chunk
                .iter()
                .enumerate()
                .fold(0u64, |w, (i, &s)| w | (code(s) << (2 * i)));
            packed.push_word(word, chunk.len() as u32);
        }
        packed.push_word(code(Negative), 1);
        let mut one_by_one = PatternHasher::new();
        signs
            .iter()
            .chain([&Negative])
            .for_each(|&s| one_by_one.push(s));
        assert_eq!(packed.finish(), one_by_one.finish());
    }

    #[test]
    fn patterns_of_different_lengths_differ() {
        // Zero codes are 00: without the length, [0] and [0, 0] would collide.
        assert_ne!(hash(&[Sign::Zero]).0, hash(&[Sign::Zero, Sign::Zero]).0);
    }

    #[test]
    fn opposite_rows_of_opposite_deltas_share_an_orthant() {
        use Sign::*;
        // a_0 = (+, −) with δ > 0 and a_1 = (−, +) with δ < 0 both give (+, −).
        let rows = [
            (hash(&[Positive, Negative]), true),
            (hash(&[Negative, Positive]), true),
        ];
        let mut c = OrthantCounter::new("test", rows.iter().copied()).unwrap();
        c.reset();
        c.visit(0, true, true);
        c.visit(1, false, true);
        assert_eq!(c.visited(), 1);
        c.visit(1, true, true);
        assert_eq!(c.visited(), 2);
        c.visit(0, false, false); // a zero row visits nothing
        assert_eq!(c.visited(), 2);
        c.reset();
        assert_eq!(c.visited(), 0);
    }

    #[test]
    fn modal_pattern_ignores_indefinite_rows() {
        use Sign::*;
        let rows = [
            (hash(&[Positive, Zero]), false),
            (hash(&[Positive, Zero]), false),
            (hash(&[Positive, Positive]), true),
        ];
        assert_eq!(
            OrthantCounter::new("test", rows.iter().copied())
                .unwrap()
                .modal_pattern_examples(),
            1
        );
    }
}
