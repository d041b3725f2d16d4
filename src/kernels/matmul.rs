//! Strided matrix products `C (+)= A·B`.
//!
//! Transposes are expressed through strides, so the VJP of a product
//! (`dA += G·Bᵀ`, `dB += Aᵀ·G`) reads its operands in place and copies
//! nothing.

// The one place that wraps a kernel: see the SAFETY comment in `gemm_tuned`.
#![allow(unsafe_code)]

use crate::element::GemmArgs;

impl<F> GemmArgs<'_, F> {
    /// Panics if an operand is too short for its shape and strides, a stride
    /// exceeds `isize::MAX`, or `C`'s rows overlap. The spans are computed
    /// without wrapping: a wrapped span could pass the length test and let
    /// the tuned kernel address memory outside the slices.
    #[track_caller]
    pub(crate) fn check(&self) {
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

/// A strided `B` of at most this many elements is packed on the stack by
/// [`gemm_naive`].
const PACK: usize = 256;

/// Below this many columns of `C`, [`gemm_naive`] computes each element as
/// one dot product instead of updating rows.
const NARROW: usize = 4;

/// The generic fallback, for the tiny products where packing for a tuned
/// kernel costs more than it saves, and for element types without one.
///
/// Every `C[i][j]` sums its `k` products in order of `p`, starting from
/// `C[i][j]` (accumulate) or 0, whichever loop order runs: results do not
/// depend on the shapes' path through here. Wide outputs run on register
/// blocks of 4×8 elements of `C` (a small strided `B` is first packed
/// row-major on the stack); narrow ones (fewer than four columns, such as
/// a one-output layer) run one dot product per element, several rows at a
/// time.
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
    if n < NARROW {
        narrow(c, a, b, [m, n, k, a_rs, a_cs, b_rs, b_cs, c_rs], accumulate);
        return;
    }
    let mut packed = [F::zero(); PACK];
    let (b, b_rs, b_cs) = if b_cs != 1 && k * n <= PACK {
        for (p, dst) in packed.chunks_exact_mut(n).take(k).enumerate() {
            for (j, d) in dst.iter_mut().enumerate() {
                *d = b[p * b_rs + j * b_cs];
            }
        }
        (&packed[..k * n], n, 1)
    } else {
        (b, b_rs, b_cs)
    };
    if b_cs == 1 {
        update_rows(c, a, b, [m, n, k, a_rs, a_cs, b_rs, c_rs], accumulate);
        return;
    }
    // A large strided `B` (a generic element type's big product).
    for i in 0..m {
        let row = &mut c[i * c_rs..i * c_rs + n];
        if !accumulate {
            row.iter_mut().for_each(|x| *x = F::zero());
        }
        for p in 0..k {
            let aip = a[i * a_rs + p * a_cs];
            for (j, cj) in row.iter_mut().enumerate() {
                *cj += aip * b[p * b_rs + j * b_cs];
            }
        }
    }
}

/// Rows and columns of the register block of [`update_rows`].
const MR: usize = 4;
const NR: usize = 8;

/// The row-update loop of [`gemm_naive`]: `C[i][j] (+)= Σ_p A[i][p]·B[p][j]`
/// with `B`'s rows contiguous. Blocks of [`MR`]×[`NR`] elements of `C`
/// stay in registers across the whole sum over `p`; the edges update one
/// row at a time. Out of line so that `c`, `a` and `b` arrive as separate
/// slice arguments, which the compiler knows do not overlap: only then
/// does it emit SIMD code.
#[inline(never)]
fn update_rows<F: crate::Element>(
    c: &mut [F],
    a: &[F],
    b: &[F],
    dims: [usize; 7],
    accumulate: bool,
) {
    let [m, n, k, a_rs, a_cs, b_rs, c_rs] = dims;
    let full_rows = m - m % MR;
    let full_cols = n - n % NR;
    for j0 in (0..full_cols).step_by(NR) {
        for i0 in (0..full_rows).step_by(MR) {
            block::<F, MR>(c, a, b, (i0, j0), dims, accumulate);
        }
        for i0 in full_rows..m {
            block::<F, 1>(c, a, b, (i0, j0), dims, accumulate);
        }
    }
    if full_cols < n {
        // The last columns, one row at a time.
        for i in 0..m {
            let row = &mut c[i * c_rs + full_cols..i * c_rs + n];
            if !accumulate {
                row.iter_mut().for_each(|x| *x = F::zero());
            }
            for p in 0..k {
                let brow = &b[p * b_rs + full_cols..p * b_rs + n];
                axpy(row, a[i * a_rs + p * a_cs], brow);
            }
        }
    }
}

/// One `R`×[`NR`] block of `C` at `(i0, j0)`, held in registers across the
/// sum over `p`.
#[inline(always)]
fn block<F: crate::Element, const R: usize>(
    c: &mut [F],
    a: &[F],
    b: &[F],
    (i0, j0): (usize, usize),
    [_, _, k, a_rs, a_cs, b_rs, c_rs]: [usize; 7],
    accumulate: bool,
) {
    let mut acc = [[F::zero(); NR]; R];
    if accumulate {
        for (r, acc_r) in acc.iter_mut().enumerate() {
            let start = (i0 + r) * c_rs + j0;
            acc_r.copy_from_slice(&c[start..start + NR]);
        }
    }
    for p in 0..k {
        let brow: &[F; NR] = b[p * b_rs + j0..][..NR].try_into().expect("NR elements");
        for (r, acc_r) in acc.iter_mut().enumerate() {
            let x = a[(i0 + r) * a_rs + p * a_cs];
            for (y, &bj) in acc_r.iter_mut().zip(brow) {
                *y += x * bj;
            }
        }
    }
    for (r, acc_r) in acc.iter().enumerate() {
        let start = (i0 + r) * c_rs + j0;
        c[start..start + NR].copy_from_slice(acc_r);
    }
}

/// `C (+)= A·B` for `C` narrower than [`NARROW`]: each element one dot
/// product, eight rows at a time so that eight independent sums overlap.
#[inline(never)]
fn narrow<F: crate::Element>(
    c: &mut [F],
    a: &[F],
    b: &[F],
    [m, n, k, a_rs, a_cs, b_rs, b_cs, c_rs]: [usize; 8],
    accumulate: bool,
) {
    const ROWS: usize = 8;
    for j in 0..n {
        for i0 in (0..m).step_by(ROWS) {
            let rows = ROWS.min(m - i0);
            let mut acc = [F::zero(); ROWS];
            if accumulate {
                for (r, y) in acc.iter_mut().enumerate().take(rows) {
                    *y = c[(i0 + r) * c_rs + j];
                }
            }
            for p in 0..k {
                let bj = b[p * b_rs + j * b_cs];
                for (r, y) in acc.iter_mut().enumerate().take(rows) {
                    *y += a[(i0 + r) * a_rs + p * a_cs] * bj;
                }
            }
            for (r, &y) in acc.iter().enumerate().take(rows) {
                c[(i0 + r) * c_rs + j] = y;
            }
        }
    }
}

/// `y += a·x`, in chunks of four so that short rows run as whole SIMD
/// operations rather than a scalar remainder loop.
#[inline(always)]
fn axpy<F: crate::Element>(y: &mut [F], a: F, x: &[F]) {
    let (y4, y_rest) = y.as_chunks_mut::<4>();
    let (x4, x_rest) = x.as_chunks::<4>();
    for (yc, xc) in y4.iter_mut().zip(x4) {
        for (yi, &xi) in yc.iter_mut().zip(xc) {
            *yi += a * xi;
        }
    }
    for (yi, &xi) in y_rest.iter_mut().zip(x_rest) {
        *yi += a * xi;
    }
}

/// Below this many multiply-adds (`m·n·k`) the plain loop beats the tuned
/// kernel's packing overhead (tiny layers such as the W2 workload's).
pub(crate) const SMALL: usize = 4096;

/// At or above this many multiply-adds a product is worth a second thread.
pub(crate) const PARALLEL: usize = 128 * 128 * 64;

/// The element types the tuned kernels know.
#[derive(Clone, Copy)]
enum Tuned {
    F32,
    F64,
}

/// The tuned kernel. On x86-64 with AVX2/FMA or AVX-512, `private-gemm-x86`
/// (the kernel behind faer's `matmul`), which packs into one workspace per
/// thread, allocated on the thread's first product and kept: a warm product
/// allocates nothing. Elsewhere the `gemm` crate (runtime dispatch to
/// AVX-512, AVX2/FMA, SSE or NEON), which allocates its packing buffers on
/// every call. Both take arbitrary strides and an accumulate mode, so VJPs
/// copy nothing.
///
/// On two threads or more the product is split here, not in the kernel: the
/// rows of `C` (or its columns, when it has few rows) in two halves, one
/// per thread, each half a one-thread product into that thread's own
/// workspace.
fn gemm_tuned<T: crate::Element>(args: GemmArgs<'_, T>, kind: Tuned) {
    let work = args.m.saturating_mul(args.n).saturating_mul(args.k);
    if work < SMALL {
        return gemm_naive(args);
    }
    args.check();
    // More pieces than the machine has threads only queue up: a request of
    // `usize::MAX` would split the product into that many.
    let threads = if work >= PARALLEL {
        crate::threads::clamp_threads(args.threads)
    } else {
        1
    };
    if threads > 1 {
        split(args, kind);
    } else {
        gemm_one_thread(args, kind);
    }
}

/// Rows of `C` per half are rounded to this, a multiple of the tuned
/// kernels' register tiles, so that the first half ends on a whole tile.
const TILE: usize = 16;

/// `C (+)= A·B` as two halves of `C`'s rows on two threads (see
/// [`gemm_tuned`]); one thread when `C` has too few rows to halve.
fn split<T: crate::Element>(args: GemmArgs<'_, T>, kind: Tuned) {
    let m = args.m;
    if m < 2 * TILE {
        return gemm_one_thread(args, kind);
    }
    let h = (m / 2).next_multiple_of(TILE).min(m);
    let GemmArgs {
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
    // `check` verified the spans: C's row `h` starts at `h·c_rs` and A's at
    // `h·a_rs`, both inside their slices since h < m.
    let (c0, c1) = c.split_at_mut(h * c_rs);
    let half = |m, a, c| GemmArgs {
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
        threads: 1,
    };
    let (top, bottom) = (half(h, a, c0), half(m - h, &a[h * a_rs..], c1));
    rayon::join(
        || gemm_one_thread(top, kind),
        || gemm_one_thread(bottom, kind),
    );
}

/// Which x86-64 kernel the CPU runs, detected once.
#[cfg(target_arch = "x86_64")]
fn instr_set() -> Option<private_gemm_x86::InstrSet> {
    use std::sync::OnceLock;
    static SET: OnceLock<Option<u8>> = OnceLock::new();
    let set = *SET.get_or_init(|| {
        if std::arch::is_x86_feature_detected!("avx512f") {
            Some(2)
        } else if std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
        {
            Some(1)
        } else {
            None
        }
    });
    match set {
        Some(2) => Some(private_gemm_x86::InstrSet::Avx512),
        Some(_) => Some(private_gemm_x86::InstrSet::Avx256),
        None => None,
    }
}

/// `vzeroupper`: the x86-64 kernel returns with the upper halves of the
/// vector registers dirty, and then every SSE-encoded instruction after it
/// (scalar float code compiled for baseline x86-64: the optimiser's loop,
/// element-wise VJPs) pays for merging them, which doubled those loops' time
/// in a W3 step.
///
/// # Safety
/// The CPU must support AVX.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn zero_upper() {
    std::arch::x86_64::_mm256_zeroupper();
}

/// One product on the calling thread through the tuned kernel. `args` has
/// passed [`GemmArgs::check`] and has `k ≥ 1` (its work is at least
/// [`SMALL`]).
fn gemm_one_thread<T: crate::Element>(args: GemmArgs<'_, T>, kind: Tuned) {
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
    debug_assert!(k >= 1 && std::mem::size_of::<T>() == kind.size());
    #[cfg(target_arch = "x86_64")]
    if let Some(instr) = instr_set() {
        use private_gemm_x86::{Accum, DType, DstKind, IType};
        let dtype = match kind {
            Tuned::F32 => DType::F32,
            Tuned::F64 => DType::F64,
        };
        let one = T::one();
        // SAFETY: `check` verified that every element the product addresses,
        // (rows−1)·rs + (cols−1)·cs, lies inside `a`, `b` and `c`, and that
        // C's rows do not overlap; `c` is borrowed mutably, so it aliases
        // neither input. Strides are in elements (the kernel scales them by
        // the element size `dtype` names, which is `T`'s, as the caller
        // `gemm_f32`/`gemm_f64` guarantees) and fit in `isize` because they
        // address elements of live slices. No index arrays, no diagonal:
        // their pointers are null, as the kernel expects for a full `C`.
        // `alpha` points at a live `T`. With `Accum::Replace` the kernel
        // writes every element of `C` without reading it (k ≥ 1), with
        // `Accum::Add` it computes C += A·B. One thread: the kernel packs
        // into this thread's own workspace.
        unsafe {
            private_gemm_x86::gemm(
                dtype,
                IType::U64,
                instr,
                m,
                n,
                k,
                c.as_mut_ptr().cast(),
                c_rs as isize,
                1,
                std::ptr::null(),
                std::ptr::null(),
                DstKind::Full,
                if accumulate {
                    Accum::Add
                } else {
                    Accum::Replace
                },
                a.as_ptr().cast(),
                a_rs as isize,
                a_cs as isize,
                false,
                std::ptr::null(),
                0,
                b.as_ptr().cast(),
                b_rs as isize,
                b_cs as isize,
                false,
                (&raw const one).cast(),
                1,
            );
            // SAFETY: `instr_set` found AVX2 or AVX-512, so AVX is there.
            zero_upper();
        }
        return;
    }
    // SAFETY: as above for the spans and aliasing. gemm computes
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
            gemm::Parallelism::None,
        );
    }
}

impl Tuned {
    /// The element's size in bytes.
    fn size(self) -> usize {
        match self {
            Tuned::F32 => 4,
            Tuned::F64 => 8,
        }
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
    gemm_tuned(args, Tuned::F32)
}

/// `f64` product through the tuned kernel.
///
/// # Panics
/// If an operand is too short for its shape and strides, a stride exceeds
/// `isize::MAX`, or `C`'s row stride is shorter than its row (so that rows
/// would overlap).
#[track_caller]
pub fn gemm_f64(args: GemmArgs<'_, f64>) {
    gemm_tuned(args, Tuned::F64)
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
    fn naive_kernel_sums_in_order_of_p_on_every_path() {
        // Narrow outputs, register blocks with edge rows and columns, packed
        // and unpacked strided B: each C[i][j] must equal the sum over p in
        // order, starting from C0[i][j] or 0, bit for bit.
        let fill = |len: usize, seed: u32| -> Vec<f32> {
            (0..len)
                .map(|i| {
                    (((i as u32).wrapping_mul(2_654_435_761) ^ seed) % 1999) as f32 / 999.0 - 1.0
                })
                .collect()
        };
        for (m, n, k) in [
            (1, 1, 1),
            (3, 2, 5),
            (7, 9, 3),
            (9, 17, 4),
            (5, 3, 40),
            (13, 8, 2),
            (1, 8, 32),
            (6, 20, 20),
        ] {
            let (a, b, c0) = (fill(m * k, 1), fill(k * n, 2), fill(m * n, 3));
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let (a_rs, a_cs) = if ta { (1, m) } else { (k, 1) };
                let (b_rs, b_cs) = if tb { (1, k) } else { (n, 1) };
                for accumulate in [false, true] {
                    let mut c = c0.clone();
                    gemm_naive(GemmArgs {
                        m,
                        n,
                        k,
                        a: &a,
                        a_rs,
                        a_cs,
                        b: &b,
                        b_rs,
                        b_cs,
                        c: &mut c,
                        c_rs: n,
                        accumulate,
                        threads: 1,
                    });
                    for i in 0..m {
                        for j in 0..n {
                            let mut want = if accumulate { c0[i * n + j] } else { 0.0 };
                            for p in 0..k {
                                want += a[i * a_rs + p * a_cs] * b[p * b_rs + j * b_cs];
                            }
                            assert_eq!(c[i * n + j], want, "({m}, {n}, {k}) at ({i}, {j})");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn tuned_kernel_matches_the_definition_with_strides_and_accumulation() {
        // The second shape is past `PARALLEL`: on two threads it runs as two
        // halves of C's rows, the first ending on a whole tile.
        const { assert!(150 * 97 * 80 >= PARALLEL) };
        for (m, n, k) in [(63, 65, 67), (150, 97, 80)] {
            tuned_kernel_case(m, n, k);
        }
    }

    fn tuned_kernel_case(m: usize, n: usize, k: usize) {
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
                        // ≤ 80 products of terms ≤ 1 in f32: rounding ≤ ~80·2⁻²⁴·|terms|.
                        assert!((f64::from(*got) - want).abs() < 1e-4, "{got} vs {want}");
                    }
                }
            }
        }
    }

    // The f32 and f64 kernels check their operands before the tuned
    // (`unsafe`) kernel runs: a stride whose span wraps around `usize`, a stride
    // past `isize::MAX` or overlapping rows of `C` must be refused with a panic
    // (documented under `# Panics`), never passed on as addresses outside the
    // slices.

    #[test]
    #[should_panic(
        expected = "gemm: A (5×1, strides 4611686018427387904, 1) does not fit in its 1 elements"
    )]
    fn a_row_stride_whose_span_wraps_around_is_refused() {
        // 5×1 · 1×1024 (5120 multiply-adds: the tuned kernel's range) with A's
        // row stride 2⁶²: rows 0..5 span 4·2⁶² + 1 = 2⁶⁴ + 1 elements, which
        // wraps to 1 in usize arithmetic and so looked like it fit A's one value.
        let (a, b) = (vec![1.0f64], vec![1.0f64; 1024]);
        let mut c = vec![0.0f64; 5 * 1024];
        gemm_f64(GemmArgs {
            m: 5,
            n: 1024,
            k: 1,
            a: &a,
            a_rs: 1 << 62,
            a_cs: 1,
            b: &b,
            b_rs: 1024,
            b_cs: 1,
            c: &mut c,
            c_rs: 1024,
            accumulate: false,
            threads: 1,
        });
    }

    #[test]
    #[should_panic(expected = "must not exceed isize::MAX")]
    fn a_stride_past_isize_max_is_refused() {
        // One row, so the stride is never multiplied; the tuned kernel would
        // still receive it cast to a negative isize.
        let (a, b) = (vec![1.0f32; 4096], vec![1.0f32; 4096]);
        let mut c = vec![0.0f32; 1];
        gemm_f32(GemmArgs {
            m: 1,
            n: 1,
            k: 4096,
            a: &a,
            a_rs: usize::MAX,
            a_cs: 1,
            b: &b,
            b_rs: 1,
            b_cs: 1,
            c: &mut c,
            c_rs: 1,
            accumulate: false,
            threads: 1,
        });
    }

    #[test]
    #[should_panic(expected = "gemm: C's row stride 0 is shorter than its 64 columns")]
    fn overlapping_rows_of_c_are_refused() {
        // 64×64·64×64 at two threads: with row stride 0 every row of C is the
        // same memory, written by both threads at once.
        let (a, b) = (vec![1.0f32; 64 * 64], vec![1.0f32; 64 * 64]);
        let mut c = vec![0.0f32; 64];
        gemm_f32(GemmArgs {
            m: 64,
            n: 64,
            k: 64,
            a: &a,
            a_rs: 64,
            a_cs: 1,
            b: &b,
            b_rs: 64,
            b_cs: 1,
            c: &mut c,
            c_rs: 0,
            accumulate: false,
            threads: 2,
        });
    }

    #[test]
    fn a_product_whose_operands_fit_exactly_runs() {
        // 2×3 · 3×2 with every operand exactly as long as its span.
        let a = [1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0];
        let b = [1.0f64, 0.0, 0.0, 1.0, 1.0, 1.0];
        let mut c = [0.0f64; 4];
        gemm_f64(GemmArgs {
            m: 2,
            n: 2,
            k: 3,
            a: &a,
            a_rs: 3,
            a_cs: 1,
            b: &b,
            b_rs: 2,
            b_cs: 1,
            c: &mut c,
            c_rs: 2,
            accumulate: false,
            threads: 1,
        });
        // [1 2 3; 4 5 6]·[1 0; 0 1; 1 1] = [1+3, 2+3; 4+6, 5+6]
        assert_eq!(c, [4.0, 5.0, 10.0, 11.0]);
    }
}
