//! `gradsign_studies::zigzag`, the computation of `examples/02_zigzag.rs`.

use gradsign_studies::zigzag::{Inputs, ZigzagConfig, zigzag};
fn small_zigzag() -> ZigzagConfig {
    ZigzagConfig {
        examples: 64,
        sweep: vec![0.25, 1.0],
        sweep_orders: 3,
        ..ZigzagConfig::default()
    }
}

#[test]
fn zigzag_with_positive_inputs_puts_every_update_in_quadrant_one_or_three() {
    let r = zigzag(&small_zigzag()).unwrap();
    assert_eq!(r.positive.inputs, Inputs::Positive);
    // u = −η(e·x)·x with x > 0: u₁u₂ = η²(e·x)²x₁x₂ > 0 whenever e·x ≠ 0.
    assert_eq!(r.positive.quadrant_share, 1.0);
    // Centred inputs take both signs, so updates reach quadrants II and IV.
    assert!(r.centred.quadrant_share < 1.0);
    assert!(r.centred_same_rate.quadrant_share < 1.0);
}

#[test]
fn zigzag_mean_input_adds_the_large_eigenvalue() {
    let r = zigzag(&small_zigzag()).unwrap();
    let (p, c) = (r.positive.eigenvalues, r.centred.eigenvalues);
    let mu = r.input_mean;
    let mu2 = mu[0] * mu[0] + mu[1] * mu[1];
    // E[xxᵀ] = Cov + μμᵀ: λmax ≥ ‖μ‖² (Rayleigh quotient at μ/‖μ‖) …
    assert!(p[0] >= mu2 * (1.0 - 1e-12));
    // … and a rank-one update interlaces: λ₂(Cov) ≤ λ₂(C) ≤ λ₁(Cov) ≤ λ₁(C).
    let eps = 1e-12;
    assert!(c[1] <= p[1] + eps && p[1] <= c[0] + eps && c[0] <= p[0] + eps);
    // σ(u) ∈ (0, 1) has variance below ¼, and the mean is near ½: κ is large.
    assert!(r.positive.condition_number() > 5.0 * r.centred.condition_number());
    // The top eigenvector leans along the mean (both components positive).
    assert!(r.positive.top_eigenvector.iter().all(|&v| v > 0.0));
}

#[test]
fn zigzag_centring_shortens_the_path_at_the_same_step_rule() {
    let r = zigzag(&small_zigzag()).unwrap();
    let (p, c) = (
        r.positive.steps_to_tolerance.unwrap(),
        r.centred.steps_to_tolerance.unwrap(),
    );
    // η·λmin decides the slow direction's rate 1 − ηλmin; with η = c/tr C it
    // is c·λmin/tr C, about 0.07c raw and 0.45c centred: several times fewer steps.
    assert!(2 * c < p, "centred {c} vs positive {p}");
}

#[test]
fn zigzag_centring_at_the_raw_step_size_straightens_but_does_not_shorten() {
    let r = zigzag(&small_zigzag()).unwrap();
    assert_eq!(r.centred_same_rate.learning_rate, r.positive.learning_rate);
    assert!(r.centred_same_rate.path_efficiency > r.positive.path_efficiency);
    // Same η, and λmin(Cov) ≤ λmin(C): the slow direction is no faster.
    let (p, s) = (
        r.positive.steps_to_tolerance.unwrap() as f64,
        r.centred_same_rate.steps_to_tolerance.unwrap() as f64,
    );
    assert!(s > 0.5 * p, "same-rate centred {s} vs positive {p}");
}

#[test]
fn zigzag_paths_end_within_the_tolerance_they_report() {
    let cfg = small_zigzag();
    let r = zigzag(&cfg).unwrap();
    let d0 =
        ((cfg.start[0] - cfg.target[0]).powi(2) + (cfg.start[1] - cfg.target[1]).powi(2)).sqrt();
    for run in [&r.positive, &r.centred, &r.centred_same_rate] {
        let steps = run.steps_to_tolerance.unwrap();
        assert_eq!(run.steps(), steps);
        assert_eq!(run.loss.len(), steps + 1);
        let w = run.path[steps];
        let d = ((w[0] - cfg.target[0]).powi(2) + (w[1] - cfg.target[1]).powi(2)).sqrt();
        assert!(d <= cfg.tolerance * d0);
        assert!(run.path_efficiency > 0.0 && run.path_efficiency <= 1.0);
    }
}

#[test]
fn zigzag_contours_lie_on_their_level() {
    let cfg = small_zigzag();
    let r = zigzag(&cfg).unwrap();
    for run in [&r.positive, &r.centred] {
        for p in run.contour(cfg.target, 0.3, 16) {
            assert!((run.loss_at(p, cfg.target) - 0.3).abs() < 1e-12);
        }
    }
}

#[test]
fn zigzag_is_reproducible_bit_for_bit() {
    let cfg = small_zigzag();
    assert_eq!(zigzag(&cfg).unwrap(), zigzag(&cfg).unwrap());
}

#[test]
fn zigzag_sweep_reports_every_scale() {
    let cfg = small_zigzag();
    let r = zigzag(&cfg).unwrap();
    let scales: Vec<f64> = r.sweep.iter().map(|s| s.step_scale).collect();
    assert_eq!(scales, cfg.sweep);
    // Over several example orders too, the small step scale favours centring
    // (the rates 1 − c·λmin/tr C differ several-fold).
    assert!(
        2 * r.sweep[0].centred < r.sweep[0].positive,
        "{:?}",
        r.sweep[0]
    );
}

#[test]
fn zigzag_rejects_a_start_at_the_target() {
    let cfg = ZigzagConfig {
        start: [1.0, -0.5],
        target: [1.0, -0.5],
        ..small_zigzag()
    };
    assert!(zigzag(&cfg).is_err());
    assert!(
        zigzag(&ZigzagConfig {
            examples: 1,
            ..small_zigzag()
        })
        .is_err()
    );
}
