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
//! made by this crate (`gradsign_studies::foreign::example_matrices`:
//! a small sigmoid network on the playground's circle), not by another
//! framework; they stand in for such a dump. For a real PyTorch network,
//! `python/gradsign_hooks.py` captures every layer in one step (example 09,
//! and `gradsign report` for the command line).

mod common;

use std::path::{Path, PathBuf};

use common::{PALETTE, Res, plot_path};
use gradsign::Tensor;
use gradsign::io::{read_npy, write_npy};
use gradsign_studies::foreign::{analyze_foreign, example_matrices};
use plotters::prelude::*;

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data")
}

fn main() -> Res {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--write-data") {
        let (a, d) = example_matrices()?;
        std::fs::create_dir_all(data_dir())?;
        write_npy(data_dir().join("foreign_A.npy"), &a)?;
        write_npy(data_dir().join("foreign_delta.npy"), &d)?;
        println!("wrote {}/foreign_{{A,delta}}.npy", data_dir().display());
        return Ok(());
    }
    let (pa, pd) = match args.as_slice() {
        [a, d] => (PathBuf::from(a), PathBuf::from(d)),
        _ => (
            data_dir().join("foreign_A.npy"),
            data_dir().join("foreign_delta.npy"),
        ),
    };
    let (a, d) = (read_npy::<f32>(&pa)?, read_npy::<f32>(&pd)?);
    println!(
        "A: {} {:?} (the layer's inputs), Δ: {} {:?} (∂L/∂Z)\n",
        pa.display(),
        a.dims(),
        pd.display(),
        d.dims()
    );
    let r = analyze_foreign(&a, &d)?;
    println!("{}", r.report);
    println!("{}", r.diagnosis);
    println!("{}", r.curvature);

    let path = plot_path("08_foreign_gradients.svg")?;
    draw(&a, &d, &path)?;
    println!("plot: {}", path.display());
    Ok(())
}

/// `A` and `Δ` as heat maps: one-signed inputs, deltas of both signs.
fn draw(a: &Tensor<f32>, d: &Tensor<f32>, path: &Path) -> Res {
    let root = SVGBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(450);
    for (area, t, title) in [
        (&left, a, "A, the inputs: all > 0 (vermillion)"),
        (&right, d, "Δ = ∂L/∂Z: both signs (blue < 0)"),
    ] {
        let (rows, cols) = (t.dims()[0], t.dims()[1]);
        let scale = t
            .as_slice()
            .iter()
            .fold(0.0f32, |m, v| m.max(v.abs()))
            .max(f32::MIN_POSITIVE);
        let mut chart = ChartBuilder::on(area)
            .caption(title, ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(34)
            .y_label_area_size(44)
            .build_cartesian_2d(0.0..cols as f64, 0.0..rows as f64)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("column")
            .x_labels(cols + 1)
            .y_desc("example")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| format!("{v:.0}"))
            .label_style(("sans-serif", 12))
            .axis_desc_style(("sans-serif", 14))
            .draw()?;
        chart.draw_series(t.as_slice().iter().enumerate().map(|(i, &v)| {
            let (r, c) = ((i / cols) as f64, (i % cols) as f64);
            // Positive values in vermillion, negative in blue, by magnitude.
            let base = if v >= 0.0 { PALETTE[1] } else { PALETTE[0] };
            let alpha = f64::from(v.abs() / scale).clamp(0.0, 1.0);
            Rectangle::new(
                [(c, r), (c + 1.0, r + 1.0)],
                base.mix(0.08 + 0.92 * alpha).filled(),
            )
        }))?;
    }
    root.present()?;
    Ok(())
}
