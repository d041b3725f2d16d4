//! The opt-in curvature section of the analyzer's report: equal to
//! `curvature::spectrum` on the same batch, shown and explained with the
//! measured numbers, and absent by default.

use gradsign::activation::Activation;
use gradsign::analysis::{CurvatureEvidence, GradientSignAnalyzer, NetworkReport};
use gradsign::curvature::spectrum::InputCurvature;
use gradsign::loss::{self, Reduction};
use gradsign::nn::{Init, Mlp};
use gradsign::{Tape, Tensor};

/// A 5-4-3 sigmoid network on 40 examples of `x`: the report, and each
/// layer's input batch.
fn traced_report(
    x: &Tensor<f64>,
    analyzer: &GradientSignAnalyzer,
) -> (NetworkReport, Vec<Tensor<f64>>) {
    let mlp = Mlp::builder(&[5, 4, 3])
        .hidden(Activation::Sigmoid)
        .output(Activation::Identity)
        .init(Init::LecunNormal)
        .seed(3)
        .build::<f64>()
        .unwrap();
    let tape = Tape::new();
    let (out, trace) = gradsign::nn::forward(&mlp, &tape, tape.constant(x)).unwrap();
    let labels: Vec<usize> = (0..x.dims()[0]).map(|i| i % 3).collect();
    let grads = loss::softmax_cross_entropy(out, &labels, Reduction::Mean)
        .unwrap()
        .backward()
        .unwrap();
    let inputs = trace.layers().iter().map(|l| l.input.value()).collect();
    (analyzer.analyze(&trace, &grads).unwrap(), inputs)
}

fn positive_batch() -> Tensor<f64> {
    Tensor::rand_uniform(&[40, 5], 0.0, 1.0, 1).unwrap()
}

#[test]
fn the_default_report_has_no_curvature_section() {
    let (report, _) = traced_report(&positive_batch(), &GradientSignAnalyzer::default());
    assert!(report.layers.iter().all(|l| l.curvature.is_none()));
    assert!(
        report
            .diagnosis
            .layers
            .iter()
            .all(|d| d.evidence.curvature.is_none())
    );
    let shown = report.to_string();
    for absent in ["κ", "curvature", "Curvature", "λmax"] {
        assert!(!shown.contains(absent), "{absent:?} in\n{shown}");
    }
}

#[test]
fn curvature_in_the_report_equals_the_spectrum_of_the_same_batch() {
    let analyzer = GradientSignAnalyzer::default().with_curvature(true);
    let (report, inputs) = traced_report(&positive_batch(), &analyzer);
    for (layer, a) in report.layers.iter().zip(&inputs) {
        let want = InputCurvature::of(a).unwrap();
        assert_eq!(layer.curvature.as_ref(), Some(&want));
    }
    // From raw matrices too.
    let a = positive_batch();
    let d = Tensor::rand_normal(&[40, 2], 0.0, 1.0, 2).unwrap();
    let r = analyzer.analyze_layer(&a, &d).unwrap();
    assert_eq!(r.curvature, Some(InputCurvature::of(&a).unwrap()));
}

#[test]
fn the_diagnosis_quotes_the_measured_condition_numbers() {
    let analyzer = GradientSignAnalyzer::default().with_curvature(true);
    let (report, _) = traced_report(&positive_batch(), &analyzer);
    let c = report.layers[0].curvature.as_ref().unwrap();
    let e = CurvatureEvidence::of(c);
    assert_eq!(report.diagnosis.layers[0].evidence.curvature, Some(e));
    // U(0,1) inputs: E[aaᵀ] ≈ I/12 + 11ᵀ/4 has λmax ≈ (3·5 + 1)/12 along
    // 1/√5 ∥ μ, Cov ≈ I/12: the mean dominates.
    assert!(e.mean_dominates(), "{e:?}");
    let text = report.diagnosis.to_string();
    // κ(E[aaᵀ]) > κ(Cov) here too, so the sentence claims the mean's eigenvalue.
    assert!(e.centring_improves_conditioning(), "{e:?}");
    let sentence = format!(
        "a non-zero input mean adds one large eigenvalue along μ: κ(E[aaᵀ]) = {} vs κ(Cov) = {}",
        gradsign::analysis::format_number(c.raw.condition_number),
        gradsign::analysis::format_number(c.centred.condition_number)
    );
    assert!(text.contains(&sentence), "missing {sentence:?} in\n{text}");
    let shown = report.to_string();
    assert!(shown.contains("κ(Cov) + bias"), "{shown}");
    assert!(
        report.layers[0]
            .to_string()
            .contains("input curvature: 40 examples × 5 features")
    );
}

#[test]
fn centred_inputs_are_diagnosed_as_a_small_mean() {
    let a = positive_batch().map(|v: f64| v - 0.5);
    let d = Tensor::rand_normal(&[40, 2], 0.0, 1.0, 4).unwrap();
    let r = GradientSignAnalyzer::default()
        .with_curvature(true)
        .analyze_layer(&a, &d)
        .unwrap();
    let e = CurvatureEvidence::of(r.curvature.as_ref().unwrap());
    assert!(!e.mean_dominates(), "{e:?}");
    assert!(
        e.to_string()
            .starts_with("the input mean is small against the spread")
    );
}

#[test]
fn a_batch_narrower_than_its_inputs_is_said_to_be_singular() {
    // 4 examples of 6 inputs: E[aaᵀ] has rank ≤ 4 < 6.
    let a = Tensor::rand_uniform(&[4, 6], 0.0, 1.0, 5).unwrap();
    let d = Tensor::rand_normal(&[4, 2], 0.0, 1.0, 6).unwrap();
    let r = GradientSignAnalyzer::default()
        .with_curvature(true)
        .analyze_layer(&a, &d)
        .unwrap();
    let text = CurvatureEvidence::of(r.curvature.as_ref().unwrap()).to_string();
    assert!(
        text.contains("with 4 examples for 6 inputs both matrices are singular"),
        "{text}"
    );
}

#[test]
fn non_finite_inputs_leave_the_curvature_out() {
    let mut a = positive_batch();
    a.as_mut_slice()[7] = f64::NAN;
    let d = Tensor::rand_normal(&[40, 2], 0.0, 1.0, 7).unwrap();
    let r = GradientSignAnalyzer::default()
        .with_curvature(true)
        .analyze_layer(&a, &d)
        .unwrap();
    assert_eq!(r.curvature, None);
    assert_eq!(r.inputs.non_finite, 1);
}
