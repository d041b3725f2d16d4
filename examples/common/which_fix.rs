//! Example 12's network, data, measurements and figure: one 2-16-16-1
//! sigmoid network on the spiral, each usual remedy for one-signed inputs
//! switched on alone. The figure test (`tests/figures/figures_which_fix.rs`) uses
//! the same pieces.

use std::path::Path;

use gradsign::activation::Activation::{self, Sigmoid};
use gradsign::analysis::GradientSignAnalyzer;
use gradsign::curvature::Likelihood;
use gradsign::curvature::natural::{Curvature, NaturalGradient};
use gradsign::curvature::spectrum::MomentSpectrum;
use gradsign::data::{Dataset, Playground, PlaygroundConfig, Standardizer};
use gradsign::nn::{self, BatchNorm, Init, LayerNorm, Linear, MeanOnlyBatchNorm};
use gradsign::nn::{Module, Sequential, WeightNormLinear};
use gradsign::{Tape, Tensor};

use super::Res;

/// Where the normalisation sits in each hidden layer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Placement {
    /// None.
    Plain,
    /// BatchNorm between the dense layer and the activation.
    BnBefore,
    /// BatchNorm after the activation.
    BnAfter,
    /// LayerNorm after the activation.
    LnAfter,
    /// Weight-normalised dense layer, then mean-only BatchNorm.
    WnMob,
}

/// 2-16-16-1 with `act` in the hidden layers and `norm` in each of them;
/// a sigmoid output. The same seeds for every variant.
pub fn network(act: Activation, norm: Placement) -> Res<Sequential<f64>> {
    use Placement::*;
    let mut net = Sequential::new();
    for (l, (i, o)) in [(2, 16), (16, 16)].into_iter().enumerate() {
        let seed = 10 + l as u64;
        if norm == WnMob {
            net.add(WeightNormLinear::init(i, o, Init::LecunNormal, true, seed)?);
            net.add(MeanOnlyBatchNorm::new(o)?);
        } else {
            net.add(Linear::init(i, o, Init::LecunNormal, true, seed)?);
        }
        if norm == BnBefore {
            net.add(BatchNorm::new(o)?);
        }
        net.add(act);
        match norm {
            BnAfter => net.add(BatchNorm::new(o)?),
            LnAfter => net.add(LayerNorm::new(&[o])?),
            _ => {}
        }
    }
    net.add(Linear::init(16, 1, Init::LecunNormal, true, 12)?);
    net.add(Sigmoid);
    Ok(net)
}

/// The spiral's 400 training and 100 held-out points, shifted into
/// `[0, 12]²` (one-signed, like raw pixels), and the same standardised
/// with the training set's statistics: `(raw, standardised)`, each
/// `(train, held out)`.
pub type Split = (Dataset<f64>, Dataset<f64>);

/// See [`Split`].
pub fn spiral() -> Res<(Split, Split)> {
    let mut cfg = PlaygroundConfig::default();
    (cfg.samples, cfg.seed) = (500, 1);
    let (train_raw, test_raw) = Playground::Spiral.generate::<f64>(&cfg)?.split(0.2, 2)?;
    let shift = |d: Dataset<f64>| d.map_features(|x| Ok(x.map(|v| v + 6.0)));
    let (train, test) = (shift(train_raw)?, shift(test_raw)?);
    let fit = Standardizer::fit(train.features())?;
    let standardise = |d: &Dataset<f64>| d.clone().map_features(|x| fit.transform(x));
    let std = (standardise(&train)?, standardise(&test)?);
    Ok(((train, test), std))
}

/// What one dense layer looks like at initialisation, on one batch.
#[derive(Clone, Copy, Debug)]
pub struct LayerAtInit {
    /// Share of one-signed per-example gradient rows.
    pub per_example: f64,
    /// Share of one-signed batch gradient rows.
    pub batch: f64,
    /// κ of the layer's input second moment `E[aaᵀ]`.
    pub kappa_moment: f64,
    /// κ of the layer's input covariance `Cov(a)`.
    pub kappa_cov: f64,
    /// `λmax(E[aaᵀ])/λmax(Cov(a))`: how far the mean direction lifts the
    /// top eigenvalue (1 for centred inputs).
    pub spike: f64,
}

/// Each dense layer's coherence and input conditioning on the first 64
/// training examples, at the network's current weights (training mode),
/// under the example's loss `mean (y − t)²`.
pub fn at_init(net: &Sequential<f64>, train: &Dataset<f64>) -> Res<Vec<LayerAtInit>> {
    let batch = train.select(&(0..64).collect::<Vec<_>>())?;
    let tape = Tape::new();
    let (y, trace) = nn::forward(net, &tape, tape.constant(batch.features()))?;
    let loss = (y - tape.constant(batch.targets())).square().mean()?;
    let analyzer = GradientSignAnalyzer::default().with_curvature(true);
    let report = analyzer.analyze(&trace, &loss.backward()?)?;
    let top = |m: &MomentSpectrum| m.eigenvalues.last().copied().unwrap_or(f64::NAN);
    let layer = |l: &gradsign::analysis::LayerReport| {
        let c = l
            .curvature
            .as_ref()
            .ok_or("the analyzer was asked for curvature")?;
        Ok(LayerAtInit {
            per_example: l.per_example_coherence(),
            batch: l.batch_coherence(),
            kappa_moment: c.raw.condition_number,
            kappa_cov: c.centred.condition_number,
            spike: top(&c.raw) / top(&c.centred),
        })
    };
    report.layers.iter().map(layer).collect()
}

/// The share of held-out points classified right (output > ½ is class 1),
/// in evaluation mode.
pub fn accuracy(net: &mut Sequential<f64>, test: &Dataset<f64>) -> Res<f64> {
    net.set_training(false);
    let p = nn::predict(&*net, test.features())?;
    let hits = p.as_slice().iter().zip(test.labels());
    let right = hits.filter(|&(&y, &c)| usize::from(y > 0.5) == c).count();
    Ok(right as f64 / test.len() as f64)
}

/// `mean (y − t)²` of the whole of `data`.
pub fn full_mse(net: &Sequential<f64>, data: &Dataset<f64>) -> Res<f64> {
    let p = nn::predict(net, data.features())?;
    let pairs = p.as_slice().iter().zip(data.targets().as_slice());
    Ok(pairs.map(|(y, t)| (y - t) * (y - t)).sum::<f64>() / data.len() as f64)
}

/// Full-batch natural gradient `θ ← θ − η(F + λI)⁻¹∇L` with the Fisher of
/// a unit-variance Gaussian on the outputs (for this loss the Gauss–Newton
/// matrix `JᵀJ/B`), for `steps` steps: the full-batch `mean (y − t)²`
/// before each step and after the last.
pub fn natural_gradient(
    net: &mut Sequential<f64>,
    train: &Dataset<f64>,
    (eta, damping, steps): (f64, f64, usize),
) -> Res<Vec<f64>> {
    let ng = NaturalGradient::new(eta, damping, Curvature::Fisher)?;
    let x: &Tensor<f64> = train.features();
    let mut losses = vec![full_mse(net, train)?];
    for _ in 0..steps {
        ng.step(net, Likelihood::Gaussian, x, train.targets())?;
        losses.push(full_mse(net, train)?);
    }
    Ok(losses)
}

/// The number of parameters of a model.
pub fn parameters(net: &Sequential<f64>) -> Res<usize> {
    let mut n = 0;
    net.visit(&mut nn::Visitor::new(&mut |_, t| {
        n += t.numel();
        Ok(())
    }))?;
    Ok(n)
}

/// One variant's training curve and coherence at initialisation.
pub struct Curve {
    /// The variant's name.
    pub name: String,
    /// The loss per epoch (per full-batch step for natural gradient).
    pub losses: Vec<f64>,
    /// Per dense layer at initialisation.
    pub layers: Vec<LayerAtInit>,
}

/// Two panels: the training loss per epoch of every variant against the
/// target, and each variant's share of one-signed per-example rows per
/// dense layer at initialisation; one legend below both.
pub fn draw(path: &Path, curves: &[Curve], target: f64) -> Res {
    let layers = curves.first().map_or(0, |c| c.layers.len());
    let shares = curves
        .iter()
        .map(|c| c.layers.iter().map(|l| l.per_example).collect());
    super::loss_bars::draw(
        path,
        &super::loss_bars::Losses {
            names: curves.iter().map(|c| c.name.clone()).collect(),
            losses: curves.iter().map(|c| c.losses.clone()).collect(),
            target,
            x_desc: "epoch (natural gradient: full-batch step), log scale",
            y_desc: "mean (y − t)², log scale",
        },
        &super::loss_bars::Bars {
            title: "one-signed per-example gradient rows, at init",
            x_desc: "share of neuron rows (%), 64 training examples",
            series: (0..layers).map(|l| format!("dense layer {l}")).collect(),
            shares: shares.collect(),
        },
    )
}
