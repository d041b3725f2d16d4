//! Hutchinson's trace and stochastic Lanczos quadrature against dense
//! traces and eigenvalues of small models.

use gradsign::Tensor;
use gradsign::activation::Activation;
use gradsign::curvature::density::{SlqConfig, hutchinson, slq};
use gradsign::curvature::spectrum::Spectrum;
use gradsign::curvature::{Curvature, DenseOperator, Likelihood, Objective};
use gradsign::nn::Mlp;

/// A 3-6-2 tanh network's Hessian (dense, `P = 38`) on 25 examples.
fn hessian() -> Tensor<f64> {
    let net = Mlp::builder(&[3, 6, 2])
        .hidden(Activation::Tanh)
        .seed(8)
        .build::<f64>()
        .unwrap();
    let x = Tensor::rand_uniform(&[25, 3], 0.0, 1.0, 1).unwrap();
    let y = Tensor::rand_uniform(&[25, 2], -1.0, 1.0, 2).unwrap();
    Objective::new(&net, Likelihood::Gaussian, &x, &y)
        .unwrap()
        .hessian()
        .unwrap()
}

fn trace(m: &Tensor<f64>) -> f64 {
    let p = m.dims()[0];
    (0..p).map(|i| m.as_slice()[i * p + i]).sum()
}

#[test]
fn hutchinson_estimates_the_trace_within_its_standard_error() {
    let h = hessian();
    let p = h.dims()[0];
    let op = DenseOperator::new(&h).unwrap();
    let exact = trace(&h);
    let est = hutchinson(&op, 400, 7).unwrap();
    // A seeded draw: |error| > 4 standard errors has probability ~6e-5.
    assert!(
        (est.trace - exact).abs() < 4.0 * est.standard_error,
        "{} vs {exact} ± {}",
        est.trace,
        est.standard_error
    );
    // Rademacher probes: Var(zᵀAz) = 2 Σ_{i≠j} aᵢⱼ². With 400 samples the
    // sample standard deviation is within 20% of the true one unless the
    // samples' kurtosis is extreme (its relative error is about
    // √((κ − 1)/4L) ≈ 0.05 for κ = 3).
    let off: f64 = (0..p * p)
        .filter(|i| i / p != i % p)
        .map(|i| h.as_slice()[i].powi(2))
        .sum();
    let sd = (2.0 * off / 400.0).sqrt();
    assert!(
        (est.standard_error / sd - 1.0).abs() < 0.2,
        "{} vs {sd}",
        est.standard_error
    );
    assert_eq!(est.samples.len(), 400);
}

#[test]
fn hutchinson_on_the_operator_equals_hutchinson_on_the_dense_matrix() {
    let net = Mlp::builder(&[3, 4, 1]).seed(2).build::<f64>().unwrap();
    let x = Tensor::rand_uniform(&[10, 3], 0.0, 1.0, 1).unwrap();
    let y = Tensor::rand_uniform(&[10, 1], 0.0, 1.0, 2).unwrap();
    let o = Objective::new(&net, Likelihood::Gaussian, &x, &y).unwrap();
    let dense = DenseOperator::new(&o.gauss_newton().unwrap()).unwrap();
    let a = hutchinson(&o.operator(Curvature::GaussNewton).unwrap(), 20, 3).unwrap();
    let b = hutchinson(&dense, 20, 3).unwrap();
    for (s, t) in a.samples.iter().zip(&b.samples) {
        assert!((s - t).abs() < 1e-10 * t.abs().max(1.0), "{s} vs {t}");
    }
}

#[test]
fn too_few_probes_are_errors() {
    let op = DenseOperator::new(&hessian()).unwrap();
    for probes in [0, 1] {
        let e = hutchinson(&op, probes, 0).unwrap_err();
        assert!(matches!(e, gradsign::Error::OutOfDomain { .. }), "{e}");
        assert!(e.to_string().contains("number of probes"), "{e}");
        let e = slq(&op, &SlqConfig::new(probes, 10)).unwrap_err();
        assert!(matches!(e, gradsign::Error::OutOfDomain { .. }), "{e}");
    }
}

#[test]
fn bad_quadrature_settings_are_out_of_domain() {
    let op = DenseOperator::new(&hessian()).unwrap();
    let cases = [
        (SlqConfig::new(4, 0), "Lanczos steps per probe"),
        (SlqConfig::new(4, 10).points(1), "grid points"),
        (SlqConfig::new(4, 10).sigma(f64::NAN), "broadening"),
        (SlqConfig::new(4, 10).sigma(-1.0), "broadening"),
    ];
    for (config, what) in cases {
        let e = slq(&op, &config).unwrap_err();
        assert!(matches!(e, gradsign::Error::OutOfDomain { .. }), "{e}");
        assert!(e.to_string().contains(what), "{what}: {e}");
    }
}

#[test]
fn the_slq_density_integrates_to_one_and_its_moments_are_the_probes() {
    let h = hessian();
    let p = h.dims()[0];
    let op = DenseOperator::new(&h).unwrap();
    let d = slq(&op, &SlqConfig::new(30, 20).seed(7)).unwrap();
    // Weights sum to 1 exactly (each probe's τ are the squares of a unit
    // eigenvector's first row); the grid loses the tails beyond 5σ
    // (5.7e-7) and the trapezoid rule on a smooth density almost nothing.
    let total: f64 = d.weights.iter().sum();
    assert!((total - 1.0).abs() < 1e-12, "{total}");
    assert!((d.integral() - 1.0).abs() < 1e-5, "{}", d.integral());
    // The first moment is each probe's Rayleigh quotient zᵀAz/n, so n
    // times it is Hutchinson's estimate on the same probes.
    let est = hutchinson(&op, 30, 7).unwrap();
    let m1 = d.moment(1) * p as f64;
    assert!(
        (m1 - est.trace).abs() < 1e-10 * est.trace.abs(),
        "{m1} vs {}",
        est.trace
    );
    // And tr(A)/n within a few standard errors.
    assert!((m1 - trace(&h)).abs() < 4.0 * est.standard_error);
    // The broadened density keeps the mean: ∫ t φ(t) dt = Σ wᵢθᵢ.
    let step = d.grid[1] - d.grid[0];
    let mean: f64 = d
        .grid
        .iter()
        .zip(&d.density)
        .map(|(t, f)| t * f * step)
        .sum();
    let width = d.grid[d.grid.len() - 1] - d.grid[0];
    assert!(
        (mean - d.moment(1)).abs() < 1e-6 * width,
        "{mean} vs {}",
        d.moment(1)
    );
}

#[test]
fn slq_with_as_many_steps_as_dimensions_finds_every_eigenvalue() {
    let h = hessian();
    let p = h.dims()[0];
    let op = DenseOperator::new(&h).unwrap();
    let dense = Spectrum::of(&h).unwrap();
    let d = slq(&op, &SlqConfig::new(3, p).seed(1)).unwrap();
    assert!(d.steps.iter().all(|&s| s == p), "{:?}", d.steps);
    let scale = dense.largest().abs().max(dense.smallest().abs());
    for probe in 0..3 {
        let nodes = &d.nodes[probe * p..(probe + 1) * p];
        for (a, b) in nodes.iter().zip(&dense.eigenvalues) {
            assert!((a - b).abs() < 1e-8 * scale, "{a} vs {b}");
        }
    }
    // The quadrature is exact to degree 2m − 1 ≥ 2, so the second moment
    // is each probe's ‖A z‖²/n = zᵀA²z/n: Hutchinson on A² with the same
    // seed draws the same probes.
    let a = h.as_slice();
    let a2 = Tensor::from_fn(&[p, p], |ix| {
        (0..p).map(|k| a[ix[0] * p + k] * a[k * p + ix[1]]).sum()
    })
    .unwrap();
    let est = hutchinson(&DenseOperator::new(&a2).unwrap(), 3, 1).unwrap();
    let m2 = d.moment(2) * p as f64;
    assert!(
        (m2 - est.trace).abs() < 1e-10 * est.trace,
        "{m2} vs {}",
        est.trace
    );
}

#[test]
fn slq_refuses_bad_configurations_and_non_symmetric_operators() {
    let op = DenseOperator::new(&hessian()).unwrap();
    assert!(slq(&op, &SlqConfig::new(4, 0)).is_err());
    assert!(slq(&op, &SlqConfig::new(4, 5).points(1)).is_err());
    assert!(slq(&op, &SlqConfig::new(4, 5).sigma(-1.0)).is_err());
    assert!(slq(&op, &SlqConfig::new(4, 5).sigma(f64::NAN)).is_err());
    let m = Tensor::from_vec(vec![1.0, 2.0, 0.0, 1.0], &[2, 2]).unwrap();
    let e = slq(&DenseOperator::new(&m).unwrap(), &SlqConfig::new(4, 2)).unwrap_err();
    assert!(matches!(e, gradsign::Error::NotSymmetric { .. }), "{e}");
}
