//! An Mlp 4-16-3 with tanh hidden units, trained full-batch with Adam on
//! standardised iris, fits the training set to at least 97% accuracy within
//! 300 steps, in f32 and in f64.

use gradsign::activation::Activation;
use gradsign::data::{Standardizer, iris};
use gradsign::metrics::accuracy;
use gradsign::nn::{Init, Mlp};
use gradsign::optim::{Adam, Optimizer};
use gradsign::{Gradients, Tape};

/// Trains and returns the first step (1-based) after which the training
/// accuracy reaches 97%, or `None` within 300 steps.
fn steps_to_97_percent<F: gradsign::nn::ModelElement>() -> Option<usize> {
    let data = iris::<F>();
    let x = Standardizer::fit(data.features())
        .unwrap()
        .transform(data.features())
        .unwrap();
    let labels = data.labels();
    let mut mlp = Mlp::builder(&[4, 16, 3])
        .hidden(Activation::Tanh)
        .output(Activation::Identity)
        .init(Init::GlorotUniform)
        .seed(42)
        .build::<F>()
        .unwrap();
    let mut opt = Adam::new(F::from_f64(0.02));
    let mut tape = Tape::new();
    let mut grads = Gradients::new();
    for step in 0..=300 {
        tape.clear();
        let input = tape.constant(&x);
        let (out, trace) = gradsign::nn::forward(&mlp, &tape, input).unwrap();
        // Accuracy of the weights after `step` updates.
        if accuracy(&out.value(), labels, F::zero()).unwrap() >= 0.97 {
            return Some(step);
        }
        if step == 300 {
            break;
        }
        let loss =
            gradsign::loss::softmax_cross_entropy(out, labels, gradsign::loss::Reduction::Mean)
                .unwrap();
        loss.backward_into(&mut grads).unwrap();
        opt.step(&mut mlp, &trace, &grads).unwrap();
    }
    None
}

#[test]
fn iris_reaches_97_percent_within_300_adam_steps_in_f64() {
    let steps = steps_to_97_percent::<f64>();
    assert!(steps.is_some(), "not reached within 300 steps");
    eprintln!("f64: 97% after {} steps", steps.unwrap());
}

#[test]
fn iris_reaches_97_percent_within_300_adam_steps_in_f32() {
    let steps = steps_to_97_percent::<f32>();
    assert!(steps.is_some(), "not reached within 300 steps");
    eprintln!("f32: 97% after {} steps", steps.unwrap());
}
