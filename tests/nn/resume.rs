//! A training run saved at step k (the model as JSON, the optimiser's state
//! as JSON), loaded into fresh values and continued, is bit-identical to the
//! run that was never interrupted: Sgd with momentum, with Nesterov
//! momentum, Adam and AdamW, in f32 and f64.
#![cfg(feature = "serde")]

use gradsign::activation::Activation;
use gradsign::data::{LabelEncoding, Playground, PlaygroundConfig};
use gradsign::nn::{self, Mlp, ModelElement, Sequential};
use gradsign::optim::{Adam, AdamW, Optimizer, Sgd};
use gradsign::train::{TrainConfig, train};
use gradsign::{Tape, Tensor};

/// The bits of every parameter, by name.
fn bits<F: ModelElement>(net: &Sequential<F>) -> Vec<(String, Vec<u64>)> {
    nn::named_parameters(net)
        .unwrap()
        .into_iter()
        .map(|(n, t)| {
            (
                n,
                t.as_slice()
                    .iter()
                    .map(|&v| gradsign::Element::to_f64(v).to_bits())
                    .collect(),
            )
        })
        .collect()
}

fn network<F: ModelElement>() -> Sequential<F> {
    Mlp::builder(&[2, 8, 1])
        .hidden(Activation::Tanh)
        .seed(3)
        .build::<F>()
        .unwrap()
}

/// `steps` steps of mean squared error on one fixed batch.
fn run<F: ModelElement, O: Optimizer<F>>(net: &mut Sequential<F>, opt: &mut O, steps: usize) {
    let x = Tensor::<F>::rand_uniform(&[16, 2], F::from_f64(-1.0), F::one(), 9).unwrap();
    let y = Tensor::<F>::rand_uniform(&[16, 1], F::from_f64(-1.0), F::one(), 10).unwrap();
    let mut tape = Tape::new();
    for _ in 0..steps {
        tape.clear();
        let (out, trace) = nn::forward(&*net, &tape, tape.constant(&x)).unwrap();
        let loss = (out - tape.constant(&y)).square().mean().unwrap();
        let grads = loss.backward().unwrap();
        opt.step(&mut *net, &trace, &grads).unwrap();
    }
}

/// Runs 2k steps straight, and k steps, a save, a load into fresh values
/// and k more; the two end states must be equal bit for bit.
fn resumes_bit_for_bit<F: ModelElement, O: Optimizer<F>>(
    make: impl Fn() -> O,
    save: impl Fn(&O) -> String,
    load: impl Fn(&mut O, &str),
) {
    let k = 7;
    let (mut straight, mut opt) = (network::<F>(), make());
    run(&mut straight, &mut opt, 2 * k);

    let (mut first, mut opt1) = (network::<F>(), make());
    run(&mut first, &mut opt1, k);
    let model_text = first.to_json().unwrap();
    let state_text = save(&opt1);
    drop((first, opt1));
    let mut resumed = Sequential::<F>::from_json(&model_text).unwrap();
    let mut opt2 = make();
    load(&mut opt2, &state_text);
    assert_eq!(opt2.steps_taken(), k);
    run(&mut resumed, &mut opt2, k);

    assert_eq!(bits(&resumed), bits(&straight));
    assert_eq!(opt2.steps_taken(), opt.steps_taken());
    // The run moved: a resume that restored nothing would differ.
    assert_ne!(bits(&straight), bits(&network::<F>()));
}

fn all_optimisers<F: ModelElement>() {
    let c = F::from_f64;
    resumes_bit_for_bit::<F, _>(
        || Sgd::new(c(0.05)).momentum(c(0.9)),
        |o| o.state_json().unwrap(),
        |o, t| o.load_state_json(t).unwrap(),
    );
    resumes_bit_for_bit::<F, _>(
        || Sgd::new(c(0.05)).momentum(c(0.9)).nesterov(true),
        |o| o.state_json().unwrap(),
        |o, t| o.load_state_json(t).unwrap(),
    );
    resumes_bit_for_bit::<F, _>(
        || Adam::new(c(0.01)),
        |o| o.state_json().unwrap(),
        |o, t| o.load_state_json(t).unwrap(),
    );
    resumes_bit_for_bit::<F, _>(
        || AdamW::new(c(0.01), c(0.1)),
        |o| o.state_json().unwrap(),
        |o, t| o.load_state_json(t).unwrap(),
    );
}

#[test]
fn a_resumed_run_is_bit_identical_in_f32() {
    all_optimisers::<f32>();
}

#[test]
fn a_resumed_run_is_bit_identical_in_f64() {
    all_optimisers::<f64>();
}

fn mse<'t>(
    out: gradsign::Var<'t, f64>,
    b: &gradsign::train::Batch<'_, f64>,
) -> gradsign::Result<gradsign::Var<'t, f64>> {
    (out - b.targets_on(out.tape())?).square().mean()
}

#[test]
fn a_run_of_train_resumed_between_epochs_is_bit_identical() {
    let cfg = PlaygroundConfig::default()
        .samples(64)
        .encoding(LabelEncoding::PlusMinusOne);
    let data = Playground::Xor.generate::<f64>(&cfg).unwrap();
    let config = |epochs| {
        TrainConfig::default()
            .epochs(epochs)
            .batch_size(64)
            .shuffle(false)
    };
    let (mut straight, mut opt) = (network::<f64>(), Adam::new(0.02));
    train(
        &mut straight,
        &mut opt,
        &data,
        &config(10),
        mse,
        &mut |_| {},
    )
    .unwrap();

    let (mut first, mut opt1) = (network::<f64>(), Adam::new(0.02));
    train(&mut first, &mut opt1, &data, &config(4), mse, &mut |_| {}).unwrap();
    let mut resumed = Sequential::from_json(&first.to_json().unwrap()).unwrap();
    let mut opt2 = Adam::new(0.02);
    opt2.load_state_json(&opt1.state_json().unwrap()).unwrap();
    train(&mut resumed, &mut opt2, &data, &config(6), mse, &mut |_| {}).unwrap();
    assert_eq!(bits(&resumed), bits(&straight));
}

#[test]
fn state_for_another_model_or_optimiser_is_refused() {
    let mut net = network::<f64>();
    let mut adam = Adam::new(0.01);
    run(&mut net, &mut adam, 2);
    let text = adam.state_json().unwrap();
    // Another optimiser's state.
    let e = Sgd::<f64>::new(0.1).load_state_json(&text).unwrap_err();
    assert!(
        e.to_string().contains("the state of Adam, not of Sgd"),
        "{e}"
    );
    // Another element type's.
    let e = Adam::<f32>::new(0.01).load_state_json(&text).unwrap_err();
    assert!(
        e.to_string().contains("holds f64 parameters, not f32"),
        "{e}"
    );
    // Another model's parameters: refused by name at the next step.
    let mut other = Mlp::builder(&[2, 8, 8, 1]).build::<f64>().unwrap();
    let mut loaded = Adam::new(0.01);
    loaded.load_state_json(&text).unwrap();
    let before = bits(&other);
    let tape = Tape::new();
    let x = Tensor::<f64>::zeros(&[1, 2]).unwrap();
    let (out, trace) = nn::forward(&other, &tape, tape.constant(&x)).unwrap();
    let grads = out.sum().backward().unwrap();
    let e = loaded.step(&mut other, &trace, &grads).unwrap_err();
    assert!(e.to_string().contains("has 64 values but had 8"), "{e}");
    assert_eq!(bits(&other), before);
    // A name twice, a value beyond f32, and garbage.
    let twice = text.replacen("\"name\": \"2.weight\"", "\"name\": \"0.weight\"", 1);
    let e = Adam::<f64>::new(0.01).load_state_json(&twice).unwrap_err();
    assert!(e.to_string().contains("appears twice"), "{e}");
    assert!(Adam::<f64>::new(0.01).load_state_json("{").is_err());
}
