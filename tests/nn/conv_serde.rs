//! A convolutional network saved and loaded with `Sequential::to_json`:
//! every layer kind, its window settings and parameters, bit for bit; and
//! files that cannot describe a runnable layer are refused.
#![cfg(feature = "serde")]

use gradsign::activation::Activation;
use gradsign::nn::{
    self, AvgPool2d, BatchNorm, Conv2d, Flatten, Init, Linear, MaxPool2d, Reshape, Sequential,
    WeightNormConv2d,
};
use gradsign::ops::conv::Window;
use gradsign::{Tape, Tensor};

fn cnn() -> Sequential<f32> {
    let mut avg = AvgPool2d::new((2, 2)).with_window(Window::default().stride(1).padding(1));
    avg.count_include_pad = false;
    Sequential::new()
        .push(Reshape::new(&[1, 8, 8]).unwrap())
        .push(
            Conv2d::init(1, 4, (3, 3), Init::HeNormal, true, 3)
                .unwrap()
                .with_window(Window::default().padding(1).dilation(1)),
        )
        .push(BatchNorm::new(4).unwrap())
        .push(Activation::Relu)
        .push(MaxPool2d::new((2, 2)))
        .push(
            Conv2d::init(4, 2, (3, 3), Init::HeNormal, false, 4)
                .unwrap()
                .with_window(Window::default().stride(1).padding(2).dilation(2)),
        )
        .push(avg)
        .push(Flatten)
        .push(Linear::init(2 * 5 * 5, 3, Init::LecunNormal, true, 5).unwrap())
}

#[test]
fn a_cnn_round_trips_bit_for_bit_and_computes_the_same_outputs() {
    let net = cnn();
    let json = net.to_json().unwrap();
    let back = Sequential::<f32>::from_json(&json).unwrap();
    assert_eq!(back, net);
    let x = Tensor::rand_uniform(&[3, 64], 0.0, 16.0, 9).unwrap();
    let run = |m: &Sequential<f32>| {
        let tape = Tape::new();
        nn::forward(m, &tape, tape.constant(&x)).unwrap().0.value()
    };
    assert_eq!(run(&back), run(&net));
    assert_eq!(run(&net).dims(), &[3, 3]);
}

/// The saved CNN with `edit` applied to layer `layer` of the file.
fn edited(layer: usize, edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut v: serde_json::Value = serde_json::from_str(&cnn().to_json().unwrap()).unwrap();
    edit(&mut v["layers"][layer]);
    v.to_string()
}

#[test]
fn a_saved_window_that_cannot_run_or_a_wrong_weight_length_is_refused() {
    let zero_stride = edited(1, |l| l["stride"] = serde_json::json!([0, 1]));
    let e = Sequential::<f32>::from_json(&zero_stride).unwrap_err();
    assert!(e.to_string().contains("must be at least 1"), "{e}");
    let zero_dilation = edited(4, |l| l["dilation"] = serde_json::json!([1, 0]));
    assert!(Sequential::<f32>::from_json(&zero_dilation).is_err());
    let wrong = edited(1, |l| l["out_channels"] = serde_json::json!(5));
    let e = Sequential::<f32>::from_json(&wrong).unwrap_err();
    assert!(
        e.to_string()
            .contains("1.weight has 36 values for [5, 1, 3, 3]"),
        "{e}"
    );
    let huge = edited(1, |l| l["out_channels"] = serde_json::json!(usize::MAX));
    assert!(Sequential::<f32>::from_json(&huge).is_err());
    let bad_reshape = edited(0, |l| l["per_example"] = serde_json::json!([]));
    assert!(Sequential::<f32>::from_json(&bad_reshape).is_err());
    let nan_weight = edited(1, |l| l["weight"][0] = serde_json::json!(null));
    assert!(Sequential::<f32>::from_json(&nan_weight).is_err());
}

#[test]
fn a_weight_normalised_convolution_round_trips_and_bad_saved_forms_are_refused() {
    let mut wn = WeightNormConv2d::<f32>::init(1, 3, (3, 2), Init::HeNormal, true, 6)
        .unwrap()
        .with_window(Window {
            stride: (2, 1),
            padding: (1, 0),
            dilation: (1, 2),
        });
    wn.g = Tensor::from_vec(vec![0.5, -2.0, 1.25], &[3]).unwrap();
    let net = Sequential::new()
        .push(Reshape::new(&[1, 8, 8]).unwrap())
        .push(wn)
        .push(Activation::Relu);
    let json = net.to_json().unwrap();
    let back = Sequential::<f32>::from_json(&json).unwrap();
    assert_eq!(back, net);
    let x = Tensor::rand_uniform(&[2, 64], 0.0, 1.0, 3).unwrap();
    assert_eq!(
        nn::predict(&back, &x).unwrap(),
        nn::predict(&net, &x).unwrap()
    );

    let edit = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
        f(&mut v["layers"][1]);
        Sequential::<f32>::from_json(&v.to_string()).unwrap_err()
    };
    // A zero filter has no direction: the layer's own error, with its place.
    let e = edit(&|l| {
        let v = l["weight_v"].as_array_mut().unwrap();
        v[6..12]
            .iter_mut()
            .for_each(|x| *x = serde_json::json!(0.0));
    });
    assert!(matches!(e, gradsign::Error::Layer { layer: 1, .. }), "{e}");
    let e = edit(&|l| {
        l["weight_g"].as_array_mut().unwrap().pop();
    });
    assert!(matches!(e, gradsign::Error::Format { .. }), "{e}");
    assert!(e.to_string().contains("1.weight_g"), "{e}");
    let e = edit(&|l| {
        l["weight_v"].as_array_mut().unwrap().pop();
    });
    assert!(e.to_string().contains("1.weight_v"), "{e}");
    let e = edit(&|l| l["stride"] = serde_json::json!([0, 1]));
    assert!(matches!(e, gradsign::Error::Format { .. }), "{e}");
}
