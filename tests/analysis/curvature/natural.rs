//! Natural gradient, Gauss–Newton and the Fisher: invariance to centring,
//! the canonical-link identities, and singular matrices.

use gradsign::curvature::hvp::hessian;
use gradsign::curvature::likelihood::{Likelihood, LinearModel, Model};
use gradsign::curvature::natural::{
    Curvature, NaturalGradient, Problem, neuron_empirical_fisher, solve_damped,
};
use gradsign::curvature::spectrum::{Spectrum, second_moment};
use gradsign::{Element, Result, Tape, Tensor, Var};

/// Inputs `U(0,1)ⁿ + 1` (one-signed, mean 1.5), their centred copy, and soft
/// targets from a random teacher for `likelihood`.
fn regression_data(likelihood: Likelihood, seed: u64) -> (Tensor<f64>, Tensor<f64>, Tensor<f64>) {
    let (b, n) = (60, 3);
    let raw = Tensor::<f64>::rand_uniform(&[b, n], 1.0, 2.0, seed).unwrap();
    let mu = gradsign::curvature::spectrum::feature_mean(&raw).unwrap();
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

/// The predictions after `steps` steps of `step` from zero parameters.
fn train(
    x: &Tensor<f64>,
    y: &Tensor<f64>,
    likelihood: Likelihood,
    steps: usize,
    step: impl Fn(&Problem<'_, LinearModel>, &[Tensor<f64>]) -> Vec<Tensor<f64>>,
) -> Tensor<f64> {
    let model = LinearModel { bias: true };
    let problem = Problem::new(&model, likelihood, x, y).unwrap();
    let mut theta = vec![
        Tensor::zeros(&[1, x.dims()[1]]).unwrap(),
        Tensor::zeros(&[1]).unwrap(),
    ];
    for _ in 0..steps {
        theta = step(&problem, &theta);
    }
    problem.outputs(&theta).unwrap()
}

fn max_abs_diff(a: &Tensor<f64>, b: &Tensor<f64>) -> f64 {
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
        let ng = NaturalGradient {
            learning_rate: 0.5,
            damping: 0.0,
            curvature: Curvature::Fisher,
        };
        let step = |p: &Problem<'_, LinearModel>, t: &[Tensor<f64>]| ng.step(p, t).unwrap();
        let a = train(&raw, &y, likelihood, 3, step);
        let b = train(&centred, &y, likelihood, 3, step);
        let d = max_abs_diff(&a, &b);
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
        let gd = |p: &Problem<'_, LinearModel>, t: &[Tensor<f64>]| {
            let g = p.gradient(t).unwrap();
            let (w, b) = g.split_at(t[0].numel());
            vec![
                Tensor::from_vec(
                    t[0].as_slice()
                        .iter()
                        .zip(w)
                        .map(|(a, d)| a - 0.2 * d)
                        .collect(),
                    t[0].dims(),
                )
                .unwrap(),
                Tensor::from_vec(vec![t[1].as_slice()[0] - 0.2 * b[0]], &[1]).unwrap(),
            ]
        };
        let a = train(&raw, &y, likelihood, 3, gd);
        let b = train(&centred, &y, likelihood, 3, gd);
        let d = max_abs_diff(&a, &b);
        assert!(
            d > 1e-2,
            "{likelihood:?}: GD predictions differ by only {d:e}"
        );
    }
}

/// A one-hidden-layer tanh network with `C` outputs.
struct TanhMlp;
impl Model for TanhMlp {
    fn forward<'t, E: Element>(
        &self,
        _: &'t Tape<E>,
        p: &[Var<'t, E>],
        x: Var<'t, E>,
    ) -> Result<Var<'t, E>> {
        x.linear(p[0], Some(p[1]))?.tanh().linear(p[2], Some(p[3]))
    }
}

#[test]
fn fisher_equals_gauss_newton_for_canonical_likelihoods() {
    // For the Gaussian/identity, Bernoulli/logit and categorical/softmax pairs
    // the output Hessian of the loss is the output Fisher, so J ᵀΛJ = JᵀHJ:
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
        let params = vec![
            Tensor::rand_normal(&[4, 3], 0.0, 0.7, 63).unwrap(),
            Tensor::rand_normal(&[4], 0.0, 0.3, 64).unwrap(),
            Tensor::rand_normal(&[c, 4], 0.0, 0.7, 65).unwrap(),
            Tensor::rand_normal(&[c], 0.0, 0.3, 66).unwrap(),
        ];
        let problem = Problem::new(&TanhMlp, likelihood, &x, &y).unwrap();
        let (f, g) = (
            problem.fisher(&params).unwrap(),
            problem.gauss_newton(&params).unwrap(),
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
    let model = LinearModel { bias: true };
    let problem = Problem::new(&model, Likelihood::Gaussian, &raw, &y).unwrap();
    let theta = [
        Tensor::rand_normal(&[1, 3], 0.0, 1.0, 71).unwrap(),
        Tensor::scalar(0.2).reshape(&[1]).unwrap(),
    ];
    let m = second_moment(&raw, true).unwrap();
    assert!(max_abs_diff(&problem.fisher(&theta).unwrap(), &m) < 1e-14);
    assert!(max_abs_diff(&hessian(&problem, &theta).unwrap(), &m) < 1e-14);
}

#[test]
fn logistic_regression_hessian_equals_its_fisher() {
    // ∇²L = E[σ(1 − σ) x̃x̃ᵀ] = F, independent of the targets.
    let (raw, _, y) = regression_data(Likelihood::Bernoulli, 72);
    let model = LinearModel { bias: true };
    let problem = Problem::new(&model, Likelihood::Bernoulli, &raw, &y).unwrap();
    let theta = [
        Tensor::rand_normal(&[1, 3], 0.0, 1.0, 73).unwrap(),
        Tensor::scalar(-0.4).reshape(&[1]).unwrap(),
    ];
    let d = max_abs_diff(
        &problem.fisher(&theta).unwrap(),
        &hessian(&problem, &theta).unwrap(),
    );
    assert!(d < 1e-14, "{d:e}");
}

#[test]
fn empirical_fisher_matches_the_neuron_formula() {
    // Per-example gradient of ½(f_n − y_n)² is δ_n [x_n, 1] with δ_n = f_n − y_n.
    let (raw, _, y) = regression_data(Likelihood::Gaussian, 74);
    let model = LinearModel { bias: true };
    let problem = Problem::new(&model, Likelihood::Gaussian, &raw, &y).unwrap();
    let theta = [
        Tensor::rand_normal(&[1, 3], 0.0, 1.0, 75).unwrap(),
        Tensor::scalar(0.1).reshape(&[1]).unwrap(),
    ];
    let f = problem.outputs(&theta).unwrap();
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
    let got = problem.empirical_fisher(&theta).unwrap();
    assert!(max_abs_diff(&got, &want) < 1e-13);
}

#[test]
fn softmax_fisher_is_singular_without_damping() {
    // Adding a constant to every logit changes nothing: F·(1 ⊗ v) = 0.
    let x = Tensor::<f64>::rand_uniform(&[30, 2], 0.0, 1.0, 80).unwrap();
    let y = Tensor::from_fn(&[30, 3], |ix| f64::from(ix[0] % 3 == ix[1])).unwrap();
    let model = LinearModel { bias: true };
    let problem = Problem::new(&model, Likelihood::Categorical, &x, &y).unwrap();
    let theta = [
        Tensor::<f64>::zeros(&[3, 2]).unwrap(),
        Tensor::zeros(&[3]).unwrap(),
    ];
    let undamped = NaturalGradient {
        learning_rate: 1.0,
        damping: 0.0,
        curvature: Curvature::Fisher,
    };
    let err = undamped.step(&problem, &theta).unwrap_err();
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
    let damped = NaturalGradient {
        damping: 1e-3,
        ..undamped
    };
    assert!(damped.step(&problem, &theta).is_ok());
}

#[test]
fn newton_on_an_indefinite_hessian_fails_without_damping() {
    // A tanh network's Hessian is indefinite away from a minimum.
    let x = Tensor::<f64>::rand_normal(&[6, 2], 0.0, 1.0, 81).unwrap();
    let y = Tensor::<f64>::rand_normal(&[6, 1], 0.0, 1.0, 82).unwrap();
    let params = vec![
        Tensor::rand_normal(&[3, 2], 0.0, 1.5, 83).unwrap(),
        Tensor::rand_normal(&[3], 0.0, 1.0, 84).unwrap(),
        Tensor::rand_normal(&[1, 3], 0.0, 1.5, 85).unwrap(),
        Tensor::rand_normal(&[1], 0.0, 1.0, 86).unwrap(),
    ];
    let problem = Problem::new(&TanhMlp, Likelihood::Gaussian, &x, &y).unwrap();
    let h = hessian(&problem, &params).unwrap();
    assert!(
        Spectrum::of(&h).unwrap().smallest() < 0.0,
        "the Hessian happens to be PD"
    );
    let newton = NaturalGradient {
        learning_rate: 1.0,
        damping: 0.0,
        curvature: Curvature::Hessian,
    };
    let err = newton.step(&problem, &params).unwrap_err();
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
fn bad_curvature_inputs_are_clear_errors() {
    let rect = Tensor::<f64>::zeros(&[2, 3]).unwrap();
    assert!(matches!(
        solve_damped(&rect, &[1.0, 1.0], 0.0, "Fisher").unwrap_err(),
        gradsign::Error::ShapeMismatch { .. }
    ));
    let eye = Tensor::from_vec(vec![1.0, 0.0, 0.0, 1.0], &[2, 2]).unwrap();
    assert!(matches!(
        solve_damped(&eye, &[f64::NAN, 1.0], 0.0, "Fisher").unwrap_err(),
        gradsign::Error::NonFinite { .. }
    ));
    assert!(solve_damped(&eye, &[1.0, 1.0], -1.0, "Fisher").is_err());
    assert!(solve_damped(&eye, &[1.0], 0.0, "Fisher").is_err());
    let x = Tensor::from_vec(vec![1.0, f64::NAN], &[2, 1]).unwrap();
    let y = Tensor::from_vec(vec![0.0, 1.0], &[2, 1]).unwrap();
    let model = LinearModel { bias: false };
    assert!(matches!(
        Problem::new(&model, Likelihood::Gaussian, &x, &y).unwrap_err(),
        gradsign::Error::NonFinite { .. }
    ));
    let x = Tensor::from_vec(vec![1.0, 2.0], &[2, 1]).unwrap();
    let bad = Tensor::from_vec(vec![0.0, 1.5], &[2, 1]).unwrap();
    let err = Problem::new(&model, Likelihood::Bernoulli, &x, &bad).unwrap_err();
    assert!(err.to_string().contains("[0, 1]"), "{err}");
    let bad = Tensor::from_vec(vec![0.5, 0.6, 0.5, 0.5], &[2, 2]).unwrap();
    assert!(Problem::new(&model, Likelihood::Categorical, &x, &bad).is_err());
    let ok = Problem::new(&model, Likelihood::Gaussian, &x, &y).unwrap();
    let nan_theta = [Tensor::from_vec(vec![f64::NAN], &[1, 1]).unwrap()];
    assert!(matches!(
        ok.fisher(&nan_theta).unwrap_err(),
        gradsign::Error::NonFinite { .. }
    ));
    let wrong = [Tensor::<f64>::zeros(&[2, 1]).unwrap()];
    assert!(matches!(
        ok.loss(&wrong).unwrap_err(),
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
