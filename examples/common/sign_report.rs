//! Example 03's figure: the training curves and, per layer, the share of
//! one-signed gradient rows, raw against standardised.

use std::path::Path;

use plotters::prelude::*;

use super::{PALETTE, Res, legend};

/// One version of the data as the figure shows it.
pub struct Case {
    /// `"raw"` or `"standardised"`.
    pub name: &'static str,
    /// The mean training loss of each epoch.
    pub losses: Vec<f64>,
    /// Per layer: (per-example coherence, batch coherence, per-example rows,
    /// batch rows).
    pub layers: Vec<(f64, f64, usize, usize)>,
}

/// Left: loss per epoch; right: per layer, per-example (solid) and batch
/// (light) coherence of each case, every bar labelled with its value, and a
/// layer whose bars are all zero says so in words.
pub fn draw(path: &Path, cases: &[Case; 2]) -> Res {
    let root = SVGBackend::new(path, (1100, 440)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(560);
    let colours = [PALETTE[1], PALETTE[0]];
    let epochs = cases[0].losses.len() as f64;
    let top = cases
        .iter()
        .flat_map(|c| &c.losses)
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
    for (c, &colour) in cases.iter().zip(&colours) {
        let points = c
            .losses
            .iter()
            .enumerate()
            .map(|(e, &l)| ((e + 1) as f64, l));
        chart
            .draw_series(LineSeries::new(points, colour.stroke_width(2)))?
            .label(c.name)
            .legend(move |(a, b)| {
                PathElement::new(vec![(a, b), (a + 16, b)], colour.stroke_width(2))
            });
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight)?;

    let layers = cases[0].layers.len();
    let mut chart = ChartBuilder::on(&right)
        .caption(
            "share of one-signed gradient rows per layer",
            ("sans-serif", 16),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(50)
        .build_cartesian_2d(-0.5..layers as f64 - 0.5, 0.0..1.35)?;
    chart
        .configure_mesh()
        .light_line_style(WHITE.mix(0.0))
        .x_desc("layer")
        .y_desc("share of rows one-signed")
        .x_labels(layers)
        .x_label_formatter(&|v| format!("{}", v.round()))
        .y_label_formatter(&|v| {
            if *v <= 1.0 {
                format!("{v:.1}")
            } else {
                String::new()
            }
        })
        .label_style(("sans-serif", 12))
        .axis_desc_style(("sans-serif", 14))
        .draw()?;
    let font = ("sans-serif", 11).into_font();
    for (k, (c, &colour)) in cases.iter().zip(&colours).enumerate() {
        let x0 = |l: usize| l as f64 - 0.4 + 0.4 * k as f64;
        for (bar, (what, shade)) in [("per example", 1.0), ("batch", 0.35)]
            .into_iter()
            .enumerate()
        {
            let value = |l: &(f64, f64, usize, usize)| if bar == 0 { l.0 } else { l.1 };
            let at = |l: usize| x0(l) + 0.2 * bar as f64;
            chart
                .draw_series(c.layers.iter().enumerate().map(|(l, r)| {
                    Rectangle::new(
                        [(at(l), 0.0), (at(l) + 0.18, value(r))],
                        colour.mix(shade).filled(),
                    )
                }))?
                .label(format!("{}: {what}", c.name))
                .legend(move |(a, b)| {
                    Rectangle::new([(a, b - 5), (a + 14, b + 5)], colour.mix(shade).filled())
                });
            chart.draw_series(c.layers.iter().enumerate().map(|(l, r)| {
                Text::new(
                    format!("{:.2}", value(r)),
                    (at(l), value(r) + 0.04),
                    font.clone(),
                )
            }))?;
        }
    }
    // A layer with every bar at zero would look like a missing panel.
    for l in 0..layers {
        if cases
            .iter()
            .all(|c| c.layers[l].0 == 0.0 && c.layers[l].1 == 0.0)
        {
            let (_, _, rows, batch) = cases[0].layers[l];
            let lines = [
                format!("layer {l}: no gradient row one-signed"),
                format!("(0 of {rows} per-example rows and"),
                format!("0 of {batch} batch rows, in both cases)"),
            ];
            for (i, line) in lines.iter().enumerate() {
                chart.draw_series(std::iter::once(Text::new(
                    line.to_string(),
                    (l as f64 - 0.45, 0.36 - 0.06 * i as f64),
                    ("sans-serif", 13).into_font(),
                )))?;
            }
        }
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    root.present()?;
    Ok(())
}
