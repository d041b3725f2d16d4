//! 12 — which fix fixes what: one network (2-16-16-1, sigmoid), one task
//! (the playground's spiral shifted to positive coordinates, one-signed
//! like raw pixels), one seed and budget, and each usual remedy for
//! one-signed inputs switched on alone. Per variant: each dense layer's
//! share of one-signed gradient rows at initialisation (per example / per
//! batch, from the analyzer), epochs to a target loss, held-out accuracy,
//! wall time. It shows this task, seed and budget only; natural gradient
//! is left out (example 07 measures it).
//!
//! ```sh
//! cargo run --release --example 12_which_fix
//! ```

mod common;

use common::{Res, print_table};
use gradsign::activation::Activation::{self, Sigmoid, Tanh};
use gradsign::analysis::{GradientSignAnalyzer, LayerReport};
use gradsign::data::{Dataset, Playground, PlaygroundConfig, Standardizer};
use gradsign::nn::{self, BatchNorm, Init, LayerNorm, Linear, MeanOnlyBatchNorm, Module};
use gradsign::nn::{Sequential, WeightNormLinear};
use gradsign::optim::{Adam, Optimizer, Sgd};
use gradsign::train::{Batch, TrainConfig, train};
use gradsign::{Tape, Var};

const TARGET: f64 = 0.05;
const EPOCHS: usize = 3000;
const HEADER: &str = "Spiral, 400 training / 100 held-out points, 2-16-16-1, SGD η = 0.5 \
    (Adam η = 0.01), batch 25, MSE on 0/1 targets.\n\
    Coherence: share of one-signed gradient rows of dense layer l at initialisation, \
    per example / per batch.";

#[derive(Clone, Copy, PartialEq)]
enum Placement {
    Plain,
    BnBefore,
    BnAfter,
    LnAfter,
    WnMob,
}
use Placement::*;

/// 2-16-16-1 with `act` in the hidden layers and `norm` in each of them.
fn network(act: Activation, norm: Placement) -> Res<Sequential<f64>> {
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

/// The mean squared error of a batch.
fn mse<'t>(out: Var<'t, f64>, b: &Batch<'_, f64>) -> gradsign::Result<Var<'t, f64>> {
    (out - b.targets_on(out.tape())?).square().mean()
}

/// One row of the table: coherence on 64 training examples at
/// initialisation, then training, the epoch reaching `TARGET`, accuracy.
fn run<O: Optimizer<f64>>(
    mut net: Sequential<f64>,
    mut opt: O,
    data: (&Dataset<f64>, &Dataset<f64>),
) -> Res<Vec<String>> {
    let (train_set, test) = data;
    let batch = train_set.select(&(0..64).collect::<Vec<_>>())?;
    let tape = Tape::new();
    let (y, trace) = nn::forward(&net.clone(), &tape, tape.constant(batch.features()))?;
    let loss = (y - tape.constant(batch.targets())).square().mean()?;
    let report = GradientSignAnalyzer::default().analyze(&trace, &loss.backward()?)?;
    let coherence = |l: &LayerReport| (l.per_example_coherence(), l.batch_coherence());
    let pairs = report.layers.iter().map(coherence);
    let mut row: Vec<String> = pairs.map(|(e, b)| format!("{e:.2} / {b:.2}")).collect();

    let started = std::time::Instant::now();
    let mut config = TrainConfig::default();
    (config.epochs, config.batch_size, config.seed) = (EPOCHS, 25, 3);
    let losses = train(&mut net, &mut opt, train_set, &config, mse, &mut |_| {})?.epoch_losses;
    let secs = started.elapsed().as_secs_f64();
    let reached = losses.iter().position(|&l| l <= TARGET);
    row.push(reached.map_or_else(|| "—".into(), |e| (e + 1).to_string()));

    net.set_training(false); // BatchNorm: the running statistics
    let p = nn::predict(&net, test.features())?;
    let hits = p.as_slice().iter().zip(test.labels());
    let right = hits.filter(|&(&y, &c)| usize::from(y > 0.5) == c).count();
    row.push(format!("{:.0}%", 100.0 * right as f64 / test.len() as f64));
    row.push(format!("{secs:.1} s"));
    Ok(row)
}

fn main() -> Res {
    let mut cfg = PlaygroundConfig::default();
    (cfg.samples, cfg.seed) = (500, 1);
    let (train_raw, test_raw) = Playground::Spiral.generate::<f64>(&cfg)?.split(0.2, 2)?;
    // Raw inputs: the coordinates shifted into [0, 12].
    let shift = |d: Dataset<f64>| d.map_features(|x| Ok(x.map(|v| v + 6.0)));
    let (train_set, test) = (shift(train_raw)?, shift(test_raw)?);
    let fit = Standardizer::fit(train_set.features())?;
    let standardise = |d: &Dataset<f64>| d.clone().map_features(|x| fit.transform(x));
    let (train_std, test_std) = (standardise(&train_set)?, standardise(&test)?);
    let (raw, std) = ((&train_set, &test), (&train_std, &test_std));

    let variants = [
        ("none (sigmoid, raw inputs)", Sigmoid, Plain, raw, false),
        ("standardised inputs", Sigmoid, Plain, std, false),
        ("tanh", Tanh, Plain, raw, false),
        ("BatchNorm before sigmoid", Sigmoid, BnBefore, raw, false),
        ("BatchNorm after sigmoid", Sigmoid, BnAfter, raw, false),
        ("LayerNorm after sigmoid", Sigmoid, LnAfter, raw, false),
        ("weight norm + mean-only BN", Sigmoid, WnMob, raw, false),
        ("Adam instead of SGD", Sigmoid, Plain, raw, true),
    ];
    println!("{HEADER}\nBudget {EPOCHS} epochs; target loss {TARGET}.\n");
    let mut rows = Vec::new();
    for (name, act, placement, data, adam) in variants {
        let net = network(act, placement)?;
        let mut row = vec![name.to_string()];
        row.extend(if adam {
            run(net, Adam::new(0.01), data)?
        } else {
            run(net, Sgd::new(0.5), data)?
        });
        rows.push(row);
    }
    let headers = "variant|layer 0|layer 1|layer 2|epochs to target|accuracy|time";
    print_table(&headers.split('|').collect::<Vec<_>>(), &rows);
    Ok(())
}
