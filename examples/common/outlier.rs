//! Examples 11 and 11b: the geometry of the first layer's block, example
//! 11b's network and data, and the density figure. The block helpers take
//! a `Linear` block (weights `(out, in)` row-major, then the biases) or a
//! `Conv2d` block (filters `(out, in, kh, kw)` row-major, then the
//! biases): the same layout with the patch in place of the input.

use std::path::Path;

use gradsign::activation::Activation;
use gradsign::curvature::density::SpectralDensity;
use gradsign::curvature::spectrum::{Spectrum, feature_mean};
use gradsign::curvature::{Likelihood, Operator};
use gradsign::data::{Centering, Dataset, digits};
use gradsign::nn::{BatchNorm, Conv2d, Flatten, Init, Linear, MaxPool2d, Reshape, Sequential};
use gradsign::optim::Sgd;
use gradsign::train::{TrainConfig, train};
use gradsign::{Tensor, Var};
use plotters::prelude::*;

use super::{PALETTE, Res};

/// The unit mean of the augmented input `[x, 1]`: `m̂ = [x̄, 1]/‖[x̄, 1]‖`.
/// For centred inputs it is the bias direction alone. Given a
/// convolution's patch matrix (im2col), `x̄` is the mean patch.
pub fn mean_direction(x: &Tensor<f64>) -> Res<Vec<f64>> {
    let mut m = feature_mean(x)?;
    m.push(1.0);
    let norm = m.iter().map(|a| a * a).sum::<f64>().sqrt();
    Ok(m.into_iter().map(|a| a / norm).collect())
}

/// `u ⊗ m̂` laid out as a `Linear` or `Conv2d` block.
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
/// block vector `v` moves each neuron's (filter's) weights along the mean
/// input (patch).
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

/// Example 11b's CNN input side: 3×3 filters, stride 1, no padding.
pub const KERNEL: (usize, usize) = (3, 3);
/// Example 11b's filters in its one convolution.
pub const FILTERS: usize = 4;
/// Example 11b's images: the first 300 digits (a few seconds of HVPs).
pub const EXAMPLES: usize = 300;

/// Example 11b's CNN on an 8×8 image: reshape, conv 3×3 1→4 (6×6),
/// [BatchNorm over the 4 channels], `act`, max-pool 2×2 (3×3), flatten
/// (36), linear 36→10: 410 parameters (418 with BatchNorm). The
/// convolution is layer `"1"`.
pub fn cnn(act: Activation, batch_norm: bool) -> Res<Sequential<f64>> {
    let mut net = Sequential::new()
        .push(Reshape::new(&[1, 8, 8])?)
        .push(Conv2d::init(
            1,
            FILTERS,
            KERNEL,
            Init::LecunNormal,
            true,
            1,
        )?);
    if batch_norm {
        net.add(BatchNorm::new(FILTERS)?);
    }
    net.add(act);
    net.add(MaxPool2d::new((2, 2)));
    net.add(Flatten);
    net.add(Linear::init(FILTERS * 9, 10, Init::LecunNormal, true, 2)?);
    Ok(net)
}

/// The first `n` digits, pixels 0–16 as the data set gives them (`raw`),
/// or with each pixel's mean over those `n` subtracted, with one-hot
/// targets.
pub fn digits_subset(n: usize, centre: bool) -> Res<Dataset<f64>> {
    let all = digits::<f64>();
    let data = all.select(&(0..n.min(all.len())).collect::<Vec<_>>())?;
    let data = if centre {
        let centring = Centering::fit(data.features())?;
        data.map_features(|x| centring.transform(x))?
    } else {
        data
    };
    let targets = data.one_hot()?;
    Ok(Dataset::with_targets(
        data.features().clone(),
        data.labels().to_vec(),
        targets,
    )?)
}

/// Trains `net` for `epochs` of full-batch SGD at `rate` on softmax
/// cross-entropy; returns the last epoch's loss.
pub fn train_full_batch(
    net: &mut Sequential<f64>,
    data: &Dataset<f64>,
    rate: f64,
    epochs: usize,
) -> Res<f64> {
    let mut config = TrainConfig::default();
    (config.epochs, config.batch_size, config.seed) = (epochs, data.len(), 3);
    let report = train(
        net,
        &mut Sgd::new(rate),
        data,
        &config,
        |out: Var<'_, f64>, b| Likelihood::Categorical.loss(out, b.targets_on(out.tape())?),
        &mut |_| {},
    )?;
    Ok(report.epoch_losses.last().copied().unwrap_or(f64::NAN))
}
