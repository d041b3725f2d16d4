//! The backward of a 2 × 2, stride-2 max-pool over one plane, on AVX2 for
//! `f32`: eight windows per step, each one's gradient routed to its first
//! tap equal to the saved maximum.
//!
//! The portable loop in `ops::conv` picks the tap per window with scalar
//! compares (about 17 cycles a window on Zen 3, 1.7 ms of a W6 step at one
//! thread); the compiler does not vectorise it, because a window's four
//! taps sit in pairs across two rows. Here the pairs are split into even
//! and odd taps with two shuffles, compared eight windows at a time, and
//! interleaved back for the stores.
//!
//! A row whose windows do not fill a vector (W6's second pool has 7 per
//! row, its first 14) ends with a step that reads and writes past the row,
//! into the rest of the plane. Its lanes past the row add `-0` (which
//! leaves every value's bits alone) or, overwriting, store `+0` over values
//! that are written after it: each row pair's steps run right to left, so
//! the first row's overflow lands on the second row's start before that
//! is written, the second row's on the next row pair, and the leftover
//! column of an odd width on what the caller zeroes last. Only the plane's
//! last row pair, with nothing after it, takes such a step through
//! zero-padded copies. Masked stores would do the same in one instruction,
//! but they are slow on AMD's cores (half the loop's time on Zen 3), and a
//! blend with the loaded values compiles back into one.

#![allow(unsafe_code)]

use crate::element::Element;

/// One `w`-wide plane of a 2 × 2, stride-2 max-pool's backward: `plane`
/// the input, `yout` the saved maxima and `gout` the output gradient of its
/// `oh × ow` windows, `gplane` the input gradient. Window `(oy, x)`'s
/// gradient goes to its first tap (row-major) equal to its maximum, or the
/// first NaN when the maximum is NaN, and to the last tap when none of the
/// first three is. Without `add` the other taps get `+0` and the winner
/// `0 + go` (the bits the general path's zero fill then `+=` gives); with
/// it the other taps add `-0` (which leaves every value's bits alone) and
/// the winner adds `go`. Overwriting may also store `+0` in the column an
/// odd width leaves over, which the caller zeroes after; an odd height's
/// leftover row is not touched.
///
/// Returns `false`, having done nothing, unless `F` is `f32` and the CPU
/// has AVX2; the caller then runs its portable loop.
///
/// # Panics
/// If `2·oh` rows of `w ≥ 2·ow` do not fit in `plane` or `gplane`, or
/// `yout` or `gout` holds fewer than `oh·ow` values.
pub(crate) fn max_pool_2x2_plane_backward<F: Element>(
    (plane, w): (&[F], usize),
    (yout, gout): (&[F], &[F]),
    (oh, ow): (usize, usize),
    (gplane, add): (&mut [F], bool),
) -> bool {
    let rows = 2 * oh * w;
    assert!(
        w >= 2 * ow
            && plane.len() >= rows
            && gplane.len() >= rows
            && yout.len() >= oh * ow
            && gout.len() >= oh * ow,
        "max_pool_2x2_plane_backward: {oh}×{ow} windows over rows of {w} need {rows} values \
         and {} maxima and gradients, got {}, {}, {} and {}",
        oh * ow,
        plane.len(),
        gplane.len(),
        yout.len(),
        gout.len()
    );
    #[cfg(target_arch = "x86_64")]
    if let (Some(plane), Some(yout), Some(gout), Some(gplane), true) = (
        super::as_f32(&plane[..rows]),
        super::as_f32(&yout[..oh * ow]),
        super::as_f32(&gout[..oh * ow]),
        super::as_f32_mut(&mut gplane[..rows]),
        std::arch::is_x86_feature_detected!("avx2"),
    ) {
        // SAFETY: AVX2 was detected on this CPU just above.
        unsafe { plane_avx2((plane, w), (yout, gout), ow, gplane, add) };
        return true;
    }
    false
}

/// The AVX2 loop of [`max_pool_2x2_plane_backward`], over `plane.len() /
/// (2w)` row pairs (the slices hold exactly those rows and their windows).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn plane_avx2(
    (plane, w): (&[f32], usize),
    (yout, gout): (&[f32], &[f32]),
    ow: usize,
    gplane: &mut [f32],
    add: bool,
) {
    let len = plane.len();
    for (oy, (m, go)) in yout
        .chunks_exact(ow.max(1))
        .zip(gout.chunks_exact(ow.max(1)))
        .enumerate()
    {
        let (o0, o1) = (2 * oy * w, (2 * oy + 1) * w);
        // The steps right to left: a last step that does not fill its
        // rows writes past them, over values a step before it (or the
        // next row pair) then writes.
        for x in (0..ow).step_by(8).rev() {
            let n = (ow - x).min(8);
            let at = (o0 + 2 * x, o1 + 2 * x);
            let window = oy * ow + x;
            if at.1 + 16 <= len && window + 8 <= yout.len() {
                let eight = |v: &[f32]| -> [f32; 8] { v[window..][..8].try_into().expect("8") };
                step((plane, gplane), at, (&eight(yout), &eight(gout)), n, add);
            } else {
                // The plane's last row pair: the step on padded copies,
                // whose windows past the row keep their copied values.
                let (mut p, mut g) = ([0.0f32; 32], [0.0f32; 32]);
                let (mut mt, mut gt) = ([0.0f32; 8], [0.0f32; 8]);
                let k = 2 * n;
                p[..k].copy_from_slice(&plane[at.0..][..k]);
                p[16..][..k].copy_from_slice(&plane[at.1..][..k]);
                g[..k].copy_from_slice(&gplane[at.0..][..k]);
                g[16..][..k].copy_from_slice(&gplane[at.1..][..k]);
                mt[..n].copy_from_slice(&m[x..][..n]);
                gt[..n].copy_from_slice(&go[x..][..n]);
                step((&p, &mut g), (0, 16), (&mt, &gt), n, add);
                gplane[at.0..][..k].copy_from_slice(&g[..k]);
                gplane[at.1..][..k].copy_from_slice(&g[16..][..k]);
            }
        }
    }
}

/// Eight windows of [`plane_avx2`] whose taps start at `o0` (first row)
/// and `o1` (second row) of `plane`, their maxima `m` and gradients `go`;
/// only the first `n` are the step's own. The 16 values from each offset
/// are written, the first row's before the second's: the lanes of windows
/// `n..8` add `-0` or store `+0` (see the module's notes).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn step(
    (plane, gplane): (&[f32], &mut [f32]),
    (o0, o1): (usize, usize),
    (m, go): (&[f32; 8], &[f32; 8]),
    n: usize,
    add: bool,
) {
    use std::arch::x86_64::*;
    let (r0, r1) = (&plane[o0..][..16], &plane[o1..][..16]);
    assert!(o0.max(o1) + 16 <= gplane.len());
    // SAFETY (every load): 8 values at offset 0 or 8 of a slice of 16, or
    // of an array of 8; unaligned access.
    let load = |p: *const f32| unsafe { _mm256_loadu_ps(p) };
    let (a_lo, a_hi) = (load(r0.as_ptr()), load(r0[8..].as_ptr()));
    let (b_lo, b_hi) = (load(r1.as_ptr()), load(r1[8..].as_ptr()));
    // Even and odd taps of each 128-bit half: windows in the order
    // 0 1 4 5 | 2 3 6 7; `m` and `go` are permuted to match.
    let even_a = _mm256_shuffle_ps::<0b10_00_10_00>(a_lo, a_hi);
    let odd_a = _mm256_shuffle_ps::<0b11_01_11_01>(a_lo, a_hi);
    let even_b = _mm256_shuffle_ps::<0b10_00_10_00>(b_lo, b_hi);
    let permute =
        |v: __m256| _mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_castps_pd(v)));
    let (mx, g) = (permute(load(m.as_ptr())), permute(load(go.as_ptr())));
    let nan_m = _mm256_cmp_ps::<_CMP_UNORD_Q>(mx, mx);
    let hit = |v: __m256| {
        _mm256_or_ps(
            _mm256_cmp_ps::<_CMP_EQ_OQ>(v, mx),
            _mm256_and_ps(nan_m, _mm256_cmp_ps::<_CMP_UNORD_Q>(v, v)),
        )
    };
    // Lanes (in window order) below `n`, then in the permuted order.
    let below = |n: usize| {
        let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(n as i32), lanes))
    };
    let own = permute(below(n));
    let (h0, h1, h2) = (hit(even_a), hit(odd_a), hit(even_b));
    let none01 = _mm256_andnot_ps(_mm256_or_ps(h0, h1), own);
    let w0 = _mm256_and_ps(h0, own);
    let w1 = _mm256_andnot_ps(h0, _mm256_and_ps(h1, own));
    let w2 = _mm256_and_ps(none01, h2);
    let w3 = _mm256_andnot_ps(h2, none01);
    let (win, lose) = if add {
        (g, _mm256_set1_ps(-0.0))
    } else {
        (_mm256_add_ps(_mm256_setzero_ps(), g), _mm256_setzero_ps())
    };
    let pick = |w: __m256| _mm256_blendv_ps(lose, win, w);
    let (v0, v1, v2, v3) = (pick(w0), pick(w1), pick(w2), pick(w3));
    // Interleaved back: the low unpack is elements 0..8 of the step's
    // rows, the high one 8..16.
    let rows = [
        (o0, _mm256_unpacklo_ps(v0, v1), _mm256_unpackhi_ps(v0, v1)),
        (o1, _mm256_unpacklo_ps(v2, v3), _mm256_unpackhi_ps(v2, v3)),
    ];
    for (o, lo, hi) in rows {
        let q = &mut gplane[o..][..16];
        let (lo, hi) = if add {
            (
                _mm256_add_ps(load(q.as_ptr()), lo),
                _mm256_add_ps(load(q[8..].as_ptr()), hi),
            )
        } else {
            (lo, hi)
        };
        // SAFETY: 8 values at offset 0 and 8 of a slice of 16 of the
        // mutably borrowed gradient; unaligned access.
        unsafe {
            _mm256_storeu_ps(q.as_mut_ptr(), lo);
            _mm256_storeu_ps(q[8..].as_mut_ptr(), hi);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rule as written, one window at a time.
    fn reference(
        (plane, w): (&[f32], usize),
        (m, go): (&[f32], &[f32]),
        (oh, ow): (usize, usize),
        (g, add): (&mut [f32], bool),
    ) {
        for oy in 0..oh {
            for x in 0..ow {
                let q = oy * ow + x;
                let at = [
                    2 * oy * w + 2 * x,
                    2 * oy * w + 2 * x + 1,
                    (2 * oy + 1) * w + 2 * x,
                ];
                let at = [at[0], at[1], at[2], at[2] + 1];
                let hit = |v: f32| v == m[q] || (m[q].is_nan() && v.is_nan());
                let won = (0..3).find(|&t| hit(plane[at[t]])).unwrap_or(3);
                for (t, &i) in at.iter().enumerate() {
                    g[i] = match (add, t == won) {
                        (true, true) => g[i] + go[q],
                        (true, false) => g[i] + -0.0,
                        (false, true) => 0.0 + go[q],
                        (false, false) => 0.0,
                    };
                }
            }
        }
    }

    /// Planes of every window width up to three vectors, with leftover
    /// rows and columns, overwriting and adding, with ties, NaN maxima,
    /// signed zeros and negative-zero gradients: the same bits as the rule.
    /// Adding touches no value a window does not cover; overwriting may
    /// store `+0` in a leftover column (which the caller then zeroes) but
    /// leaves a leftover row alone.
    #[test]
    fn matches_the_rule_bit_for_bit_at_every_size() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut next = move || rng.random_range(0..usize::MAX);
        let values = [0.0f32, -0.0, 1.0, 2.0, 2.0, -3.0, f32::NAN, 5.0];
        for ow in 0..=24 {
            for (oh, extra_w, extra_h) in [(1, 0, 0), (2, 1, 1), (3, 3, 0), (5, 0, 1)] {
                for add in [false, true] {
                    let (w, h) = (2 * ow + extra_w, 2 * oh + extra_h);
                    let plane: Vec<f32> = (0..w * h).map(|_| values[next() % 8]).collect();
                    // Each maximum is one of its window's taps, as the
                    // forward saves it.
                    let m: Vec<f32> = (0..oh * ow)
                        .map(|q| {
                            let (oy, x) = (q / ow, q % ow);
                            let (r, c) = (2 * oy + next() % 2, 2 * x + next() % 2);
                            plane[r * w + c]
                        })
                        .collect();
                    let go: Vec<f32> = (0..oh * ow)
                        .map(|_| [1.5, -0.0, -2.0][next() % 3])
                        .collect();
                    let start: Vec<f32> =
                        (0..w * h).map(|_| [-0.0, 0.25, 9.0][next() % 3]).collect();
                    let (mut got, mut want) = (start.clone(), start);
                    let done = max_pool_2x2_plane_backward(
                        (&plane, w),
                        (&m, &go),
                        (oh, ow),
                        (&mut got, add),
                    );
                    if !done {
                        return; // no AVX2 here: the caller's portable loop runs instead
                    }
                    reference((&plane, w), (&m, &go), (oh, ow), (&mut want, add));
                    if !add {
                        for r in 0..2 * oh {
                            for v in [&mut got, &mut want] {
                                v[r * w + 2 * ow..][..extra_w].fill(0.0);
                            }
                        }
                    }
                    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(
                        bits(&got),
                        bits(&want),
                        "{oh}×{ow} windows, width {w}, add {add}"
                    );
                }
            }
        }
    }

    /// `f64` is left to the caller's portable loop.
    #[test]
    fn other_types_are_declined() {
        let (plane, m) = ([1.0f64; 4], [1.0f64; 1]);
        let mut g = [0.0f64; 4];
        assert!(!max_pool_2x2_plane_backward(
            (&plane, 2),
            (&m, &m),
            (1, 1),
            (&mut g, false)
        ));
        assert_eq!(g, [0.0; 4]);
    }
}
