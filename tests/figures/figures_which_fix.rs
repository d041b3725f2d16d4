//! The claims example 12 (which fix fixes what) rests on, checked on the
//! example's own network, data and measurements (`examples/common`): what
//! each fix does to the one-signed gradient rows and the input moments of
//! each dense layer at initialisation, and that full-batch natural
//! gradient needs no fix to train the plain sigmoid network.

use crate::common;

use common::which_fix::{self, LayerAtInit, Placement};
use gradsign::activation::Activation::{Sigmoid, Tanh};
use gradsign::data::Dataset;

fn layers(act: gradsign::activation::Activation, p: Placement, std: bool) -> Vec<LayerAtInit> {
    let ((raw, _), (standardised, _)) = which_fix::spiral().unwrap();
    let data: &Dataset<f64> = if std { &standardised } else { &raw };
    let net = which_fix::network(act, p).unwrap();
    which_fix::at_init(&net, data).unwrap()
}

/// Relative closeness for two spectra of the same matrix: their
/// eigenvalues come from one symmetric eigensolver, accurate to a few ulps
/// of λmax; 1e-6 leaves room for λmin down to 1e-9·λmax.
fn same(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * a.abs().max(b.abs())
}

#[test]
fn without_a_fix_every_row_is_one_signed_and_the_mean_lifts_the_top_eigenvalue() {
    let l = layers(Sigmoid, Placement::Plain, false);
    assert_eq!(l.len(), 3);
    for (i, layer) in l.iter().enumerate() {
        assert_eq!(layer.per_example, 1.0, "layer {i}");
        assert_eq!(layer.batch, 1.0, "layer {i}");
        // Positive inputs: E[aaᵀ] = Cov + μμᵀ, with ‖μ‖² far above λmax(Cov).
        assert!(layer.spike > 10.0, "layer {i}: spike {}", layer.spike);
    }
}

#[test]
fn batch_norm_after_the_sigmoid_centres_the_next_layers_and_before_it_does_not() {
    let after = layers(Sigmoid, Placement::BnAfter, false);
    for layer in &after[1..] {
        // Centred on this very batch (training mode): mixed rows, and
        // E[aaᵀ] equals Cov(a) to rounding.
        assert_eq!(layer.per_example, 0.0);
        assert!((layer.spike - 1.0).abs() < 1e-9, "spike {}", layer.spike);
        assert!(same(layer.kappa_moment, layer.kappa_cov));
    }
    let before = layers(Sigmoid, Placement::BnBefore, false);
    for layer in &before[1..] {
        // A sigmoid after the normalisation: positive inputs again.
        assert_eq!(layer.per_example, 1.0);
        assert!(layer.spike > 5.0, "spike {}", layer.spike);
    }
}

#[test]
fn layer_norm_centres_each_example_but_not_the_batch() {
    let l = layers(Sigmoid, Placement::LnAfter, false);
    for layer in &l[1..] {
        assert_eq!(layer.per_example, 0.0);
        // Each example's features sum to zero, so E[aaᵀ]·1 = 0: singular
        // (κ infinite or at the limit of rounding) …
        assert!(layer.kappa_moment > 1e12, "κ {}", layer.kappa_moment);
        // … while the features' batch means are not zero.
        assert!(layer.spike > 2.0, "spike {}", layer.spike);
    }
}

#[test]
fn mean_only_batch_norm_mixes_batch_rows_only() {
    let l = layers(Sigmoid, Placement::WnMob, false);
    // The two layers it follows: δ sums to zero over the batch.
    for layer in &l[..2] {
        assert_eq!(layer.per_example, 1.0);
        assert_eq!(layer.batch, 0.0);
    }
    assert_eq!(l[2].batch, 1.0);
}

#[test]
fn standardising_changes_the_first_layer_only_and_tanh_the_hidden_ones() {
    let s = layers(Sigmoid, Placement::Plain, true);
    assert!(s[0].per_example < 0.5, "{}", s[0].per_example);
    assert_eq!(s[1].per_example, 1.0);
    let t = layers(Tanh, Placement::Plain, false);
    assert_eq!(t[0].per_example, 1.0);
    assert_eq!(t[1].per_example, 0.0);
    assert_eq!(t[2].per_example, 0.0);
}

// 300 steps of a 337×337 Fisher over 400 examples: 4 s optimised, 150 s
// unoptimised, so it runs under `cargo test --release` only.
#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "run with `cargo test --release --test figures`"
)]
fn natural_gradient_trains_the_plain_network_to_the_target() {
    let ((train, test), _) = which_fix::spiral().unwrap();
    let mut ng = which_fix::network(Sigmoid, Placement::Plain).unwrap();
    // The example's η and damping (`NATURAL` in examples/12_which_fix.rs).
    let losses = which_fix::natural_gradient(&mut ng, &train, (0.45, 1e-3, 300)).unwrap();
    // The example's row: the target 0.05 within its 300 full-batch steps,
    // from the loss of a constant prediction (≈ 0.25 on balanced 0/1).
    assert!(losses[0] > 0.2, "{}", losses[0]);
    let reached = losses.iter().position(|&l| l <= 0.05);
    assert!(reached.is_some(), "final loss {:?}", losses.last());
    assert!(which_fix::accuracy(&mut ng, &test).unwrap() >= 0.9);
}
