//! Memory stays flat over 10^5 training steps with a reused tape: a global
//! allocator counts the live heap bytes of the training thread, and after a
//! warm-up neither the live bytes nor their peak grow.
//!
//! The counting allocator is the test binary's (`support/counting_alloc.rs`),
//! and its figures are per thread. The model is tiny (2-4-1, a batch of 4),
//! so 10^5 debug-build steps take seconds.

use crate::counting_alloc::{live_bytes as live, peak_bytes as peak, reset_peak};
use gradsign::activation::Activation;
use gradsign::loss::{self, Reduction};
use gradsign::nn::Mlp;
use gradsign::optim::{Adam, Optimizer};
use gradsign::{Gradients, Tape, Tensor};

const STEPS: usize = 100_000;
const WARM_UP: usize = 100;
const CHECKPOINTS: usize = 10;

#[test]
fn live_heap_bytes_stay_flat_over_a_hundred_thousand_training_steps() {
    // XOR with a 2-4-1 tanh network, Adam, a reused tape and gradient store.
    let x = Tensor::from_vec(vec![0.0f32, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0], &[4, 2]).unwrap();
    let y = Tensor::from_vec(vec![0.0f32, 1.0, 1.0, 0.0], &[4, 1]).unwrap();
    let mut mlp = Mlp::builder(&[2, 4, 1])
        .hidden(Activation::Tanh)
        .output(Activation::Identity)
        .build_with(gradsign_studies::splitmix::dense::<f32>(
            &mut gradsign_studies::SplitMix64::new(7),
        ))
        .unwrap();
    let mut opt = Adam::new(0.01f32);
    let mut tape = Tape::new();
    let mut grads = Gradients::new();
    let mut first_loss = None;
    let mut last_loss = 0.0;
    let mut after_warm_up = 0;
    let mut peak_after_warm_up = 0;
    let mut readings = Vec::with_capacity(CHECKPOINTS);
    for step in 0..STEPS {
        if step == WARM_UP {
            after_warm_up = live();
            reset_peak();
        }
        tape.clear();
        let input = tape.constant(&x);
        let target = tape.constant(&y);
        let (out, trace) = gradsign::nn::forward(&mlp, &tape, input).unwrap();
        let l = loss::mse(out, target, Reduction::Mean).unwrap();
        last_loss = l.item().unwrap();
        first_loss.get_or_insert(last_loss);
        l.backward_into(&mut grads).unwrap();
        opt.step(&mut mlp, &trace, &grads).unwrap();
        if step == WARM_UP {
            peak_after_warm_up = peak();
        }
        if step >= WARM_UP && (step + 1) % (STEPS / CHECKPOINTS) == 0 {
            readings.push((step + 1, live(), peak()));
        }
    }
    readings.push((STEPS, live(), peak()));
    // Printed with --nocapture: the figures the test asserts on.
    eprintln!(
        "after warm-up: {after_warm_up} live bytes, peak within a step {peak_after_warm_up}; \
         (step, live, peak so far): {readings:?}"
    );
    for &(step, live, peak) in &readings {
        assert_eq!(
            live, after_warm_up,
            "live heap bytes at step {step}: {live}, after warm-up: {after_warm_up}"
        );
        assert_eq!(
            peak, peak_after_warm_up,
            "peak heap bytes by step {step}: {peak}, in the first warm step: {peak_after_warm_up}"
        );
    }
    // The loop trained: XOR's loss fell well below its start.
    assert!(
        last_loss < 0.1 * first_loss.unwrap(),
        "{first_loss:?} -> {last_loss}"
    );
}

#[test]
fn the_counter_sees_allocations_and_frees() {
    // Guards the test above against a counter that never counts.
    let before = live();
    let v = std::hint::black_box(vec![1u8; 4096]);
    assert_eq!(live() - before, 4096);
    drop(v);
    assert_eq!(live(), before);
}
