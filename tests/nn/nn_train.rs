//! The training helper: shuffled minibatches, per-step callback, early stop.

use gradsign::activation::Activation;
use gradsign::data::{Dataset, LabelEncoding, Playground, PlaygroundConfig};
use gradsign::nn::{Init, Mlp};
use gradsign::optim::{Adam, Sgd};
use gradsign::train::{StepInfo, TrainConfig, TrainReport, train};
use gradsign::{Error, Result, Var};

fn circle() -> Dataset<f64> {
    let cfg = PlaygroundConfig::default()
        .samples(200)
        .noise(0.0)
        .encoding(LabelEncoding::PlusMinusOne)
        .seed(4);
    Playground::Circle.generate(&cfg).unwrap()
}

fn mse<'t>(out: Var<'t, f64>, b: &gradsign::train::Batch<'_, f64>) -> Result<Var<'t, f64>> {
    (out - b.targets_on(out.tape())?).square().mean()
}

fn run(config: &TrainConfig) -> (TrainReport, Vec<StepInfo>) {
    let data = circle();
    let mut mlp = Mlp::builder(&[2, 8, 1])
        .hidden(Activation::Tanh)
        .output(Activation::Tanh)
        .init(Init::LecunNormal)
        .seed(2)
        .build()
        .unwrap();
    let mut opt = Adam::new(0.03);
    let mut steps = Vec::new();
    let report = train(&mut mlp, &mut opt, &data, config, mse, &mut |s| {
        steps.push(s)
    })
    .unwrap();
    (report, steps)
}

#[test]
fn minibatch_training_learns_the_circle() {
    let config = TrainConfig::default().epochs(60).batch_size(20).seed(1);
    let (report, steps) = run(&config);
    // 200 examples in batches of 20: 10 steps an epoch, numbered 0, 1, 2, …
    assert_eq!(report.steps, 600);
    assert_eq!(steps.len(), 600);
    assert!(
        steps
            .iter()
            .enumerate()
            .all(|(i, s)| s.step == i && s.epoch == i / 10)
    );
    let last_epoch: f64 = steps[590..].iter().map(|s| s.accuracy).sum::<f64>() / 10.0;
    assert!(last_epoch >= 0.95, "accuracy {last_epoch}");
    assert!(
        report.epoch_losses[59] < report.epoch_losses[0] / 4.0,
        "{:?}",
        report.epoch_losses
    );
}

#[test]
fn the_same_seed_reproduces_the_run_and_another_seed_reshuffles() {
    let config = TrainConfig::default().epochs(3).batch_size(16).seed(9);
    let (a, _) = run(&config);
    let (b, _) = run(&config);
    assert_eq!(a, b);
    let (c, _) = run(&config.seed(10));
    assert_ne!(a.epoch_losses, c.epoch_losses);
}

#[test]
fn training_stops_at_the_first_epoch_below_the_loss_threshold() {
    let config = TrainConfig::default()
        .epochs(50)
        .batch_size(50)
        .stop_below(0.5);
    let (report, _) = run(&config);
    assert!(report.stopped_early);
    let n = report.epoch_losses.len();
    assert!(n < 50);
    assert!(report.epoch_losses[n - 1] < 0.5);
    assert!(report.epoch_losses[..n - 1].iter().all(|&l| l >= 0.5));
    assert_eq!(report.steps, 4 * n);
}

#[test]
fn a_batch_size_of_zero_is_an_error() {
    let data = circle();
    let mut mlp = Mlp::builder(&[2, 1])
        .hidden(Activation::Tanh)
        .output(Activation::Tanh)
        .init(Init::Zeros)
        .seed(0)
        .build()
        .unwrap();
    let config = TrainConfig::default().batch_size(0);
    let e = train(
        &mut mlp,
        &mut Sgd::new(0.1),
        &data,
        &config,
        mse,
        &mut |_| {},
    )
    .unwrap_err();
    assert!(matches!(e, Error::OutOfDomain { op: "train", .. }), "{e}");
}

#[test]
fn a_network_of_the_wrong_width_fails_on_the_first_step() {
    let data = circle();
    let mut mlp = Mlp::builder(&[3, 1])
        .hidden(Activation::Tanh)
        .output(Activation::Tanh)
        .init(Init::Zeros)
        .seed(0)
        .build()
        .unwrap();
    let e = train(
        &mut mlp,
        &mut Sgd::new(0.1),
        &data,
        &TrainConfig::default(),
        mse,
        &mut |_| {},
    )
    .unwrap_err();
    // The container names the layer that failed.
    assert!(
        matches!(&e, Error::Layer { layer: 0, source } if matches!(**source, Error::ShapeMismatch { .. })),
        "{e}"
    );
}

/// The playground's `0/1` labels with the default config: the accuracy the
/// loop reports is the true one. It used to apply a threshold of 0 to a
/// sigmoid output, which is always positive, and so reported the share of
/// class 1 (about 60 % here) for a network that classifies every example.
#[test]
fn the_default_threshold_follows_the_data_sets_label_coding() {
    let cfg = PlaygroundConfig::default()
        .samples(200)
        .noise(0.0)
        .encoding(LabelEncoding::ZeroOne)
        .seed(4);
    let data: Dataset<f64> = Playground::Gauss.generate(&cfg).unwrap();
    let mut mlp = Mlp::builder(&[2, 8, 1])
        .hidden(Activation::Tanh)
        .output(Activation::Sigmoid)
        .init(Init::LecunNormal)
        .seed(3)
        .build()
        .unwrap();
    let fit = TrainConfig::default()
        .epochs(200)
        .batch_size(200)
        .threshold(0.5);
    train(
        &mut mlp,
        &mut Adam::new(0.05),
        &data,
        &fit,
        mse,
        &mut |_| {},
    )
    .unwrap();
    // The accuracy of the fitted network, measured outside the loop.
    let tape = gradsign::Tape::new();
    let x = tape.constant(data.features());
    let (out, _) = gradsign::nn::forward(&mlp, &tape, x).unwrap();
    let truth = gradsign::metrics::accuracy(&out.value(), data.labels(), 0.5).unwrap();
    assert!(truth > 0.95, "the fit itself failed: {truth}");
    // One more full-batch step with the default threshold reports the
    // accuracy before its update: the same network, so the same number.
    let check = TrainConfig::default()
        .epochs(1)
        .batch_size(200)
        .shuffle(false);
    let mut seen = Vec::new();
    train(
        &mut mlp,
        &mut Adam::new(0.05),
        &data,
        &check,
        mse,
        &mut |i: StepInfo| seen.push(i.accuracy),
    )
    .unwrap();
    assert_eq!(seen, vec![truth]);
}
