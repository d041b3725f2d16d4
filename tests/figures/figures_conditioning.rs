//! The claims example 05 (conditioning) rests on, checked through the
//! library's API: spectra of `E[aaᵀ]` and `Cov(a)` for `a ~ U(0, 1)ⁿ`,
//! full-batch gradient descent through the tape and `Sgd`, and the
//! `TrajectoryRecorder`'s error along the top eigenvector.

use gradsign::autodiff::Tape;
use gradsign::curvature::spectrum::{
    MomentSpectrum, Spectrum, covariance, second_moment, uniform_second_moment,
};
use gradsign::data::Centering;
use gradsign::dynamics::TrajectoryRecorder;
use gradsign::loss::{Reduction, mse};
use gradsign::nn::Linear;
use gradsign::optim::{Optimizer, Sgd};
use gradsign::tensor::Tensor;

fn data(n: usize) -> (Tensor<f64>, Tensor<f64>, Tensor<f64>) {
    let a = Tensor::rand_uniform(&[300, n], 0.0, 1.0, 70 + n as u64).unwrap();
    let centred = Centering::fit(&a).unwrap().transform(&a).unwrap();
    let w_star = Tensor::rand_normal(&[1, n], 0.0, 1.0, 90 + n as u64).unwrap();
    (a, centred, w_star)
}

/// Gradient descent on `½·mean(w·a − w*·a)²` from `w = 0`: every weight
/// (before each step and after the last) and the first step with
/// `‖w − w*‖ ≤ 1 %·‖w*‖`.
fn descend(
    a: &Tensor<f64>,
    w_star: &Tensor<f64>,
    eta: f64,
    steps: usize,
) -> (Vec<Tensor<f64>>, Option<usize>) {
    let (b, n) = (a.dims()[0], a.dims()[1]);
    let ws = w_star.as_slice();
    let y: Vec<f64> = a
        .as_slice()
        .chunks_exact(n)
        .map(|r| r.iter().zip(ws).map(|(x, w)| x * w).sum())
        .collect();
    let dist = |w: &[f64]| {
        w.iter()
            .zip(ws)
            .map(|(w, s)| (w - s).powi(2))
            .sum::<f64>()
            .sqrt()
    };
    let mut model = Linear::new(Tensor::zeros(&[1, n]).unwrap(), None).unwrap();
    let mut opt = Sgd::new(eta);
    let (mut weights, mut reached) = (vec![model.weight.clone()], None);
    for step in 1..=steps {
        let tape = Tape::new();
        let (out, trace) = gradsign::nn::forward(&model, &tape, tape.constant(a)).unwrap();
        let t = tape.constant_from_slice(&y, &[b, 1]).unwrap();
        let grads = (mse(out, t, Reduction::Mean).unwrap() * 0.5)
            .backward()
            .unwrap();
        opt.step(&mut model, &trace, &grads).unwrap();
        weights.push(model.weight.clone());
        if reached.is_none() && dist(model.weight.as_slice()) <= 0.01 * dist(&vec![0.0; n]) {
            reached = Some(step);
        }
    }
    (weights, reached)
}

#[test]
fn population_kappa_is_three_n_plus_one_and_the_top_eigenvector_is_the_mean() {
    for n in [2, 6] {
        // I/12 + 11ᵀ/4: eigenvalues 1/12 and (3n + 1)/12.
        let kappa = Spectrum::of(&uniform_second_moment(n, false).unwrap())
            .unwrap()
            .condition_number();
        assert!(
            (kappa - (3 * n + 1) as f64).abs() < 1e-9 * kappa,
            "n = {n}: {kappa}"
        );
        let (a, _, _) = data(n);
        let raw = MomentSpectrum::of(&second_moment(&a, false).unwrap()).unwrap();
        let cov = MomentSpectrum::of(&covariance(&a, false).unwrap()).unwrap();
        assert!(raw.top_alignment_with_ones > 0.99, "n = {n}");
        assert!(cov.condition_number < raw.condition_number, "n = {n}");
    }
}

#[test]
fn gradient_descent_steps_respect_the_kappa_bound_and_centring_cuts_them() {
    for n in [2, 6] {
        let (a, centred, w_star) = data(n);
        let raw = Spectrum::of(&second_moment(&a, false).unwrap()).unwrap();
        let cov = Spectrum::of(&covariance(&a, false).unwrap()).unwrap();
        let (_, raw_steps) = descend(&a, &w_star, 1.0 / raw.largest(), 2000);
        let (_, centred_steps) = descend(&centred, &w_star, 1.0 / cov.largest(), 2000);
        // Each error component shrinks by at least 1 − 1/κ per step.
        let bound = (0.01f64.ln() / (1.0 - 1.0 / raw.condition_number()).ln()).ceil();
        let raw_steps = raw_steps.expect("reached") as f64;
        assert!(raw_steps <= bound, "n = {n}: {raw_steps} > {bound}");
        assert!(
            (centred_steps.expect("reached") as f64) < raw_steps,
            "n = {n}"
        );
    }
}

#[test]
fn error_along_the_top_eigenvector_is_multiplied_by_one_minus_r() {
    let (a, _, w_star) = data(6);
    let spectrum = Spectrum::of(&second_moment(&a, false).unwrap()).unwrap();
    for r in [0.5, 1.8] {
        let mut rec = TrajectoryRecorder::new(1, 6, false)
            .unwrap()
            .track_error_along(&spectrum.top_eigenvector(), &w_star, None)
            .unwrap();
        let (weights, _) = descend(&a, &w_star, r / spectrum.largest(), 12);
        let mut components = Vec::new();
        for w in &weights {
            rec.observe(w, None, None).unwrap();
            components.push(rec.component(0).unwrap());
        }
        // On a quadratic with Hessian H, e ← (I − ηH)e: the component along
        // an eigenvector of λmax is multiplied by 1 − ηλmax = 1 − r.
        for t in 0..4 {
            let ratio = components[t + 1] / components[t];
            assert!((ratio - (1.0 - r)).abs() < 1e-9, "r = {r}: {ratio}");
        }
        assert_eq!(rec.component_flips(0), if r > 1.0 { 12 } else { 0 });
    }
}
