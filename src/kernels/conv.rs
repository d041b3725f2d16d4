//! Direct 2-D correlation on AVX2 for `f32`: the three products of a
//! stride-1, undilated convolution (forward, input gradient and weight
//! gradient) computed from zero-padded planes, without a patch matrix.
//!
//! Each step keeps sixteen filters (two vectors of eight) times four
//! output positions (or, for the weight gradient, four taps) in eight
//! accumulators: per tap, two vector loads of filter weights, four
//! broadcasts of input values and eight fused multiply-adds. The positions
//! need not share a row, so no lane is wasted on a row's end (W6's second
//! layer has rows of 14). The forward's accumulators hold filters in
//! lanes; they are transposed four positions at a time into the
//! channel-major output.
//!
//! Measured on W6's layers (one thread, Zen 3), against the patch matrix
//! and the matrix kernel: the second layer's forward 85 → 60 µs per
//! example. The step streams every input plane once per 16 filters, so it
//! is used only where the planes and the filters stay in the core's cache
//! (see `ops::conv`).

#![allow(unsafe_code)]

use super::as_f32;
use crate::element::Element;

/// The filters (or channels) one step computes: the direct products need
/// a multiple of this many.
pub(crate) const FILTERS: usize = 16;

/// `c` zero-padded planes of `h × w` values each, one after the other.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Planes {
    pub(crate) c: usize,
    pub(crate) h: usize,
    pub(crate) w: usize,
}

impl Planes {
    pub(crate) fn len(self) -> Option<usize> {
        self.c.checked_mul(self.h)?.checked_mul(self.w)
    }
}

/// Whether the direct products run for `F` on this CPU: `f32` with AVX2
/// and FMA.
pub(crate) fn available<F: Element>() -> bool {
    as_f32::<F>(&[]).is_some() && avx2_fma()
}

/// Whether this CPU has AVX2 and FMA.
fn avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The output width of a `kh × kw` correlation over `planes`, and the
/// positions it has (`None` if the kernel does not fit, no position is
/// left or there is no plane).
fn output(planes: Planes, (kh, kw): (usize, usize)) -> Option<(usize, usize)> {
    let oh = (planes.h + 1).checked_sub(kh)?;
    let ow = (planes.w + 1).checked_sub(kw)?;
    (kh > 0 && kw > 0 && oh > 0 && ow > 0 && planes.c > 0).then_some((ow, oh.checked_mul(ow)?))
}

/// The output width, the positions and the taps of a `kernel` correlation
/// of `nf` filters over `planes` held in `xp` values, checked as both
/// kernels need them.
///
/// # Panics
/// If the kernel does not fit, `nf` is not a positive multiple of
/// [`FILTERS`] or `xp` holds fewer values than the planes.
fn sizes(
    op: &str,
    (xp, planes): (usize, Planes),
    kernel: (usize, usize),
    nf: usize,
) -> (usize, usize, usize) {
    let Some((ow, positions)) = output(planes, kernel) else {
        panic!("{op}: a {kernel:?} kernel does not fit {planes:?}")
    };
    assert!(
        nf > 0 && nf.is_multiple_of(FILTERS) && planes.len().is_some_and(|n| xp >= n),
        "{op}: {nf} filters over {planes:?} need a multiple of {FILTERS} and the planes' \
         values, got {xp}"
    );
    (ow, positions, planes.c * kernel.0 * kernel.1)
}

/// Whether `len` values hold `a × b` of them.
fn holds(len: usize, a: usize, b: usize) -> bool {
    a.checked_mul(b).is_some_and(|n| len >= n)
}

/// Where the value of tap (or position) `t` of filter `f` sits in a
/// filter-blocked array of `n` taps: the filters in blocks of
/// [`FILTERS`], each block's `n` taps one after the other, each tap's
/// [`FILTERS`] values together. A step then reads its weights at a fixed
/// stride, which the compiler folds into the loads' offsets.
#[inline]
pub(crate) fn blocked(t: usize, f: usize, n: usize) -> usize {
    ((f / FILTERS) * n + t) * FILTERS + f % FILTERS
}

/// `rows` rows of `cols` values each (filter-major, as weights and output
/// gradients are held; `rows` a multiple of [`FILTERS`]) into the
/// [`blocked`] layout: on AVX2 for `f32`, eight by eight values per
/// transpose; otherwise in order of the output, one read stream per row of
/// a block.
///
/// # Panics
/// If `rows` is not a multiple of [`FILTERS`] or a slice holds fewer than
/// `rows·cols` values.
pub(crate) fn block_rows<F: Element>(src: &[F], (rows, cols): (usize, usize), dst: &mut [F]) {
    let n = rows * cols;
    assert!(
        rows.is_multiple_of(FILTERS) && src.len() >= n && dst.len() >= n,
        "block_rows: {rows} × {cols} values need a multiple of {FILTERS} rows and {n} values, \
         got {} and {}",
        src.len(),
        dst.len()
    );
    #[cfg(target_arch = "x86_64")]
    if let (Some(src), Some(dst), true) = (
        as_f32(&src[..n]),
        super::as_f32_mut(&mut dst[..n]),
        std::arch::is_x86_feature_detected!("avx2"),
    ) {
        // SAFETY: AVX2 was detected just above.
        unsafe { block_rows_avx2(src, cols, dst) };
        return;
    }
    let block = FILTERS * cols;
    for (src, dst) in src[..n]
        .chunks_exact(block.max(1))
        .zip(dst.chunks_exact_mut(block.max(1)))
    {
        for (t, lanes) in dst.chunks_exact_mut(FILTERS).enumerate() {
            for (l, d) in lanes.iter_mut().enumerate() {
                *d = src[l * cols + t];
            }
        }
    }
}

/// `out[f][y][x] = bias[f] + Σ_{c,i,j} wt(t = (c·kh + i)·kw + j, f) · xp[c][y + i][x + j]`
/// over the `(h − kh + 1) × (w − kw + 1)` positions of `planes`, for `nf`
/// filters (a multiple of [`FILTERS`]); `wt` holds the filters
/// [`blocked`] over their taps. Without a bias the sum starts at zero;
/// with `add`, it adds into `out` instead of overwriting it.
///
/// Returns `false`, having done nothing, unless [`available`].
///
/// # Panics
/// If `nf` is not a positive multiple of [`FILTERS`], the kernel does not
/// fit the planes, or a slice is shorter than the sizes say.
pub(crate) fn correlate<F: Element>(
    (xp, planes): (&[F], Planes),
    (wt, nf, kernel): (&[F], usize, (usize, usize)),
    bias: Option<&[F]>,
    (out, add): (&mut [F], bool),
) -> bool {
    let (ow, positions, taps) = sizes("correlate", (xp.len(), planes), kernel, nf);
    assert!(
        holds(wt.len(), taps, nf)
            && holds(out.len(), nf, positions)
            && bias.is_none_or(|b| b.len() >= nf),
        "correlate: {nf} filters of {taps} taps over {positions} positions, got {} weights, \
         {} outputs and {:?} biases",
        wt.len(),
        out.len(),
        bias.map(<[F]>::len)
    );
    #[cfg(target_arch = "x86_64")]
    if let (Some(xp), Some(wt), Some(out), true) =
        (as_f32(xp), as_f32(wt), super::as_f32_mut(out), avx2_fma())
    {
        // SAFETY: AVX2 and FMA were detected just above; the lengths were
        // checked against the sizes the loops index with.
        unsafe {
            correlate_avx2(
                (xp, planes),
                (wt, nf, kernel),
                bias.and_then(as_f32),
                (out, add),
                (ow, positions),
            )
        };
        return true;
    }
    false
}

/// `gwt(t = (c·kh + i)·kw + j, f) = Σ_p dyt(p, f) · xp[c][y_p + i][x_p + j]`
/// over the positions `p = (y_p, x_p)` of a `kh × kw` correlation over
/// `planes`, for `nf` filters (a multiple of [`FILTERS`]); `dyt` holds the
/// output gradient [`blocked`] over the positions and `gwt` the weight
/// gradient [`blocked`] over the taps. With `add`, it adds into `gwt`.
///
/// Returns `false`, having done nothing, unless [`available`].
///
/// # Panics
/// As [`correlate`].
pub(crate) fn correlate_weights<F: Element>(
    (xp, planes): (&[F], Planes),
    (dyt, nf): (&[F], usize),
    kernel: (usize, usize),
    (gwt, add): (&mut [F], bool),
) -> bool {
    let (ow, positions, taps) = sizes("correlate_weights", (xp.len(), planes), kernel, nf);
    assert!(
        holds(dyt.len(), positions, nf) && holds(gwt.len(), taps, nf),
        "correlate_weights: {nf} filters of {taps} taps over {positions} positions, got {} \
         gradients and {} weights",
        dyt.len(),
        gwt.len()
    );
    #[cfg(target_arch = "x86_64")]
    if let (Some(xp), Some(dyt), Some(gwt), true) =
        (as_f32(xp), as_f32(dyt), super::as_f32_mut(gwt), avx2_fma())
    {
        // SAFETY: as in `correlate`.
        unsafe { weights_avx2((xp, planes), (dyt, nf), kernel, (gwt, add), (ow, positions)) };
        return true;
    }
    false
}

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::{
    __m256, _mm_add_ps, _mm_loadu_ps, _mm_storeu_ps, _mm256_add_ps, _mm256_broadcast_ss,
    _mm256_castps256_ps128, _mm256_extractf128_ps, _mm256_fmadd_ps, _mm256_loadu_ps,
    _mm256_permute2f128_ps, _mm256_setzero_ps, _mm256_shuffle_ps, _mm256_storeu_ps,
    _mm256_unpackhi_ps, _mm256_unpacklo_ps,
};

/// Where position `p` of an `ow`-wide output starts in a `w`-wide plane.
#[inline(always)]
fn origin(p: usize, ow: usize, w: usize) -> usize {
    (p / ow) * w + p % ow
}

/// Where tap `t` of a `kh × kw` kernel sits relative to a position's
/// origin, over planes of `h × w`.
#[inline(always)]
fn tap_offset(t: usize, (kh, kw): (usize, usize), (h, w): (usize, usize)) -> usize {
    let (c, r) = (t / (kh * kw), t % (kh * kw));
    (c * h + r / kw) * w + r % kw
}

/// [`correlate`] on AVX2, for the kernel widths the layers use written
/// out (a window row then unrolls, with the weights' offsets fixed).
///
/// # Safety
/// AVX2 and FMA must be available; the slices as [`correlate`] checks.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn correlate_avx2(
    input: (&[f32], Planes),
    filters: (&[f32], usize, (usize, usize)),
    bias: Option<&[f32]>,
    out: (&mut [f32], bool),
    positions: (usize, usize),
) {
    // SAFETY (each arm): as this function's.
    unsafe {
        match filters.2.1 {
            1 => correlate_rows::<1>(input, filters, bias, out, positions),
            3 => correlate_rows::<3>(input, filters, bias, out, positions),
            5 => correlate_rows::<5>(input, filters, bias, out, positions),
            7 => correlate_rows::<7>(input, filters, bias, out, positions),
            _ => correlate_rows::<0>(input, filters, bias, out, positions),
        }
    }
}

/// [`correlate_avx2`] for kernels `KW` wide (`0`: as wide as `kw`):
/// sixteen filters by four positions a step, the last step of a plane
/// repeating its last position.
///
/// # Safety
/// As [`correlate_avx2`]; `KW` is `0` or `kw`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn correlate_rows<const KW: usize>(
    (xp, planes): (&[f32], Planes),
    (wt, nf, (kh, kw)): (&[f32], usize, (usize, usize)),
    bias: Option<&[f32]>,
    (out, add): (&mut [f32], bool),
    (ow, positions): (usize, usize),
) {
    let kw = if KW == 0 { kw } else { KW };
    let taps = planes.c * kh * kw;
    let (x, out) = (xp.as_ptr(), out.as_mut_ptr());
    for f0 in (0..nf).step_by(FILTERS) {
        // SAFETY (all below): `f0 + 16 ≤ nf` and the bias holds `nf`
        // values; every input read is at `origin + tap_offset` of a
        // position and tap inside the planes; every weight read below
        // `taps·nf`; every output write below `nf·positions`.
        let init = match bias {
            Some(b) => unsafe {
                let b = b.as_ptr().add(f0);
                [_mm256_loadu_ps(b), _mm256_loadu_ps(b.add(8))]
            },
            None => [_mm256_setzero_ps(); 2],
        };
        let block = unsafe { wt.as_ptr().add(f0 * taps) };
        for p in (0..positions).step_by(4) {
            let at = |q: usize| origin((p + q).min(positions - 1), ow, planes.w);
            let px = [at(0), at(1), at(2), at(3)].map(|o| unsafe { x.add(o) });
            let mut acc = [[init[0]; 4], [init[1]; 4]];
            let mut w = block;
            for c in 0..planes.c {
                for i in 0..kh {
                    let row = (c * planes.h + i) * planes.w;
                    for j in 0..kw {
                        let (w0, w1) = unsafe {
                            (
                                _mm256_loadu_ps(w.add(j * FILTERS)),
                                _mm256_loadu_ps(w.add(j * FILTERS + 8)),
                            )
                        };
                        for q in 0..4 {
                            let v = unsafe { _mm256_broadcast_ss(&*px[q].add(row + j)) };
                            acc[0][q] = _mm256_fmadd_ps(w0, v, acc[0][q]);
                            acc[1][q] = _mm256_fmadd_ps(w1, v, acc[1][q]);
                        }
                    }
                    w = w.wrapping_add(kw * FILTERS);
                }
            }
            let n = (positions - p).min(4);
            // By value, so that the accumulators stay in registers.
            let [lo, hi] = acc;
            unsafe {
                store_transposed(lo, out.add(f0 * positions + p), positions, n, add);
                store_transposed(hi, out.add((f0 + 8) * positions + p), positions, n, add);
            }
        }
    }
}

/// [`block_rows`] on AVX2: each block's two groups of eight rows,
/// transposed eight columns at a time; the columns past the last eight
/// one by one.
///
/// # Safety
/// AVX2 must be available; `src` and `dst` hold the same whole number of
/// blocks of `FILTERS · cols` values.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn block_rows_avx2(src: &[f32], cols: usize, dst: &mut [f32]) {
    let block = FILTERS * cols;
    for (src, dst) in src
        .chunks_exact(block.max(1))
        .zip(dst.chunks_exact_mut(block.max(1)))
    {
        for group in 0..FILTERS / 8 {
            let rows = &src[group * 8 * cols..][..8 * cols];
            let mut t = 0;
            while t + 8 <= cols {
                // SAFETY: row `r` holds columns `t..t + 8` (`t + 8 ≤ cols`),
                // and `dst` columns `t + m` at offset `group · 8`.
                unsafe {
                    let at = rows.as_ptr().add(t);
                    let mut v = [_mm256_setzero_ps(); 8];
                    for (r, v) in v.iter_mut().enumerate() {
                        *v = _mm256_loadu_ps(at.add(r * cols));
                    }
                    let u = transpose8(v);
                    for (m, &u) in u.iter().enumerate() {
                        _mm256_storeu_ps(dst.as_mut_ptr().add((t + m) * FILTERS + group * 8), u);
                    }
                }
                t += 8;
            }
            for t in t..cols {
                for r in 0..8 {
                    dst[t * FILTERS + group * 8 + r] = rows[r * cols + t];
                }
            }
        }
    }
}

/// An 8 × 8 transpose: lane `r` of output `m` is lane `m` of input `r`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn transpose8(v: [__m256; 8]) -> [__m256; 8] {
    let t = [
        _mm256_unpacklo_ps(v[0], v[1]),
        _mm256_unpackhi_ps(v[0], v[1]),
        _mm256_unpacklo_ps(v[2], v[3]),
        _mm256_unpackhi_ps(v[2], v[3]),
        _mm256_unpacklo_ps(v[4], v[5]),
        _mm256_unpackhi_ps(v[4], v[5]),
        _mm256_unpacklo_ps(v[6], v[7]),
        _mm256_unpackhi_ps(v[6], v[7]),
    ];
    // Per 128-bit half, s[m] is column m of rows 0..4 (columns 4..8 in
    // the high half), s[m + 4] the same of rows 4..8.
    let s = [
        _mm256_shuffle_ps::<0x44>(t[0], t[2]),
        _mm256_shuffle_ps::<0xEE>(t[0], t[2]),
        _mm256_shuffle_ps::<0x44>(t[1], t[3]),
        _mm256_shuffle_ps::<0xEE>(t[1], t[3]),
        _mm256_shuffle_ps::<0x44>(t[4], t[6]),
        _mm256_shuffle_ps::<0xEE>(t[4], t[6]),
        _mm256_shuffle_ps::<0x44>(t[5], t[7]),
        _mm256_shuffle_ps::<0xEE>(t[5], t[7]),
    ];
    [
        _mm256_permute2f128_ps::<0x20>(s[0], s[4]),
        _mm256_permute2f128_ps::<0x20>(s[1], s[5]),
        _mm256_permute2f128_ps::<0x20>(s[2], s[6]),
        _mm256_permute2f128_ps::<0x20>(s[3], s[7]),
        _mm256_permute2f128_ps::<0x31>(s[0], s[4]),
        _mm256_permute2f128_ps::<0x31>(s[1], s[5]),
        _mm256_permute2f128_ps::<0x31>(s[2], s[6]),
        _mm256_permute2f128_ps::<0x31>(s[3], s[7]),
    ]
}

/// Four positions' accumulators of eight filters each (filters in lanes),
/// stored as eight rows of four positions, `stride` apart from `out`
/// (only the first `n` positions; adding into them with `add`).
///
/// # Safety
/// AVX2 must be available; eight rows of `n` values at `out + r·stride`
/// must be writable.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn store_transposed(a: [__m256; 4], out: *mut f32, stride: usize, n: usize, add: bool) {
    let t0 = _mm256_unpacklo_ps(a[0], a[1]);
    let t1 = _mm256_unpackhi_ps(a[0], a[1]);
    let t2 = _mm256_unpacklo_ps(a[2], a[3]);
    let t3 = _mm256_unpackhi_ps(a[2], a[3]);
    // Row r (r < 4) of each 128-bit half: filter r in the low half,
    // filter r + 4 in the high one, positions 0..4 across.
    let rows = [
        _mm256_shuffle_ps::<0x44>(t0, t2),
        _mm256_shuffle_ps::<0xEE>(t0, t2),
        _mm256_shuffle_ps::<0x44>(t1, t3),
        _mm256_shuffle_ps::<0xEE>(t1, t3),
    ];
    for (r, &row) in rows.iter().enumerate() {
        let halves = [
            (_mm256_castps256_ps128(row), r),
            (_mm256_extractf128_ps::<1>(row), r + 4),
        ];
        for (v, filter) in halves {
            // SAFETY: rows `r` and `r + 4` hold `n` writable values.
            let dst = unsafe { out.add(filter * stride) };
            if n == 4 {
                unsafe {
                    let v = if add {
                        _mm_add_ps(_mm_loadu_ps(dst), v)
                    } else {
                        v
                    };
                    _mm_storeu_ps(dst, v);
                }
            } else {
                let mut t = [0.0f32; 4];
                unsafe { _mm_storeu_ps(t.as_mut_ptr(), v) };
                for (q, &t) in t.iter().enumerate().take(n) {
                    unsafe {
                        let d = dst.add(q);
                        *d = if add { *d + t } else { t };
                    }
                }
            }
        }
    }
}

/// [`correlate_weights`] on AVX2: sixteen filters by four taps a step,
/// over every position; the last step repeats the last tap.
///
/// # Safety
/// AVX2 and FMA must be available; the slices as [`correlate_weights`]
/// checks.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn weights_avx2(
    (xp, planes): (&[f32], Planes),
    (dyt, nf): (&[f32], usize),
    kernel: (usize, usize),
    (gwt, add): (&mut [f32], bool),
    (ow, positions): (usize, usize),
) {
    let taps = planes.c * kernel.0 * kernel.1;
    let (x, d, g) = (xp.as_ptr(), dyt.as_ptr(), gwt.as_mut_ptr());
    for f0 in (0..nf).step_by(FILTERS) {
        // SAFETY (all below): as in `correlate_rows`, with the gradients
        // read below `positions·nf` and the weights written below
        // `taps·nf`.
        let (grads, out) = unsafe { (d.add(f0 * positions), g.add(f0 * taps)) };
        for t in (0..taps).step_by(4) {
            let at = |q: usize| tap_offset((t + q).min(taps - 1), kernel, (planes.h, planes.w));
            let px = [at(0), at(1), at(2), at(3)].map(|o| unsafe { x.add(o) });
            let mut acc = [[_mm256_setzero_ps(); 4]; 2];
            let mut dy = grads;
            for y in 0..positions / ow {
                let row = y * planes.w;
                for ox in row..row + ow {
                    let (d0, d1) = unsafe { (_mm256_loadu_ps(dy), _mm256_loadu_ps(dy.add(8))) };
                    dy = dy.wrapping_add(FILTERS);
                    for q in 0..4 {
                        let v = unsafe { _mm256_broadcast_ss(&*px[q].add(ox)) };
                        acc[0][q] = _mm256_fmadd_ps(d0, v, acc[0][q]);
                        acc[1][q] = _mm256_fmadd_ps(d1, v, acc[1][q]);
                    }
                }
            }
            // Constant indices only, so that the accumulators stay in
            // registers.
            let n = (taps - t).min(4);
            #[allow(clippy::needless_range_loop)] // an iterator here spills them
            for q in 0..4 {
                for half in 0..2 {
                    if q < n {
                        unsafe {
                            let dst = out.add((t + q) * FILTERS + 8 * half);
                            let a = acc[half][q];
                            let v = if add {
                                _mm256_add_ps(_mm256_loadu_ps(dst), a)
                            } else {
                                a
                            };
                            _mm256_storeu_ps(dst, v);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// The sums as written, in `f64`.
    fn reference(
        xp: &[f32],
        pl: Planes,
        w: &dyn Fn(usize, usize) -> f32,
        nf: usize,
        (kh, kw): (usize, usize),
    ) -> Vec<f64> {
        let (oh, ow) = (pl.h + 1 - kh, pl.w + 1 - kw);
        let mut out = vec![0.0; nf * oh * ow];
        for f in 0..nf {
            for y in 0..oh {
                for x in 0..ow {
                    let mut s = 0.0;
                    for c in 0..pl.c {
                        for i in 0..kh {
                            for j in 0..kw {
                                let t = (c * kh + i) * kw + j;
                                s += f64::from(w(t, f))
                                    * f64::from(xp[(c * pl.h + y + i) * pl.w + x + j]);
                            }
                        }
                    }
                    out[(f * oh + y) * ow + x] = s;
                }
            }
        }
        out
    }

    fn close(got: f32, want: f64, scale: f64) -> bool {
        (f64::from(got) - want).abs() <= 1e-5 * scale
    }

    #[test]
    fn both_products_equal_the_sums_as_written() {
        if !available::<f32>() {
            return;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        // Position counts that leave 0–3 positions over a step of four
        // (1 × 1 output included), tap counts that leave 0–3 taps.
        for &(c, h, w, kh, kw, nf) in &[
            (1, 32, 32, 5, 5, 16),
            (3, 7, 9, 3, 2, 16),
            (2, 5, 5, 5, 5, 32),
            (16, 18, 18, 5, 5, 32),
            (1, 3, 4, 1, 1, 16),
            (2, 5, 7, 3, 3, 16),
            (1, 4, 9, 3, 5, 16),
            (3, 5, 5, 1, 1, 16),
            (2, 9, 10, 3, 3, 16),
            (1, 8, 12, 2, 7, 16),
            (4, 6, 11, 2, 4, 48),
        ] {
            let pl = Planes { c, h, w };
            let (oh, ow) = (h + 1 - kh, w + 1 - kw);
            let positions = oh * ow;
            let taps = c * kh * kw;
            let xp: Vec<f32> = (0..c * h * w)
                .map(|_| rng.random_range(-1.0..1.0))
                .collect();
            let wt: Vec<f32> = (0..taps * nf)
                .map(|_| rng.random_range(-1.0..1.0))
                .collect();
            let bias: Vec<f32> = (0..nf).map(|_| rng.random_range(-1.0..1.0)).collect();
            let scale = taps as f64;
            let want = reference(&xp, pl, &|t, f| wt[blocked(t, f, taps)], nf, (kh, kw));
            for (with_bias, add) in [(false, false), (true, false), (false, true), (true, true)] {
                let start: Vec<f32> = (0..nf * positions).map(|i| (i % 7) as f32).collect();
                let mut out = start.clone();
                let b = with_bias.then_some(&bias[..]);
                assert!(correlate(
                    (&xp, pl),
                    (&wt, nf, (kh, kw)),
                    b,
                    (&mut out, add)
                ));
                for (i, &got) in out.iter().enumerate() {
                    let f = i / positions;
                    let expect = want[i]
                        + if with_bias { f64::from(bias[f]) } else { 0.0 }
                        + if add { f64::from(start[i]) } else { 0.0 };
                    assert!(
                        close(got, expect, scale),
                        "{pl:?} {kh}×{kw} nf {nf} bias {with_bias} add {add}: out[{i}] = {got}, \
                         want {expect}"
                    );
                }
            }
            // The weight gradient: the same sums with the output gradient in
            // the filter's place, `gwt[t][f] = Σ_p dy[f][p]·x(p, t)`.
            let dy: Vec<f32> = (0..nf * positions)
                .map(|_| rng.random_range(-1.0..1.0))
                .collect();
            let mut dyt = vec![0.0f32; positions * nf];
            for f in 0..nf {
                for p in 0..positions {
                    dyt[blocked(p, f, positions)] = dy[f * positions + p];
                }
            }
            for add in [false, true] {
                let start: Vec<f32> = (0..taps * nf).map(|i| (i % 5) as f32).collect();
                let mut gwt = start.clone();
                assert!(correlate_weights(
                    (&xp, pl),
                    (&dyt, nf),
                    (kh, kw),
                    (&mut gwt, add)
                ));
                for t in 0..taps {
                    for f in 0..nf {
                        let tap = tap_offset(t, (kh, kw), (h, w));
                        let at = blocked(t, f, taps);
                        let mut s = if add { f64::from(start[at]) } else { 0.0 };
                        for p in 0..positions {
                            s += f64::from(dy[f * positions + p])
                                * f64::from(xp[origin(p, ow, w) + tap]);
                        }
                        let got = gwt[at];
                        assert!(
                            close(got, s, positions as f64),
                            "{pl:?} {kh}×{kw} nf {nf} add {add}: gwt[{t}][{f}] = {got}, want {s}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn block_rows_puts_each_value_where_blocked_says() {
        fn check<F: Element>() {
            for rows in [16, 32, 48] {
                for cols in 0..21 {
                    let src: Vec<F> = (0..rows * cols).map(|i| F::from_f64(i as f64)).collect();
                    let mut dst = vec![F::zero(); rows * cols];
                    block_rows(&src, (rows, cols), &mut dst);
                    for r in 0..rows {
                        for t in 0..cols {
                            assert_eq!(
                                dst[blocked(t, r, cols)],
                                src[r * cols + t],
                                "{rows}×{cols}"
                            );
                        }
                    }
                }
            }
        }
        check::<f32>();
        check::<f64>();
    }

    #[test]
    fn only_f32_is_taken() {
        let pl = Planes { c: 1, h: 2, w: 2 };
        let (x, wt, mut out) = ([1.0f64; 4], [1.0f64; 16], [0.0f64; 64]);
        assert!(!correlate(
            (&x, pl),
            (&wt, 16, (1, 1)),
            None,
            (&mut out, false)
        ));
        assert!(out.iter().all(|&v| v == 0.0));
        let mut gwt = [0.0f64; 16];
        assert!(!correlate_weights(
            (&x, pl),
            (&out, 16),
            (1, 1),
            (&mut gwt, false)
        ));
    }
}
