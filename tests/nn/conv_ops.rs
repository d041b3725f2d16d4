//! Convolution and pooling: equal to PyTorch (values and gradients, f64,
//! from `tests/fixtures/conv/cases.json`, written by
//! `python/make_conv_fixture.py`), gradchecked on random geometries, the
//! same in f32 within rounding, and refusing geometry that does not fit.

use gradsign::activation::Activation;
use gradsign::gradcheck::{GradcheckConfig, gradcheck};
use gradsign::nn::Module;
use gradsign::nn::{self, AvgPool2d, Conv2d, Flatten, Init, Linear, MaxPool2d, Sequential};
use gradsign::ops::conv::Window;
use gradsign::{Error, Gradients, Tape, Tensor};
use proptest::prelude::*;
use serde_json::Value;

fn cases() -> Vec<Value> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/conv/cases.json");
    let text = std::fs::read_to_string(path).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    v["cases"].as_array().unwrap().clone()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn dims(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

fn pair(v: &Value) -> (usize, usize) {
    let d = dims(v);
    (d[0], d[1])
}

fn tensor(v: &Value, shape: &Value) -> Tensor<f64> {
    Tensor::from_vec(floats(v), &dims(shape)).unwrap()
}

fn assert_close(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-12 * (1.0 + w.abs()),
            "{what}[{i}]: {g} vs PyTorch {w}"
        );
    }
}

#[test]
fn conv_and_pooling_equal_pytorch_values_and_gradients() {
    let all = cases();
    assert!(all.len() >= 10);
    for (k, case) in all.iter().enumerate() {
        let op = case["op"].as_str().unwrap();
        let tape = Tape::<f64>::new();
        let x = tape.var(&tensor(&case["x"], &case["x_shape"]));
        let window = Window {
            stride: pair(&case["stride"]),
            padding: pair(&case["padding"]),
            dilation: case.get("dilation").map_or((1, 1), pair),
        };
        let (y, params) = match op {
            "conv2d" => {
                let w = tape.var(&tensor(&case["w"], &case["w_shape"]));
                let b = case["b"].is_array().then(|| {
                    let b = floats(&case["b"]);
                    let n = b.len();
                    tape.var(&Tensor::from_vec(b, &[n]).unwrap())
                });
                (x.conv2d(w, b, &window).unwrap(), Some((w, b)))
            }
            "max_pool2d" => (x.max_pool2d(pair(&case["kernel"]), &window).unwrap(), None),
            "avg_pool2d" => (
                x.avg_pool2d(
                    pair(&case["kernel"]),
                    &window,
                    case["count_include_pad"].as_bool().unwrap(),
                )
                .unwrap(),
                None,
            ),
            other => panic!("unknown op {other}"),
        };
        let what = format!("case {k} ({op})");
        assert_eq!(y.dims(), dims(&case["y_shape"]), "{what}");
        assert_close(
            &format!("{what} y"),
            y.value().as_slice(),
            &floats(&case["y"]),
        );
        let r = tape.constant(&tensor(&case["r"], &case["y_shape"]));
        let grads = (y * r).sum().backward().unwrap();
        assert_close(
            &format!("{what} dx"),
            grads.get(x).unwrap(),
            &floats(&case["gx"]),
        );
        if let Some((w, b)) = params {
            assert_close(
                &format!("{what} dw"),
                grads.get(w).unwrap(),
                &floats(&case["gw"]),
            );
            if let Some(b) = b {
                assert_close(
                    &format!("{what} db"),
                    grads.get(b).unwrap(),
                    &floats(&case["gb"]),
                );
            }
        }
    }
}

/// A geometry that fits: `(n, c, h, w, o, kh, kw, stride, padding, dilation)`.
fn geometry() -> impl Strategy<Value = (usize, usize, usize, usize, usize, (usize, usize), Window)>
{
    (
        1usize..3,
        1usize..3,
        1usize..4,
        1usize..4,
        1usize..3,
        1usize..3,
        0usize..2,
        1usize..3,
    )
        .prop_flat_map(|(n, c, kh, kw, s, d, p, o)| {
            // The padded input must hold the dilated kernel.
            let min_h = (d * (kh - 1) + 1).saturating_sub(2 * p).max(1);
            let min_w = (d * (kw - 1) + 1).saturating_sub(2 * p).max(1);
            (min_h..min_h + 4, min_w..min_w + 4).prop_map(move |(h, w)| {
                let window = Window::default().stride(s).padding(p).dilation(d);
                (n, c, h, w, o, (kh, kw), window)
            })
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn conv2d_passes_gradcheck_on_random_geometry(
        (n, c, h, w, o, k, window) in geometry(),
        bias in any::<bool>(),
        seed in 0u64..1000,
    ) {
        let x = Tensor::rand_uniform(&[n, c, h, w], -1.0, 1.0, seed).unwrap();
        let wt = Tensor::rand_uniform(&[o, c, k.0, k.1], -1.0, 1.0, seed + 1).unwrap();
        let b = Tensor::rand_uniform(&[o], -1.0, 1.0, seed + 2).unwrap();
        let (oh, ow) = window.output_size("test", (h, w), k).unwrap();
        let r = Tensor::rand_uniform(&[n, o, oh, ow], -1.5, 1.5, seed + 3).unwrap();
        let mut inputs = vec![x, wt];
        if bias {
            inputs.push(b);
        }
        let report = gradcheck(
            |tape, v| {
                let y = v[0].conv2d(v[1], v.get(2).copied(), &window)?;
                Ok((y * tape.constant(&r)).sum())
            },
            &inputs,
            &GradcheckConfig::default(),
        ).unwrap();
        prop_assert!(report.passed(), "{}", report);
    }

    #[test]
    fn conv2d_equals_patches_times_filters_at_one_and_two_threads(
        (n, c, h, w, o, k, window) in geometry(),
        extra in 0usize..4,
        bias in any::<bool>(),
        constant_input in any::<bool>(),
        wide in any::<bool>(),
        weight_twice in any::<bool>(),
        wider in prop_oneof![Just(0usize), 6usize..22],
        seed in 0u64..1000,
    ) {
        // Rows of 8 to 24 positions: the input gradient's runs of adds
        // then take every mix of its blocks of 8, 4, 2 and 1.
        let w = w + wider;
        // More examples than threads, so that two threads share them out.
        let n = n + extra;
        // Patches of 64 taps or more take the weight gradient's other
        // product (`SHORT_PATCH` in the crate).
        let c = if wide { c + 64 } else { c };
        let x = Tensor::rand_uniform(&[n, c, h, w], -1.0, 1.0, seed).unwrap();
        let wt = Tensor::rand_uniform(&[o, c, k.0, k.1], -1.0, 1.0, seed + 1).unwrap();
        let b = Tensor::rand_uniform(&[o], -1.0, 1.0, seed + 2).unwrap();
        let (oh, ow) = window.output_size("test", (h, w), k).unwrap();
        let r = Tensor::rand_uniform(&[n, o, oh, ow], -1.5, 1.5, seed + 3).unwrap();
        // The definition: the patch rows times the flattened filters, one
        // row per example and position, then laid out NCHW by hand.
        let tape = Tape::<f64>::new();
        let (xv, wv, bv) = (
            if constant_input { tape.constant(&x) } else { tape.var(&x) },
            tape.var(&wt),
            tape.var(&b),
        );
        let rows = xv
            .unfold2d(k, &window)
            .unwrap()
            .linear(wv.reshape(&[o, c * k.0 * k.1]).unwrap(), bias.then_some(bv))
            .unwrap();
        let p = oh * ow;
        let mut r_rows = vec![0.0; n * p * o];
        for e in 0..n {
            for ch in 0..o {
                for q in 0..p {
                    r_rows[(e * p + q) * o + ch] = r.as_slice()[(e * o + ch) * p + q];
                }
            }
        }
        let rr = tape.constant(&Tensor::from_vec(r_rows.clone(), &[n * p, o]).unwrap());
        let want_grads = (rows * rr).sum().backward().unwrap();
        let want_rows = rows.value();
        for threads in [1, 2] {
            let mut t2 = Tape::<f64>::new();
            t2.set_threads(threads);
            let xv2 = if constant_input { t2.constant(&x) } else { t2.var(&x) };
            let (wv2, bv2) = (t2.var(&wt), t2.var(&b));
            let y = xv2.conv2d(wv2, bias.then_some(bv2), &window).unwrap();
            let yv = y.value();
            prop_assert_eq!(yv.dims(), &[n, o, oh, ow][..]);
            for e in 0..n {
                for ch in 0..o {
                    for q in 0..p {
                        let got = yv.as_slice()[(e * o + ch) * p + q];
                        let want = want_rows.as_slice()[(e * p + q) * o + ch];
                        prop_assert!((got - want).abs() <= 1e-12 * (1.0 + want.abs()),
                            "value at {e},{ch},{q}: {got} vs {want} ({threads} threads)");
                    }
                }
            }
            // The weight's sum, recorded after the convolution, runs its
            // backward first: the convolution then adds into the weight's
            // gradient instead of writing it.
            let mut loss = (y * t2.constant(&r)).sum();
            if weight_twice {
                loss = loss + wv2.sum();
            }
            let grads = loss.backward().unwrap();
            let pairs = [(wv2, wv, true), (bv2, bv, bias), (xv2, xv, !constant_input)];
            for (got_var, want_var, present) in pairs {
                if !present {
                    continue;
                }
                let (got, want) = (grads.get(got_var).unwrap(), want_grads.get(want_var).unwrap());
                let plus = if weight_twice && got_var.id() == wv2.id() { 1.0 } else { 0.0 };
                for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
                    let w = w + plus;
                    prop_assert!((g - w).abs() <= 1e-12 * (1.0 + w.abs()),
                        "gradient {i}: {g} vs {w} ({threads} threads)");
                }
            }
            prop_assert!(constant_input || grads.get(xv2).is_ok());
        }
    }

    #[test]
    fn pooling_passes_gradcheck_away_from_ties(
        (n, c, h, w, _o, k, window) in geometry(),
        seed in 0u64..1000,
        include_pad in any::<bool>(),
    ) {
        // Pooling refuses padding beyond half the kernel.
        prop_assume!(2 * window.padding.0 <= k.0 && 2 * window.padding.1 <= k.1);
        // Distinct values 0.1 apart: no tie is within the step of another.
        let len = n * c * h * w;
        let mut values: Vec<f64> = (0..len).map(|i| 0.1 * i as f64).collect();
        let perm = Tensor::<f64>::rand_uniform(&[len], 0.0, 1.0, seed).unwrap();
        let mut order: Vec<usize> = (0..len).collect();
        order.sort_by(|&a, &b| perm.as_slice()[a].total_cmp(&perm.as_slice()[b]));
        values = order.iter().map(|&i| values[i]).collect();
        let x = Tensor::from_vec(values, &[n, c, h, w]).unwrap();
        let avg_window = Window { dilation: (1, 1), ..window };
        for op in ["max", "avg"] {
            let shape_window = if op == "max" { window } else { avg_window };
            let (oh, ow) = shape_window.output_size("test", (h, w), k).unwrap();
            let r = Tensor::rand_uniform(&[n, c, oh, ow], -1.5, 1.5, seed + 3).unwrap();
            let report = gradcheck(
                |tape, v| {
                    let y = if op == "max" {
                        v[0].max_pool2d(k, &window)?
                    } else {
                        v[0].avg_pool2d(k, &avg_window, include_pad)?
                    };
                    Ok((y * tape.constant(&r)).sum())
                },
                std::slice::from_ref(&x),
                &GradcheckConfig::default(),
            );
            match report {
                Ok(report) => prop_assert!(report.passed(), "{op}: {}", report),
                // A dilated window that no longer fits without dilation is
                // refused for average pooling's own geometry: never here,
                // since dropping dilation only shrinks the window.
                Err(e) => prop_assert!(false, "{op}: {e}"),
            }
        }
    }

    /// Values and all three gradients in f32 against f64 (as
    /// [`f32_matches_f64`]), over strides, padding and dilation.
    #[test]
    fn conv2d_in_f32_matches_f64_within_rounding(
        geometry in geometry(),
        seed in 0u64..1000,
    ) {
        f32_matches_f64(geometry, 1, seed)?;
    }
}

/// Stride-1, undilated geometries, most with channel counts in sixteens: in
/// f32 on a CPU with AVX2 these take the direct products (kernel widths
/// 1, 3, 5 and 7 written out, the others general; outputs down to one
/// position; padding up to the kernel, where the input gradient falls
/// back to the patch matrix), the others one or two of them.
fn direct_geometry()
-> impl Strategy<Value = (usize, usize, usize, usize, usize, (usize, usize), Window)> {
    (
        1usize..5,
        prop::sample::select(vec![1usize, 3, 16, 32]),
        prop::sample::select(vec![5usize, 16, 32, 48]),
        1usize..8,
        1usize..8,
    )
        .prop_flat_map(|(n, c, o, kh, kw)| (Just((n, c, o, kh, kw)), 0..=kh, 0..=kw))
        .prop_flat_map(|((n, c, o, kh, kw), ph, pw)| {
            let min_h = kh.saturating_sub(2 * ph).max(1);
            let min_w = kw.saturating_sub(2 * pw).max(1);
            (
                Just((n, c, o, kh, kw, ph, pw)),
                min_h..min_h + 9,
                min_w..min_w + 9,
            )
        })
        .prop_map(|((n, c, o, kh, kw, ph, pw), h, w)| {
            let window = Window {
                padding: (ph, pw),
                ..Window::default()
            };
            (n, c, h, w, o, (kh, kw), window)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Values and all three gradients in f32 against f64 on the geometries
    /// the direct products take, at one to three threads.
    #[test]
    fn conv2d_on_the_direct_path_matches_f64_values_and_gradients(
        geometry in direct_geometry(),
        threads in 1usize..4,
        seed in 0u64..1000,
    ) {
        f32_matches_f64(geometry, threads, seed)?;
    }
}

/// The values and all three gradients of `conv2d` (bias included), with
/// the input, the filters and the bias each used twice (so that every
/// gradient is also added into one already written) and two steps into one
/// gradient buffer, in f32 at `threads` threads against f64 at one, within
/// the rounding of their sums.
fn f32_matches_f64(
    (n, c, h, w, o, k, window): (usize, usize, usize, usize, usize, (usize, usize), Window),
    threads: usize,
    seed: u64,
) -> Result<(), TestCaseError> {
    let x = Tensor::rand_uniform(&[n, c, h, w], -1.0, 1.0, seed).unwrap();
    let wt = Tensor::rand_uniform(&[o, c, k.0, k.1], -1.0, 1.0, seed + 1).unwrap();
    let b = Tensor::rand_uniform(&[o], -1.0, 1.0, seed + 2).unwrap();
    let (oh, ow) = window.output_size("test", (h, w), k).unwrap();
    let r = Tensor::rand_uniform(&[2 * n * o * oh * ow], -1.0, 1.0, seed + 3).unwrap();
    // y, dx, dw, db of `Σ r₀·conv(x) + Σ r₁·conv(x)`, in f64 or f32:
    // the second of two steps into the same gradient buffer, so that a
    // gradient added where it should have been written shows.
    fn run<F: gradsign::Element>(
        ts: [&Tensor<f64>; 4],
        window: &Window,
        threads: usize,
    ) -> [Vec<f64>; 4] {
        let mut tape = Tape::<F>::new();
        tape.set_threads(threads);
        let mut grads = Gradients::new();
        let [x, wt, b, r] = ts.map(|t| t.cast::<F>());
        let mut out = [vec![], vec![], vec![], vec![]];
        for _step in 0..2 {
            tape.clear();
            let (xv, wv, bv) = (tape.var(&x), tape.var(&wt), tape.var(&b));
            let half = r.as_slice().len() / 2;
            let mut loss = None;
            for (i, r) in r.as_slice().chunks_exact(half).enumerate() {
                let y = xv.conv2d(wv, Some(bv), window).unwrap();
                if i == 0 {
                    out[0] = y.value().cast::<f64>().as_slice().to_vec();
                }
                let rv = tape.constant(&Tensor::from_vec(r.to_vec(), &y.dims()).unwrap());
                let term = (y * rv).sum();
                loss = Some(match loss {
                    None => term,
                    Some(l) => l + term,
                });
            }
            loss.unwrap().backward_into(&mut grads).unwrap();
            for (slot, v) in out[1..].iter_mut().zip([xv, wv, bv]) {
                *slot = grads
                    .get(v)
                    .unwrap()
                    .iter()
                    .map(|&z: &F| z.to_f64())
                    .collect();
            }
        }
        out
    }
    let ts = [&x, &wt, &b, &r];
    let want = run::<f64>(ts, &window, 1);
    let got = run::<f32>(ts, &window, threads);
    let abs = [
        x.map(f64::abs),
        wt.map(f64::abs),
        b.map(f64::abs),
        r.map(f64::abs),
    ];
    let scale = run::<f64>([&abs[0], &abs[1], &abs[2], &abs[3]], &window, 1);
    // Terms summed: the forward's taps and bias; the input gradient's
    // filters × taps, twice; the weight's and bias's positions, twice.
    let terms = [
        c * k.0 * k.1 + 1,
        2 * o * k.0 * k.1,
        2 * n * oh * ow,
        2 * n * oh * ow,
    ];
    let u = f64::from(f32::EPSILON) / 2.0;
    for (q, name) in ["y", "dx", "dw", "db"].iter().enumerate() {
        prop_assert_eq!(got[q].len(), want[q].len());
        for (i, ((a, e), s)) in got[q].iter().zip(&want[q]).zip(&scale[q]).enumerate() {
            let tol = (terms[q] as f64 + 3.0) * u * s + f64::from(f32::MIN_POSITIVE);
            prop_assert!(
                (a - e).abs() <= tol,
                "{}[{}]: {} vs {} (tolerance {:e})",
                name,
                i,
                a,
                e,
                tol
            );
        }
    }
    Ok(())
}

/// An infinite weight: where the patch matrix leaves the padding out of
/// the input gradient (±∞), the direct correlation would multiply it by
/// the padding's zeros (NaN); both element types give the definition's
/// classes.
#[test]
fn an_infinite_weight_gives_the_input_gradient_of_the_definition() {
    fn dx<F: gradsign::Element>() -> Vec<f64> {
        let tape = Tape::<F>::new();
        let x = Tensor::<f64>::from_vec(vec![1.0; 16 * 9], &[1, 16, 3, 3]).unwrap();
        let mut w = vec![0.5; 16 * 16 * 9];
        w[0] = f64::INFINITY; // filter 0, channel 0, tap (0, 0)
        let w = Tensor::from_vec(w, &[16, 16, 3, 3]).unwrap();
        let (x, w) = (tape.var(&x.cast::<F>()), tape.var(&w.cast::<F>()));
        let y = x.conv2d(w, None, &Window::default().padding(1)).unwrap();
        let g = y.sum().backward().unwrap();
        g.get(x).unwrap().iter().map(|&v: &F| v.to_f64()).collect()
    }
    let (d64, d32) = (dx::<f64>(), dx::<f32>());
    assert!(d64[..9].iter().any(|v| v.is_infinite()) && d64.iter().all(|v| !v.is_nan()));
    for (i, (a, b)) in d32.iter().zip(&d64).enumerate() {
        assert!(
            a.is_nan() == b.is_nan() && a.is_infinite() == b.is_infinite(),
            "dx[{i}]: f32 {a}, f64 {b}"
        );
    }
}

/// A layer no direct product takes is not refused for sizes only those
/// products would need (here a padding whose padded planes overflow).
#[test]
fn a_strided_layer_with_huge_padding_is_not_refused_for_the_direct_products() {
    let tape = Tape::<f64>::new();
    let x = tape.var(&Tensor::from_vec(vec![1.0; 4], &[1, 4, 1, 1]).unwrap());
    let w = tape.var(&Tensor::from_vec(vec![1.0; 4], &[1, 4, 1, 1]).unwrap());
    let window = Window::default().padding(1 << 31).stride(1 << 32);
    let y = x.conv2d(w, None, &window).unwrap();
    assert_eq!(y.value().as_slice(), &[0.0; 4]);
}

/// No input channels, on the filters the direct forward takes: the output
/// is the bias, and the bias gradient counts the positions.
#[test]
fn zero_input_channels_give_the_bias() {
    let tape = Tape::<f32>::new();
    let x = tape.var(&Tensor::<f32>::zeros(&[1, 0, 5, 5]).unwrap());
    let w = tape.var(&Tensor::<f32>::zeros(&[16, 0, 3, 3]).unwrap());
    let b = tape.var(&Tensor::from_vec(vec![1.0f32; 16], &[16]).unwrap());
    let y = x.conv2d(w, Some(b), &Window::default()).unwrap();
    assert_eq!(y.dims(), [1, 16, 3, 3]);
    assert!(y.value().as_slice().iter().all(|&v| v == 1.0));
    let g = y.sum().backward().unwrap();
    assert_eq!(g.get(b).unwrap(), &[9.0f32; 16]);
}

#[test]
fn geometry_that_does_not_fit_is_refused_naming_the_op_and_the_sizes() {
    let tape = Tape::<f64>::new();
    let x = tape.var(&Tensor::zeros(&[1, 2, 5, 5]).unwrap());
    let w = |o, c, k| tape.var(&Tensor::zeros(&[o, c, k, k]).unwrap());
    let msg = |r: gradsign::Result<gradsign::Var<'_, f64>>| r.unwrap_err().to_string();
    // A kernel larger than the padded input.
    let e = msg(x.conv2d(w(1, 2, 7), None, &Window::default()));
    assert!(
        e.contains("conv2d") && e.contains("kernel (spanning 7)") && e.contains("padded input (5)"),
        "{e}"
    );
    assert!(
        x.conv2d(w(1, 2, 7), None, &Window::default().padding(1))
            .is_ok()
    );
    // Zero stride or dilation.
    let e = msg(x.conv2d(w(1, 2, 3), None, &Window::default().stride(0)));
    assert!(e.contains("stride 0"), "{e}");
    let e = msg(x.conv2d(w(1, 2, 3), None, &Window::default().dilation(0)));
    assert!(e.contains("dilation 0"), "{e}");
    // A dilated kernel that outgrows the input.
    let e = msg(x.conv2d(w(1, 2, 3), None, &Window::default().dilation(3)));
    assert!(e.contains("kernel (spanning 7)"), "{e}");
    // Channels that do not match, naming both shapes.
    let e = msg(x.conv2d(w(1, 3, 3), None, &Window::default()));
    assert!(
        e.contains("[1, 2, 5, 5]") && e.contains("[1, 3, 3, 3]"),
        "{e}"
    );
    // A bias of the wrong length.
    let b = tape.var(&Tensor::zeros(&[2]).unwrap());
    let e = msg(x.conv2d(w(1, 2, 3), Some(b), &Window::default()));
    assert!(e.contains("bias"), "{e}");
    // Inputs of the wrong rank.
    let flat = tape.var(&Tensor::zeros(&[2, 25]).unwrap());
    assert!(matches!(
        flat.conv2d(w(1, 2, 3), None, &Window::default()),
        Err(Error::RankMismatch { .. })
    ));
    assert!(matches!(
        flat.max_pool2d((2, 2), &Window::default()),
        Err(Error::RankMismatch { .. })
    ));
    // Pooling windows that do not fit, and padding beyond half the kernel.
    let e = msg(x.max_pool2d((6, 6), &Window::default()));
    assert!(
        e.contains("max_pool2d") && e.contains("kernel (spanning 6)"),
        "{e}"
    );
    let e = msg(x.avg_pool2d((2, 2), &Window::default().padding(2), true));
    assert!(
        e.contains("avg_pool2d") && e.contains("half the kernel"),
        "{e}"
    );
    let e = msg(x.avg_pool2d((2, 2), &Window::default().dilation(2), true));
    assert!(e.contains("no dilation"), "{e}");
    // Sizes whose products overflow are refused before anything is sized.
    let huge = Window::default().padding(usize::MAX / 2);
    let e = msg(x.conv2d(w(1, 2, 3), None, &huge));
    assert!(e.contains("overflows"), "{e}");
}

#[test]
fn an_empty_batch_gives_an_empty_output() {
    let tape = Tape::<f64>::new();
    let x = tape.var(&Tensor::zeros(&[0, 1, 4, 4]).unwrap());
    let w = tape.var(&Tensor::zeros(&[2, 1, 3, 3]).unwrap());
    let y = x.conv2d(w, None, &Window::default()).unwrap();
    assert_eq!(y.dims(), [0, 2, 2, 2]);
    assert_eq!(
        x.max_pool2d((2, 2), &Window::default().stride(2))
            .unwrap()
            .dims(),
        [0, 1, 2, 2]
    );
}

/// Pooling by its definition, window by window (PyTorch's rules: a NaN
/// wins, ties go to the first maximum in row-major order, the average
/// counts padding when `with_pad`): the values and where each output's
/// gradient goes.
fn pool_reference(
    x: &[f64],
    (n, c, h, w): (usize, usize, usize, usize),
    (kh, kw): (usize, usize),
    window: &Window,
    max: bool,
    with_pad: bool,
) -> (Vec<f64>, Vec<f64>) {
    let (oh, ow) = window.output_size("reference", (h, w), (kh, kw)).unwrap();
    let ((sh, sw), (ph, pw), (dh, dw)) = (window.stride, window.padding, window.dilation);
    let mut y = vec![0.0; n * c * oh * ow];
    let mut gx = vec![0.0; x.len()];
    for plane in 0..n * c {
        for oy in 0..oh {
            for ox in 0..ow {
                let mut taps = vec![];
                for i in 0..kh {
                    for j in 0..kw {
                        let (yy, xx) = (
                            (oy * sh + i * dh) as isize - ph as isize,
                            (ox * sw + j * dw) as isize - pw as isize,
                        );
                        if yy >= 0 && xx >= 0 && (yy as usize) < h && (xx as usize) < w {
                            taps.push(plane * h * w + yy as usize * w + xx as usize);
                        }
                    }
                }
                let out = plane * oh * ow + oy * ow + ox;
                if max {
                    let Some(&first) = taps.first() else { continue };
                    let at = taps.iter().copied().fold(first, |b, t| {
                        if !x[b].is_nan() && (x[t] > x[b] || x[t].is_nan()) {
                            t
                        } else {
                            b
                        }
                    });
                    y[out] = x[at];
                    gx[at] += 1.0;
                } else {
                    let count = if with_pad {
                        let (y1, x1) = (
                            (oy * sh + kh).min(h + 2 * ph),
                            (ox * sw + kw).min(w + 2 * pw),
                        );
                        (y1 - oy * sh) * (x1 - ox * sw)
                    } else {
                        taps.len()
                    }
                    .max(1) as f64;
                    y[out] = taps.iter().map(|&t| x[t]).sum::<f64>() / count;
                    taps.iter().for_each(|&t| gx[t] += 1.0 / count);
                }
            }
        }
    }
    (y, gx)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(60))]

    /// Small integers make ties common; a NaN now and then. Covers the
    /// windows wholly inside the input (no padding, no dilation: the fast
    /// path) and the general one.
    #[test]
    fn pooling_equals_its_definition_with_ties_and_nan(
        (n, c, h, w, _o, k, window) in geometry(),
        cells in proptest::collection::vec(0u8..4, 64),
        nan_at in proptest::option::of(0usize..64),
    ) {
        let len = n * c * h * w;
        let mut v: Vec<f64> = (0..len).map(|i| f64::from(cells[i % 64])).collect();
        if let Some(i) = nan_at.filter(|&i| i < len) {
            v[i] = f64::NAN;
        }
        let x = Tensor::from_vec(v.clone(), &[n, c, h, w]).unwrap();
        let max_window = window;
        let avg_window = Window::default()
            .stride(window.stride.0)
            .padding(window.padding.0);
        for (max, with_pad) in [(true, false), (false, true), (false, false)] {
            let win = if max { &max_window } else { &avg_window };
            if 2 * win.padding.0 > k.0 || 2 * win.padding.1 > k.1 {
                continue;
            }
            let tape = Tape::<f64>::new();
            let xv = tape.var(&x);
            let y = if max {
                xv.max_pool2d(k, win).unwrap()
            } else {
                xv.avg_pool2d(k, win, with_pad).unwrap()
            };
            let (want_y, want_g) = pool_reference(&v, (n, c, h, w), k, win, max, with_pad);
            let same = |a: f64, b: f64| (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-12;
            for (a, b) in y.value().as_slice().iter().zip(&want_y) {
                prop_assert!(same(*a, *b), "value {a} vs {b} ({max}, {with_pad})");
            }
            let g = y.sum().backward().unwrap();
            for (a, b) in g.get(xv).unwrap().iter().zip(&want_g) {
                prop_assert!(same(*a, *b), "gradient {a} vs {b} ({max}, {with_pad})");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(80))]

    /// The 2 × 2, stride-2 max-pool has loops of its own: odd sizes (a
    /// row and a column no window covers), ties, several NaN, f64 and
    /// f32, and a gradient that already holds values (the pool adds to it).
    #[test]
    fn max_pool_2x2_of_stride_2_equals_its_definition(
        (n, c, h, w) in (1usize..3, 1usize..3, 2usize..21, 2usize..21),
        cells in proptest::collection::vec(0u8..3, 97),
        nans in proptest::collection::vec(0usize..1600, 0..3),
    ) {
        let len = n * c * h * w;
        let mut v: Vec<f64> = (0..len).map(|i| f64::from(cells[i % 97])).collect();
        for &i in nans.iter().filter(|&&i| i < len) {
            v[i] = f64::NAN;
        }
        let win = Window::default().stride(2);
        let (want_y, want_g) = pool_reference(&v, (n, c, h, w), (2, 2), &win, true, false);
        let same = |a: f64, b: f64| (a.is_nan() && b.is_nan()) || a == b;
        let tape = Tape::<f64>::new();
        let xv = tape.var(&Tensor::from_vec(v.clone(), &[n, c, h, w]).unwrap());
        let y = xv.max_pool2d((2, 2), &win).unwrap();
        for (a, b) in y.value().as_slice().iter().zip(&want_y) {
            prop_assert!(same(*a, *b), "value {a} vs {b}");
        }
        // x enters twice: the pool's gradient adds to the identity's ones.
        let g = (y.sum() + xv.sum()).backward().unwrap();
        for (a, b) in g.get(xv).unwrap().iter().zip(&want_g) {
            prop_assert!(same(*a, b + 1.0), "gradient {a} vs {}", b + 1.0);
        }
        let tape = Tape::<f32>::new();
        let v32: Vec<f32> = v.iter().map(|&x| x as f32).collect();
        let xv = tape.var(&Tensor::from_vec(v32, &[n, c, h, w]).unwrap());
        let y = xv.max_pool2d((2, 2), &win).unwrap();
        for (a, b) in y.value().as_slice().iter().zip(&want_y) {
            prop_assert!(same(f64::from(*a), *b), "f32 value {a} vs {b}");
        }
        // Through a gradient buffer that a first sweep filled: the pool
        // overwrites x's slot, so every element, the row and column no
        // window covers included, must be written.
        let mut g = Gradients::new();
        xv.mul_scalar(1e3).sum().backward_into(&mut g).unwrap();
        y.sum().backward_into(&mut g).unwrap();
        for (a, b) in g.get(xv).unwrap().iter().zip(&want_g) {
            prop_assert!(same(f64::from(*a), *b), "f32 gradient {a} vs {b}");
        }
    }
}

#[test]
fn max_pool_2x2_backward_keeps_the_bits_of_zero_then_add() {
    // A gradient of −0 flowing in: an unwritten slot gets +0 everywhere
    // (zeroed, then 0 + −0 at the winner); a slot already holding −0 keeps
    // −0 everywhere (−0 + −0 at the winner, untouched elsewhere).
    let neg_zero = |v: &[f64]| v.iter().map(|x| x.is_sign_negative()).collect::<Vec<_>>();
    let tape = Tape::<f64>::new();
    let x = tape.var(&Tensor::from_vec(vec![1.0, 4.0, 2.0, 3.0], &[1, 1, 2, 2]).unwrap());
    let win = Window::default().stride(2);
    let y = x.max_pool2d((2, 2), &win).unwrap();
    let g = y.mul_scalar(-0.0).sum().backward().unwrap();
    assert_eq!(g.get(x).unwrap(), &[0.0; 4]);
    assert_eq!(neg_zero(g.get(x).unwrap()), [false; 4]);
    // x·(−0) is recorded after the pool, so its rule runs first.
    let loss = y.mul_scalar(-0.0).sum() + x.mul_scalar(-0.0).sum();
    let g = loss.backward().unwrap();
    assert_eq!(neg_zero(g.get(x).unwrap()), [true; 4]);
}

#[test]
fn max_pooling_propagates_nan_and_routes_ties_to_the_first_maximum() {
    let tape = Tape::<f64>::new();
    let x = tape.var(&Tensor::from_vec(vec![1.0, f64::NAN, 3.0, 2.0], &[1, 1, 2, 2]).unwrap());
    let y = x.max_pool2d((2, 2), &Window::default()).unwrap();
    assert!(y.value().as_slice()[0].is_nan());
    let grads = y.sum().backward().unwrap();
    assert_eq!(grads.get(x).unwrap(), &[0.0, 1.0, 0.0, 0.0]);
    let x = tape.var(&Tensor::from_vec(vec![2.0, 1.0, 2.0, 2.0], &[1, 1, 2, 2]).unwrap());
    let grads = x
        .max_pool2d((2, 2), &Window::default())
        .unwrap()
        .sum()
        .backward()
        .unwrap();
    assert_eq!(grads.get(x).unwrap(), &[1.0, 0.0, 0.0, 0.0]);
}

#[test]
fn conv_layers_validate_their_parameters() {
    assert!(matches!(
        Conv2d::new(Tensor::<f64>::zeros(&[2, 3]).unwrap(), None),
        Err(Error::RankMismatch { .. })
    ));
    assert!(matches!(
        Conv2d::new(Tensor::<f64>::zeros(&[0, 1, 3, 3]).unwrap(), None),
        Err(Error::Empty { .. })
    ));
    let e = Conv2d::new(
        Tensor::<f64>::zeros(&[2, 1, 3, 3]).unwrap(),
        Some(Tensor::zeros(&[3]).unwrap()),
    )
    .unwrap_err();
    assert!(e.to_string().contains("Conv2d::new"), "{e}");
    assert!(Conv2d::<f32>::init(usize::MAX, 2, (2, 2), Init::HeNormal, true, 0).is_err());
    assert!(Conv2d::<f32>::init(1, 0, (2, 2), Init::HeNormal, true, 0).is_err());
}

/// A small CNN: conv 3×3 1→4, ReLU, max-pool 2, flatten, linear 36→2.
fn cnn() -> Sequential<f64> {
    Sequential::new()
        .push(
            Conv2d::init(1, 4, (3, 3), Init::HeNormal, true, 1)
                .unwrap()
                .with_window(Window::default().padding(1)),
        )
        .push(Activation::Relu)
        .push(MaxPool2d::new((2, 2)))
        .push(Flatten)
        .push(Linear::init(36, 2, Init::LecunNormal, true, 2).unwrap())
}

#[test]
fn a_cnn_names_its_parameters_and_its_layers() {
    let net = cnn();
    let names: Vec<String> = nn::named_parameters(&net)
        .unwrap()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names, ["0.weight", "0.bias", "4.weight", "4.bias"]);
    let tape = Tape::new();
    let x = tape.constant(&Tensor::rand_uniform(&[3, 1, 6, 6], 0.0, 1.0, 4).unwrap());
    let (y, trace) = nn::forward(&net, &tape, x).unwrap();
    assert_eq!(y.dims(), [3, 2]);
    let kinds: Vec<String> = trace
        .records()
        .iter()
        .map(|r| format!("{}:{:?}", r.path, r.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            "0:Conv2d",
            "1:Activation(Relu)",
            "2:Other(\"max_pool2d\")",
            "3:Other(\"flatten\")",
            "4:Dense"
        ]
    );
    // AvgPool2d is a layer too.
    let avg = Sequential::<f64>::new().push(AvgPool2d::new((3, 3)));
    let (y, _) = nn::forward(&avg, &tape, x).unwrap();
    assert_eq!(y.dims(), [3, 1, 2, 2]);
}

#[test]
fn a_cnn_trains_and_its_hessian_vector_products_are_exact() {
    use gradsign::curvature::{Likelihood, Objective};
    let mut net = cnn();
    let x = Tensor::rand_uniform(&[4, 1, 6, 6], 0.0, 1.0, 5).unwrap();
    let y = Tensor::from_vec(vec![1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0], &[4, 2]).unwrap();
    let before = Objective::new(&net, Likelihood::Gaussian, &x, &y)
        .unwrap()
        .loss()
        .unwrap();
    let mut opt = gradsign::optim::Sgd::new(0.05);
    for _ in 0..30 {
        let tape = Tape::new();
        let (out, trace) = nn::forward(&net, &tape, tape.constant(&x)).unwrap();
        let loss = (out - tape.constant(&y)).square().mean().unwrap();
        let grads = loss.backward().unwrap();
        gradsign::optim::Optimizer::step(&mut opt, &mut net, &trace, &grads).unwrap();
    }
    let objective = Objective::new(&net, Likelihood::Gaussian, &x, &y).unwrap();
    assert!(
        objective.loss().unwrap() < before,
        "training lowered the loss"
    );
    // The HVP runs through the convolution on dual numbers; its result is
    // checked against a central difference of the gradient.
    let p = objective.dim().unwrap();
    let v: Vec<f64> = (0..p).map(|i| ((i * 7 % 11) as f64 - 5.0) / 5.0).collect();
    let hv = objective.hvp(&v).unwrap();
    let h = 1e-5;
    let shifted = |sign: f64| {
        let mut moved = net.clone();
        let mut k = 0;
        moved
            .visit_mut(&mut gradsign::nn::VisitorMut::new(&mut |_,
                                                                t: &mut Tensor<
                f64,
            >| {
                for e in t.as_mut_slice() {
                    *e += sign * h * v[k];
                    k += 1;
                }
                Ok(())
            }))
            .unwrap();
        Objective::new(&moved, Likelihood::Gaussian, &x, &y)
            .unwrap()
            .gradient()
            .unwrap()
    };
    let (gp, gm) = (shifted(1.0), shifted(-1.0));
    for i in 0..p {
        let fd = (gp[i] - gm[i]) / (2.0 * h);
        // ReLU and max-pool kinks are not crossed by a 1e-5 step at these
        // random points (checked by the agreement itself).
        assert!(
            (hv[i] - fd).abs() <= 1e-6 * (1.0 + fd.abs()),
            "component {i}: HVP {} vs finite difference {fd}",
            hv[i]
        );
    }
}

#[test]
fn pooling_of_a_large_input_is_the_same_at_two_threads() {
    // 4 × 8 planes of 32 × 32: large enough that pooling shares its planes
    // out over the threads, with ties (a coarse grid of values) and a NaN.
    let mut x: Tensor<f64> = Tensor::rand_uniform(&[4, 8, 32, 32], 0.0, 1.0, 11).unwrap();
    for v in x.as_mut_slice() {
        *v = (*v * 8.0).floor();
    }
    x.as_mut_slice()[1000] = f64::NAN;
    let r = Tensor::rand_uniform(&[4, 8, 16, 16], -1.0, 1.0, 12).unwrap();
    let run = |threads: usize, max: bool| {
        let mut tape = Tape::<f64>::new();
        tape.set_threads(threads);
        let xv = tape.var(&x);
        let w = Window::default().stride(2);
        let y = if max {
            xv.max_pool2d((2, 2), &w)
        } else {
            xv.avg_pool2d((2, 2), &w, true)
        }
        .unwrap();
        let g = (y * tape.constant(&r)).sum().backward().unwrap();
        (y.value().as_slice().to_vec(), g.get(xv).unwrap().to_vec())
    };
    for max in [true, false] {
        let (y1, g1) = run(1, max);
        let (y2, g2) = run(2, max);
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&y1), bits(&y2), "values, max = {max}");
        assert_eq!(bits(&g1), bits(&g2), "gradients, max = {max}");
        assert!(y1.iter().any(|v| v.is_nan()), "the NaN propagates");
    }
}
