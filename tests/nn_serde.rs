//! JSON round trips of an Mlp's parameters are bit-exact in f32 and f64.
#![cfg(feature = "serde")]

use gradsign::activation::Activation;
use gradsign::nn::{Init, Linear, Mlp};
use gradsign::{Element, Tensor};

/// Values that stress a decimal round trip: extremes, subnormals, −0, and
/// numbers with 17 significant digits.
fn awkward<F: gradsign::nn::ModelElement>() -> Vec<F> {
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

fn bits_equal<F: gradsign::nn::ModelElement>(
    a: &gradsign::nn::Sequential<F>,
    b: &gradsign::nn::Sequential<F>,
) -> bool {
    let bits = |m: &gradsign::nn::Sequential<F>| -> Vec<u64> {
        m.layers()
            .iter()
            .flat_map(|l| {
                let mut v: Vec<F> = l.linear.weight.as_slice().to_vec();
                v.extend(l.linear.bias.iter().flat_map(|b| b.as_slice().to_vec()));
                v
            })
            .map(|x| Element::to_f64(x).to_bits())
            .collect()
    };
    bits(a) == bits(b)
}

fn round_trip<F: gradsign::nn::ModelElement>() {
    let mut mlp = Mlp::builder(&[8, 16, 2])
        .hidden(Activation::Relu)
        .output(Activation::Sigmoid)
        .init(Init::HeNormal)
        .seed(3)
        .build::<F>()
        .unwrap();
    mlp.layers_mut()[0].linear.weight.as_mut_slice()[..8].copy_from_slice(&awkward::<F>());
    let back = Mlp::<F>::from_json(&mlp.to_json().unwrap()).unwrap();
    assert!(bits_equal(&mlp, &back));
    assert_eq!(back.layers()[1].activation, Activation::Sigmoid);
    // −0.0 == 0.0 numerically; the bit comparison above tells them apart.
    assert!(back.linears().nth(0).unwrap().1.weight.as_slice()[3].is_sign_negative());
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
    let mlp = Ok::<_, gradsign::Error>(
        gradsign::nn::Sequential::new()
            .push(Linear::new(Tensor::from_vec(vec![0.1, 0.2], &[1, 2]).unwrap(), None).unwrap())
            .push(Activation::Identity),
    )
    .unwrap();
    let path = std::env::temp_dir().join(format!("gradsign-serde-{}.json", std::process::id()));
    mlp.save_json(&path).unwrap();
    let back = Mlp::<f64>::load_json(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(back, mlp);
}

#[test]
fn a_nan_parameter_cannot_be_saved() {
    let mut mlp = Mlp::builder(&[2, 1])
        .hidden(Activation::Tanh)
        .output(Activation::Tanh)
        .init(Init::Zeros)
        .seed(0)
        .build::<f32>()
        .unwrap();
    mlp.layers_mut()[0].linear.weight.as_mut_slice()[1] = f32::NAN;
    let e = mlp.to_json().unwrap_err();
    assert!(e.to_string().contains("layers.0.weight"), "{e}");
}

#[test]
fn malformed_json_names_its_line_and_column() {
    let e = Mlp::<f64>::from_json("{\n  \"format\": }").unwrap_err();
    assert!(matches!(e, gradsign::Error::Parse { line: 2, .. }), "{e}");
}

#[test]
fn a_weight_of_the_wrong_length_is_rejected() {
    let mlp = Mlp::builder(&[2, 1])
        .hidden(Activation::Tanh)
        .output(Activation::Tanh)
        .init(Init::Zeros)
        .seed(0)
        .build::<f64>()
        .unwrap();
    let json = mlp
        .to_json()
        .unwrap()
        .replacen("\"fan_in\": 2", "\"fan_in\": 3", 1);
    assert!(Mlp::<f64>::from_json(&json).is_err());
}
