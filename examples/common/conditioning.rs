//! Example 05's figure: the spectra raw and centred, κ against the width,
//! and the error along the top eigenvector flipping sign.

use std::path::Path;

use gradsign::curvature::spectrum::MomentSpectrum;
use plotters::prelude::*;

use super::{PALETTE, Res, steps_or};

/// One input width: spectra, step counts and the bound.
pub struct Width {
    /// The width `n`.
    pub n: usize,
    /// The population `κ = 3n + 1`.
    pub kappa: f64,
    /// The spectrum of the sample's `E[aaᵀ]`.
    pub raw: MomentSpectrum,
    /// The spectrum of the sample's `Cov(a)`.
    pub centred: MomentSpectrum,
    /// Gradient-descent steps on the raw inputs.
    pub raw_steps: Option<usize>,
    /// Gradient-descent steps on the centred inputs.
    pub centred_steps: Option<usize>,
    /// `⌈ln tol / ln(1 − 1/κ)⌉` with the sample's κ.
    pub bound: f64,
}

/// The error along the top eigenvector at one step size `η = rate/λmax`.
pub struct Flip {
    /// `r` in `η = r/λmax`.
    pub rate: f64,
    /// `(w − w*)·v₁` before each step.
    pub components: Vec<f64>,
    /// Sign changes counted by the recorder.
    pub flips: usize,
}

/// The Euclidean distance `‖w − s‖`.
pub fn distance(w: &[f64], s: &[f64]) -> f64 {
    w.iter()
        .zip(s)
        .map(|(w, s)| (w - s).powi(2))
        .sum::<f64>()
        .sqrt()
}

/// The first table's row of one width: n, κ = 3n + 1, κ raw, κ centred,
/// cos(v₁, 1), steps raw, the bound, steps centred.
pub fn width_row(w: &Width) -> Vec<String> {
    let (r, c) = (&w.raw, &w.centred);
    vec![
        w.n.to_string(),
        format!("{:.0}", w.kappa),
        format!("{:.1}", r.condition_number),
        format!("{:.2}", c.condition_number),
        format!("{:.3}", r.top_alignment_with_ones),
        steps_or(w.raw_steps, "not reached"),
        format!("≤ {:.0}", w.bound),
        steps_or(w.centred_steps, "not reached"),
    ]
}

/// The second table's row at `η = r/λmax`: r, 1 − r, the measured ratio,
/// the sign flips in `steps`, the first five components.
pub fn flip_row(
    r: f64,
    ratio: Option<f64>,
    flips: usize,
    steps: usize,
    components: &[f64],
) -> Vec<String> {
    let first: Vec<String> = components[..5].iter().map(|v| format!("{v:+.3}")).collect();
    vec![
        format!("{r}"),
        format!("{:+.2}", 1.0 - r),
        ratio.map_or("—".into(), |q| format!("{q:+.6}")),
        format!("{flips} of {steps}"),
        first.join(" "),
    ]
}

/// Three panels: the spectra of `shown`, κ against n, the flip traces.
pub fn draw(path: &Path, shown: &Width, widths: &[Width], flips: &[Flip]) -> Res {
    let root = SVGBackend::new(path, (1380, 460)).into_drawing_area();
    root.fill(&WHITE)?;
    let panels = root.split_evenly((1, 3));
    let row = shown;
    // (a) spectra.
    let n = row.raw.eigenvalues.len();
    let all = row.raw.eigenvalues.iter().chain(&row.centred.eigenvalues);
    let lo = all.clone().fold(f64::INFINITY, |a, &b| a.min(b)) * 0.5;
    let hi = all.fold(0.0f64, |a, &b| a.max(b)) * 2.0;
    let mut chart = ChartBuilder::on(&panels[0])
        .caption(format!("eigenvalues, n = {}", row.n), ("sans-serif", 17))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(66)
        .build_cartesian_2d(0.5..n as f64 + 0.5, (lo..hi).log_scale())?;
    chart
        .configure_mesh()
        .light_line_style(WHITE.mix(0.0))
        .x_desc("index (ascending)")
        .y_desc("eigenvalue λ (log scale)")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .label_style(("sans-serif", 12))
        .axis_desc_style(("sans-serif", 14))
        .draw()?;
    for (s, name, colour) in [
        (&row.raw, "E[aaᵀ] (raw)", PALETTE[1]),
        (&row.centred, "Cov(a) (centred)", PALETTE[0]),
    ] {
        chart
            .draw_series(
                s.eigenvalues
                    .iter()
                    .enumerate()
                    .map(|(i, &l)| Circle::new(((i + 1) as f64, l), 5, colour.filled())),
            )?
            .label(format!("{name}: κ = {:.1}", s.condition_number))
            .legend(move |(a, b)| Circle::new((a + 8, b), 5, colour.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font(("sans-serif", 13))
        .draw()?;

    // (b) κ against n.
    let widest = widths.iter().map(|r| r.n).max().unwrap_or(1) as f64;
    let top = widths
        .iter()
        .map(|r| r.raw.condition_number.max(r.kappa))
        .fold(1.0f64, f64::max)
        * 1.5;
    let mut chart = ChartBuilder::on(&panels[1])
        .caption("condition number κ against width n", ("sans-serif", 17))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(66)
        .build_cartesian_2d(0.0..widest * 1.05, (0.8..top).log_scale())?;
    chart
        .configure_mesh()
        .light_line_style(WHITE.mix(0.0))
        .x_desc("input width n")
        .y_desc("condition number κ (log scale)")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .label_style(("sans-serif", 12))
        .axis_desc_style(("sans-serif", 14))
        .draw()?;
    chart
        .draw_series(LineSeries::new(
            (0..=100).map(|k| {
                let x = widest * k as f64 / 100.0;
                (x, 3.0 * x + 1.0)
            }),
            BLACK.mix(0.5).stroke_width(1),
        ))?
        .label("3n + 1 (population)")
        .legend(|(a, b)| PathElement::new(vec![(a, b), (a + 16, b)], BLACK.mix(0.5)));
    for (pick, name, colour) in [
        (true, "raw (sample)", PALETTE[1]),
        (false, "centred (sample)", PALETTE[0]),
    ] {
        chart
            .draw_series(widths.iter().map(|r| {
                let k = if pick {
                    r.raw.condition_number
                } else {
                    r.centred.condition_number
                };
                Circle::new((r.n as f64, k), 5, colour.filled())
            }))?
            .label(name)
            .legend(move |(a, b)| Circle::new((a + 8, b), 5, colour.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font(("sans-serif", 13))
        .draw()?;

    // (c) the error along v₁.
    let steps = flips.iter().map(|f| f.components.len()).max().unwrap_or(1) as f64 - 1.0;
    let amp = flips
        .iter()
        .flat_map(|f| f.components.iter())
        .fold(0.0f64, |a, &b| a.max(b.abs()))
        * 1.1;
    let mut chart = ChartBuilder::on(&panels[2])
        .caption("error along the top eigenvector v₁", ("sans-serif", 17))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(66)
        .build_cartesian_2d(0.0..steps, -amp..amp)?;
    chart
        .configure_mesh()
        .light_line_style(WHITE.mix(0.0))
        .x_desc("step")
        .y_desc("(w − w*)·v₁")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .label_style(("sans-serif", 12))
        .axis_desc_style(("sans-serif", 14))
        .draw()?;
    for (k, f) in flips.iter().enumerate() {
        let colour = PALETTE[(k + 2) % PALETTE.len()];
        let pts: Vec<(f64, f64)> = f
            .components
            .iter()
            .enumerate()
            .map(|(t, &v)| (t as f64, v))
            .collect();
        chart.draw_series(LineSeries::new(pts.clone(), colour.stroke_width(2)))?;
        chart
            .draw_series(pts.into_iter().map(|p| Circle::new(p, 3, colour.filled())))?
            .label(format!(
                "η = {}/λmax: ×{:+.1} per step, {} flips",
                f.rate,
                1.0 - f.rate,
                f.flips
            ))
            .legend(move |(a, b)| {
                PathElement::new(vec![(a, b), (a + 16, b)], colour.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font(("sans-serif", 13))
        .draw()?;
    root.present()?;
    Ok(())
}
