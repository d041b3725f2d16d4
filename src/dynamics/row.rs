//! One neuron's row of an update, folded in one branch-free pass.

use crate::element::Element;

/// One neuron's totals over its row for one update.
#[derive(Clone, Copy, Debug)]
pub(super) struct RowAcc {
    pub(super) norm2: f64,
    pub(super) dot: f64,
    pub(super) update_along: f64,
    pub(super) error_along: f64,
    pub(super) pos: bool,
    pub(super) neg: bool,
    pub(super) zero: bool,
    pub(super) same: bool,
    pub(super) opposite: bool,
}

/// Accumulator lanes per row.
const LANES: usize = 4;

/// Lanes of a row's sums: independent accumulators (and sign counts rather
/// than flags), so the loop has neither one long serial dependency nor a
/// branch.
#[derive(Default)]
pub(super) struct Lanes {
    norm2: [f64; LANES],
    dot: [f64; LANES],
    update_along: [f64; LANES],
    error_along: [f64; LANES],
    pos: [u32; LANES],
    neg: [u32; LANES],
    same: [u32; LANES],
    opposite: [u32; LANES],
}

impl Lanes {
    /// Folds weights `x` (new values if `WEIGHTS`, else updates) into the
    /// state `w` (`W_{t−1}` → `W_t`) and `p` (`u_{t−1}` → `u_t`), with the
    /// target `t` and the direction `unit`, all of `x`'s length.
    #[inline(always)]
    pub(super) fn fold<const WEIGHTS: bool, F: Element>(
        &mut self,
        x: &[F],
        w: &mut [f64],
        p: &mut [f64],
        t: &[f64],
        unit: &[f64],
    ) {
        let n = x.len();
        let (w, p, t, unit) = (&mut w[..n], &mut p[..n], &t[..n], &unit[..n]);
        // Lane `i % LANES` gets element `i`: independent accumulator chains
        // instead of one serial sum per quantity.
        let full = n - n % LANES;
        let mut step = |i: usize, l: usize| {
            let x = x[i].to_f64();
            let (u, now) = if WEIGHTS {
                (x - w[i], x)
            } else {
                (x, w[i] + x)
            };
            let q = p[i];
            w[i] = now;
            p[i] = u;
            self.norm2[l] += u * u;
            self.dot[l] += u * q;
            self.update_along[l] += u * unit[i];
            self.error_along[l] += (now - t[i]) * unit[i];
            // Signs, not the product `u·q`, which could underflow to 0;
            // non-short-circuit `&`/`|` keep the loop free of branches.
            let (up, un, qp, qn) = (u > 0.0, u < 0.0, q > 0.0, q < 0.0);
            self.pos[l] += u32::from(up);
            self.neg[l] += u32::from(un);
            self.same[l] += u32::from((up & qp) | (un & qn));
            self.opposite[l] += u32::from((up & qn) | (un & qp));
        };
        for base in (0..full).step_by(LANES) {
            for l in 0..LANES {
                step(base + l, l);
            }
        }
        for i in full..n {
            step(i, 0);
        }
    }

    /// The row's totals, for a row of `r` entries.
    pub(super) fn total(&self, r: usize) -> RowAcc {
        let sum = |a: &[f64; LANES]| a.iter().sum::<f64>();
        let count = |a: &[u32; LANES]| a.iter().map(|&c| c as usize).sum::<usize>();
        let (pos, neg) = (count(&self.pos), count(&self.neg));
        RowAcc {
            norm2: sum(&self.norm2),
            dot: sum(&self.dot),
            update_along: sum(&self.update_along),
            error_along: sum(&self.error_along),
            pos: pos > 0,
            neg: neg > 0,
            zero: pos + neg < r,
            same: count(&self.same) == r,
            opposite: count(&self.opposite) == r,
        }
    }
}
