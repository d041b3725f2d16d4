//! Example 01's figure: the loss along each parameter and the tangent the
//! tape's derivative predicts.

use std::path::Path;

use plotters::prelude::*;

use super::{PALETTE, Res};

/// The loss along one parameter: `(t, L(θ + t·eᵢ))`, and `∂L/∂θᵢ`.
pub struct Slice {
    /// The parameter's name.
    pub name: String,
    /// The samples, `t` running over `[−span, span]`.
    pub curve: Vec<(f64, f64)>,
    /// The derivative at `t = 0` from the tape.
    pub slope: f64,
}

/// One curve per parameter with its tangent (dashed) over the middle half;
/// `loss` is the value at `t = 0`.
pub fn draw(path: &Path, loss: f64, slices: &[Slice]) -> Res {
    let root = SVGBackend::new(path, (820, 520)).into_drawing_area();
    root.fill(&WHITE)?;
    let ys = slices.iter().flat_map(|s| s.curve.iter().map(|p| p.1));
    let lo = ys.clone().fold(f64::INFINITY, f64::min);
    let hi = ys.fold(f64::NEG_INFINITY, f64::max);
    let span = slices[0].curve.last().map_or(1.0, |p| p.0);
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "L(θ + t·eᵢ) along each parameter, and the tangent of slope ∂L/∂θᵢ from the tape",
            ("sans-serif", 17),
        )
        .margin(14)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(-span..span, (lo - 0.02)..(hi + 0.02))?;
    chart
        .configure_mesh()
        .light_line_style(WHITE.mix(0.0))
        .x_desc("t (change of one parameter)")
        .y_desc("loss")
        .axis_desc_style(("sans-serif", 15))
        .label_style(("sans-serif", 13))
        .draw()?;
    for (i, s) in slices.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        chart
            .draw_series(LineSeries::new(s.curve.clone(), colour.stroke_width(2)))?
            .label(format!(
                "{}: ∂L/∂{} = {:+.4} (dashed: tangent)",
                s.name, s.name, s.slope
            ))
            .legend(move |(a, b)| {
                PathElement::new(vec![(a, b), (a + 16, b)], colour.stroke_width(2))
            });
        let t = span / 2.0;
        chart.draw_series(DashedLineSeries::new(
            [(-t, loss - t * s.slope), (t, loss + t * s.slope)],
            6,
            4,
            colour.stroke_width(2),
        ))?;
    }
    chart.draw_series(std::iter::once(Circle::new((0.0, loss), 4, BLACK.filled())))?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font(("sans-serif", 14))
        .draw()?;
    root.present()?;
    Ok(())
}
