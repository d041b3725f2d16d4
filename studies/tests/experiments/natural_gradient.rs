//! `gradsign_studies::natural_gradient`, the computation of `examples/07_natural_gradient.rs`.

use gradsign_studies::natural_gradient::{NaturalGradientConfig, natural_gradient};

fn small_natural() -> NaturalGradientConfig {
    NaturalGradientConfig {
        examples: 120,
        features: 3,
        gd_steps: 400,
        ng_steps: 8,
        ..NaturalGradientConfig::default()
    }
}

#[test]
fn natural_gradient_is_invariant_to_centring_and_gradient_descent_is_not() {
    let c = natural_gradient(&small_natural()).unwrap();
    let (ng, gd) = (c.invariance_gap(true), c.invariance_gap(false));
    // θ = 0 is the same function on both inputs: every prediction ½.
    assert_eq!((ng[0], gd[0]), (0.0, 0.0));
    // F⁻¹∇L transforms with the parameters, so the predictions agree to rounding.
    assert!(ng.iter().all(|&g| g < 1e-10), "{ng:?}");
    assert!(gd.iter().any(|&g| g > 1e-3));
}

#[test]
fn centring_speeds_up_gradient_descent_and_natural_gradient_needs_neither() {
    let c = natural_gradient(&small_natural()).unwrap();
    assert!(c.gd_centred.fisher_kappa < c.gd_raw.fisher_kappa);
    let steps = |t: &gradsign_studies::natural_gradient::Trajectory| {
        t.steps_to_tolerance.unwrap_or(usize::MAX)
    };
    assert!(steps(&c.gd_centred) < steps(&c.gd_raw));
    assert!(steps(&c.ng_raw) < steps(&c.gd_centred));
    assert_eq!(steps(&c.ng_raw), steps(&c.ng_centred));
    // Newton's method on a strictly convex loss ends at the minimum.
    assert!((c.ng_raw.losses.last().unwrap() - c.optimum).abs() < 1e-12);
}

#[test]
fn natural_gradient_rejects_too_few_examples() {
    let cfg = NaturalGradientConfig {
        examples: 3,
        ..small_natural()
    };
    assert!(natural_gradient(&cfg).is_err());
}
