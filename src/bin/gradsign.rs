//! `gradsign report FILE...`: the sign analyzer's report of layers captured
//! elsewhere (PyTorch, JAX, NumPy), from safetensors or `.npy` files in the
//! crate's capture convention (see `gradsign::io`).
//!
//! ```sh
//! cargo install --path . --features cli
//! gradsign report capture.safetensors                 # the report and diagnosis
//! gradsign report capture.safetensors --json          # the same as JSON
//! gradsign report capture.safetensors --plot plots/   # plus plots/coherence.svg
//! gradsign report dump_dir/ --curvature               # .npy files; with the input spectra
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use gradsign::analysis::{GradientSignAnalyzer, NetworkReport};
use gradsign::io::Capture;
use plotters::prelude::*;

#[derive(Parser)]
#[command(
    name = "gradsign",
    version,
    about = "Sign coherence of weight gradients captured in any framework"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Reports every captured layer: `<name>.input` (B×K) and `<name>.delta`
    /// (B×J), optionally `<name>.weight` (J×K), in safetensors or .npy files.
    Report {
        /// Capture files (.safetensors, <layer>.<suffix>.npy) or folders of them.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Print the report as JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Write an SVG chart of per-example vs batch coherence into this folder.
        #[arg(long, value_name = "DIR")]
        plot: Option<PathBuf>,
        /// Add the spectra of each layer's E[a aᵀ] and Cov(a) (full eigendecompositions).
        #[arg(long)]
        curvature: bool,
        /// Analyse without the bias (for layers built with bias=False).
        #[arg(long)]
        no_bias: bool,
        /// Analyse in f64 (default: f32, as captures usually are).
        #[arg(long)]
        f64: bool,
    },
}

/// What `--json` prints.
#[derive(serde::Serialize)]
struct JsonReport<'a> {
    files: Vec<String>,
    layers: Vec<JsonLayer<'a>>,
    report: &'a NetworkReport,
}

#[derive(serde::Serialize)]
struct JsonLayer<'a> {
    index: usize,
    name: &'a str,
    batch: usize,
    fan_in: usize,
    fan_out: usize,
}

/// The layers' names and shapes, whatever the element type.
struct Layers {
    names: Vec<String>,
    shapes: Vec<(usize, usize, usize)>,
}

fn load_and_analyze<F: gradsign::Element>(
    files: &[PathBuf],
    analyzer: &GradientSignAnalyzer,
) -> gradsign::Result<(Layers, NetworkReport)> {
    let capture = Capture::<F>::load(files)?;
    let report = capture.analyze(analyzer)?;
    let layers = Layers {
        names: capture.layers.iter().map(|l| l.name.clone()).collect(),
        shapes: capture
            .layers
            .iter()
            .map(|l| (l.input.dims()[0], l.input.dims()[1], l.delta.dims()[1]))
            .collect(),
    };
    Ok((layers, report))
}

fn main() -> ExitCode {
    let Command::Report {
        files,
        json,
        plot,
        curvature,
        no_bias,
        f64,
    } = Cli::parse().command;
    match run(&files, json, plot.as_deref(), curvature, no_bias, f64) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gradsign: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(
    files: &[PathBuf],
    json: bool,
    plot: Option<&Path>,
    curvature: bool,
    no_bias: bool,
    f64: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let analyzer = GradientSignAnalyzer::default()
        .with_curvature(curvature)
        .with_bias(!no_bias);
    let (layers, report) = if f64 {
        load_and_analyze::<f64>(files, &analyzer)?
    } else {
        load_and_analyze::<f32>(files, &analyzer)?
    };
    let shown: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    if json {
        let out = JsonReport {
            files: shown.clone(),
            layers: layers
                .names
                .iter()
                .zip(&layers.shapes)
                .enumerate()
                .map(|(index, (name, &(batch, fan_in, fan_out)))| JsonLayer {
                    index,
                    name,
                    batch,
                    fan_in,
                    fan_out,
                })
                .collect(),
            report: &report,
        };
        emit(&(serde_json::to_string_pretty(&out)? + "\n"))?;
    } else {
        let mut text = format!("capture: {}\n", shown.join(", "));
        for (i, (name, (b, k, j))) in layers.names.iter().zip(&layers.shapes).enumerate() {
            text += &format!("  layer {i} = {name}: A {b}×{k}, Δ {b}×{j}\n");
        }
        text += &format!("\n{report}");
        emit(&text)?;
    }
    if let Some(dir) = plot {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let path = dir.join("coherence.svg");
        let title = format!(
            "Sign coherence per layer: {} (batch {})",
            files
                .first()
                .and_then(|f| f.file_name())
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            layers.shapes.first().map_or(0, |s| s.0)
        );
        coherence_chart(&path, &title, &layers.names, &report)?;
        // Keep stdout valid JSON under --json.
        eprintln!("plot: {}", path.display());
    }
    Ok(())
}

/// Writes to stdout; a closed pipe (`gradsign report … | head`) ends the
/// output quietly instead of panicking as `print!` would.
fn emit(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Per-example vs batch coherence, one pair of bars per layer.
fn coherence_chart(
    path: &Path,
    title: &str,
    names: &[String],
    report: &NetworkReport,
) -> Result<(), Box<dyn std::error::Error>> {
    let series = [
        ("per-example rows one-signed", RGBColor(0, 114, 178)),
        ("batch rows Σ_n Δ_nj·a_n one-signed", RGBColor(213, 94, 0)),
    ];
    let n = names.len().max(1);
    let root = SVGBackend::new(path, (160 + 140 * n as u32, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(14)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(0.0..n as f64, 0.0..140.0)?;
    let label = |x: &f64| {
        let i = x.floor() as usize;
        if (x - i as f64 - 0.5).abs() < 1e-9 {
            names.get(i).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(2 * n + 1)
        .x_label_formatter(&label)
        .y_labels(8)
        .light_line_style(WHITE)
        .y_label_formatter(&|v| {
            if *v <= 100.0 {
                format!("{v:.0}")
            } else {
                String::new()
            }
        })
        .x_desc("layer")
        .y_desc("share of neuron rows (%)")
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 14))
        .draw()?;
    for (s, (name, colour)) in series.iter().enumerate() {
        let values: Vec<f64> = report
            .layers
            .iter()
            .map(|l| {
                100.0
                    * if s == 0 {
                        l.per_example_coherence()
                    } else {
                        l.batch_coherence()
                    }
            })
            .collect();
        let x0 = 0.15 + 0.35 * s as f64;
        chart
            .draw_series(values.iter().enumerate().map(|(i, &v)| {
                Rectangle::new(
                    [(i as f64 + x0, 0.0), (i as f64 + x0 + 0.33, v)],
                    colour.filled(),
                )
            }))?
            .label(*name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], colour.filled()));
        chart.draw_series(values.iter().enumerate().map(|(i, &v)| {
            Text::new(
                format!("{v:.0}%"),
                (i as f64 + x0 + 0.04, v + 6.0),
                ("sans-serif", 12).into_font(),
            )
        }))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 13))
        .draw()?;
    root.present()?;
    Ok(())
}
