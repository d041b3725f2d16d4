//! The diagnosis never contradicts its own numbers: each sentence that
//! used to be printed regardless is checked against a case where its
//! premise is false, and the printed text is read against the numbers.

use gradsign::analysis::{
    Caveat, CurvatureEvidence, Diagnosis, GradientSignAnalyzer, InputSource, OptimizerKind,
    format_number,
};
use gradsign::{Element, Tensor};

fn analyzer() -> GradientSignAnalyzer {
    GradientSignAnalyzer::default().with_curvature(true)
}

/// Inputs `c·(1, 1) + ε₁u·(1, 1)/√2 + ε₂v·(1, −1)/√2`: Cov has its small
/// eigenvalue ε₁² along μ, so adding μμᵀ lifts the bottom of the spectrum
/// and κ(E[aaᵀ]) < κ(Cov) although λmax(E) ≫ λmax(Cov).
fn mean_along_the_thin_direction<F: Element>() -> Tensor<F> {
    let u = Tensor::<f64>::rand_normal(&[400, 2], 0.0, 1.0, 1).unwrap();
    let s = std::f64::consts::FRAC_1_SQRT_2;
    let data: Vec<F> = u
        .as_slice()
        .chunks_exact(2)
        .flat_map(|r| {
            let (a, b) = (0.01 * r[0] * s, r[1] * s);
            [F::from_f64(3.0 + a + b), F::from_f64(3.0 + a - b)]
        })
        .collect();
    Tensor::from_vec(data, &[400, 2]).unwrap()
}

fn thin_direction_case<F: Element>() {
    let a = mean_along_the_thin_direction::<F>();
    let d = Tensor::<F>::rand_normal(&[400, 3], F::zero(), F::one(), 2).unwrap();
    let mut r = analyzer().analyze_layer(&a, &d).unwrap();
    r.input_source = InputSource::Data;
    let e = CurvatureEvidence::of(r.curvature.as_ref().unwrap());
    assert!(e.mean_dominates(), "{e:?}");
    assert!(e.kappa_second_moment < e.kappa_covariance, "{e:?}");
    assert!(!e.centring_improves_conditioning());
    let text = Diagnosis::from_layers(std::slice::from_ref(&r)).to_string();
    assert!(!text.contains("adds one large eigenvalue"), "{text}");
    assert!(
        text.contains("centring does not improve conditioning here"),
        "{text}"
    );
    let kappas = format!(
        "κ(E[aaᵀ]) = {} vs κ(Cov) = {}",
        format_number(e.kappa_second_moment),
        format_number(e.kappa_covariance)
    );
    assert!(text.contains(&kappas), "missing {kappas:?} in\n{text}");
    // With the bias column the comparison reverses here, and the text says so.
    assert!(
        e.kappa_second_moment_with_bias > e.kappa_covariance_with_bias,
        "{e:?}"
    );
    assert!(
        text.contains("(with the bias, centring does improve conditioning)"),
        "{text}"
    );
}

#[test]
fn no_mean_eigenvalue_claim_when_the_raw_matrix_is_better_conditioned_f64() {
    thin_direction_case::<f64>();
}

#[test]
fn no_mean_eigenvalue_claim_when_the_raw_matrix_is_better_conditioned_f32() {
    thin_direction_case::<f32>();
}

#[test]
fn the_mean_eigenvalue_is_claimed_when_the_numbers_show_it() {
    let a = Tensor::<f64>::rand_uniform(&[500, 5], 0.0, 1.0, 3).unwrap();
    let d = Tensor::<f64>::rand_normal(&[500, 2], 0.0, 1.0, 4).unwrap();
    let r = analyzer().analyze_layer(&a, &d).unwrap();
    let e = CurvatureEvidence::of(r.curvature.as_ref().unwrap());
    assert!(
        e.mean_dominates() && e.centring_improves_conditioning(),
        "{e:?}"
    );
    let text = Diagnosis::from_layers(&[r]).to_string();
    assert!(text.contains("adds one large eigenvalue along μ"), "{text}");
    assert!(!text.contains("does not improve"), "{text}");
}

#[test]
fn batch_mixing_is_said_only_when_summing_mixed_something() {
    // One example: the batch row is the example's row; 100% vs 100%.
    let a = Tensor::<f64>::rand_uniform(&[1, 4], 0.1, 1.0, 5).unwrap();
    let d = Tensor::<f64>::rand_normal(&[1, 6], 0.0, 1.0, 6).unwrap();
    let r = GradientSignAnalyzer::default()
        .analyze_layer(&a, &d)
        .unwrap();
    assert_eq!((r.per_example_coherence(), r.batch_coherence()), (1.0, 1.0));
    let diag = Diagnosis::from_layers(std::slice::from_ref(&r));
    assert!(
        !diag
            .caveats
            .iter()
            .any(|c| matches!(c, Caveat::BatchMixing { .. })),
        "{diag}"
    );
    assert!(!diag.to_string().contains("mixes signs"), "{diag}");
    // Many examples with δ of both signs: the batch rows mix.
    let a = Tensor::<f64>::rand_uniform(&[200, 4], 0.1, 1.0, 7).unwrap();
    let d = Tensor::<f64>::rand_normal(&[200, 16], 0.0, 1.0, 8).unwrap();
    let r = GradientSignAnalyzer::default()
        .analyze_layer(&a, &d)
        .unwrap();
    assert!(r.batch_coherence() < r.per_example_coherence());
    let text = Diagnosis::from_layers(std::slice::from_ref(&r)).to_string();
    let line = format!(
        "Summing over the batch mixes signs: {:.1}% of batch rows are one-signed against {:.1}%",
        100.0 * r.batch_coherence(),
        100.0 * r.per_example_coherence()
    );
    assert!(text.contains(&line), "missing {line:?} in\n{text}");
}

fn constant_columns_case<F: Element>() {
    // Column 1 is always 0 (a dead pixel), column 3 always 2.5.
    let base = Tensor::<f64>::rand_uniform(&[300, 5], 0.0, 1.0, 9).unwrap();
    let data: Vec<F> = base
        .as_slice()
        .chunks_exact(5)
        .flat_map(|r| [r[0], 0.0, r[2], 2.5, r[4]].map(F::from_f64))
        .collect();
    let a = Tensor::from_vec(data, &[300, 5]).unwrap();
    let d = Tensor::<F>::rand_normal(&[300, 2], F::zero(), F::one(), 10).unwrap();
    let r = analyzer().analyze_layer(&a, &d).unwrap();
    let full = CurvatureEvidence::of(r.curvature.as_ref().unwrap());
    // Singular: ∞, or (rounding leaves a tiny positive λmin) astronomically large.
    assert!(
        full.kappa_covariance > 1e12 && full.kappa_second_moment > 1e12,
        "{full:?}"
    );
    let c = r.constant_inputs.as_ref().unwrap();
    assert_eq!(c.columns, [1, 3]);
    assert_eq!(c.values, [0.0, 2.5]);
    let sub = CurvatureEvidence::of(c.curvature.as_ref().unwrap());
    assert_eq!(sub.features, 3);
    assert!(sub.kappa_covariance.is_finite() && sub.kappa_second_moment.is_finite());
    let text = Diagnosis::from_layers(std::slice::from_ref(&r)).to_string();
    assert!(
        text.contains("inputs 1, 3 (2 of 5) are constant over the batch"),
        "{text}"
    );
    let kappas = format!("on the other 3 inputs: {}", sub);
    assert!(text.contains(&kappas), "missing {kappas:?} in\n{text}");
    assert!(!text.contains("κ(E[aaᵀ]) = ∞ vs κ(Cov) = ∞"), "{text}");
    assert!(
        r.to_string()
            .contains("constant inputs (equal on every example): 2 of 5: 1, 3")
    );
}

#[test]
fn constant_columns_are_named_and_the_rest_measured_f64() {
    constant_columns_case::<f64>();
}

#[test]
fn constant_columns_are_named_and_the_rest_measured_f32() {
    constant_columns_case::<f32>();
}

#[test]
fn all_constant_inputs_leave_no_conditioning_to_report() {
    let a = Tensor::<f64>::full(&[10, 3], 0.5).unwrap();
    let d = Tensor::<f64>::rand_normal(&[10, 2], 0.0, 1.0, 11).unwrap();
    let r = analyzer().analyze_layer(&a, &d).unwrap();
    let c = r.constant_inputs.as_ref().unwrap();
    assert_eq!(
        (c.columns.as_slice(), c.curvature.is_none()),
        (&[0, 1, 2][..], true)
    );
    let text = Diagnosis::from_layers(&[r]).to_string();
    assert!(
        text.contains("inputs 0, 1, 2 (3 of 3) are constant"),
        "{text}"
    );
    assert!(text.contains("no input varies"), "{text}");
}

#[test]
fn the_optimiser_caveat_follows_what_the_analyzer_was_told() {
    let a = Tensor::<f64>::rand_uniform(&[50, 3], 0.0, 1.0, 12).unwrap();
    let d = Tensor::<f64>::rand_normal(&[50, 4], 0.0, 1.0, 13).unwrap();
    let text = |o| {
        let r = GradientSignAnalyzer::default()
            .analyze_layer(&a, &d)
            .unwrap();
        let diag = Diagnosis::for_optimizer(&[r], o);
        (diag.to_string(), diag.caveats)
    };
    let (sgd, caveats) = text(OptimizerKind::PlainSgd);
    assert!(!sgd.contains("Adam"), "{sgd}");
    assert!(
        !caveats
            .iter()
            .any(|c| matches!(c, Caveat::OptimiserState | Caveat::OptimiserUnknown))
    );
    let (stateful, caveats) = text(OptimizerKind::WithState);
    assert!(
        stateful.contains("the optimiser here carries state"),
        "{stateful}"
    );
    assert!(caveats.contains(&Caveat::OptimiserState));
    let (unknown, caveats) = text(OptimizerKind::Unknown);
    assert!(unknown.contains("the optimiser was not given"), "{unknown}");
    assert!(caveats.contains(&Caveat::OptimiserUnknown));
    // From a trace, the analyzer's setting reaches the diagnosis.
    use gradsign::activation::Activation;
    use gradsign::nn::{Init, Mlp};
    let mlp = Mlp::builder(&[3, 2, 1])
        .hidden(Activation::Sigmoid)
        .output(Activation::Identity)
        .init(Init::LecunNormal)
        .seed(1)
        .build::<f64>()
        .unwrap();
    let tape = gradsign::Tape::new();
    let (y, trace) = gradsign::nn::forward(&mlp, &tape, tape.constant(&a)).unwrap();
    let grads = (y - 0.5).square().sum().backward().unwrap();
    let report = GradientSignAnalyzer::default()
        .with_optimizer(OptimizerKind::PlainSgd)
        .analyze(&trace, &grads)
        .unwrap();
    assert!(!report.to_string().contains("Adam"), "{report}");
}

#[test]
fn the_delta_caveat_says_what_it_means_and_only_when_both_signs_occur() {
    let a = Tensor::<f64>::rand_uniform(&[50, 3], 0.0, 1.0, 14).unwrap();
    let d = Tensor::<f64>::rand_normal(&[50, 4], 0.0, 1.0, 15).unwrap();
    let r = GradientSignAnalyzer::default()
        .analyze_layer(&a, &d)
        .unwrap();
    let text = Diagnosis::from_layers(&[r]).to_string();
    assert!(text.contains("σ′ > 0 does not make δ positive"), "{text}");
    assert!(
        text.contains("its sign comes from the weights and the error"),
        "{text}"
    );
    assert!(!text.contains("it is not positive because"), "{text}");
    // All δ positive: "δ takes both signs" would contradict the numbers.
    let d = Tensor::<f64>::rand_uniform(&[50, 4], 0.1, 1.0, 16).unwrap();
    let r = GradientSignAnalyzer::default()
        .analyze_layer(&a, &d)
        .unwrap();
    assert_eq!(r.delta.positive_share(), 1.0);
    let text = Diagnosis::from_layers(&[r]).to_string();
    assert!(!text.contains("δ takes both signs"), "{text}");
}

#[test]
fn one_number_format_throughout() {
    // Condition numbers of 1.6e4 and 6e5 used to read "16842.4832" beside
    // "6.040e5".
    let a = mean_along_the_thin_direction::<f64>();
    let d = Tensor::<f64>::rand_normal(&[400, 3], 0.0, 1.0, 17).unwrap();
    let r = analyzer().analyze_layer(&a, &d).unwrap();
    let text = format!("{r}\n{}", Diagnosis::from_layers(std::slice::from_ref(&r)));
    // No decimal with more than four significant digits anywhere.
    for word in text.split(|c: char| !(c.is_ascii_digit() || c == '.' || c == 'e' || c == '-')) {
        let mantissa = word.split('e').next().unwrap();
        let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
        let significant = digits.trim_start_matches('0');
        if mantissa.contains('.') {
            assert!(significant.len() <= 4, "{word:?} in\n{text}");
        }
    }
    let c = r.curvature.as_ref().unwrap();
    assert!(
        text.contains(&format_number(c.centred.condition_number)),
        "{text}"
    );
}

#[test]
fn the_fix_names_the_crates_own_tools() {
    let a = Tensor::<f64>::rand_uniform(&[40, 3], 0.0, 1.0, 18).unwrap();
    let d = Tensor::<f64>::rand_normal(&[40, 2], 0.0, 1.0, 19).unwrap();
    let mut r = GradientSignAnalyzer::default()
        .analyze_layer(&a, &d)
        .unwrap();
    r.input_source = InputSource::Data;
    let text = Diagnosis::from_layers(&[r]).to_string();
    assert!(text.contains("gradsign::data::Centering"), "{text}");
    assert!(text.contains("gradsign::data::Standardizer"), "{text}");
    // And they do what the fix says: centred data is no longer one-signed.
    let centred = gradsign::data::Centering::fit(&a)
        .unwrap()
        .transform(&a)
        .unwrap();
    let r = GradientSignAnalyzer::default()
        .analyze_layer(&centred, &d)
        .unwrap();
    assert!(
        !gradsign::analysis::LayerDiagnosis::from_report(&r)
            .verdict
            .is_restricted()
    );
}
