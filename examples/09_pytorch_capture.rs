//! 09 — a network trained in PyTorch, analysed from its captured files.
//!
//! `python/gradsign_hooks.py` hooks every `nn.Linear` of a PyTorch model and
//! writes, for one training step, each layer's input `A` (B×K), its delta
//! `Δ = ∂L/∂Z` (B×J), its weight and PyTorch's own weight gradient, as one
//! safetensors file (the convention of `gradsign::io`). The shipped capture,
//! `tests/fixtures/pytorch_mlp/capture.safetensors`, is real PyTorch output:
//! a 6-16-8-1 MLP with sigmoid hidden units after five SGD steps on
//! positive inputs (`python/make_fixture.py` made it). This example reads
//! it, checks the crate's `Δᵀ·A` against PyTorch's `weight.grad`, and prints
//! the same report, diagnosis and plot a network trained here would get.
//!
//! ```sh
//! cargo run --release --features io --example 09_pytorch_capture               # the shipped capture
//! cargo run --release --features io --example 09_pytorch_capture -- my.safetensors
//! ```
//!
//! To make your own capture (in the venv that has torch and safetensors):
//!
//! ```python
//! from gradsign_hooks import capture_layers
//! opt.zero_grad()
//! with capture_layers(model) as cap:
//!     loss_fn(model(x), y).backward()
//! cap.save("my.safetensors")
//! ```

mod common;

use std::path::PathBuf;

use common::{Res, coherence_bars, plot_path, print_table};
use gradsign::analysis::GradientSignAnalyzer;
use gradsign::io::Capture;

fn main() -> Res {
    let files: Vec<PathBuf> = match std::env::args().skip(1).collect::<Vec<_>>() {
        args if !args.is_empty() => args.into_iter().map(PathBuf::from).collect(),
        _ => vec![
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/pytorch_mlp/capture.safetensors"),
        ],
    };
    let capture = Capture::<f32>::load(&files)?;

    // The capture against PyTorch's own arithmetic: Δᵀ·A is weight.grad.
    let mut rows = Vec::new();
    for l in &capture.layers {
        let (b, k, j) = (l.input.dims()[0], l.input.dims()[1], l.delta.dims()[1]);
        let check = match &l.weight_grad {
            Some(theirs) => {
                let ours = l.batch_gradient()?;
                let err = ours
                    .as_slice()
                    .iter()
                    .zip(theirs.as_slice())
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0f32, f32::max);
                format!("{err:.1e}")
            }
            None => "no weight_grad saved".to_string(),
        };
        rows.push(vec![
            l.name.clone(),
            format!("{b}×{k}"),
            format!("{b}×{j}"),
            check,
        ]);
    }
    println!("captured layers ({}):\n", files[0].display());
    print_table(&["layer", "A", "Δ", "max |Δᵀ·A − weight.grad|"], &rows);
    println!();

    let report = capture.analyze(&GradientSignAnalyzer::default().with_curvature(true))?;
    println!("{report}");

    let names: Vec<String> = capture.names().iter().map(|s| s.to_string()).collect();
    let per_example: Vec<f64> = report
        .layers
        .iter()
        .map(|l| l.per_example_coherence())
        .collect();
    let batch: Vec<f64> = report.layers.iter().map(|l| l.batch_coherence()).collect();
    let path = plot_path("09_pytorch_capture.svg")?;
    let title = format!(
        "A PyTorch MLP, batch {}: sign coherence per layer",
        capture.layers[0].input.dims()[0]
    );
    coherence_bars(&path, &title, &names, &per_example, &batch)?;
    println!("plot: {}", path.display());
    Ok(())
}
