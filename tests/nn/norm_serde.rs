//! Normalisation layers saved and loaded with the model: settings, running
//! statistics and training flags round-trip bit for bit, and a file whose
//! running statistics are not finite numbers (or whose settings are invalid
//! in the element type) is refused with a clear error.
#![cfg(feature = "serde")]

use gradsign::activation::Activation;
use gradsign::nn::{
    self, BatchNorm, Init, LayerNorm, Linear, MeanOnlyBatchNorm, Module, Sequential,
    WeightNormLinear,
};
use gradsign::{Error, Tensor};

fn net<F: gradsign::Element>() -> Sequential<F> {
    Sequential::new()
        .push(Linear::init(3, 4, Init::LecunNormal, true, 1).unwrap())
        .push(
            BatchNorm::new(4)
                .unwrap()
                .with_eps(1e-3)
                .unwrap()
                .with_momentum(0.3)
                .unwrap(),
        )
        .push(Activation::Sigmoid)
        .push(WeightNormLinear::init(4, 4, Init::LecunNormal, true, 2).unwrap())
        .push(MeanOnlyBatchNorm::new(4).unwrap())
        .push(Activation::Tanh)
        .push(LayerNorm::new(&[4]).unwrap())
        .push(BatchNorm::new(4).unwrap().without_affine())
        .push(Linear::init(4, 1, Init::LecunNormal, true, 3).unwrap())
}

fn roundtrip<F: gradsign::nn::ModelElement>() {
    let mut model = net::<F>();
    // Move the running statistics off their defaults.
    let x = Tensor::<f64>::rand_uniform(&[7, 3], -1.0, 2.0, 5)
        .unwrap()
        .cast::<F>();
    nn::predict(&model, &x).unwrap();
    nn::predict(&model, &x).unwrap();
    model.set_training(false);
    // One layer in another mode than the container.
    model
        .layer_mut::<MeanOnlyBatchNorm<F>>(4)
        .unwrap()
        .set_training(true);
    let text = model.to_json().unwrap();
    let back = Sequential::<F>::from_json(&text).unwrap();
    assert_eq!(back, model);
    for i in [1, 7] {
        let (a, b) = (
            model.layer::<BatchNorm<F>>(i).unwrap(),
            back.layer::<BatchNorm<F>>(i).unwrap(),
        );
        assert_eq!(a.running_mean(), b.running_mean());
        assert_eq!(a.running_var(), b.running_var());
        assert_eq!((a.eps(), a.momentum()), (b.eps(), b.momentum()));
        assert_eq!(a.is_training(), b.is_training());
        assert!(!b.is_training());
    }
    assert!(back.layer::<MeanOnlyBatchNorm<F>>(4).unwrap().is_training());
    assert_eq!(
        model
            .layer::<MeanOnlyBatchNorm<F>>(4)
            .unwrap()
            .running_mean(),
        back.layer::<MeanOnlyBatchNorm<F>>(4)
            .unwrap()
            .running_mean()
    );
    assert!(back.layer::<BatchNorm<F>>(7).unwrap().weight.is_none());
    // The same function, bit for bit (the mean-only layer is in training
    // mode in both, so a second pass moves both alike).
    assert_eq!(
        nn::predict(&model, &x).unwrap(),
        nn::predict(&back, &x).unwrap()
    );
}

#[test]
fn every_normalisation_layer_round_trips_with_its_state_in_f32_and_f64() {
    roundtrip::<f32>();
    roundtrip::<f64>();
}

/// The saved form of `net::<F>()`, with `edit` applied to its JSON value.
fn edited<F: gradsign::nn::ModelElement>(edit: impl Fn(&mut serde_json::Value)) -> String {
    let mut v: serde_json::Value = serde_json::from_str(&net::<F>().to_json().unwrap()).unwrap();
    edit(&mut v);
    v.to_string()
}

#[test]
fn running_statistics_that_are_not_finite_numbers_are_refused_by_name() {
    for bad in [
        serde_json::Value::Null,
        serde_json::json!("NaN"),
        serde_json::json!("inf"),
    ] {
        let text = edited::<f64>(|v| v["layers"][1]["running_var"][2] = bad.clone());
        let e = Sequential::<f64>::from_json(&text).unwrap_err();
        assert!(matches!(e, Error::NonFinite { .. }), "{e:?}");
        assert!(e.to_string().contains("channel 2 of 1.running_var"), "{e}");
    }
    // A literal NaN is not JSON: a parse error naming line and column.
    let text = net::<f64>().to_json().unwrap().replacen(
        "\"running_mean\": [",
        "\"running_mean\": [NaN, ",
        1,
    );
    assert!(matches!(
        Sequential::<f64>::from_json(&text),
        Err(Error::Parse { .. })
    ));
    // Finite in f64, infinite in f32.
    let text = edited::<f32>(|v| v["layers"][4]["running_mean"][0] = serde_json::json!(1e39));
    let e = Sequential::<f32>::from_json(&text).unwrap_err();
    assert!(
        matches!(e, Error::NonFinite { .. })
            && e.to_string().contains("channel 0 of 4.running_mean"),
        "{e}"
    );
    // Negative variance.
    let text = edited::<f64>(|v| v["layers"][1]["running_var"][0] = serde_json::json!(-1.0));
    let e = Sequential::<f64>::from_json(&text).unwrap_err();
    assert!(
        matches!(e, Error::Layer { layer: 1, .. }) && e.to_string().contains("must be ≥ 0, got -1"),
        "{e}"
    );
    // A forward pass refused for an overflowing variance leaves the state
    // finite, so the model still saves.
    let mut model = net::<f64>();
    nn::predict(
        &model,
        &Tensor::from_vec(vec![1.0, 2.0, 3.0, 1e300, -1e300, 0.5], &[2, 3]).unwrap(),
    )
    .ok();
    model.set_training(false);
    assert!(
        model.to_json().is_ok(),
        "a refused forward pass must not poison the state"
    );
}

#[test]
fn settings_invalid_in_the_element_type_are_refused_on_load() {
    let cases: Vec<(usize, &str, serde_json::Value)> = vec![
        (1, "eps", serde_json::json!(0.0)),
        (1, "eps", serde_json::json!(1e-50)),
        (1, "eps", serde_json::json!(-1e-5)),
        (1, "momentum", serde_json::json!(1.5)),
        (4, "momentum", serde_json::json!(-0.5)),
        (6, "eps", serde_json::json!(0.0)),
        (1, "channels", serde_json::json!(5)),
        (6, "shape", serde_json::json!([5])),
        (6, "shape", serde_json::json!([])),
        (3, "weight_g", serde_json::json!([1.0])),
    ];
    for (layer, key, value) in cases {
        let text = edited::<f32>(|v| v["layers"][layer][key] = value.clone());
        let e = Sequential::<f32>::from_json(&text).unwrap_err();
        let s = e.to_string();
        assert!(
            s.contains(&format!("layer {layer}")) || s.contains(&format!("{layer}.")),
            "{layer}.{key} = {value}: {s}"
        );
    }
    // A zero direction row of a weight-normalised layer.
    let text = edited::<f64>(|v| {
        for k in 0..4 {
            v["layers"][3]["weight_v"][k] = serde_json::json!(0.0);
        }
    });
    let e = Sequential::<f64>::from_json(&text).unwrap_err();
    assert!(matches!(e, Error::Layer { layer: 3, .. }), "{e}");
    // Dense layers must still chain through a weight-normalised one.
    let text = edited::<f64>(|v| {
        v["layers"][3]["fan_in"] = serde_json::json!(2);
        v["layers"][3]["fan_out"] = serde_json::json!(8);
    });
    assert!(Sequential::<f64>::from_json(&text).is_err());
}
