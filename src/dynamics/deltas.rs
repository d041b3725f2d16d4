//! The δ sign-flip counts of a recorder: example `n` of one call against
//! example `n` of the previous call, per neuron.

use crate::element::Element;
use crate::error::{Error, Result};
use crate::shape::Shape;

/// Signs of the last deltas and per-neuron counters, each a contiguous
/// vector so that the per-example loop runs over neurons without gathers.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct DeltaFlips {
    /// `sign(δ)` of the previous call, `B×J`.
    signs: Vec<i8>,
    /// `B`, fixed by the first call (0 before).
    rows: usize,
    /// Per neuron: pairs where both δ are non-zero.
    pairs: Vec<u64>,
    /// Per neuron: of those, pairs whose signs differ.
    flips: Vec<u64>,
    /// Per neuron, this call's pairs and flips: 32-bit counters fill twice
    /// the SIMD lanes of 64-bit ones, and a call has fewer than `2^32` rows.
    call: Vec<[u32; 2]>,
}

impl DeltaFlips {
    pub(super) fn new(op: &'static str, neurons: usize) -> crate::error::Result<Self> {
        let what = format!("the δ flip counters of {neurons} neurons");
        Ok(DeltaFlips {
            signs: Vec::new(),
            rows: 0,
            pairs: super::try_filled(op, &what, neurons, 0)?,
            flips: super::try_filled(op, &what, neurons, 0)?,
            call: super::try_filled(op, &what, neurons, [0; 2])?,
        })
    }

    /// Allocates the signs of the first deltas (`len` of them), so that
    /// [`record`](Self::record) allocates nothing.
    pub(super) fn prepare(&mut self, op: &'static str, len: usize) -> crate::error::Result<()> {
        if self.rows == 0 && self.signs.len() < len {
            super::try_grow(op, "the signs of the deltas", &mut self.signs, len)?;
        }
        Ok(())
    }

    /// The batch size fixed by the first call (0 before).
    pub(super) fn rows(&self) -> usize {
        self.rows
    }

    /// Checks deltas are `B×neurons`, finite, and of the batch size seen before.
    pub(super) fn check<F: Element>(
        &self,
        op: &'static str,
        data: &[F],
        shape: Shape,
    ) -> Result<()> {
        let neurons = self.pairs.len();
        let rows = match shape.dims() {
            &[b, j] if j == neurons && b > 0 => b,
            _ => {
                return Err(Error::ShapeMismatch {
                    op,
                    lhs: Shape::matrix(self.rows.max(1), neurons),
                    rhs: shape,
                    reason: "deltas must be (batch, neurons) with batch ≥ 1",
                });
            }
        };
        if self.rows != 0 && rows != self.rows {
            return Err(Error::ShapeMismatch {
                op,
                lhs: Shape::matrix(self.rows, neurons),
                rhs: shape,
                reason: "the batch size of the deltas must not change (flips compare example n with example n)",
            });
        }
        if !crate::kernels::all_finite(data) {
            let i = data.iter().position(|x| !x.is_finite()).unwrap_or(0);
            return Err(Error::NonFinite {
                op,
                what: format!("{} at element {i} of the deltas {shape}", data[i]),
            });
        }
        Ok(())
    }

    /// Records checked deltas (`rows × neurons`).
    pub(super) fn record<F: Element>(&mut self, data: &[F], rows: usize) {
        let first = self.rows == 0;
        if first {
            self.rows = rows;
            self.signs.resize(data.len(), 0);
        }
        let j = self.pairs.len();
        let later = !first;
        self.call.iter_mut().for_each(|c| *c = [0; 2]);
        for (row, prev_row) in data.chunks_exact(j).zip(self.signs.chunks_exact_mut(j)) {
            for ((&x, prev), call) in row.iter().zip(prev_row).zip(&mut self.call) {
                let sign = i8::from(x > F::zero()) - i8::from(x < F::zero());
                let comparable = later & (sign != 0) & (*prev != 0);
                call[0] += u32::from(comparable);
                call[1] += u32::from(comparable & (sign != *prev));
                *prev = sign;
            }
        }
        for ((pairs, flips), call) in self.pairs.iter_mut().zip(&mut self.flips).zip(&self.call) {
            *pairs += u64::from(call[0]);
            *flips += u64::from(call[1]);
        }
    }

    /// Neuron `j`'s flip rate (`None` without a comparable pair).
    pub(super) fn rate(&self, j: usize) -> Option<f64> {
        let (f, p) = (self.flips[j], self.pairs[j]);
        (p > 0).then(|| f as f64 / p as f64)
    }
}
