//! 03 — the analyzer's report on iris, raw and standardised.
//!
//! Iris's four measurements are lengths in centimetres: every feature is
//! positive, so the first layer's weight-gradient rows are one-signed on
//! every example. The same tanh network and seed are trained on the raw
//! and on the standardised measurements; the `GradientSignAnalyzer` then
//! reports one full-batch gradient of each, with its diagnosis.
//!
//! ```sh
//! cargo run --release --example 03_sign_report
//! ```

mod common;

use common::sign_report::{Case, draw};
use common::{Res, plot_path, table};
use gradsign::activation::Activation;
use gradsign::analysis::GradientSignAnalyzer;
use gradsign::autodiff::Tape;
use gradsign::data::{Standardizer, iris};
use gradsign::loss::{Reduction, softmax_cross_entropy};
use gradsign::metrics::accuracy;
use gradsign::nn::{Init, Mlp};
use gradsign::optim::Sgd;
use gradsign::train::{TrainConfig, train};

const EPOCHS: usize = 60;
const SEED: u64 = 3;

fn main() -> Res {
    let raw = iris::<f64>();
    // Standardising: subtract each feature's mean, divide by its deviation.
    let scaler = Standardizer::fit(raw.features())?;
    let standardised = raw.clone().map_features(|x| scaler.transform(x))?;
    let (mut rows, mut cases) = (Vec::new(), Vec::new());
    for (name, data) in [("raw", &raw), ("standardised", &standardised)] {
        // 4 → 16 tanh → 3 logits, Glorot-uniform weights from the same seed.
        let mut mlp = Mlp::builder(&[data.width(), 16, data.classes()])
            .hidden(Activation::Tanh)
            .output(Activation::Identity)
            .init(Init::GlorotUniform)
            .seed(SEED)
            .build()?;
        let config = TrainConfig::default()
            .epochs(EPOCHS)
            .batch_size(16)
            .seed(SEED);
        let trained = train(
            &mut mlp,
            &mut Sgd::new(0.05),
            data,
            &config,
            |out, batch| softmax_cross_entropy(out, batch.labels, Reduction::Mean),
            &mut |_| {},
        )?;

        // One full-batch gradient after training: `forward` returns the
        // trace (each layer's input A and pre-activation), `backward` the
        // gradients, from which the analyzer reads every Δ = ∂L/∂z.
        let tape = Tape::new();
        let x = tape.constant(data.features());
        let (out, trace) = gradsign::nn::forward(&mlp, &tape, x)?;
        let grads = softmax_cross_entropy(out, data.labels(), Reduction::Mean)?.backward()?;
        let report = GradientSignAnalyzer::default().analyze(&trace, &grads)?;
        println!("══════ iris, {name} features ══════\n\n{report}");

        let acc = accuracy(&out.value(), data.labels(), 0.0)?;
        let last = trained.epoch_losses.last().copied().unwrap_or(f64::NAN);
        for l in &report.layers {
            rows.push(vec![
                name.to_string(),
                l.layer.map_or("—".into(), |i| i.to_string()),
                format!("{:.0}%", 100.0 * l.precondition.strictly_positive_share()),
                format!("{:.3}", l.per_example_coherence()),
                format!("{:.3}", l.batch_coherence()),
                format!("{:.1} of 2^{}", l.orthants.mean, l.orthants.dimension),
                format!("{last:.3}"),
                format!("{:.1}%", 100.0 * acc),
            ]);
        }
        cases.push(Case {
            name,
            losses: trained.epoch_losses,
            layers: report
                .layers
                .iter()
                .map(|l| {
                    (
                        l.per_example_coherence(),
                        l.batch_coherence(),
                        l.batch * l.fan_out,
                        l.fan_out,
                    )
                })
                .collect(),
        });
    }
    println!("Summary (one full-batch gradient after {EPOCHS} epochs of SGD):\n");
    table(
        "data|layer|examples with a > 0|per-example coherence|batch coherence|orthants per neuron|last epoch loss|train accuracy",
        &rows,
    );
    let path = plot_path("03_sign_report.svg")?;
    let cases: [Case; 2] = cases.try_into().map_err(|_| "two cases")?;
    draw(&path, &cases)?;
    println!("\nplot: {}", path.display());
    Ok(())
}
