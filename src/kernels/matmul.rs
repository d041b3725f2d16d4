//! Strided matrix products `C (+)= A·B`.
//!
//! Transposes are expressed through strides, so the VJP of a product
//! (`dA += G·Bᵀ`, `dB += Aᵀ·G`) reads its operands in place and copies
//! nothing.

// The one place that wraps a kernel: see the SAFETY comment in `gemm_tuned`.
#![allow(unsafe_code)]

/// One strided product `C = A·B` or `C += A·B` (when `accumulate`).
///
/// `A` is `m×k` with element `(i, p)` at `a[i*a_rs + p*a_cs]`, `B` is `k×n`,
/// `C` is `m×n`; strides are in elements. The caller guarantees (and
/// [`check`](GemmArgs::check) verifies) that every addressed element lies
/// inside its slice.
#[doc(hidden)]
pub struct GemmArgs<'a, F> {
    /// Rows of `A` and `C`.
    pub m: usize,
    /// Columns of `B` and `C`.
    pub n: usize,
    /// Columns of `A`, rows of `B`.
    pub k: usize,
    /// `A`'s data.
    pub a: &'a [F],
    /// `A`'s row stride.
    pub a_rs: usize,
    /// `A`'s column stride.
    pub a_cs: usize,
    /// `B`'s data.
    pub b: &'a [F],
    /// `B`'s row stride.
    pub b_rs: usize,
    /// `B`'s column stride.
    pub b_cs: usize,
    /// `C`'s data (row-major, contiguous rows of length `c_rs`).
    pub c: &'a mut [F],
    /// `C`'s row stride.
    pub c_rs: usize,
    /// Add into `C` instead of overwriting it.
    pub accumulate: bool,
    /// Threads the kernel may use (1 = the calling thread only).
    pub threads: usize,
}

impl<F> GemmArgs<'_, F> {
    /// Panics if an operand is too short for its shape and strides, a stride
    /// exceeds `isize::MAX`, or `C`'s rows overlap. The spans are computed
    /// without wrapping: a wrapped span could pass the length test and let
    /// the tuned kernel address memory outside the slices.
    #[track_caller]
    fn check(&self) {
        let span = |rows: usize, cols: usize, rs: usize, cs: usize| -> Option<usize> {
            if rows == 0 || cols == 0 {
                return Some(0);
            }
            (rows - 1)
                .checked_mul(rs)?
                .checked_add((cols - 1).checked_mul(cs)?)?
                .checked_add(1)
        };
        let fits = |len: usize, span: Option<usize>| span.is_some_and(|s| s <= len);
        let strides = [self.a_rs, self.a_cs, self.b_rs, self.b_cs, self.c_rs];
        assert!(
            strides.iter().all(|&s| s <= isize::MAX as usize),
            "gemm: strides {strides:?} must not exceed isize::MAX"
        );
        assert!(
            fits(self.a.len(), span(self.m, self.k, self.a_rs, self.a_cs)),
            "gemm: A ({}×{}, strides {}, {}) does not fit in its {} elements",
            self.m,
            self.k,
            self.a_rs,
            self.a_cs,
            self.a.len()
        );
        assert!(
            fits(self.b.len(), span(self.k, self.n, self.b_rs, self.b_cs)),
            "gemm: B ({}×{}, strides {}, {}) does not fit in its {} elements",
            self.k,
            self.n,
            self.b_rs,
            self.b_cs,
            self.b.len()
        );
        assert!(
            fits(self.c.len(), span(self.m, self.n, self.c_rs, 1)),
            "gemm: C ({}×{}, row stride {}) does not fit in its {} elements",
            self.m,
            self.n,
            self.c_rs,
            self.c.len()
        );
        // Overlapping rows of C would be written twice, from two threads.
        assert!(
            self.m <= 1 || self.n == 0 || self.c_rs >= self.n,
            "gemm: C's row stride {} is shorter than its {} columns",
            self.c_rs,
            self.n
        );
    }
}

/// The generic fallback: a cache-friendly `i-p-j` loop.
///
/// # Panics
/// If an operand is too short for its shape and strides, a stride exceeds
/// `isize::MAX`, or `C`'s row stride is shorter than its row (so that rows
/// would overlap).
#[track_caller]
pub fn gemm_naive<F: crate::Element>(args: GemmArgs<'_, F>) {
    args.check();
    let GemmArgs {
        m,
        n,
        k,
        a,
        a_rs,
        a_cs,
        b,
        b_rs,
        b_cs,
        c,
        c_rs,
        accumulate,
        ..
    } = args;
    for i in 0..m {
        let row = &mut c[i * c_rs..i * c_rs + n];
        if !accumulate {
            row.iter_mut().for_each(|x| *x = F::zero());
        }
        for p in 0..k {
            let aip = a[i * a_rs + p * a_cs];
            if b_cs == 1 {
                let brow = &b[p * b_rs..p * b_rs + n];
                for (cj, &bj) in row.iter_mut().zip(brow) {
                    *cj += aip * bj;
                }
            } else {
                for (j, cj) in row.iter_mut().enumerate() {
                    *cj += aip * b[p * b_rs + j * b_cs];
                }
            }
        }
    }
}

/// Below this many multiply-adds (`m·n·k`) the plain loop beats the tuned
/// kernel's packing overhead (tiny layers such as BENCH.md's W2).
const SMALL: usize = 4096;

/// At or above this many multiply-adds a product is worth a second thread.
const PARALLEL: usize = 128 * 128 * 64;

/// The tuned kernel (the `gemm` crate: runtime dispatch to AVX-512, AVX2/FMA
/// or SSE; accumulate mode and arbitrary strides, so VJPs copy nothing).
fn gemm_tuned<T: crate::Element>(args: GemmArgs<'_, T>) {
    let work = args.m.saturating_mul(args.n).saturating_mul(args.k);
    if work < SMALL {
        return gemm_naive(args);
    }
    args.check();
    let GemmArgs {
        m,
        n,
        k,
        a,
        a_rs,
        a_cs,
        b,
        b_rs,
        b_cs,
        c,
        c_rs,
        accumulate,
        threads,
    } = args;
    let parallelism = if threads > 1 && work >= PARALLEL {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: `check` verified that every element the product addresses,
    // (m−1)·rs + (cols−1)·cs, lies inside `a`, `b` and `c`; `c` is borrowed
    // mutably, so it aliases neither input. The strides fit in `isize`
    // because they address elements of live slices. gemm computes
    // `c = 1·c + 1·a·b` when `accumulate` (reading `c`), else `c = a·b`
    // without reading it.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            c_rs as isize,
            accumulate,
            a.as_ptr(),
            a_cs as isize,
            a_rs as isize,
            b.as_ptr(),
            b_cs as isize,
            b_rs as isize,
            T::one(),
            T::one(),
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// `f32` product through the tuned kernel.
///
/// # Panics
/// If an operand is too short for its shape and strides, a stride exceeds
/// `isize::MAX`, or `C`'s row stride is shorter than its row (so that rows
/// would overlap).
#[track_caller]
pub fn gemm_f32(args: GemmArgs<'_, f32>) {
    gemm_tuned(args)
}

/// `f64` product through the tuned kernel.
///
/// # Panics
/// If an operand is too short for its shape and strides, a stride exceeds
/// `isize::MAX`, or `C`'s row stride is shorter than its row (so that rows
/// would overlap).
#[track_caller]
pub fn gemm_f64(args: GemmArgs<'_, f64>) {
    gemm_tuned(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `C = A·B (+ C0)` by the definition, in f64.
    #[allow(clippy::too_many_arguments)]
    fn reference(
        m: usize,
        n: usize,
        k: usize,
        a: &[f32],
        (a_rs, a_cs): (usize, usize),
        b: &[f32],
        (b_rs, b_cs): (usize, usize),
        c0: &[f32],
    ) -> Vec<f64> {
        (0..m * n)
            .map(|idx| {
                let (i, j) = (idx / n, idx % n);
                let dot: f64 = (0..k)
                    .map(|p| f64::from(a[i * a_rs + p * a_cs]) * f64::from(b[p * b_rs + j * b_cs]))
                    .sum();
                dot + f64::from(c0[idx])
            })
            .collect()
    }

    #[test]
    fn tuned_kernel_matches_the_definition_with_strides_and_accumulation() {
        let (m, n, k) = (63, 65, 67);
        let fill = |len: usize, seed: u32| -> Vec<f32> {
            (0..len)
                .map(|i| {
                    ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) % 1000) as f32
                        / 500.0
                        - 1.0
                })
                .collect()
        };
        let (a, b, c0) = (fill(m * k, 1), fill(k * n, 2), fill(m * n, 3));
        for threads in [1, 2] {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                // A stored k×m when transposed: element (i, p) at p·m + i.
                let a_strides = if ta { (1, m) } else { (k, 1) };
                let b_strides = if tb { (1, k) } else { (n, 1) };
                for accumulate in [false, true] {
                    let mut c = c0.clone();
                    gemm_f32(GemmArgs {
                        m,
                        n,
                        k,
                        a: &a,
                        a_rs: a_strides.0,
                        a_cs: a_strides.1,
                        b: &b,
                        b_rs: b_strides.0,
                        b_cs: b_strides.1,
                        c: &mut c,
                        c_rs: n,
                        accumulate,
                        threads,
                    });
                    let zero = vec![0.0; m * n];
                    let base = if accumulate { &c0 } else { &zero };
                    let want = reference(m, n, k, &a, a_strides, &b, b_strides, base);
                    for (got, want) in c.iter().zip(&want) {
                        // 67 products of terms ≤ 1 in f32: rounding ≤ ~67·2⁻²⁴·|terms|.
                        assert!((f64::from(*got) - want).abs() < 1e-4, "{got} vs {want}");
                    }
                }
            }
        }
    }
}
