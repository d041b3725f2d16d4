//! `WeightNormConv2d`: gradients against central differences on random
//! windows (stride, padding, dilation), f32 against f64 within a derived
//! rounding bound, exact agreement with the `Conv2d` of its effective
//! filters (outputs, gradients and the analyzer's report), and bad input.

use gradsign::analysis::GradientSignAnalyzer;
use gradsign::gradcheck::{GradcheckConfig, gradcheck};
use gradsign::nn::{
    self, Conv2d, Forward, Init, Module, Sequential, VisitorMut, WeightNormConv2d, named_gradients,
};
use gradsign::ops::conv::Window;
use gradsign::{Error, Tape, Tensor};

fn upstream(dims: &[usize], seed: u64) -> Tensor<f64> {
    Tensor::rand_uniform(dims, -1.5, 1.5, seed ^ 0x5EED).unwrap()
}

fn output_dims<M: Module<f64>>(m: &M, x: &Tensor<f64>) -> Vec<usize> {
    nn::predict(m, x).unwrap().dims().to_vec()
}

/// `Σ layer(x) ⊙ up`.
fn loss<M: Module<f64>>(m: &M, x: &Tensor<f64>, up: &Tensor<f64>) -> f64 {
    let tape = Tape::<f64>::new();
    let y = m
        .forward(tape.constant(x), &mut Forward::new(&tape))
        .unwrap();
    (y * tape.constant(up)).sum().item().unwrap()
}

fn nudge<M: Module<f64>>(m: &mut M, name: &str, i: usize, delta: f64) {
    m.visit_mut(&mut VisitorMut::new(&mut |n, t| {
        if n == name {
            t.as_mut_slice()[i] += delta;
        }
        Ok(())
    }))
    .unwrap();
}

/// The input gradient by [`gradcheck`], every parameter's against central
/// differences with step 1e-6 (truncation O(h²·f‴) and rounding
/// O(ε·|L|/h) both below the 1e-6 + 1e-5·|g| allowed, as in
/// `tests/nn/norm_layers.rs`).
fn check_layer<M: Module<f64>>(m: &mut M, x: &Tensor<f64>, seed: u64) {
    let up = upstream(&output_dims(m, x), seed);
    let report = gradcheck(
        |tape, v| {
            let y = m.forward(v[0], &mut Forward::new(tape))?;
            Ok((y * tape.constant(&up)).sum())
        },
        std::slice::from_ref(x),
        &GradcheckConfig::default(),
    )
    .unwrap();
    assert!(report.passed(), "input gradient: {report}");
    let tape = Tape::<f64>::new();
    let (y, trace) = nn::forward(&*m, &tape, tape.constant(x)).unwrap();
    let grads = (y * tape.constant(&up)).sum().backward().unwrap();
    let analytic = named_gradients(&*m, &trace, &grads).unwrap();
    let h = 1e-6;
    for (name, g) in &analytic {
        for (i, &gi) in g.iter().enumerate() {
            let mut at = |delta: f64| {
                nudge(m, name, i, delta);
                let l = loss(&*m, x, &up);
                nudge(m, name, i, -delta);
                l
            };
            let numeric = (at(h) - at(-h)) / (2.0 * h);
            assert!(
                (gi - numeric).abs() <= 1e-6 + 1e-5 * numeric.abs(),
                "{name}[{i}]: analytic {gi} vs numeric {numeric}"
            );
        }
    }
}

/// Random layers and inputs: channels, kernels, stride 1–2, padding 0–1,
/// dilation 1–2, with and without bias, and gains of both signs.
#[test]
fn gradients_match_finite_differences_on_random_windows() {
    let mut checked = 0;
    for seed in 0..12u64 {
        let r = |k: u64, n: usize| ((seed.wrapping_mul(2654435761) >> (3 * k)) % n as u64) as usize;
        let (c, o) = (1 + r(0, 3), 1 + r(1, 3));
        let kernel = (1 + r(2, 3), 1 + r(3, 2));
        let window = Window {
            stride: (1 + r(4, 2), 1 + r(5, 2)),
            padding: (r(6, 2), r(7, 2)),
            dilation: (1 + r(8, 2), 1 + r(9, 2)),
        };
        let mut wn =
            WeightNormConv2d::<f64>::init(c, o, kernel, Init::HeNormal, seed % 2 == 0, seed)
                .unwrap()
                .with_window(window);
        wn.g = Tensor::rand_uniform(&[o], -2.0, 2.0, seed ^ 0x9).unwrap();
        let x = Tensor::rand_uniform(&[2, c, 6, 5], -1.0, 2.0, seed ^ 0x51).unwrap();
        check_layer(&mut wn, &x, seed);
        checked += 1;
    }
    assert_eq!(checked, 12);
}

/// The layer is the `Conv2d` of its effective filters: the same filters
/// computed by the same op, so outputs, input gradients, the analyzer's
/// report and `∂L/∂W` agree bit for bit.
#[test]
fn it_is_the_convolution_of_its_effective_filters_for_the_analyzer_too() {
    let window = Window::default().padding(1).stride(2);
    let mut wn = WeightNormConv2d::<f64>::init(2, 3, (3, 3), Init::HeNormal, true, 3)
        .unwrap()
        .with_window(window);
    wn.g = Tensor::from_vec(vec![0.5, -1.5, 2.0], &[3]).unwrap();
    let conv = Conv2d::new(wn.weight().unwrap(), wn.bias.clone())
        .unwrap()
        .with_window(window);
    let x = Tensor::rand_uniform(&[5, 2, 7, 7], 0.0, 1.0, 4).unwrap();
    let analyse = |net: &Sequential<f64>| {
        let tape = Tape::<f64>::new();
        let xv = tape.var(&x);
        let (y, trace) = nn::forward(net, &tape, xv).unwrap();
        let up = tape.constant(&upstream(&y.dims(), 1));
        let grads = (y * up).sum().backward().unwrap();
        let report = GradientSignAnalyzer::default()
            .analyze(&trace, &grads)
            .unwrap();
        let w = grads.get(trace.layers()[0].weight).unwrap().to_vec();
        (
            y.value().into_vec(),
            grads.get(xv).unwrap().to_vec(),
            report,
            w,
        )
    };
    let a = analyse(
        &Sequential::new()
            .push(wn)
            .push(gradsign::activation::Activation::Relu),
    );
    let b = analyse(
        &Sequential::new()
            .push(conv)
            .push(gradsign::activation::Activation::Relu),
    );
    assert_eq!(a.0, b.0, "outputs");
    assert_eq!(a.1, b.1, "input gradients");
    assert_eq!(a.3, b.3, "∂L/∂W of the effective filters");
    let (ra, rb) = (&a.2.layers[0], &b.2.layers[0]);
    assert_eq!(ra.positions, 16);
    assert_eq!(ra.positions, rb.positions);
    assert_eq!(ra.per_example, rb.per_example);
    assert_eq!(ra.batch_rows, rb.batch_rows);
    assert_eq!(ra.per_example_summed, rb.per_example_summed);
    // Pixels ≥ 0: every per-position row is one-signed, for either layer.
    assert_eq!(ra.per_example_coherence(), 1.0);
}

/// f32 against f64 on the same (f32-representable) parameters and inputs:
/// each output is a `K = C·kh·kw`-term dot product of the normalised
/// filter with a patch, plus the bias. The filter's scale `g/‖v‖` carries
/// a relative error below `(K + 3)·u` (the scaled sum of squares, the
/// square root, the division), the dot product below `K·u` relative to
/// `Σ|w||x|`, the bias one more rounding, with `u = 2⁻²⁴`; the bound is
/// twice their sum times `Σ|w||x| + |b|`, computed with `|W|` on `|x|`.
#[test]
fn f32_agrees_with_f64_within_the_rounding_bound() {
    let window = Window::default().padding(1).dilation(2);
    let wn32 = WeightNormConv2d::<f32>::init(3, 4, (3, 2), Init::HeNormal, true, 8)
        .unwrap()
        .with_window(window);
    let mut wn32 = wn32;
    wn32.bias = Some(Tensor::<f32>::rand_uniform(&[4], -0.5, 0.5, 2).unwrap());
    let wn64 = WeightNormConv2d::<f64>::new(
        wn32.v.cast(),
        wn32.g.cast(),
        wn32.bias.as_ref().map(|b| b.cast()),
    )
    .unwrap()
    .with_window(window);
    let x32 = Tensor::<f32>::rand_uniform(&[3, 3, 6, 6], -1.0, 3.0, 5).unwrap();
    let x64 = x32.cast::<f64>();
    let y32 = nn::predict(&wn32, &x32).unwrap().cast::<f64>();
    let y64 = nn::predict(&wn64, &x64).unwrap();
    let abs = |t: Tensor<f64>| t.map(f64::abs);
    let magnitude = Conv2d::new(abs(wn64.weight().unwrap()), wn64.bias.clone().map(abs))
        .unwrap()
        .with_window(window);
    let scale = nn::predict(&magnitude, &abs(x64)).unwrap();
    let k = (3 * 3 * 2) as f64;
    let u = f64::from(f32::EPSILON) / 2.0;
    let factor = 2.0 * ((k + 3.0) + k + 1.0) * u;
    for (i, ((a, b), s)) in y32
        .as_slice()
        .iter()
        .zip(y64.as_slice())
        .zip(scale.as_slice())
        .enumerate()
    {
        assert!(
            (a - b).abs() <= factor * s,
            "output {i}: f32 {a} vs f64 {b}, bound {}",
            factor * s
        );
    }
    // The same backward pass runs in f32 and gives finite gradients.
    let tape = Tape::<f32>::new();
    let (y, trace) = nn::forward(&wn32, &tape, tape.constant(&x32)).unwrap();
    let grads = y.square().sum().backward().unwrap();
    for (name, g) in named_gradients(&wn32, &trace, &grads).unwrap() {
        assert!(g.iter().all(|v| v.is_finite()), "{name}");
    }
}

#[test]
fn from_conv_computes_the_same_function() {
    let conv = Conv2d::<f64>::init(2, 3, (2, 2), Init::HeNormal, true, 12)
        .unwrap()
        .with_window(Window::default().stride(2));
    let wn = WeightNormConv2d::from_conv(&conv).unwrap();
    assert_eq!(wn.window, conv.window);
    let x = Tensor::rand_uniform(&[2, 2, 5, 5], -1.0, 1.0, 1).unwrap();
    let (a, b) = (
        nn::predict(&conv, &x).unwrap(),
        nn::predict(&wn, &x).unwrap(),
    );
    for (p, q) in a.as_slice().iter().zip(b.as_slice()) {
        // g·v/‖v‖ with g = ‖v‖: a few roundings of each weight.
        assert!((p - q).abs() <= 1e-14 * (1.0 + p.abs()), "{p} vs {q}");
    }
}

#[test]
fn bad_input_is_refused_with_the_typed_error() {
    let v = Tensor::<f64>::rand_uniform(&[2, 1, 2, 2], -1.0, 1.0, 1).unwrap();
    let g = Tensor::<f64>::ones(&[2]).unwrap();
    // g of the wrong length.
    let e = WeightNormConv2d::new(v.clone(), Tensor::ones(&[3]).unwrap(), None).unwrap_err();
    assert!(
        matches!(
            e,
            Error::ShapeMismatch {
                op: "WeightNormConv2d::new",
                ..
            }
        ),
        "{e}"
    );
    // A zero filter has no direction.
    let mut zero = v.clone();
    zero.as_mut_slice()[4..8].fill(0.0);
    let e = WeightNormConv2d::new(zero, g.clone(), None).unwrap_err();
    assert!(matches!(e, Error::OutOfDomain { .. }), "{e}");
    assert!(e.to_string().contains("filter 1"), "{e}");
    // A non-finite one neither.
    let mut nan = v.clone();
    nan.as_mut_slice()[0] = f64::NAN;
    assert!(matches!(
        WeightNormConv2d::new(nan, g.clone(), None).unwrap_err(),
        Error::OutOfDomain { .. }
    ));
    // Not OIHW.
    let flat = Tensor::<f64>::ones(&[2, 4]).unwrap();
    assert!(matches!(
        WeightNormConv2d::new(flat, g.clone(), None).unwrap_err(),
        Error::RankMismatch { .. }
    ));
    // An input whose channels do not match.
    let wn = WeightNormConv2d::new(v, g, None).unwrap();
    let x = Tensor::<f64>::ones(&[1, 3, 4, 4]).unwrap();
    assert!(nn::predict(&wn, &x).is_err());
    // A filter zeroed through the public field after construction.
    let mut broken = wn.clone();
    broken.v.as_mut_slice().fill(0.0);
    let e = nn::predict(&broken, &Tensor::ones(&[1, 1, 4, 4]).unwrap()).unwrap_err();
    assert!(matches!(e, Error::OutOfDomain { .. }), "{e}");
    assert!(matches!(
        broken.weight().unwrap_err(),
        Error::OutOfDomain { .. }
    ));
}
