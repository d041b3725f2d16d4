//! A warm training step allocates nothing: `tape.clear()`, forward, loss,
//! `backward_into` a reused `Gradients`, optimiser step, counted by a global
//! allocator that tallies the allocations of the calling thread, at W2's,
//! W3's and W6's sizes (`support/counting_alloc.rs`). The same steps on two
//! threads, counted on every thread, are `tests/alloc_two_threads.rs`.

use gradsign::activation::Activation;
use gradsign::nn::Mlp;
use gradsign::optim::{Adam, Optimizer, Sgd};
use gradsign::{Gradients, Tape, Tensor};
use gradsign_studies::bench_data;
use gradsign_studies::trainer::{Target, Trainer};

use crate::counting_alloc::{allocations, counted_in};

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
    let mut loss_value = F::zero();
    let n = counted_in(allocations, (3, measured), || {
        tape.clear();
        let input = tape.constant(x);
        let target = tape.constant(y);
        let (out, trace) = gradsign::nn::forward(&mlp, &tape, input).unwrap();
        // Mean squared error from primitives.
        let loss = (out - target).square().mean().unwrap();
        loss_value = loss.item().unwrap();
        loss.backward_into(&mut grads).unwrap();
        opt.step(&mut *mlp, &trace, &grads).unwrap();
    });
    (n, loss_value)
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

/// Allocations of this thread in five warm steps of `net` (softmax
/// cross-entropy, SGD) on `threads` threads, after two warm-up steps.
fn warm_step_allocations(
    net: &gradsign::nn::Sequential<f32>,
    x: &Tensor<f32>,
    labels: &[usize],
    lr: f64,
    threads: usize,
) -> usize {
    let mut trainer = Trainer::new(net.clone(), lr, threads);
    counted_in(allocations, (2, 5), || {
        std::hint::black_box(trainer.step(x, Target::Classes(labels)));
    })
}

#[test]
fn a_warm_w3_step_allocates_nothing() {
    // BENCH.md's W3: 784-256-128-10 sigmoid MLP, 128 examples, softmax
    // cross-entropy, f32, one thread. The tape, the gradients, the loss and
    // SGD reuse their buffers, and the matrix kernel packs into a workspace
    // each thread keeps.
    let w3 = bench_data::w3::<f32>();
    let n = warm_step_allocations(&w3.mlp, &w3.x, &w3.labels, bench_data::W3_LR, 1);
    assert_eq!(n, 0, "{n} allocations in 5 warm W3 steps");
}

#[test]
fn a_warm_w6_step_allocates_nothing() {
    // BENCH.md's W6: two 5×5 convolutions with ReLU and max-pooling, a
    // linear layer, 64 images of 28×28, f32, one thread.
    let w6 = bench_data::w6::<f32>();
    let n = warm_step_allocations(&w6.net, &w6.x, &w6.labels, bench_data::W6_LR, 1);
    assert_eq!(n, 0, "{n} allocations in 5 warm W6 steps");
}

#[test]
fn the_counter_sees_allocations() {
    // Guards the allocation tests of this binary (here, in `observe.rs`
    // and in `norm_alloc_free.rs`) against a counter that never counts.
    let before = allocations();
    let v = std::hint::black_box(vec![1u8; 64]);
    assert!(allocations() > before);
    drop(v);
}
