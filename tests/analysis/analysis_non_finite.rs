//! NaN and infinity in a layer's inputs or deltas: the analyzer counts the
//! rows they touch as non-finite and never gives them a sign; every other
//! row is classified as if they were absent.

use gradsign::Tensor;
use gradsign::analysis::{GradientSignAnalyzer, SignCategory};

fn m(data: &[f64], rows: usize) -> Tensor<f64> {
    Tensor::from_slice(data, &[rows, data.len() / rows]).unwrap()
}

#[test]
fn a_nan_input_makes_every_row_of_its_example_non_finite() {
    // Example 0 has a NaN input: both of its neuron rows δ·a_0 are
    // non-finite. Example 1 is clean: δ = (1, −1) on a_1 = (1, 2) > 0 gives
    // one positive and one negative row.
    let a = m(&[f64::NAN, 1.0, 1.0, 2.0], 2);
    let d = m(&[1.0, -1.0, 1.0, -1.0], 2);
    let an = GradientSignAnalyzer::default().without_bias();
    let cats = an.example_categories(&a, &d).unwrap();
    use SignCategory::*;
    assert_eq!(cats, [NonFinite, NonFinite, Positive, Negative]);
    let r = an.analyze_layer(&a, &d).unwrap();
    assert_eq!(r.per_example.non_finite, 2);
    assert_eq!((r.per_example.positive, r.per_example.negative), (1, 1));
}

#[test]
fn an_infinite_delta_makes_its_row_non_finite_and_no_other() {
    // δ_01 = +∞: row (0, 1) is non-finite, not "positive"; row (0, 0) with
    // δ = 2 on a_0 = (0.5, 0.5) is positive.
    let a = m(&[0.5, 0.5], 1);
    let d = m(&[2.0, f64::INFINITY], 1);
    let an = GradientSignAnalyzer::default().without_bias();
    let cats = an.example_categories(&a, &d).unwrap();
    assert_eq!(cats, [SignCategory::Positive, SignCategory::NonFinite]);
}

#[test]
fn a_zero_delta_on_an_infinite_input_is_non_finite_not_zero() {
    // 0 · ∞ is NaN: the row is not the zero row of a dead unit.
    let a = m(&[f64::INFINITY, 1.0], 1);
    let d = m(&[0.0], 1);
    let cats = GradientSignAnalyzer::default()
        .without_bias()
        .example_categories(&a, &d)
        .unwrap();
    assert_eq!(cats, [SignCategory::NonFinite]);
}

#[test]
fn non_finite_counts_appear_in_the_report_and_its_table() {
    let a = m(&[1.0, f64::NAN, 1.0, 1.0], 2);
    let d = m(&[f64::NEG_INFINITY, 1.0], 2);
    let r = GradientSignAnalyzer::default()
        .analyze_layer(&a, &d)
        .unwrap();
    // Example 0: a NaN input and δ = −∞; example 1 is clean and positive.
    assert_eq!(r.per_example.non_finite, 1);
    assert_eq!(r.per_example.positive, 1);
    assert_eq!(r.inputs.non_finite, 1);
    assert_eq!(r.delta.non_finite, 1);
    let table = r.to_string();
    assert!(table.contains("non-finite"), "{table}");
}

#[test]
fn a_row_with_no_entries_is_the_zero_row_even_for_a_nan_delta() {
    // No inputs and no bias: g = δ·a has no entries, so nothing in it is
    // non-finite (found by the analyze_layer fuzz target, whose expectation
    // was wrong); the NaN δ is still counted among the deltas.
    let a = Tensor::<f64>::zeros(&[1, 0]).unwrap();
    let d = m(&[f64::NAN], 1);
    let an = GradientSignAnalyzer::default().without_bias();
    assert_eq!(an.example_categories(&a, &d).unwrap(), [SignCategory::Zero]);
    assert_eq!(an.analyze_layer(&a, &d).unwrap().delta.non_finite, 1);
    // With the bias the row is [δ] = [NaN]: non-finite.
    let with_bias = GradientSignAnalyzer::default();
    assert_eq!(
        with_bias.example_categories(&a, &d).unwrap(),
        [SignCategory::NonFinite]
    );
}
