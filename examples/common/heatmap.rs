//! Example 08's figure: matrices as heat maps, each with its colour scale
//! and a title that says what the data hold.

use std::path::Path;

use plotters::prelude::*;

use super::{PALETTE, Res, sig};

/// What the signs of `values` are, in words: "all > 0", "all ≥ 0 (3 zeros)",
/// "all < 0", or "both signs: 41% < 0, 59% > 0".
pub fn sign_summary(values: &[f32]) -> String {
    let n = values.len().max(1) as f64;
    let pos = values.iter().filter(|&&v| v > 0.0).count();
    let neg = values.iter().filter(|&&v| v < 0.0).count();
    let zero = values.len() - pos - neg;
    let zeros = if zero > 0 {
        format!(" ({zero} zeros)")
    } else {
        String::new()
    };
    match (pos, neg) {
        (_, 0) if zero == 0 => "all > 0".into(),
        (0, _) if zero == 0 => "all < 0".into(),
        (_, 0) => format!("all ≥ 0{zeros}"),
        (0, _) => format!("all ≤ 0{zeros}"),
        _ => format!(
            "both signs: {:.0}% < 0, {:.0}% > 0{zeros}",
            100.0 * neg as f64 / n,
            100.0 * pos as f64 / n
        ),
    }
}

/// The colour of `v` on a scale reaching `scale`: vermillion above zero,
/// blue below, paler towards zero.
fn colour(v: f64, scale: f64) -> RGBAColor {
    let base = if v >= 0.0 { PALETTE[1] } else { PALETTE[0] };
    base.mix(0.08 + 0.92 * (v.abs() / scale).clamp(0.0, 1.0))
}

/// One heat map per `(name, rows × cols values, cols)`, side by side, each
/// with a colour bar from its smallest to its largest value (through zero
/// when the signs differ) and the caption `name (B×K): sign summary`.
pub fn draw(path: &Path, panels: &[(&str, &[f32], usize)]) -> Res {
    let root = SVGBackend::new(path, (520 * panels.len() as u32, 580)).into_drawing_area();
    root.fill(&WHITE)?;
    for (area, &(name, values, cols)) in root.split_evenly((1, panels.len())).iter().zip(panels) {
        let rows = values.len() / cols.max(1);
        let lo = values.iter().fold(0.0f32, |m, &v| m.min(v)) as f64;
        let hi = values.iter().fold(0.0f32, |m, &v| m.max(v)) as f64;
        let scale = lo.abs().max(hi).max(f64::MIN_POSITIVE);
        let (map, bar) = area.split_horizontally(area.dim_in_pixel().0 - 90);
        let mut chart = ChartBuilder::on(&map)
            .caption(
                format!("{name} ({rows}×{cols}): {}", sign_summary(values)),
                ("sans-serif", 15),
            )
            .margin(12)
            .x_label_area_size(34)
            .y_label_area_size(44)
            .build_cartesian_2d(0.0..cols as f64, 0.0..rows as f64)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("column")
            .x_labels(cols.min(16) + 1)
            .y_desc("example (row)")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| format!("{v:.0}"))
            .label_style(("sans-serif", 12))
            .axis_desc_style(("sans-serif", 14))
            .draw()?;
        chart.draw_series(values.iter().enumerate().map(|(i, &v)| {
            let (r, c) = ((i / cols) as f64, (i % cols) as f64);
            Rectangle::new(
                [(c, r), (c + 1.0, r + 1.0)],
                colour(v as f64, scale).filled(),
            )
        }))?;
        // The colour bar: the range the data span, zero marked when inside it.
        let mut key = ChartBuilder::on(&bar)
            .caption("value", ("sans-serif", 13))
            .margin_top(16)
            .margin_bottom(46)
            .margin_right(8)
            .y_label_area_size(52)
            .build_cartesian_2d(0.0..1.0, lo..hi.max(lo + f64::MIN_POSITIVE))?;
        key.configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .y_labels(7)
            .y_label_formatter(&|v| {
                if v.abs() < 1e-6 * scale {
                    "0".into()
                } else {
                    sig(*v, 2)
                }
            })
            .label_style(("sans-serif", 11))
            .draw()?;
        let steps = 120;
        key.draw_series((0..steps).map(|s| {
            let (a, b) = (
                lo + (hi - lo) * s as f64 / steps as f64,
                lo + (hi - lo) * (s + 1) as f64 / steps as f64,
            );
            Rectangle::new([(0.0, a), (1.0, b)], colour(0.5 * (a + b), scale).filled())
        }))?;
        if lo < 0.0 && hi > 0.0 {
            key.draw_series(LineSeries::new(
                [(0.0, 0.0), (1.0, 0.0)],
                BLACK.stroke_width(1),
            ))?;
        }
    }
    root.present()?;
    Ok(())
}
