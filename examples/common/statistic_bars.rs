//! Example 10's figure: three bars per kind of input and δ (GradSign per
//! weight over B, α, row coherence) on a log scale, with pure noise's levels.

use std::path::Path;

use plotters::prelude::*;

use super::{PALETTE, Res};

/// Three bars per row (log scale): GradSign per weight / B, α, row coherence.
///
/// `noise_share` is pure noise's GradSign per weight divided by `B`, and
/// `noise_alpha` pure noise's α (`1/B`): both drawn as lines.
pub fn draw(
    path: &Path,
    title: &str,
    bars: &[(String, [f64; 3])],
    noise_share: f64,
    noise_alpha: f64,
) -> Res {
    let root = SVGBackend::new(path, (1100, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let n = bars.len();
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(14)
        .x_label_area_size(70)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..n as f64, (1e-3..20.0).log_scale())?;
    let label = |x: &f64| {
        let i = x.floor() as usize;
        let centre = (x - i as f64 - 0.5).abs() < 1e-9;
        if centre {
            bars.get(i).map(|b| b.0.clone()).unwrap_or_default()
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(2 * n + 1)
        .x_label_formatter(&label)
        .x_desc("inputs of the neuron, and δ")
        .y_desc("value (log scale from 0.001; GradSign divided by B)")
        .label_style(("sans-serif", 11))
        .axis_desc_style(("sans-serif", 14))
        .draw()?;
    let names = ["GradSign per weight / B", "α", "per-example row coherence"];
    for (s, name) in names.into_iter().enumerate() {
        let colour = PALETTE[s];
        let x0 = 0.12 + 0.26 * s as f64;
        chart
            .draw_series(bars.iter().enumerate().map(|(i, b)| {
                let v = b.1[s].max(1e-3);
                Rectangle::new(
                    [(i as f64 + x0, 1e-3), (i as f64 + x0 + 0.24, v)],
                    colour.filled(),
                )
            }))?
            .label(name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], colour.filled()));
    }
    for (v, colour, name) in [
        (noise_share, PALETTE[0], "pure noise: √(2B/π)/B"),
        (noise_alpha, PALETTE[1], "pure noise: α = 1/B"),
    ] {
        chart
            .draw_series(LineSeries::new(
                [(0.0, v), (n as f64, v)],
                colour.stroke_width(1),
            ))?
            .label(name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(1))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 12))
        .draw()?;
    root.present()?;
    Ok(())
}
