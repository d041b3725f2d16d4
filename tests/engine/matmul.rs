//! Matrix products against the textbook triple loop, at awkward sizes
//! (1×1×1, 7×7×7, 63×65×67), with transposed operands read through strides,
//! batched, forward and backward, in f32 and f64, at 1 and 2 threads.
//!
//! Tolerance: the computed product of an inner dimension of `k` terms obeys
//! `|Ĉ − C| ≤ γ_k·|A|·|B|` elementwise, `γ_k = k·u/(1 − k·u)`, for any
//! summation order, blocked or not, with or without fused multiply-adds
//! (Higham, *Accuracy and Stability of Numerical Algorithms*, §3.5). The
//! reference is itself an f64 loop within `γ_k(u₆₄)·|A|·|B|`, so each element
//! is checked against `(γ_k(u_F) + γ_k(u₆₄))·(|A|·|B|)_ij`. Inputs are
//! F-representable, so both sides multiply the same numbers. An indexing or
//! stride error is off by O(1), five orders of magnitude above this bound.

use gradsign::{Element, Tape, Tensor};

/// The awkward sizes `(m, k, n)`: degenerate, odd, and just past powers of two.
const SIZES: [(usize, usize, usize); 3] = [(1, 1, 1), (7, 7, 7), (63, 65, 67)];

/// A `dims` tensor of values in [−1, 1) that `F` represents exactly.
fn input<F: Element>(dims: &[usize], seed: u64) -> Tensor<f64> {
    Tensor::<f64>::rand_uniform(dims, -1.0, 1.0, seed)
        .unwrap()
        .cast::<F>()
        .cast::<f64>()
}

/// `C = A·B` by the triple loop, and `|A|·|B|`, for `A` with element `(i, p)`
/// at `a(i, p)` and `B` with `(p, j)` at `b(p, j)`.
fn naive(
    m: usize,
    k: usize,
    n: usize,
    a: impl Fn(usize, usize) -> f64,
    b: impl Fn(usize, usize) -> f64,
) -> (Vec<f64>, Vec<f64>) {
    let (mut c, mut abs) = (vec![0.0; m * n], vec![0.0; m * n]);
    for i in 0..m {
        for j in 0..n {
            for p in 0..k {
                c[i * n + j] += a(i, p) * b(p, j);
                abs[i * n + j] += (a(i, p) * b(p, j)).abs();
            }
        }
    }
    (c, abs)
}

fn gamma(k: usize, u: f64) -> f64 {
    let ku = k as f64 * u;
    ku / (1.0 - ku)
}

/// Asserts `got` is within the product error bound of `want`.
#[track_caller]
fn assert_product<F: Element>(got: &Tensor<F>, want: &[f64], abs: &[f64], k: usize, what: &str) {
    assert_eq!(got.numel(), want.len(), "{what}: size");
    let u = F::epsilon().to_f64() / 2.0;
    let scale = gamma(k, u) + gamma(k, f64::EPSILON / 2.0);
    for (i, (&g, (&w, &a))) in got.as_slice().iter().zip(want.iter().zip(abs)).enumerate() {
        let err = (g.to_f64() - w).abs();
        assert!(
            err <= scale * a,
            "{what} ({}): element {i}: {} vs {w}, error {err:e} > bound {:e}",
            F::NAME,
            g.to_f64(),
            scale * a
        );
    }
}

fn at(t: &Tensor<f64>, cols: usize) -> impl Fn(usize, usize) -> f64 + '_ {
    move |r, c| t.as_slice()[r * cols + c]
}

fn plain_product<F: Element>(threads: usize) {
    for (s, &(m, k, n)) in SIZES.iter().enumerate() {
        let (a, b) = (
            input::<F>(&[m, k], s as u64),
            input::<F>(&[k, n], 10 + s as u64),
        );
        let (want, abs) = naive(m, k, n, at(&a, k), at(&b, n));
        let mut tape = Tape::<F>::new();
        tape.set_threads(threads);
        let c = tape
            .constant(&a.cast())
            .matmul(tape.constant(&b.cast()))
            .unwrap();
        assert_eq!(c.dims(), vec![m, n]);
        assert_product(&c.value(), &want, &abs, k, &format!("{m}x{k}x{n}"));
    }
}

#[test]
fn matmul_matches_the_triple_loop_f64() {
    plain_product::<f64>(1);
}

#[test]
fn matmul_matches_the_triple_loop_f32() {
    plain_product::<f32>(1);
}

#[test]
fn matmul_on_two_threads_matches_the_triple_loop() {
    plain_product::<f64>(2);
    plain_product::<f32>(2);
}

fn transposed_operands<F: Element>() {
    for (s, &(m, k, n)) in SIZES.iter().enumerate() {
        let seed = 100 + 10 * s as u64;
        // Aᵀ stored (k×m) and Bᵀ stored (n×k): the product reads both
        // through a transpose.
        let (at_data, bt_data) = (input::<F>(&[k, m], seed), input::<F>(&[n, k], seed + 1));
        let a = |i: usize, p: usize| at_data.as_slice()[p * m + i];
        let b = |p: usize, j: usize| bt_data.as_slice()[j * k + p];
        let (want, abs) = naive(m, k, n, a, b);
        let b_plain = input::<F>(&[k, n], seed + 2);
        let (want_lhs, abs_lhs) = naive(m, k, n, a, at(&b_plain, n));
        let tape = Tape::<F>::new();
        let (at_v, bt_v) = (tape.var(&at_data.cast()), tape.var(&bt_data.cast()));
        let a_v = at_v.transpose().unwrap();
        let lhs_t = a_v.matmul(tape.var(&b_plain.cast())).unwrap();
        assert_product(&lhs_t.value(), &want_lhs, &abs_lhs, k, "Aᵀ·B");
        let both_t = a_v.matmul(bt_v.transpose().unwrap()).unwrap();
        assert_product(&both_t.value(), &want, &abs, k, "Aᵀ·Bᵀ");
        let a_plain = input::<F>(&[m, k], seed + 3);
        let (want_rhs, abs_rhs) = naive(m, k, n, at(&a_plain, k), b);
        let rhs_t = tape
            .var(&a_plain.cast())
            .matmul(bt_v.transpose().unwrap())
            .unwrap();
        assert_product(&rhs_t.value(), &want_rhs, &abs_rhs, k, "A·Bᵀ");
    }
}

#[test]
fn products_of_transposed_operands_match_the_triple_loop_f64() {
    transposed_operands::<f64>();
}

#[test]
fn products_of_transposed_operands_match_the_triple_loop_f32() {
    transposed_operands::<f32>();
}

fn linear_layer<F: Element>() {
    for (s, &(m, k, n)) in SIZES.iter().enumerate() {
        let seed = 200 + 10 * s as u64;
        let (x, w, b) = (
            input::<F>(&[m, k], seed),
            input::<F>(&[n, k], seed + 1),
            input::<F>(&[n], seed + 2),
        );
        // x·Wᵀ + b: the bias is one more term of every sum, with |b_j|.
        let (xw, xw_abs) = naive(m, k, n, at(&x, k), |p, j| w.as_slice()[j * k + p]);
        let want: Vec<f64> = xw
            .iter()
            .enumerate()
            .map(|(i, &v)| v + b.as_slice()[i % n])
            .collect();
        let abs: Vec<f64> = xw_abs
            .iter()
            .enumerate()
            .map(|(i, &v)| v + b.as_slice()[i % n].abs())
            .collect();
        let tape = Tape::<F>::new();
        let (xv, wv, bv) = (
            tape.var(&x.cast()),
            tape.var(&w.cast()),
            tape.var(&b.cast()),
        );
        let y = xv.linear(wv, Some(bv)).unwrap();
        assert_product(&y.value(), &want, &abs, k + 1, "linear with bias");
        let y = xv.linear(wv, None).unwrap();
        assert_product(&y.value(), &xw, &xw_abs, k, "linear");
    }
}

#[test]
fn linear_reads_the_weight_transposed_and_matches_the_triple_loop_f64() {
    linear_layer::<f64>();
}

#[test]
fn linear_reads_the_weight_transposed_and_matches_the_triple_loop_f32() {
    linear_layer::<f32>();
}

fn batched<F: Element>() {
    const BATCH: usize = 3;
    for (s, &(m, k, n)) in SIZES.iter().enumerate() {
        let seed = 300 + 10 * s as u64;
        let a = input::<F>(&[BATCH, m, k], seed);
        let b = input::<F>(&[BATCH, k, n], seed + 1);
        let shared = input::<F>(&[k, n], seed + 2);
        let tape = Tape::<F>::new();
        let av = tape.var(&a.cast());
        let per_batch = av.matmul(tape.var(&b.cast())).unwrap().value();
        let one_rhs = av.matmul(tape.var(&shared.cast())).unwrap().value();
        assert_eq!(per_batch.dims(), &[BATCH, m, n]);
        for t in 0..BATCH {
            let a_t = |i: usize, p: usize| a.as_slice()[(t * m + i) * k + p];
            let b_t = |p: usize, j: usize| b.as_slice()[(t * k + p) * n + j];
            let block = |c: &Tensor<F>| {
                Tensor::from_slice(&c.as_slice()[t * m * n..(t + 1) * m * n], &[m, n]).unwrap()
            };
            let (want, abs) = naive(m, k, n, a_t, b_t);
            assert_product(&block(&per_batch), &want, &abs, k, "batched");
            let (want, abs) = naive(m, k, n, a_t, at(&shared, n));
            assert_product(&block(&one_rhs), &want, &abs, k, "batched, shared rhs");
        }
    }
}

#[test]
fn batched_matmul_matches_the_triple_loop_per_batch_f64() {
    batched::<f64>();
}

#[test]
fn batched_matmul_matches_the_triple_loop_per_batch_f32() {
    batched::<f32>();
}

/// The VJPs `dA = G·Bᵀ` and `dB = Aᵀ·G` read `B` and `A` transposed through
/// strides and accumulate: `A` is used in two products, so `dA` receives
/// `G₁·B₁ᵀ + G₂·B₂ᵀ`.
fn backward<F: Element>(threads: usize) {
    for (s, &(m, k, n)) in SIZES.iter().enumerate() {
        let seed = 400 + 10 * s as u64;
        let a = input::<F>(&[m, k], seed);
        let b1 = input::<F>(&[k, n], seed + 1);
        let b2 = input::<F>(&[k, n], seed + 2);
        let g = input::<F>(&[m, n], seed + 3);
        let mut tape = Tape::<F>::new();
        tape.set_threads(threads);
        let (av, b1v, b2v) = (
            tape.var(&a.cast()),
            tape.var(&b1.cast()),
            tape.var(&b2.cast()),
        );
        let y = av.matmul(b1v).unwrap() + av.matmul(b2v).unwrap();
        let grads = y.backward_with_seed(&g.cast()).unwrap();
        // dA_ip = Σ_j G_ij·B1_pj + Σ_j G_ij·B2_pj: one sum of 2n terms.
        let (want, abs) = naive(
            m,
            2 * n,
            k,
            |i, j| g.as_slice()[i * n + j % n],
            |j, p| {
                let src = if j < n { &b1 } else { &b2 };
                src.as_slice()[p * n + j % n]
            },
        );
        assert_product(&grads.tensor(av).unwrap(), &want, &abs, 2 * n, "dA");
        // dB1_pj = Σ_i A_ip G_ij: m terms.
        let (want, abs) = naive(k, m, n, |p, i| a.as_slice()[i * k + p], at(&g, n));
        assert_product(&grads.tensor(b1v).unwrap(), &want, &abs, m, "dB1");
        assert_product(&grads.tensor(b2v).unwrap(), &want, &abs, m, "dB2");
    }
}

#[test]
fn matmul_vjps_match_the_triple_loop_f64() {
    backward::<f64>(1);
}

#[test]
fn matmul_vjps_match_the_triple_loop_f32() {
    backward::<f32>(1);
}

#[test]
fn matmul_vjps_on_two_threads_match_the_triple_loop() {
    backward::<f64>(2);
    backward::<f32>(2);
}

#[test]
fn a_product_over_an_empty_inner_dimension_is_zero() {
    // Σ over no terms: C = 0 (m×0 · 0×n), and the gradients are empty.
    let tape = Tape::<f64>::new();
    let a = tape.var(&Tensor::zeros(&[3, 0]).unwrap());
    let b = tape.var(&Tensor::zeros(&[0, 2]).unwrap());
    let c = a.matmul(b).unwrap();
    assert_eq!(c.value(), Tensor::zeros(&[3, 2]).unwrap());
    let g = c.sum().backward().unwrap();
    assert!(g.get(a).unwrap().is_empty());
}
