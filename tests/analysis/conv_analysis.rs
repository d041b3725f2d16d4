//! The sign analysis of convolutional layers: exact per position (the
//! theorem's unit: one position's gradient `δ_p·patch_p`), already mixed
//! per example (a sum over positions), checked against gradients computed
//! one example at a time.

use gradsign::activation::Activation;
use gradsign::analysis::{GradientSignAnalyzer, SignCategory};
use gradsign::curvature::{Likelihood, Objective};
use gradsign::nn::{self, Conv2d, Flatten, Init, Linear, MaxPool2d, Sequential};
use gradsign::ops::conv::Window;
use gradsign::{Tape, Tensor};

/// conv 3×3 (C → 3, optional padding), ReLU, max-pool 2, flatten, linear → 2.
fn cnn(channels: usize, padding: usize, bias: bool, seed: u64) -> Sequential<f64> {
    let side = 6 + 2 * padding - 2; // conv output
    let pooled = side / 2;
    Sequential::new()
        .push(
            Conv2d::init(channels, 3, (3, 3), Init::HeNormal, bias, seed)
                .unwrap()
                .with_window(Window::default().padding(padding)),
        )
        .push(Activation::Relu)
        .push(MaxPool2d::new((2, 2)))
        .push(Flatten)
        .push(Linear::init(3 * pooled * pooled, 2, Init::LecunNormal, true, seed + 1).unwrap())
}

fn images(n: usize, channels: usize, lo: f64, hi: f64, seed: u64) -> Tensor<f64> {
    Tensor::rand_uniform(&[n, channels, 6, 6], lo, hi, seed).unwrap()
}

fn targets(n: usize) -> Tensor<f64> {
    let y: Vec<f64> = (0..2 * n).map(|i| ((i * 5 % 3) as f64) - 1.0).collect();
    Tensor::from_vec(y, &[n, 2]).unwrap()
}

/// The analyzer's report on the conv layer (layer 0) of `net` for `x`.
fn conv_report(net: &Sequential<f64>, x: &Tensor<f64>) -> gradsign::analysis::LayerReport {
    let tape = Tape::new();
    let (out, trace) = nn::forward(net, &tape, tape.constant(x)).unwrap();
    let loss = (out - tape.constant(&targets(x.dims()[0]))).square().sum();
    let grads = loss.backward().unwrap();
    GradientSignAnalyzer::default()
        .analyze(&trace, &grads)
        .unwrap()
        .layers
        .remove(0)
}

#[test]
fn with_positive_pixels_every_position_is_one_signed_and_examples_are_not() {
    let net = cnn(2, 0, true, 3);
    let x = images(8, 2, 0.1, 1.0, 4);
    let r = conv_report(&net, &x);
    // 4 × 4 output positions per example.
    assert_eq!(r.positions, 16);
    assert_eq!(r.batch, 8 * 16);
    assert_eq!((r.fan_in, r.fan_out), (2 * 9, 3));
    assert_eq!(r.precondition.strictly_positive, r.batch);
    // The theorem, per position: no mixed row, no violation.
    assert_eq!(r.theorem.violations, 0);
    assert!(r.theorem.rows_checked > 0);
    assert_eq!(r.per_example.mixed, 0, "{r}");
    assert!(r.per_example_coherence() == 1.0);
    // An example sums 16 positions whose δ differ in sign: mixed.
    let summed = r.per_example_summed.unwrap();
    assert_eq!(
        summed.positive
            + summed.negative
            + summed.weakly_positive
            + summed.weakly_negative
            + summed.zero
            + summed.mixed
            + summed.non_finite,
        8 * 3
    );
    assert!(summed.mixed > 0, "{summed:?}");
    let text = r.to_string();
    assert!(
        text.contains("convolution: 8 examples × 16 positions"),
        "{text}"
    );
    assert!(text.contains("per-position"), "{text}");
}

#[test]
fn centred_pixels_mix_the_signs_of_a_single_position() {
    let net = cnn(2, 0, false, 5);
    let x = images(8, 2, -1.0, 1.0, 6);
    let r = conv_report(&net, &x);
    assert_eq!(r.precondition.strictly_positive, 0);
    assert!(
        r.per_example_coherence() < 0.05,
        "{}",
        r.per_example_coherence()
    );
}

#[test]
fn per_example_categories_and_gradients_equal_those_of_each_example_alone() {
    for (bias, padding) in [(true, 0), (false, 1), (true, 1)] {
        let net = cnn(2, padding, bias, 7);
        let n = 5;
        let x = images(n, 2, 0.0, 1.0, 8);
        let y = targets(n);
        let r = conv_report(&net, &x);
        let objective = Objective::new(&net, Likelihood::Gaussian, &x, &y).unwrap();
        let per = objective.per_sample_gradients().unwrap();
        let p = objective.dim().unwrap();
        let names = objective.parameters().unwrap();
        // The conv layer's parameters come first: weight (3·18), bias (3).
        assert_eq!(names[0].0, "0.weight");
        let mut expected = gradsign::analysis::CategoryCounts::default();
        for e in 0..n {
            let xe =
                Tensor::from_slice(&x.as_slice()[e * 72..(e + 1) * 72], &[1, 2, 6, 6]).unwrap();
            let ye = Tensor::from_slice(&y.as_slice()[e * 2..(e + 1) * 2], &[1, 2]).unwrap();
            let alone = Objective::new(&net, Likelihood::Gaussian, &xe, &ye)
                .unwrap()
                .gradient()
                .unwrap();
            // The per-sample rows are each example's own gradient.
            for (i, (&got, &want)) in per.as_slice()[e * p..(e + 1) * p]
                .iter()
                .zip(&alone)
                .enumerate()
            {
                assert!(
                    (got - want).abs() <= 1e-12 * (1.0 + want.abs()),
                    "example {e}, parameter {i}: {got} vs {want}"
                );
            }
            // Filter j's row of this example: its 18 weights (and bias).
            for j in 0..3 {
                let mut row: Vec<f64> = alone[j * 18..(j + 1) * 18].to_vec();
                if bias {
                    row.push(alone[54 + j]);
                }
                expected.add(SignCategory::of_row(&row, 0.0));
            }
        }
        assert_eq!(
            r.per_example_summed.unwrap(),
            expected,
            "bias {bias}, padding {padding}"
        );
    }
}

#[test]
fn tracking_over_training_refuses_a_convolution_by_name() {
    let net = cnn(1, 0, true, 9);
    let x = images(2, 1, 0.0, 1.0, 10);
    let tape = Tape::new();
    let (out, trace) = nn::forward(&net, &tape, tape.constant(&x)).unwrap();
    let grads = (out - tape.constant(&targets(2)))
        .square()
        .sum()
        .backward()
        .unwrap();
    let mut analyzer = GradientSignAnalyzer::default();
    let e = analyzer.observe(0, &trace, &grads).unwrap_err();
    assert!(e.to_string().contains("layer 0 is a convolution"), "{e}");
}

#[test]
fn the_diagnosis_explains_positions_against_examples_with_the_measured_shares() {
    let net = cnn(2, 0, true, 3);
    let x = images(8, 2, 0.1, 1.0, 4);
    let tape = Tape::new();
    let (out, trace) = nn::forward(&net, &tape, tape.constant(&x)).unwrap();
    let grads = (out - tape.constant(&targets(8)))
        .square()
        .sum()
        .backward()
        .unwrap();
    let report = GradientSignAnalyzer::default()
        .analyze(&trace, &grads)
        .unwrap();
    let conv = &report.layers[0];
    let summed = conv.per_example_summed.unwrap().coherent_share();
    let text = report.diagnosis.to_string();
    assert!(text.contains("Layer 0 is a convolution"), "{text}");
    assert!(
        text.contains("100.0% of position rows one-signed"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "sums its 16 positions, so it is mixed like a batch ({:.1}% one-signed)",
            100.0 * summed
        )),
        "{text}"
    );
    // The dense layer after the flatten (layer 1 of the trace) is none.
    assert!(!text.contains("Layer 1 is a convolution"), "{text}");
}

#[test]
#[ignore = "prints a report to read"]
fn print_a_cnn_report() {
    let net = cnn(2, 0, true, 3);
    let x = images(8, 2, 0.1, 1.0, 4);
    let tape = Tape::new();
    let (out, trace) = nn::forward(&net, &tape, tape.constant(&x)).unwrap();
    let grads = (out - tape.constant(&targets(8)))
        .square()
        .sum()
        .backward()
        .unwrap();
    println!(
        "{}",
        GradientSignAnalyzer::default()
            .analyze(&trace, &grads)
            .unwrap()
    );
}
