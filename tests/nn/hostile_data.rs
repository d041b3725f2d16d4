//! Hostile inputs to the data layer: `Standardizer` and `Centering` on
//! zero-width, subnormal, huge and non-finite columns, the CSV loader on
//! labels, underflow, byte-order marks, quotes and line endings, and
//! `Dataset::new` on labels its element type cannot hold — in `f32` and
//! `f64`.

use gradsign::data::{Centering, Dataset, Standardizer, Table};
use gradsign::{Element, Error, Tensor};
use proptest::prelude::*;

/// `2ᵏ` for `k` in `-1074..=1023`, subnormal included (`powi` underflows
/// through `1/2¹⁰⁷⁰`).
fn pow2(k: i32) -> f64 {
    if k >= -1022 {
        f64::from_bits(((k + 1023) as u64) << 52)
    } else {
        f64::from_bits(1 << (k + 1074))
    }
}

/// `2ᵏ` in f32 for `k` in `-149..=127`.
fn pow2_f32(k: i32) -> f32 {
    if k >= -126 {
        f32::from_bits(((k + 127) as u32) << 23)
    } else {
        f32::from_bits(1 << (k + 149))
    }
}

fn col<F: Element>(v: &[F]) -> Tensor<F> {
    Tensor::from_slice(v, &[v.len(), 1]).unwrap()
}

// ---------------------------------------------------------------- Standardizer

fn zero_width_is_empty<F: Element>() {
    for rows in [0, 3] {
        let x = Tensor::<F>::zeros(&[rows, 0]).unwrap();
        let e = Standardizer::fit(&x).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Empty {
                    op: "Standardizer::fit",
                    ..
                }
            ),
            "{e}"
        );
        let e = Centering::fit(&x).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Empty {
                    op: "Centering::fit",
                    ..
                }
            ),
            "{e}"
        );
    }
}

#[test]
fn zero_width_data_is_an_empty_error_not_a_panic() {
    zero_width_is_empty::<f32>();
    zero_width_is_empty::<f64>();
}

#[test]
fn a_column_differing_by_one_subnormal_standardises_to_plus_minus_one() {
    // σ = 2⁻¹⁰⁷⁵ rounds to 0 in f64; 1/σ would be +∞.
    let x = col(&[0.0, 5e-324, 0.0, 5e-324]);
    let s = Standardizer::fit(&x).unwrap();
    assert!(s.constant_columns().is_empty());
    assert_eq!(s.transform(&x).unwrap().as_slice(), &[-1.0, 1.0, -1.0, 1.0]);
    // f32: σ = 2⁻¹⁵⁰ is an f64 number, but 1/σ overflows f32.
    let tiny = f32::from_bits(1);
    let x = col(&[tiny, 0.0]);
    let s = Standardizer::fit(&x).unwrap();
    assert!(s.constant_columns().is_empty());
    assert_eq!(s.std(), &[f64::from(tiny) / 2.0]);
    assert_eq!(s.transform(&x).unwrap().as_slice(), &[1.0, -1.0]);
}

#[test]
fn subnormal_columns_standardise_like_their_normal_multiples() {
    // The same column at 2⁻¹⁰⁷⁰ and at 1: same standardised values.
    let base = [1.0, 3.0, 4.0, 8.0];
    let tiny: Vec<f64> = base.iter().map(|v| v * pow2(-1070)).collect();
    let want = Standardizer::fit(&col(&base))
        .unwrap()
        .transform(&col(&base))
        .unwrap();
    let got = Standardizer::fit(&col(&tiny))
        .unwrap()
        .transform(&col(&tiny))
        .unwrap();
    for (g, w) in got.as_slice().iter().zip(want.as_slice()) {
        assert!((g - w).abs() < 1e-15, "{g} vs {w}");
    }
    let base32 = [1.0f32, 3.0, 4.0, 8.0];
    let tiny32: Vec<f32> = base32.iter().map(|v| v * pow2_f32(-145)).collect();
    let want = Standardizer::fit(&col(&base32))
        .unwrap()
        .transform(&col(&base32))
        .unwrap();
    let got = Standardizer::fit(&col(&tiny32))
        .unwrap()
        .transform(&col(&tiny32))
        .unwrap();
    for (g, w) in got.as_slice().iter().zip(want.as_slice()) {
        assert!((g - w).abs() < 1e-6, "{g} vs {w}");
    }
}

#[test]
fn a_column_whose_squares_overflow_keeps_its_true_deviation() {
    // Σ(x − μ)² = 2e400 overflowed: σ was +∞ and the column was zeroed.
    let x = col(&[1e200, -1e200]);
    let s = Standardizer::fit(&x).unwrap();
    assert_eq!(s.std(), &[1e200]);
    assert_eq!(s.mean(), &[0.0]);
    assert_eq!(s.transform(&x).unwrap().as_slice(), &[1.0, -1.0]);
    for m in [f64::MAX, -f64::MAX] {
        let x = col(&[m, -m, m, -m]);
        let s = Standardizer::fit(&x).unwrap();
        assert_eq!(s.std(), &[f64::MAX]);
        let one = m.signum();
        assert_eq!(s.transform(&x).unwrap().as_slice(), &[one, -one, one, -one]);
    }
    let x = col(&[f32::MAX, -f32::MAX]);
    let z = Standardizer::fit(&x).unwrap().transform(&x).unwrap();
    assert_eq!(z.as_slice(), &[1.0, -1.0]);
}

fn max_column<F: Element>() {
    let x = col(&[F::max_value(), F::max_value(), F::max_value()]);
    let s = Standardizer::fit(&x).unwrap();
    assert_eq!(s.mean(), &[F::max_value()]);
    assert_eq!(s.constant_columns(), &[0]);
    assert_eq!(s.transform(&x).unwrap().as_slice(), &[F::zero(); 3]);
    let c = Centering::fit(&x).unwrap();
    assert_eq!(c.mean(), &[F::max_value()]);
    assert_eq!(c.transform(&x).unwrap().as_slice(), &[F::zero(); 3]);
    let neg = col(&[F::min_value(), F::min_value()]);
    assert_eq!(Centering::fit(&neg).unwrap().mean(), &[F::min_value()]);
}

#[test]
fn a_column_of_max_values_has_mean_max_not_infinity() {
    max_column::<f32>();
    max_column::<f64>();
}

fn non_finite_is_named<F: Element>() {
    for bad in [F::nan(), F::infinity(), F::neg_infinity()] {
        let x = Tensor::from_vec(vec![F::one(), F::zero(), F::zero(), bad], &[2, 2]).unwrap();
        for e in [
            Standardizer::fit(&x).unwrap_err(),
            Centering::fit(&x).unwrap_err(),
        ] {
            assert!(matches!(e, Error::NonFinite { .. }), "{e}");
            assert!(e.to_string().contains("row 1, column 1"), "{e}");
        }
        let train =
            Tensor::from_vec(vec![F::one(), F::zero(), F::zero(), F::one()], &[2, 2]).unwrap();
        let s = Standardizer::fit(&train).unwrap();
        let e = s.transform(&x).unwrap_err();
        assert!(
            matches!(
                e,
                Error::NonFinite {
                    op: "Standardizer::transform",
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("row 1, column 1"), "{e}");
        let e = Centering::fit(&train).unwrap().transform(&x).unwrap_err();
        assert!(e.to_string().contains("row 1, column 1"), "{e}");
    }
}

#[test]
fn nan_and_infinity_are_errors_naming_row_and_column_in_fit_and_transform() {
    non_finite_is_named::<f32>();
    non_finite_is_named::<f64>();
}

fn far_outside_training<F: Element>() {
    let m = F::max_value();
    let half = m * F::from_f64(0.5);
    let train = col(&[m, half]);
    // μ = ¾·MAX, σ = ¼·MAX: x − μ overflows for x = −MAX, (x − μ)/σ = −7 does not.
    let s = Standardizer::fit(&train).unwrap();
    let z = s.transform(&col(&[-m])).unwrap().as_slice()[0];
    let seven = F::from_f64(7.0);
    assert!(
        (z + seven).abs() <= seven * F::epsilon() * F::from_f64(4.0),
        "{z}"
    );
    // Centring has no scale to bring −1.75·MAX back: an error, x unchanged.
    let c = Centering::fit(&train).unwrap();
    let mut x = col(&[F::zero(), -m]);
    let e = c.transform_in_place(&mut x).unwrap_err();
    assert!(
        matches!(
            e,
            Error::NonFinite {
                op: "Centering::transform",
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("row 1, column 0"), "{e}");
    assert_eq!(x.as_slice(), &[F::zero(), -m], "left unchanged");
    // A tiny training spread and a huge new value: the result overflows F.
    let s = Standardizer::fit(&col(&[F::zero(), F::one()])).unwrap();
    let mut x = col(&[F::one(), m]);
    let e = s.transform_in_place(&mut x).unwrap_err();
    assert!(e.to_string().contains("overflows"), "{e}");
    assert_eq!(x.as_slice(), &[F::one(), m], "left unchanged");
}

#[test]
fn a_transform_that_overflows_is_an_error_and_leaves_the_data_unchanged() {
    far_outside_training::<f32>();
    far_outside_training::<f64>();
}

/// The plain formulas the loader used before: `Σx/n` and `√(Σ(x − μ)²/n)`.
fn plain_stats(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    (
        m,
        (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n).sqrt(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The power-of-two scaling changes no bit for ordinary data.
    #[test]
    fn ordinary_columns_get_the_plain_two_pass_statistics_bit_for_bit(
        v in prop::collection::vec(-1e6f64..1e6, 2..40),
    ) {
        let s = Standardizer::fit(&col(&v)).unwrap();
        let (m, sd) = plain_stats(&v);
        prop_assert_eq!(s.mean()[0].to_bits(), m.to_bits());
        prop_assert_eq!(s.std()[0].to_bits(), sd.to_bits());
    }

    /// Scaling a column by 2ᵏ, anywhere in f64's range (subnormal to near
    /// MAX), changes neither the standardised values nor their finiteness.
    #[test]
    fn standardised_values_are_invariant_under_power_of_two_scaling_f64(
        v in prop::collection::vec(1.0f64..2.0, 2..30),
        k in -1074i32..1023,
        sign in prop::bool::ANY,
    ) {
        let v: Vec<f64> = v.iter().map(|x| if sign { -x } else { *x }).collect();
        let scaled: Vec<f64> = v.iter().map(|x| x * pow2(k)).collect();
        prop_assume!(scaled.iter().all(|x| x.is_finite()));
        let fit = Standardizer::fit(&col(&scaled)).unwrap();
        let z = fit.transform(&col(&scaled)).unwrap();
        let want = Standardizer::fit(&col(&v)).unwrap().transform(&col(&v)).unwrap();
        // At the bottom of the subnormal range the scaled values themselves
        // keep few digits: compare with what they kept.
        let lost = if k < -1022 { 2f64.powi(-(1074 + k) + 2) } else { 1e-12 };
        if fit.constant_columns().is_empty() {
            for (a, b) in z.as_slice().iter().zip(want.as_slice()) {
                prop_assert!(a.is_finite());
                prop_assert!((a - b).abs() <= lost.max(1e-12) * 8.0, "{} vs {} at k = {}", a, b, k);
            }
        } else {
            prop_assert!(z.as_slice().iter().all(|x| x.is_finite()));
        }
    }

    /// The same in f32, whose range the scaling also spans.
    #[test]
    fn standardised_values_are_invariant_under_power_of_two_scaling_f32(
        v in prop::collection::vec(1.0f32..2.0, 2..30),
        k in -126i32..127,
    ) {
        let scaled: Vec<f32> = v.iter().map(|x| x * pow2_f32(k)).collect();
        prop_assume!(scaled.iter().all(|x| x.is_finite()));
        let z = Standardizer::fit(&col(&scaled)).unwrap().transform(&col(&scaled)).unwrap();
        let want = Standardizer::fit(&col(&v)).unwrap().transform(&col(&v)).unwrap();
        for (a, b) in z.as_slice().iter().zip(want.as_slice()) {
            prop_assert!(a.is_finite());
            prop_assert!((a - b).abs() <= 1e-4 * b.abs().max(1.0), "{} vs {} at k = {}", a, b, k);
        }
    }

    /// Any finite column, any magnitudes mixed: finite standardised values
    /// with mean 0 and, unless constant, variance 1.
    #[test]
    fn any_finite_column_standardises_to_mean_zero_unit_variance(
        v in prop::collection::vec(
            (-1.0f64..1.0, -300i32..300).prop_map(|(m, e)| m * 10f64.powi(e)), 2..30),
    ) {
        let s = Standardizer::fit(&col(&v)).unwrap();
        let z = s.transform(&col(&v)).unwrap();
        let z = z.as_slice();
        prop_assert!(z.iter().all(|x| x.is_finite()));
        let n = z.len() as f64;
        let m = z.iter().sum::<f64>() / n;
        let var = z.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n;
        if s.constant_columns().is_empty() {
            prop_assert!(m.abs() < 1e-9 * n.sqrt() && (var - 1.0).abs() < 1e-9, "{} {}", m, var);
        } else {
            prop_assert!(z.iter().all(|&x| x == 0.0));
        }
    }
}

// ------------------------------------------------------------------------- CSV

fn parse_err<F: Element>(text: &str, header: bool) -> (usize, usize, String) {
    match Table::<F>::parse(text, "t.csv", header).unwrap_err() {
        Error::Parse {
            line,
            column,
            message,
            ..
        } => (line, column, message),
        e => panic!("not a parse error: {e}"),
    }
}

fn label_err<F: Element>(text: &str) -> (usize, usize, String) {
    let t = Table::<F>::parse(text, "t.csv", true).unwrap();
    match t.into_dataset(1).unwrap_err() {
        Error::Parse {
            line,
            column,
            message,
            ..
        } => (line, column, message),
        e => panic!("not a parse error: {e}"),
    }
}

fn labels<F: Element>(text: &str) -> Vec<usize> {
    Table::<F>::parse(text, "t.csv", true)
        .unwrap()
        .into_dataset(1)
        .unwrap()
        .labels()
        .to_vec()
}

#[test]
fn an_f32_label_above_2_pow_24_that_f32_rounds_is_an_error() {
    let (line, column, msg) = label_err::<f32>("x,y\n0,1\n0,16777217\n");
    assert_eq!((line, column), (3, 2));
    assert_eq!(
        msg,
        "label `16777217` cannot be stored exactly in f32 (it reads as 16777216)"
    );
    // f32 holds 2²⁴ and 2²⁴ + 2 exactly; f64 holds 2²⁴ + 1.
    assert_eq!(
        labels::<f32>("x,y\n0,16777216\n0,16777218\n"),
        [16777216, 16777218]
    );
    assert_eq!(labels::<f64>("x,y\n0,16777217\n"), [16777217]);
    assert!(
        label_err::<f32>("x,y\n0,4294967295\n")
            .2
            .contains("reads as 4294967300")
    );
}

#[test]
fn a_fractional_label_is_an_error_even_where_the_type_rounds_it_to_an_integer() {
    for text in ["x,y\n0,3000000000.5\n", "x,y\n0,1.00000000000000001\n"] {
        for (line, column, msg) in [label_err::<f32>(text), label_err::<f64>(text)] {
            assert_eq!((line, column), (2, 2));
            assert!(msg.ends_with("is not an integer"), "{msg}");
        }
    }
}

#[test]
fn labels_are_judged_on_their_text() {
    let text = "x,y\n0,+2\n0,2.0\n0,2e0\n0,1.5e1\n0,-0\n0,0.000\n0,250e-1\n0,0e99\n";
    assert_eq!(labels::<f64>(text), [2, 2, 2, 15, 0, 0, 25, 0]);
    assert_eq!(labels::<f32>(text), [2, 2, 2, 15, 0, 0, 25, 0]);
    for (field, want) in [
        ("-1", "is negative"),
        ("-3.0", "is negative"),
        ("25e-2", "is not an integer"),
        ("1e10", "beyond the largest label 4294967295"),
        ("4294967296", "beyond the largest label 4294967295"),
        ("99999999999999999999999", "beyond the largest label"),
        ("1e300", "beyond the largest label"),
    ] {
        let (line, column, msg) = label_err::<f64>(&format!("x,y\n0,1\n0,{field}\n"));
        assert_eq!((line, column), (3, 2), "{field}");
        assert!(msg.contains(want), "{field}: {msg}");
    }
    // A bad label in another column does not matter.
    let t = Table::<f64>::parse("x,y\n0.5,1\n-2,0\n", "t", true).unwrap();
    assert_eq!(t.into_dataset(1).unwrap().labels(), [1, 0]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Whatever an integer's spelling, the label is that integer, or an
    /// error — never another integer.
    #[test]
    fn a_loaded_label_is_the_integer_its_text_denotes(
        k in prop_oneof![0u64..100, 16_777_000u64..16_778_000, 0u64..=u32::MAX as u64],
        form in 0usize..5,
    ) {
        let field = match form {
            0 => format!("{k}"),
            1 => format!("+{k}"),
            2 => format!("{k}.000"),
            3 => format!("{k}0e-1"),
            _ => format!("{k}e0"),
        };
        let text = format!("x,y\n0,{field}\n");
        prop_assert_eq!(labels::<f64>(&text), vec![k as usize]);
        match Table::<f32>::parse(&text, "t", true).unwrap().into_dataset(1) {
            Ok(d) => prop_assert_eq!(d.labels(), &[k as usize]),
            Err(e) => {
                prop_assert!(k > 1 << 24, "{} rejected: {}", k, e);
                prop_assert!(e.to_string().contains("cannot be stored exactly in f32"));
            }
        }
    }
}

#[test]
fn underflow_is_an_error_like_overflow() {
    for text in ["1e-50", "-1e-50", "1e-40", "1.1754942e-38"] {
        let (line, column, msg) = parse_err::<f32>(&format!("a\n{text}\n"), true);
        assert_eq!((line, column), (2, 1));
        assert!(
            msg.contains("below the normal range of f32"),
            "{text}: {msg}"
        );
    }
    for text in ["1e-310", "5e-324", "1e-400", "-1e-999"] {
        let msg = parse_err::<f64>(&format!("{text}\n"), false).2;
        assert!(
            msg.contains("below the normal range of f64"),
            "{text}: {msg}"
        );
    }
    // The same magnitudes that are normal in the wider type are kept.
    let t = Table::<f64>::parse("1e-50,1e-40,2.2250738585072014e-308\n", "t", false).unwrap();
    assert_eq!(t.data().as_slice(), &[1e-50, 1e-40, f64::MIN_POSITIVE]);
    let t = Table::<f32>::parse("1.17549435e-38\n", "t", false).unwrap();
    assert_eq!(t.data().as_slice(), &[f32::MIN_POSITIVE]);
    // Zeros, however written, are zeros.
    let t = Table::<f32>::parse("0,-0,0e-400,0.000e5,-0.0\n", "t", false).unwrap();
    assert!(t.data().as_slice().iter().all(|&x| x == 0.0));
    assert!(t.data().as_slice()[1].is_sign_negative());
}

#[test]
fn overflow_and_non_finite_text_are_errors() {
    for (text, want) in [
        ("1e39", "out of the range of f32"),
        ("-3.5e38", "out of the range of f32"),
        ("nan", "not a finite number"),
        ("-inf", "not a finite number"),
        ("+Infinity", "not a finite number"),
        ("NaN", "not a finite number"),
    ] {
        assert!(parse_err::<f32>(text, false).2.contains(want), "{text}");
    }
    assert!(
        parse_err::<f64>("1e309", false)
            .2
            .contains("out of the range of f64")
    );
    assert!(
        parse_err::<f64>("-1e309", false)
            .2
            .contains("out of the range of f64")
    );
    let t = Table::<f32>::parse("3.4028235e38,-3.4028235e38\n", "t", false).unwrap();
    assert_eq!(t.data().as_slice(), &[f32::MAX, f32::MIN]);
}

#[test]
fn an_f32_field_is_rounded_once_not_through_f64() {
    // Just below the midpoint of 1 + 2⁻²³ and 1 + 2⁻²²: f64 rounds it to
    // the midpoint, and f32 then rounds the tie to even, upwards.
    let text = "1.0000001788139343261718749";
    let t = Table::<f32>::parse(text, "t", false).unwrap();
    assert_eq!(t.data().as_slice(), &[text.parse::<f32>().unwrap()]);
    assert_eq!(t.data().as_slice(), &[1.0 + f32::EPSILON]);
}

#[test]
fn a_byte_order_mark_is_not_part_of_the_first_name() {
    let t = Table::<f64>::parse("\u{feff}a,b\n1,2\n", "t", true).unwrap();
    assert_eq!(t.names(), ["a", "b"]);
    let t = Table::<f32>::parse("\u{feff}1,2\n", "t", false).unwrap();
    assert_eq!(t.data().as_slice(), &[1.0, 2.0]);
    // Only at the very start: elsewhere it is a stray character.
    assert_eq!(parse_err::<f64>("a,b\n1,\u{feff}2\n", true).0, 2);
}

#[test]
fn empty_and_header_only_inputs_are_empty() {
    for text in [
        "",
        "\n",
        "\r\n\r\n",
        "   \n\t\n",
        "\u{feff}",
        "a,b\n",
        "a,b\n\n  \n",
    ] {
        assert!(
            matches!(
                Table::<f64>::parse(text, "t", true),
                Err(Error::Empty {
                    op: "Table::parse",
                    ..
                })
            ),
            "{text:?}"
        );
    }
    assert!(matches!(
        Table::<f32>::parse("", "t", false),
        Err(Error::Empty { .. })
    ));
}

#[test]
fn ragged_rows_name_their_line_both_ways() {
    let (line, column, msg) = parse_err::<f64>("a,b\n1,2\n1,2,3\n", true);
    assert_eq!((line, column), (3, 3));
    assert_eq!(msg, "expected 2 fields, found 3");
    let (line, column, msg) = parse_err::<f32>("1,2,3\n\n4\n", false);
    assert_eq!((line, column), (3, 2));
    assert_eq!(msg, "expected 3 fields, found 1");
    // A trailing comma is one more (empty) field.
    assert_eq!(
        parse_err::<f64>("a,b\n1,2,\n", true).2,
        "expected 2 fields, found 3"
    );
}

#[test]
fn crlf_lines_and_whitespace_are_accepted() {
    let t = Table::<f64>::parse("a ,\tb\r\n 1 ,+2\r\n\r\n-0.5\t, .5\r\n", "t", true).unwrap();
    assert_eq!(t.names(), ["a", "b"]);
    assert_eq!(t.data().as_slice(), &[1.0, 2.0, -0.5, 0.5]);
    assert_eq!(t.lines(), &[2, 4]);
}

#[test]
fn quoted_fields_may_hold_commas_and_quotes_but_not_break_lines() {
    let t = Table::<f64>::parse("\"a, b\",\"say \"\"c\"\"\"\n\"1\", \" 2 \"\n", "t", true).unwrap();
    assert_eq!(t.names(), ["a, b", "say \"c\""]);
    assert_eq!(t.data().as_slice(), &[1.0, 2.0]);
    let (line, column, msg) = parse_err::<f64>("a,b\n1,\"2\n3\"\n", true);
    assert_eq!((line, column), (2, 2));
    assert!(msg.contains("unterminated quoted field"), "{msg}");
    let (_, column, msg) = parse_err::<f64>("a,b\n\"1\"x,2\n", true);
    assert_eq!(column, 1);
    assert!(msg.contains("after a closing quote"), "{msg}");
    let (_, column, msg) = parse_err::<f64>("a,b\n1,2\"3\n", true);
    assert_eq!(column, 2);
    assert!(msg.contains("quote inside the unquoted field"), "{msg}");
    // A quoted label is judged on its text like any other.
    assert_eq!(labels::<f64>("x,y\n0,\"3\"\n"), [3]);
}

#[test]
fn very_long_lines_and_fields_are_handled_and_quoted_briefly() {
    let wide = vec!["1"; 100_000].join(",");
    let t = Table::<f32>::parse(&format!("{wide}\n{wide}\n"), "t", false).unwrap();
    assert_eq!(t.data().dims(), &[2, 100_000]);
    let huge = "7".repeat(1 << 20);
    let e = Table::<f64>::parse(&huge, "t", false).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("out of the range of f64"), "{}", &msg[..100]);
    assert!(
        msg.len() < 200,
        "the field is quoted, not copied: {} bytes",
        msg.len()
    );
    let word = "x".repeat(1 << 20);
    assert!(
        Table::<f64>::parse(&word, "t", false)
            .unwrap_err()
            .to_string()
            .len()
            < 200
    );
}

// --------------------------------------------------------------------- Dataset

#[test]
fn dataset_labels_must_be_exact_targets_in_the_element_type() {
    let x = Tensor::<f32>::zeros(&[1, 1]).unwrap();
    let e = Dataset::new(x.clone(), vec![16_777_217]).unwrap_err();
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
        "Dataset::new: a label must be exactly representable as a f32 target, got 16777217 (it would read 16777216)"
    );
    assert_eq!(
        Dataset::new(x, vec![16_777_218])
            .unwrap()
            .targets()
            .as_slice(),
        &[16_777_218.0]
    );
    let y = Tensor::<f64>::zeros(&[1, 1]).unwrap();
    assert!(Dataset::new(y.clone(), vec![16_777_217]).is_ok());
    let big = (1usize << 53) + 1;
    assert!(
        Dataset::new(y.clone(), vec![big])
            .unwrap_err()
            .to_string()
            .contains("9007199254740993")
    );
    assert!(Dataset::new(y, vec![1 << 53]).is_ok());
}
