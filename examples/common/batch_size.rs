//! Example 06's figure: the share of one-signed batch rows against the
//! batch size, positive against centred inputs, with both limits.

use std::path::Path;

use plotters::element::DashedPathElement;
use plotters::prelude::*;

use super::{PALETTE, Res};

/// One input width: its limits and, per batch size, the measured shares
/// `[positive per example, positive batch, centred per example, centred batch]`.
pub struct Curve {
    /// The width `K`.
    pub width: usize,
    /// `P_K(3/4)`, the large-batch limit for positive inputs.
    pub positive_limit: f64,
    /// `2^{1−K}`, the value for centred inputs at every batch size.
    pub centred_limit: f64,
    /// `(B, shares)`.
    pub points: Vec<(usize, [f64; 4])>,
}

/// Log–log plot. A share measured as exactly 0 (no one-signed row among
/// `rows`) cannot sit on a log axis: it is drawn as a hollow triangle on a
/// labelled floor below the smallest measurable share `1/rows`.
pub fn draw(path: &Path, curves: &[Curve], rows: usize) -> Res {
    let root = SVGBackend::new(path, (960, 680)).into_drawing_area();
    root.fill(&WHITE)?;
    let largest = curves
        .iter()
        .flat_map(|c| &c.points)
        .map(|p| p.0)
        .max()
        .unwrap_or(1) as f64;
    let resolution = 1.0 / rows as f64;
    let floor = resolution / 3.0;
    let (x_range, y_range) = (1.0..largest * 1.3, (floor / 1.6)..1.3);
    let widths: Vec<String> = curves.iter().map(|c| c.width.to_string()).collect();
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "one-signed batch gradient rows against batch size (K = {}; {rows} rows per point)",
                widths.join(", ")
            ),
            ("sans-serif", 18),
        )
        .margin(14)
        .margin_right(76)
        .x_label_area_size(40)
        .y_label_area_size(64)
        .build_cartesian_2d(x_range.clone().log_scale(), y_range.log_scale())?;
    chart
        .configure_mesh()
        .light_line_style(WHITE.mix(0.0))
        .x_desc("batch size B")
        .y_desc("share of batch rows one-signed")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| {
            if *v < resolution {
                String::new()
            } else {
                format!("{v}")
            }
        })
        .label_style(("sans-serif", 12))
        .axis_desc_style(("sans-serif", 14))
        .draw()?;
    let span = [(x_range.start, floor), (x_range.end, floor)];
    chart.draw_series(LineSeries::new(span, BLACK.mix(0.3).stroke_width(1)))?;
    chart.draw_series(std::iter::once(Text::new(
        format!("measured 0 (no one-signed row of {rows})"),
        (1.05, floor * 1.6),
        ("sans-serif", 12).into_font(),
    )))?;
    let on_axis = |v: f64| if v > 0.0 { v } else { floor };
    for (i, c) in curves.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let series = |s: usize| -> Vec<(f64, f64)> {
            c.points
                .iter()
                .map(|p| (p.0 as f64, on_axis(p.1[s])))
                .collect()
        };
        chart.draw_series(LineSeries::new(series(1), colour.stroke_width(2)))?;
        // Each width named in the right margin, level with its curve's end.
        if let Some(&(b, v)) = series(1).last() {
            let (px, py) = chart.backend_coord(&(b, v));
            let style = ("sans-serif", 14).into_font().color(&colour);
            root.draw(&Text::new(
                format!("K = {}", c.width),
                (px + 30, py - 7),
                style,
            ))?;
        }
        chart.draw_series(
            series(1)
                .into_iter()
                .map(|p| Circle::new(p, 4, colour.filled())),
        )?;
        chart.draw_series(DashedLineSeries::new(
            series(3),
            6,
            4,
            colour.stroke_width(2),
        ))?;
        let zeros = c
            .points
            .iter()
            .filter(|p| p.1[3] == 0.0)
            .map(|p| (p.0 as f64, floor));
        chart.draw_series(zeros.map(|p| TriangleMarker::new(p, 6, colour.stroke_width(2))))?;
        for (limit, dash) in [(c.positive_limit, 2), (c.centred_limit, 9)] {
            if limit > floor {
                let line = [(x_range.start, limit), (x_range.end, limit)];
                chart.draw_series(DashedLineSeries::new(
                    line,
                    dash,
                    4,
                    colour.mix(0.7).stroke_width(1),
                ))?;
            }
        }
    }
    // The line styles, once, in black.
    let styles: [(&str, u32, u32, u32); 4] = [
        ("positive inputs U(0, 1)^K", 0, 0, 2),
        ("centred inputs U(−½, ½)^K", 6, 4, 2),
        ("limit P_K(3/4), positive inputs", 2, 4, 1),
        ("2^(1−K), centred inputs (off the axis for K = 64)", 9, 4, 1),
    ];
    for (name, dash, gap, w) in styles {
        chart
            .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
            .label(name)
            .legend(move |(a, b)| {
                if dash == 0 {
                    DashedPathElement::new(vec![(a, b), (a + 22, b)], 22, 1, BLACK.stroke_width(w))
                } else {
                    DashedPathElement::new(
                        vec![(a, b), (a + 22, b)],
                        dash,
                        gap,
                        BLACK.stroke_width(w),
                    )
                }
            });
    }
    chart
        .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
        .label("centred share measured 0 (on the floor)")
        .legend(|(a, b)| TriangleMarker::new((a + 10, b), 6, BLACK.stroke_width(2)));
    chart
        .configure_series_labels()
        // In the empty band between the two families of curves.
        .position(SeriesLabelPosition::Coordinate(330, 165))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.4))
        .label_font(("sans-serif", 13))
        .draw()?;
    root.present()?;
    Ok(())
}
