//! `train` drives models with BatchNorm: no probe pass of one example
//! (which a training-mode BatchNorm refuses), and the running statistics
//! move exactly once per step.

use gradsign::Tensor;
use gradsign::activation::Activation;
use gradsign::data::Dataset;
use gradsign::nn::{BatchNorm, Init, Linear, Sequential};
use gradsign::optim::Sgd;
use gradsign::train::{TrainConfig, train};

#[test]
fn train_runs_a_batch_norm_model_and_moves_its_statistics_once_per_step() {
    let x = Tensor::<f64>::rand_uniform(&[8, 2], 1.0, 3.0, 1).unwrap();
    let labels: Vec<usize> = (0..8).map(|i| i % 2).collect();
    let data = Dataset::new(x.clone(), labels).unwrap();
    let mut net = Sequential::new()
        .push(BatchNorm::new(2).unwrap().with_momentum(0.5).unwrap())
        .push(Linear::init(2, 1, Init::LecunNormal, true, 2).unwrap())
        .push(Activation::Sigmoid);
    let config = TrainConfig::default()
        .epochs(3)
        .batch_size(8)
        .shuffle(false);
    let report = train(
        &mut net,
        &mut Sgd::new(0.1),
        &data,
        &config,
        |out, b| (out - b.targets_on(out.tape())?).square().mean(),
        &mut |info: gradsign::train::StepInfo| assert!((0.0..=1.0).contains(&info.accuracy)),
    )
    .unwrap();
    assert_eq!(report.steps, 3);
    // Three full-batch steps on the same inputs: (1 − 0.5³)·μ.
    let bn = net.layer::<BatchNorm<f64>>(0).unwrap();
    for (c, &m) in bn.running_mean().iter().enumerate() {
        let mu = (0..8).map(|b| x.as_slice()[2 * b + c]).sum::<f64>() / 8.0;
        assert!(
            (m - 0.875 * mu).abs() <= 1e-14 * mu.abs(),
            "channel {c}: {m} vs {}",
            0.875 * mu
        );
    }
}
