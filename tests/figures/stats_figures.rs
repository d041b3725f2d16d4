//! The figures of the statistics' docs, reproduced by Monte Carlo with
//! seeded batches, and the closed forms they are compared with.
//!
//! The docs' table is a mean over `PUBLISHED = 2,000` batches; these runs
//! take `BATCHES = 400` (to stay within seconds in a debug build), and
//! their tolerances are derived from the runs themselves. A mean over `N`
//! batches has standard error `sd/√N`, with `sd` the per-batch values'
//! sample standard deviation. Against an exact value we allow `4·sd/√N` (a
//! false alarm about once in 16,000 runs of a normal mean); against a
//! printed Monte-Carlo figure, which carries its own error `sd/√2000` from
//! another random stream, `4·sd·√(1/N + 1/2000)`, plus half a unit of its
//! last printed digit (its rounding).

use gradsign::Tensor;
use gradsign::analysis::GradientSignAnalyzer;
use gradsign::stats;

const BATCHES: usize = 400;
const PUBLISHED: usize = 2_000;
const B: usize = 128;
const K: usize = 10;

/// Mean and sample standard deviation of the per-batch values.
fn mc(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var.sqrt())
}

/// Against an exact value: `4·SE`.
fn exact(what: &str, v: &[f64], target: f64) {
    let (mean, sd) = mc(v);
    let tol = 4.0 * sd / (v.len() as f64).sqrt();
    eprintln!("{what}: {mean:.5} (target {target:.5}, tolerance {tol:.1e})");
    assert!(
        (mean - target).abs() <= tol,
        "{what}: Monte-Carlo mean {mean} vs exact {target}, tolerance 4·SE = {tol:.2e}"
    );
}

/// Against a figure printed with `digits` decimals from `PUBLISHED` batches.
fn printed(what: &str, v: &[f64], figure: f64, digits: i32) {
    let (mean, sd) = mc(v);
    let se = sd * (1.0 / v.len() as f64 + 1.0 / PUBLISHED as f64).sqrt();
    let tol = 4.0 * se + 0.5 * 10f64.powi(-digits);
    eprintln!("{what}: {mean:.5} (printed {figure}, tolerance {tol:.1e})");
    assert!(
        (mean - figure).abs() <= tol,
        "{what}: Monte-Carlo mean {mean} vs printed {figure}, tolerance {tol:.2e}"
    );
}

/// One neuron, `K` inputs, batch `B`: inputs U(lo, lo + 1), δ ~ N(mu, 1),
/// batch `i` seeded from `seed + 2i`.
fn batch(i: usize, lo: f64, mu: f64, seed: u64) -> (Tensor<f64>, Tensor<f64>) {
    let s = seed + 2 * i as u64;
    (
        Tensor::rand_uniform(&[B, K], lo, lo + 1.0, s).unwrap(),
        Tensor::rand_normal(&[B, 1], mu, 1.0, s + 1).unwrap(),
    )
}

struct Run {
    gradsign: Vec<f64>,
    alpha: Vec<f64>,
    row_coherence: Vec<f64>,
}

/// The three columns of the table, per batch, through the public API.
fn run(lo: f64, mu: f64, seed: u64) -> Run {
    let analyzer = GradientSignAnalyzer::default().without_bias();
    let mut r = Run {
        gradsign: Vec::new(),
        alpha: Vec::new(),
        row_coherence: Vec::new(),
    };
    for i in 0..BATCHES {
        let (a, d) = batch(i, lo, mu, seed);
        let signs = stats::sign_agreement(&a, &d, false).unwrap();
        r.gradsign.push(signs.gradsign_per_parameter());
        r.alpha.push(stats::alignment(&a, &d, false).unwrap().alpha);
        r.row_coherence.push(
            analyzer
                .analyze_layer(&a, &d)
                .unwrap()
                .per_example_coherence(),
        );
    }
    r
}

/// `E|Σ_{n<b} s_n|` for independent signs `s_n = ±1` with `P(+1) = p`,
/// summed exactly over the binomial distribution.
fn mean_abs_sign_sum(b: usize, p: f64) -> f64 {
    // ln C(b, k) by recursion, without lgamma.
    let mut ln_c = 0.0;
    let mut e = 0.0;
    for k in 0..=b {
        if k > 0 {
            ln_c += ((b - k + 1) as f64).ln() - (k as f64).ln();
        }
        let ln_p = ln_c + k as f64 * p.ln() + (b - k) as f64 * (1.0 - p).ln();
        e += (2.0 * k as f64 - b as f64).abs() * ln_p.exp();
    }
    e
}

/// The table, against its printed figures and against the exact
/// expectations behind them.
///
/// - GradSign per weight: with positive inputs every weight's sign sum is
///   `Σ_n sign δ_n`; with centred inputs `sign δ_n·sign a_nk` is a fair
///   sign whatever δ is. Both are `E|Σ of B signs|` with `P(+) = P(δ > 0)`
///   or ½ (summed exactly over the binomial).
/// - α: flipping the sign of one example's gradient leaves the trace of
///   the Gram alone and flips its cross terms, so whenever that flip has
///   the same distribution (δ symmetric about 0, or inputs symmetric about
///   0), `E[α] = 1/B` exactly. Only row 2 has no exact expectation (α is a
///   ratio; its parts are checked below).
/// - Row coherence: positive inputs make every row one-signed (δ ≠ 0
///   almost surely); centred ones do so with probability `2·2⁻¹⁰`.
#[test]
fn the_table_of_what_each_statistic_sees() {
    let phi1 = 0.841_344_746_068_542_9; // Φ(1) = P(δ > 0) for δ ~ N(1, 1)
    let fair = mean_abs_sign_sum(B, 0.5);
    let one_signed = 2.0 / 1024.0;
    let inv_b = 1.0 / B as f64;
    // (lo, mu, printed figures with their decimals, exact values).
    let rows = [
        (
            0.0,
            0.0,
            [(9.07, 2), (0.0080, 4), (1.000, 3)],
            [Some(fair), Some(inv_b), Some(1.0)],
        ),
        (
            -0.5,
            0.0,
            [(8.99, 2), (0.0079, 4), (0.002, 3)],
            [Some(fair), Some(inv_b), Some(one_signed)],
        ),
        (
            0.0,
            1.0,
            [(87.5, 1), (0.379, 3), (1.000, 3)],
            [Some(mean_abs_sign_sum(B, phi1)), None, Some(1.0)],
        ),
        (
            -0.5,
            1.0,
            [(8.93, 2), (0.0078, 4), (0.002, 3)],
            [Some(fair), Some(inv_b), Some(one_signed)],
        ),
    ];
    let names = ["GradSign per weight", "α", "row coherence"];
    for (r, (lo, mu, figures, exacts)) in rows.into_iter().enumerate() {
        let run = run(lo, mu, 1_000_000 * (r as u64 + 1));
        let cols = [&run.gradsign, &run.alpha, &run.row_coherence];
        for c in 0..3 {
            let what = format!(
                "row {r} (U({lo}, {}), δ ~ N({mu}, 1)) {}",
                lo + 1.0,
                names[c]
            );
            let (fig, digits) = figures[c];
            printed(&what, cols[c], fig, digits);
            if let Some(x) = exacts[c] {
                if cols[c].iter().all(|&v| v == x) {
                    continue; // no spread: the value is exact in every batch
                }
                exact(&what, cols[c], x);
            }
        }
    }
    // The pure-noise score is close to the normal approximation √(2B/π).
    assert!((fair / (2.0 * B as f64 / std::f64::consts::PI).sqrt() - 1.0).abs() < 5e-3);
}

/// α's parts have exact expectations: `E[mean_n |g_n|²] = E|g|²` and
/// `E|ḡ|² = |E g|² + tr Σ / B`. For δ ~ N(1, 1) and a ~ U(0, 1)^K:
/// `E|g|² = E[δ²]·E|a|² = 2·K/3`, `|E g|² = (Eδ)²·|E a|² = K/4`, so
/// `E|ḡ|²/E mean|g|² = ⅜ + ⅝/B → ½·¾`.
#[test]
fn the_parts_of_alpha_have_their_expectations() {
    let (mut num, mut den) = (Vec::new(), Vec::new());
    for i in 0..BATCHES {
        let (a, d) = batch(i, 0.0, 1.0, 77);
        let g = stats::per_example_gram(&a, &d, false).unwrap();
        let s = g.as_slice();
        num.push(s.iter().sum::<f64>() / (B * B) as f64);
        den.push((0..B).map(|n| s[n * B + n]).sum::<f64>() / B as f64);
    }
    let (kf, bf) = (K as f64, B as f64);
    let e_g2 = 2.0 * kf / 3.0;
    let mean_g2 = kf / 4.0;
    exact("E mean|g_n|²", &den, e_g2);
    exact("E|ḡ|²", &num, mean_g2 + (e_g2 - mean_g2) / bf);
    let limit = (mean_g2 + (e_g2 - mean_g2) / bf) / e_g2;
    assert!((limit - (0.375 + 0.625 / bf)).abs() < 1e-15);
}

/// B_simple for iid δ ~ N(1, 1) and a ~ U(0, 1)^K: tr Σ = E[δ²]E|a|² −
/// (Eδ)²|E a|² = 2K/3 − K/4 = 5K/12 and |G|² = K/4, so B_simple = 5/3; the
/// estimator's two parts are unbiased.
#[test]
fn noise_scale_parts_are_unbiased_for_iid_inputs() {
    let (mut tr, mut g2) = (Vec::new(), Vec::new());
    for i in 0..BATCHES {
        let (a, d) = batch(i, 0.0, 1.0, 99);
        let n = stats::noise_scale(&a, &d, false).unwrap();
        tr.push(n.trace_covariance);
        g2.push(n.gradient_norm_sq);
    }
    let kf = K as f64;
    exact("E tr Σ_est", &tr, 5.0 * kf / 12.0);
    exact("E |G|²_est", &g2, kf / 4.0);
    // The ratio of the means, with its error from the parts'.
    let ((t, st), (g, sg)) = (mc(&tr), mc(&g2));
    let n = (BATCHES as f64).sqrt();
    let ratio = t / g;
    // A ratio's relative error is at most the sum of its parts'.
    let tol = ratio * (4.0 * st / n / t + 4.0 * sg / n / g);
    assert!(
        (ratio - 5.0 / 3.0).abs() <= tol,
        "B_simple {ratio} vs 5/3 ± {tol}"
    );
    // With a bias column the mean input gains a 1: |G|² = K/4 + 1,
    // tr Σ = 2(K/3 + 1) − (K/4 + 1).
    let (mut tr, mut g2) = (Vec::new(), Vec::new());
    for i in 0..BATCHES {
        let (a, d) = batch(i, 0.0, 1.0, 5_000);
        let n = stats::noise_scale(&a, &d, true).unwrap();
        tr.push(n.trace_covariance);
        g2.push(n.gradient_norm_sq);
    }
    exact(
        "E tr Σ_est (bias)",
        &tr,
        2.0 * (kf / 3.0 + 1.0) - (kf / 4.0 + 1.0),
    );
    exact("E |G|²_est (bias)", &g2, kf / 4.0 + 1.0);
}
