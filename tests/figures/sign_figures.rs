//! The figures the analyzer reproduces, from seeded data.
//!
//! Per-example coherence is a property of each example's inputs; batch
//! coherence is the probability that `G = Σ_n δ_n a_n`, for zero-mean `δ`
//! independent of `a`, lies in the positive or negative orthant. For large
//! B, `G` is Gaussian with covariance `B·E[a aᵀ]`; for `a ~ U(0,1)^K`,
//! `E[a aᵀ] = I/12 + 11ᵀ/4`, whose correlation is `ρ = (1/4)/(1/12 + 1/4) = 3/4`,
//! and the two-orthant probability of an equicorrelated Gaussian is
//! `2∫φ(z)Φ(z√(ρ/(1−ρ)))^K dz`: 0.76995 for K = 2, 0.40034 for K = 10.

use gradsign::analysis::GradientSignAnalyzer;
use gradsign::{Tape, Tensor};

/// SplitMix64 (as BENCH.md), with Box–Muller normals: the tests draw tens
/// of millions of values, and this is cheap even in an unoptimised build.
struct SplitMix64(u64);
impl SplitMix64 {
    fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    fn normal(&mut self) -> f64 {
        let (u1, u2) = (1.0 - self.uniform(), self.uniform());
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
    fn tensor(&mut self, dims: &[usize], mut draw: impl FnMut(&mut Self) -> f64) -> Tensor<f64> {
        let n = dims.iter().product();
        Tensor::from_vec((0..n).map(|_| draw(self)).collect(), dims).unwrap()
    }
}

/// `|estimate − expected| ≤ 4·SE` for a binomial share over `n` trials.
fn assert_within_4_se(estimate: f64, expected: f64, n: usize, what: &str) {
    let se = (expected * (1.0 - expected) / n as f64).sqrt();
    assert!(
        (estimate - expected).abs() <= 4.0 * se,
        "{what}: {estimate} vs {expected} ± 4·{se:.2e} over {n} trials"
    );
}

#[test]
fn per_example_coherence_is_exactly_one_for_uniform_positive_inputs() {
    for (k, seed) in [(2, 1), (10, 2), (64, 3)] {
        let a = Tensor::<f64>::rand_uniform(&[512, k], 0.0, 1.0, seed).unwrap();
        let d = Tensor::<f64>::rand_normal(&[512, 16], 0.0, 1.0, seed + 100).unwrap();
        let r = GradientSignAnalyzer::default()
            .analyze_layer(&a, &d)
            .unwrap();
        // Every a_n > 0 and δ ≠ 0: every row strictly one-signed, bias included.
        assert_eq!(r.per_example.strictly_coherent_share(), 1.0, "K = {k}");
        assert_eq!(r.per_example.strictly_coherent(), 512 * 16);
        assert_eq!(r.theorem.violations, 0);
    }
}

/// Per-example coherence of one neuron with fixed weights and a squared
/// loss, for inputs uniform on (−½, ½): the row `δ·a_n` is one-signed iff
/// every `a_ni` has the same sign, probability `2·2^−K = 2^(1−K)`.
fn centred_coherence(k: usize, batch: usize, seed: u64) -> f64 {
    let tape = Tape::<f64>::new();
    let mut rng = SplitMix64(seed);
    let x = tape.constant(&rng.tensor(&[batch, k], |r| r.uniform() - 0.5));
    let w = tape.var(&Tensor::rand_normal(&[1, k], 0.0, 1.0, seed + 1).unwrap());
    let y = tape.constant(&Tensor::rand_normal(&[batch, 1], 0.0, 1.0, seed + 2).unwrap());
    let z = x.linear(w, None).unwrap();
    let grads = (z - y).square().sum().backward().unwrap();
    let r = GradientSignAnalyzer::default()
        .without_bias()
        .analyze_layer(&x.value(), &grads.tensor(z).unwrap())
        .unwrap();
    // With one neuron, rows are examples: the share is binomial over `batch`.
    assert_eq!(r.per_example.zero + r.per_example.non_finite, 0);
    r.per_example.strictly_coherent_share()
}

#[test]
fn per_example_coherence_is_one_half_for_two_centred_inputs() {
    // 2^(1−2) = 0.5; SE over 20,000 examples = 0.0035.
    let share = centred_coherence(2, 20_000, 7);
    assert_within_4_se(share, 0.5, 20_000, "K = 2");
}

#[test]
fn per_example_coherence_is_2_pow_minus_9_for_ten_centred_inputs() {
    // 2^(1−10) = 0.001953; SE over 400,000 examples = 7.0e-5.
    let share = centred_coherence(10, 400_000, 8);
    assert_within_4_se(share, 2f64.powi(-9), 400_000, "K = 10");
}

/// Share of coherent batch rows over `trials` seeded batches of 512
/// examples, `a ~ U(0,1)^K`, `δ ~ N(0,1)` for 512 neurons each (the weights
/// only: the figure is for `w`, not `(w, b)`). Each neuron's δ column is
/// independent, so the rows are independent given `a`, and 512 examples make
/// `a`'s second moments close to their expectation.
fn batch_coherence(k: usize, trials: u64) -> (f64, usize) {
    let (mut coherent, mut rows) = (0, 0);
    let analyzer = GradientSignAnalyzer::default().without_bias();
    for t in 0..trials {
        let mut rng = SplitMix64(1000 * k as u64 + t);
        let a = rng.tensor(&[512, k], SplitMix64::uniform);
        let d = rng.tensor(&[512, 512], SplitMix64::normal);
        let cats = analyzer.batch_row_categories(&a, &d).unwrap();
        coherent += cats.iter().filter(|c| c.is_coherent()).count();
        rows += cats.len();
    }
    (coherent as f64 / rows as f64, rows)
}

// 64 trials × 512 neurons = 32,768 batch rows: SE = √(0.77·0.23/32768) =
// 0.0023, so ±0.012 is more than 5 SE.
#[test]
fn batch_coherence_for_two_uniform_inputs_is_0_770() {
    let (share, rows) = batch_coherence(2, 64);
    assert_eq!(rows, 32_768);
    assert!((share - 0.770).abs() <= 0.012, "batch coherence {share}");
}

// Same trial count: SE = √(0.40·0.60/32768) = 0.0027; ±0.014 is 5 SE.
#[test]
fn batch_coherence_for_ten_uniform_inputs_is_0_400() {
    let (share, rows) = batch_coherence(10, 64);
    assert_eq!(rows, 32_768);
    assert!((share - 0.400).abs() <= 0.014, "batch coherence {share}");
}

// The analyzer's full report agrees with the cheap batch-row path on one
// such batch, and shows the per-example/batch gap: 1.0 against about 0.77.
#[test]
fn full_report_shows_the_gap_for_uniform_inputs() {
    let mut rng = SplitMix64(42);
    let a = rng.tensor(&[512, 2], SplitMix64::uniform);
    let d = rng.tensor(&[512, 512], SplitMix64::normal);
    let analyzer = GradientSignAnalyzer::default().without_bias();
    let r = analyzer.analyze_layer(&a, &d).unwrap();
    let cats = analyzer.batch_row_categories(&a, &d).unwrap();
    assert_eq!(
        r.batch_rows.coherent(),
        cats.iter().filter(|c| c.is_coherent()).count()
    );
    assert_eq!(r.per_example_coherence(), 1.0);
    // One batch of 512 rows: SE = 0.019, so 0.77 ± 0.08 is over 4 SE.
    assert!(
        (r.coherence_gap() - 0.23).abs() < 0.08,
        "gap {}",
        r.coherence_gap()
    );
}
