//! 03 — the analyzer's report on iris, raw and standardised.
//!
//! Iris's four measurements are lengths in centimetres: every feature is
//! positive, so the first layer's weight-gradient rows are one-signed on
//! every example. The same tanh network and seed are trained on the raw
//! and on the standardised measurements; the `GradientSignAnalyzer` then
//! reports one full-batch gradient of each, with its diagnosis.
//!
//! ```sh
//! cargo run --release --example 03_sign_report
//! ```
//!
//! The computation is `gradsign_studies::sign_report`.

mod common;

use common::{PALETTE, Res, plot_path, print_table};
use gradsign_studies::sign_report::{SignReport, SignReportConfig, sign_report};
use plotters::prelude::*;

fn main() -> Res {
    let config = SignReportConfig::default();
    let r = sign_report(&config)?;
    for case in [&r.raw, &r.standardised] {
        println!("══════ iris, {} features ══════\n", case.name);
        println!("{}", case.report);
    }
    println!(
        "Summary (one full-batch gradient after {} epochs of SGD):\n",
        config.epochs
    );
    let mut rows = Vec::new();
    for case in [&r.raw, &r.standardised] {
        for l in &case.report.layers {
            rows.push(vec![
                case.name.to_string(),
                l.layer.map_or("—".into(), |i| i.to_string()),
                format!("{:.0}%", 100.0 * l.precondition.strictly_positive_share()),
                format!("{:.3}", l.per_example_coherence()),
                format!("{:.3}", l.batch_coherence()),
                format!("{:.1} of 2^{}", l.orthants.mean, l.orthants.dimension),
                format!(
                    "{:.3}",
                    case.epoch_losses.last().copied().unwrap_or(f64::NAN)
                ),
                format!("{:.1}%", 100.0 * case.accuracy),
            ]);
        }
    }
    print_table(
        &[
            "data",
            "layer",
            "examples with a > 0",
            "per-example coherence",
            "batch coherence",
            "orthants per neuron",
            "last epoch loss",
            "train accuracy",
        ],
        &rows,
    );
    let path = plot_path("03_sign_report.svg")?;
    draw(&r, &path)?;
    println!("\nplot: {}", path.display());
    Ok(())
}

/// Training loss per epoch, and per-layer coherence, raw against standardised.
fn draw(r: &SignReport, path: &std::path::Path) -> Res {
    let root = SVGBackend::new(path, (1100, 440)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(560);
    let cases = [(&r.raw, PALETTE[1]), (&r.standardised, PALETTE[0])];
    let epochs = r.config.epochs as f64;
    let top = cases
        .iter()
        .flat_map(|(c, _)| c.epoch_losses.iter())
        .fold(0.0f64, |a, &b| a.max(b))
        * 1.1;
    let mut chart = ChartBuilder::on(&left)
        .caption(
            "training loss per epoch (same network, seed, SGD)",
            ("sans-serif", 16),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..epochs, 0.0..top)?;
    chart
        .configure_mesh()
        .light_line_style(WHITE.mix(0.0))
        .x_desc("epoch")
        .y_desc("cross-entropy")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .label_style(("sans-serif", 12))
        .axis_desc_style(("sans-serif", 14))
        .draw()?;
    for (c, colour) in cases {
        chart
            .draw_series(LineSeries::new(
                c.epoch_losses
                    .iter()
                    .enumerate()
                    .map(|(e, &l)| ((e + 1) as f64, l)),
                colour.stroke_width(2),
            ))?
            .label(c.name)
            .legend(move |(a, b)| {
                PathElement::new(vec![(a, b), (a + 16, b)], colour.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font(("sans-serif", 13))
        .draw()?;

    // Per layer: per-example coherence (solid bars) and batch coherence (light).
    let layers = r.raw.report.layers.len();
    let mut chart = ChartBuilder::on(&right)
        .caption(
            "share of one-signed gradient rows per layer",
            ("sans-serif", 16),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(50)
        .build_cartesian_2d(-0.5..layers as f64 - 0.5, 0.0..1.05)?;
    chart
        .configure_mesh()
        .light_line_style(WHITE.mix(0.0))
        .x_desc("layer")
        .x_labels(layers)
        .x_label_formatter(&|v| format!("{}", v.round()))
        .label_style(("sans-serif", 12))
        .axis_desc_style(("sans-serif", 14))
        .draw()?;
    for (k, (c, colour)) in cases.iter().enumerate() {
        let colour = *colour;
        let x0 = |l: usize| l as f64 - 0.4 + 0.4 * k as f64;
        chart
            .draw_series(c.report.layers.iter().enumerate().map(|(l, rep)| {
                Rectangle::new(
                    [(x0(l), 0.0), (x0(l) + 0.18, rep.per_example_coherence())],
                    colour.filled(),
                )
            }))?
            .label(format!("{}: per example", c.name))
            .legend(move |(a, b)| Rectangle::new([(a, b - 5), (a + 14, b + 5)], colour.filled()));
        chart
            .draw_series(c.report.layers.iter().enumerate().map(|(l, rep)| {
                Rectangle::new(
                    [(x0(l) + 0.2, 0.0), (x0(l) + 0.38, rep.batch_coherence())],
                    colour.mix(0.35).filled(),
                )
            }))?
            .label(format!("{}: batch", c.name))
            .legend(move |(a, b)| {
                Rectangle::new([(a, b - 5), (a + 14, b + 5)], colour.mix(0.35).filled())
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font(("sans-serif", 13))
        .draw()?;
    root.present()?;
    Ok(())
}
