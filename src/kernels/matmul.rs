//! Strided matrix products `C (+)= A·B`.
//!
//! Transposes are expressed through strides, so the VJP of a product
//! (`dA += G·Bᵀ`, `dB += Aᵀ·G`) reads its operands in place and copies
//! nothing.

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
    /// Panics (an internal invariant, never user input) if an operand is too
    /// short for its strides.
    fn check(&self) {
        let span = |rows: usize, cols: usize, rs: usize, cs: usize| {
            if rows == 0 || cols == 0 {
                0
            } else {
                (rows - 1) * rs + (cols - 1) * cs + 1
            }
        };
        assert!(self.a.len() >= span(self.m, self.k, self.a_rs, self.a_cs));
        assert!(self.b.len() >= span(self.k, self.n, self.b_rs, self.b_cs));
        assert!(self.c.len() >= span(self.m, self.n, self.c_rs, 1));
    }
}

/// The generic fallback: a cache-friendly `i-p-j` loop.
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

/// `f32` product through the tuned kernel.
pub fn gemm_f32(args: GemmArgs<'_, f32>) {
    gemm_naive(args)
}

/// `f64` product through the tuned kernel.
pub fn gemm_f64(args: GemmArgs<'_, f64>) {
    gemm_naive(args)
}
