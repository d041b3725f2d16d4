//! The claims example 08 (gradients from another framework) rests on,
//! checked through the library's API: the shipped `.npy` files are what the
//! example's `--write-data` makes, and the analyzer reads their sigmoid
//! inputs as one-signed.
#![cfg(feature = "io")]

use gradsign::Tensor;
use gradsign::activation::Activation;
use gradsign::analysis::{Diagnosis, GradientSignAnalyzer, Verdict};
use gradsign::autodiff::Tape;
use gradsign::curvature::spectrum::InputCurvature;
use gradsign::data::{LabelEncoding, Playground, PlaygroundConfig};
use gradsign::io::read_npy;
use gradsign::loss::{Reduction, mse};
use gradsign::nn::{Init, Mlp};
use gradsign::optim::Sgd;
use gradsign::train::{TrainConfig, train};

fn shipped(name: &str) -> Tensor<f32> {
    read_npy(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples/data")
            .join(name),
    )
    .unwrap()
}

/// The example's `--write-data`: a 2-8-4-1 sigmoid network, 20 epochs on
/// the circle, then the second layer's `A` and `Δ` in f32.
fn made() -> (Tensor<f32>, Tensor<f32>) {
    let cfg = PlaygroundConfig::default()
        .samples(64)
        .noise(0.0)
        .encoding(LabelEncoding::PlusMinusOne)
        .seed(8);
    let data = Playground::Circle.generate::<f64>(&cfg).unwrap();
    let mut mlp = Mlp::builder(&[2, 8, 4, 1])
        .hidden(Activation::Sigmoid)
        .output(Activation::Identity)
        .init(Init::LecunNormal)
        .seed(8)
        .build()
        .unwrap();
    let config = TrainConfig::default().epochs(20).batch_size(16).seed(8);
    train(
        &mut mlp,
        &mut Sgd::new(0.5),
        &data,
        &config,
        |out, batch| mse(out, batch.targets_on(out.tape())?, Reduction::Mean),
        &mut |_| {},
    )
    .unwrap();
    let tape = Tape::new();
    let (out, trace) = gradsign::nn::forward(&mlp, &tape, tape.constant(data.features())).unwrap();
    let grads = mse(out, tape.constant(data.targets()), Reduction::Mean)
        .unwrap()
        .backward()
        .unwrap();
    let layer = trace.layers()[1];
    let d = grads.tensor(layer.pre_activation).unwrap();
    (layer.input.value().cast::<f32>(), d.cast::<f32>())
}

#[test]
fn the_shipped_npy_files_are_what_the_example_writes() {
    // Bit for bit on the machine that wrote them; another platform's `exp`
    // may round differently in the last place, which 20 epochs of training
    // can grow to a few ulps, hence a relative 1e-4 rather than equality.
    let (a, d) = made();
    assert_eq!((a.dims(), d.dims()), (&[64, 8][..], &[64, 4][..]));
    for (made, name) in [(&a, "foreign_A.npy"), (&d, "foreign_delta.npy")] {
        let file = shipped(name);
        assert_eq!(file.dims(), made.dims());
        for (x, y) in file.as_slice().iter().zip(made.as_slice()) {
            assert!(
                (x - y).abs() <= 1e-4 * y.abs().max(1e-6),
                "{name}: {x} vs {y}"
            );
        }
    }
}

#[test]
fn shipped_sigmoid_inputs_are_diagnosed_one_signed() {
    let a = shipped("foreign_A.npy");
    let r = GradientSignAnalyzer::default()
        .analyze_layer(&a, &shipped("foreign_delta.npy"))
        .unwrap();
    // Sigmoid outputs are strictly positive: every row of every example is
    // one-signed, and the analyzer finds no violation.
    assert_eq!(r.precondition.strictly_positive_share(), 1.0);
    assert_eq!(r.per_example_coherence(), 1.0);
    assert_eq!(r.theorem.violations, 0);
    let diagnosis = Diagnosis::from_layers(std::slice::from_ref(&r));
    assert_eq!(diagnosis.layers[0].verdict, Verdict::AllPositive);
    // The mean input dominates E[aaᵀ]: its top eigenvector lies along 1.
    assert!(InputCurvature::of(&a).unwrap().raw.top_alignment_with_ones > 0.9);
}
