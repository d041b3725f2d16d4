//! The analyzer knows what reached each dense layer: the report names the
//! normalisation on the way (and whether it comes before or after the
//! activation), and the diagnosis recommends BatchNorm *after* the
//! activation below a coherent layer, never a fix the model already has.

use gradsign::activation::Activation;
use gradsign::analysis::{Cause, Fix, GradientSignAnalyzer, InputStep, NetworkReport, Verdict};
use gradsign::nn::{
    self, BatchNorm, Init, LayerNorm, Linear, MeanOnlyBatchNorm, Sequential, WeightNormLinear,
};
use gradsign::{Tape, Tensor};

fn lin(i: usize, o: usize, seed: u64) -> Linear<f64> {
    Linear::init(i, o, Init::LecunNormal, true, seed).unwrap()
}

fn analyse(net: &Sequential<f64>, fan_in: usize, analyzer: GradientSignAnalyzer) -> NetworkReport {
    let tape = Tape::new();
    let x = tape.constant(&Tensor::rand_uniform(&[16, fan_in], 0.0, 1.0, 2).unwrap());
    let (y, trace) = nn::forward(net, &tape, x).unwrap();
    let grads = (y - 0.5).square().sum().backward().unwrap();
    analyzer.analyze(&trace, &grads).unwrap()
}

#[test]
fn a_sigmoid_below_gets_batch_norm_after_the_sigmoid_recommended() {
    let net = Sequential::new()
        .push(lin(3, 4, 1))
        .push(Activation::Sigmoid)
        .push(lin(4, 2, 2));
    let r = analyse(&net, 3, GradientSignAnalyzer::default());
    assert_eq!(
        r.layers[1].input_path.steps,
        [InputStep::Activation(Activation::Sigmoid)]
    );
    assert_eq!(r.layers[1].input_path.describe(), None);
    let d = &r.diagnosis.layers[1];
    assert_eq!(d.verdict, Verdict::AllPositive);
    assert_eq!(
        d.fixes,
        [
            Fix::CentredActivation,
            Fix::NormaliseAfter(Activation::Sigmoid)
        ]
    );
    let text = r.diagnosis.to_string();
    assert!(
        text.contains("LayerNorm after the sigmoid, not before it"),
        "{text}"
    );
}

#[test]
fn batch_norm_before_the_sigmoid_is_named_and_the_placement_after_it_recommended() {
    let net = Sequential::new()
        .push(lin(3, 4, 1))
        .push(BatchNorm::new(4).unwrap())
        .push(Activation::Sigmoid)
        .push(lin(4, 2, 2));
    let r = analyse(&net, 3, GradientSignAnalyzer::default());
    let l1 = &r.layers[1];
    assert_eq!(
        l1.input_path.steps,
        [
            InputStep::Layer("batch_norm"),
            InputStep::Activation(Activation::Sigmoid)
        ]
    );
    assert_eq!(
        l1.input_path.describe().as_deref(),
        Some("batch_norm before sigmoid")
    );
    assert!(!l1.input_path.centred());
    assert!(
        l1.to_string().contains("via batch_norm before sigmoid"),
        "{l1}"
    );
    let d = &r.diagnosis.layers[1];
    // Sigmoid outputs are positive whatever the normalisation before them.
    assert_eq!(d.verdict, Verdict::AllPositive);
    assert_eq!(d.cause, Some(Cause::ActivationBelow(Activation::Sigmoid)));
    assert!(d.fixes.contains(&Fix::NormaliseAfter(Activation::Sigmoid)));
    assert!(!d.inputs_centred_by_normalisation);
    let text = d.to_string();
    assert!(
        text.contains("Inputs: batch_norm before sigmoid, which centres the pre-activation below"),
        "{text}"
    );
    // The first layer's inputs came from the data without normalisation.
    assert!(r.layers[0].input_path.steps.is_empty());
}

#[test]
fn batch_norm_after_the_sigmoid_centres_the_inputs_and_is_not_recommended_again() {
    // Fan-in 1 without the bias: every per-example row has one entry and is
    // one-signed, so the layer stays "mostly coherent" even with centred
    // inputs, and the diagnosis must not prescribe what the model has.
    let net = Sequential::new()
        .push(lin(3, 1, 1))
        .push(Activation::Sigmoid)
        .push(BatchNorm::new(1).unwrap())
        .push(lin(1, 2, 2));
    let r = analyse(&net, 3, GradientSignAnalyzer::default().without_bias());
    let l1 = &r.layers[1];
    assert_eq!(
        l1.input_path.describe().as_deref(),
        Some("batch_norm after sigmoid")
    );
    assert!(l1.input_path.centred());
    let d = &r.diagnosis.layers[1];
    assert!(d.verdict.is_restricted(), "{d}");
    assert!(d.inputs_centred_by_normalisation);
    assert!(
        !d.fixes.iter().any(|f| matches!(
            f,
            Fix::Normalisation | Fix::NormaliseAfter(_) | Fix::CentreData
        )),
        "{:?}",
        d.fixes
    );
    assert!(
        d.to_string()
            .contains("Inputs: normalised by batch_norm after sigmoid, which centres them.")
    );
}

#[test]
fn normalised_data_gets_neither_centring_nor_normalisation_recommended() {
    let net = Sequential::new()
        .push(BatchNorm::new(1).unwrap())
        .push(lin(1, 2, 2));
    let r = analyse(&net, 1, GradientSignAnalyzer::default().without_bias());
    assert_eq!(
        r.layers[0].input_path.describe().as_deref(),
        Some("batch_norm")
    );
    let d = &r.diagnosis.layers[0];
    assert!(d.verdict.is_restricted());
    assert_eq!(d.cause, Some(Cause::NonCentredData));
    assert!(d.fixes.is_empty(), "{:?}", d.fixes);
    // Raw data: both fixes.
    let raw = Sequential::new().push(lin(3, 2, 2));
    let r = analyse(&raw, 3, GradientSignAnalyzer::default());
    assert_eq!(
        r.diagnosis.layers[0].fixes,
        [Fix::CentreData, Fix::Normalisation]
    );
}

#[test]
fn a_zero_centred_activation_below_is_not_recommended_again() {
    // Positive data pushed through a tanh with a large positive bias: tanh
    // outputs one-signed; the fix is not "use tanh".
    let mut first = lin(3, 4, 1);
    first.bias = Some(Tensor::full(&[4], 5.0).unwrap());
    let net = Sequential::new()
        .push(first)
        .push(Activation::Tanh)
        .push(lin(4, 2, 2));
    let r = analyse(&net, 3, GradientSignAnalyzer::default());
    let d = &r.diagnosis.layers[1];
    assert!(d.verdict.is_restricted());
    assert_eq!(d.fixes, [Fix::NormaliseAfter(Activation::Tanh)]);
}

#[test]
fn layer_norm_mean_only_and_weight_norm_layers_are_traced() {
    let net = Sequential::new()
        .push(WeightNormLinear::init(3, 4, Init::LecunNormal, true, 1).unwrap())
        .push(MeanOnlyBatchNorm::new(4).unwrap())
        .push(Activation::Sigmoid)
        .push(LayerNorm::new(&[4]).unwrap())
        .push(lin(4, 2, 2));
    let r = analyse(&net, 3, GradientSignAnalyzer::default());
    // The weight-normalised layer is analysed as a dense layer.
    assert_eq!(r.layers.len(), 2);
    assert_eq!(
        r.layers[1].input_path.steps,
        [
            InputStep::Layer("mean_only_batch_norm"),
            InputStep::Activation(Activation::Sigmoid),
            InputStep::Layer("layer_norm")
        ]
    );
    assert_eq!(
        r.layers[1].input_path.describe().as_deref(),
        Some("layer_norm after sigmoid")
    );
    assert!(r.layers[1].input_path.centred());
    // LayerNorm output has mixed signs in every example: unrestricted.
    assert_eq!(r.diagnosis.layers[1].verdict, Verdict::Unrestricted);
    assert!(r.diagnosis.layers[1].fixes.is_empty());
}
