//! Dual numbers: the tangent of every `Float` function is its derivative.

use gradsign::Element;
use gradsign::dual::Dual;
use num_traits::{Float, Num, One, ToPrimitive};

type D = Dual<f64>;

/// Central difference of `f` at `x`.
fn central_difference(f: impl Fn(f64) -> f64, x: f64) -> f64 {
    let h = 1e-6;
    (f(x + h) - f(x - h)) / (2.0 * h)
}

#[test]
fn dual_tangents_of_unary_functions_match_central_differences() {
    #[allow(clippy::type_complexity)]
    let cases: &[(&str, fn(D) -> D, fn(f64) -> f64, f64)] = &[
        ("recip", |x| x.recip(), |x| x.recip(), 0.7),
        ("powi3", |x| x.powi(3), |x| x.powi(3), -1.3),
        ("powi-2", |x| x.powi(-2), |x| x.powi(-2), 0.9),
        ("sqrt", |x| x.sqrt(), |x| x.sqrt(), 2.5),
        ("exp", |x| x.exp(), |x| x.exp(), 0.3),
        ("exp2", |x| x.exp2(), |x| x.exp2(), 0.3),
        ("exp_m1", |x| x.exp_m1(), |x| x.exp_m1(), -0.4),
        ("ln", |x| x.ln(), |x| x.ln(), 1.7),
        ("ln_1p", |x| x.ln_1p(), |x| x.ln_1p(), 0.2),
        ("log2", |x| x.log2(), |x| x.log2(), 3.1),
        ("log10", |x| x.log10(), |x| x.log10(), 3.1),
        ("cbrt", |x| x.cbrt(), |x| x.cbrt(), -2.2),
        ("sin", |x| x.sin(), |x| x.sin(), 0.8),
        ("cos", |x| x.cos(), |x| x.cos(), 0.8),
        ("tan", |x| x.tan(), |x| x.tan(), 0.8),
        ("asin", |x| x.asin(), |x| x.asin(), 0.4),
        ("acos", |x| x.acos(), |x| x.acos(), 0.4),
        ("atan", |x| x.atan(), |x| x.atan(), -1.4),
        ("sinh", |x| x.sinh(), |x| x.sinh(), 0.6),
        ("cosh", |x| x.cosh(), |x| x.cosh(), 0.6),
        ("tanh", |x| x.tanh(), |x| x.tanh(), 0.6),
        ("asinh", |x| x.asinh(), |x| x.asinh(), 0.6),
        ("acosh", |x| x.acosh(), |x| x.acosh(), 1.6),
        ("atanh", |x| x.atanh(), |x| x.atanh(), 0.6),
        ("abs", |x| x.abs(), |x| x.abs(), -0.6),
        ("fract", |x| x.fract(), |x| x.fract(), 2.25),
        ("powf", |x| x.powf(D::constant(1.7)), |x| x.powf(1.7), 1.3),
        ("to_degrees", |x| x.to_degrees(), |x| x.to_degrees(), 0.5),
        ("mul_add", |x| x.mul_add(x, x), |x| x.mul_add(x, x), 0.5),
        (
            "div",
            |x| D::constant(2.0) / (x + D::one()),
            |x| 2.0 / (x + 1.0),
            0.5,
        ),
        ("rem", |x| x % D::constant(0.75), |x| x % 0.75, 2.0),
    ];
    for &(name, fd, ff, x) in cases {
        let y = fd(D::new(x, 1.0));
        assert_eq!(y.value, ff(x), "{name}: value");
        let want = central_difference(ff, x);
        assert!(
            (y.tangent - want).abs() <= 1e-7 * want.abs().max(1.0),
            "{name}: tangent {} vs central difference {want}",
            y.tangent
        );
    }
}

#[test]
fn dual_tangents_of_binary_functions_match_partial_derivatives() {
    let (x, y) = (0.9, -1.7);
    // Tangent along (1, 0) is ∂/∂x, along (0, 1) is ∂/∂y.
    #[allow(clippy::type_complexity)]
    let fs: &[(&str, fn(D, D) -> D, fn(f64, f64) -> f64)] = &[
        ("atan2", |a, b| a.atan2(b), f64::atan2),
        ("hypot", |a, b| a.hypot(b), f64::hypot),
        ("powf", |a, b| (a * a).powf(b), |a, b| (a * a).powf(b)),
        ("log", |a, b| (a * a).log(b * b), |a, b| (a * a).log(b * b)),
    ];
    for &(name, fd, ff) in fs {
        let dx = fd(D::new(x, 1.0), D::constant(y)).tangent;
        let dy = fd(D::constant(x), D::new(y, 1.0)).tangent;
        let (wx, wy) = (
            central_difference(|t| ff(t, y), x),
            central_difference(|t| ff(x, t), y),
        );
        assert!(
            (dx - wx).abs() < 1e-7 * wx.abs().max(1.0),
            "{name} ∂x {dx} vs {wx}"
        );
        assert!(
            (dy - wy).abs() < 1e-7 * wy.abs().max(1.0),
            "{name} ∂y {dy} vs {wy}"
        );
    }
}

#[test]
fn dual_constants_stay_constant_where_the_derivative_is_infinite() {
    // √0 has an infinite derivative; a constant 0 must not turn into 0·∞ = NaN.
    let s = D::constant(0.0).sqrt();
    assert_eq!((s.value, s.tangent), (0.0, 0.0));
    let p = D::constant(0.0).powf(D::constant(0.5));
    assert_eq!((p.value, p.tangent), (0.0, 0.0));
    let r = D::constant(0.0).recip();
    assert_eq!(r.tangent, 0.0);
}

#[test]
fn dual_comparisons_look_at_values_only() {
    let (a, b) = (D::new(1.0, 10.0), D::new(2.0, -10.0));
    assert!(a < b);
    assert_eq!(a, D::new(1.0, 0.0));
    assert_eq!(a.max(b).tangent, -10.0);
    assert_eq!(a.min(b).tangent, 10.0);
    assert_eq!(D::nan().max(a).tangent, 10.0);
}

#[test]
fn dual_a_nan_or_infinite_tangent_makes_the_dual_non_finite() {
    assert!(D::new(1.0, f64::NAN).is_nan());
    assert!(!D::new(1.0, f64::INFINITY).is_finite());
    assert!(D::new(1.0, f64::INFINITY).is_infinite());
    assert!(D::new(1.0, 2.0).is_finite());
}

#[test]
fn dual_abs_at_zero_has_zero_tangent() {
    assert_eq!(D::new(0.0, 3.0).abs().tangent, 0.0);
    assert_eq!(D::new(-2.0, 3.0).abs().tangent, -3.0);
}

#[test]
fn dual_conversions_drop_or_zero_the_tangent() {
    use num_traits::NumCast;
    let x: D = <D as NumCast>::from(2.5f32).unwrap();
    assert_eq!((x.value, x.tangent), (2.5, 0.0));
    assert_eq!(ToPrimitive::to_f64(&D::new(3.5, 1.0)), Some(3.5));
    assert_eq!(<D as Element>::from_f64(0.25).tangent, 0.0);
    assert_eq!(D::from_str_radix("1.5", 10).unwrap().value, 1.5);
}

#[test]
fn dual_display_shows_both_parts() {
    assert_eq!(D::new(1.5, -2.0).to_string(), "1.5-2ε");
    assert_eq!(D::new(1.5, 2.0).to_string(), "1.5+2ε");
    assert_eq!(format!("{:.2}", D::new(1.5, -2.0)), "1.50-2.00ε");
}
