//! Example 08: gradients from elsewhere. The analyzer needs only a layer's
//! inputs `A` (B×K) and its deltas `Δ = ∂L/∂Z` (B×J), so matrices dumped
//! by another framework (PyTorch, JAX, …) can be analysed without
//! re-running anything here. [`analyze_foreign`] is that path; the example
//! reads the two matrices from `.npy` files.
//!
//! The files shipped in `examples/data/` were **made by this crate**, not by
//! another framework: [`example_matrices`] trains a small sigmoid network
//! and takes its second layer's `A` and `Δ`, in `f32` as a PyTorch dump
//! would be (`studies/tests/experiments.rs` checks the shipped files equal its
//! output). To analyse your own, save the two matrices with
//! `numpy.save` — for instance from PyTorch, `A` is the input of an
//! `nn.Linear` (a forward hook) and `Δ` the gradient of its output (a
//! tensor hook, or `retain_grad()`), taken for the same batch.

use gradsign::activation::Activation;
use gradsign::analysis::{Diagnosis, GradientSignAnalyzer, LayerReport};
use gradsign::autodiff::Tape;
use gradsign::curvature::spectrum::InputCurvature;
use gradsign::data::{LabelEncoding, Playground, PlaygroundConfig};
use gradsign::error::Result;
use gradsign::loss::{Reduction, mse};
use gradsign::nn::{Init, Mlp};
use gradsign::optim::Sgd;
use gradsign::tensor::Tensor;
use gradsign::train::{TrainConfig, train};

/// What example 08 computes from `A` and `Δ`.
#[derive(Clone, Debug)]
pub struct ForeignAnalysis {
    /// The analyzer's report of the layer.
    pub report: LayerReport,
    /// Its diagnosis in words.
    pub diagnosis: Diagnosis,
    /// The curvature the inputs impose: spectra of `E[a aᵀ]` and `Cov(a)`.
    pub curvature: InputCurvature,
}

/// Analyses one dense layer from its inputs `A` (B×K) and deltas `Δ`
/// (B×J), with the bias counted as one more input equal to 1.
///
/// ```
/// use gradsign_studies::foreign::analyze_foreign;
/// use gradsign::Tensor;
/// let a = Tensor::<f32>::rand_uniform(&[32, 3], 0.1, 0.9, 1)?;
/// let d = Tensor::<f32>::rand_normal(&[32, 2], 0.0, 1.0, 2)?;
/// let r = analyze_foreign(&a, &d)?;
/// assert_eq!(r.report.per_example_coherence(), 1.0);
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// # Errors
/// As [`GradientSignAnalyzer::analyze_layer`] and
/// [`InputCurvature::of`]: shapes that do not match, an empty batch, a
/// non-finite input.
pub fn analyze_foreign(a: &Tensor<f32>, d: &Tensor<f32>) -> Result<ForeignAnalysis> {
    let report = GradientSignAnalyzer::default().analyze_layer(a, d)?;
    let diagnosis = Diagnosis::from_layers(std::slice::from_ref(&report));
    Ok(ForeignAnalysis {
        report,
        diagnosis,
        curvature: InputCurvature::of(a)?,
    })
}

/// The matrices shipped with example 08: a 2-8-4-1 network with sigmoid
/// hidden units, trained for 20 epochs of SGD (learning rate 0.5, batch 16)
/// on 64 points of the playground's circle (`±1` targets, squared loss),
/// then one full batch forward and backward; `A` is the second layer's
/// input (64×8 sigmoid outputs) and `Δ` its deltas (64×4), cast to `f32`.
///
/// # Errors
/// None in practice (the settings are fixed and valid).
pub fn example_matrices() -> Result<(Tensor<f32>, Tensor<f32>)> {
    let cfg = PlaygroundConfig {
        samples: 64,
        noise: 0.0,
        encoding: LabelEncoding::PlusMinusOne,
        seed: 8,
    };
    let data = Playground::Circle.generate::<f64>(&cfg)?;
    let mut mlp = Mlp::builder(&[2, 8, 4, 1])
        .hidden(Activation::Sigmoid)
        .output(Activation::Identity)
        .init(Init::LecunNormal)
        .seed(8)
        .build()?;
    let config = TrainConfig {
        epochs: 20,
        batch_size: 16,
        seed: 8,
        ..TrainConfig::default()
    };
    train(
        &mut mlp,
        &mut Sgd::new(0.5),
        &data,
        &config,
        |out, batch| mse(out, batch.targets_on(out.tape())?, Reduction::Mean),
        &mut |_| {},
    )?;
    let tape = Tape::new();
    let (out, trace) = gradsign::nn::forward(&mlp, &tape, tape.constant(data.features()))?;
    let grads = mse(out, tape.constant(data.targets()), Reduction::Mean)?.backward()?;
    let layer = trace.layers()[1];
    let a = layer.input.value().cast::<f32>();
    let d = grads.tensor(layer.pre_activation)?.cast::<f32>();
    Ok((a, d))
}
