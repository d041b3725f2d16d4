//! One neuron's row of an update, folded in one branch-free pass.

use crate::element::Element;

use super::state::StateFloat;

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

/// Accumulator lanes per row: four `f32` fill one SSE register, so the
/// seven accumulators and the temporaries fit the sixteen registers of the
/// baseline x86-64 target without spilling.
const LANES: usize = 4;

/// What a fold computes besides norms, dot products and signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Along {
    /// Nothing: no direction is tracked.
    Nothing,
    /// The update's component along the direction.
    Update,
    /// The weight error's component along the direction.
    Error,
}

/// Lanes of a row's sums, in the state's precision `S`, and its sign
/// counts: independent accumulators, so the loop has neither one long serial
/// dependency nor a branch. The sums and the counts are two loops: float
/// sums need explicit lanes (the compiler may not reorder them), integer
/// counts vectorise by themselves, and either loop alone is the simple shape
/// the compiler turns into SIMD code.
pub(super) struct Lanes<S> {
    norm2: [S; LANES],
    dot: [S; LANES],
    along: [S; LANES],
    pos: u32,
    neg: u32,
    same: u32,
    opposite: u32,
}

impl<S: StateFloat> Default for Lanes<S> {
    fn default() -> Self {
        let z = [S::zero(); LANES];
        Lanes {
            norm2: z,
            dot: z,
            along: z,
            pos: 0,
            neg: 0,
            same: 0,
            opposite: 0,
        }
    }
}

impl<S: StateFloat> Lanes<S> {
    /// Folds values `x` (new weights if `WEIGHTS`, else updates `u = scale·x`)
    /// into the state `w` (`W_{t−1}` → `W_t`), writing `u_t` into `p` beside
    /// the previous update `q = u_{t−1}`. With `ALONG = Along::Update` it
    /// accumulates `u·unit`, with `Along::Error` `(W_t − target)·unit`;
    /// otherwise `target` and `unit` are not read. All slices have at least
    /// `x.len()` entries.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub(super) fn fold<const WEIGHTS: bool, F: Element>(
        &mut self,
        along: Along,
        x: &[F],
        w: &mut [S],
        p: &mut [S],
        target: &[S],
        unit: &[S],
        scale: S,
        q: &[S],
    ) {
        match along {
            Along::Nothing => self.fold_as::<WEIGHTS, 0, F>(x, w, p, q, target, unit, scale),
            Along::Update => self.fold_as::<WEIGHTS, 1, F>(x, w, p, q, target, unit, scale),
            Along::Error => self.fold_as::<WEIGHTS, 2, F>(x, w, p, q, target, unit, scale),
        }
        let zero = S::zero();
        let (u, q) = (&p[..x.len()], &q[..x.len()]);
        // Signs, not the product `u·q`, which could underflow to 0;
        // non-short-circuit `&`/`|` keep the loops free of branches.
        let (mut pos, mut neg, mut same, mut opposite) = (0u32, 0u32, 0u32, 0u32);
        for (&u, &q) in u.iter().zip(q) {
            let (up, un, qp, qn) = (u > zero, u < zero, q > zero, q < zero);
            pos += u32::from(up);
            neg += u32::from(un);
            same += u32::from((up & qp) | (un & qn));
            opposite += u32::from((up & qn) | (un & qp));
        }
        self.pos += pos;
        self.neg += neg;
        self.same += same;
        self.opposite += opposite;
    }

    /// The sums of [`fold`](Self::fold), with what is computed fixed at
    /// compile time (`ALONG`: 0 nothing, 1 the update, 2 the error), so the
    /// loop does no work that was not asked for.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn fold_as<const WEIGHTS: bool, const ALONG: u8, F: Element>(
        &mut self,
        x: &[F],
        w: &mut [S],
        p: &mut [S],
        q: &[S],
        target: &[S],
        unit: &[S],
        scale: S,
    ) {
        let n = x.len();
        let (w, p, q) = (&mut w[..n], &mut p[..n], &q[..n]);
        let (t, v) = match ALONG {
            0 => (&[][..], &[][..]),
            1 => (&[][..], &unit[..n]),
            _ => (&target[..n], &unit[..n]),
        };
        // Locals rather than fields, so the accumulators live in registers.
        let (mut norm2, mut dot, mut along) = (self.norm2, self.dot, self.along);
        // Lane `i % LANES` gets element `i`: independent accumulator chains
        // instead of one serial sum per quantity. Chunks are fixed-size
        // arrays and each quantity is its own loop over the lanes, the shape
        // the compiler turns into one SIMD instruction per line.
        let full = n - n % LANES;
        let (xh, wh, ph, qh) = (&x[..full], &mut w[..full], &mut p[..full], &q[..full]);
        let chunks = xh
            .chunks_exact(LANES)
            .zip(wh.chunks_exact_mut(LANES))
            .zip(ph.chunks_exact_mut(LANES))
            .zip(qh.chunks_exact(LANES));
        for (c, (((xs, ws), ps), qs)) in chunks.enumerate() {
            let mut u = [S::zero(); LANES];
            let mut now = [S::zero(); LANES];
            for l in 0..LANES {
                let xl = S::of(xs[l]);
                (u[l], now[l]) = if WEIGHTS {
                    (xl - ws[l], xl)
                } else {
                    (scale * xl, ws[l] + scale * xl)
                };
            }
            ws.copy_from_slice(&now);
            ps.copy_from_slice(&u);
            for l in 0..LANES {
                norm2[l] = norm2[l] + u[l] * u[l];
            }
            for l in 0..LANES {
                dot[l] = dot[l] + u[l] * qs[l];
            }
            let lanes = c * LANES..(c + 1) * LANES;
            match ALONG {
                0 => {}
                1 => {
                    let vs = &v[lanes];
                    for l in 0..LANES {
                        along[l] = along[l] + u[l] * vs[l];
                    }
                }
                _ => {
                    let (ts, vs) = (&t[lanes.clone()], &v[lanes]);
                    for l in 0..LANES {
                        along[l] = along[l] + (now[l] - ts[l]) * vs[l];
                    }
                }
            }
        }
        for i in full..n {
            let xi = S::of(x[i]);
            let (u, now) = if WEIGHTS {
                (xi - w[i], xi)
            } else {
                (scale * xi, w[i] + scale * xi)
            };
            (w[i], p[i]) = (now, u);
            norm2[0] = norm2[0] + u * u;
            dot[0] = dot[0] + u * q[i];
            match ALONG {
                0 => {}
                1 => along[0] = along[0] + u * v[i],
                _ => along[0] = along[0] + (now - t[i]) * v[i],
            }
        }
        (self.norm2, self.dot, self.along) = (norm2, dot, along);
    }

    /// The row's totals, for a row of `r` entries; the tracked component
    /// goes to `update_along` or `error_along` as `along` says.
    pub(super) fn total(&self, r: usize, along: Along) -> RowAcc {
        let sum = |a: &[S; LANES]| a.iter().map(|x| x.as_f64()).sum::<f64>();
        let (pos, neg) = (self.pos as usize, self.neg as usize);
        let component = sum(&self.along);
        RowAcc {
            norm2: sum(&self.norm2),
            dot: sum(&self.dot),
            update_along: if along == Along::Update {
                component
            } else {
                0.0
            },
            error_along: if along == Along::Error {
                component
            } else {
                0.0
            },
            pos: pos > 0,
            neg: neg > 0,
            zero: pos + neg < r,
            same: self.same as usize == r,
            opposite: self.opposite as usize == r,
        }
    }
}
