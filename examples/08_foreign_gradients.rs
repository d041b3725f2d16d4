//! 08 — gradients from another framework.
//!
//! The analyzer needs a layer's inputs `A` (B×K) and deltas `Δ = ∂L/∂Z`
//! (B×J), nothing else, so matrices saved elsewhere can be analysed. This
//! example reads them from NumPy `.npy` files with the crate's reader
//! (`gradsign::io::read_npy`, feature `io`: f32 or f64, C or Fortran order)
//! and prints the report, the diagnosis and the curvature the inputs impose.
//!
//! ```sh
//! cargo run --release --features io --example 08_foreign_gradients                     # the shipped files
//! cargo run --release --features io --example 08_foreign_gradients -- A.npy delta.npy  # your own (f32 or f64)
//! cargo run --release --features io --example 08_foreign_gradients -- --write-data     # regenerate the shipped files
//! ```
//!
//! The shipped `examples/data/foreign_A.npy` and `foreign_delta.npy` were
//! made by this crate (`--write-data`: a small sigmoid network on the
//! playground's circle), not by another framework; they stand in for such a
//! dump. From PyTorch, `A` is the input of an `nn.Linear` (a forward hook)
//! and `Δ` the gradient of its output (a tensor hook), for the same batch;
//! `python/gradsign_hooks.py` captures every layer in one step (example 09,
//! and `gradsign report` for the command line).

mod common;

use std::path::{Path, PathBuf};

use common::{Res, heatmap, plot_path};
use gradsign::Tensor;
use gradsign::activation::Activation;
use gradsign::analysis::{Diagnosis, GradientSignAnalyzer};
use gradsign::autodiff::Tape;
use gradsign::curvature::spectrum::InputCurvature;
use gradsign::data::{LabelEncoding, Playground, PlaygroundConfig};
use gradsign::io::{read_npy, write_npy};
use gradsign::loss::{Reduction, mse};
use gradsign::nn::{Init, Mlp};
use gradsign::optim::Sgd;
use gradsign::train::{TrainConfig, train};

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data")
}

/// The shipped matrices: a 2-8-4-1 sigmoid network trained 20 epochs on 64
/// points of the circle (±1 targets, squared loss), then one full batch
/// forward and backward; `A` is the second layer's input (64×8 sigmoid
/// outputs), `Δ` its deltas (64×4), in f32 as a PyTorch dump would be.
fn write_data() -> Res {
    let cfg = PlaygroundConfig::default()
        .samples(64)
        .noise(0.0)
        .encoding(LabelEncoding::PlusMinusOne)
        .seed(8);
    let data = Playground::Circle.generate::<f64>(&cfg)?;
    let mut mlp = Mlp::builder(&[2, 8, 4, 1])
        .hidden(Activation::Sigmoid)
        .output(Activation::Identity)
        .init(Init::LecunNormal)
        .seed(8)
        .build()?;
    let config = TrainConfig::default().epochs(20).batch_size(16).seed(8);
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
    std::fs::create_dir_all(data_dir())?;
    write_npy(
        data_dir().join("foreign_A.npy"),
        &layer.input.value().cast::<f32>(),
    )?;
    let delta = grads.tensor(layer.pre_activation)?.cast::<f32>();
    write_npy(data_dir().join("foreign_delta.npy"), &delta)?;
    println!("wrote {}/foreign_{{A,delta}}.npy", data_dir().display());
    Ok(())
}

fn main() -> Res {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--write-data") {
        return write_data();
    }
    let (pa, pd) = match args.as_slice() {
        [a, d] => (PathBuf::from(a), PathBuf::from(d)),
        _ => (
            data_dir().join("foreign_A.npy"),
            data_dir().join("foreign_delta.npy"),
        ),
    };
    let (a, d): (Tensor<f32>, Tensor<f32>) = (read_npy(&pa)?, read_npy(&pd)?);
    println!(
        "A: {} {:?} (the layer's inputs), Δ: {} {:?} (∂L/∂Z)\n",
        pa.display(),
        a.dims(),
        pd.display(),
        d.dims()
    );
    // One layer from its two matrices, the bias counted as an input equal to 1.
    let report = GradientSignAnalyzer::default().analyze_layer(&a, &d)?;
    println!("{report}");
    println!("{}", Diagnosis::from_layers(std::slice::from_ref(&report)));
    // The spectra of E[aaᵀ] and Cov(a): the curvature these inputs impose.
    println!("{}", InputCurvature::of(&a)?);

    let path = plot_path("08_foreign_gradients.svg")?;
    let (ka, kd) = (a.dims()[1], d.dims()[1]);
    heatmap::draw(
        &path,
        &[
            ("A, the inputs", a.as_slice(), ka),
            ("Δ = ∂L/∂Z", d.as_slice(), kd),
        ],
    )?;
    println!("plot: {}", path.display());
    Ok(())
}
