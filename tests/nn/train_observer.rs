//! The training loop's observer (steps and epoch ends, which can stop the
//! run) and divergence as an outcome: `train` with an observer is the
//! hand-written minibatch loop, bit for bit.

use gradsign::activation::Activation;
use gradsign::data::{Dataset, LabelEncoding, Playground, PlaygroundConfig};
use gradsign::nn::{Mlp, Sequential};
use gradsign::optim::Sgd;
use gradsign::train::{
    Control, EpochInfo, Observer, OnDivergence, StepInfo, TrainConfig, TrainReport, train,
};
use gradsign::{Error, Result, Tape, Tensor, Var};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

fn gauss(samples: usize) -> Dataset<f64> {
    let cfg = PlaygroundConfig::default()
        .samples(samples)
        .noise(0.1)
        .encoding(LabelEncoding::PlusMinusOne)
        .seed(3);
    Playground::Gauss.generate(&cfg).unwrap()
}

fn net() -> Sequential<f64> {
    Mlp::builder(&[2, 5, 1])
        .hidden(Activation::Sigmoid)
        .seed(7)
        .build()
        .unwrap()
}

fn half_mse<'t>(out: Var<'t, f64>, b: &gradsign::train::Batch<'_, f64>) -> Result<Var<'t, f64>> {
    Ok((out - b.targets_on(out.tape())?).square().mean()? * 0.5)
}

fn full_loss(net: &Sequential<f64>, data: &Dataset<f64>) -> f64 {
    let p = gradsign::nn::predict(net, data.features()).unwrap();
    let y = data.targets().as_slice();
    p.as_slice()
        .iter()
        .zip(y)
        .map(|(p, t)| (p - t).powi(2))
        .sum::<f64>()
        / (2.0 * y.len() as f64)
}

/// Records the whole-set loss after every epoch, and stops below a target.
struct Evaluate<'a> {
    data: &'a Dataset<f64>,
    stop_below: f64,
    losses: Vec<f64>,
    epochs_seen: Vec<EpochInfo>,
}

impl Observer<Sequential<f64>> for Evaluate<'_> {
    fn on_epoch_end(&mut self, net: &Sequential<f64>, info: &EpochInfo) -> Result<Control> {
        let l = full_loss(net, self.data);
        self.losses.push(l);
        self.epochs_seen.push(*info);
        Ok(if l < self.stop_below {
            Control::Stop
        } else {
            Control::Continue
        })
    }
}

/// The minibatch loop written out by hand: the same shuffle stream, the
/// same batches, the same SGD, a whole-set evaluation after each epoch.
fn by_hand(
    data: &Dataset<f64>,
    epochs: usize,
    batch: usize,
    seed: u64,
    stop_below: f64,
) -> (Sequential<f64>, Vec<f64>) {
    let mut net = net();
    let mut opt = Sgd::new(0.5);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut order: Vec<usize> = (0..data.len()).collect();
    let mut losses = Vec::new();
    for _ in 0..epochs {
        order.shuffle(&mut rng);
        for chunk in order.chunks(batch) {
            let part = data.select(chunk).unwrap();
            let tape = Tape::new();
            let x = tape.constant(part.features());
            let y = tape.constant(part.targets());
            let (out, trace) = gradsign::nn::forward(&net, &tape, x).unwrap();
            let loss = (out - y).square().mean().unwrap() * 0.5;
            let grads = loss.backward().unwrap();
            gradsign::optim::Optimizer::step(&mut opt, &mut net, &trace, &grads).unwrap();
        }
        let l = full_loss(&net, data);
        losses.push(l);
        if l < stop_below {
            break;
        }
    }
    (net, losses)
}

fn config(epochs: usize, batch_size: usize, seed: u64) -> TrainConfig {
    TrainConfig::default()
        .epochs(epochs)
        .batch_size(batch_size)
        .seed(seed)
}

#[test]
fn train_with_an_epoch_observer_is_the_hand_written_loop_bit_for_bit() {
    let data = gauss(120);
    for stop_below in [0.0, 0.2] {
        let (expected, expected_losses) = by_hand(&data, 30, 16, 5, stop_below);
        let mut model = net();
        let mut eval = Evaluate {
            data: &data,
            stop_below,
            losses: vec![],
            epochs_seen: vec![],
        };
        let report = train(
            &mut model,
            &mut Sgd::new(0.5),
            &data,
            &config(30, 16, 5),
            half_mse,
            &mut eval,
        )
        .unwrap();
        assert_eq!(model, expected, "stop below {stop_below}");
        assert_eq!(eval.losses, expected_losses);
        assert_eq!(report.epoch_losses.len(), eval.losses.len());
        // 120 examples in batches of 16: 8 steps an epoch.
        let steps: Vec<usize> = eval.epochs_seen.iter().map(|e| e.steps).collect();
        let want: Vec<usize> = (1..=eval.losses.len()).map(|e| 8 * e).collect();
        assert_eq!(steps, want);
        assert_eq!(report.stopped_early, eval.losses.len() < 30);
        assert!(!report.diverged);
    }
    // The threshold was reached: the run with a target stopped early.
    assert!(by_hand(&data, 30, 16, 5, 0.2).1.len() < 30);
}

/// Stops after a number of steps.
struct StopAfter(usize);

impl Observer<Sequential<f64>> for StopAfter {
    fn on_step(&mut self, info: &StepInfo) -> Control {
        if info.step + 1 >= self.0 {
            Control::Stop
        } else {
            Control::Continue
        }
    }
}

#[test]
fn an_observer_can_stop_in_the_middle_of_an_epoch() {
    let data = gauss(100);
    let mut model = net();
    let report = train(
        &mut model,
        &mut Sgd::new(0.1),
        &data,
        &config(10, 10, 1),
        half_mse,
        &mut StopAfter(13),
    )
    .unwrap();
    assert_eq!(report.steps, 13);
    assert!(report.stopped_early);
    // Epoch 0 completed; epoch 1 did not, so it has no mean loss.
    assert_eq!(report.epoch_losses.len(), 1);
}

/// Fails at the end of the second epoch.
struct FailAtEpoch(usize);

impl Observer<Sequential<f64>> for FailAtEpoch {
    fn on_epoch_end(&mut self, _: &Sequential<f64>, info: &EpochInfo) -> Result<Control> {
        if info.epoch == self.0 {
            return Err(Error::Empty {
                op: "FailAtEpoch",
                shape: gradsign::Shape::vector(0),
            });
        }
        Ok(Control::Continue)
    }
}

#[test]
fn an_observer_error_ends_the_run_with_it() {
    let data = gauss(40);
    let e = train(
        &mut net(),
        &mut Sgd::new(0.1),
        &data,
        &config(5, 10, 1),
        half_mse,
        &mut FailAtEpoch(1),
    )
    .unwrap_err();
    assert!(e.to_string().contains("FailAtEpoch"), "{e}");
}

fn diverging(on_divergence: OnDivergence) -> (Result<TrainReport>, Sequential<f64>) {
    // Targets of 1e150 with a huge rate: the loss overflows within steps.
    let data = gauss(40);
    let n = data.len();
    let big = Dataset::with_targets(
        data.features().clone(),
        data.labels().to_vec(),
        Tensor::from_vec(vec![1e150; n], &[n, 1]).unwrap(),
    )
    .unwrap();
    let mut model = Mlp::builder(&[2, 3, 1]).seed(1).build::<f64>().unwrap();
    let cfg = config(50, 10, 2)
        .on_divergence(on_divergence)
        .threshold(0.0);
    let r = train(
        &mut model,
        &mut Sgd::new(1e3),
        &big,
        &cfg,
        half_mse,
        &mut |_| {},
    );
    (r, model)
}

#[test]
fn divergence_is_an_error_by_default_and_an_outcome_when_asked() {
    let (r, _) = diverging(OnDivergence::Error);
    assert!(matches!(r, Err(Error::NonFinite { .. })), "{r:?}");
    let (r, model) = diverging(OnDivergence::Stop);
    let report = r.unwrap();
    assert!(report.diverged);
    assert!(report.steps < 50 * 4, "stopped at step {}", report.steps);
    // All-or-nothing updates: the model keeps finite parameters.
    for (name, p) in gradsign::nn::named_parameters(&model).unwrap() {
        assert!(p.as_slice().iter().all(|v| v.is_finite()), "{name}");
    }
}

#[test]
fn a_closure_observer_sees_every_step() {
    let data = gauss(30);
    let mut seen = Vec::new();
    let report = train(
        &mut net(),
        &mut Sgd::new(0.1),
        &data,
        &config(3, 10, 1),
        half_mse,
        &mut |i: StepInfo| seen.push((i.epoch, i.step)),
    )
    .unwrap();
    assert_eq!(report.steps, 9);
    let want: Vec<(usize, usize)> = (0..9).map(|s| (s / 3, s)).collect();
    assert_eq!(seen, want);
}
