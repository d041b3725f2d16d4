//! The claims example 02 (the zig-zag) rests on, checked through the
//! library's API: one linear neuron trained by per-example SGD with the
//! tape, `Sgd` and a `TrajectoryRecorder`.

use gradsign::autodiff::Tape;
use gradsign::curvature::spectrum::{Spectrum, feature_mean, second_moment};
use gradsign::data::Centering;
use gradsign::dynamics::{NeuronTrajectory, TrajectoryRecorder};
use gradsign::nn::Linear;
use gradsign::optim::{Optimizer, Sgd};
use gradsign::tensor::Tensor;

const START: [f64; 2] = [-0.5, 1.0];
const TARGET: [f64; 2] = [1.0, -0.5];

fn positive_inputs(n: usize, seed: u64) -> Tensor<f64> {
    Tensor::<f64>::rand_normal(&[n, 2], 0.0, 1.0, seed)
        .unwrap()
        .map(|u| 1.0 / (1.0 + (-u).exp()))
}

/// `c / tr E[xxᵀ]`, the example's step rule.
fn rate(x: &Tensor<f64>, c: f64) -> f64 {
    let m = second_moment(x, false).unwrap();
    c / (m.as_slice()[0] + m.as_slice()[3])
}

/// Per-example SGD on `½(w·x − w*·x)²` cycling through the examples;
/// returns the recorder's account and the steps to 1 % of the initial
/// distance (if reached within `max`).
fn sgd(x: &Tensor<f64>, eta: f64, max: usize) -> (NeuronTrajectory, Option<usize>) {
    let mut neuron = Linear::new(Tensor::from_vec(START.to_vec(), &[1, 2]).unwrap(), None).unwrap();
    let mut opt = Sgd::new(eta);
    let mut rec = TrajectoryRecorder::new(1, 2, false).unwrap();
    rec.observe(&neuron.weight, None, None).unwrap();
    let mut tape = Tape::<f64>::new();
    let n = x.dims()[0];
    let d = |w: &[f64]| (w[0] - TARGET[0]).hypot(w[1] - TARGET[1]);
    for step in 0..max {
        if d(neuron.weight.as_slice()) <= 0.01 * d(&START) {
            return (rec.neuron(0), Some(step));
        }
        let i = (step * 7) % n; // a fixed order that visits every example
        tape.clear();
        let row = &x.as_slice()[2 * i..2 * i + 2];
        let y = TARGET[0] * row[0] + TARGET[1] * row[1];
        let xi = tape.constant_from_slice(row, &[1, 2]).unwrap();
        let (out, trace) = gradsign::nn::forward(&neuron, &tape, xi).unwrap();
        let grads = ((out.sum() - tape.constant_scalar(y)).square() * 0.5)
            .backward()
            .unwrap();
        let delta = grads.tensor(trace.layers()[0].pre_activation).unwrap();
        opt.step(&mut neuron, &trace, &grads).unwrap();
        rec.observe(&neuron.weight, None, Some(&delta)).unwrap();
    }
    (rec.neuron(0), None)
}

#[test]
fn positive_inputs_put_every_update_in_quadrant_one_or_three() {
    // u = −η(e·x)·x with x > 0: u₁u₂ = η²(e·x)²x₁x₂ > 0 whenever e·x ≠ 0.
    for seed in [1, 7, 42] {
        let x = positive_inputs(64, seed);
        let (t, steps) = sgd(&x, rate(&x, 0.25), 5000);
        assert!(steps.is_some());
        assert_eq!(t.orthants.one_signed_share(), Some(1.0), "seed {seed}");
        // Centred inputs take both signs: updates reach quadrants II and IV.
        let c = Centering::fit(&x).unwrap().transform(&x).unwrap();
        let (t, _) = sgd(&c, rate(&c, 0.25), 5000);
        assert!(t.orthants.one_signed_share().unwrap() < 1.0, "seed {seed}");
    }
}

#[test]
fn the_mean_input_adds_the_large_eigenvalue() {
    let x = positive_inputs(256, 7);
    let c = Centering::fit(&x).unwrap().transform(&x).unwrap();
    let p = Spectrum::of(&second_moment(&x, false).unwrap()).unwrap();
    let q = Spectrum::of(&second_moment(&c, false).unwrap()).unwrap();
    let mu = feature_mean(&x).unwrap();
    // E[xxᵀ] = Cov + μμᵀ: λmax ≥ ‖μ‖² (Rayleigh quotient at μ/‖μ‖) …
    assert!(p.largest() >= (mu[0] * mu[0] + mu[1] * mu[1]) * (1.0 - 1e-12));
    // … and a rank-one update interlaces: λ₂(Cov) ≤ λ₂(C) ≤ λ₁(Cov) ≤ λ₁(C).
    let e = 1e-12;
    assert!(q.smallest() <= p.smallest() + e && p.smallest() <= q.largest() + e);
    assert!(q.largest() <= p.largest() + e);
    assert!(p.condition_number() > 5.0 * q.condition_number());
    assert!(p.top_eigenvector().iter().all(|&v| v > 0.0));
}

#[test]
fn centring_shortens_the_path_only_with_its_own_step_size() {
    let x = positive_inputs(256, 7);
    let c = Centering::fit(&x).unwrap().transform(&x).unwrap();
    let (tp, sp) = sgd(&x, rate(&x, 0.25), 5000);
    let (_, sc) = sgd(&c, rate(&c, 0.25), 5000);
    let (ts, ss) = sgd(&c, rate(&x, 0.25), 5000);
    let (sp, sc, ss) = (sp.unwrap(), sc.unwrap(), ss.unwrap());
    // The slow direction's rate 1 − ηλmin: c·λmin/tr C is several times
    // larger centred than raw.
    assert!(2 * sc < sp, "centred {sc} vs positive {sp}");
    // At the raw η the path straightens but the slow direction is no faster.
    assert!(ts.path_efficiency.unwrap() > tp.path_efficiency.unwrap());
    assert!(
        ss as f64 > 0.5 * sp as f64,
        "same-rate centred {ss} vs positive {sp}"
    );
    for t in [&tp, &ts] {
        let e = t.path_efficiency.unwrap();
        assert!(e > 0.0 && e <= 1.0);
    }
}
