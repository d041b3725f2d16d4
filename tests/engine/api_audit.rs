//! Named methods on out-of-range or oversized user input: an `Err` or a
//! documented answer, never a panic, an abort or a wrong cell.

use gradsign::Error;
use gradsign::metrics::ConfusionMatrix;

#[test]
fn a_confusion_count_outside_the_classes_is_zero_not_another_cell() {
    let m = ConfusionMatrix::from_predictions(&[0, 1, 1, 2], &[0, 1, 2, 2], 3).unwrap();
    assert_eq!(m.count(2, 1), 1);
    // (0, 4) used to read cell 0·3 + 4 = 4, which is (1, 1).
    assert_eq!(m.count(0, 4), 0);
    assert_eq!(m.count(7, 0), 0);
    assert_eq!(m.recall(5), None); // class 5 has no example
    assert_eq!(m.precision(5), None); // and was never predicted
}

#[test]
fn a_class_count_whose_square_overflows_is_an_error() {
    let e = ConfusionMatrix::from_predictions(&[], &[], 1 << 33).unwrap_err();
    assert!(
        matches!(
            e,
            Error::TooLarge {
                op: "ConfusionMatrix",
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "ConfusionMatrix: a table of 8589934592 classes is too large: its counts cannot be allocated"
    );
}

#[test]
fn a_class_count_too_large_to_allocate_is_an_error() {
    // 2³¹ classes: 2⁶² counts of 8 bytes, 2⁶⁵ bytes.
    assert!(ConfusionMatrix::from_predictions(&[], &[], 1 << 31).is_err());
}

#[test]
fn a_network_whose_weight_count_overflows_is_an_error() {
    use gradsign::activation::Activation;
    use gradsign::nn::{Init, Mlp};
    // 2³³ · 2³³ weights: the count overflowed (a panic in debug builds).
    let sizes = [1 << 33, 1 << 33];
    let e = Mlp::builder(&sizes)
        .hidden(Activation::Tanh)
        .output(Activation::Tanh)
        .init(Init::GlorotUniform)
        .seed(0)
        .build::<f32>()
        .unwrap_err();
    assert!(matches!(e, Error::TooLarge { op: "shape", .. }), "{e}");
    let e = Mlp::builder(&sizes)
        .hidden(Activation::Tanh)
        .output(Activation::Tanh)
        .build_with(gradsign_studies::splitmix::dense::<f32>(
            &mut gradsign_studies::SplitMix64::new(0),
        ))
        .unwrap_err();
    assert!(matches!(e, Error::TooLarge { op: "shape", .. }), "{e}");
}

#[test]
fn a_network_too_large_to_allocate_is_an_error() {
    use gradsign::activation::Activation;
    use gradsign::nn::{Init, Mlp};
    // 2³¹ · 2³¹ = 2⁶² f32 weights, 2⁶⁴ bytes: a capacity-overflow panic before.
    let sizes = [1 << 31, 1 << 31];
    let e = Mlp::builder(&sizes)
        .hidden(Activation::Tanh)
        .output(Activation::Tanh)
        .init(Init::GlorotUniform)
        .seed(0)
        .build::<f32>()
        .unwrap_err();
    assert!(matches!(e, Error::TooLarge { op: "zeros", .. }), "{e}");
    let e = Mlp::builder(&sizes)
        .hidden(Activation::Tanh)
        .output(Activation::Tanh)
        .build_with(gradsign_studies::splitmix::dense::<f32>(
            &mut gradsign_studies::SplitMix64::new(0),
        ))
        .unwrap_err();
    assert!(matches!(e, Error::TooLarge { op: "zeros", .. }), "{e}");
}

#[test]
fn a_playground_set_of_impossibly_many_samples_is_an_error() {
    use gradsign::data::{Playground, PlaygroundConfig};
    for samples in [usize::MAX, 1 << 60] {
        let config = PlaygroundConfig::default().samples(samples);
        let e = Playground::Circle.generate::<f32>(&config).unwrap_err();
        assert!(
            matches!(
                e,
                Error::TooLarge {
                    op: "Playground::generate",
                    ..
                }
            ),
            "{e}"
        );
        assert_eq!(
            e.to_string(),
            format!(
                "Playground::generate: a set of {samples} samples is too large: it cannot be allocated"
            )
        );
    }
}

#[cfg(feature = "serde")]
#[test]
fn malformed_json_parameters_name_the_line_and_column() {
    // Line 2 is `"layers": [1,]}`: the `1` at column 12 is not a layer.
    let e = gradsign::nn::Sequential::<f64>::from_json(
        "{\"format\": \"gradsign-sequential\",\n\"layers\": [1,]}",
    )
    .unwrap_err();
    let Error::Parse { line, column, .. } = &e else {
        panic!("not a parse error: {e:?}");
    };
    assert_eq!((*line, *column), (2, 12), "{e}");
    assert!(
        e.to_string()
            .starts_with("json: line 2, column 12: invalid type: integer `1`"),
        "{e}"
    );
}
