//! Accuracy of every activation's value and derivative over the whole finite
//! range, in ulps against a high-precision reference computed here, through
//! the tape (the derivative is the one the backward pass uses), in f32 and
//! f64; and the validation of activation parameters in the element type.
//!
//! The reference is a double-double evaluation (about 32 digits, see
//! `hostile_numerics_dd`) of each function at the exact input and exact
//! parameter the op received (an f32 input or parameter is exact in f64).
//! Constants are taken as the crate defines them (`SELU_LAMBDA`,
//! `SELU_ALPHA`, `LECUN_TANH_SCALE` and the GELU cubic as their `f64`
//! values, `B = 2/3` and `√(2/π)` exact); their rounding to `F` is part of
//! the error measured.
//!
//! Error is `|got − ref| / ulp(ref)`, `ulp` of `F` at the reference's
//! magnitude (the subnormal spacing below the normal range). For the four
//! derivatives that have a root in the interior (SiLU, mish, GELU, GELU
//! tanh: each a sum of two terms of opposite sign there), the error is
//! measured in ulps of the larger term instead: no fixed-precision
//! evaluation of a sum keeps relative precision at its root.

use crate::hostile_numerics_dd;

use gradsign::activation::{Activation, SELU_ALPHA, SELU_LAMBDA};
use gradsign::{Error, Tape, Tensor};
use hostile_numerics_dd::D;
use proptest::prelude::*;

/// The activations measured: every variant, and several parameters.
fn activations() -> Vec<Activation> {
    let mut all = Activation::ALL.to_vec();
    all.extend([
        Activation::LeakyRelu(0.2),
        Activation::LeakyRelu(0.0),
        Activation::LeakyRelu(3.7),
        Activation::Elu(0.5),
        Activation::Elu(2.7),
        Activation::Elu(0.0),
        Activation::Softplus(2.0),
        Activation::Softplus(0.3),
        Activation::Softplus(7.1),
    ]);
    all
}

/// `(f(x), f'(x), scale)` in double-double, for the parameter `p` as the op
/// sees it (already rounded to `F`); `scale` is what the derivative's error
/// is measured against (`|f'|`, or the larger term at a root).
fn reference(act: Activation, p: f64, x: f64) -> (D, D, f64) {
    let one = D::ONE;
    let dx = D::new(x);
    let sigma = |z: D| -> (D, D) {
        // (σ(z), σ(−z)).
        let e = (-z.abs()).exp();
        let s = (one + e).recip();
        if z.0 >= 0.0 { (s, e * s) } else { (e * s, s) }
    };
    let sech2 = |z: D| -> D {
        let em = (-(z.abs().scale(2.0))).expm1();
        D::new(4.0) * (one + em) / (D::new(2.0) + em).sqr()
    };
    let tanh = |z: D| -> D {
        let em = (-(z.abs().scale(2.0))).expm1();
        let t = -em / (D::new(2.0) + em);
        if z.0 < 0.0 { -t } else { t }
    };
    let plain = |f: D, d: D| (f, d, d.to_f64().abs());
    match act {
        Activation::Identity => plain(dx, one),
        Activation::Relu => plain(
            if x > 0.0 { dx } else { D::ZERO },
            if x > 0.0 { one } else { D::ZERO },
        ),
        Activation::LeakyRelu(_) => {
            let a = D::new(p);
            plain(
                if x > 0.0 { dx } else { a * dx },
                if x > 0.0 { one } else { a },
            )
        }
        Activation::Elu(_) => {
            let a = D::new(p);
            plain(
                if x > 0.0 { dx } else { a * dx.expm1() },
                if x > 0.0 { one } else { a * dx.exp() },
            )
        }
        Activation::Selu => {
            let l = D::new(SELU_LAMBDA);
            let la = l * D::new(SELU_ALPHA);
            plain(
                if x > 0.0 { l * dx } else { la * dx.expm1() },
                if x > 0.0 { l } else { la * dx.exp() },
            )
        }
        Activation::Sigmoid => {
            let (s, t) = sigma(dx);
            plain(s, s * t)
        }
        Activation::Tanh => plain(tanh(dx), sech2(dx)),
        Activation::CentredSigmoid => {
            let h = dx.scale(0.5);
            plain(tanh(h).scale(0.5), sech2(h).scale(0.25))
        }
        Activation::LecunTanh => {
            let a = D::new(gradsign::activation::LECUN_TANH_SCALE);
            let b = D::new(2.0) / D::new(3.0);
            let z = dx * b;
            plain(a * tanh(z), a * b * sech2(z))
        }
        Activation::Softsign => {
            if x.is_infinite() {
                return plain(D::new(x.signum()), D::ZERO);
            }
            let r = (one + dx.abs()).recip();
            plain(dx / (one + dx.abs()), r * r)
        }
        Activation::HardTanh => plain(
            D::new(x.clamp(-1.0, 1.0)),
            if x > -1.0 && x < 1.0 { one } else { D::ZERO },
        ),
        Activation::HardSigmoid => {
            let inside = x > -3.0 && x < 3.0;
            let f = if x <= -3.0 {
                D::ZERO
            } else if x >= 3.0 {
                one
            } else {
                (dx + D::new(3.0)) / D::new(6.0)
            };
            plain(f, if inside { one / D::new(6.0) } else { D::ZERO })
        }
        Activation::Softplus(_) => {
            let b = D::new(p);
            let bx = b * dx;
            let e = (-bx.abs()).exp();
            let f = D::new(x.max(0.0)) + e.ln1p() / b;
            plain(f, sigma(bx).0)
        }
        Activation::Silu => {
            let (s, t) = sigma(dx);
            let second = dx * s * t;
            let d = s + second;
            (dx * s, d, s.to_f64().abs().max(second.to_f64().abs()))
        }
        Activation::Mish => {
            let sp = D::new(x.max(0.0)) + (-dx.abs()).exp().ln1p();
            let t = tanh(sp);
            let second = dx * sech2(sp) * sigma(dx).0;
            (
                dx * t,
                t + second,
                t.to_f64().abs().max(second.to_f64().abs()),
            )
        }
        Activation::Gelu => {
            if x.abs() > 1e10 {
                // Φ is 0 or 1 and φ is 0 to far below any ulp.
                return if x > 0.0 {
                    plain(dx, one)
                } else {
                    plain(D::ZERO, D::ZERO)
                };
            }
            let z = dx.abs() / D::new(2.0).sqrt();
            let tail = z.erfc().scale(0.5);
            let cdf = if x < 0.0 { tail } else { one - tail };
            let pdf = (-dx.sqr().scale(0.5)).exp() / (D::PI.scale(2.0)).sqrt();
            let second = dx * pdf;
            (
                dx * cdf,
                cdf + second,
                cdf.to_f64().abs().max(second.to_f64().abs()),
            )
        }
        Activation::GeluTanh => {
            if x.abs() > 1e10 {
                return if x > 0.0 {
                    plain(dx, one)
                } else {
                    plain(D::ZERO, D::ZERO)
                };
            }
            let c = (D::new(2.0) / D::PI).sqrt();
            let k = D::new(0.044_715);
            let two_u = (c * (dx + k * dx * dx * dx)).scale(2.0);
            let (s, t) = sigma(two_u);
            let du = c * (one + D::new(3.0) * k * dx * dx);
            let m = dx.scale(2.0) * du;
            let second = if two_u.0 < 0.0 {
                // e^{2u} may be subnormal even in double-double: apply m to
                // e^{u} (normal) first.
                let root = two_u.scale(0.5).exp();
                (m * root) * root * t * t
            } else {
                m * s * t
            };
            (
                dx * s,
                s + second,
                s.to_f64().abs().max(second.to_f64().abs()),
            )
        }
        other => panic!("no reference for {other}"),
    }
}

/// The spacing of `F` at magnitude `|r|` (the subnormal spacing below the
/// normal range).
fn ulp<F: gradsign::nn::ModelElement>(r: f64) -> f64 {
    let eps = F::epsilon().to_f64();
    let tiny = F::min_positive_value().to_f64() * eps;
    let r = r.abs();
    if r < F::min_positive_value().to_f64() {
        return tiny;
    }
    let e = r.log2().floor();
    let mut u = 2f64.powf(e) * eps;
    // log2 may round up across a power of two.
    if 2f64.powf(e) > r {
        u *= 0.5;
    }
    u.max(tiny)
}

/// The error of `got` against `reference` in ulps of `F` at `scale`.
fn ulps<F: gradsign::nn::ModelElement>(got: F, reference: D, scale: f64) -> f64 {
    let got = got.to_f64();
    let r = reference.to_f64();
    if got == r {
        return 0.0;
    }
    // A result beyond F's range must overflow to the infinity of its sign.
    let rounded = if reference.0.is_infinite() {
        reference.0
    } else {
        F::from_f64(r).to_f64()
    };
    if rounded.is_infinite() {
        return if got == rounded { 0.0 } else { f64::INFINITY };
    }
    if !got.is_finite() {
        return f64::INFINITY;
    }
    let diff = (D::new(got) - reference).to_f64().abs();
    diff / ulp::<F>(scale.max(r.abs()))
}

/// The worst (value, derivative) errors of `act` over `xs` in `F`, through
/// the tape (forward map on the whole slice, backward through a sum), with
/// the input where each is reached.
fn worst<F: gradsign::nn::ModelElement>(act: Activation, xs: &[F]) -> ((f64, f64), (f64, f64)) {
    let tape = Tape::<F>::new();
    let x = tape.var(&Tensor::from_vec(xs.to_vec(), &[xs.len()]).unwrap());
    let y = act.apply(x).unwrap();
    let grads = y.sum().backward().unwrap();
    let (values, derivs) = (y.value(), grads.get(x).unwrap().to_vec());
    let p = match act {
        Activation::LeakyRelu(a) | Activation::Elu(a) | Activation::Softplus(a) => {
            F::from_f64(a).to_f64()
        }
        _ => 0.0,
    };
    let mut wf = (0.0, f64::NAN);
    let mut wd = (0.0, f64::NAN);
    for (i, &xi) in xs.iter().enumerate() {
        let x64 = xi.to_f64();
        let (rf, rd, mut scale) = reference(act, p, x64);
        let mut scale_f = 0.0;
        if gated(act) {
            // A gate that is itself subnormal carries an absolute error of
            // up to a unit of the smallest subnormal, which x multiplies.
            let floor = x64.abs() * F::min_positive_value().to_f64();
            scale = scale.max(floor);
            scale_f = floor;
        }
        let ef = ulps(values.as_slice()[i], rf, scale_f);
        let ed = ulps(derivs[i], rd, scale);
        if ef > wf.0 || ef.is_nan() {
            wf = (ef, x64);
        }
        if ed > wd.0 || ed.is_nan() {
            wd = (ed, x64);
        }
    }
    (wf, wd)
}

/// The self-gated activations `x·g(x)`.
fn gated(act: Activation) -> bool {
    matches!(
        act,
        Activation::Silu | Activation::Mish | Activation::Gelu | Activation::GeluTanh
    )
}

/// The documented bound, in ulps, of each activation's (value, derivative)
/// in `F`. The sums with a root (SiLU', mish', GELU', GELU-tanh') are
/// measured against their larger term.
fn bound(act: Activation) -> (f64, f64) {
    // The worst errors seen over 3,000 random vectors of ~350 values per
    // type (every finite bit pattern, `--release`), rounded up with a margin:
    // the first bounds recorded here were tighter than the code achieves
    // (the random test found e.g. tanh′ 4.19, LeCun′ 6.0, SiLU 3.07 ulps).
    match act {
        Activation::Identity | Activation::Relu | Activation::HardTanh => (0.0, 0.0),
        Activation::LeakyRelu(_) => (0.5, 0.0),
        Activation::HardSigmoid => (1.0, 0.5),
        Activation::Softsign => (2.0, 4.0),
        Activation::Elu(_) | Activation::Selu => (2.0, 4.5),
        Activation::Sigmoid => (3.0, 4.5),
        Activation::Tanh | Activation::CentredSigmoid => (3.0, 4.5),
        Activation::LecunTanh => (4.0, 6.5),
        Activation::Softplus(_) => (4.0, 4.0),
        Activation::Silu => (3.5, 5.0),
        Activation::Mish => (4.0, 6.5),
        Activation::Gelu => (4.0, 4.0),
        // 4.01 ulps in f32 at x = −3.7404358 (found by the random test
        // below): the first-order corrections of GELU-tanh's argument do not
        // reach 4 everywhere. The derivative's bound comes from a scan of
        // every f32 in [−40, 40] against an f64 reference: 6.74 ulps at
        // x = −3.1828206 (the random test had found 6.96 at −4.627974 before
        // the derivative's factor was formed in one rounding; the scan then
        // found 8.45 at −4.626468, so the earlier 6.5 never held).
        Activation::GeluTanh => (4.5, 7.0),
        _ => (0.0, 0.0),
    }
}

/// `±10^k` for `k` evenly spaced over the whole finite range of `F` (and 0,
/// and the subnormal extremes), plus a fine linear grid over `[−60, 60]`
/// where the tails of the smooth activations live, plus the kinks.
fn grid<F: gradsign::nn::ModelElement>() -> Vec<F> {
    let (lo, hi) = (
        (F::min_positive_value() * F::epsilon()).to_f64().log10(),
        F::max_value().to_f64().log10(),
    );
    let mut xs = vec![F::zero(), -F::zero(), F::max_value(), F::min_value()];
    // Where the random test found GELU-tanh's worst f32 value, and where
    // the scan of every f32 found its derivative's worst (before and after
    // the derivative's factor took one rounding).
    for x in [
        -3.740435838699341,
        -4.627974033355713,
        -4.626468,
        -3.1828206,
        -2.3286593,
    ] {
        xs.push(F::from_f64(x));
    }
    let n = 1500;
    for i in 0..=n {
        let k = lo + (hi - lo) * i as f64 / n as f64;
        let v = F::from_f64(10f64.powf(k));
        if v.is_finite() {
            xs.extend([v, -v]);
        }
    }
    for i in -3000..=3000 {
        xs.push(F::from_f64(i as f64 * 0.02 + 0.001));
    }
    for k in [-3.0, -1.0, 0.0, 1.0, 3.0] {
        let v = F::from_f64(k);
        xs.extend([v, v + F::epsilon(), v - F::epsilon()]);
    }
    xs
}

fn check_grid<F: gradsign::nn::ModelElement>() {
    let xs = grid::<F>();
    let mut failures = Vec::new();
    for act in activations() {
        let ((ef, xf), (ed, xd)) = worst(act, &xs);
        let (bf, bd) = bound(act);
        println!(
            "{} {act}: value {ef:.2} ulps (at {xf:e}), derivative {ed:.2} ulps (at {xd:e})",
            F::NAME
        );
        if !(ef <= bf && ed <= bd) {
            failures.push(format!(
                "{act}: value {ef:.2} ulps at {xf:e} (bound {bf}), derivative {ed:.2} ulps at {xd:e} (bound {bd})"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} over the grid:\n{}",
        F::NAME,
        failures.join("\n")
    );
}

#[test]
fn every_activation_is_within_its_ulp_bound_over_the_f32_range() {
    check_grid::<f32>();
}

#[test]
fn every_activation_is_within_its_ulp_bound_over_the_f64_range() {
    check_grid::<f64>();
}

/// Every finite `F` by its bits: normal, subnormal, zero, both signs.
fn check_random<F: gradsign::nn::ModelElement>(xs: &[F]) -> std::result::Result<(), TestCaseError> {
    for act in activations() {
        let ((ef, xf), (ed, xd)) = worst(act, xs);
        let (bf, bd) = bound(act);
        prop_assert!(
            ef <= bf && ed <= bd,
            "{} {act}: value {ef:.2} ulps at {xf:e} (bound {bf}), derivative {ed:.2} ulps at {xd:e} (bound {bd})",
            F::NAME
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn every_activation_is_within_its_bound_at_random_f32(
        xs in prop::collection::vec(
            prop::num::f32::NORMAL | prop::num::f32::SUBNORMAL | prop::num::f32::ZERO,
            300..400,
        ),
        tails in prop::collection::vec(-120.0f32..120.0, 300),
    ) {
        check_random(&xs)?;
        check_random(&tails)?;
    }

    #[test]
    fn every_activation_is_within_its_bound_at_random_f64(
        xs in prop::collection::vec(
            prop::num::f64::NORMAL | prop::num::f64::SUBNORMAL | prop::num::f64::ZERO,
            300..400,
        ),
        tails in prop::collection::vec(-760.0f64..760.0, 300),
    ) {
        check_random(&xs)?;
        check_random(&tails)?;
    }
}

/// The exact cases of the audit, by value: each derivative through the tape
/// against its closed form in the tail.
#[test]
fn tail_derivatives_through_the_tape_keep_their_relative_precision() {
    let grad = |act: Activation, x: f64| -> f64 {
        let tape = Tape::<f64>::new();
        let v = tape.var_scalar(x);
        act.apply(v).unwrap().backward().unwrap().get(v).unwrap()[0]
    };
    let rel = |got: f64, want: f64| ((got - want) / want).abs();
    // ELU'(x) = α·eˣ: was y + α, 1.7e−4 off at −30 and 0 at −100.
    assert!(rel(grad(Activation::Elu(1.0), -30.0), (-30f64).exp()) < 4e-16);
    assert!(rel(grad(Activation::Elu(1.0), -100.0), (-100f64).exp()) < 4e-16);
    let la = SELU_LAMBDA * SELU_ALPHA;
    assert!(rel(grad(Activation::Selu, -100.0), la * (-100f64).exp()) < 6e-16);
    // σ'(x) = e^{−|x|}/(1 + e^{−|x|})², both tails.
    for x in [-40.0, 40.0, 30.0, -700.0] {
        let e = (-f64::abs(x)).exp();
        assert!(
            rel(grad(Activation::Sigmoid, x), e / (1.0 + e) / (1.0 + e)) < 8e-16,
            "{x}"
        );
    }
    // tanh'(x) = 4e^{−2|x|}/(1 + e^{−2|x|})²: was exactly 0 from |x| ≈ 19.
    for x in [-30.0, 30.0, 100.0] {
        let e = (-2.0 * f64::abs(x)).exp();
        let want = 4.0 * e / (1.0 + e) / (1.0 + e);
        assert!(rel(grad(Activation::Tanh, x), want) < 8e-16, "{x}");
        // The centred sigmoid: ¼·sech²(x/2).
        let e = (-f64::abs(x)).exp();
        let want = e / (1.0 + e) / (1.0 + e);
        assert!(
            rel(grad(Activation::CentredSigmoid, x), want) < 8e-16,
            "{x}"
        );
    }
    // And in f32, where the output forms died first.
    let tape = Tape::<f32>::new();
    let v = tape.var_scalar(-100.0f32);
    let g = Activation::Elu(1.0)
        .apply(v)
        .unwrap()
        .backward()
        .unwrap()
        .get(v)
        .unwrap()[0];
    assert_eq!(g, (-100f64).exp() as f32);
    let v = tape.var_scalar(20.0f32);
    let g = v.tanh().backward().unwrap().get(v).unwrap()[0];
    assert!(rel(f64::from(g), 4.0 * (-40f64).exp()) < 4e-7, "{g}");
}

/// Hostile parameters: each rejected in the type it would run in, by the
/// one check, with the same error from every constructor and `apply`.
fn hostile_parameters() -> Vec<Activation> {
    let mut v = Vec::new();
    for p in [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        -1.0,
        -0.0,
        0.0,
        -1e-300,
        1e-320,
        1e-50,
        1e-40,
        1e-38,
        2e-38,
        0.01,
        1.0,
        3e38,
        3.5e38,
        1e39,
        1e300,
        f64::MAX,
    ] {
        v.extend([
            Activation::LeakyRelu(p),
            Activation::Elu(p),
            Activation::Softplus(p),
        ]);
    }
    v
}

fn constructors_agree<F: gradsign::nn::ModelElement>(act: Activation) {
    use gradsign::nn::{Init, Linear, Mlp};
    let want = act.validate::<F>();
    let new = Mlp::builder(&[2, 3, 1])
        .hidden(act)
        .output(Activation::Identity)
        .init(Init::Zeros)
        .seed(0)
        .build::<F>()
        .map(|_| ());
    let out = Mlp::builder(&[2, 1])
        .hidden(Activation::Tanh)
        .output(act)
        .init(Init::Zeros)
        .seed(0)
        .build::<F>()
        .map(|_| ());
    let splitmix = Mlp::builder(&[2, 1])
        .output(act)
        .build_with(|fan_in, fan_out| {
            Linear::new(gradsign::Tensor::<F>::zeros(&[fan_out, fan_in])?, None)
        })
        .map(|_| ());
    // A Sequential assembled by hand validates its activation when it runs
    // (the error comes wrapped with the layer's position).
    let net = gradsign::nn::Sequential::<F>::new()
        .push(Linear::init(2, 1, Init::Zeros, true, 0).unwrap())
        .push(act);
    let tape = Tape::<F>::new();
    let x = tape.constant(&gradsign::Tensor::zeros(&[1, 2]).unwrap());
    let layers = gradsign::nn::forward(&net, &tape, x)
        .map(|_| ())
        .map_err(|e| match e {
            Error::Layer { source, .. } => *source,
            e => e,
        });
    let tape = Tape::<F>::new();
    let applied = act.apply(tape.var_scalar(F::one())).map(|_| ());
    for (name, got) in [
        ("new (hidden)", new),
        ("new (output)", out),
        ("build_with", splitmix),
        ("a Sequential by hand", layers),
        ("apply", applied),
    ] {
        assert_eq!(got, want, "{act} in {}: {name}", F::NAME);
    }
    if let Err(e) = &want {
        assert!(matches!(e, Error::OutOfDomain { .. }), "{e}");
    }
}

#[test]
fn every_constructor_and_apply_validate_activations_identically() {
    for act in hostile_parameters() {
        constructors_agree::<f32>(act);
        constructors_agree::<f64>(act);
    }
    // The audit's cases: finite in f64, not in f32 (they gave NaN).
    for act in [
        Activation::LeakyRelu(1e39),
        Activation::Elu(1e39),
        Activation::Softplus(1e39),
    ] {
        assert!(act.validate::<f64>().is_ok(), "{act}");
        let e = act.validate::<f32>().unwrap_err().to_string();
        assert!(
            e.contains("must be within the range of f32, got 1e39"),
            "{e}"
        );
    }
    // Underflow changes the function (softplus would divide by 0).
    let e = Activation::Softplus(1e-50).validate::<f32>().unwrap_err();
    assert_eq!(
        e.to_string(),
        "softplus: β must be 0 or at least 1.1754943508222875e-38, the smallest normal f32, got 1e-50, which underflows"
    );
    assert!(Activation::Softplus(1e-50).validate::<f64>().is_ok());
    assert!(Activation::LeakyRelu(0.0).validate::<f32>().is_ok());
    assert!(Activation::LeakyRelu(-0.0).validate::<f32>().is_ok());
    assert!(Activation::Softplus(0.0).validate::<f64>().is_err());
    // The Var methods in F apply the same domain rule.
    let tape = Tape::<f32>::new();
    let x = tape.var_scalar(1.0f32);
    assert!(x.softplus(1e-40).is_err());
    assert!(x.leaky_relu(1e-40).is_err());
    assert!(x.elu(f32::MAX).is_ok());
}

/// Each valid hostile-parameter activation, in an f32 and an f64 network,
/// runs finite at large inputs (the NaN of `LeakyRelu(1e39)` in f32 is gone
/// because it no longer constructs; what constructs does not make NaN).
#[test]
fn what_constructs_runs_without_nan() {
    fn run<F: gradsign::nn::ModelElement>(act: Activation) {
        if act.validate::<F>().is_err() {
            return;
        }
        let tape = Tape::<F>::new();
        let xs: Vec<F> = [-1e30, -100.0, -1.0, 0.0, 1.0, 100.0, 1e30]
            .map(F::from_f64)
            .to_vec();
        let x = tape.var(&Tensor::from_vec(xs.clone(), &[xs.len()]).unwrap());
        let y = act.apply(x).unwrap();
        let g = y.sum().backward().unwrap();
        for (i, (&v, &d)) in y
            .value()
            .as_slice()
            .iter()
            .zip(g.get(x).unwrap())
            .enumerate()
        {
            assert!(
                !v.is_nan() && !d.is_nan(),
                "{act} in {} at {}: {v}, {d}",
                F::NAME,
                xs[i]
            );
        }
    }
    for act in hostile_parameters() {
        run::<f32>(act);
        run::<f64>(act);
    }
}

#[cfg(feature = "serde")]
mod json {
    use super::*;
    use gradsign::nn::{Init, Mlp, Sequential};

    fn file(dtype: &str, act: &str) -> String {
        format!(
            r#"{{"format":"gradsign-sequential","version":1,{dtype}"training":true,"layers":[{{"kind":"linear","fan_in":1,"fan_out":1,"weight":[0.5],"bias":[0.0]}},{{"kind":"activation","activation":{act}}}]}}"#
        )
    }

    fn msg<F: gradsign::nn::ModelElement>(text: &str) -> String {
        Sequential::<F>::from_json(text).unwrap_err().to_string()
    }

    #[test]
    fn a_garbage_dtype_is_an_error_naming_what_was_found_and_the_type() {
        let tanh = "\"Tanh\"";
        assert!(Sequential::<f32>::from_json(&file(r#""dtype":"f32","#, tanh)).is_ok());
        assert!(Sequential::<f64>::from_json(&file(r#""dtype":"f64","#, tanh)).is_ok());
        assert_eq!(
            msg::<f32>(&file("", tanh)),
            "Sequential::from_json: the file has no dtype; expected \"dtype\": \"f32\""
        );
        assert_eq!(
            msg::<f64>(&file(r#""dtype":"f16","#, tanh)),
            "Sequential::from_json: unknown dtype \"f16\"; expected \"f64\" for a model of f64"
        );
        assert_eq!(
            msg::<f32>(&file(r#""dtype":"F32 ","#, tanh)),
            "Sequential::from_json: unknown dtype \"F32 \"; expected \"f32\" for a model of f32"
        );
        assert_eq!(
            msg::<f32>(&file(r#""dtype":42,"#, tanh)),
            "Sequential::from_json: dtype must be a string naming the element type (\"f32\" here), found 42"
        );
        // An explicit null is no dtype either.
        assert_eq!(
            msg::<f64>(&file(r#""dtype":null,"#, tanh)),
            "Sequential::from_json: the file has no dtype; expected \"dtype\": \"f64\""
        );
        assert_eq!(
            msg::<f32>(&file(r#""dtype":"f64","#, tanh)),
            "Sequential::from_json: the file holds f64 parameters, not f32; load it into a model of f64"
        );
        assert_eq!(
            msg::<f64>(&file(r#""dtype":"f32","#, tanh)),
            "Sequential::from_json: the file holds f32 parameters, not f64; load it into a model of f32"
        );
        for d in [
            r#"["f32"]"#,
            r#"{"t":"f32"}"#,
            "true",
            "\"\"",
            "\"f32\\u0000\"",
        ] {
            let e =
                Sequential::<f32>::from_json(&file(&format!(r#""dtype":{d},"#), tanh)).unwrap_err();
            assert!(
                matches!(
                    e,
                    Error::Format {
                        op: "Sequential::from_json",
                        ..
                    }
                ),
                "{d}: {e}"
            );
        }
    }

    /// The loader and the constructors refuse the same activations with the
    /// same error, in the file's own type.
    fn load_agrees<F: gradsign::nn::ModelElement>(act: Activation) {
        let Ok(json) = serde_json::to_string(&act) else {
            return;
        };
        let text = file(&format!(r#""dtype":"{}","#, F::NAME), &json);
        let loaded = Sequential::<F>::from_json(&text).map(|_| ());
        match serde_json::from_str::<Activation>(&json) {
            Ok(back) if back == act => {
                assert_eq!(loaded, act.validate::<F>(), "{act} in {}", F::NAME)
            }
            // NaN and ±∞ have no JSON number: written as null, unreadable.
            _ => assert!(loaded.is_err(), "{act}"),
        }
    }

    #[test]
    fn the_loader_rejects_exactly_what_the_constructors_reject() {
        for act in hostile_parameters() {
            load_agrees::<f32>(act);
            load_agrees::<f64>(act);
        }
    }

    #[test]
    fn an_activation_set_by_hand_that_is_invalid_is_not_saved() {
        let mut mlp = Mlp::builder(&[1, 1])
            .hidden(Activation::Tanh)
            .output(Activation::Tanh)
            .init(Init::Zeros)
            .seed(0)
            .build::<f32>()
            .unwrap();
        *mlp.layer_mut::<Activation>(1).unwrap() = Activation::LeakyRelu(1e39);
        let e = mlp.to_json().unwrap_err();
        assert_eq!(
            e.to_string(),
            "leaky_relu: α must be within the range of f32, got 1e39"
        );
    }

    fn round_trip<F: gradsign::nn::ModelElement>(
        act: Activation,
    ) -> std::result::Result<(), TestCaseError> {
        let built = Mlp::builder(&[2, 3, 1])
            .hidden(act)
            .output(act)
            .init(Init::GlorotNormal)
            .seed(3)
            .build::<F>();
        if let Ok(mlp) = built {
            let back = Sequential::<F>::from_json(&mlp.to_json().unwrap());
            prop_assert_eq!(back.as_ref(), Ok(&mlp), "{} in {}", act, F::NAME);
        } else {
            let e = built.unwrap_err();
            prop_assert_eq!(Err(e), act.validate::<F>());
        }
        Ok(())
    }

    fn any_parameter() -> impl Strategy<Value = f64> {
        prop_oneof![
            prop::num::f64::ANY,
            (-60.0f64..60.0).prop_map(|e| 10f64.powf(e)),
            (-400.0f64..310.0).prop_map(|e| 10f64.powf(e)),
            Just(0.0),
            Just(-0.0),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Whatever constructs can be saved and loaded back, bit for bit, in
        /// f32 and f64; whatever is refused is refused by validate's error.
        #[test]
        fn every_network_that_constructs_round_trips(
            p in any_parameter(),
            which in 0usize..3,
            fixed in prop::sample::select(Activation::ALL.to_vec()),
        ) {
            let act = [Activation::LeakyRelu(p), Activation::Elu(p), Activation::Softplus(p)][which];
            round_trip::<f32>(act)?;
            round_trip::<f64>(act)?;
            round_trip::<f32>(fixed)?;
            round_trip::<f64>(fixed)?;
        }
    }
}
