//! The claims example 07 (natural gradient needs no centring) rests on,
//! checked through the library's API: logistic regression with a bias on
//! sigmoid outputs, gradient descent through the tape and `Sgd` against
//! `NaturalGradient`, each on raw and centred inputs.

use gradsign::autodiff::Tape;
use gradsign::curvature::natural::{Curvature, NaturalGradient};
use gradsign::curvature::spectrum::{Spectrum, second_moment};
use gradsign::curvature::{Likelihood, Objective};
use gradsign::data::Centering;
use gradsign::loss::{Reduction, bce_with_logits};
use gradsign::nn::Linear;
use gradsign::optim::{Optimizer, Sgd};
use gradsign::tensor::Tensor;

const B: usize = 120;
const K: usize = 3;

fn sigmoid(u: f64) -> f64 {
    1.0 / (1.0 + (-u).exp())
}

fn data() -> (Tensor<f64>, Tensor<f64>, Tensor<f64>) {
    let x = Tensor::rand_normal(&[B, K], 0.0, 2.0, 11)
        .unwrap()
        .map(sigmoid);
    let xc = Centering::fit(&x).unwrap().transform(&x).unwrap();
    let teacher = Tensor::rand_normal(&[K], 0.0, 2.0, 11 ^ 0x7eac).unwrap();
    let coins = Tensor::rand_uniform(&[B], 0.0, 1.0, 11 ^ 0xc014).unwrap();
    let labels = xc
        .as_slice()
        .chunks_exact(K)
        .zip(coins.as_slice())
        .map(|(row, &u)| {
            let z: f64 = row.iter().zip(teacher.as_slice()).map(|(a, w)| a * w).sum();
            f64::from(u < sigmoid(z))
        });
    let y = Tensor::from_vec(labels.collect(), &[B, 1]).unwrap();
    (x, xc, y)
}

/// Losses and predictions before each step and after the last.
fn run(x: &Tensor<f64>, y: &Tensor<f64>, natural: bool, steps: usize) -> (Vec<f64>, Vec<Vec<f64>>) {
    let mut model = Linear::new(
        Tensor::zeros(&[1, K]).unwrap(),
        Some(Tensor::zeros(&[1]).unwrap()),
    )
    .unwrap();
    let lik = Likelihood::Bernoulli;
    let fisher = Objective::new(&model, lik, x, y).unwrap().fisher().unwrap();
    let mut sgd = Sgd::new(1.0 / Spectrum::of(&fisher).unwrap().largest());
    let ng = NaturalGradient::new(1.0, 0.0, Curvature::Fisher).unwrap();
    let (mut losses, mut predictions) = (Vec::new(), Vec::new());
    for step in 0..=steps {
        if step > 0 && natural {
            ng.step(&mut model, lik, x, y).unwrap();
        } else if step > 0 {
            let tape = Tape::new();
            let (out, trace) = gradsign::nn::forward(&model, &tape, tape.constant(x)).unwrap();
            let l = bce_with_logits(out, tape.constant(y), Reduction::Mean).unwrap();
            sgd.step(&mut model, &trace, &l.backward().unwrap())
                .unwrap();
        }
        let now = Objective::new(&model, lik, x, y).unwrap();
        losses.push(now.loss().unwrap());
        predictions.push(
            now.outputs()
                .unwrap()
                .as_slice()
                .iter()
                .map(|&f| sigmoid(f))
                .collect(),
        );
    }
    (losses, predictions)
}

fn gap(a: &[Vec<f64>], b: &[Vec<f64>]) -> Vec<f64> {
    a.iter()
        .zip(b)
        .map(|(p, q)| {
            p.iter()
                .zip(q)
                .map(|(p, q)| (p - q).abs())
                .fold(0.0, f64::max)
        })
        .collect()
}

#[test]
fn natural_gradient_is_invariant_to_centring_and_gradient_descent_is_not() {
    let (x, xc, y) = data();
    let ng = gap(&run(&x, &y, true, 8).1, &run(&xc, &y, true, 8).1);
    let gd = gap(&run(&x, &y, false, 400).1, &run(&xc, &y, false, 400).1);
    // θ = 0 is the same function on both inputs: every prediction ½.
    assert_eq!((ng[0], gd[0]), (0.0, 0.0));
    // F⁻¹∇L transforms with the parameters, so the predictions agree to rounding.
    assert!(ng.iter().all(|&g| g < 1e-10), "{ng:?}");
    assert!(gd.iter().any(|&g| g > 1e-3));
}

#[test]
fn centring_speeds_up_gradient_descent_and_natural_gradient_needs_neither() {
    let (x, xc, y) = data();
    let kappa = |x: &Tensor<f64>| {
        Spectrum::of(&second_moment(x, true).unwrap())
            .unwrap()
            .condition_number()
    };
    assert!(kappa(&xc) < kappa(&x));
    let runs = [
        run(&x, &y, false, 400).0,
        run(&xc, &y, false, 400).0,
        run(&x, &y, true, 8).0,
        run(&xc, &y, true, 8).0,
    ];
    let optimum = runs.iter().flatten().copied().fold(f64::INFINITY, f64::min);
    let steps: Vec<usize> = runs
        .iter()
        .map(|l| {
            l.iter()
                .position(|&v| v - optimum <= 1e-6 * (l[0] - optimum))
                .unwrap_or(usize::MAX)
        })
        .collect();
    assert!(steps[1] < steps[0], "{steps:?}");
    assert!(steps[2] < steps[1], "{steps:?}");
    assert_eq!(steps[2], steps[3]);
    // Newton's method on a strictly convex loss ends at the minimum.
    assert!((runs[2].last().unwrap() - optimum).abs() < 1e-12);
}
