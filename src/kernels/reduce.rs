//! The per-parameter reduction of the gradient statistics
//! (`gradsign::stats`): from each parameter's `Σ_n g` and `Σ_n g²`, the
//! sums `Σ (Σ_n g)²` and `Σ Σ_n g²` and the signal-to-noise ratios. One
//! division per parameter makes it worth running on the widest vector
//! instructions the CPU has (detected at run time); the lanes are written
//! out, and no instruction fuses a multiply with an add, so every copy
//! gives the same bits.

#![allow(unsafe_code)]

use crate::element::Element;

/// `Σ x²` in `f64` of the values as given, in eight independent lanes (a
/// single running sum would wait on each addition in turn), on the
/// widest vector instructions the CPU has. The lanes and their final sum
/// are fixed, so every copy gives the same bits.
pub fn sum_sq<F: Element>(v: &[F]) -> f64 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the feature this copy is compiled for was detected
            // on this CPU just above.
            return unsafe { sum_sq_avx512(v) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: as above, for AVX2.
            return unsafe { sum_sq_avx2(v) };
        }
    }
    sum_sq_portable(v)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn sum_sq_avx512<F: Element>(v: &[F]) -> f64 {
    sum_sq_portable(v)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn sum_sq_avx2<F: Element>(v: &[F]) -> f64 {
    sum_sq_portable(v)
}

/// The loop, inlined into each dispatched copy.
#[inline(always)]
fn sum_sq_portable<F: Element>(v: &[F]) -> f64 {
    const L: usize = 8;
    let mut acc = [0.0f64; L];
    let split = v.len() - v.len() % L;
    for c in v[..split].chunks_exact(L) {
        for (a, &x) in acc.iter_mut().zip(c) {
            let x = Element::to_f64(x);
            *a += x * x;
        }
    }
    for (a, &x) in acc.iter_mut().zip(&v[split..]) {
        let x = Element::to_f64(x);
        *a += x * x;
    }
    acc.iter().sum()
}

/// What [`gsnr_sums`] returns for one neuron's parameters.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct GsnrSums {
    /// `Σ_k (Σ_n g_k)²`.
    pub sum_sq: f64,
    /// `Σ_k Σ_n g_k²`.
    pub trace: f64,
    /// `Σ_k μ_k²/σ_k²` over the parameters whose variance is defined.
    pub ratio_sum: f64,
    /// Those parameters.
    pub defined: usize,
}

/// For parameters with sums `sums[k] = Σ_n g_k` and `squares[k] = Σ_n
/// g_k²` over `batch` examples, in `f64`: `μ = Σg·(1/B)`, `raw = Σg² −
/// Σg·μ`, and the parameter's variance is defined when `batch ≥ 2` and
/// `raw > floor·Σg²`, its ratio then `μ²/(raw·(1/(B − 1)))`.
///
/// # Panics
/// If `sums` and `squares` differ in length.
pub fn gsnr_sums<F: Element>(sums: &[F], squares: &[F], batch: usize, floor: f64) -> GsnrSums {
    assert_eq!(sums.len(), squares.len(), "gsnr_sums: one square per sum");
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the feature this copy is compiled for was detected
            // on this CPU just above.
            return unsafe { gsnr_sums_avx512(sums, squares, batch, floor) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: as above, for AVX2.
            return unsafe { gsnr_sums_avx2(sums, squares, batch, floor) };
        }
    }
    gsnr_sums_portable(sums, squares, batch, floor)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn gsnr_sums_avx512<F: Element>(s: &[F], q: &[F], b: usize, floor: f64) -> GsnrSums {
    gsnr_sums_portable(s, q, b, floor)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn gsnr_sums_avx2<F: Element>(s: &[F], q: &[F], b: usize, floor: f64) -> GsnrSums {
    gsnr_sums_portable(s, q, b, floor)
}

/// The loop, inlined into each dispatched copy.
#[inline(always)]
fn gsnr_sums_portable<F: Element>(sums: &[F], squares: &[F], b: usize, floor: f64) -> GsnrSums {
    const L: usize = 8;
    let bf = b as f64;
    let (inv_b, inv_b1) = (1.0 / bf, 1.0 / (bf - 1.0));
    let gsnr = b >= 2;
    let (mut q, mut t, mut sum, mut def) = ([0.0f64; L], [0.0f64; L], [0.0f64; L], [0u64; L]);
    let mut lane = |i: usize, g: F, g2: F| {
        let (g, g2) = (Element::to_f64(g), Element::to_f64(g2));
        q[i] += g * g;
        t[i] += g2;
        let mean = g * inv_b;
        let raw = g2 - g * mean;
        let defined = gsnr && raw > floor * g2;
        let r = mean * mean / (raw * inv_b1);
        sum[i] += if defined { r } else { 0.0 };
        def[i] += u64::from(defined);
    };
    let split = sums.len() - sums.len() % L;
    for (g, s) in sums[..split]
        .chunks_exact(L)
        .zip(squares[..split].chunks_exact(L))
    {
        for i in 0..L {
            lane(i, g[i], s[i]);
        }
    }
    for (i, (&g, &s)) in sums[split..].iter().zip(&squares[split..]).enumerate() {
        lane(i, g, s);
    }
    GsnrSums {
        sum_sq: q.iter().sum(),
        trace: t.iter().sum(),
        ratio_sum: sum.iter().sum(),
        defined: def.iter().sum::<u64>() as usize,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_copy_gives_the_same_bits_as_the_plain_loop() {
        // 29 parameters: three full lanes and a remainder; some with no
        // variance (raw = 0), one below the floor.
        let b = 5usize;
        let sums: Vec<f32> = (0..29).map(|k| (k as f32 - 9.0) * 0.37).collect();
        let squares: Vec<f32> = sums
            .iter()
            .enumerate()
            .map(|(k, &s)| {
                if k % 7 == 0 {
                    s * s / b as f32
                } else {
                    s * s + k as f32
                }
            })
            .collect();
        let floor = 4.0 * b as f64 * f32::EPSILON as f64;
        let got = gsnr_sums(&sums, &squares, b, floor);
        assert_eq!(got, gsnr_sums_portable(&sums, &squares, b, floor));
        // The plain definition, parameter by parameter.
        let (mut q, mut t, mut r, mut d) = (0.0, 0.0, 0.0, 0);
        for (&g, &g2) in sums.iter().zip(&squares) {
            let (g, g2) = (f64::from(g), f64::from(g2));
            q += g * g;
            t += g2;
            let mean = g / b as f64;
            let raw = g2 - g * mean;
            if raw > floor * g2 {
                r += mean * mean / (raw / (b as f64 - 1.0));
                d += 1;
            }
        }
        assert!(d > 0 && d < sums.len(), "both kinds of parameter: {d}");
        assert_eq!(got.defined, d);
        for (x, y) in [(got.sum_sq, q), (got.trace, t), (got.ratio_sum, r)] {
            // Eight lanes against one: reassociated sums of ≤ 29 terms.
            assert!((x - y).abs() <= 64.0 * f64::EPSILON * y.abs(), "{x} vs {y}");
        }
    }

    #[test]
    fn sums_of_squares_give_the_same_bits_in_every_copy() {
        for n in [0usize, 1, 7, 8, 9, 29, 785] {
            let v: Vec<f32> = (0..n).map(|i| (i as f32 * 0.731).sin() * 3.0).collect();
            let got = sum_sq(&v);
            assert_eq!(got.to_bits(), sum_sq_portable(&v).to_bits(), "{n} values");
            let plain: f64 = v.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
            assert!(
                (got - plain).abs() <= 8.0 * n as f64 * f64::EPSILON * plain,
                "{n}"
            );
            let w: Vec<f64> = v.iter().map(|&x| f64::from(x)).collect();
            assert_eq!(sum_sq(&w).to_bits(), got.to_bits(), "{n} values in f64");
        }
    }
}

#[cfg(test)]
mod documented_examples {
    #[test]
    fn documented_example_0() {
        use crate::kernels::reduce::gsnr_sums;
        // g = (1, 1) and (1, 3) over two examples: sums 2, 4 and squares 2, 10.
        let s = gsnr_sums(&[2.0f64, 4.0], &[2.0, 10.0], 2, 1e-15);
        assert_eq!((s.sum_sq, s.trace, s.defined), (20.0, 12.0, 1));
        assert_eq!(s.ratio_sum, 2.0); // μ = 2, σ² = 2
    }
}
