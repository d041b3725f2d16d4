//! The claims example 03 (the analyzer's report on iris) rests on, checked
//! through the library's API: a tanh network trained a few epochs on iris
//! raw and standardised, and the report of one full-batch gradient.

use gradsign::activation::Activation;
use gradsign::analysis::{Cause, GradientSignAnalyzer, NetworkReport, Verdict};
use gradsign::autodiff::Tape;
use gradsign::data::{Dataset, Standardizer, iris};
use gradsign::loss::{Reduction, softmax_cross_entropy};
use gradsign::nn::{Init, Mlp};
use gradsign::optim::Sgd;
use gradsign::train::{TrainConfig, train};

fn report(data: &Dataset<f64>) -> (NetworkReport, usize) {
    let mut mlp = Mlp::builder(&[data.width(), 16, data.classes()])
        .hidden(Activation::Tanh)
        .output(Activation::Identity)
        .init(Init::GlorotUniform)
        .seed(3)
        .build()
        .unwrap();
    let config = TrainConfig::default().epochs(3).batch_size(16).seed(3);
    let trained = train(
        &mut mlp,
        &mut Sgd::new(0.05),
        data,
        &config,
        |out, batch| softmax_cross_entropy(out, batch.labels, Reduction::Mean),
        &mut |_| {},
    )
    .unwrap();
    let tape = Tape::new();
    let (out, trace) = gradsign::nn::forward(&mlp, &tape, tape.constant(data.features())).unwrap();
    let grads = softmax_cross_entropy(out, data.labels(), Reduction::Mean)
        .unwrap()
        .backward()
        .unwrap();
    let r = GradientSignAnalyzer::default()
        .analyze(&trace, &grads)
        .unwrap();
    (r, trained.epoch_losses.len())
}

#[test]
fn iris_raw_first_layer_is_diagnosed_one_signed_and_standardised_is_not() {
    let raw = iris::<f64>();
    let (r, epochs) = report(&raw);
    assert_eq!(epochs, 3);
    // Every iris measurement is a positive length: the theorem's precondition
    // holds on all 150 examples, and so does its conclusion.
    assert_eq!(r.layers[0].precondition.strictly_positive_share(), 1.0);
    assert_eq!(r.layers[0].per_example_coherence(), 1.0);
    assert_eq!(r.layers[0].theorem.violations, 0);
    assert_eq!(r.diagnosis.layers[0].verdict, Verdict::AllPositive);
    assert_eq!(r.diagnosis.layers[0].cause, Some(Cause::NonCentredData));
    let scaler = Standardizer::fit(raw.features()).unwrap();
    let std = raw.map_features(|x| scaler.transform(x)).unwrap();
    let (s, _) = report(&std);
    assert!(s.layers[0].precondition.strictly_positive_share() < 1.0);
    assert!(s.layers[0].per_example_coherence() < 1.0);
    assert_ne!(s.diagnosis.layers[0].verdict, Verdict::AllPositive);
}
