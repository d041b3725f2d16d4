//! The public matrix kernels check their operands before the tuned
//! (`unsafe`) kernel runs: a stride whose span wraps around `usize`, a stride
//! past `isize::MAX` or overlapping rows of `C` must be refused with a panic
//! (documented under `# Panics`), never passed on as addresses outside the
//! slices.

use gradsign::kernels::matmul::{GemmArgs, gemm_f32, gemm_f64};

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
