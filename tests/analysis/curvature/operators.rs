//! The matrix-free curvature operators against the dense matrices built by
//! the existing tools (`Objective::hessian`, `gauss_newton`, `fisher`,
//! `empirical_fisher`): column `i` of each operator is its product with the
//! `i`-th basis vector, and must equal the dense matrix's column to 1e-10
//! (both are exact up to rounding in f64; entries here are O(1)).

use gradsign::Tensor;
use gradsign::activation::Activation;
use gradsign::curvature::{Curvature, DenseOperator, Likelihood, Objective, Operator};
use gradsign::nn::{BatchNorm, Init, Linear, Mlp, Module, Sequential};

/// `B` examples of `n` inputs in (0, 1) and `C` targets for `likelihood`.
fn data(likelihood: Likelihood, b: usize, n: usize, c: usize) -> (Tensor<f64>, Tensor<f64>) {
    let x = Tensor::rand_uniform(&[b, n], 0.0, 1.0, 11).unwrap();
    let y = match likelihood {
        Likelihood::Gaussian => Tensor::rand_uniform(&[b, c], -1.0, 1.0, 12).unwrap(),
        Likelihood::Bernoulli => Tensor::rand_uniform(&[b, c], 0.0, 1.0, 12).unwrap(),
        Likelihood::Categorical => {
            Tensor::from_fn(&[b, c], |ix| f64::from(ix[1] == (ix[0] * 7 + 3) % c)).unwrap()
        }
    };
    (x, y)
}

/// The largest difference between the operator's columns and `dense`.
fn worst_column_error(op: &impl Operator, dense: &Tensor<f64>) -> f64 {
    let p = op.dim();
    assert_eq!(dense.dims(), [p, p]);
    let (mut e, mut col) = (vec![0.0; p], vec![0.0; p]);
    let mut worst = 0.0f64;
    for i in 0..p {
        e[i] = 1.0;
        op.apply(&e, &mut col).unwrap();
        e[i] = 0.0;
        for (r, v) in col.iter().enumerate() {
            worst = worst.max((v - dense.as_slice()[r * p + i]).abs());
        }
    }
    worst
}

fn check_all<M: Module<f64>>(net: &M, likelihood: Likelihood, c: usize, prefix: Option<&str>) {
    let (x, y) = data(likelihood, 12, 3, c);
    let mut o = Objective::new(net, likelihood, &x, &y).unwrap();
    if let Some(p) = prefix {
        o = o.only(p).unwrap();
    }
    let cases = [
        (Curvature::Hessian, o.hessian().unwrap()),
        (Curvature::GaussNewton, o.gauss_newton().unwrap()),
        (Curvature::Fisher, o.fisher().unwrap()),
        (Curvature::EmpiricalFisher, o.empirical_fisher().unwrap()),
    ];
    for (kind, dense) in cases {
        let op = o.operator(kind).unwrap();
        let worst = worst_column_error(&op, &dense);
        assert!(
            worst < 1e-10,
            "{likelihood:?} {kind:?} {prefix:?}: worst entry difference {worst:e}"
        );
    }
}

#[test]
fn operators_equal_the_dense_matrices_of_a_tanh_softmax_network() {
    let net = Mlp::builder(&[3, 4, 3])
        .hidden(Activation::Tanh)
        .seed(3)
        .build::<f64>()
        .unwrap();
    check_all(&net, Likelihood::Categorical, 3, None);
    check_all(&net, Likelihood::Categorical, 3, Some("0"));
}

#[test]
fn operators_equal_the_dense_matrices_of_a_sigmoid_logistic_network() {
    let net = Mlp::builder(&[3, 5, 1])
        .hidden(Activation::Sigmoid)
        .seed(4)
        .build::<f64>()
        .unwrap();
    check_all(&net, Likelihood::Bernoulli, 1, None);
    check_all(&net, Likelihood::Bernoulli, 1, Some("2"));
}

#[test]
fn operators_equal_the_dense_matrices_of_a_regression_network() {
    // Two outputs under squared error: the Gauss–Newton matrix is not the
    // Hessian here (the residuals are not zero), so both paths are tested.
    let net = Mlp::builder(&[3, 4, 4, 2])
        .hidden(Activation::Sigmoid)
        .seed(5)
        .build::<f64>()
        .unwrap();
    check_all(&net, Likelihood::Gaussian, 2, None);
    let (x, y) = data(Likelihood::Gaussian, 12, 3, 2);
    let o = Objective::new(&net, Likelihood::Gaussian, &x, &y).unwrap();
    let (h, g) = (o.hessian().unwrap(), o.gauss_newton().unwrap());
    let gap = h
        .as_slice()
        .iter()
        .zip(g.as_slice())
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    assert!(
        gap > 1e-3,
        "the Hessian and GGN should differ here: {gap:e}"
    );
}

#[test]
fn the_hessian_operator_of_a_batch_normalised_network_equals_its_dense_hessian() {
    // BatchNorm in training mode couples the examples; the Hessian (one
    // forward-over-reverse pass on the whole batch) sees that coupling.
    let net = Sequential::new()
        .push(Linear::<f64>::init(3, 4, Init::LecunNormal, true, 6).unwrap())
        .push(BatchNorm::new(4).unwrap())
        .push(Activation::Tanh)
        .push(Linear::<f64>::init(4, 2, Init::LecunNormal, true, 7).unwrap());
    let (x, y) = data(Likelihood::Gaussian, 12, 3, 2);
    let o = Objective::new(&net, Likelihood::Gaussian, &x, &y).unwrap();
    let op = o.operator(Curvature::Hessian).unwrap();
    let worst = worst_column_error(&op, &o.hessian().unwrap());
    assert!(worst < 1e-10, "worst entry difference {worst:e}");
}

#[test]
fn operators_reject_wrong_lengths_and_non_finite_directions() {
    let net = Mlp::builder(&[3, 4, 1]).seed(4).build::<f64>().unwrap();
    let (x, y) = data(Likelihood::Gaussian, 12, 3, 1);
    let o = Objective::new(&net, Likelihood::Gaussian, &x, &y).unwrap();
    for kind in [
        Curvature::Hessian,
        Curvature::GaussNewton,
        Curvature::Fisher,
        Curvature::EmpiricalFisher,
    ] {
        let op = o.operator(kind).unwrap();
        let p = op.dim();
        let mut out = vec![0.0; p];
        let e = op.apply(&vec![1.0; p + 1], &mut out).unwrap_err();
        assert!(matches!(e, gradsign::Error::ShapeMismatch { .. }), "{e}");
        let mut v = vec![0.0; p];
        v[2] = f64::NAN;
        let e = op.apply(&v, &mut out).unwrap_err();
        assert!(
            matches!(e, gradsign::Error::NonFinite { .. }),
            "{kind:?}: {e}"
        );
    }
    let m = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
    assert!(DenseOperator::new(&m).is_err());
}
