//! Activations: finite-difference checks (proptest, f64) with points on the
//! kinks, values and gradients over the whole finite range in f32 and f64
//! against an independent reference, identities, Gaussian moments, the
//! metadata, and every error path.

use std::f64::consts::PI;

use gradsign::activation::{Activation, OutputSign};
use gradsign::gradcheck::{GradcheckConfig, GradcheckReport, gradcheck};
use gradsign::{Element, Error, Tape, Tensor};
use proptest::prelude::*;

/// Every variant, plus a second value of each parameter.
fn activations() -> Vec<Activation> {
    let mut all = Activation::ALL.to_vec();
    all.extend([
        Activation::LeakyRelu(0.2),
        Activation::LeakyRelu(0.0),
        Activation::Elu(0.5),
        Activation::Elu(0.0),
        Activation::Softplus(2.0),
    ]);
    all
}

/// Where each activation has a kink (one-sided derivatives differ).
fn kinks(a: Activation) -> &'static [f64] {
    match a {
        Activation::Relu | Activation::LeakyRelu(_) | Activation::Selu => &[0.0],
        Activation::Elu(a) if a != 1.0 => &[0.0],
        Activation::HardTanh => &[-1.0, 1.0],
        Activation::HardSigmoid => &[-3.0, 3.0],
        _ => &[],
    }
}

/// Whether every comparison, including any that gradcheck's heuristic
/// classed as a kink (one-sided differences that differ by `h·f''` where the
/// gradient is small), agrees with the central difference: a smooth
/// function has no kink to excuse.
fn smooth_everywhere(r: &GradcheckReport, cfg: &GradcheckConfig) -> bool {
    r.passed()
        && r.kinks
            .iter()
            .all(|c| c.abs_error() <= cfg.atol + cfg.rtol * c.numeric.abs())
}

/// Composes with distinct upstream weights so the backward seed is not all
/// ones.
fn weighted_sum<'t>(
    tape: &'t Tape<f64>,
    y: gradsign::Var<'t, f64>,
) -> gradsign::Result<gradsign::Var<'t, f64>> {
    let n = y.shape().numel();
    let w = Tensor::from_fn(y.shape().dims(), |i| {
        let k = i.iter().fold(0, |a, &b| a * 7 + b) % n.max(1);
        0.5 + 0.37 * k as f64 * if k.is_multiple_of(2) { 1.0 } else { -1.0 }
    })?;
    Ok((y * tape.constant(&w)).sum())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn every_activation_matches_finite_differences(
        xs in prop::collection::vec(-8.0f64..8.0, 1..6)
    ) {
        for act in activations() {
            // The kink points themselves are always checked, not left to luck.
            let mut at = xs.clone();
            at.extend_from_slice(kinks(act));
            let x = Tensor::from_vec(at.clone(), &[at.len()]).unwrap();
            let report = gradcheck(
                |tape, v| weighted_sum(tape, act.apply(v[0])?),
                &[x],
                &GradcheckConfig::default(),
            )
            .unwrap();
            prop_assert!(report.passed(), "{act} at {at:?}: {report}");
            let on_kinks = report.kinks.len();
            prop_assert!(on_kinks >= kinks(act).len(), "{act}: kinks not recognised: {report}");
        }
    }

    #[test]
    fn softmax_and_log_softmax_match_finite_differences(
        rows in 1usize..4,
        cols in 1usize..5,
        axis in 0usize..2,
        vals in prop::collection::vec(-6.0f64..6.0, 12),
        tie in any::<bool>(),
    ) {
        let mut data: Vec<f64> = vals[..rows * cols].to_vec();
        if tie {
            // Equal maxima in the first row: the max-subtraction must not
            // introduce a kink there.
            for v in &mut data[..cols] {
                *v = 2.5;
            }
        }
        let x = Tensor::from_vec(data, &[rows, cols]).unwrap();
        let cfg = GradcheckConfig::default();
        let r = gradcheck(|t, v| weighted_sum(t, v[0].softmax(axis)?), std::slice::from_ref(&x), &cfg).unwrap();
        prop_assert!(smooth_everywhere(&r, &cfg), "softmax axis {axis}: {r}");
        let r = gradcheck(|t, v| weighted_sum(t, v[0].log_softmax(axis)?), &[x], &cfg).unwrap();
        prop_assert!(smooth_everywhere(&r, &cfg), "log_softmax axis {axis}: {r}");
    }

    #[test]
    fn tanh_equals_twice_the_sigmoid_of_twice_minus_one(x in -40.0f64..40.0) {
        // tanh x = (1 − e⁻²ˣ)/(1 + e⁻²ˣ) = 2/(1 + e⁻²ˣ) − 1 = 2σ(2x) − 1.
        let tape = Tape::<f64>::new();
        let v = tape.var_scalar(x);
        let lhs = v.tanh().item().unwrap();
        let rhs = ((v * 2.0).sigmoid() * 2.0 - 1.0).item().unwrap();
        prop_assert!((lhs - rhs).abs() <= 1e-15, "x = {x}: {lhs} vs {rhs}");
        // And the centred sigmoid is the same curve: 2(σ(2x) − ½).
        let centred = ((v * 2.0).centred_sigmoid() * 2.0).item().unwrap();
        prop_assert!((lhs - centred).abs() <= 1e-15, "x = {x}: {lhs} vs {centred}");
    }

    #[test]
    fn outputs_and_derivatives_lie_in_their_ranges(x in -60.0f64..60.0) {
        for act in activations() {
            // Closed ends: floating point may round onto an open end (σ(40) = 1).
            let (y, d) = (act.value_at(x), act.derivative_at(x));
            let (r, dr) = (act.output_range(), act.derivative_range());
            prop_assert!(r.inf() <= y && y <= r.sup(), "{act}({x}) = {y} outside {r}");
            prop_assert!(dr.inf() <= d && d <= dr.sup(), "{act}'({x}) = {d} outside {dr}");
        }
    }
}

/// One row of tests/data/activation_reference.csv.
struct Reference {
    act: Activation,
    x: f64,
    f: f64,
    df: f64,
    df_from_output: bool,
}

fn reference_table() -> Vec<Reference> {
    let text = include_str!("../data/activation_reference.csv");
    let lines = text.lines().filter(|l| !l.starts_with('#'));
    lines
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            let p: f64 = c[1].parse().unwrap();
            let act = match c[0] {
                "leaky_relu" => Activation::LeakyRelu(p),
                "elu" => Activation::Elu(p),
                "softplus" => Activation::Softplus(p),
                name => *Activation::ALL.iter().find(|a| a.name() == name).unwrap(),
            };
            let num = |i: usize| c[i].parse::<f64>().unwrap();
            Reference {
                act,
                x: num(2),
                f: num(3),
                df: num(4),
                df_from_output: c[5] == "1",
            }
        })
        .collect()
}

/// Values and gradients through the tape in `F`, against the 50-digit
/// reference: `|got − ref| ≤ rtol·|ref| + floor`, where the floor is the
/// subnormal spacing, plus `8ε` for a derivative read from the output (its
/// error is absolute: `σ(30)` rounds near 1 and `1 − σ` keeps few digits).
fn check_reference<F: Element>(rtol: f64, subnormal: f64) {
    let eps = F::epsilon().to_f64();
    let table = reference_table();
    assert_eq!(table.len(), 19 * 13);
    for r in &table {
        let tape = Tape::<F>::new();
        let x = tape.var_scalar(F::from_f64(r.x));
        let y = r.act.apply(x).unwrap();
        let f = y.item().unwrap().to_f64();
        let df = y.backward().unwrap().get(x).unwrap()[0].to_f64();
        let (act, at) = (r.act, r.x);
        assert!(
            f.is_finite() && df.is_finite(),
            "{act}({at}) in {}: {f}, {df}",
            F::NAME
        );
        let tol_f = rtol * r.f.abs() + subnormal;
        assert!(
            (f - r.f).abs() <= tol_f,
            "{act}({at}) in {}: {f} vs {}",
            F::NAME,
            r.f
        );
        let tol_df = rtol * r.df.abs() + subnormal + if r.df_from_output { 8.0 * eps } else { 0.0 };
        assert!(
            (df - r.df).abs() <= tol_df,
            "{act}'({at}) in {}: {df} vs {}",
            F::NAME,
            r.df
        );
    }
}

#[test]
fn values_and_gradients_match_the_reference_over_the_f64_range() {
    check_reference::<f64>(1e-13, 1e-320);
}

#[test]
fn values_and_gradients_match_the_reference_over_the_f32_range() {
    check_reference::<f32>(1e-5, 1e-44);
}

#[test]
fn the_scalar_helpers_run_the_tape_code() {
    for r in reference_table() {
        let tape = Tape::<f64>::new();
        let x = tape.var_scalar(r.x);
        let y = r.act.apply(x).unwrap();
        assert_eq!(r.act.value_at(r.x).to_bits(), y.item().unwrap().to_bits());
        let df = y.backward().unwrap().get(x).unwrap()[0];
        assert_eq!(r.act.derivative_at(r.x), df, "{}'({})", r.act, r.x);
    }
}

#[test]
fn log_softmax_of_huge_logits_is_finite_and_exact_in_both_precisions() {
    fn check<F: Element>() {
        // log_softmax([1e4, 0, −1e4]) = x − 1e4 − ln(1 + e⁻¹⁰⁰⁰⁰ + e⁻²⁰⁰⁰⁰) = [0, −1e4, −2e4].
        let tape = Tape::<F>::new();
        let data: Vec<F> = [1e4, 0.0, -1e4].map(F::from_f64).to_vec();
        let x = tape.var(&Tensor::from_vec(data, &[3]).unwrap());
        let y = x.log_softmax(0).unwrap();
        let got: Vec<f64> = y
            .value()
            .as_slice()
            .iter()
            .map(|&v| Element::to_f64(v))
            .collect();
        assert_eq!(got, [0.0, -1e4, -2e4]);
        // d/dx Σ wᵢ yᵢ = w − softmax·Σw with softmax = [1, 0, 0]:
        // w = [1, 2, 3] gives [1 − 6, 2, 3].
        let w = tape
            .constant(&Tensor::from_vec([1.0, 2.0, 3.0].map(F::from_f64).to_vec(), &[3]).unwrap());
        let g = (y * w).sum().backward().unwrap();
        let got: Vec<f64> = g
            .get(x)
            .unwrap()
            .iter()
            .map(|&v| Element::to_f64(v))
            .collect();
        assert_eq!(got, [-5.0, 2.0, 3.0]);
        let s = x.softmax(0).unwrap().value();
        assert_eq!(s.as_slice(), [1.0, 0.0, 0.0].map(F::from_f64));
    }
    check::<f32>();
    check::<f64>();
}

#[test]
fn softmax_follows_its_convention_at_infinite_logits() {
    let tape = Tape::<f64>::new();
    let (inf, nan) = (f64::INFINITY, f64::NAN);
    let x = tape.var(
        &Tensor::from_vec(
            vec![inf, 0.0, -inf, inf, inf, 0.0, -inf, -inf, -inf],
            &[3, 3],
        )
        .unwrap(),
    );
    // A lone +∞ takes all the mass; two share it; an all −∞ row is uniform.
    let s = x.softmax(1).unwrap().value();
    let third = 1.0 / 3.0;
    assert_eq!(
        s.as_slice(),
        &[1.0, 0.0, 0.0, 0.5, 0.5, 0.0, third, third, third]
    );
    let l = x.log_softmax(1).unwrap().value();
    assert_eq!(&l.as_slice()[..3], &[0.0, -inf, -inf]);
    let y = tape.var(&Tensor::from_vec(vec![1.0, nan], &[2]).unwrap());
    assert!(
        y.softmax(0)
            .unwrap()
            .value()
            .as_slice()
            .iter()
            .all(|v| v.is_nan())
    );
}

#[test]
fn softmax_along_an_inner_axis_normalises_each_lane() {
    // Shape (2, 3, 2), axis 1: lanes of stride 2; each sums to 1.
    let tape = Tape::<f64>::new();
    let x = tape.var(&Tensor::rand_normal(&[2, 3, 2], 0.0, 3.0, 7).unwrap());
    let y = x.softmax(1).unwrap().sum_axis(1, false).unwrap().value();
    assert!(
        y.as_slice().iter().all(|s| (s - 1.0).abs() < 1e-15),
        "{y:?}"
    );
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

#[test]
fn gaussian_moments_reproduce_the_known_values() {
    // Sigmoid: E = ½ by symmetry, Var = 0.0433790 (numerical integration).
    let m = Activation::Sigmoid.gaussian_moments();
    assert!(
        close(m.mean, 0.5, 1e-6) && close(m.variance, 0.0433790, 1e-6),
        "{m:?}"
    );
    // ReLU: E[max(z, 0)] = 1/√(2π) = 0.3989423, Var = ½ − 1/(2π) = 0.3408451.
    let m = Activation::Relu.gaussian_moments();
    assert!(
        close(m.mean, 0.3989423, 1e-6) && close(m.variance, 0.3408451, 1e-6),
        "{m:?}"
    );
    // Tanh: E = 0 (odd), E[tanh²] = 0.3942945.
    let m = Activation::Tanh.gaussian_moments();
    assert!(
        close(m.mean, 0.0, 1e-6) && close(m.second_moment(), 0.3942945, 1e-6),
        "{m:?}"
    );
}

#[test]
fn gaussian_moments_match_closed_forms_to_1e_12() {
    let rt = (2.0 * PI).sqrt();
    // Leaky ReLU α: E = (1 − α)/√(2π), E[f²] = (1 + α²)/2.
    for a in [0.0, 0.01, 0.2] {
        let m = Activation::LeakyRelu(a).gaussian_moments();
        let mean = (1.0 - a) / rt;
        assert!(close(m.mean, mean, 1e-12), "{a}: {m:?}");
        assert!(
            close(m.variance, (1.0 + a * a) / 2.0 - mean * mean, 1e-12),
            "{a}: {m:?}"
        );
    }
    // Identity: N(0, 1) itself.
    let m = Activation::Identity.gaussian_moments();
    assert!(
        close(m.mean, 0.0, 1e-14) && close(m.variance, 1.0, 1e-12),
        "{m:?}"
    );
    // Hard tanh: E[clamp(z, −1, 1)²] = ∫₋₁¹ z²φ + 2P(|z| > 1) = 1 − 2φ(1).
    let m = Activation::HardTanh.gaussian_moments();
    let v = 1.0 - 2.0 * (-0.5f64).exp() / rt;
    assert!(
        close(m.mean, 0.0, 1e-14) && close(m.variance, v, 1e-12),
        "{m:?}"
    );
}

#[test]
fn selu_maps_a_standard_normal_to_mean_zero_and_unit_variance() {
    // λ and α were chosen for exactly this fixed point (Klambauer et al. 2017).
    let m = Activation::Selu.gaussian_moments();
    assert!(
        close(m.mean, 0.0, 1e-9) && close(m.variance, 1.0, 1e-9),
        "{m:?}"
    );
}

#[test]
fn the_centred_sigmoid_has_the_sigmoids_variance_and_mean_zero() {
    let (s, c) = (
        Activation::Sigmoid.gaussian_moments(),
        Activation::CentredSigmoid.gaussian_moments(),
    );
    assert!(
        close(c.mean, 0.0, 1e-14) && close(c.variance, s.variance, 1e-14),
        "{s:?} {c:?}"
    );
}

/// The minimum of `g` on `[a, b]` by golden-section search (`g` unimodal there).
fn golden_min(g: impl Fn(f64) -> f64, mut a: f64, mut b: f64) -> f64 {
    let r = (5f64.sqrt() - 1.0) / 2.0;
    for _ in 0..200 {
        let (c, d) = (b - r * (b - a), a + r * (b - a));
        if g(c) < g(d) { b = d } else { a = c }
    }
    g(0.5 * (a + b))
}

#[test]
fn the_minima_of_the_self_gated_activations_are_their_range_ends() {
    for act in [
        Activation::Gelu,
        Activation::GeluTanh,
        Activation::Silu,
        Activation::Mish,
    ] {
        let min = golden_min(|x| act.value_at(x), -3.0, 0.0);
        let r = act.output_range();
        assert!(close(min, r.inf(), 1e-13), "{act}: {min} vs {r}");
        assert!(matches!(r.lower, std::ops::Bound::Included(_)));
    }
}

#[test]
fn the_derivative_extremes_of_the_self_gated_activations_are_attained() {
    for act in [
        Activation::Gelu,
        Activation::GeluTanh,
        Activation::Silu,
        Activation::Mish,
    ] {
        let dr = act.derivative_range();
        let lo = golden_min(|x| act.derivative_at(x), -4.0, 0.0);
        let hi = -golden_min(|x| -act.derivative_at(x), 0.0, 4.0);
        assert!(
            close(lo, dr.inf(), 1e-13) && close(hi, dr.sup(), 1e-13),
            "{act}: [{lo}, {hi}] vs {dr}"
        );
    }
}

#[test]
fn bounded_ends_of_the_output_range_are_the_limits_at_infinity() {
    for act in activations() {
        let r = act.output_range();
        for (x, end) in [(-1e15, r.inf()), (1e15, r.sup())] {
            if end.is_finite()
                && !matches!(
                    act,
                    Activation::Gelu | Activation::GeluTanh | Activation::Silu | Activation::Mish
                )
            {
                assert!(close(act.value_at(x), end, 1e-12), "{act}({x}) vs {r}");
            }
        }
    }
}

#[test]
fn output_sign_is_the_precondition_the_values_obey() {
    for act in activations() {
        let ys: Vec<f64> = (-300..=300).map(|i| act.value_at(i as f64 * 0.1)).collect();
        match act.output_sign() {
            OutputSign::StrictlyPositive => assert!(ys.iter().all(|&y| y > 0.0), "{act}"),
            OutputSign::NonNegative => {
                assert!(ys.iter().all(|&y| y >= 0.0) && ys.contains(&0.0), "{act}")
            }
            OutputSign::Any => assert!(ys.iter().any(|&y| y < 0.0), "{act}"),
        }
    }
    let one_signed: Vec<String> = activations()
        .into_iter()
        .filter(|a| a.output_sign().is_one_signed())
        .map(|a| a.to_string())
        .collect();
    let expect = [
        "sigmoid",
        "relu",
        "softplus(β = 1)",
        "hard_sigmoid",
        "leaky_relu(α = 0)",
        "elu(α = 0)",
        "softplus(β = 2)",
    ];
    assert_eq!(one_signed, expect);
}

#[test]
fn zero_centred_means_odd_with_f_of_zero_zero() {
    let xs = [0.3, 1.0, 2.5, 7.0];
    for act in activations() {
        let odd = act.value_at(0.0) == 0.0
            && xs
                .iter()
                .all(|&x| close(act.value_at(-x), -act.value_at(x), 1e-15));
        assert_eq!(act.is_zero_centred(), odd, "{act}");
    }
    assert!(Activation::LeakyRelu(1.0).is_zero_centred());
}

#[test]
fn apply_records_an_op_named_after_the_activation() {
    let tape = Tape::<f64>::new();
    let x = tape.var_scalar(0.5);
    for act in activations() {
        let y = act.apply(x).unwrap();
        let expect = if act == Activation::Identity {
            "var"
        } else {
            act.name()
        };
        assert_eq!(y.op(), expect);
    }
}

#[test]
fn names_are_distinct_and_display_carries_the_parameter() {
    let mut names: Vec<&str> = Activation::ALL.iter().map(|a| a.name()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), Activation::ALL.len());
    assert_eq!(Activation::Elu(0.5).to_string(), "elu(α = 0.5)");
    assert_eq!(Activation::Softplus(2.0).to_string(), "softplus(β = 2)");
    assert_eq!(Activation::GeluTanh.to_string(), "gelu_tanh");
}

#[cfg(feature = "serde")]
#[test]
fn activations_and_their_metadata_round_trip_through_json() {
    for act in activations() {
        let json = serde_json::to_string(&act).unwrap();
        assert_eq!(serde_json::from_str::<Activation>(&json).unwrap(), act);
        let r = act.output_range();
        let back: gradsign::activation::Interval =
            serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
    }
}

#[test]
fn invalid_parameters_are_errors_naming_the_activation_and_value() {
    let tape = Tape::<f64>::new();
    let x = tape.var_scalar(1.0);
    let msg = |r: gradsign::Result<gradsign::Var<'_, f64>>| r.unwrap_err().to_string();
    assert_eq!(
        msg(x.leaky_relu(-0.1)),
        "leaky_relu: α must be finite and ≥ 0, got -0.1"
    );
    assert_eq!(
        msg(x.elu(f64::NAN)),
        "elu: α must be finite and ≥ 0, got NaN"
    );
    assert_eq!(
        msg(x.softplus(0.0)),
        "softplus: β must be finite and > 0, got 0"
    );
    assert_eq!(
        msg(x.softplus(f64::INFINITY)),
        "softplus: β must be finite and > 0, got inf"
    );
    assert_eq!(
        msg(Activation::Softplus(-2.0).apply(x)),
        "softplus: β must be finite and > 0, got -2"
    );
    assert_eq!(
        msg(Activation::Elu(-1.0).apply(x)),
        "elu: α must be finite and ≥ 0, got -1"
    );
    assert!(matches!(
        Activation::LeakyRelu(-1.0).validate::<f64>(),
        Err(Error::OutOfDomain {
            op: "leaky_relu",
            ..
        })
    ));
}

#[test]
fn softmax_axes_out_of_range_are_errors_naming_the_shape() {
    let tape = Tape::<f64>::new();
    let x = tape.var(&Tensor::zeros(&[2, 3]).unwrap());
    let e = x.softmax(2).unwrap_err();
    assert_eq!(
        e.to_string(),
        "softmax: axis 2 is out of range for shape [2, 3] (rank 2)"
    );
    let e = x.log_softmax(5).unwrap_err();
    assert_eq!(
        e.to_string(),
        "log_softmax: axis 5 is out of range for shape [2, 3] (rank 2)"
    );
}

#[test]
fn the_try_twins_report_non_finite_outputs_in_checked_mode() {
    let mut tape = Tape::<f64>::new();
    tape.set_checked(true);
    let x = tape.var_scalar(f64::NAN);
    let e = x.try_gelu().unwrap_err();
    assert!(
        e.to_string()
            .starts_with("gelu: non-finite value NaN at element 0"),
        "{e}"
    );
    assert!(matches!(
        x.try_sigmoid(),
        Err(Error::NonFinite { op: "sigmoid", .. })
    ));
}
