//! Non-finite values: how NaN and infinity propagate by default, and checked
//! mode (`Tape::set_checked`), which fails at the first op whose output (or,
//! in the backward sweep, whose gradient) is not finite, naming the op and
//! where its inputs came from.

use gradsign::loss::{self, Reduction};
use gradsign::{Error, Tape, Tensor};

fn checked() -> Tape<f64> {
    let mut tape = Tape::new();
    tape.set_checked(true);
    tape
}

fn v(data: &[f64]) -> Tensor<f64> {
    Tensor::from_slice(data, &[data.len()]).unwrap()
}

/// The `op` and message of a `NonFinite` error.
fn non_finite(e: Error) -> (&'static str, String) {
    let msg = e.to_string();
    match e {
        Error::NonFinite { op, .. } => (op, msg),
        other => panic!("not a NonFinite error: {other}"),
    }
}

#[test]
fn ln_of_a_negative_value_fails_naming_ln_its_element_and_its_input() {
    let tape = checked();
    let x = tape.var(&v(&[1.0, -2.0]));
    let (op, msg) = non_finite(x.try_ln().unwrap_err());
    assert_eq!(op, "ln");
    // ln(−2) = NaN, element 1 of a [2] output; the input is leaf #0.
    assert_eq!(
        msg,
        "ln: non-finite value NaN at element 1 of the output [2]; inputs: var #0 [2]"
    );
}

#[test]
fn division_by_zero_fails_naming_div_and_both_inputs() {
    let tape = checked();
    let a = tape.var(&v(&[1.0, 2.0]));
    let b = tape.constant(&v(&[4.0, 0.0]));
    let (op, msg) = non_finite(a.try_div(b).unwrap_err());
    assert_eq!(op, "div");
    // 2/0 = +∞ at element 1.
    assert!(msg.contains("inf at element 1 of the output [2]"), "{msg}");
    assert!(msg.contains("inputs: var #0 [2], constant #1 [2]"), "{msg}");
}

#[test]
fn exp_overflow_fails_naming_exp() {
    let tape = checked();
    let x = tape.var(&v(&[0.0, 709.0, 710.0]));
    // e^709 ≈ 8.2e307 fits an f64; e^710 overflows to +∞.
    let (op, msg) = non_finite(x.try_exp().unwrap_err());
    assert_eq!(op, "exp");
    assert!(msg.contains("inf at element 2"), "{msg}");
}

#[test]
fn a_loss_that_overflows_fails_naming_the_loss() {
    let tape = checked();
    let pred = tape.var(&v(&[1e200, 0.0]));
    let target = tape.constant(&v(&[0.0, 0.0]));
    // (1e200)² = 1e400 overflows: the mean squared error is +∞.
    let (op, msg) = non_finite(loss::mse(pred, target, Reduction::Mean).unwrap_err());
    assert_eq!(op, "mse");
    assert!(msg.contains("var #0 [2], constant #1 [2]"), "{msg}");
}

#[test]
fn the_error_names_the_first_op_that_goes_non_finite_and_where_its_input_came_from() {
    let tape = checked();
    let x = tape.var(&v(&[-1.0]));
    let h = x.try_mul_scalar(2.0).unwrap(); // −2, finite
    let err = h.try_sqrt().unwrap_err(); // √−2 = NaN: sqrt is first
    let (op, msg) = non_finite(err);
    assert_eq!(op, "sqrt");
    // Its input is the product, node #1.
    assert!(msg.contains("inputs: mul_scalar #1 [1]"), "{msg}");
}

#[test]
fn a_failed_op_leaves_the_tape_usable() {
    let tape = checked();
    let x = tape.var(&v(&[-1.0]));
    assert!(x.try_ln().is_err());
    assert_eq!(tape.len(), 1, "the failed op recorded nothing");
    let y = x.try_square().unwrap();
    assert_eq!(y.backward().unwrap().get(x).unwrap(), &[-2.0]); // 2x
}

#[test]
fn an_operator_panics_in_checked_mode_with_the_same_message() {
    let tape = checked();
    let a = tape.var(&v(&[1.0]));
    let b = tape.constant(&v(&[0.0]));
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| a / b)).unwrap_err();
    let msg = panic.downcast_ref::<String>().unwrap();
    assert_eq!(
        msg,
        "div: non-finite value inf at element 0 of the output [1]; inputs: var #0 [1], constant #1 [1]"
    );
}

#[test]
fn a_non_finite_gradient_fails_the_backward_sweep_naming_the_rule() {
    let tape = checked();
    let x = tape.var(&v(&[0.0, 4.0]));
    // √0 = 0 is finite, but d√x/dx = 1/(2√x) is +∞ at 0.
    let y = x.try_sqrt().unwrap().try_sum().unwrap();
    let (op, msg) = non_finite(y.backward().unwrap_err());
    assert_eq!(op, "sqrt");
    assert!(
        msg.contains("inf in the gradient of input 0 (var #0 [2]) at element 0"),
        "{msg}"
    );
    assert!(
        msg.contains("from the backward rule of sqrt #1 [2]"),
        "{msg}"
    );
}

#[test]
fn without_checked_mode_nan_propagates_through_values_and_gradients() {
    let tape = Tape::<f64>::new();
    let x = tape.var(&v(&[-1.0, 1.0]));
    let y = x.ln(); // [NaN, 0]
    let value = y.value();
    assert!(value.as_slice()[0].is_nan());
    assert_eq!(value.as_slice()[1], 0.0);
    let z = y.sum(); // NaN + 0 = NaN
    assert!(z.item().unwrap().is_nan());
    // d Σ ln x / dx = 1/x: finite everywhere; the NaN sits in the value only.
    assert_eq!(z.backward().unwrap().get(x).unwrap(), &[-1.0, 1.0]);
}

#[test]
fn without_checked_mode_infinity_propagates_and_gives_nan_where_ieee_says() {
    let tape = Tape::<f64>::new();
    let x = tape.var(&v(&[710.0]));
    let e = x.exp(); // +∞
    assert_eq!(e.item().unwrap(), f64::INFINITY);
    let d = e - e; // ∞ − ∞ = NaN
    assert!(d.item().unwrap().is_nan());
}

#[test]
fn checked_mode_is_off_by_default() {
    let tape = Tape::<f64>::new();
    let x = tape.var(&v(&[-1.0]));
    assert!(x.try_ln().is_ok());
}

#[test]
fn zero_dimensional_ops_fail_as_tensor_ops_do_and_give_their_slot_back() {
    // One-element inputs of one shape take the tape's scalar path; its
    // errors and its bookkeeping are those of the general one.
    let tape = checked();
    let a = tape.var_scalar(1.0);
    let b = tape.constant_scalar(0.0);
    let values = |tape: &Tape<f64>| format!("{tape:?}");
    let before = values(&tape);
    assert!(before.contains("values: 2"), "{before}");
    let (op, msg) = non_finite(a.try_div(b).unwrap_err());
    assert_eq!(op, "div");
    assert_eq!(
        msg,
        "div: non-finite value inf at element 0 of the output []; inputs: var #0 [], constant #1 []"
    );
    let (op, msg) = non_finite(b.try_ln().unwrap_err());
    assert_eq!(op, "ln");
    assert!(msg.contains("-inf at element 0 of the output []"), "{msg}");
    assert_eq!(tape.len(), 2, "the failed ops recorded nothing");
    // And gave their value slots back.
    assert_eq!(values(&tape), before);
    // The slot given back is reused: the next value lands where it should.
    let y = (a * a).try_exp().unwrap();
    let e = 1f64.exp();
    // The crate's own exp kernel: within an ulp or two of std's.
    assert!((y.item().unwrap() - e).abs() <= 4.0 * f64::EPSILON * e);
    let g = y.backward().unwrap().get(a).unwrap()[0];
    assert!((g - 2.0 * e).abs() <= 8.0 * f64::EPSILON * e, "{g}");
}

#[test]
fn a_one_element_tensor_and_a_scalar_broadcast_through_the_general_path() {
    let tape = Tape::<f64>::new();
    let a = tape.var(&v(&[3.0]));
    let b = tape.var_scalar(4.0);
    // Different shapes ([1] and []): broadcast to [1], not the scalar path,
    // whichever comes first.
    for (y, dims) in [(a * b, [1]), (b * a, [1]), (b + a, [1])] {
        assert_eq!(y.value().dims(), &dims);
    }
    let y = b * a;
    assert_eq!(y.value().as_slice(), &[12.0]);
    let g = y.sum().backward().unwrap();
    assert_eq!(g.get(a).unwrap(), &[4.0]);
    assert_eq!(g.get(b).unwrap(), &[3.0]);
    // A constant-only product records no backward rule; a var's gradient
    // still flows through a constant factor.
    let c = tape.constant_scalar(5.0);
    let z = (c * c + b).tanh();
    let gz = z.backward().unwrap();
    assert!(gz.get(c).is_err(), "a constant has no gradient");
    let t = (25.0f64 + 4.0).tanh();
    assert!((gz.get(b).unwrap()[0] - (1.0 - t * t)).abs() < 1e-15);
}
