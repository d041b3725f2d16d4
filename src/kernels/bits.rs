//! Sums of sign products over bit masks, for the sign agreement of
//! per-example gradients (`gradsign::stats`).
//!
//! A column `x` of `B` values (`B` examples) is two masks of `⌈B/64⌉`
//! words: a *non-zero* bit and a *negative* bit per example. For two such
//! columns `u` and `v`,
//!
//! `Σ_n sign(u_n)·sign(v_n) = popcount(nz_u & nz_v) − 2·popcount(nz_u & nz_v & (neg_u ^ neg_v))`,
//!
//! an exact integer computed with a few word operations per 64 examples
//! instead of 64 multiply-adds. [`sign_sums`] computes it for one column
//! against many, and runs on the `popcnt` instruction (or AVX-512's vector
//! population count) when the CPU has it, detected at run time: a build
//! for baseline x86-64 would otherwise count bits in a dozen instructions
//! per word.

#![allow(unsafe_code)]

/// Bit masks of one column of signs: word `w` holds examples
/// `64w .. 64w + 64`, bit `n mod 64` for example `n`.
#[derive(Clone, Copy, Debug)]
pub struct SignMasks<'a> {
    /// Set where the value is non-zero.
    pub nonzero: &'a [u64],
    /// Set where the value is negative (a subset of `nonzero`).
    pub negative: &'a [u64],
}

/// What [`sign_sums`] tallies of its sums.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignScore {
    /// `Σ_k |out[k]|`: one neuron's GradSign score.
    pub score: u64,
    /// The `k` with `|out[k]| ≥ kept_at`: the parameters an AND-mask
    /// keeps.
    pub kept: usize,
}

/// `out[k] = Σ_n sign(u_n)·sign(v_kn)` for one column `u` and `K` columns
/// `v_k`, where `u` is given by `u` (`W` words each) and the `v_k` by
/// `v_nonzero` and `v_negative`, word-major: word `w` of column `k` at
/// `w·K + k` (so that the loop over `k` runs over consecutive words).
///
/// # Panics
/// If `u`'s two masks differ in length or the `v` masks are not
/// `u.nonzero.len()·out.len()` words each.
pub fn sign_sums(
    u: SignMasks<'_>,
    (v_nonzero, v_negative): (&[u64], &[u64]),
    out: &mut [i32],
    kept_at: u32,
) -> SignScore {
    let (w, k) = (u.nonzero.len(), out.len());
    assert!(
        u.negative.len() == w && v_nonzero.len() == w * k && v_negative.len() == w * k,
        "sign_sums: masks of {w} words for {k} columns, got {}, {} and {}",
        u.negative.len(),
        v_nonzero.len(),
        v_negative.len()
    );
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512vpopcntdq")
            && std::arch::is_x86_feature_detected!("avx512f")
        {
            // SAFETY: the features this function is compiled for were
            // detected on this CPU just above.
            return unsafe { sign_sums_avx512(u, (v_nonzero, v_negative), out, kept_at) };
        }
        if std::arch::is_x86_feature_detected!("popcnt") {
            // SAFETY: as above, for `popcnt`.
            return unsafe { sign_sums_popcnt(u, (v_nonzero, v_negative), out, kept_at) };
        }
    }
    sign_sums_portable(u, (v_nonzero, v_negative), out, kept_at)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vpopcntdq")]
fn sign_sums_avx512(u: SignMasks<'_>, v: (&[u64], &[u64]), out: &mut [i32], at: u32) -> SignScore {
    sign_sums_portable(u, v, out, at)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
fn sign_sums_popcnt(u: SignMasks<'_>, v: (&[u64], &[u64]), out: &mut [i32], at: u32) -> SignScore {
    sign_sums_portable(u, v, out, at)
}

/// The loop itself, inlined into each dispatched copy so that it is
/// compiled (and vectorised over `k`) for that copy's instructions.
#[inline(always)]
fn sign_sums_portable(
    u: SignMasks<'_>,
    (vn, vneg): (&[u64], &[u64]),
    out: &mut [i32],
    kept_at: u32,
) -> SignScore {
    let k = out.len();
    out.fill(0);
    for (w, (&un, &uneg)) in u.nonzero.iter().zip(u.negative).enumerate() {
        let (vn, vneg) = (&vn[w * k..(w + 1) * k], &vneg[w * k..(w + 1) * k]);
        for ((o, &n), &s) in out.iter_mut().zip(vn).zip(vneg) {
            let both = un & n;
            // At most 64 per word and B ≤ 2³¹ examples: no overflow.
            *o += both.count_ones() as i32 - 2 * (both & (uneg ^ s)).count_ones() as i32;
        }
    }
    let (mut score, mut kept) = (0u64, 0u64);
    for &s in out.iter() {
        let s = s.unsigned_abs();
        score += u64::from(s);
        kept += u64::from(s >= kept_at);
    }
    SignScore {
        score,
        kept: kept as usize,
    }
}

/// The signs of a row-major `rows × cols` matrix `m` as bit masks per
/// column into `masks` (`2⌈rows/64⌉·cols` words): the non-zero masks,
/// word-major (word `w` of column `c` at `w·cols + c`), then the negative
/// ones, as [`sign_sums`] reads them. Every word is written (bits past the
/// last row are 0). Sixty-four rows at a time, sixteen columns at a time
/// held in registers, compiled for AVX-512 or AVX2 when the CPU has it.
///
/// # Panics
/// If `masks` is not `2⌈rows/64⌉·cols` words or `m` not `rows·cols`
/// values (`cols = 0` takes nothing).
pub fn pack_signs<F: crate::element::Element>(m: &[F], cols: usize, masks: &mut [u64]) {
    if cols == 0 {
        assert!(m.is_empty() && masks.is_empty(), "pack_signs: no columns");
        return;
    }
    let rows = m.len() / cols;
    assert!(
        rows * cols == m.len() && masks.len() == 2 * rows.div_ceil(64) * cols,
        "pack_signs: {} values in {cols} columns, {} mask words",
        m.len(),
        masks.len()
    );
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the feature this copy is compiled for was detected
            // on this CPU just above.
            return unsafe { pack_signs_avx512(m, cols, masks) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: as above, for AVX2.
            return unsafe { pack_signs_avx2(m, cols, masks) };
        }
    }
    pack_signs_portable(m, cols, masks)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn pack_signs_avx512<F: crate::element::Element>(m: &[F], cols: usize, masks: &mut [u64]) {
    pack_signs_portable(m, cols, masks)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn pack_signs_avx2<F: crate::element::Element>(m: &[F], cols: usize, masks: &mut [u64]) {
    pack_signs_portable(m, cols, masks)
}

/// The loop, inlined into each dispatched copy.
#[inline(always)]
fn pack_signs_portable<F: crate::element::Element>(m: &[F], cols: usize, masks: &mut [u64]) {
    const C: usize = 16;
    let rows = m.len() / cols;
    let w = rows.div_ceil(64);
    let (nz, neg) = masks.split_at_mut(w * cols);
    for word in 0..w {
        let block = &m[word * 64 * cols..(rows.min(word * 64 + 64)) * cols];
        let nz = &mut nz[word * cols..(word + 1) * cols];
        let neg = &mut neg[word * cols..(word + 1) * cols];
        let mut c0 = 0;
        while c0 + C <= cols {
            let (mut z, mut s) = ([0u64; C], [0u64; C]);
            for (bit, row) in block.chunks_exact(cols).enumerate() {
                let row: &[F; C] = row[c0..c0 + C].try_into().expect("C columns");
                for i in 0..C {
                    z[i] |= u64::from(row[i] != F::zero()) << bit;
                    s[i] |= u64::from(row[i] < F::zero()) << bit;
                }
            }
            nz[c0..c0 + C].copy_from_slice(&z);
            neg[c0..c0 + C].copy_from_slice(&s);
            c0 += C;
        }
        let rest = cols - c0;
        if rest > 0 {
            let (mut z, mut s) = ([0u64; C], [0u64; C]);
            for (bit, row) in block.chunks_exact(cols).enumerate() {
                for (i, &x) in row[c0..].iter().enumerate() {
                    z[i] |= u64::from(x != F::zero()) << bit;
                    s[i] |= u64::from(x < F::zero()) << bit;
                }
            }
            nz[c0..].copy_from_slice(&z[..rest]);
            neg[c0..].copy_from_slice(&s[..rest]);
        }
    }
}

/// The [`SignScore`] of sign sums computed elsewhere.
pub fn score(sums: &[i32], kept_at: u32) -> SignScore {
    let (mut score, mut kept) = (0u64, 0usize);
    for &s in sums {
        let s = s.unsigned_abs();
        score += u64::from(s);
        kept += usize::from(s >= kept_at);
    }
    SignScore { score, kept }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Masks of a column of small integers (their signs), word-major
    /// for `cols` columns.
    fn masks(cols: &[Vec<i8>]) -> (Vec<u64>, Vec<u64>) {
        let (k, b) = (cols.len(), cols[0].len());
        let w = b.div_ceil(64);
        let (mut nz, mut neg) = (vec![0u64; w * k], vec![0u64; w * k]);
        for (c, col) in cols.iter().enumerate() {
            for (n, &x) in col.iter().enumerate() {
                let bit = 1u64 << (n % 64);
                if x != 0 {
                    nz[(n / 64) * k + c] |= bit;
                }
                if x < 0 {
                    neg[(n / 64) * k + c] |= bit;
                }
            }
        }
        (nz, neg)
    }

    #[test]
    fn packed_signs_are_the_masks_of_every_column_at_any_size() {
        // Row counts across word boundaries, column counts across the
        // sixteen-column chunks; NaN counts as non-zero and not negative,
        // −0 as zero.
        for (rows, cols) in [(1, 1), (63, 17), (64, 16), (65, 33), (150, 5), (200, 40)] {
            let v: Vec<f32> = (0..rows * cols)
                .map(|i| match (i * 2_654_435_761usize) % 7 {
                    0 => 0.0,
                    1 => -0.0,
                    2 => f32::NAN,
                    3 | 4 => -1.5,
                    _ => 2.0,
                })
                .collect();
            let col: Vec<Vec<i8>> = (0..cols)
                .map(|c| {
                    (0..rows)
                        .map(|r| {
                            let x = v[r * cols + c];
                            if x < 0.0 { -1 } else { i8::from(x != 0.0) }
                        })
                        .collect()
                })
                .collect();
            let (nz, neg) = masks(&col);
            let w = rows.div_ceil(64);
            let mut got = vec![u64::MAX; 2 * w * cols];
            pack_signs(&v, cols, &mut got);
            assert_eq!(&got[..w * cols], &nz[..], "{rows}×{cols} non-zero");
            assert_eq!(&got[w * cols..], &neg[..], "{rows}×{cols} negative");
            let v64: Vec<f64> = v.iter().map(|&x| f64::from(x)).collect();
            let mut got64 = vec![0u64; 2 * w * cols];
            pack_signs(&v64, cols, &mut got64);
            assert_eq!(got64, got, "{rows}×{cols} in f64");
        }
    }

    #[test]
    fn sign_sums_equal_the_sums_of_sign_products_across_word_boundaries() {
        // 150 examples: three words, the last one partial.
        let b = 150;
        // Signs from a splitmix-style hash: a column of mostly positive
        // values (its sums against `u` then far from 0) and mixed ones.
        let hash = |x: u64| {
            let x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            let x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            x ^ (x >> 31)
        };
        let val = |s: u64, bias: u64| -> i8 {
            match hash(s) % (3 + bias) {
                0 => -1,
                1 => 0,
                _ => 1,
            }
        };
        let u: Vec<i8> = (0..b as u64).map(|n| val(n, 6)).collect();
        let vs: Vec<Vec<i8>> = (0..5u64)
            .map(|c| {
                (0..b as u64)
                    .map(|n| val(1000 * (c + 1) + n, 2 * c))
                    .collect()
            })
            .collect();
        let (un, uneg) = masks(std::slice::from_ref(&u));
        let (vn, vneg) = masks(&vs);
        let mut out = vec![0; vs.len()];
        let score = sign_sums(
            SignMasks {
                nonzero: &un,
                negative: &uneg,
            },
            (&vn, &vneg),
            &mut out,
            20,
        );
        for (c, v) in vs.iter().enumerate() {
            let exact: i32 = u.iter().zip(v).map(|(&x, &y)| i32::from(x * y)).sum();
            assert_eq!(out[c], exact, "column {c}");
        }
        // The portable loop (the one a CPU without popcnt runs) agrees.
        let exact_score: u64 = out.iter().map(|s| u64::from(s.unsigned_abs())).sum();
        let kept = out.iter().filter(|s| s.unsigned_abs() >= 20).count();
        assert_eq!((score.score, score.kept), (exact_score, kept));
        assert!(
            kept > 0 && kept < out.len(),
            "the threshold splits: {out:?}"
        );
        let mut portable = vec![0; vs.len()];
        let portable_score = sign_sums_portable(
            SignMasks {
                nonzero: &un,
                negative: &uneg,
            },
            (&vn, &vneg),
            &mut portable,
            20,
        );
        assert_eq!((portable, portable_score), (out, score));
    }
}

#[cfg(test)]
mod documented_examples {
    #[test]
    fn documented_example_0() {
        use crate::kernels::bits::{SignMasks, sign_sums};
        // u = (+, −, 0), v_0 = (+, +, +), v_1 = (−, −, 0):
        // u·v_0 = 1 − 1 + 0 = 0, u·v_1 = −1 + 1 + 0 = 0.
        let u = SignMasks {
            nonzero: &[0b011],
            negative: &[0b010],
        };
        let (vn, vneg) = ([0b111, 0b011], [0b000, 0b011]);
        let mut out = [7; 2];
        sign_sums(u, (&vn, &vneg), &mut out, 1);
        assert_eq!(out, [0, 0]);
        // u = (+, +, +) against the same: 3 and −2.
        let u = SignMasks {
            nonzero: &[0b111],
            negative: &[0],
        };
        let s = sign_sums(u, (&vn, &vneg), &mut out, 3);
        assert_eq!(out, [3, -2]);
        assert_eq!((s.score, s.kept), (5, 1));
    }

    #[test]
    fn documented_example_1() {
        use crate::kernels::bits::score;
        let s = score(&[3, -2, 0], 2);
        assert_eq!((s.score, s.kept), (5, 2));
    }
}
