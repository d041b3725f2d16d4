//! `gradsign_studies::conditioning`, the computation of `examples/05_conditioning.rs`.

use gradsign_studies::conditioning::{ConditioningConfig, conditioning};

fn small_conditioning() -> ConditioningConfig {
    ConditioningConfig {
        widths: vec![2, 6],
        examples: 300,
        flip_width: 6,
        flip_steps: 12,
        ..ConditioningConfig::default()
    }
}

#[test]
fn conditioning_population_kappa_is_three_n_plus_one() {
    let c = conditioning(&small_conditioning()).unwrap();
    for r in &c.rows {
        // I/12 + 11ᵀ/4: eigenvalues 1/12 and (3n + 1)/12.
        let expected = 3.0 * r.width as f64 + 1.0;
        assert!((r.population_kappa - expected).abs() < 1e-9 * expected);
        // The sample's top eigenvector is the mean direction 1/√n.
        assert!(r.raw.top_alignment_with_ones > 0.99);
        assert!(r.centred.condition_number < r.raw.condition_number);
    }
}

#[test]
fn conditioning_gradient_descent_steps_respect_the_kappa_bound() {
    let c = conditioning(&small_conditioning()).unwrap();
    for r in &c.rows {
        let raw = r.raw_steps.unwrap() as f64;
        // Each error component shrinks by at least 1 − 1/κ per step.
        assert!(
            raw <= r.raw_bound,
            "n = {}: {raw} > {}",
            r.width,
            r.raw_bound
        );
        // Centred, κ is near 1: a few steps.
        assert!(r.centred_steps.unwrap() < r.raw_steps.unwrap());
    }
}

#[test]
fn conditioning_error_along_the_top_eigenvector_is_multiplied_by_one_minus_r() {
    let cfg = ConditioningConfig {
        flip_rates: vec![0.5, 1.8],
        ..small_conditioning()
    };
    let c = conditioning(&cfg).unwrap();
    for f in &c.flips {
        // Gradient descent on a quadratic with Hessian H: e ← (I − ηH)e, so
        // the component along an eigenvector of λmax is multiplied by 1 − ηλmax.
        for t in 0..4 {
            let ratio = f.components[t + 1] / f.components[t];
            assert!(
                (ratio - (1.0 - f.rate)).abs() < 1e-9,
                "r = {}: {ratio}",
                f.rate
            );
        }
        let expected_flips = if f.rate > 1.0 { cfg.flip_steps } else { 0 };
        assert_eq!(f.flips, expected_flips);
        assert_eq!(f.components.len(), cfg.flip_steps + 1);
    }
}

#[test]
fn conditioning_rejects_too_few_examples() {
    let cfg = ConditioningConfig {
        examples: 5,
        ..small_conditioning()
    };
    assert!(conditioning(&cfg).is_err());
}
