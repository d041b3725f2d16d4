//! Example 11's geometry of the first layer's block and its figure.

use std::path::Path;

use gradsign::Tensor;
use gradsign::curvature::Operator;
use gradsign::curvature::density::SpectralDensity;
use gradsign::curvature::spectrum::{Spectrum, feature_mean};
use plotters::prelude::*;

use super::{PALETTE, Res};

/// The unit mean of the augmented input `[x, 1]`: `m̂ = [x̄, 1]/‖[x̄, 1]‖`.
/// For centred inputs it is the bias direction alone.
pub fn mean_direction(x: &Tensor<f64>) -> Res<Vec<f64>> {
    let mut m = feature_mean(x)?;
    m.push(1.0);
    let norm = m.iter().map(|a| a * a).sum::<f64>().sqrt();
    Ok(m.into_iter().map(|a| a / norm).collect())
}

/// `u ⊗ m̂` laid out as a `Linear` block (weights `(out, in)` row-major,
/// then the biases).
fn embed(u: &[f64], m: &[f64]) -> Vec<f64> {
    let d = m.len() - 1;
    let mut v: Vec<f64> = u
        .iter()
        .flat_map(|&uj| m[..d].iter().map(move |&c| uj * c))
        .collect();
    v.extend(u.iter().map(|&uj| uj * m[d]));
    v
}

/// The projection of a block vector onto `{u ⊗ m̂}`: `uⱼ = [wⱼ, bⱼ]·m̂`.
fn project(v: &[f64], m: &[f64], neurons: usize) -> Vec<f64> {
    let d = m.len() - 1;
    let (w, b) = v.split_at(neurons * d);
    (0..neurons)
        .map(|j| {
            w[j * d..(j + 1) * d]
                .iter()
                .zip(m)
                .map(|(a, c)| a * c)
                .sum::<f64>()
                + b[j] * m[d]
        })
        .collect()
}

/// `‖P v‖/‖v‖` for `P` the projection onto `{u ⊗ m̂}`: how much of the
/// block vector `v` moves each neuron's weights along the mean input.
pub fn cosine_with_mean(v: &[f64], m: &[f64], neurons: usize) -> f64 {
    let p = project(v, m, neurons);
    let norm2 = |x: &[f64]| x.iter().map(|a| a * a).sum::<f64>();
    (norm2(&p) / norm2(v)).sqrt()
}

/// The largest curvature of the block operator `h` along a mean-input
/// direction: `max_u (u⊗m̂)ᵀ H (u⊗m̂)` over unit `u`, the top eigenvalue of
/// the `neurons × neurons` compression `Mⱼₖ = (eⱼ⊗m̂)ᵀ H (eₖ⊗m̂)`, from
/// `neurons` products.
pub fn curvature_along_mean(h: &impl Operator, m: &[f64], neurons: usize) -> Res<f64> {
    let mut compressed = Vec::with_capacity(neurons * neurons);
    let mut hv = vec![0.0; h.dim()];
    for k in 0..neurons {
        let e: Vec<f64> = (0..neurons).map(|j| f64::from(j == k)).collect();
        h.apply(&embed(&e, m), &mut hv)?;
        compressed.extend(project(&hv, m, neurons));
    }
    Ok(Spectrum::of(&Tensor::from_vec(compressed, &[neurons, neurons])?)?.largest())
}

/// One curve: its label, its density and its λmax.
pub type Curve<'d> = (&'d str, &'d SpectralDensity, f64);

/// One panel per network, raw and centred densities on a log axis, each
/// with its λmax marked by a dashed line; the density's floor is
/// `10⁻⁶` of the highest peak.
pub fn plot(path: &Path, title: &str, panels: &[(&str, [Curve<'_>; 2])]) -> Res {
    let root = SVGBackend::new(path, (1200, 440)).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, body) = root.split_vertically(36);
    top.titled(title, ("sans-serif", 19))?;
    let all = || panels.iter().flat_map(|(_, c)| c.iter());
    let lo = all().map(|c| c.1.grid[0]).fold(f64::INFINITY, f64::min);
    let hi = all()
        .map(|c| *c.1.grid.last().expect("a grid"))
        .fold(f64::NEG_INFINITY, f64::max);
    let peak = all()
        .flat_map(|c| c.1.density.iter().copied())
        .fold(0.0, f64::max);
    let floor = peak * 1e-6;
    for (area, (name, curves)) in body.split_evenly((1, panels.len())).iter().zip(panels) {
        let mut chart = ChartBuilder::on(area)
            .caption(*name, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(62)
            .build_cartesian_2d(lo..hi, (floor..peak * 3.0).log_scale())?;
        chart
            .configure_mesh()
            .x_desc("eigenvalue of the Hessian")
            .y_desc("spectral density (log scale)")
            .y_label_formatter(&|v| format!("{v:.0e}"))
            .draw()?;
        for (i, &(label, d, lmax)) in curves.iter().enumerate() {
            // The first curve wider, so that an identical second one shows.
            let (colour, width) = (PALETTE[i], 4 - 2 * i as u32);
            let points = d
                .grid
                .iter()
                .zip(&d.density)
                .map(|(&t, &f)| (t, f.max(floor)));
            chart
                .draw_series(LineSeries::new(points, colour.stroke_width(width)))?
                .label(format!("{label}: λmax = {lmax:.2}"))
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 20, y)], colour.stroke_width(2))
                });
            chart.draw_series(DashedLineSeries::new(
                [(lmax, floor), (lmax, peak * 3.0)],
                5,
                4,
                colour.stroke_width(1),
            ))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .border_style(BLACK)
            .background_style(WHITE.mix(0.9))
            .draw()?;
    }
    root.present()?;
    Ok(())
}
