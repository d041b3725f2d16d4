//! Hostile parameters to the random tensor constructors (and the seeded
//! playground generators): negative, NaN or overflowing spreads, ranges
//! wider than the type spans, and shapes no memory can hold — each an
//! `Err`, never ±∞ in the data or an abort.

use gradsign::data::{Playground, PlaygroundConfig};
use gradsign::{Element, Error, Tensor};
use proptest::prelude::*;

/// The message after `op: ` of the error `r` returns, which must come from `op`.
fn invalid<T: std::fmt::Debug>(r: gradsign::Result<T>, op: &str) -> String {
    let e = r.expect_err("an error");
    let text = e.to_string();
    let prefix = format!("{op}: ");
    assert!(
        text.starts_with(&prefix),
        "expected an error from {op}, got {e:?}"
    );
    text[prefix.len()..].to_string()
}

fn bad_normal_parameters<F: Element>() {
    let f = F::from_f64;
    for (mean, std) in [
        (f(0.0), f(-1.0)),
        (f(0.0), -F::min_positive_value()),
        (f(0.0), F::nan()),
        (f(0.0), F::infinity()),
        (F::nan(), f(1.0)),
        (F::neg_infinity(), f(1.0)),
        (f(0.0), F::max_value()),
        (F::max_value(), F::max_value() / f(16.0)),
    ] {
        let msg = invalid(Tensor::<F>::rand_normal(&[4], mean, std, 1), "rand_normal");
        assert!(msg.contains(F::NAME), "{msg}");
    }
}

#[test]
fn negative_nan_and_overflowing_normal_parameters_are_errors() {
    bad_normal_parameters::<f32>();
    bad_normal_parameters::<f64>();
}

#[test]
fn a_std_that_overflows_only_f32_is_an_f32_error() {
    // 3e38 overflowed f32 draws to ±∞; as f64 it is a fine spread.
    assert!(Tensor::<f32>::rand_normal(&[64], 0.0, 3e38, 1).is_err());
    assert!(Tensor::<f32>::rand_normal(&[64], 0.0, 2.2e37, 1).is_err()); // 16σ > MAX
    let ok = Tensor::<f32>::rand_normal(&[4096], 0.0, 2.0e37, 1).unwrap();
    assert!(ok.all_finite());
    assert!(
        Tensor::<f64>::rand_normal(&[64], 0.0, 3e38, 1)
            .unwrap()
            .all_finite()
    );
    assert!(Tensor::<f64>::rand_normal(&[64], 0.0, 1.2e307, 1).is_err());
    assert!(
        Tensor::<f64>::rand_normal(&[4096], 0.0, 1.0e307, 1)
            .unwrap()
            .all_finite()
    );
    // A zero spread (either sign of zero) is the constant mean.
    for std in [0.0f32, -0.0] {
        let t = Tensor::<f32>::rand_normal(&[3], f32::MAX, std, 1).unwrap();
        assert_eq!(t.as_slice(), &[f32::MAX; 3]);
    }
}

/// A finite f64 of any magnitude; a third of them beyond ±MAX/2, where
/// `high − low` can overflow.
fn wide() -> impl Strategy<Value = f64> {
    prop_oneof![
        (-1.0f64..1.0, -300i32..308).prop_map(|(m, e)| m * 10f64.powi(e)),
        (-1.0f64..1.0, -300i32..308).prop_map(|(m, e)| m * 10f64.powi(e)),
        (0.5f64..1.0, any::<bool>()).prop_map(|(u, neg)| if neg { -u } else { u } * f64::MAX),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Over the whole exponent range: accepted exactly when
    /// `|mean| + 16·std` is finite in the type, and then every draw is finite.
    #[test]
    fn normal_draws_are_finite_or_the_call_is_an_error(
        (mm, me) in (-1.0f64..1.0, -300i32..309),
        (sm, se) in (0.0f64..1.0, -300i32..309),
        seed in any::<u64>(),
    ) {
        let (mean, std) = (mm * 10f64.powi(me), sm * 10f64.powi(se));
        prop_assume!(mean.is_finite() && std.is_finite());
        let r = Tensor::<f64>::rand_normal(&[256], mean, std, seed);
        prop_assert_eq!(r.is_ok(), (mean.abs() + 16.0 * std).is_finite());
        if let Ok(t) = r { prop_assert!(t.all_finite()); }
        let (m32, s32) = (mean as f32, std as f32);
        prop_assume!(m32.is_finite() && s32.is_finite());
        let r = Tensor::<f32>::rand_normal(&[256], m32, s32, seed);
        prop_assert_eq!(r.is_ok(), (m32.abs() + 16.0 * s32).is_finite());
        if let Ok(t) = r { prop_assert!(t.all_finite()); }
    }

    /// Any finite `low < high`, even spanning more than f64 can subtract:
    /// every draw is in `[low, high)`.
    #[test]
    fn uniform_draws_stay_in_the_half_open_range(
        a in wide(),
        b in wide(),
        seed in any::<u64>(),
    ) {
        prop_assume!(a.is_finite() && b.is_finite() && a != b);
        let (lo, hi) = (a.min(b), a.max(b));
        let t = Tensor::<f64>::rand_uniform(&[128], lo, hi, seed).unwrap();
        prop_assert!(t.as_slice().iter().all(|&x| lo <= x && x < hi));
        let (lo, hi) = (lo as f32, hi as f32);
        if lo.is_finite() && hi.is_finite() && lo < hi {
            let t = Tensor::<f32>::rand_uniform(&[128], lo, hi, seed).unwrap();
            prop_assert!(t.as_slice().iter().all(|&x| lo <= x && x < hi));
        }
    }
}

#[test]
fn a_uniform_range_wider_than_f64_can_subtract_is_sampled() {
    // MAX − (−MAX) overflows: this was an error with a 300-digit message.
    let t = Tensor::<f64>::rand_uniform(&[1000], -f64::MAX, f64::MAX, 3).unwrap();
    assert!(t.as_slice().iter().all(|x| x.is_finite()));
    let positive = t.as_slice().iter().filter(|&&x| x > 0.0).count();
    assert!(
        (400..600).contains(&positive),
        "{positive} of 1000 positive"
    );
    assert_eq!(
        t,
        Tensor::rand_uniform(&[1000], -f64::MAX, f64::MAX, 3).unwrap()
    );
    let t = Tensor::<f32>::rand_uniform(&[1000], -f32::MAX, f32::MAX, 3).unwrap();
    assert!(t.all_finite());
}

fn bad_uniform_parameters<F: Element>() {
    let one = F::one();
    for (lo, hi) in [
        (one, one),
        (one, F::zero()),
        (F::nan(), one),
        (F::zero(), F::nan()),
        (F::neg_infinity(), one),
        (F::zero(), F::infinity()),
    ] {
        let msg = invalid(Tensor::<F>::rand_uniform(&[2], lo, hi, 0), "rand_uniform");
        assert!(msg.len() < 120, "short message: {msg}");
    }
    let msg = invalid(
        Tensor::<F>::rand_uniform(&[2], F::max_value(), F::min_value(), 0),
        "rand_uniform",
    );
    assert!(msg.contains("e38") || msg.contains("e308"), "{msg}");
}

#[test]
fn empty_reversed_or_non_finite_uniform_ranges_are_errors() {
    bad_uniform_parameters::<f32>();
    bad_uniform_parameters::<f64>();
}

fn huge_shapes<F: Element>() {
    for dims in [
        &[usize::MAX, 2][..],
        &[1 << 62][..],
        &[1 << 40, 1 << 30][..],
        &[1 << 20, 1 << 20, 1 << 20][..],
    ] {
        for r in [
            Tensor::<F>::rand_normal(dims, F::zero(), F::one(), 0).map(|t| t.numel()),
            Tensor::<F>::rand_uniform(dims, F::zero(), F::one(), 0).map(|t| t.numel()),
            Tensor::<F>::zeros(dims).map(|t| t.numel()),
            Tensor::<F>::from_fn(dims, |_| F::zero()).map(|t| t.numel()),
        ] {
            assert!(matches!(r, Err(Error::TooLarge { .. })), "{dims:?}: {r:?}");
        }
    }
}

#[test]
fn shapes_no_memory_can_hold_are_errors_not_aborts() {
    huge_shapes::<f32>();
    huge_shapes::<f64>();
}

#[test]
fn a_playground_noise_that_overflows_the_element_type_is_an_error() {
    let cfg = |noise| PlaygroundConfig::default().samples(20).noise(noise);
    // 1e300 fits f64 but not f32; 1e308 overflows the gauss variance itself.
    let e = Playground::Spiral.generate::<f32>(&cfg(1e300)).unwrap_err();
    assert!(e.to_string().contains("overflows f32"), "{e}");
    let e = Playground::Gauss.generate::<f32>(&cfg(1e300)).unwrap_err();
    assert!(e.to_string().contains("overflows f32"), "{e}");
    assert!(
        Playground::Spiral
            .generate::<f64>(&cfg(1e300))
            .unwrap()
            .features()
            .all_finite()
    );
    // Circle and xor noise moves only the labels, never the points.
    for p in [Playground::Circle, Playground::Xor] {
        assert!(
            p.generate::<f32>(&cfg(1e300))
                .unwrap()
                .features()
                .all_finite()
        );
    }
    let e = Playground::Gauss.generate::<f64>(&cfg(1e308)).unwrap_err();
    assert!(e.to_string().contains("overflows f64"), "{e}");
    assert!(
        Playground::Gauss
            .generate::<f32>(&cfg(0.5))
            .unwrap()
            .features()
            .all_finite()
    );
}
