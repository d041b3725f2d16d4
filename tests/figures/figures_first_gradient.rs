//! The claims example 01 (a first gradient) rests on, checked through the
//! library's API: one sigmoid neuron `a = σ(w·x + b)` with the loss
//! `½(a − y)²`, its gradient by the tape against the chain rule written out
//! and against central differences, and `gradcheck` on the same function.

use gradsign::autodiff::{Tape, Var};
use gradsign::gradcheck::{GradcheckConfig, gradcheck};
use gradsign::tensor::Tensor;

const W: [f64; 3] = [0.5, -1.0, 0.3];
const B: f64 = 0.1;
const Y: f64 = 1.0;

fn sigmoid(u: f64) -> f64 {
    1.0 / (1.0 + (-u).exp())
}

fn loss<'t>(
    tape: &'t Tape<f64>,
    x: &[f64],
    w: Var<'t, f64>,
    b: Var<'t, f64>,
) -> gradsign::Result<Var<'t, f64>> {
    let x = tape.constant_from_slice(x, &[1, x.len()])?;
    Ok((x.linear(w, Some(b))?.sigmoid() - Y).square().sum() * 0.5)
}

/// The tape's `[∂L/∂w…, ∂L/∂b]` and the chain rule's `δ = (a − y)·a·(1 − a)`.
fn by_tape(x: &[f64]) -> (Vec<f64>, f64) {
    let tape = Tape::<f64>::new();
    let w = tape.var(&Tensor::from_vec(W.to_vec(), &[1, 3]).unwrap());
    let b = tape.var(&Tensor::from_vec(vec![B], &[1]).unwrap());
    let grads = loss(&tape, x, w, b).unwrap().backward().unwrap();
    let g = grads
        .get(w)
        .unwrap()
        .iter()
        .chain(grads.get(b).unwrap())
        .copied()
        .collect();
    let z: f64 = x.iter().zip(W).map(|(x, w)| x * w).sum::<f64>() + B;
    let a = sigmoid(z);
    (g, (a - Y) * a * (1.0 - a))
}

fn loss_at(x: &[f64], p: &[f64]) -> f64 {
    let z: f64 = x.iter().zip(p).map(|(x, w)| x * w).sum::<f64>() + p[3];
    0.5 * (sigmoid(z) - Y).powi(2)
}

fn positive_inputs() -> [f64; 3] {
    [sigmoid(-1.0), sigmoid(0.5), sigmoid(2.0)]
}

#[test]
fn tape_agrees_with_the_chain_rule_and_with_central_differences() {
    let x = positive_inputs();
    let (g, delta) = by_tape(&x);
    let hand = [delta * x[0], delta * x[1], delta * x[2], delta];
    let p = [W[0], W[1], W[2], B];
    for i in 0..4 {
        // The tape and the chain rule do the same arithmetic up to rounding.
        assert!(
            (g[i] - hand[i]).abs() <= 4.0 * f64::EPSILON * hand[i].abs(),
            "{i}: {} vs {}",
            g[i],
            hand[i]
        );
        // Central differences, h = 1e-6: O(h²) plus rounding of order ε·L/h ≈ 1e-10.
        let (mut up, mut down) = (p, p);
        up[i] += 1e-6;
        down[i] -= 1e-6;
        let diff = (loss_at(&x, &up) - loss_at(&x, &down)) / 2e-6;
        assert!((diff - g[i]).abs() < 1e-8, "{i}: {diff} vs {}", g[i]);
    }
}

#[test]
fn gradcheck_passes_on_the_neuron() {
    let x = positive_inputs();
    let report = gradcheck(
        |t, v| loss(t, &x, v[0], v[1]),
        &[
            Tensor::from_vec(W.to_vec(), &[1, 3]).unwrap(),
            Tensor::from_vec(vec![B], &[1]).unwrap(),
        ],
        &GradcheckConfig::default(),
    )
    .unwrap();
    assert!(report.passed(), "{report}");
}

#[test]
fn positive_inputs_give_a_one_signed_weight_gradient_and_mixed_ones_do_not() {
    // a < 1 = y, so δ < 0, and ∂L/∂wᵢ = δ·xᵢ has the sign of δ when xᵢ > 0.
    let (g, delta) = by_tape(&positive_inputs());
    assert!(delta < 0.0);
    assert!(g[..3].iter().all(|gi| gi * delta > 0.0), "{g:?}");
    let (g, delta) = by_tape(&[0.5, -0.25, 0.75]);
    assert!(!g[..3].iter().all(|gi| gi * delta > 0.0), "{g:?}");
}
