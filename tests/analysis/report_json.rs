//! With the `serde` feature, a network report serialises to JSON.
#![cfg(feature = "serde")]

use gradsign::activation::Activation;
use gradsign::analysis::GradientSignAnalyzer;
use gradsign::nn::{Init, Mlp};
use gradsign::{Tape, Tensor};

#[test]
fn network_report_serialises_to_json() {
    let mlp = Mlp::builder(&[3, 4, 2])
        .hidden(Activation::Sigmoid)
        .output(Activation::Identity)
        .init(Init::LecunNormal)
        .seed(3)
        .build::<f64>()
        .unwrap();
    let tape = Tape::new();
    let x = tape.constant(&Tensor::rand_uniform(&[6, 3], 0.0, 1.0, 1).unwrap());
    let (y, trace) = gradsign::nn::forward(&mlp, &tape, x).unwrap();
    let grads = y.square().sum().backward().unwrap();
    let report = GradientSignAnalyzer::default()
        .analyze(&trace, &grads)
        .unwrap();
    let json: serde_json::Value = serde_json::to_value(&report).unwrap();
    let layer1 = &json["layers"][1];
    assert_eq!(layer1["input_source"]["Activation"], "Sigmoid");
    assert_eq!(layer1["theorem"]["violations"], 0);
    assert_eq!(
        layer1["per_example"]["positive"].as_u64().unwrap() as usize,
        report.layers[1].per_example.positive
    );
    assert_eq!(json["diagnosis"]["layers"][1]["verdict"], "AllPositive");
    assert_eq!(json["layers"][0]["neurons"].as_array().unwrap().len(), 4);
}
