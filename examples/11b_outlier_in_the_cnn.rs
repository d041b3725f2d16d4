//! 11b — the outlier in a convolutional network. Example 11 found the
//! input mean's outlier in an MLP's Hessian. A convolution is the dense
//! layer it is at every position, fed the image's patches: on raw digits
//! (pixels 0–16, all ≥ 0) every patch is one-signed, and the mean patch
//! plays the mean input's part. A small CNN (conv 3×3 1→4, activation,
//! max-pool, linear → 10), trained briefly by full-batch SGD, with sigmoid,
//! tanh and BatchNorm after the convolution, on raw and per-pixel centred
//! digits; then, matrix-free on exact Hessian-vector products: the top
//! eigenvalues (Lanczos), how much of the convolution's top curvature
//! moves every filter along the mean patch, 2/λmax against the learning
//! rate, and the spectral density (stochastic Lanczos quadrature).
//!
//! ```sh
//! cargo run --release --example 11b_outlier_in_the_cnn
//! ```

mod common;

use common::outlier::{self, Curve, EXAMPLES, FILTERS, KERNEL};
use common::outlier::{cosine_with_mean, curvature_along_mean, mean_direction};
use common::{Res, plot_path, table};
use gradsign::Tape;
use gradsign::activation::Activation::{Sigmoid, Tanh};
use gradsign::curvature::density::{SlqConfig, slq};
use gradsign::curvature::lanczos::{LanczosConfig, lanczos};
use gradsign::curvature::{Curvature, Likelihood, Objective};
use gradsign::ops::conv::Window;

const RATE: f64 = 0.1;
const EPOCHS: usize = 300;
const PROBES: usize = 10;
const STEPS: usize = 40;

fn main() -> Res {
    let nets = [
        ("sigmoid", Sigmoid, false),
        ("tanh", Tanh, false),
        ("BatchNorm + sigmoid", Sigmoid, true),
    ];
    let (mut rows, mut densities, mut found) = (vec![], vec![], vec![]);
    let mut params = (usize::MAX, 0);
    for &(net_name, act, bn) in &nets {
        for (input, centre) in [("raw", false), ("centred", true)] {
            let data = outlier::digits_subset(EXAMPLES, centre)?;
            let mut net = outlier::cnn(act, bn)?;
            outlier::train_full_batch(&mut net, &data, RATE, EPOCHS)?;

            // The whole network's Hessian as an operator: its top 3 pairs.
            let (x, y) = (data.features(), data.targets());
            let objective = Objective::new(&net, Likelihood::Categorical, x, y)?;
            let p = objective.dim()?;
            params = (params.0.min(p), params.1.max(p));
            let h = objective.operator(Curvature::Hessian)?;
            let top = lanczos(&h, &LanczosConfig::largest(3).tolerance(1e-6).seed(7))?;
            let l = &top.eigenvalues;
            // The convolution's block (layer "1"; layer "0" is the reshape).
            let conv = objective.clone().only("1")?;
            let conv = conv.operator(Curvature::Hessian)?;
            let block = lanczos(&conv, &LanczosConfig::largest(1).tolerance(1e-6).seed(7))?;
            // The mean patch: the mean row of the im2col matrix, over every
            // example and position, that the filters multiply.
            let tape = Tape::new();
            let images = tape.constant(&x.clone().reshape(&[x.dims()[0], 1, 8, 8])?);
            let patches = images.unfold2d(KERNEL, &Window::default())?.value();
            let m = mean_direction(&patches)?;
            let along = curvature_along_mean(&conv, &m, FILTERS)?;
            let cos = cosine_with_mean(&block.eigenvectors[0], &m, FILTERS);
            rows.push(vec![
                format!("{net_name}, {input}"),
                format!("{:.4}", objective.loss()?),
                format!("{:.3} {:.3} {:.3}", l[0], l[1], l[2]),
                format!("{:.3}", block.eigenvalues[0]),
                format!("{along:.3}").replace("-0.000", "0.000"),
                format!("{cos:.2}"),
                format!("{:.3}", 2.0 / l[0]),
                format!(
                    "{}{}",
                    top.applications,
                    if top.converged {
                        ""
                    } else {
                        " (not converged)"
                    }
                ),
            ]);
            found.push((l[0], block.eigenvalues[0], along, cos));
            let density = slq(&h, &SlqConfig::new(PROBES, STEPS).seed(5).points(600))?;
            densities.push((net_name, input, density, l[0]));
        }
    }
    println!(
        "Digits (first {EXAMPLES}), CNN 3×3 1→{FILTERS}, pool, linear → 10; softmax \
         cross-entropy, {EPOCHS} epochs of full-batch SGD, η = {RATE}."
    );
    table(
        "network, inputs|loss|top 3 eigenvalues of H|λmax conv|along mean patch¹|cos(v₁, m̂)²|2/λmax|HVPs",
        &rows,
    );
    println!(
        "  ¹ max over unit u of (u⊗m̂)ᵀH₁(u⊗m̂): H₁ the convolution's block of H, m̂ the unit mean\n    \
         of [patch, 1] over every example and position; the curvature of moving every filter\n    \
         along the mean patch. ² cosine of H₁'s top eigenvector with {{u⊗m̂}}. Centred per pixel,\n    \
         the mean patch is 0 and m̂ the bias alone, to which BatchNorm makes the loss flat. Raw,\n    \
         BatchNorm removes only each channel's mean shift, not u·m̂ᵀp's variation over patches,\n    \
         and per-pixel centring moves each position differently: unlike the MLP's, raw and\n    \
         centred are two networks here."
    );
    for (i, &(name, _, _)) in nets.iter().enumerate() {
        let (raw, cen) = (found[2 * i], found[2 * i + 1]);
        println!(
            "{name}: λmax raw/centred = {:.1}; the convolution's block {:.2} raw ({:.0}% of it \
             along the mean patch, cos {:.2}), {:.2} centred ({:.0}%, cos {:.2}).",
            raw.0 / cen.0,
            raw.1,
            100.0 * raw.2 / raw.1,
            raw.3,
            cen.1,
            (100.0 * cen.2 / cen.1).max(0.0),
            cen.3
        );
    }
    let worst = found.iter().map(|f| f.0).fold(0.0, f64::max);
    println!(
        "Full-batch SGD at η = {RATE} is stable while λmax < 2/η = {:.0}; the largest λmax here, \
         {worst:.2}, leaves a factor {:.1} of headroom.",
        2.0 / RATE,
        2.0 / RATE / worst
    );
    let path = plot_path("11b_outlier_in_the_cnn.svg")?;
    let panels: Vec<(&str, [Curve<'_>; 2])> = densities
        .chunks_exact(2)
        .map(|p| {
            (
                p[0].0,
                [(p[0].1, &p[0].2, p[0].3), (p[1].1, &p[1].2, p[1].3)],
            )
        })
        .collect();
    let title = format!(
        "Hessian spectral density after training, digits CNN, {EXAMPLES} images, {}–{} \
         parameters (SLQ, {PROBES} probes × {STEPS} steps)",
        params.0, params.1
    );
    outlier::plot(&path, &title, &panels)?;
    println!("density plot: {}", path.display());
    Ok(())
}
