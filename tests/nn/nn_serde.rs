//! JSON round trips of a network (architecture and parameters) and of any
//! module's parameters are bit-exact in f32 and f64; bad files are refused
//! by name.
#![cfg(feature = "serde")]

use gradsign::activation::Activation;
use gradsign::nn::{
    self, Init, Linear, Mlp, ModelElement, Module, Sequential, VisitorMut, load_parameters,
    save_parameters,
};
use gradsign::{Element, Error, Tensor};

/// Values that stress a decimal round trip: extremes, subnormals, −0, and
/// numbers with 17 significant digits.
fn awkward<F: ModelElement>() -> Vec<F> {
    [
        F::max_value(),
        F::min_positive_value(),
        F::min_positive_value() / F::from_f64(1024.0), // subnormal
        -F::zero(),
        F::from_f64(0.1),
        F::from_f64(1.0 / 3.0),
        F::from_f64(-std::f64::consts::E),
        F::epsilon(),
    ]
    .to_vec()
}

fn bits<F: ModelElement>(m: &Sequential<F>) -> Vec<u64> {
    nn::named_parameters(m)
        .unwrap()
        .into_iter()
        .flat_map(|(_, t)| t.into_vec())
        .map(|x| Element::to_f64(x).to_bits())
        .collect()
}

fn network<F: ModelElement>() -> Sequential<F> {
    let mut net = Mlp::builder(&[8, 16, 2])
        .hidden(Activation::Relu)
        .output(Activation::Sigmoid)
        .init(Init::HeNormal)
        .seed(3)
        .build::<F>()
        .unwrap();
    net.layer_mut::<Linear<F>>(0).unwrap().weight.as_mut_slice()[..8]
        .copy_from_slice(&awkward::<F>());
    net
}

fn round_trip<F: ModelElement>() {
    let mut net = network::<F>();
    net.set_training(false);
    let back = Sequential::<F>::from_json(&net.to_json().unwrap()).unwrap();
    assert_eq!(bits(&back), bits(&net));
    assert_eq!(
        back.dense_activations(),
        [Activation::Relu, Activation::Sigmoid]
    );
    assert!(!back.is_training(), "the mode is saved with the model");
    assert_eq!(back, net);
    // −0.0 == 0.0 numerically; the bit comparison above tells them apart.
    assert!(back.linears().next().unwrap().1.weight.as_slice()[3].is_sign_negative());
    // The parameters alone, into a network of the same shape.
    let mut fresh = Mlp::builder(&[8, 16, 2])
        .hidden(Activation::Relu)
        .output(Activation::Sigmoid)
        .build::<F>()
        .unwrap();
    load_parameters(&mut fresh, &save_parameters(&net).unwrap()).unwrap();
    assert_eq!(bits(&fresh), bits(&net));
}

#[test]
fn json_round_trip_is_bit_exact_in_f64() {
    round_trip::<f64>();
}

#[test]
fn json_round_trip_is_bit_exact_in_f32() {
    round_trip::<f32>();
}

#[test]
fn a_layer_without_bias_round_trips_through_a_file() {
    let net = Sequential::new()
        .push(Linear::new(Tensor::from_vec(vec![0.1, 0.2], &[1, 2]).unwrap(), None).unwrap())
        .push(Activation::Identity);
    let path = std::env::temp_dir().join(format!("gradsign-serde-{}.json", std::process::id()));
    net.save_json(&path).unwrap();
    let back = Sequential::<f64>::load_json(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(back, net);
    let e = Sequential::<f64>::load_json(&path).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Io {
                op: "Sequential::load_json",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn a_nan_parameter_cannot_be_saved() {
    let mut net = Mlp::builder(&[2, 1]).build::<f32>().unwrap();
    net.layer_mut::<Linear<f32>>(0)
        .unwrap()
        .weight
        .as_mut_slice()[1] = f32::NAN;
    let e = net.to_json().unwrap_err();
    assert!(e.to_string().contains("0.weight"), "{e}");
    let e = save_parameters(&net).unwrap_err();
    assert!(
        e.to_string().contains("NaN at element 1 of 0.weight"),
        "{e}"
    );
}

#[test]
fn malformed_json_names_its_line_and_column() {
    let e = Sequential::<f64>::from_json("{\n  \"format\": }").unwrap_err();
    assert!(matches!(e, Error::Parse { line: 2, .. }), "{e}");
    let mut net = Mlp::builder(&[2, 1]).build::<f64>().unwrap();
    let e = load_parameters(&mut net, "[").unwrap_err();
    assert!(matches!(e, Error::Parse { line: 1, .. }), "{e}");
}

#[test]
fn a_weight_of_the_wrong_length_or_layers_that_do_not_chain_are_rejected() {
    let json = Mlp::builder(&[2, 3, 1])
        .build::<f64>()
        .unwrap()
        .to_json()
        .unwrap();
    let e = Sequential::<f64>::from_json(&json.replacen("\"fan_in\": 2", "\"fan_in\": 3", 1))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Sequential::from_json: 0.weight has 6 values for (3, 3)"
    );
    // Dense layers that do not chain (3 outputs, then 4 inputs) save, but
    // do not load.
    let bad = Sequential::<f64>::new()
        .push(Linear::init(2, 3, Init::Zeros, true, 0).unwrap())
        .push(Linear::init(4, 1, Init::Zeros, true, 0).unwrap())
        .to_json()
        .unwrap();
    let e = Sequential::<f64>::from_json(&bad).unwrap_err();
    assert!(matches!(e, Error::ShapeMismatch { .. }), "{e}");
}

#[test]
fn garbage_headers_are_refused_naming_what_was_found() {
    let net = Mlp::builder(&[1, 1]).build::<f32>().unwrap();
    let json = net.to_json().unwrap();
    let with = |from: &str, to: &str| json.replacen(from, to, 1);
    let msg = |text: String| Sequential::<f32>::from_json(&text).unwrap_err().to_string();
    assert_eq!(
        msg(with("\"dtype\": \"f32\",", "")),
        "Sequential::from_json: the file has no dtype; expected \"dtype\": \"f32\""
    );
    assert_eq!(
        msg(with("\"dtype\": \"f32\"", "\"dtype\": 42")),
        "Sequential::from_json: dtype must be a string naming the element type (\"f32\" here), found 42"
    );
    assert_eq!(
        msg(with("\"dtype\": \"f32\"", "\"dtype\": \"f16\"")),
        "Sequential::from_json: unknown dtype \"f16\"; expected \"f32\" for a model of f32"
    );
    assert_eq!(
        msg(with("\"version\": 1", "\"version\": 2")),
        "Sequential::from_json: expected format gradsign-sequential version 1, found gradsign-sequential version 2"
    );
    assert!(
        msg(with("\"gradsign-sequential\"", "\"gradsign-parameters\"")).contains("expected format")
    );
    assert!(
        Sequential::<f32>::from_json(&with("\"layers\": [", "\"layers\": [{\"kind\": \"conv\"},"))
            .is_err()
    );
    assert_eq!(
        msg(json[..json.find("\"layers\"").unwrap()].to_string() + "\"layers\": []}"),
        "Sequential::from_json: the file has no layer"
    );
}

#[test]
fn values_beyond_f32_and_invalid_activations_are_load_errors() {
    let net = Mlp::builder(&[1, 1])
        .output(Activation::Elu(1.0))
        .build::<f32>()
        .unwrap();
    let json = net.to_json().unwrap();
    let w = net.layer::<Linear<f32>>(0).unwrap().weight.as_slice()[0];
    let e = Sequential::<f32>::from_json(&json.replacen(&format!("{}", f64::from(w)), "1e39", 1))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Sequential::from_json: 1e39 at element 0 of 0.weight is out of the range of f32"
    );
    let e = Sequential::<f32>::from_json(&json.replacen("\"Elu\": 1.0", "\"Elu\": 1e39", 1))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "elu: α must be within the range of f32, got 1e39"
    );
    let e = Sequential::<f32>::from_json(&json.replacen("\"Elu\": 1.0", "\"Elu\": -1.0", 1))
        .unwrap_err();
    assert!(matches!(e, Error::OutOfDomain { op: "elu", .. }), "{e}");
}

#[test]
fn sizes_whose_product_overflows_are_a_load_error() {
    let json = format!(
        r#"{{"format":"gradsign-sequential","version":1,"dtype":"f64","training":true,"layers":[{{"kind":"linear","fan_in":{n},"fan_out":{n},"weight":[],"bias":null}}]}}"#,
        n = 1u64 << 32
    );
    let e = Sequential::<f64>::from_json(&json).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Sequential::from_json: 0.weight has 0 values for (4294967296, 4294967296)"
    );
}

/// A layer only this file knows: its parameters save and load by name, and
/// a Sequential holding it refuses the architecture format.
#[derive(Clone, Debug)]
struct Gain(Tensor<f64>);

impl Module<f64> for Gain {
    fn forward<'t, E: ModelElement>(
        &self,
        x: gradsign::Var<'t, E>,
        ctx: &mut nn::Forward<'t, '_, f64, E>,
    ) -> gradsign::Result<gradsign::Var<'t, E>> {
        x.try_mul(ctx.param(&self.0)?)
    }
    fn visit(&self, v: &mut nn::Visitor<'_, f64>) -> gradsign::Result<()> {
        v.param("gain", &self.0)
    }
    fn visit_mut(&mut self, v: &mut VisitorMut<'_, f64>) -> gradsign::Result<()> {
        v.param("gain", &mut self.0)
    }
}

#[test]
fn a_custom_layers_parameters_save_by_name_but_not_its_architecture() {
    let net = Sequential::new()
        .push(Gain(Tensor::from_vec(vec![2.0, -0.5], &[2]).unwrap()))
        .push(Linear::init(2, 1, Init::GlorotUniform, true, 4).unwrap());
    let e = net.to_json().unwrap_err();
    assert!(
        e.to_string()
            .contains("layer 0 is none of the crate's layers"),
        "{e}"
    );
    let text = save_parameters(&net).unwrap();
    let mut other = Sequential::new()
        .push(Gain(Tensor::zeros(&[2]).unwrap()))
        .push(Linear::init(2, 1, Init::Zeros, true, 0).unwrap());
    load_parameters(&mut other, &text).unwrap();
    assert_eq!(
        nn::named_parameters(&other).unwrap(),
        nn::named_parameters(&net).unwrap()
    );
}

#[test]
fn a_parameter_file_that_does_not_fit_the_model_changes_nothing() {
    let net = Mlp::builder(&[2, 3, 1]).seed(1).build::<f64>().unwrap();
    let text = save_parameters(&net).unwrap();
    let mut target = Mlp::builder(&[2, 3, 1]).seed(2).build::<f64>().unwrap();
    let before = bits(&target);
    let cases = [
        (
            text.replacen("\"0.bias\"", "\"0.weight\"", 1),
            "appears twice",
        ),
        (
            text.replacen("\"2.bias\"", "\"9.bias\"", 1),
            "2.bias is missing",
        ),
        (
            text.replacen("\"dtype\": \"f64\"", "\"dtype\": \"f32\"", 1),
            "holds f32 parameters",
        ),
        (
            text.replacen(
                "[\n        3,\n        2\n      ]",
                "[\n        2,\n        3\n      ]",
                1,
            ),
            "has shape [2, 3]",
        ),
    ];
    for (bad, expected) in cases {
        let e = load_parameters(&mut target, &bad).unwrap_err();
        assert!(e.to_string().contains(expected), "{expected}: {e}");
        assert_eq!(bits(&target), before);
    }
    // A model with a parameter the file lacks, and a file with one the
    // model lacks.
    let mut bigger = Mlp::builder(&[2, 3, 1]).build::<f64>().unwrap();
    bigger.add(Linear::init(1, 1, Init::Zeros, true, 0).unwrap());
    let e = load_parameters(&mut bigger, &text).unwrap_err();
    assert!(e.to_string().contains("3.weight is missing"), "{e}");
    let mut smaller = Mlp::builder(&[2, 3])
        .output(Activation::Tanh)
        .build::<f64>()
        .unwrap();
    let e = load_parameters(&mut smaller, &text).unwrap_err();
    assert!(e.to_string().contains("which the model does not"), "{e}");
}

/// The fuzz target's seed is a file of the current format.
#[test]
fn the_fuzz_seed_loads() {
    let text = include_str!("../../fuzz/seeds/mlp_json/two_layers.json");
    let net = Sequential::<f64>::from_json(text).unwrap();
    assert_eq!(
        net.dense_activations(),
        [Activation::Tanh, Activation::LeakyRelu(0.1)]
    );
}
