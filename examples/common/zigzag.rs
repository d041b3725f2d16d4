//! Example 02's figure: loss contours, the SGD path and, for positive
//! inputs, the quadrants a step may enter.

use std::path::Path;

use gradsign::curvature::spectrum::Spectrum;
use gradsign::dynamics::NeuronTrajectory;
use gradsign::tensor::Tensor;
use plotters::prelude::*;

use super::{PALETTE, Res, clip, median, pct, sig, steps_or};

/// One SGD run: the path and what the trajectory recorder measured on it.
pub struct Run {
    /// The step size.
    pub eta: f64,
    /// `κ(E[xxᵀ])` of the run's data.
    pub kappa: f64,
    /// `w₀ … w_T`.
    pub path: Vec<[f64; 2]>,
    /// Steps to the tolerance, if reached.
    pub steps: Option<usize>,
    /// Path efficiency, the orthant of each update, cosines of consecutive ones.
    pub t: NeuronTrajectory,
}

/// The summary table's row of one run (headers: inputs, η, κ, steps to 1%,
/// path efficiency, updates in I/III, mean cosine of consecutive updates).
pub fn summary_row(name: &str, r: &Run) -> Vec<String> {
    vec![
        name.to_string(),
        format!("{:.3}", r.eta),
        format!("{:.1}", r.kappa),
        steps_or(r.steps, "not reached"),
        format!("{:.2}", r.t.path_efficiency.unwrap_or(1.0)),
        pct(r.t.orthants.one_signed_share().unwrap_or(0.0)),
        format!("{:+.2}", r.t.mean_cosine.unwrap_or(0.0)),
    ]
}

/// The median of runs' steps to the tolerance, "> max" when the median run
/// did not reach it.
pub fn median_cell(steps: Vec<Option<usize>>, max: usize) -> String {
    let m = median(steps.into_iter().map(|s| s.unwrap_or(max + 1)).collect());
    if m > max {
        format!("> {max}")
    } else {
        m.to_string()
    }
}

/// The panel of run `r` named by the first word of `name`, its contours
/// those of `moment`.
pub fn panel<'a>(name: &'a str, r: &'a Run, moment: Tensor<f64>) -> Panel<'a> {
    Panel {
        name: name.split(' ').next().unwrap_or(name),
        moment,
        path: &r.path,
        steps: r.steps,
        t: &r.t,
    }
}

/// One panel: a run and the `E[xxᵀ]` whose quadratic its loss is.
pub struct Panel<'a> {
    /// The kind of input ("positive", "centred").
    pub name: &'a str,
    /// Steps to the tolerance, if reached.
    pub steps: Option<usize>,
    /// The recorder's account of the path.
    pub t: &'a NeuronTrajectory,
    /// `E[xxᵀ]` (2 × 2): the full-data loss is `½(w − w*)ᵀ C (w − w*)`.
    pub moment: Tensor<f64>,
    /// `w₀ … w_T`.
    pub path: &'a [[f64; 2]],
}

/// The ellipse `{w : ½(w − w*)ᵀ C (w − w*) = level}`, closed:
/// `w = w* + √(2·level)·(cos θ·v₁/√λ₁ + sin θ·v₂/√λ₂)`.
fn contour(s: &Spectrum, target: [f64; 2], level: f64) -> Vec<(f64, f64)> {
    let (v1, v2) = (s.eigenvector(0), s.eigenvector(1));
    let r = (2.0 * level).sqrt();
    let (a, b) = (r / s.eigenvalues[0].sqrt(), r / s.eigenvalues[1].sqrt());
    (0..=400)
        .map(|k| {
            let t = std::f64::consts::TAU * k as f64 / 400.0;
            let (c, d) = (a * t.cos(), b * t.sin());
            (
                target[0] + c * v1[0] + d * v2[0],
                target[1] + c * v1[1] + d * v2[1],
            )
        })
        .collect()
}

/// Draws the panels side by side; the first is shaded with the quadrants
/// I and III around its first points.
pub fn draw(path: &Path, s: [f64; 2], t: [f64; 2], panels: &[Panel]) -> Res {
    let width = 600 * panels.len() as u32;
    let root = SVGBackend::new(path, (width, 640)).into_drawing_area();
    root.fill(&WHITE)?;
    let pad = 0.45;
    let x = (s[0].min(t[0]) - pad, s[0].max(t[0]) + pad);
    let y = (s[1].min(t[1]) - pad, s[1].max(t[1]) + pad);
    let inside = |p: &(f64, f64)| p.0 >= x.0 && p.0 <= x.1 && p.1 >= y.0 && p.1 <= y.1;
    let contour_colour = PALETTE[3].mix(0.55);
    for (i, (area, panel)) in root
        .split_evenly((1, panels.len()))
        .iter()
        .zip(panels)
        .enumerate()
    {
        let mut chart = ChartBuilder::on(area)
            .caption(
                format!(
                    "{} inputs: {} steps, {:.0}% in quadrants I/III",
                    panel.name,
                    super::steps_or(panel.steps, "no convergence"),
                    100.0 * panel.t.orthants.one_signed_share().unwrap_or(0.0)
                ),
                ("sans-serif", 19),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(48)
            .build_cartesian_2d(x.0..x.1, y.0..y.1)?;
        chart
            .configure_mesh()
            .light_line_style(WHITE.mix(0.0))
            .x_desc("w₁")
            .y_desc("w₂")
            .axis_desc_style(("sans-serif", 17))
            .label_style(("sans-serif", 13))
            .draw()?;

        // Contours at levels doubling from the start's loss, each labelled
        // with its loss at its highest visible point.
        let spectrum = Spectrum::of(&panel.moment)?;
        let m = panel.moment.as_slice();
        let e = [s[0] - t[0], s[1] - t[1]];
        let start_loss =
            0.5 * (e[0] * (m[0] * e[0] + m[1] * e[1]) + e[1] * (m[2] * e[0] + m[3] * e[1]));
        for k in -6..=4 {
            let level = start_loss * 2f64.powi(k);
            let ring = contour(&spectrum, t, level);
            for (j, piece) in clip(&ring, x, y).into_iter().enumerate() {
                let series =
                    chart.draw_series(LineSeries::new(piece, contour_colour.stroke_width(1)))?;
                if k == 0 && j == 0 {
                    series
                        .label("loss contours, levels ×2 apart (labelled with the loss)")
                        .legend(move |(a, b)| {
                            PathElement::new(
                                vec![(a, b), (a + 16, b)],
                                contour_colour.stroke_width(2),
                            )
                        });
                }
            }
            if k % 2 == 0 {
                let top = ring
                    .iter()
                    .filter(|p| inside(p) && p.1 < y.1 - 0.08)
                    .max_by(|p, q| p.1.total_cmp(&q.1));
                if let Some(&(a, b)) = top {
                    chart.draw_series([Text::new(
                        sig(level, 2),
                        (a, b + 0.01),
                        ("sans-serif", 11).into_font().color(&PALETTE[3]),
                    )])?;
                }
            }
        }

        if i == 0 {
            let side = 0.22;
            let fill = PALETTE[2].mix(0.18).filled();
            for p in panel.path.iter().take(4) {
                chart.draw_series([(side, side), (-side, -side)].map(|(dx, dy)| {
                    Rectangle::new([(p[0], p[1]), (p[0] + dx, p[1] + dy)], fill)
                }))?;
            }
            chart
                .draw_series(std::iter::empty::<Rectangle<(f64, f64)>>())?
                .label("quadrants I and III around wₜ (where a step may go)")
                .legend(|(a, b)| {
                    Rectangle::new([(a, b - 6), (a + 16, b + 6)], PALETTE[2].mix(0.35).filled())
                });
        }

        chart
            .draw_series(DashedLineSeries::new(
                [(s[0], s[1]), (t[0], t[1])],
                6,
                4,
                BLACK.stroke_width(1),
            ))?
            .label("the direct route w₀ → w*")
            .legend(|(a, b)| {
                // Two dashes, drawn relative to the legend's anchor.
                EmptyElement::at((a, b))
                    + PathElement::new(vec![(0, 0), (6, 0)], BLACK)
                    + PathElement::new(vec![(10, 0), (16, 0)], BLACK)
            });

        let colour = if i == 0 { PALETTE[1] } else { PALETTE[0] };
        let points: Vec<(f64, f64)> = panel.path.iter().map(|p| (p[0], p[1])).collect();
        for piece in clip(&points, x, y) {
            chart.draw_series(LineSeries::new(piece, colour.stroke_width(2)))?;
        }
        chart
            .draw_series(
                points
                    .iter()
                    .filter(|p| inside(p))
                    .map(|&p| Circle::new(p, 2, colour.filled())),
            )?
            .label(format!(
                "SGD path, efficiency {:.2}",
                panel.t.path_efficiency.unwrap_or(1.0)
            ))
            .legend(move |(a, b)| {
                PathElement::new(vec![(a, b), (a + 16, b)], colour.stroke_width(2))
            });
        chart.draw_series([
            Circle::new((s[0], s[1]), 6, BLACK.filled()),
            Circle::new((t[0], t[1]), 7, PALETTE[4].filled()),
        ])?;
        chart.draw_series([
            Text::new("w₀", (s[0] + 0.05, s[1] + 0.08), ("sans-serif", 17)),
            Text::new("w*", (t[0] + 0.06, t[1] + 0.08), ("sans-serif", 17)),
        ])?;
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK.mix(0.4))
            .label_font(("sans-serif", 13))
            .draw()?;
    }
    root.present()?;
    Ok(())
}
