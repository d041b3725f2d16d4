//! Hostile inputs to the curvature tools: non-symmetric, non-finite and
//! overflowing matrices for `solve_damped`, bad step rules for
//! `NaturalGradient`, moments whose sums overflow, and matrix sizes no
//! memory can hold.

use gradsign::curvature::natural::{
    Curvature, NaturalGradient, neuron_empirical_fisher, solve_damped,
};
use gradsign::curvature::spectrum::{
    InputCurvature, Spectrum, covariance, feature_mean, second_moment,
};
use gradsign::curvature::{Likelihood, Objective};
use gradsign::nn::Linear;
use gradsign::{Error, Result, Tensor};
use proptest::prelude::*;

fn mat(v: &[f64], n: usize) -> Tensor<f64> {
    Tensor::from_slice(v, &[n, v.len() / n]).unwrap()
}

/// The message after `op: ` of the error `r` returns, which must come from `op`.
fn invalid<T: std::fmt::Debug>(r: Result<T>, op: &str) -> String {
    let e = r.expect_err("an error");
    let text = e.to_string();
    let prefix = format!("{op}: ");
    assert!(
        text.starts_with(&prefix),
        "expected an error from {op}, got {e:?}"
    );
    text[prefix.len()..].to_string()
}

// ---------------------------------------------------------------- solve_damped

#[test]
fn a_non_symmetric_matrix_is_rejected_not_read_by_its_lower_triangle() {
    // The lower triangle is that of [[4, 2], [2, 16]], whose solution for
    // (4, 16) is (4/7, 13/14): the old answer, for a different matrix.
    let m = mat(&[4.0, 0.0, 2.0, 16.0], 2);
    let msg = invalid(
        solve_damped(&m, &[4.0, 16.0], 0.0, "Fisher"),
        "solve_damped",
    );
    assert_eq!(
        msg,
        "the matrix [2, 2] must be symmetric, got entry (1, 0) = 2 but (0, 1) = 0"
    );
    // The same message as the eigen-solver's: one check.
    let e = Spectrum::of(&m).unwrap_err().to_string();
    assert!(e.ends_with(&msg), "{e}");
    // Symmetric within 10⁻¹⁰ relative is symmetric.
    let m = mat(&[4.0, 1.0, 1.0 + 1e-12, 16.0], 2);
    assert!(solve_damped(&m, &[1.0, 1.0], 0.0, "Fisher").is_ok());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// `solve_damped` and `Spectrum::of` accept exactly the same matrices
    /// as symmetric, at every scale and around the threshold.
    #[test]
    fn solve_damped_and_spectrum_agree_on_symmetry(
        a in 0.5f64..2.0, b in -1.0f64..1.0, c in 0.5f64..2.0,
        rel in prop_oneof![Just(0.0), -1e-9f64..1e-9, -1.0f64..1.0],
        e in -300i32..300,
    ) {
        let s = 10f64.powi(e);
        let m = mat(&[(a + 2.0) * s, b * s, (b + rel) * s, (c + 2.0) * s], 2);
        let symmetric = Spectrum::of(&m).is_ok();
        match solve_damped(&m, &[1.0, 1.0], 0.0, "M") {
            Err(e @ Error::OutOfDomain { .. }) => {
                prop_assert!(!symmetric, "{}", e);
                prop_assert!(e.to_string().contains("must be symmetric"), "{}", e);
            }
            // Diagonally dominant: positive definite whenever symmetric.
            other => prop_assert!(symmetric && other.is_ok(), "{:?}", other),
        }
    }
}

#[test]
fn bad_matrices_right_hand_sides_and_damping_are_errors() {
    let eye = mat(&[1.0, 0.0, 0.0, 1.0], 2);
    assert!(matches!(
        solve_damped(&Tensor::zeros(&[0, 0]).unwrap(), &[], 0.0, "M"),
        Err(Error::Empty { .. })
    ));
    assert!(matches!(
        solve_damped(&Tensor::zeros(&[2, 3]).unwrap(), &[1.0, 1.0], 0.0, "M"),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        solve_damped(&Tensor::zeros(&[4]).unwrap(), &[1.0; 4], 0.0, "M"),
        Err(Error::RankMismatch { .. })
    ));
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let m = mat(&[1.0, bad, bad, 1.0], 2);
        assert!(matches!(
            solve_damped(&m, &[1.0, 1.0], 0.0, "M"),
            Err(Error::NonFinite { .. })
        ));
        assert!(matches!(
            solve_damped(&eye, &[1.0, bad], 0.0, "M"),
            Err(Error::NonFinite { .. })
        ));
    }
    for damping in [-1.0, -f64::MIN_POSITIVE, f64::NAN, f64::INFINITY] {
        let msg = invalid(
            solve_damped(&eye, &[1.0, 1.0], damping, "M"),
            "solve_damped",
        );
        assert!(msg.contains("damping"), "{msg}");
    }
    assert_eq!(
        solve_damped(&eye, &[1.0, 2.0], -0.0, "M").unwrap(),
        [1.0, 2.0]
    );
}

#[test]
fn damping_that_overflows_the_diagonal_is_an_error() {
    let m = mat(&[1e308, 0.0, 0.0, 1e308], 2);
    let msg = invalid(solve_damped(&m, &[1.0, 1.0], 1e308, "M"), "solve_damped");
    assert!(msg.contains("overflows f64"), "{msg}");
    assert!(solve_damped(&m, &[1.0, 1.0], 1e307, "M").is_ok());
}

#[test]
fn a_solution_that_overflows_is_an_error() {
    let m = mat(&[1e-300], 1);
    let e = solve_damped(&m, &[1e10], 0.0, "M").unwrap_err();
    assert!(
        matches!(
            e,
            Error::NonFinite {
                op: "solve_damped",
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(solve_damped(&m, &[1e-10], 0.0, "M").unwrap(), [1e290]);
}

// ------------------------------------------------------------- NaturalGradient

fn regression() -> (Tensor<f64>, Tensor<f64>) {
    (
        mat(&[1.0, 0.5, 2.0, 1.5, 3.0, 0.5], 3),
        mat(&[1.0, 2.0, 2.5], 3),
    )
}

/// Linear regression with a bias, at θ = 0: one dense layer.
fn linear() -> Linear<f64> {
    Linear::new(
        Tensor::zeros(&[1, 2]).unwrap(),
        Some(Tensor::zeros(&[1]).unwrap()),
    )
    .unwrap()
}

#[test]
fn natural_gradient_rejects_bad_learning_rates_and_damping() {
    let (x, y) = regression();
    let lik = Likelihood::Gaussian;
    for lr in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -1.0, 0.0, -0.0] {
        let msg = invalid(
            NaturalGradient::new(lr, 0.0, Curvature::GaussNewton),
            "NaturalGradient",
        );
        assert!(msg.contains("learning rate"), "{msg}");
        let ng = NaturalGradient {
            learning_rate: lr,
            damping: 0.0,
            curvature: Curvature::GaussNewton,
        };
        let mut model = linear();
        let msg = invalid(ng.step(&mut model, lik, &x, &y), "NaturalGradient");
        assert!(msg.contains("learning rate"), "{msg}");
        assert_eq!(
            model.weight.as_slice(),
            &[0.0, 0.0],
            "an Err changes nothing"
        );
        // The direction does not use η.
        let objective = Objective::new(&model, lik, &x, &y).unwrap();
        assert!(ng.direction(&objective).is_ok());
    }
    for damping in [f64::NAN, f64::INFINITY, -1.0, -1e-300] {
        let msg = invalid(
            NaturalGradient::new(1.0, damping, Curvature::Fisher),
            "NaturalGradient",
        );
        assert!(msg.contains("damping"), "{msg}");
        for curvature in [
            Curvature::Fisher,
            Curvature::EmpiricalFisher,
            Curvature::GaussNewton,
            Curvature::Hessian,
        ] {
            let ng = NaturalGradient {
                learning_rate: 1.0,
                damping,
                curvature,
            };
            let mut model = linear();
            invalid(ng.step(&mut model, lik, &x, &y), "NaturalGradient");
            let objective = Objective::new(&model, lik, &x, &y).unwrap();
            invalid(ng.direction(&objective), "NaturalGradient");
        }
    }
    let ng = NaturalGradient::new(1.0, 0.0, Curvature::GaussNewton).unwrap();
    let mut model = linear();
    ng.step(&mut model, lik, &x, &y).unwrap();
    let g = Objective::new(&model, lik, &x, &y)
        .unwrap()
        .gradient()
        .unwrap();
    assert!(g.iter().all(|g| g.abs() < 1e-12));
}

#[test]
fn a_step_that_overflows_the_parameters_is_an_error() {
    let (x, y) = regression();
    let y = y.map(|v| v * 1e300);
    let mut model = linear();
    let ng = NaturalGradient::new(1e10, 0.0, Curvature::GaussNewton).unwrap();
    let e = ng
        .step(&mut model, Likelihood::Gaussian, &x, &y)
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::NonFinite {
                op: "NaturalGradient::step",
                ..
            }
        ),
        "{e}"
    );
    // All or nothing: no parameter was written.
    assert_eq!(model.weight.as_slice(), &[0.0, 0.0]);
    assert_eq!(model.bias.as_ref().unwrap().as_slice(), &[0.0]);
}

// --------------------------------------------------------------------- moments

#[test]
fn a_moment_whose_sum_overflows_but_whose_mean_does_not_is_computed() {
    // Σ x² = 1000·1e308 overflowed; the mean 1e308 does not.
    let a = Tensor::<f64>::full(&[1000, 1], 1e154).unwrap();
    let m = second_moment(&a, true).unwrap();
    let s = m.as_slice();
    // 1000 equal terms: the sum rounds up to 1000 times.
    assert!((s[0] / (1e154 * 1e154) - 1.0).abs() < 1e-12, "{:e}", s[0]);
    assert!(
        s[1..3].iter().all(|v| (v / 1e154 - 1.0).abs() < 1e-12),
        "{s:?}"
    );
    assert_eq!(s[3], 1.0);
    assert_eq!(
        feature_mean(&Tensor::full(&[3, 1], f64::MAX).unwrap()).unwrap(),
        [f64::MAX]
    );
    let c = covariance(&mat(&[1e150, -1e150, 1e150, -1e150], 4), false).unwrap();
    assert!((c.as_slice()[0] / 1e300 - 1.0).abs() < 1e-14);
}

#[test]
fn a_moment_beyond_f64_is_an_error_not_infinity() {
    for (a, op) in [
        (mat(&[1e200, 1.0], 2), "second_moment"),
        (mat(&[1e200, -1e200], 2), "covariance"),
        (mat(&[f64::MAX, -f64::MAX], 2), "covariance"),
    ] {
        let r = if op == "covariance" {
            covariance(&a, false)
        } else {
            second_moment(&a, false)
        };
        match r {
            Err(Error::NonFinite { op: o, what }) => {
                assert_eq!(o, op);
                assert!(
                    what.contains("entry (0, 0)") && what.contains("overflows f64"),
                    "{what}"
                );
            }
            other => panic!("{other:?}"),
        }
    }
    // The report on such a batch is an error too, not a spectrum of ∞.
    let big = Tensor::<f32>::full(&[4, 2], f32::MAX).unwrap();
    assert!(InputCurvature::of(&big).is_ok(), "f32::MAX² fits f64");
    let e = InputCurvature::of(&Tensor::<f64>::full(&[4, 2], 1e300).unwrap()).unwrap_err();
    assert!(matches!(e, Error::NonFinite { .. }), "{e}");
}

fn plain_moment(a: &[f64], b: usize, k: usize, centred: bool) -> Vec<f64> {
    let mean: Vec<f64> = (0..k)
        .map(|j| {
            if centred {
                (0..b).map(|n| a[n * k + j]).sum::<f64>() / b as f64
            } else {
                0.0
            }
        })
        .collect();
    let mut m = vec![0.0; k * k];
    for n in 0..b {
        for i in 0..k {
            for j in 0..=i {
                m[i * k + j] += (a[n * k + i] - mean[i]) * (a[n * k + j] - mean[j]);
            }
        }
    }
    for i in 0..k {
        for j in 0..=i {
            m[i * k + j] /= b as f64;
            m[j * k + i] = m[i * k + j];
        }
    }
    m
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// The power-of-two scaling changes no bit for ordinary data.
    #[test]
    fn moments_of_ordinary_data_are_the_plain_sums_bit_for_bit(
        v in prop::collection::vec(-1e3f64..1e3, 6..60),
    ) {
        let (b, k) = (v.len() / 3, 3);
        let a = Tensor::from_slice(&v[..b * k], &[b, k]).unwrap();
        let raw = second_moment(&a, false).unwrap();
        let cov = covariance(&a, false).unwrap();
        let bits = |x: &[f64]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        prop_assert_eq!(bits(raw.as_slice()), bits(&plain_moment(&v[..b * k], b, k, false)));
        prop_assert_eq!(bits(cov.as_slice()), bits(&plain_moment(&v[..b * k], b, k, true)));
    }

    /// At any scale the moment is finite or an error, never ±∞ or NaN.
    #[test]
    fn moments_are_finite_or_an_error_at_any_scale(
        v in prop::collection::vec((-1.0f64..1.0, -200i32..308).prop_map(|(m, e)| m * 10f64.powi(e)), 4..40),
    ) {
        let b = v.len() / 2;
        let a = Tensor::from_slice(&v[..b * 2], &[b, 2]).unwrap();
        for r in [second_moment(&a, true), covariance(&a, true)] {
            match r {
                Ok(m) => prop_assert!(m.all_finite()),
                Err(e) => prop_assert!(matches!(e, Error::NonFinite { .. }), "{}", e),
            }
        }
    }
}

// ------------------------------------------------------------------ allocation

#[test]
fn matrices_no_memory_can_hold_are_errors_not_aborts() {
    // 2²⁰ features: a 2²⁰ × 2²⁰ matrix is 8 TiB.
    let k = 1 << 20;
    let wide = Tensor::<f32>::zeros(&[1, k]).unwrap();
    for r in [second_moment(&wide, false), covariance(&wide, true)] {
        let msg = match r {
            Err(Error::TooLarge { what, .. }) => what,
            other => panic!("{other:?}"),
        };
        assert!(
            msg.contains("1048576×1048576") || msg.contains("1048577×1048577"),
            "{msg}"
        );
    }
    let deltas = Tensor::<f32>::zeros(&[1, 1]).unwrap();
    invalid(
        neuron_empirical_fisher(&wide, &deltas, 0, false),
        "neuron_empirical_fisher",
    );

    // A model of 2²⁰ parameters: its dense curvature matrices cannot exist.
    let x = Tensor::<f64>::zeros(&[1, k]).unwrap();
    let y = Tensor::<f64>::zeros(&[1, 1]).unwrap();
    let model = Linear::new(Tensor::<f64>::zeros(&[1, k]).unwrap(), None).unwrap();
    let o = Objective::new(&model, Likelihood::Gaussian, &x, &y).unwrap();
    invalid(o.hessian(), "Objective::hessian");
    invalid(o.empirical_fisher(), "Objective::empirical_fisher");
    invalid(o.fisher(), "Objective::fisher");
    invalid(o.gauss_newton(), "Objective::gauss_newton");
}
