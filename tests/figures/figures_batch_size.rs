//! The claims example 06 (does a minibatch remove the effect?) rests on,
//! checked through the analyzer: inputs `U(0, 1)^K` or `U(−½, ½)^K`,
//! deltas `N(0, 1)`, per-example and batch coherence of the weight rows.

use gradsign::analysis::GradientSignAnalyzer;
use gradsign::tensor::Tensor;

/// Mean `[positive per example, positive batch, centred per example,
/// centred batch]` over `trials` independent batches of `b` examples.
fn shares(k: usize, b: usize, neurons: usize, trials: usize, seed: u64) -> [f64; 4] {
    let analyzer = GradientSignAnalyzer::default().without_bias();
    let mut sums = [0.0; 4];
    for t in 0..trials as u64 {
        let a = Tensor::rand_uniform(&[b, k], 0.0, 1.0, seed * 1000 + t).unwrap();
        let centred = a.map(|v| v - 0.5);
        let d = Tensor::rand_normal(&[b, neurons], 0.0, 1.0, seed * 1000 + t + 500).unwrap();
        let pos = analyzer.analyze_layer(&a, &d).unwrap();
        let cen = analyzer.analyze_layer(&centred, &d).unwrap();
        sums[0] += pos.per_example_coherence();
        sums[1] += pos.batch_coherence();
        sums[2] += cen.per_example_coherence();
        sums[3] += cen.batch_coherence();
    }
    sums.map(|s| s / trials as f64)
}

#[test]
fn per_example_rows_of_positive_inputs_are_one_signed_at_every_batch_size() {
    for k in [2, 10] {
        for b in [1, 16, 256] {
            let s = shares(k, b, 16, 4, 3);
            assert_eq!(s[0], 1.0, "K = {k}, B = {b}");
            if b == 1 {
                // One example: the batch row is the example's row.
                assert_eq!(s[1], 1.0);
                assert_eq!(s[3], s[2]);
            }
        }
    }
}

#[test]
fn batch_coherence_of_positive_inputs_levels_off_at_the_equicorrelated_limit() {
    // K = 2: both-orthant probability ½ + arcsin(ρ)/π (Sheppard), ρ = 3/4.
    let limit = 0.5 + 0.75f64.asin() / std::f64::consts::PI;
    // 256 batches of 256 examples, 4 rows each: 1024 rows, SE ≤ √(0.77·0.23/256)
    // = 0.026 even if a batch's rows were fully dependent; ±0.11 is 4 SE.
    let s = shares(2, 256, 4, 256, 4);
    assert!((s[1] - limit).abs() < 0.11, "{s:?} against {limit}");
    // Centred inputs at large B: the correlation is 0, so the share is 2^(1−K) = ½.
    assert!((s[3] - 0.5).abs() < 0.11, "{s:?}");
}

#[test]
fn centred_per_example_share_is_one_half_for_two_inputs() {
    // A row's sign pattern depends on its example only: a₁a₂ > 0 with
    // probability ½. 1024 batches of one example: SE = 0.016, ±0.08 is 5 SE.
    let s = shares(2, 1, 4, 1024, 5);
    assert!((s[2] - 0.5).abs() < 0.08, "{s:?}");
}
