//! Example 07's figure: excess loss per step of gradient descent and
//! natural gradient on raw and centred inputs, and the raw–centred gap of
//! their predictions.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{Key, PALETTE, Res, key_strip, steps_or};

/// One optimiser on one kind of input.
pub struct Run {
    /// "gradient descent, raw", …
    pub name: String,
    /// The step size.
    pub eta: f64,
    /// κ of the Fisher at θ = 0.
    pub kappa: f64,
    /// The loss before each step and after the last.
    pub losses: Vec<f64>,
    /// The predicted probabilities before each step and after the last.
    pub predictions: Vec<Vec<f64>>,
    /// The first step with `L − L* ≤ tolerance·(L₀ − L*)`.
    pub steps: Option<usize>,
}

/// The smallest loss any run reached (`L*` to rounding, when one run is
/// Newton's), after setting each run's `steps` to the first step with
/// `L − L* ≤ tolerance·(L₀ − L*)`.
pub fn settle(runs: &mut [Run], tolerance: f64) -> f64 {
    let optimum = runs
        .iter()
        .flat_map(|r| r.losses.clone())
        .fold(f64::INFINITY, f64::min);
    for r in runs {
        let start = r.losses[0] - optimum;
        r.steps = r
            .losses
            .iter()
            .position(|&l| l - optimum <= tolerance * start);
    }
    optimum
}

/// The table's row of one run: name, η, κ, steps to the tolerance, final
/// `L − L*`.
pub fn summary_row(r: &Run, optimum: f64) -> Vec<String> {
    let last = r.losses.last().copied().unwrap_or(f64::NAN) - optimum;
    vec![
        r.name.clone(),
        format!("{:.3}", r.eta),
        format!("{:.1}", r.kappa),
        steps_or(r.steps, "not reached"),
        format!("{last:.2e}"),
    ]
}

/// Per step, the largest difference of predicted probabilities between two
/// runs.
pub fn prediction_gap(a: &Run, b: &Run) -> Vec<f64> {
    let rows = a.predictions.iter().zip(&b.predictions);
    rows.map(|(p, q)| {
        p.iter()
            .zip(q)
            .map(|(p, q)| (p - q).abs())
            .fold(0.0, f64::max)
    })
    .collect()
}

/// The largest of a gap series (0 for none).
pub fn max_gap(v: &[f64]) -> f64 {
    v.iter().copied().fold(0.0f64, f64::max)
}

/// Excess losses below this are rounding: drawn on a labelled floor.
const LOSS_FLOOR: f64 = 1e-13;
/// Prediction gaps of exactly zero (or below this) are drawn on a floor.
const GAP_FLOOR: f64 = 1e-17;
const GREY: RGBColor = RGBColor(128, 128, 128);

/// Two log–log panels, the step axis as `step + 1` so that a 12-step run
/// and a 1,000-step run are both readable, each with its legend below it.
pub fn draw(path: &Path, runs: &[Run], optimum: f64, gaps: &[(&str, &[f64])]) -> Res {
    let root = SVGBackend::new(path, (1200, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(620);
    let ((left, left_key), (right, right_key)) =
        (left.split_vertically(490), right.split_vertically(490));
    let colours = [PALETTE[1], PALETTE[0], PALETTE[2], PALETTE[3]];
    // Natural gradient's two runs coincide: hollow large marks for raw,
    // small filled ones for centred.
    let keys = |c: RGBColor, i: usize| {
        [Key::Line(c), Key::Line(c), Key::Ring(c, 6), Key::Dot(c, 3)][i % 4]
    };
    let losses: Vec<(Vec<f64>, Key)> = runs
        .iter()
        .zip(colours)
        .enumerate()
        .map(|(i, (r, c))| (r.losses.iter().map(|l| l - optimum).collect(), keys(c, i)))
        .collect();
    panel(
        &left,
        "excess loss L − L* per step",
        "L − L*",
        &losses,
        LOSS_FLOOR,
    )?;
    let mut names: Vec<(String, Key)> = runs
        .iter()
        .zip(&losses)
        .map(|(r, l)| (r.name.clone(), l.1))
        .collect();
    names.push((
        "L − L* < 1e-13, rounding of L: on this floor".into(),
        Key::Dashed(GREY),
    ));
    key_strip(&left_key, &names, 2)?;

    // Marks are drawn on runs of at most 50 steps only; the keys say so.
    let key = |g: &[f64], c| {
        if g.len() <= 50 {
            Key::Dot(c, 3)
        } else {
            Key::Line(c)
        }
    };
    let series: Vec<(Vec<f64>, Key)> = gaps
        .iter()
        .zip([PALETTE[1], PALETTE[2]])
        .map(|(g, c)| (g.1.to_vec(), key(g.1, c)))
        .collect();
    let title = "max |p_raw − p_centred| per step";
    panel(
        &right,
        title,
        "largest gap of predicted probability",
        &series,
        GAP_FLOOR,
    )?;
    let mut names: Vec<(String, Key)> = gaps
        .iter()
        .zip(&series)
        .map(|(g, s)| (g.0.to_string(), s.1))
        .collect();
    names.push((
        "exactly 0 (or below 1e-17): on this floor".into(),
        Key::Dashed(GREY),
    ));
    key_strip(&right_key, &names, 2)?;
    root.present()?;
    Ok(())
}

fn panel(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    title: &str,
    y_desc: &str,
    series: &[(Vec<f64>, Key)],
    floor: f64,
) -> Res {
    let last = series.iter().map(|s| s.0.len()).max().unwrap_or(1) as f64 * 1.1;
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 17))
        .margin(12)
        .x_label_area_size(38)
        .y_label_area_size(64)
        .build_cartesian_2d((1.0..last).log_scale(), (floor / 3.0..1.0).log_scale())?;
    chart
        .configure_mesh()
        .light_line_style(WHITE.mix(0.0))
        .x_desc("step + 1 (log scale)")
        .y_desc(y_desc)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .label_style(("sans-serif", 12))
        .axis_desc_style(("sans-serif", 14))
        .draw()?;
    let floor_line = [(1.0, floor), (last, floor)];
    chart.draw_series(DashedLineSeries::new(
        floor_line,
        5,
        4,
        GREY.stroke_width(1),
    ))?;
    for (values, key) in series {
        let points: Vec<(f64, f64)> = values
            .iter()
            .enumerate()
            .map(|(s, &v)| ((s + 1) as f64, v.max(floor)))
            .collect();
        let (colour, mark) = match *key {
            Key::Line(c) | Key::Dashed(c) | Key::Block(c) => (c, None),
            Key::Ring(c, r) => (c, Some((r, c.stroke_width(2)))),
            Key::Dot(c, r) => (c, Some((r, c.filled()))),
        };
        chart.draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))?;
        // Marks only where they can be told apart (the short runs).
        if let Some((r, style)) = mark.filter(|_| points.len() <= 50) {
            chart.draw_series(points.into_iter().map(|p| Circle::new(p, r, style)))?;
        }
    }
    Ok(())
}
