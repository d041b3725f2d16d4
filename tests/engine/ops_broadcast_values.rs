//! Forward values of broadcast element-wise ops, for each path the kernel
//! takes: equal shapes, a one-element right operand, and general
//! broadcasting with the left operand already the output's shape.

use gradsign::{Tape, Tensor};

fn t(data: &[f64], dims: &[usize]) -> Tensor<f64> {
    Tensor::from_slice(data, dims).unwrap()
}

#[test]
fn a_row_vector_on_the_right_broadcasts_over_the_rows_of_the_left() {
    let tape = Tape::<f64>::new();
    let a = tape.var(&t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]));
    let b = tape.var(&t(&[10.0, 20.0, 30.0], &[3]));
    // Row n of a, minus b element by element.
    assert_eq!(
        a.try_sub(b).unwrap().value().as_slice(),
        &[-9.0, -18.0, -27.0, -6.0, -15.0, -24.0]
    );
    assert_eq!(
        a.try_mul(b).unwrap().value().as_slice(),
        &[10.0, 40.0, 90.0, 40.0, 100.0, 180.0]
    );
}

#[test]
fn a_one_element_right_operand_applies_to_every_element() {
    let tape = Tape::<f64>::new();
    let a = tape.var(&t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]));
    let b = tape.var(&t(&[2.0], &[1, 1]));
    assert_eq!(
        a.try_div(b).unwrap().value().as_slice(),
        &[0.5, 1.0, 1.5, 2.0]
    );
}

#[test]
fn a_column_on_the_left_broadcasts_against_a_row_on_the_right() {
    let tape = Tape::<f64>::new();
    let a = tape.var(&t(&[1.0, 2.0], &[2, 1]));
    let b = tape.var(&t(&[10.0, 20.0, 30.0], &[1, 3]));
    // out[i][j] = a[i] + b[j]
    let y = a.try_add(b).unwrap();
    assert_eq!(y.dims(), [2, 3]);
    assert_eq!(y.value().as_slice(), &[11.0, 21.0, 31.0, 12.0, 22.0, 32.0]);
}
