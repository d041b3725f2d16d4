//! Bad input gives a clear `Err`, never a panic or a silent NaN.

use gradsign::activation::Activation;
use gradsign::data::{Dataset, Standardizer, Table};
use gradsign::metrics::{ConfusionMatrix, accuracy};
use gradsign::nn::{Init, Mlp};
use gradsign::{Error, Tape, Tensor};

fn mlp() -> gradsign::nn::Sequential<f64> {
    Mlp::builder(&[4, 3, 2])
        .hidden(Activation::Tanh)
        .output(Activation::Identity)
        .init(Init::LecunNormal)
        .seed(0)
        .build()
        .unwrap()
}

/// A Sequential names the layer that failed; the cause is inside.
fn at_layer_0(e: Error) -> Error {
    match e {
        Error::Layer { layer: 0, source } => *source,
        other => panic!("not an error of layer 0: {other}"),
    }
}

#[test]
fn an_input_width_different_from_the_first_layer_is_an_error() {
    let tape = Tape::new();
    let x = tape.constant(&Tensor::zeros(&[2, 5]).unwrap());
    let e = at_layer_0(gradsign::nn::forward(&mlp(), &tape, x).unwrap_err());
    assert!(
        matches!(
            e,
            Error::ShapeMismatch {
                op: "Linear::forward",
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("[2, 5]"), "{e}");
}

#[test]
fn an_empty_batch_is_an_error() {
    let tape = Tape::new();
    let x = tape.constant(&Tensor::zeros(&[0, 4]).unwrap());
    let e = at_layer_0(gradsign::nn::forward(&mlp(), &tape, x).unwrap_err());
    assert!(matches!(e, Error::Empty { .. }), "{e}");
}

#[test]
fn a_non_matrix_input_is_an_error() {
    let tape = Tape::new();
    let x = tape.constant(&Tensor::zeros(&[4]).unwrap());
    let e = at_layer_0(gradsign::nn::forward(&mlp(), &tape, x).unwrap_err());
    assert!(matches!(e, Error::RankMismatch { .. }), "{e}");
}

#[test]
fn nan_in_a_csv_names_its_line_and_column() {
    let e = Table::<f64>::parse("a,b,c\n1,2,3\n4,5,NaN\n", "data.csv", true).unwrap_err();
    assert_eq!(
        e.to_string(),
        "data.csv: line 3, column 3: `NaN` is not a finite number"
    );
}

#[test]
fn a_non_number_in_a_csv_names_its_line_and_column() {
    let e = Table::<f32>::parse("1,2\n3,x4\n", "data.csv", false).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Parse {
                line: 2,
                column: 2,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn a_zero_variance_column_is_left_unscaled_and_reported() {
    let x = Tensor::from_vec(vec![1.0, 7.0, 2.0, 7.0, 4.0, 7.0], &[3, 2]).unwrap();
    let s = Standardizer::fit(&x).unwrap();
    assert_eq!(s.constant_columns(), &[1]);
    let z = s.transform(&x).unwrap();
    // Column 1 is centred (7 − 7) and not divided by its zero deviation.
    assert!(z.as_slice().iter().all(|v: &f64| v.is_finite()));
    assert_eq!(z.as_slice()[1], 0.0);
    assert!(matches!(
        s.require_variance(),
        Err(Error::Incompatible { .. })
    ));
}

#[test]
fn a_label_count_different_from_the_batch_is_an_error() {
    let x = Tensor::<f64>::zeros(&[3, 2]).unwrap();
    assert!(matches!(
        Dataset::new(x.clone(), vec![0, 1]),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        accuracy(&x, &[0, 1], 0.0),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        ConfusionMatrix::from_outputs(&x, &[0; 4], 2, 0.0),
        Err(Error::ShapeMismatch { .. })
    ));
}

#[test]
fn a_csv_label_that_is_not_a_class_names_its_line() {
    let t = Table::<f64>::parse("x,label\n1,0\n2,0.5\n", "l.csv", true).unwrap();
    let e = t.into_dataset(1).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Parse {
                line: 3,
                column: 2,
                ..
            }
        ),
        "{e}"
    );
}
