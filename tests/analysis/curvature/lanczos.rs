//! Lanczos on curvature operators: the dense eigenvalues of small models,
//! the closed form of a linear model on inputs with U(0,1)ⁿ's moments,
//! budgets that run out, and bad input.

use gradsign::activation::Activation;
use gradsign::curvature::lanczos::{Eigenpairs, LanczosConfig, lanczos};
use gradsign::curvature::spectrum::{Spectrum, second_moment, uniform_second_moment};
use gradsign::curvature::{Curvature, DenseOperator, Likelihood, Objective, Operator};
use gradsign::nn::{Forward, Linear, Mlp, ModelElement, Module, Visitor, VisitorMut};
use gradsign::{Error, Result, Tensor, Var};

/// Each Lanczos eigenvalue against the dense one it estimates, to `1e-8`
/// relative to the spectrum's scale; each residual within the tolerance.
fn assert_matches_dense(found: &Eigenpairs, dense: &[f64], tolerance: f64) {
    let scale = dense.iter().fold(1.0f64, |m, x| m.max(x.abs()));
    assert!(found.converged, "{found:?}");
    for (i, (a, b)) in found.eigenvalues.iter().zip(dense).enumerate() {
        assert!(
            (a - b).abs() <= 1e-8 * scale,
            "eigenvalue {i}: Lanczos {a} vs dense {b}"
        );
        let floor = 10.0 * (found.eigenvectors[i].len() as f64).sqrt() * f64::EPSILON * scale;
        assert!(found.residuals[i] <= (tolerance * a.abs()).max(floor));
    }
}

fn both_ends(op: &impl Operator, dense: &Spectrum, k: usize) {
    let tol = 1e-10;
    let top = lanczos(op, &LanczosConfig::largest(k).tolerance(tol).seed(1)).unwrap();
    let mut want: Vec<f64> = dense.eigenvalues.iter().rev().take(k).copied().collect();
    assert_matches_dense(&top, &want, tol);
    let bottom = lanczos(op, &LanczosConfig::smallest(k).tolerance(tol).seed(2)).unwrap();
    want = dense.eigenvalues.iter().take(k).copied().collect();
    assert_matches_dense(&bottom, &want, tol);
    // The top Ritz vector is the dense top eigenvector (same sign rule).
    let v = dense.top_eigenvector();
    let cos: f64 = top.eigenvectors[0].iter().zip(&v).map(|(a, b)| a * b).sum();
    assert!((cos.abs() - 1.0).abs() < 1e-6, "cosine {cos}");
}

#[test]
fn lanczos_equals_the_dense_eigenvalues_of_a_tanh_networks_hessian() {
    // An indefinite Hessian away from a minimum: both ends matter.
    let net = Mlp::builder(&[3, 5, 2])
        .hidden(Activation::Tanh)
        .seed(8)
        .build::<f64>()
        .unwrap();
    let x = Tensor::rand_uniform(&[20, 3], 0.0, 1.0, 1).unwrap();
    let y = Tensor::rand_uniform(&[20, 2], -1.0, 1.0, 2).unwrap();
    let o = Objective::new(&net, Likelihood::Gaussian, &x, &y).unwrap();
    let dense = Spectrum::of(&o.hessian().unwrap()).unwrap();
    assert!(dense.smallest() < 0.0, "{:?}", dense.eigenvalues);
    both_ends(&o.operator(Curvature::Hessian).unwrap(), &dense, 4);
}

#[test]
fn lanczos_equals_the_dense_eigenvalues_of_a_sigmoid_networks_gauss_newton_block() {
    let net = Mlp::builder(&[4, 6, 3])
        .hidden(Activation::Sigmoid)
        .seed(9)
        .build::<f64>()
        .unwrap();
    let x = Tensor::rand_uniform(&[30, 4], 0.0, 1.0, 3).unwrap();
    let y = Tensor::from_fn(&[30, 3], |ix| f64::from(ix[1] == ix[0] % 3)).unwrap();
    let o = Objective::new(&net, Likelihood::Categorical, &x, &y)
        .unwrap()
        .only("0")
        .unwrap();
    let dense = Spectrum::of(&o.gauss_newton().unwrap()).unwrap();
    both_ends(&o.operator(Curvature::GaussNewton).unwrap(), &dense, 3);
}

/// The `2ⁿ` corners of the cube `0.5 ± 1/√12`: inside (0, 1)ⁿ, with mean
/// `0.5·1` and covariance `I/12` exactly (the coordinates of a full
/// factorial design are independent), so its second moment is U(0,1)ⁿ's.
fn uniform_moment_design(n: usize) -> Tensor<f64> {
    let a = (1.0f64 / 12.0).sqrt();
    Tensor::from_fn(&[1 << n, n], |ix| {
        if ix[0] >> ix[1] & 1 == 1 {
            0.5 + a
        } else {
            0.5 - a
        }
    })
    .unwrap()
}

#[test]
fn a_linear_models_hessian_on_uniform_moments_has_the_closed_form_spectrum() {
    let n = 6;
    let x = uniform_moment_design(n);
    let y = Tensor::zeros(&[1 << n, 1]).unwrap();
    // Squared error ½(wᵀx − y)²: the Hessian is E[x xᵀ] = I/12 + ¼·11ᵀ,
    // eigenvalues (3n+1)/12 along 1 and 1/12 (n − 1 times).
    let model = Linear::new(Tensor::<f64>::zeros(&[1, n]).unwrap(), None).unwrap();
    let o = Objective::new(&model, Likelihood::Gaussian, &x, &y).unwrap();
    let h = o.operator(Curvature::Hessian).unwrap();
    let top = lanczos(&h, &LanczosConfig::largest(2).tolerance(1e-12)).unwrap();
    let bottom = lanczos(&h, &LanczosConfig::smallest(n - 1).tolerance(1e-12)).unwrap();
    let big = (3 * n + 1) as f64 / 12.0;
    assert!(top.converged && bottom.converged);
    assert!((top.eigenvalues[0] - big).abs() < 1e-12, "{top:?}");
    assert!((top.eigenvalues[1] - 1.0 / 12.0).abs() < 1e-12, "{top:?}");
    // The repeated eigenvalue appears n − 1 times (the Krylov space from
    // one vector holds it once; the restarts find the others).
    for t in &bottom.eigenvalues {
        assert!((t - 1.0 / 12.0).abs() < 1e-12, "{bottom:?}");
    }
    let kappa = top.eigenvalues[0] / bottom.eigenvalues[0];
    assert!((kappa - (3 * n + 1) as f64).abs() < 1e-10, "κ = {kappa}");
    // The top eigenvector is the mean direction 1/√n.
    for c in &top.eigenvectors[0] {
        assert!((c - 1.0 / (n as f64).sqrt()).abs() < 1e-10);
    }

    // With a bias: on span{1/√n, bias} the moment is
    // [[(3n+1)/12, √n/2], [√n/2, 1]], determinant 1/12, so λ₊λ₋ = 1/12,
    // λ₋ is the smallest eigenvalue and κ = 12λ₊².
    let model = Linear::new(
        Tensor::<f64>::zeros(&[1, n]).unwrap(),
        Some(Tensor::zeros(&[1]).unwrap()),
    )
    .unwrap();
    let o = Objective::new(&model, Likelihood::Gaussian, &x, &y).unwrap();
    let h = o.operator(Curvature::Hessian).unwrap();
    let top = lanczos(&h, &LanczosConfig::largest(1).tolerance(1e-12)).unwrap();
    let bottom = lanczos(&h, &LanczosConfig::smallest(1).tolerance(1e-12)).unwrap();
    let tr = big + 1.0;
    let plus = (tr + (tr * tr - 4.0 / 12.0).sqrt()) / 2.0;
    assert!((top.eigenvalues[0] - plus).abs() < 1e-12, "{top:?}");
    let kappa = top.eigenvalues[0] / bottom.eigenvalues[0];
    assert!(
        (kappa - 12.0 * plus * plus).abs() < 1e-9 * kappa,
        "κ = {kappa}"
    );
}

#[test]
fn a_linear_models_hessian_on_uniform_samples_is_their_second_moment() {
    let n = 8;
    let x = Tensor::rand_uniform(&[200, n], 0.0, 1.0, 5).unwrap();
    let y = Tensor::rand_uniform(&[200, 1], 0.0, 1.0, 6).unwrap();
    let model = Linear::new(Tensor::<f64>::zeros(&[1, n]).unwrap(), None).unwrap();
    let o = Objective::new(&model, Likelihood::Gaussian, &x, &y).unwrap();
    let dense = Spectrum::of(&second_moment(&x, false).unwrap()).unwrap();
    both_ends(&o.operator(Curvature::Hessian).unwrap(), &dense, 2);
}

#[test]
fn the_population_moment_of_a_wide_layer_has_kappa_12_lambda_squared() {
    // E[[x,1][x,1]ᵀ] for x ~ U(0,1)^150, as a dense operator: the same
    // closed form at a width where the budget (100 steps) is below n + 1.
    let n = 150;
    let m = uniform_second_moment(n, true).unwrap();
    let op = DenseOperator::new(&m).unwrap();
    let top = lanczos(&op, &LanczosConfig::largest(1).tolerance(1e-12)).unwrap();
    let bottom = lanczos(&op, &LanczosConfig::smallest(1).tolerance(1e-12)).unwrap();
    assert!(top.converged && bottom.converged);
    assert!(top.iterations < 100 && bottom.iterations < 100);
    let tr = (3 * n + 1) as f64 / 12.0 + 1.0;
    let plus = (tr + (tr * tr - 4.0 / 12.0).sqrt()) / 2.0;
    assert!((top.eigenvalues[0] - plus).abs() < 1e-10 * plus);
    assert!((bottom.eigenvalues[0] - 1.0 / (12.0 * plus)).abs() < 1e-10);
}

#[test]
fn a_budget_that_runs_out_is_reported_not_hidden() {
    // diag(1, …, 200): evenly spaced, the slowest case for Lanczos.
    let m = Tensor::from_fn(&[200, 200], |ix| {
        if ix[0] == ix[1] {
            (ix[0] + 1) as f64
        } else {
            0.0
        }
    })
    .unwrap();
    let op = DenseOperator::new(&m).unwrap();
    let config = LanczosConfig::largest(3).max_iterations(6);
    let r = lanczos(&op, &config).unwrap();
    assert!(!r.converged);
    assert_eq!(r.iterations, 6);
    assert!(r.relative_residual(2) > config.tolerance, "{r:?}");
    // Same seed, same answer; the full budget converges.
    assert_eq!(r, lanczos(&op, &config).unwrap());
    let full = lanczos(&op, &LanczosConfig::largest(3).max_iterations(200)).unwrap();
    assert!(full.converged);
    assert!((full.eigenvalues[0] - 200.0).abs() < 1e-8);
}

#[test]
fn bad_arguments_are_errors() {
    let m = Tensor::from_fn(&[3, 3], |ix| (ix[0] + ix[1]) as f64).unwrap();
    let op = DenseOperator::new(&m).unwrap();
    for config in [
        LanczosConfig::largest(0),
        LanczosConfig::largest(4),
        LanczosConfig::smallest(2).max_iterations(1),
        LanczosConfig::largest(1).tolerance(0.0),
        LanczosConfig::largest(1).tolerance(f64::NAN),
    ] {
        let e = lanczos(&op, &config).unwrap_err();
        assert!(matches!(e, Error::OutOfDomain { op: "lanczos", .. }), "{e}");
        assert!(e.to_string().starts_with("lanczos:"), "{e}");
    }
    let e = lanczos(&op, &LanczosConfig::largest(4)).unwrap_err();
    assert!(e.to_string().contains("k = 4"), "{e}");
    // A basis must hold the k wanted vectors and one more.
    let e = lanczos(&op, &LanczosConfig::largest(2).basis(2)).unwrap_err();
    match &e {
        Error::OutOfDomain { param, value, .. } => {
            assert_eq!(param, "the basis");
            assert_eq!(value, "2");
        }
        other => panic!("expected OutOfDomain, got {other:?}"),
    }
    assert!(lanczos(&op, &LanczosConfig::largest(2).basis(3)).is_ok());
}

#[test]
fn a_basis_that_cannot_be_allocated_is_too_large() {
    // An operator of dimension 2⁴⁰ that is never applied: the basis of
    // 21 vectors (and T's buffers) cannot be had before the first product.
    struct Huge;
    impl Operator for Huge {
        fn dim(&self) -> usize {
            1 << 40
        }
        fn apply(&self, _: &[f64], _: &mut [f64]) -> Result<()> {
            unreachable!("sized before any product")
        }
        fn name(&self) -> &'static str {
            "huge operator"
        }
    }
    let e = lanczos(&Huge, &LanczosConfig::largest(1)).unwrap_err();
    assert!(matches!(e, Error::TooLarge { op: "lanczos", .. }), "{e}");
    assert!(e.to_string().contains("Lanczos basis of 21 vectors"), "{e}");
}

#[test]
fn a_non_symmetric_operator_is_refused() {
    // Symmetric but for one entry 1e-3 off its mirror.
    let mut m = uniform_second_moment(5, false).unwrap().into_vec();
    m[1] += 1e-3;
    let op = DenseOperator::new(&Tensor::from_vec(m, &[5, 5]).unwrap()).unwrap();
    let e = lanczos(&op, &LanczosConfig::largest(1)).unwrap_err();
    assert!(matches!(e, Error::NotSymmetric { .. }), "{e}");
    assert!(e.to_string().contains("dense matrix"), "{e}");
}

/// `ln(x·wᵀ)`: NaN wherever `x·wᵀ < 0`.
#[derive(Clone, Debug)]
struct LogLinear(Tensor<f64>);

impl Module<f64> for LogLinear {
    fn forward<'t, E: ModelElement>(
        &self,
        x: Var<'t, E>,
        ctx: &mut Forward<'t, '_, f64, E>,
    ) -> Result<Var<'t, E>> {
        let w = ctx.param(&self.0)?;
        Ok(x.linear(w, None)?.ln())
    }
    fn visit(&self, v: &mut Visitor<'_, f64>) -> Result<()> {
        v.param("w", &self.0)
    }
    fn visit_mut(&mut self, v: &mut VisitorMut<'_, f64>) -> Result<()> {
        v.param("w", &mut self.0)
    }
}

#[test]
fn nan_from_the_model_is_an_error() {
    let model = LogLinear(Tensor::from_vec(vec![1.0, -1.0], &[1, 2]).unwrap());
    let x = Tensor::from_vec(vec![0.2, 0.9, 0.8, 0.1], &[2, 2]).unwrap();
    let y = Tensor::zeros(&[2, 1]).unwrap();
    let o = Objective::new(&model, Likelihood::Gaussian, &x, &y).unwrap();
    for kind in [Curvature::Hessian, Curvature::GaussNewton] {
        let e = lanczos(&o.operator(kind).unwrap(), &LanczosConfig::largest(1)).unwrap_err();
        assert!(matches!(e, Error::NonFinite { .. }), "{e}");
    }
}

/// `H diag(λ) H` for the Householder reflection `H = I − 2uuᵀ` of a
/// random unit `u`: symmetric, dense, with the eigenvalues `λ`.
fn reflected(lambda: &[f64], seed: u64) -> Tensor<f64> {
    let n = lambda.len();
    let mut u = Tensor::rand_uniform(&[n], -1.0, 1.0, seed)
        .unwrap()
        .into_vec();
    let norm = u.iter().map(|x| x * x).sum::<f64>().sqrt();
    u.iter_mut().for_each(|x| *x /= norm);
    // (I − 2uuᵀ) D (I − 2uuᵀ) = D − 2u(Du)ᵀ − 2(Du)uᵀ + 4(uᵀDu)uuᵀ.
    let du: Vec<f64> = u.iter().zip(lambda).map(|(a, l)| a * l).collect();
    let udu: f64 = u.iter().zip(&du).map(|(a, b)| a * b).sum();
    Tensor::from_fn(&[n, n], |ix| {
        let (r, c) = (ix[0], ix[1]);
        let d = if r == c { lambda[r] } else { 0.0 };
        d - 2.0 * u[r] * du[c] - 2.0 * du[r] * u[c] + 4.0 * udu * u[r] * u[c]
    })
    .unwrap()
}

/// 300 eigenvalues: a cluster of ten at the top (10, 9.99, …), ten at the
/// bottom (0.5, 0.502, …) and 280 evenly spread over [1, 9] between.
fn clustered_spectrum() -> Vec<f64> {
    let mut lambda: Vec<f64> = (0..10).map(|i| 10.0 - 0.01 * i as f64).collect();
    lambda.extend((0..10).map(|i| 0.5 + 0.002 * i as f64));
    lambda.extend((0..280).map(|i| 1.0 + 8.0 * i as f64 / 279.0));
    lambda
}

#[test]
fn a_small_basis_restarts_and_still_finds_clustered_eigenvalues() {
    let m = reflected(&clustered_spectrum(), 11);
    let dense = Spectrum::of(&m).unwrap();
    let op = DenseOperator::new(&m).unwrap();
    let (k, basis, tol) = (4, 12, 1e-10);
    let top = lanczos(
        &op,
        &LanczosConfig::largest(k)
            .basis(basis)
            .tolerance(tol)
            .max_iterations(5000)
            .seed(3),
    )
    .unwrap();
    let want: Vec<f64> = dense.eigenvalues.iter().rev().take(k).copied().collect();
    assert_matches_dense(&top, &want, tol);
    // The basis is much smaller than the steps the cluster needs.
    assert!(top.iterations > 4 * basis, "{} steps", top.iterations);
    assert!(top.restarts > 0);
    // Every restart cycle fills the basis again after keeping l = 8 Ritz
    // vectors: 4 new steps per cycle after the first 12.
    assert!(top.iterations >= basis + 4 * (top.restarts - 1));
    assert_eq!(top.applications, 1 + top.iterations + k);
    let bottom = lanczos(
        &op,
        &LanczosConfig::smallest(k)
            .basis(basis)
            .tolerance(tol)
            .max_iterations(5000)
            .seed(4),
    )
    .unwrap();
    let want: Vec<f64> = dense.eigenvalues.iter().take(k).copied().collect();
    assert_matches_dense(&bottom, &want, tol);
    assert!(bottom.iterations > 4 * basis && bottom.restarts > 0);
    // The top Ritz vector is the dense top eigenvector.
    let v = dense.top_eigenvector();
    let cos: f64 = top.eigenvectors[0].iter().zip(&v).map(|(a, b)| a * b).sum();
    assert!((cos.abs() - 1.0).abs() < 1e-6, "cosine {cos}");
}

#[test]
fn a_basis_large_enough_never_restarts() {
    let m = reflected(&clustered_spectrum(), 12);
    let dense = Spectrum::of(&m).unwrap();
    let op = DenseOperator::new(&m).unwrap();
    let config = LanczosConfig::largest(3)
        .tolerance(1e-10)
        .max_iterations(300);
    // The whole space: n = 300 vectors.
    let full = lanczos(&op, &config.clone().basis(300)).unwrap();
    assert_eq!(full.restarts, 0);
    let want: Vec<f64> = dense.eigenvalues.iter().rev().take(3).copied().collect();
    assert_matches_dense(&full, &want, 1e-10);
    // A basis as large as the steps it took: the same run, step for step.
    let exact = lanczos(&op, &config.clone().basis(full.iterations)).unwrap();
    assert_eq!(exact.restarts, 0);
    assert_eq!(exact.iterations, full.iterations);
    assert_eq!(exact.eigenvalues, full.eigenvalues);
    // One vector fewer must restart (or fail to converge), not truncate.
    let short = lanczos(&op, &config.basis(full.iterations - 1)).unwrap();
    assert!(short.restarts > 0 || !short.converged, "{short:?}");
}

#[test]
fn a_budget_that_runs_out_across_restarts_is_reported() {
    // diag(1, …, 200) in a basis of 6: 30 steps are far too few.
    let m = Tensor::from_fn(&[200, 200], |ix| {
        if ix[0] == ix[1] {
            (ix[0] + 1) as f64
        } else {
            0.0
        }
    })
    .unwrap();
    let op = DenseOperator::new(&m).unwrap();
    let config = LanczosConfig::largest(3).basis(6).max_iterations(30);
    let r = lanczos(&op, &config).unwrap();
    assert!(!r.converged);
    assert_eq!(r.iterations, 30);
    assert!(r.restarts > 0);
    assert_eq!(r.residuals.len(), 3);
    assert!(r.relative_residual(0) > config.tolerance, "{r:?}");
    assert_eq!(r, lanczos(&op, &config).unwrap());
}
