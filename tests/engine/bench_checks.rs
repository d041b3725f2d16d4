//! BENCH.md's W2 and W3 check values, reproduced from the SplitMix64 data
//! with the crate's `Mlp`, losses and `Sgd` (the peers print six significant
//! digits).

use gradsign::Tape;
use gradsign::loss::{self, Reduction};
use gradsign::optim::{Optimizer, Sgd};
use gradsign_studies::bench_data;

#[test]
fn w2_mean_squared_error_reproduces_the_peers_check_values() {
    // BENCH.md's W2 (MLP 2-8-8-1, tanh, f32), SGD lr 0.03 on one batch: mean
    // squared error 1.00202 at the initial weights, 0.875522 after 100 steps
    // (6 significant digits).
    let mut w2 = bench_data::w2::<f32>();
    let mut opt = Sgd::new(bench_data::W2_LR as f32);
    let mut tape = Tape::new();
    let mut losses = Vec::new();
    for _ in 0..=100 {
        tape.clear();
        let (x, y) = (tape.constant(&w2.x), tape.constant(&w2.y));
        let (out, trace) = gradsign::nn::forward(&w2.mlp, &tape, x).unwrap();
        let l = loss::mse(out, y, Reduction::Mean).unwrap();
        losses.push(l.item().unwrap());
        let grads = l.backward().unwrap();
        opt.step(&mut w2.mlp, &trace, &grads).unwrap();
    }
    assert!(
        (losses[0] - 1.00202).abs() < 5e-6,
        "initial loss {}",
        losses[0]
    );
    assert!(
        (losses[100] - 0.875522).abs() < 5e-7,
        "after 100 steps {}",
        losses[100]
    );
}

#[test]
fn w3_softmax_cross_entropy_reproduces_the_peers_check_values() {
    // BENCH.md's W3 (MLP 784-256-128-10, sigmoid, f32), SGD lr 0.1 on one
    // batch: mean softmax cross-entropy 2.38819 at the initial weights,
    // 2.2771 after 10 steps.
    let mut w3 = bench_data::w3::<f32>();
    let mut opt = Sgd::new(bench_data::W3_LR as f32);
    let mut tape = Tape::new();
    let mut losses = Vec::new();
    for _ in 0..=10 {
        tape.clear();
        let x = tape.constant(&w3.x);
        let (out, trace) = gradsign::nn::forward(&w3.mlp, &tape, x).unwrap();
        let l = loss::softmax_cross_entropy(out, &w3.labels, Reduction::Mean).unwrap();
        losses.push(l.item().unwrap());
        let grads = l.backward().unwrap();
        opt.step(&mut w3.mlp, &trace, &grads).unwrap();
    }
    assert!(
        (losses[0] - 2.38819).abs() < 5e-6,
        "initial loss {}",
        losses[0]
    );
    assert!(
        (losses[10] - 2.2771).abs() < 5e-5,
        "after 10 steps {}",
        losses[10]
    );
}

#[test]
fn w6_the_small_cnn_reproduces_the_peers_check_values() {
    // BENCH.md's W6 (conv 5×5 1→16, ReLU, max-pool, conv 5×5 16→32, ReLU,
    // max-pool, linear 1568→10; f32), SGD lr 0.05 on one batch of 64: mean
    // softmax cross-entropy 2.30658 at the initial weights, 2.21087 after
    // 10 steps (PyTorch and JAX agree).
    let mut w6 = bench_data::w6::<f32>();
    let mut opt = Sgd::new(bench_data::W6_LR as f32);
    let mut tape = Tape::new();
    let mut losses = Vec::new();
    for _ in 0..=10 {
        tape.clear();
        let x = tape.constant(&w6.x);
        let (out, trace) = gradsign::nn::forward(&w6.net, &tape, x).unwrap();
        let l = loss::softmax_cross_entropy(out, &w6.labels, Reduction::Mean).unwrap();
        losses.push(l.item().unwrap());
        let grads = l.backward().unwrap();
        opt.step(&mut w6.net, &trace, &grads).unwrap();
    }
    assert!(
        (losses[0] - 2.30658).abs() < 5e-6,
        "initial loss {}",
        losses[0]
    );
    assert!(
        (losses[10] - 2.21087).abs() < 5e-5,
        "after 10 steps {}",
        losses[10]
    );
}
