//! What the numbered examples share: where plots go, a plain-text table,
//! colours, and clipping of curves to a plot's box.
// Each example compiles this module on its own and uses part of it.
#![allow(dead_code)]

use std::path::PathBuf;

use plotters::style::RGBColor;

pub mod batch_size;
pub mod conditioning;
pub mod heatmap;
pub mod loss_bars;
pub mod natural;
pub mod outlier;
pub mod sigmoid_vs_tanh;
pub mod sign_report;
pub mod slices;
pub mod statistic_bars;
pub mod which_fix;
pub mod zigzag;

/// Errors of an example: the crate's or the plotting library's.
pub type Res<T = ()> = Result<T, Box<dyn std::error::Error>>;

/// `target/gradsign-plots/<file>` (under `CARGO_TARGET_DIR` when that is
/// set), creating the folder.
pub fn plot_path(file: &str) -> Res<PathBuf> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("gradsign-plots");
    std::fs::create_dir_all(&dir)?;
    Ok(dir.join(file))
}

/// Prints a table with columns padded to their widest cell: the first
/// column left-aligned, the others right-aligned.
pub fn print_table(headers: &[&str], rows: &[Vec<String>]) {
    let width = |c: usize| {
        rows.iter()
            .map(|r| r[c].chars().count())
            .chain([headers[c].chars().count()])
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..headers.len()).map(width).collect();
    let line = |cells: Vec<&str>| {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(c, (s, &w))| {
                let pad = w - s.chars().count();
                if c == 0 {
                    format!("{s}{}", " ".repeat(pad))
                } else {
                    format!("{}{s}", " ".repeat(pad))
                }
            })
            .collect();
        println!("  {}", parts.join("  "));
    };
    line(headers.to_vec());
    let rule: Vec<String> = widths.iter().map(|&w| "─".repeat(w)).collect();
    line(rule.iter().map(String::as_str).collect());
    for r in rows {
        line(r.iter().map(String::as_str).collect());
    }
}

/// [`print_table`] with the headers given as one `|`-separated string.
pub fn table(headers: &str, rows: &[Vec<String>]) {
    print_table(&headers.split('|').collect::<Vec<_>>(), rows);
}

/// A share as a whole percentage, "42%".
pub fn pct(share: f64) -> String {
    format!("{:.0}%", 100.0 * share)
}

/// The median of `values` (the upper one of an even count).
pub fn median<T: Ord + Copy>(mut values: Vec<T>) -> T {
    values.sort_unstable();
    values[values.len() / 2]
}

/// A colour-blind-safe palette (Okabe–Ito).
pub const PALETTE: [RGBColor; 7] = [
    RGBColor(0, 114, 178),   // blue
    RGBColor(213, 94, 0),    // vermillion
    RGBColor(0, 158, 115),   // bluish green
    RGBColor(204, 121, 167), // reddish purple
    RGBColor(230, 159, 0),   // orange
    RGBColor(86, 180, 233),  // sky blue
    RGBColor(0, 0, 0),       // black
];

/// The pieces of a polyline that lie inside `[x0, x1] × [y0, y1]`: points
/// outside are dropped and the line is cut there, so a curve never spills
/// over the plot's frame.
pub fn clip(points: &[(f64, f64)], x: (f64, f64), y: (f64, f64)) -> Vec<Vec<(f64, f64)>> {
    let inside = |p: &(f64, f64)| p.0 >= x.0 && p.0 <= x.1 && p.1 >= y.0 && p.1 <= y.1;
    let mut pieces = vec![Vec::new()];
    for p in points {
        if inside(p) {
            pieces.last_mut().expect("never empty").push(*p);
        } else if !pieces.last().expect("never empty").is_empty() {
            pieces.push(Vec::new());
        }
    }
    pieces.retain(|p| p.len() > 1);
    pieces
}

/// Formats an optional step count: the number, or "—" with what happened.
pub fn steps_or(steps: Option<usize>, none: &str) -> String {
    steps.map_or_else(|| none.to_string(), |s| s.to_string())
}

/// One pair of bars per layer: the share of one-signed per-example rows
/// and of one-signed batch rows, in percent.
pub fn coherence_bars(
    path: &std::path::Path,
    title: &str,
    names: &[String],
    per_example: &[f64],
    batch: &[f64],
) -> Res {
    use plotters::prelude::*;
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
    let series = [
        ("per-example rows one-signed", PALETTE[0], per_example),
        ("batch rows Σ_n Δ_nj·a_n one-signed", PALETTE[1], batch),
    ];
    for (s, (name, colour, values)) in series.into_iter().enumerate() {
        let x0 = 0.15 + 0.35 * s as f64;
        chart
            .draw_series(values.iter().enumerate().map(|(i, &v)| {
                Rectangle::new(
                    [(i as f64 + x0, 0.0), (i as f64 + x0 + 0.33, 100.0 * v)],
                    colour.filled(),
                )
            }))?
            .label(name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], colour.filled()));
        chart.draw_series(values.iter().enumerate().map(|(i, &v)| {
            Text::new(
                format!("{:.0}%", 100.0 * v),
                (i as f64 + x0 + 0.04, 100.0 * v + 6.0),
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

/// `v` with `digits` significant digits, without an exponent (plot labels).
pub fn sig(v: f64, digits: i32) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let places = (digits - 1 - v.abs().log10().floor() as i32).max(0) as usize;
    format!("{v:.places$}")
}

/// The legend box the examples' charts share: translucent white, a thin
/// grey border, 13-point labels, at `position`.
pub fn legend<'a, 'b: 'a>(
    chart: &mut plotters::chart::ChartContext<
        'a,
        plotters::backend::SVGBackend<'b>,
        plotters::coord::cartesian::Cartesian2d<
            plotters::coord::types::RangedCoordf64,
            plotters::coord::types::RangedCoordf64,
        >,
    >,
    position: plotters::chart::SeriesLabelPosition,
) -> Res {
    use plotters::style::{BLACK, Color, WHITE};
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font(("sans-serif", 13))
        .draw()?;
    Ok(())
}

/// How a legend entry drawn by [`key_strip`] shows its series.
#[derive(Clone, Copy)]
pub enum Key {
    /// A solid line.
    Line(RGBColor),
    /// A thin dashed line.
    Dashed(RGBColor),
    /// A line through a hollow circle of this radius.
    Ring(RGBColor, u32),
    /// A line through a filled circle of this radius.
    Dot(RGBColor, u32),
    /// A filled block, for a bar.
    Block(RGBColor),
}

/// A legend drawn beside a chart instead of over it: the entries in rows of
/// `columns`, each a 26-pixel sample and its label.
pub fn key_strip(
    area: &plotters::drawing::DrawingArea<
        plotters::backend::SVGBackend<'_>,
        plotters::coord::Shift,
    >,
    entries: &[(String, Key)],
    columns: usize,
) -> Res {
    use plotters::prelude::*;
    let (w, _) = area.dim_in_pixel();
    let col = (w as i32 - 20) / columns.max(1) as i32;
    for (i, (label, key)) in entries.iter().enumerate() {
        let (x, y) = (
            10 + col * (i % columns) as i32,
            12 + 20 * (i / columns) as i32,
        );
        let line = vec![(x, y), (x + 26, y)];
        match *key {
            Key::Line(c) => area.draw(&PathElement::new(line, c.stroke_width(2)))?,
            Key::Dashed(c) => area.draw(&plotters::element::DashedPathElement::new(
                line,
                4,
                3,
                c.stroke_width(1),
            ))?,
            Key::Ring(c, r) => {
                area.draw(&PathElement::new(line, c.stroke_width(2)))?;
                area.draw(&Circle::new((x + 13, y), r, c.stroke_width(2)))?;
            }
            Key::Dot(c, r) => {
                area.draw(&PathElement::new(line, c.stroke_width(2)))?;
                area.draw(&Circle::new((x + 13, y), r, c.filled()))?;
            }
            Key::Block(c) => {
                area.draw(&Rectangle::new(
                    [(x + 6, y - 5), (x + 20, y + 5)],
                    c.filled(),
                ))?;
            }
        }
        area.draw(&Text::new(
            label.clone(),
            (x + 34, y - 7),
            ("sans-serif", 13).into_font(),
        ))?;
    }
    Ok(())
}
