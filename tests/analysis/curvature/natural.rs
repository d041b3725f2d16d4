//! Natural gradient, Gauss–Newton and the Fisher through [`Objective`]:
//! invariance to centring, the canonical-link identities, and singular
//! matrices. `solve_damped`'s own bad inputs are in
//! `hostile_data_curvature.rs`; example 07's logistic figures in
//! `figures_natural_gradient.rs`.

use gradsign::Tensor;
use gradsign::activation::Activation;
use gradsign::curvature::natural::{
    Curvature, NaturalGradient, neuron_empirical_fisher, solve_damped,
};
use gradsign::curvature::spectrum::{Spectrum, feature_mean, second_moment};
use gradsign::curvature::{Likelihood, Objective};
use gradsign::nn::{Linear, Mlp, Module, Sequential, VisitorMut};

/// Inputs `U(0,1)ⁿ + 1` (one-signed, mean 1.5), their centred copy, and soft
/// targets from a random teacher for `likelihood`.
fn regression_data(likelihood: Likelihood, seed: u64) -> (Tensor<f64>, Tensor<f64>, Tensor<f64>) {
    let (b, n) = (60, 3);
    let raw = Tensor::<f64>::rand_uniform(&[b, n], 1.0, 2.0, seed).unwrap();
    let mu = feature_mean(&raw).unwrap();
    let centred =
        Tensor::from_fn(&[b, n], |ix| raw.as_slice()[ix[0] * n + ix[1]] - mu[ix[1]]).unwrap();
    let teacher = Tensor::<f64>::rand_normal(&[n], 0.0, 1.0, seed + 1).unwrap();
    let y = Tensor::from_fn(&[b, 1], |ix| {
        let z: f64 = (0..n)
            .map(|k| centred.as_slice()[ix[0] * n + k] * teacher.as_slice()[k])
            .sum();
        match likelihood {
            Likelihood::Bernoulli => 1.0 / (1.0 + (-2.0 * z).exp()),
            _ => z + 0.5,
        }
    })
    .unwrap();
    (raw, centred, y)
}

/// A dense layer `w·x + b` with the given weight row and bias.
fn linear(weight: Tensor<f64>, bias: f64) -> Linear<f64> {
    let k = weight.numel();
    Linear::new(
        weight.reshape(&[1, k]).unwrap(),
        Some(Tensor::from_vec(vec![bias], &[1]).unwrap()),
    )
    .unwrap()
}

/// The predictions after `steps` steps of `step` from zero parameters.
fn train(
    x: &Tensor<f64>,
    y: &Tensor<f64>,
    likelihood: Likelihood,
    steps: usize,
    step: impl Fn(&mut Linear<f64>),
) -> Tensor<f64> {
    let mut model = linear(Tensor::zeros(&[x.dims()[1]]).unwrap(), 0.0);
    for _ in 0..steps {
        step(&mut model);
    }
    Objective::new(&model, likelihood, x, y)
        .unwrap()
        .outputs()
        .unwrap()
}

fn max_abs_diff(a: &Tensor<f64>, b: &Tensor<f64>) -> f64 {
    assert_eq!(a.dims(), b.dims());
    a.as_slice()
        .iter()
        .zip(b.as_slice())
        .map(|(p, q)| (p - q).abs())
        .fold(0.0, f64::max)
}

#[test]
fn natural_gradient_predictions_are_invariant_to_centring() {
    // Centring is the affine reparametrisation b = b' − w·μ, and
    // θ ← θ − η F⁻¹∇L transforms covariantly under it: the two runs make the
    // same predictions at every step.
    for likelihood in [Likelihood::Gaussian, Likelihood::Bernoulli] {
        let (raw, centred, y) = regression_data(likelihood, 90);
        let ng = NaturalGradient::new(0.5, 0.0, Curvature::Fisher).unwrap();
        let run = |x: &Tensor<f64>| {
            train(x, &y, likelihood, 3, |m| {
                ng.step(m, likelihood, x, &y).unwrap();
            })
        };
        let d = max_abs_diff(&run(&raw), &run(&centred));
        assert!(
            d < 1e-10,
            "{likelihood:?}: natural-gradient predictions differ by {d:e}"
        );
    }
}

#[test]
fn plain_gradient_descent_predictions_depend_on_centring() {
    for likelihood in [Likelihood::Gaussian, Likelihood::Bernoulli] {
        let (raw, centred, y) = regression_data(likelihood, 90);
        let run = |x: &Tensor<f64>| {
            train(x, &y, likelihood, 3, |m| {
                let g = Objective::new(&*m, likelihood, x, &y)
                    .unwrap()
                    .gradient()
                    .unwrap();
                let mut off = 0;
                m.visit_mut(&mut VisitorMut::new(&mut |_, t| {
                    for p in t.as_mut_slice() {
                        *p -= 0.2 * g[off];
                        off += 1;
                    }
                    Ok(())
                }))
                .unwrap();
            })
        };
        let d = max_abs_diff(&run(&raw), &run(&centred));
        assert!(
            d > 1e-2,
            "{likelihood:?}: GD predictions differ by only {d:e}"
        );
    }
}

/// A 3-4-`c` tanh network with random parameters (biases included).
fn tanh_mlp(dims: &[usize], seeds: [u64; 4], scales: [f64; 4]) -> Sequential<f64> {
    let mut net = Mlp::builder(dims)
        .hidden(Activation::Tanh)
        .build::<f64>()
        .unwrap();
    let mut i = 0;
    net.visit_mut(&mut VisitorMut::new(&mut |_, t| {
        *t = Tensor::rand_normal(t.dims(), 0.0, scales[i], seeds[i])?;
        i += 1;
        Ok(())
    }))
    .unwrap();
    net
}

#[test]
fn fisher_equals_gauss_newton_for_canonical_likelihoods() {
    // For the Gaussian/identity, Bernoulli/logit and categorical/softmax pairs
    // the output Hessian of the loss is the output Fisher, so JᵀΛJ = JᵀHJ:
    // here the closed-form Λ against HVP-computed output Hessians.
    let x = Tensor::<f64>::rand_normal(&[8, 3], 0.0, 1.0, 61).unwrap();
    for (likelihood, c) in [
        (Likelihood::Gaussian, 2),
        (Likelihood::Bernoulli, 2),
        (Likelihood::Categorical, 3),
    ] {
        let y = match likelihood {
            Likelihood::Categorical => {
                Tensor::from_fn(&[8, c], |ix| f64::from(ix[0] % c == ix[1])).unwrap()
            }
            _ => Tensor::<f64>::rand_uniform(&[8, c], 0.0, 1.0, 62).unwrap(),
        };
        let net = tanh_mlp(&[3, 4, c], [63, 64, 65, 66], [0.7, 0.3, 0.7, 0.3]);
        let objective = Objective::new(&net, likelihood, &x, &y).unwrap();
        let (f, g) = (
            objective.fisher().unwrap(),
            objective.gauss_newton().unwrap(),
        );
        let scale = f.as_slice().iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let d = max_abs_diff(&f, &g);
        assert!(
            d <= 1e-12 * scale,
            "{likelihood:?}: |F − G| = {d:e}, scale {scale}"
        );
    }
}

#[test]
fn linear_gaussian_fisher_is_the_input_second_moment_and_the_hessian() {
    // f = w·x + b, loss ½(f − y)²: F = G = ∇²L = E[x̃x̃ᵀ] with x̃ = [x, 1].
    let (raw, _, y) = regression_data(Likelihood::Gaussian, 70);
    let model = linear(Tensor::rand_normal(&[3], 0.0, 1.0, 71).unwrap(), 0.2);
    let objective = Objective::new(&model, Likelihood::Gaussian, &raw, &y).unwrap();
    let m = second_moment(&raw, true).unwrap();
    assert!(max_abs_diff(&objective.fisher().unwrap(), &m) < 1e-14);
    assert!(max_abs_diff(&objective.hessian().unwrap(), &m) < 1e-14);
}

#[test]
fn logistic_regression_hessian_equals_its_fisher() {
    // ∇²L = E[σ(1 − σ) x̃x̃ᵀ] = F, independent of the targets.
    let (raw, _, y) = regression_data(Likelihood::Bernoulli, 72);
    let model = linear(Tensor::rand_normal(&[3], 0.0, 1.0, 73).unwrap(), -0.4);
    let objective = Objective::new(&model, Likelihood::Bernoulli, &raw, &y).unwrap();
    let d = max_abs_diff(&objective.fisher().unwrap(), &objective.hessian().unwrap());
    assert!(d < 1e-14, "{d:e}");
}

#[test]
fn empirical_fisher_matches_the_neuron_formula() {
    // Per-example gradient of ½(f_n − y_n)² is δ_n [x_n, 1] with δ_n = f_n − y_n.
    let (raw, _, y) = regression_data(Likelihood::Gaussian, 74);
    let model = linear(Tensor::rand_normal(&[3], 0.0, 1.0, 75).unwrap(), 0.1);
    let objective = Objective::new(&model, Likelihood::Gaussian, &raw, &y).unwrap();
    let f = objective.outputs().unwrap();
    let deltas = Tensor::from_vec(
        f.as_slice()
            .iter()
            .zip(y.as_slice())
            .map(|(a, b)| a - b)
            .collect(),
        &[60, 1],
    )
    .unwrap();
    let want = neuron_empirical_fisher(&raw, &deltas, 0, true).unwrap();
    let got = objective.empirical_fisher().unwrap();
    assert!(max_abs_diff(&got, &want) < 1e-13);
}

#[test]
fn softmax_fisher_is_singular_without_damping() {
    // Adding a constant to every logit changes nothing: F·(1 ⊗ v) = 0.
    let x = Tensor::<f64>::rand_uniform(&[30, 2], 0.0, 1.0, 80).unwrap();
    let y = Tensor::from_fn(&[30, 3], |ix| f64::from(ix[0] % 3 == ix[1])).unwrap();
    let zero = || {
        Linear::new(
            Tensor::<f64>::zeros(&[3, 2]).unwrap(),
            Some(Tensor::zeros(&[3]).unwrap()),
        )
        .unwrap()
    };
    let undamped = NaturalGradient::new(1.0, 0.0, Curvature::Fisher).unwrap();
    let mut model = zero();
    let err = undamped
        .step(&mut model, Likelihood::Categorical, &x, &y)
        .unwrap_err();
    assert!(
        matches!(
            err,
            gradsign::Error::NotPositiveDefinite {
                what: "Fisher",
                size: 9,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("add damping"), "{err}");
    // All or nothing: the failed step wrote nothing.
    assert_eq!(
        gradsign::nn::named_parameters(&model).unwrap(),
        gradsign::nn::named_parameters(&zero()).unwrap()
    );
    let damped = NaturalGradient {
        damping: 1e-3,
        ..undamped
    };
    damped
        .step(&mut model, Likelihood::Categorical, &x, &y)
        .unwrap();
    assert!(model.weight.as_slice().iter().any(|&w| w != 0.0));
}

#[test]
fn newton_on_an_indefinite_hessian_fails_without_damping() {
    // A tanh network's Hessian is indefinite away from a minimum.
    let x = Tensor::<f64>::rand_normal(&[6, 2], 0.0, 1.0, 81).unwrap();
    let y = Tensor::<f64>::rand_normal(&[6, 1], 0.0, 1.0, 82).unwrap();
    let mut net = tanh_mlp(&[2, 3, 1], [83, 84, 85, 86], [1.5, 1.0, 1.5, 1.0]);
    let h = Objective::new(&net, Likelihood::Gaussian, &x, &y)
        .unwrap()
        .hessian()
        .unwrap();
    assert!(
        Spectrum::of(&h).unwrap().smallest() < 0.0,
        "the Hessian happens to be PD"
    );
    let newton = NaturalGradient::new(1.0, 0.0, Curvature::Hessian).unwrap();
    let err = newton
        .step(&mut net, Likelihood::Gaussian, &x, &y)
        .unwrap_err();
    assert!(
        matches!(
            err,
            gradsign::Error::NotPositiveDefinite {
                what: "Hessian",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn bad_objective_inputs_are_clear_errors() {
    let model = Linear::new(Tensor::<f64>::zeros(&[1, 1]).unwrap(), None).unwrap();
    let y = Tensor::from_vec(vec![0.0, 1.0], &[2, 1]).unwrap();
    let x = Tensor::from_vec(vec![1.0, f64::NAN], &[2, 1]).unwrap();
    assert!(matches!(
        Objective::new(&model, Likelihood::Gaussian, &x, &y).unwrap_err(),
        gradsign::Error::NonFinite { .. }
    ));
    let x = Tensor::from_vec(vec![1.0, 2.0], &[2, 1]).unwrap();
    let bad = Tensor::from_vec(vec![0.0, 1.5], &[2, 1]).unwrap();
    let err = Objective::new(&model, Likelihood::Bernoulli, &x, &bad).unwrap_err();
    assert!(err.to_string().contains("[0, 1]"), "{err}");
    let bad = Tensor::from_vec(vec![0.5, 0.6, 0.5, 0.5], &[2, 2]).unwrap();
    let two = Linear::new(Tensor::<f64>::zeros(&[2, 1]).unwrap(), None).unwrap();
    assert!(Objective::new(&two, Likelihood::Categorical, &x, &bad).is_err());
    let nan = Linear::new(Tensor::from_vec(vec![f64::NAN], &[1, 1]).unwrap(), None).unwrap();
    assert!(matches!(
        Objective::new(&nan, Likelihood::Gaussian, &x, &y).unwrap_err(),
        gradsign::Error::NonFinite { .. }
    ));
    // Two outputs against one target column.
    let ok = Objective::new(&two, Likelihood::Gaussian, &x, &y).unwrap();
    assert!(matches!(
        ok.loss().unwrap_err(),
        gradsign::Error::ShapeMismatch { .. }
    ));
}

#[test]
fn a_rank_deficient_matrix_with_tiny_positive_pivots_is_singular() {
    // M = AAᵀ with A 5×2 has rank 2; in floating point the last three
    // Cholesky pivots come out as rounding noise (here positive, ~1e-16), so
    // the factorisation "succeeds" and only the relative pivot threshold
    // catches the singularity.
    let a = Tensor::<f64>::rand_normal(&[5, 2], 0.0, 1.0, 5).unwrap();
    let a = a.as_slice();
    let m = Tensor::from_fn(&[5, 5], |ix| {
        a[2 * ix[0]] * a[2 * ix[1]] + a[2 * ix[0] + 1] * a[2 * ix[1] + 1]
    })
    .unwrap();
    let err = solve_damped(&m, &[1.0; 5], 0.0, "Gram").unwrap_err();
    assert!(
        err.to_string().contains("singular to working precision"),
        "{err}"
    );
    // λ = 1e-8 lifts every pivot well above the threshold.
    assert!(solve_damped(&m, &[1.0; 5], 1e-8, "Gram").is_ok());
}
