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
//! cargo run --release --features io --example 09_pytorch_capture -- --timing  # a 100 MB capture: file vs memory
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
use std::time::{Duration, Instant};

use common::{Res, coherence_bars, plot_path, print_table};
use gradsign::Tensor;
use gradsign::analysis::GradientSignAnalyzer;
use gradsign::io::{Capture, CapturedLayer};

fn main() -> Res {
    if std::env::args().nth(1).as_deref() == Some("--timing") {
        return timing();
    }
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

/// The median of five runs of `f`.
fn median<T>(mut f: impl FnMut() -> Res<T>) -> Res<Duration> {
    let mut t = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        std::hint::black_box(f()?);
        t.push(start.elapsed());
    }
    t.sort();
    Ok(t[2])
}

/// What reading a 100 MB capture costs on top of the report in memory.
fn timing() -> Res {
    let layers = (0..2)
        .map(|i| {
            let a = Tensor::<f32>::rand_uniform(&[4096, 2048], 0.0, 1.0, i)?;
            let d = Tensor::<f32>::rand_normal(&[4096, 1024], 0.0, 1.0, 10 + i)?;
            CapturedLayer::new(&format!("fc{i}"), a, d, None, None, None)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let capture = Capture { layers };
    let path = std::env::temp_dir().join(format!(
        "gradsign-timing-{}.safetensors",
        std::process::id()
    ));
    capture.save(&path)?;
    let mb = std::fs::metadata(&path)?.len() as f64 / 1e6;
    let analyzer = GradientSignAnalyzer::default();
    let memory = median(|| Ok(capture.analyze(&analyzer)?))?;
    let page_in = median(|| Ok(std::fs::read(&path)?))?;
    let load = median(|| Ok(Capture::<f32>::load(&[&path])?))?;
    let file = median(|| Ok(Capture::<f32>::load(&[&path])?.analyze(&analyzer)?))?;
    std::fs::remove_file(&path)?;
    println!("capture of {mb:.1} MB (2 layers, A 4096×2048, Δ 4096×1024, f32), medians of 5:");
    println!(
        "  report on the tensors in memory     {:>8.1} ms",
        ms(memory)
    );
    println!(
        "  std::fs::read of the file (page-in) {:>8.1} ms",
        ms(page_in)
    );
    println!("  Capture::load (map, check, copy)    {:>8.1} ms", ms(load));
    println!("  load + report from the file         {:>8.1} ms", ms(file));
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
