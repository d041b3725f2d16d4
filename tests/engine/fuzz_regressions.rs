//! Inputs found by the fuzz targets in `fuzz/` that crashed or broke an
//! invariant, and bugs of the same kind found while writing the targets
//! (which assert them), each kept as a test of the behaviour that was fixed.
//! The doc of each test says which.

use gradsign::data::Table;
use gradsign::ops::concat;
use gradsign::{Error, Shape, Tape, Tensor};

/// `csv_table`: `199…9` (39 digits) is finite as f64 but overflows f32; the
/// f32 table held +∞.
#[test]
fn a_csv_value_beyond_f32_is_an_error_in_an_f32_table() {
    let text = format!("1{}", "9".repeat(40));
    let e = Table::<f32>::parse(&text, "csv", false).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("csv: line 1, column 1: `{text}` is out of the range of f32")
    );
    // The same text is a finite f64.
    let t = Table::<f64>::parse(&text, "csv", false).unwrap();
    assert!(t.data().all_finite());
}

/// `tensor_shapes`: two empty operands, `[0, 2⁴⁰, 1]` and `[0, 1, 2⁴⁰]`,
/// broadcast to `[0, 2⁴⁰, 2⁴⁰]`: no elements, but row-major strides that
/// overflow; the backward sweep panicked computing them.
#[test]
fn an_empty_broadcast_whose_strides_overflow_is_an_error() {
    let tape = Tape::<f64>::new();
    let a = tape.var(&Tensor::zeros(&[0, 1 << 40, 1]).unwrap());
    let b = tape.var(&Tensor::zeros(&[0, 1, 1 << 40]).unwrap());
    let e = a.try_add(b).unwrap_err();
    assert_eq!(
        e.to_string(),
        "add: shapes [0, 1099511627776, 1] and [0, 1, 1099511627776] are not compatible: \
         the broadcast shape has more elements than a usize can count"
    );
}

/// The same shape cannot be built directly either: its strides overflow.
#[test]
fn an_empty_shape_whose_strides_overflow_is_an_error() {
    assert!(Shape::new(&[0, 1 << 40, 1 << 40]).is_err());
    assert!(Tensor::<f32>::zeros(&[0, 1 << 40, 1 << 40]).is_err());
    // Without the zero it is a plain count overflow; with small enough
    // dimensions the empty shape is fine.
    assert!(Shape::new(&[1 << 40, 1 << 40]).is_err());
    assert_eq!(Shape::new(&[0, 1 << 20, 1 << 20]).unwrap().numel(), 0);
}

/// Found writing `tensor_shapes`: products and joins of empty operands with
/// huge outer dimensions; the output count overflows, which used to panic
/// (debug) or wrap (release).
#[test]
fn products_and_joins_of_empty_operands_that_overflow_are_errors() {
    let tape = Tape::<f64>::new();
    let a = tape.var(&Tensor::zeros(&[1 << 40, 0]).unwrap());
    let e = a.matmul(a.transpose().unwrap()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "matmul: shapes [1099511627776, 0] and [0, 1099511627776] are not compatible: \
         the product has more elements than a usize can count"
    );
    let w = tape.var(&Tensor::zeros(&[1 << 40, 0]).unwrap());
    assert!(matches!(
        a.linear(w, None),
        Err(Error::ShapeMismatch { op: "linear", .. })
    ));
    let big = tape.var(&Tensor::zeros(&[1 << 62, 0]).unwrap());
    let e = concat(&[big, big, big, big], 0).unwrap_err();
    assert!(matches!(e, Error::TooLarge { op: "concat", .. }), "{e}");
}

/// Found writing `mlp_json`: a parameter finite as f64 but beyond f32 loaded
/// as +∞ into an f32 model; an activation parameter that `apply` refuses
/// loaded fine and failed at the first forward pass.
#[cfg(feature = "serde")]
#[test]
fn json_parameters_beyond_f32_and_invalid_activations_are_load_errors() {
    let json = |dtype: &str, w: &str, act: &str| {
        format!(
            r#"{{"format":"gradsign-sequential","version":1,"dtype":"{dtype}","training":true,"layers":[{{"kind":"linear","fan_in":1,"fan_out":1,"weight":[{w}],"bias":null}},{{"kind":"activation","activation":{act}}}]}}"#
        )
    };
    use gradsign::nn::Sequential;
    let e = Sequential::<f32>::from_json(&json("f32", "1e39", "\"Tanh\"")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Sequential::from_json: 1e39 at element 0 of 0.weight is out of the range of f32"
    );
    assert!(Sequential::<f64>::from_json(&json("f64", "1e39", "\"Tanh\"")).is_ok());
    // An f64 file is not silently rounded into an f32 network.
    let e = Sequential::<f32>::from_json(&json("f64", "1", "\"Tanh\"")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Sequential::from_json: the file holds f64 parameters, not f32; load it into a model of f64"
    );
    let e = Sequential::<f64>::from_json(&json("f64", "1", r#"{"LeakyRelu":-1.0}"#)).unwrap_err();
    assert!(
        matches!(
            e,
            Error::OutOfDomain {
                op: "leaky_relu",
                ..
            }
        ),
        "{e}"
    );
    // An activation parameter finite as f64 but not as f32 (it gave NaN).
    let e = Sequential::<f32>::from_json(&json("f32", "1", r#"{"Elu":1e39}"#)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "elu: α must be within the range of f32, got 1e39"
    );
}

/// `analyze_layer`: finite inputs whose product overflows. The harness
/// expected "non-finite" only for NaN or infinite data; the analyzer
/// classifies the rows a user would materialise in `F`, where
/// `−1.3e308 · 2 = −∞`, so the row is non-finite. The test pins that
/// documented behaviour (the harness was corrected).
#[test]
fn an_overflowing_gradient_entry_makes_its_row_non_finite() {
    use gradsign::analysis::{GradientSignAnalyzer, SignCategory};
    let a = Tensor::from_slice(&[2.0, 0.0, -2.0], &[1, 3]).unwrap();
    let d = Tensor::from_slice(&[-1.3e308, 1.0], &[1, 2]).unwrap();
    let cats = GradientSignAnalyzer::default()
        .without_bias()
        .example_categories(&a, &d)
        .unwrap();
    // Row 0: (−∞, −0, +∞); row 1: (2, 0, −2) is mixed.
    assert_eq!(cats, [SignCategory::NonFinite, SignCategory::Mixed]);
}

/// `tensor_shapes`: summing the empty axis of `[0, 2⁶¹]` asks for 2⁶¹ zeros
/// (2⁶⁴ bytes of f64); recording the output hit a capacity-overflow panic.
#[test]
fn a_reduction_whose_output_cannot_be_allocated_is_an_error() {
    let tape = Tape::<f64>::new();
    let x = tape.var(&Tensor::zeros(&[0, 1 << 61]).unwrap());
    let e = x.sum_axis(0, false).unwrap_err();
    assert!(matches!(e, Error::TooLarge { op: "sum_axis", .. }), "{e}");
    assert!(
        e.to_string()
            .starts_with("sum_axis: the output [2305843009213693952] (2305843009213693952 elements) is too large: "),
        "{e}"
    );
    assert_eq!(tape.len(), 1, "nothing was recorded");
}

/// `analyze_layer`: two empty matrices `[2⁴⁰, 0]` (no inputs, no neurons)
/// made the analyzer reserve a row summary for each of 2⁴⁰ examples and
/// abort (61 TB). A layer with no neurons is now `Error::Empty`.
#[test]
fn a_layer_with_no_neurons_is_empty_whatever_its_batch() {
    use gradsign::analysis::GradientSignAnalyzer;
    let a = Tensor::<f64>::zeros(&[1 << 40, 0]).unwrap();
    let d = Tensor::<f64>::zeros(&[1 << 40, 0]).unwrap();
    let e = GradientSignAnalyzer::default()
        .analyze_layer(&a, &d)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "analyze_layer: empty input of shape [1099511627776, 0]"
    );
    let e = GradientSignAnalyzer::default()
        .example_categories(&a, &d)
        .unwrap_err();
    assert!(matches!(e, Error::Empty { .. }), "{e}");
}

/// `tensor_shapes` (a timeout): summing axis 1 of `[2⁴⁰, 2²⁰, 0]` looped
/// 2⁶⁰ times over empty rows to produce an empty `[2⁴⁰, 0]`. An op with an
/// empty output now runs no kernel, forward or backward.
#[test]
fn ops_with_an_empty_output_do_no_work_whatever_the_other_dimensions() {
    let tape = Tape::<f64>::new();
    let x = tape.var(&Tensor::zeros(&[1 << 40, 1 << 20, 0]).unwrap());
    let s = x.sum_axis(1, false).unwrap();
    assert_eq!(s.dims(), [1 << 40, 0]);
    let m = x.slice(1, 1, 1 << 19).unwrap();
    assert_eq!(m.dims(), [1 << 40, (1 << 19) - 1, 0]);
    let c = concat(&[x, x], 0).unwrap();
    assert_eq!(c.dims(), [1 << 41, 1 << 20, 0]);
    // The backward sweep skips them too: the gradient of an empty sum is
    // empty.
    let total = c.sum_axis(1, false).unwrap().sum();
    let g = total.backward().unwrap();
    assert!(g.get(x).unwrap().is_empty());
}

/// `tensor_shapes`: six picks along axis 0 of the empty `[1, 2⁶², 0]` give
/// `[6, 2⁶², 0]`, whose extent overflows; recording it panicked computing
/// the element count.
#[test]
fn an_index_select_whose_shape_overflows_is_an_error() {
    let tape = Tape::<f64>::new();
    let x = tape.var(&Tensor::zeros(&[1, 1 << 62, 0]).unwrap());
    let e = x.index_select(0, &[0; 6]).unwrap_err();
    assert!(
        matches!(
            e,
            Error::TooLarge {
                op: "index_select",
                ..
            }
        ),
        "{e}"
    );
    // Three picks still fit: [3, 2⁶², 0] has extent 3·2⁶² < 2⁶⁴.
    assert_eq!(x.index_select(0, &[0; 3]).unwrap().dims(), [3, 1 << 62, 0]);
}
