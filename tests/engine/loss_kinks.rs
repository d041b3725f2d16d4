//! Losses at their kinks: the derivative the documentation promises where
//! the function is not differentiable.

use gradsign::loss::{self, Reduction};
use gradsign::{Tape, Tensor};

#[test]
fn mae_gradient_is_zero_where_prediction_equals_target() {
    // |x − t| at x = t: the documented one-sided choice is 0, for the
    // prediction and for the target, including at ±0 and at a negative
    // value.
    let tape = Tape::<f64>::new();
    let p = tape.var(&Tensor::from_vec(vec![0.0, -0.0, -3.0, 2.0, -1.0], &[5]).unwrap());
    let t = tape.var(&Tensor::from_vec(vec![0.0, 0.0, -3.0, 1.0, 1.0], &[5]).unwrap());
    let g = loss::mae(p, t, Reduction::Sum).unwrap().backward().unwrap();
    // r = x − t = (0, −0, 0, 1, −2): sign(r) = (0, 0, 0, 1, −1).
    assert_eq!(g.get(p).unwrap(), &[0.0, 0.0, 0.0, 1.0, -1.0]);
    assert_eq!(g.get(t).unwrap(), &[0.0, 0.0, 0.0, -1.0, 1.0]);
}

#[test]
fn mae_gradient_of_a_nan_residual_is_nan() {
    let tape = Tape::<f64>::new();
    let p = tape.var(&Tensor::from_vec(vec![f64::NAN], &[1]).unwrap());
    let t = tape.constant(&Tensor::from_vec(vec![1.0], &[1]).unwrap());
    let g = loss::mae(p, t, Reduction::Mean)
        .unwrap()
        .backward()
        .unwrap();
    assert!(g.get(p).unwrap()[0].is_nan());
}

#[test]
fn huber_gradient_is_the_residual_up_to_delta_and_delta_beyond() {
    let tape = Tape::<f64>::new();
    let p = tape.var(&Tensor::from_vec(vec![0.5, 1.0, 3.0, -3.0], &[4]).unwrap());
    let t = tape.constant(&Tensor::zeros(&[4]).unwrap());
    let g = loss::huber(p, t, 1.0, Reduction::Sum)
        .unwrap()
        .backward()
        .unwrap();
    // clamp(r, −1, 1), with r = δ exactly on the quadratic side.
    assert_eq!(g.get(p).unwrap(), &[0.5, 1.0, 1.0, -1.0]);
}
