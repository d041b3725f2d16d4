//! The public vocabulary of sign categories: each category's sign, name and
//! position, as reports, tables and JSON use them.

use gradsign::analysis::{Sign, SignCategory, SignCounts};

#[test]
fn each_category_has_the_sign_its_entries_share() {
    use SignCategory::*;
    // Weak categories keep their sign: the zeros do not change it.
    assert_eq!(Positive.sign(), Some(Sign::Positive));
    assert_eq!(WeaklyPositive.sign(), Some(Sign::Positive));
    assert_eq!(Negative.sign(), Some(Sign::Negative));
    assert_eq!(WeaklyNegative.sign(), Some(Sign::Negative));
    assert_eq!(Zero.sign(), Some(Sign::Zero));
    // A non-finite row is its own state, never a sign of a number.
    assert_eq!(NonFinite.sign(), Some(Sign::NonFinite));
    // Entries of both signs share none.
    assert_eq!(Mixed.sign(), None);
}

#[test]
fn each_category_is_named_in_words_and_displayed_padded() {
    let names: Vec<&str> = SignCategory::ALL.iter().map(|c| c.name()).collect();
    assert_eq!(
        names,
        [
            "positive",
            "negative",
            "weakly positive",
            "weakly negative",
            "zero",
            "mixed",
            "non-finite"
        ]
    );
    // Display pads like a string, for table columns.
    assert_eq!(format!("[{:>10}]", SignCategory::Zero), "[      zero]");
    assert_eq!(format!("{:<6}|", SignCategory::Mixed), "mixed |");
}

#[test]
fn the_index_is_the_position_in_all() {
    for (i, c) in SignCategory::ALL.iter().enumerate() {
        assert_eq!(c.index(), i);
    }
}

#[test]
fn coherence_covers_the_one_signed_categories_only() {
    use SignCategory::*;
    let coherent: Vec<_> = SignCategory::ALL
        .into_iter()
        .filter(|c| c.is_coherent())
        .collect();
    assert_eq!(
        coherent,
        [Positive, Negative, WeaklyPositive, WeaklyNegative]
    );
    let strict: Vec<_> = SignCategory::ALL
        .into_iter()
        .filter(|c| c.is_strictly_coherent())
        .collect();
    assert_eq!(strict, [Positive, Negative]);
}

#[test]
fn counted_signs_give_the_row_category() {
    use SignCategory::*;
    let counts = |signs: &[Sign]| {
        let mut c = SignCounts::default();
        for &s in signs {
            c.add(s);
        }
        c
    };
    let (p, n, z, x) = (Sign::Positive, Sign::Negative, Sign::Zero, Sign::NonFinite);
    let c = counts(&[p, p, z]);
    assert_eq!((c.positive, c.negative, c.zero, c.non_finite), (2, 0, 1, 0));
    assert_eq!(c.category(), WeaklyPositive);
    assert_eq!(counts(&[n, n]).category(), Negative);
    assert_eq!(counts(&[n, z]).category(), WeaklyNegative);
    assert_eq!(counts(&[p, n]).category(), Mixed);
    assert_eq!(counts(&[z, z]).category(), Zero);
    assert_eq!(counts(&[]).category(), Zero);
    assert_eq!(counts(&[p, n, x]).category(), NonFinite);
    assert_eq!(counts(&[x]).non_finite, 1);
}

#[test]
fn a_value_just_past_the_tolerance_has_a_sign() {
    assert_eq!(Sign::of(0.5000001_f64, 0.5), Sign::Positive);
    assert_eq!(Sign::of(-0.5000001_f64, 0.5), Sign::Negative);
    assert_eq!(Sign::of(f64::NEG_INFINITY, 0.0), Sign::NonFinite);
    assert_eq!(Sign::of(f32::NAN, 1.0), Sign::NonFinite);
}
