//! A warm training step allocates nothing: `tape.clear()`, forward, loss,
//! `backward_into` a reused `Gradients`, optimiser step, counted by a global
//! allocator that tallies the allocations of the calling thread. At W3's
//! size, the only allocations are the `gemm` crate's own packing buffers.
//!
//! Its own test binary, because it installs a global allocator.

use gradsign::activation::Activation;
use gradsign::kernels::matmul::{GemmArgs, gemm_f32};
use gradsign::loss::{Reduction, softmax_cross_entropy};
use gradsign::nn::Mlp;
use gradsign::optim::{Adam, Optimizer, Sgd};
use gradsign::{Gradients, Tape, Tensor};
use gradsign_studies::bench_data;

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::allocations;

/// Runs `warm` steps, then counts the allocations of `measured` more.
fn allocations_per_warm_steps<F: gradsign::nn::ModelElement>(
    mlp: &mut gradsign::nn::Sequential<F>,
    opt: &mut impl Optimizer<F>,
    x: &Tensor<F>,
    y: &Tensor<F>,
    measured: usize,
) -> (usize, F) {
    let mut tape = Tape::new();
    let mut grads = Gradients::new();
    let mut before = 0;
    let mut loss_value = F::zero();
    for step in 0..3 + measured {
        if step == 3 {
            before = allocations();
        }
        tape.clear();
        let input = tape.constant(x);
        let target = tape.constant(y);
        let (out, trace) = gradsign::nn::forward(&mlp, &tape, input).unwrap();
        // Mean squared error from primitives.
        let loss = (out - target).square().mean().unwrap();
        loss_value = loss.item().unwrap();
        loss.backward_into(&mut grads).unwrap();
        opt.step(&mut *mlp, &trace, &grads).unwrap();
    }
    (allocations() - before, loss_value)
}

#[test]
fn a_warm_training_step_performs_no_heap_allocation() {
    // BENCH.md's W2: 2-8-8-1 tanh MLP, 32 examples, f32.
    let w2 = bench_data::w2::<f32>();

    let mut mlp = w2.mlp.clone();
    let mut sgd = Sgd::new(0.03f32).momentum(0.9);
    let (n, loss) = allocations_per_warm_steps(&mut mlp, &mut sgd, &w2.x, &w2.y, 100);
    assert_eq!(n, 0, "{n} allocations in 100 warm SGD steps");
    assert!(
        loss.is_finite() && loss < 1.00202,
        "training made progress: {loss}"
    );

    let mut mlp = w2.mlp.clone();
    let mut adam = Adam::new(0.01f32);
    let (n, _) = allocations_per_warm_steps(&mut mlp, &mut adam, &w2.x, &w2.y, 100);
    assert_eq!(n, 0, "{n} allocations in 100 warm Adam steps");

    // The same in f64 with a hand-built network.
    let mut mlp = Mlp::builder(&[2, 8, 8, 1])
        .hidden(Activation::Tanh)
        .output(Activation::Identity)
        .build_with(gradsign_studies::splitmix::dense::<f64>(
            &mut gradsign_studies::SplitMix64::new(5),
        ))
        .unwrap();
    let (x, y) = (w2.x.cast::<f64>(), w2.y.cast::<f64>());
    let (n, _) = allocations_per_warm_steps(&mut mlp, &mut Sgd::new(0.03), &x, &y, 100);
    assert_eq!(n, 0, "{n} allocations in 100 warm f64 steps");
}

/// Allocations made by this thread during `rounds` calls of `f`, after one
/// warm-up call.
fn allocations_in(rounds: usize, mut f: impl FnMut()) -> usize {
    f();
    let before = allocations();
    for _ in 0..rounds {
        f();
    }
    allocations() - before
}

/// One product `C += A·B` through the tuned kernel on one thread, `dims` =
/// `[m, n, k, a_rs, a_cs, b_rs, b_cs]`.
fn product(a: &[f32], b: &[f32], c: &mut [f32], dims: [usize; 7]) {
    let [m, n, k, a_rs, a_cs, b_rs, b_cs] = dims;
    gemm_f32(GemmArgs {
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
        c_rs: n,
        accumulate: true,
        threads: 1,
    });
}

/// W3's eight matrix products, straight through the tuned kernel: three
/// forward `X·Wᵀ (+ b)`, three `dW = Gᵀ·X`, two `dX = G·W` (the input batch
/// is a constant: no `dX` for the first layer). `a`, `b`, `c` are buffers
/// large enough for every product (their values do not matter).
fn w3_products(a: &[f32], b: &[f32], c: &mut [f32]) {
    let batch = bench_data::W3_BATCH;
    for (l, pair) in bench_data::W3_SIZES.windows(2).enumerate() {
        let (fan_in, fan_out) = (pair[0], pair[1]);
        product(a, b, c, [batch, fan_out, fan_in, fan_in, 1, 1, fan_in]);
        product(a, b, c, [fan_out, fan_in, batch, 1, fan_out, fan_in, 1]);
        if l > 0 {
            product(a, b, c, [batch, fan_in, fan_out, fan_out, 1, fan_in, 1]);
        }
    }
}

#[test]
fn a_warm_w3_step_allocates_only_inside_the_tuned_matrix_kernel() {
    // BENCH.md's W3: 784-256-128-10 sigmoid MLP, 128 examples, softmax
    // cross-entropy, f32, one thread. The tape, the gradients, the loss and
    // SGD reuse their buffers; the `gemm` crate allocates its packing
    // buffers on each call (small, from the heap once glibc's threshold has
    // adapted, so no page faults). A warm step must allocate exactly what
    // its eight products allocate when called alone. (On two threads the
    // kernel's allocations move between the pool's threads from call to
    // call, so an exact per-thread count is only possible on one.)
    let w3 = bench_data::w3::<f32>();
    let mut mlp = w3.mlp.clone();
    let mut sgd = Sgd::new(bench_data::W3_LR as f32);
    let mut tape = Tape::new();
    let mut grads = Gradients::new();
    let mut step = || {
        tape.clear();
        let input = tape.constant(&w3.x);
        let (out, trace) = gradsign::nn::forward(&mlp, &tape, input).unwrap();
        let loss = softmax_cross_entropy(out, &w3.labels, Reduction::Mean).unwrap();
        loss.backward_into(&mut grads).unwrap();
        sgd.step(&mut mlp, &trace, &grads).unwrap();
    };
    step();
    let in_steps = allocations_in(5, step);
    let largest = bench_data::W3_SIZES[0] * bench_data::W3_SIZES[1];
    let (a, b, mut c) = (vec![0.5; largest], vec![0.25; largest], vec![0.0; largest]);
    let in_kernel = allocations_in(5, || w3_products(&a, &b, &mut c));
    assert_eq!(
        in_steps, in_kernel,
        "5 warm W3 steps: {in_steps} allocations, their products alone {in_kernel}"
    );
}

#[test]
fn the_counter_sees_allocations() {
    // Guards the test above against a counter that never counts.
    let before = allocations();
    let v = std::hint::black_box(vec![1u8; 64]);
    assert!(allocations() > before);
    drop(v);
}
