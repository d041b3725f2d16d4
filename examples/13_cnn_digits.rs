//! 13 — The course's own setting: a small CNN on the handwritten digits.
//!
//! Pixels are non-negative and ReLU outputs are non-negative, so every
//! patch a convolution sees is one-signed. The theorem then holds per
//! output *position*: a filter's gradient from one position is
//! `δ_p·patch_p`, all of one sign. An example's gradient already sums its
//! positions, so it is mixed like a batch. This example trains the same
//! network on raw and centred pixels with ReLU, sigmoid and tanh (and with
//! BatchNorm after each convolution), and asks the analyzer for both
//! numbers per convolutional layer, with the conditioning of `E[patch
//! patchᵀ]`.
//!
//! Run: `cargo run --release --example 13_cnn_digits`

mod common;

use gradsign::activation::Activation;
use gradsign::analysis::GradientSignAnalyzer;
use gradsign::data::{Centering, Dataset, digits};
use gradsign::loss::{Reduction, softmax_cross_entropy};
use gradsign::metrics::accuracy;
use gradsign::nn::Sequential;
use gradsign::nn::{self, BatchNorm, Conv2d, Flatten, Init, Linear, MaxPool2d, Module, Reshape};
use gradsign::ops::conv::Window;
use gradsign::optim::Sgd;
use gradsign::train::{TrainConfig, train};
use gradsign::{Result, Tape};

use common::loss_bars::{cnn_row, draw_cnn};

/// 8×8 image → conv 3×3 1→8 → [BN] → f → pool → conv 3×3 8→16 → [BN] → f
/// → pool → linear 64→10.
fn network(f: Activation, batch_norm: bool, seed: u64) -> Result<Sequential<f32>> {
    let conv = |c, o, s| -> Result<Conv2d<f32>> {
        Ok(Conv2d::init(c, o, (3, 3), Init::HeNormal, true, s)?
            .with_window(Window::default().padding(1)))
    };
    let mut net = Sequential::new()
        .push(Reshape::new(&[1, 8, 8])?)
        .push(conv(1, 8, seed)?);
    if batch_norm {
        net.add(BatchNorm::new(8)?);
    }
    net.add(f);
    net.add(MaxPool2d::new((2, 2)));
    net.add(conv(8, 16, seed + 1)?);
    if batch_norm {
        net.add(BatchNorm::new(16)?);
    }
    net.add(f);
    net.add(MaxPool2d::new((2, 2)));
    net.add(Flatten);
    net.add(Linear::init(
        16 * 2 * 2,
        10,
        Init::LecunNormal,
        true,
        seed + 2,
    )?);
    Ok(net)
}

/// Per conv layer: (per-position coherence, per-example coherence, κ of
/// `E[patch patchᵀ]`), from one batch's gradients.
fn conv_signs(net: &Sequential<f32>, data: &Dataset<f32>) -> Result<Vec<(f64, f64, f64)>> {
    let batch = data.select(&(0..256).collect::<Vec<_>>())?;
    let tape = Tape::new();
    let (out, trace) = nn::forward(net, &tape, tape.constant(batch.features()))?;
    let grads = softmax_cross_entropy(out, batch.labels(), Reduction::Mean)?.backward()?;
    let report = GradientSignAnalyzer::default()
        .with_curvature(true)
        .analyze(&trace, &grads)?;
    Ok(report
        .layers
        .iter()
        .filter(|l| l.positions > 1)
        .map(|l| {
            let summed = l
                .per_example_summed
                .map_or(f64::NAN, |c| c.coherent_share());
            let kappa = l
                .curvature
                .as_ref()
                .map_or(f64::NAN, |c| c.raw.condition_number);
            (l.per_example_coherence(), summed, kappa)
        })
        .collect())
}

fn main() -> common::Res {
    // Pixels 0–16 scaled to [0, 1]: still all ≥ 0, as a camera gives them.
    let all = digits::<f32>().map_features(|x| Ok(x.map(|p| p / 16.0)))?;
    let (train_raw, test_raw) = all.split(0.2, 1)?;
    let centring = Centering::fit(train_raw.features())?;
    let centred = |d: &Dataset<f32>| d.clone().map_features(|x| centring.transform(x));
    let (train_c, test_c) = (centred(&train_raw)?, centred(&test_raw)?);
    let config = TrainConfig::default().epochs(30).batch_size(32).seed(3);
    let target = 0.3;
    let variants = [
        ("ReLU, raw pixels", Activation::Relu, false, false),
        ("ReLU, centred pixels", Activation::Relu, true, false),
        ("sigmoid, raw", Activation::Sigmoid, false, false),
        ("sigmoid, centred", Activation::Sigmoid, true, false),
        ("tanh, raw", Activation::Tanh, false, false),
        ("tanh, centred", Activation::Tanh, true, false),
        ("ReLU + BatchNorm, raw", Activation::Relu, false, true),
    ];
    let (mut rows, mut names, mut losses, mut shares) = (vec![], vec![], vec![], vec![]);
    for (name, f, centre, bn) in variants {
        let (train_set, test_set) = if centre {
            (&train_c, &test_c)
        } else {
            (&train_raw, &test_raw)
        };
        let mut net = network(f, bn, 11)?;
        let report = train(
            &mut net,
            &mut Sgd::new(0.1),
            train_set,
            &config,
            |out, b| softmax_cross_entropy(out, b.labels, Reduction::Mean),
            &mut |_| {},
        )?;
        // The signs at the trained weights, in training mode (BatchNorm
        // normalises with the batch, as during training).
        let signs = conv_signs(&net, train_set)?;
        net.set_training(false);
        let acc = accuracy(
            &nn::predict(&net, test_set.features())?,
            test_set.labels(),
            0.0,
        )?;
        let first = report.epoch_losses.iter().position(|&l| l < target);
        let (c1, c2) = (signs[0], signs[1]);
        rows.push(cnn_row(name, first, acc, c1, c2));
        names.push(name.to_string());
        losses.push(report.epoch_losses);
        shares.push(vec![c1.0, c1.1, c2.0, c2.1]);
    }
    common::table(
        "variant|epochs|test acc|conv1 per-pos|per-example|κ(E[ppᵀ])|conv2 per-pos|per-example",
        &rows,
    );
    println!(
        "\nepochs: first epoch whose mean training loss is below {target}; per-pos: share of \
         one-signed per-position filter rows (exact for patches ≥ 0); per-example: the same for \
         each example's own gradient, a sum over positions."
    );
    let path = common::plot_path("13_cnn_digits.svg")?;
    draw_cnn(&path, names, losses, target, shares)?;
    println!("plot: {}", path.display());
    Ok(())
}
