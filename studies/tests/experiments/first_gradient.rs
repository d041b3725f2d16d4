//! `gradsign_studies::first_gradient`, the computation of `examples/01_first_gradient.rs`.

use gradsign_studies::first_gradient::{Neuron, first_gradient};
#[test]
fn first_gradient_by_hand_tape_and_differences_agree() {
    let r = first_gradient(&Neuron::default(), 1.0, 5).unwrap();
    assert!(r.gradcheck.passed(), "{}", r.gradcheck);
    for row in &r.rows {
        // The tape and the chain rule do the same arithmetic up to rounding.
        assert!(
            (row.by_hand - row.by_tape).abs() <= 4.0 * f64::EPSILON * row.by_hand.abs(),
            "{row:?}"
        );
        // Central differences with h = 1e-6 are exact to O(h²) plus rounding
        // of order ε·L/h ≈ 1e-10.
        assert!((row.by_differences - row.by_tape).abs() < 1e-8, "{row:?}");
    }
}

#[test]
fn first_gradient_delta_is_the_chain_rule_through_the_sigmoid() {
    let n = Neuron::default();
    let r = first_gradient(&n, 1.0, 3).unwrap();
    let z: f64 = n
        .weights
        .iter()
        .zip(&n.inputs)
        .map(|(w, x)| w * x)
        .sum::<f64>()
        + n.bias;
    let a = 1.0 / (1.0 + (-z).exp());
    assert!((r.pre_activation - z).abs() < 1e-15);
    // δ = (a − y)·a·(1 − a)
    assert!((r.delta - (a - n.target) * a * (1.0 - a)).abs() < 1e-15);
    // a < 1 = y, so δ < 0 and the bias's derivative is δ itself.
    assert!(r.delta < 0.0);
    assert_eq!(r.rows.last().unwrap().by_hand, r.delta);
}

#[test]
fn first_gradient_with_positive_inputs_is_one_signed_and_with_mixed_inputs_is_not() {
    assert!(
        first_gradient(&Neuron::default(), 1.0, 3)
            .unwrap()
            .weight_gradient_is_one_signed()
    );
    let mixed = Neuron {
        inputs: vec![0.5, -0.25, 0.75],
        ..Neuron::default()
    };
    assert!(
        !first_gradient(&mixed, 1.0, 3)
            .unwrap()
            .weight_gradient_is_one_signed()
    );
}

#[test]
fn first_gradient_slices_pass_through_the_loss_at_zero() {
    let r = first_gradient(&Neuron::default(), 0.5, 5).unwrap();
    for s in &r.slices {
        assert_eq!(s.curve.len(), 5);
        // The middle of 5 evenly spaced points on [−½, ½] is t = 0.
        assert_eq!(s.curve[2].0, 0.0);
        assert!((s.curve[2].1 - r.loss).abs() < 1e-15);
    }
}

#[test]
fn first_gradient_rejects_mismatched_weights() {
    let bad = Neuron {
        weights: vec![1.0],
        ..Neuron::default()
    };
    assert!(first_gradient(&bad, 1.0, 5).is_err());
    assert!(first_gradient(&Neuron::default(), 1.0, 1).is_err());
}
