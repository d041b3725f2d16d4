//! BENCH.md's W2 and W3 check values, reproduced from the SplitMix64 data
//! with the crate's Mlp and Sgd.

mod common;

use gradsign::Tape;
use gradsign::data::bench_data;
use gradsign::optim::{Optimizer, Sgd};

#[test]
fn w2_losses_match_the_peers() {
    let mut w2 = bench_data::w2::<f32>();
    let mut opt = Sgd::new(bench_data::W2_LR as f32);
    let mut tape = Tape::new();
    let mut losses = Vec::new();
    for _ in 0..=100 {
        tape.clear();
        let x = tape.constant(&w2.x);
        let y = tape.constant(&w2.y);
        let (out, trace) = w2.mlp.forward(&tape, x).unwrap();
        let loss = common::mse(out, y).unwrap();
        losses.push(loss.item().unwrap());
        let grads = loss.backward().unwrap();
        opt.step(w2.mlp.params_with_grads(&trace, &grads).unwrap())
            .unwrap();
    }
    // The peers print 6 significant digits: 1.00202 and 0.875522 (f32).
    assert!((losses[0] - 1.00202).abs() < 5e-6, "loss0 = {}", losses[0]);
    assert!(
        (losses[100] - 0.875522).abs() < 5e-6,
        "loss100 = {}",
        losses[100]
    );
}

#[test]
fn w3_losses_match_the_peers() {
    let mut w3 = bench_data::w3::<f32>();
    let mut opt = Sgd::new(bench_data::W3_LR as f32);
    let mut tape = Tape::new();
    let mut losses = Vec::new();
    for _ in 0..=10 {
        tape.clear();
        let x = tape.constant(&w3.x);
        let (out, trace) = w3.mlp.forward(&tape, x).unwrap();
        let loss = common::softmax_cross_entropy(out, &w3.labels).unwrap();
        losses.push(loss.item().unwrap());
        let grads = loss.backward().unwrap();
        opt.step(w3.mlp.params_with_grads(&trace, &grads).unwrap())
            .unwrap();
    }
    // The peers: 2.38819 then 2.2771 (6 significant digits, f32).
    assert!((losses[0] - 2.38819).abs() < 5e-5, "loss0 = {}", losses[0]);
    assert!(
        (losses[10] - 2.2771).abs() < 5e-5,
        "loss10 = {}",
        losses[10]
    );
}
