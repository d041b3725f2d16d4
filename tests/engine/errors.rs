//! One test per `Error` variant: a real call that fails with it, and the
//! message, which must name the op and the shapes or values involved.

use gradsign::curvature::natural::solve_damped;
use gradsign::data::Table;
use gradsign::loss::{self, Reduction};
use gradsign::{Error, Shape, Tape, Tensor};

fn t(data: &[f64], dims: &[usize]) -> Tensor<f64> {
    Tensor::from_slice(data, dims).unwrap()
}

#[test]
fn shape_mismatch_names_the_op_and_both_shapes() {
    let tape = Tape::<f64>::new();
    let a = tape.var(&Tensor::zeros(&[2, 3]).unwrap());
    let b = tape.var(&Tensor::zeros(&[4]).unwrap());
    let e = a.try_add(b).unwrap_err();
    assert!(matches!(e, Error::ShapeMismatch { op: "add", .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "add: shapes [2, 3] and [4] are not compatible"
    );
    // With a reason.
    let c = tape.var(&Tensor::zeros(&[3, 2]).unwrap());
    let e = a.matmul(a).unwrap_err();
    assert_eq!(
        e.to_string(),
        "matmul: shapes [2, 3] and [2, 3] are not compatible: inner dimensions differ"
    );
    assert!(a.matmul(c).is_ok());
}

#[test]
fn data_length_names_the_op_the_length_and_the_shape() {
    let e = Tensor::<f32>::from_vec(vec![1.0; 5], &[2, 3]).unwrap_err();
    assert!(
        matches!(
            e,
            Error::DataLength {
                op: "from_vec",
                len: 5,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "from_vec: 5 values cannot fill shape [2, 3] (needs 6)"
    );
}

#[test]
fn axis_out_of_range_names_the_op_the_axis_and_the_shape() {
    let tape = Tape::<f64>::new();
    let x = tape.var(&Tensor::zeros(&[2, 3]).unwrap());
    let e = x.sum_axis(2, false).unwrap_err();
    assert!(matches!(e, Error::AxisOutOfRange { axis: 2, .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "sum_axis: axis 2 is out of range for shape [2, 3] (rank 2)"
    );
}

#[test]
fn rank_mismatch_names_the_op_the_rank_needed_and_the_shape() {
    let tape = Tape::<f64>::new();
    let x = tape.var(&Tensor::zeros(&[2, 3, 4, 5]).unwrap());
    let e = x.matmul(x).unwrap_err();
    assert!(
        matches!(e, Error::RankMismatch { op: "matmul", .. }),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "matmul: expected a tensor of rank 2 or 3 (and 2 or 3 on the right), got shape [2, 3, 4, 5]"
    );
    let e = Shape::new(&[1, 2, 3, 4, 5]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "shape: expected a tensor of rank at most 4, got shape [1, 2, 3, 4]"
    );
}

#[test]
fn index_out_of_range_names_the_op_the_index_its_bound_and_the_shape() {
    let tape = Tape::<f64>::new();
    let logits = tape.var(&Tensor::zeros(&[2, 3]).unwrap());
    let e = loss::softmax_cross_entropy(logits, &[0, 3], Reduction::Mean).unwrap_err();
    assert!(
        matches!(
            e,
            Error::IndexOutOfRange {
                index: 3,
                bound: 3,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "softmax_cross_entropy: index 3 is out of range 3 for shape [2, 3]"
    );
}

#[test]
fn empty_names_the_op_and_the_empty_shape() {
    let tape = Tape::<f64>::new();
    let x = tape.var(&Tensor::zeros(&[0, 3]).unwrap());
    let e = x.mean().unwrap_err();
    assert!(matches!(e, Error::Empty { op: "mean", .. }), "{e:?}");
    assert_eq!(e.to_string(), "mean: empty input of shape [0, 3]");
}

#[test]
fn non_scalar_root_names_backward_and_the_root_shape() {
    let tape = Tape::<f64>::new();
    let x = tape.var(&Tensor::zeros(&[2]).unwrap());
    let e = (x * x).backward().unwrap_err();
    assert!(matches!(e, Error::NonScalarRoot { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "backward: the root has shape [2]; a non-scalar root needs an explicit seed of that shape (use backward_with_seed)"
    );
}

#[test]
fn foreign_var_names_the_op_and_both_tapes() {
    let (t1, t2) = (Tape::<f64>::new(), Tape::<f64>::new());
    let (a, b) = (t1.var_scalar(1.0), t2.var_scalar(2.0));
    let e = a.try_mul(b).unwrap_err();
    assert_eq!(
        e,
        Error::ForeignVar {
            op: "mul",
            expected: t1.id(),
            found: t2.id()
        }
    );
    assert_eq!(
        e.to_string(),
        format!(
            "mul: a variable from tape #{} was used with tape #{}",
            t2.id(),
            t1.id()
        )
    );
}

#[test]
fn invalid_argument_names_the_op_and_the_values() {
    let tape = Tape::<f64>::new();
    let x = tape.var_scalar(1.0);
    let e = x.clamp(2.0, 1.0).unwrap_err();
    assert!(matches!(e, Error::OutOfDomain { op: "clamp", .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "clamp: the bounds must be lo ≤ hi, got lo = 2, hi = 1"
    );
}

#[test]
fn non_finite_names_the_op_the_value_and_the_inputs() {
    let mut tape = Tape::<f64>::new();
    tape.set_checked(true);
    let x = tape.var(&t(&[4.0, -4.0], &[2]));
    let e = x.try_sqrt().unwrap_err();
    assert!(matches!(e, Error::NonFinite { op: "sqrt", .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "sqrt: non-finite value NaN at element 1 of the output [2]; inputs: var #0 [2]"
    );
}

#[test]
fn not_positive_definite_names_the_op_the_matrix_and_the_pivot() {
    // [[1, 1], [1, 1]] is singular: its second pivot is 1 − 1 = 0.
    let m = t(&[1.0, 1.0, 1.0, 1.0], &[2, 2]);
    let e = solve_damped(&m, &[1.0, 1.0], 0.0, "Fisher").unwrap_err();
    assert!(
        matches!(
            e,
            Error::NotPositiveDefinite {
                op: "solve_damped",
                what: "Fisher",
                size: 2,
                ..
            }
        ),
        "{e:?}"
    );
    let msg = e.to_string();
    assert!(
        msg.starts_with("solve_damped: the 2×2 Fisher matrix is not positive definite ("),
        "{msg}"
    );
    assert!(
        msg.ends_with("add damping (λ > 0) or remove the redundant parameters"),
        "{msg}"
    );
}

#[test]
fn parse_names_the_source_the_line_the_column_and_the_field() {
    let e = Table::<f64>::parse("a,b\n1,2\n3,x4\n", "data.csv", true).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Parse {
                line: 3,
                column: 2,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "data.csv: line 3, column 2: `x4` is not a number"
    );
}

#[test]
fn io_names_the_op_and_the_path() {
    let e = Table::<f64>::read("/nonexistent/dir/data.csv", true).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Io {
                op: "Table::read",
                ..
            }
        ),
        "{e:?}"
    );
    let msg = e.to_string();
    assert!(
        msg.starts_with("Table::read: /nonexistent/dir/data.csv: "),
        "{msg}"
    );
}

#[test]
fn an_impossible_allocation_is_too_large_naming_the_shape() {
    // 2⁶¹ f64 values need 2⁶⁴ bytes: more than any address space.
    let e = Tensor::<f64>::zeros(&[1 << 61]).unwrap_err();
    assert!(matches!(e, Error::TooLarge { op: "zeros", .. }), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.starts_with("zeros: shape [2305843009213693952] (2305843009213693952 elements of 8 bytes) is too large: "),
        "{msg}"
    );
}

#[test]
fn layer_names_the_layer_and_wraps_the_error_there() {
    use gradsign::activation::Activation;
    use gradsign::analysis::GradientSignAnalyzer;
    use gradsign::nn::{LayerTrace, Trace};
    // A layer whose weight is a constant: its pre-activation has no gradient,
    // so the analyzer cannot read Δ for layer 0.
    let tape = Tape::<f64>::new();
    let x = tape.constant(&Tensor::ones(&[2, 3]).unwrap());
    let w = tape.constant(&Tensor::ones(&[4, 3]).unwrap());
    let z = x.linear(w, None).unwrap();
    let mut trace = Trace::new();
    trace.push(LayerTrace {
        input: x,
        pre_activation: z,
        output: z,
        weight: w,
        bias: None,
        activation: Activation::Identity,
        positions: 1,
        conv: None,
    });
    let grads = (tape.var_scalar(1.0) * 2.0).backward().unwrap();
    let e = GradientSignAnalyzer::default()
        .analyze(&trace, &grads)
        .unwrap_err();
    let Error::Layer { layer, source } = &e else {
        panic!("not a Layer error: {e:?}");
    };
    assert_eq!(*layer, 0);
    // The wrapped error names its own op and the variable.
    let inner = source.to_string();
    assert_eq!(e.to_string(), format!("layer 0: {inner}"));
    assert_eq!(
        inner,
        "gradient lookup: variable #2 (linear [2, 4]) does not depend on any differentiable leaf, so it has no gradient"
    );
}
