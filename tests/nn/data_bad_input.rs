//! Data sets from untrusted labels and CSV text: errors, never a panic or an
//! allocation the input did not pay for.

use gradsign::data::{Dataset, Table};
use gradsign::{Error, Tensor};

#[test]
fn a_label_of_usize_max_is_an_error_not_an_overflow() {
    // The class count is the largest label plus one, which overflowed.
    let e = Dataset::new(Tensor::<f64>::zeros(&[1, 1]).unwrap(), vec![usize::MAX]).unwrap_err();
    assert!(
        matches!(
            e,
            Error::OutOfDomain {
                op: "Dataset::new",
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        format!(
            "Dataset::new: a label must be below usize::MAX (the class count is the largest \
             label + 1), got {}",
            usize::MAX
        )
    );
}

#[test]
fn one_hot_of_an_impossible_class_count_is_an_error() {
    // Two rows with label 2⁶⁰: 2 × (2⁶⁰ + 1) f64 values need 2⁶⁴ + 16 bytes.
    let d = Dataset::new(Tensor::<f64>::zeros(&[2, 1]).unwrap(), vec![1 << 60, 0]).unwrap();
    let e = d.one_hot().unwrap_err();
    assert!(matches!(e, Error::TooLarge { op: "zeros", .. }), "{e}");
}

#[test]
fn one_hot_marks_each_row_s_class() {
    let d = Dataset::new(Tensor::<f32>::zeros(&[3, 1]).unwrap(), vec![2, 0, 1]).unwrap();
    let h = d.one_hot().unwrap();
    assert_eq!(h.dims(), &[3, 3]);
    assert_eq!(h.as_slice(), &[0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
}

#[test]
fn csv_labels_are_accepted_up_to_u32_max_and_set_the_class_count() {
    let t = Table::<f64>::parse("x,y\n0.5,4294967295\n", "csv", true).unwrap();
    assert_eq!(t.into_dataset(1).unwrap().classes(), 4_294_967_296); // 2³²
    let t = Table::<f64>::parse("x,y\n0.5,4294967296\n", "csv", true).unwrap();
    let e = t.into_dataset(1).unwrap_err();
    assert_eq!(
        e.to_string(),
        "csv: line 2, column 2: label `4294967296` is beyond the largest label 4294967295"
    );
}
