//! Hostile sizes, thread counts and parameters for the analyzer and the
//! recorder: each used to abort, hang or go silently wrong, and now returns
//! an `Err` naming the function and the sizes, or computes within bounded
//! memory.

use std::time::{Duration, Instant};

use gradsign::analysis::{
    GradientSignAnalyzer, MAX_CURVATURE_INPUTS, PerSampleGradients, SignCategory, TopEigenvector,
    TrackingConfig,
};
use gradsign::dynamics::TrajectoryRecorder;
use gradsign::threads::{clamp_threads, max_threads};
use gradsign::{Element, Error, Tape, Tensor};
use proptest::prelude::*;

/// The error's message (its `Display`), for errors of any variant.
fn invalid(e: &Error) -> String {
    e.to_string()
}

/// The message of a [`Error::TooLarge`], panicking on any other variant.
fn too_large(e: &Error) -> String {
    match e {
        Error::TooLarge { what, reason, .. } => format!("{what}: {reason}"),
        other => panic!("expected TooLarge, got {other:?}"),
    }
}

/// K = J = 10⁵ at B = 1: the old batch-row path allocated J×K (40 GB in
/// f32, 80 GB in f64) and aborted. Now the batch row of one example is its
/// per-example row, and nothing J×K is built.
fn wide_single_example<F: Element>() {
    let (k, j) = (100_000, 100_000);
    let a = Tensor::<F>::rand_uniform(&[1, k], F::from_f64(0.1), F::one(), 1).unwrap();
    let d = Tensor::<F>::rand_normal(&[1, j], F::zero(), F::one(), 2).unwrap();
    let start = Instant::now();
    let an = GradientSignAnalyzer::default();
    let r = an.analyze_layer(&a, &d).unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(60),
        "{:?}",
        start.elapsed()
    );
    // Positive inputs: every row, per example and batch, is one-signed.
    assert_eq!(r.per_example_coherence(), 1.0);
    assert_eq!(r.batch_coherence(), 1.0);
    assert_eq!(r.batch_rows.total(), j);
    for n in r.neurons.iter().take(50) {
        let want = if d.as_slice()[n.neuron] > F::zero() {
            SignCategory::Positive
        } else {
            SignCategory::Negative
        };
        assert_eq!(n.batch_row, want);
    }
    let cats = an.batch_row_categories(&a, &d).unwrap();
    assert_eq!(cats.len(), j);
    assert!(cats.iter().zip(&r.neurons).all(|(c, n)| *c == n.batch_row));
}

#[test]
fn a_single_example_of_1e5_inputs_and_1e5_neurons_needs_no_j_by_k_buffer_f32() {
    wide_single_example::<f32>();
}

#[test]
fn a_single_example_of_1e5_inputs_and_1e5_neurons_needs_no_j_by_k_buffer_f64() {
    wide_single_example::<f64>();
}

/// B = 2 still needs the product, but block by block: memory stays small
/// (the old code allocated J×K = 8·10⁹ bytes here).
#[test]
fn two_examples_of_wide_layers_compute_the_batch_rows_in_blocks() {
    let (k, j) = (20_000, 20_000);
    let mut a = Tensor::<f32>::full(&[2, k], 1.0).unwrap();
    a.as_mut_slice()[k..].fill(0.5); // rows (1, …) and (0.5, …)
    let mut d = Tensor::<f32>::zeros(&[2, j]).unwrap();
    for jj in 0..j {
        // G_j = δ₀·1 + δ₁·0.5: positive for (1, −1), negative for (−1, 1).
        let s = if jj % 2 == 0 { 1.0 } else { -1.0 };
        d.as_mut_slice()[jj] = s;
        d.as_mut_slice()[j + jj] = -s;
    }
    let r = GradientSignAnalyzer::default()
        .without_bias()
        .analyze_layer(&a, &d)
        .unwrap();
    assert_eq!(r.batch_rows.positive, j / 2);
    assert_eq!(r.batch_rows.negative, j / 2);
}

#[test]
fn batch_rows_of_one_example_match_the_materialised_row_at_the_extremes() {
    // Overflow, underflow, zeros, NaN: the per-example shortcut classifies
    // exactly what the product would hold.
    let a = Tensor::from_vec(vec![1e300, 1e-300, 0.0, -2.0], &[1, 4]).unwrap();
    let d = Tensor::from_vec(vec![1e10, 1e-30, 0.0, -1.0, f64::NAN], &[1, 5]).unwrap();
    for bias in [false, true] {
        let an = GradientSignAnalyzer::default().with_bias(bias);
        let cats = an.batch_row_categories(&a, &d).unwrap();
        for (jj, c) in cats.iter().enumerate() {
            let dv = d.as_slice()[jj];
            let mut row: Vec<f64> = a.as_slice().iter().map(|x| dv * x).collect();
            if bias {
                row.push(dv);
            }
            assert_eq!(*c, SignCategory::of_row(&row, 0.0), "δ {dv} bias {bias}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// One example or several, any magnitudes: the batch-row categories are
    /// those of the materialised sums.
    #[test]
    fn batch_rows_match_the_materialised_sums(
        b in 1usize..4,
        k in 0usize..5,
        j in 1usize..5,
        scale in -200i32..200,
        bias in any::<bool>(),
        seed in 0u64..1000,
    ) {
        let s = 10f64.powi(scale);
        let a = Tensor::<f64>::rand_normal(&[b, k], 0.0, s, seed).unwrap();
        let d = Tensor::<f64>::rand_normal(&[b, j], 0.0, 1.0 / s.sqrt(), seed + 1).unwrap();
        let cats = GradientSignAnalyzer::default().with_bias(bias).batch_row_categories(&a, &d).unwrap();
        for (jj, &cat) in cats.iter().enumerate() {
            let mut row = vec![0.0; k];
            let mut bias_sum = 0.0;
            for n in 0..b {
                let dv = d.as_slice()[n * j + jj];
                for (r, x) in row.iter_mut().zip(&a.as_slice()[n * k..(n + 1) * k]) {
                    *r += dv * x;
                }
                bias_sum += dv;
            }
            if bias {
                row.push(bias_sum);
            }
            prop_assert_eq!(cat, SignCategory::of_row(&row, 0.0));
        }
    }
}

#[test]
fn a_recorder_of_2_pow_40_by_2_pow_40_is_an_error() {
    for bias in [false, true] {
        let e = TrajectoryRecorder::new(1 << 40, 1 << 40, bias).unwrap_err();
        let m = too_large(&e);
        assert!(
            m.contains("1099511627776 neurons × 1099511627776 inputs"),
            "{m}"
        );
        assert!(e.to_string().starts_with("TrajectoryRecorder::new"), "{e}");
    }
    // usize::MAX inputs plus the bias overflows the row length itself.
    let e = TrajectoryRecorder::new(1, usize::MAX, true).unwrap_err();
    assert!(matches!(e, Error::TooLarge { .. }), "{e}");
    // Addressable state, but counters for 2⁴⁰ neurons cannot be allocated.
    let e = TrajectoryRecorder::new(1 << 40, 1, false).unwrap_err();
    assert!(
        too_large(&e).contains("counters of 1099511627776 neurons"),
        "{e}"
    );
}

#[test]
fn per_sample_gradients_too_large_to_allocate_are_an_error() {
    // 2 × 10⁵ × 10⁵ f64 = 160 GB.
    let a = Tensor::<f64>::ones(&[2, 100_000]).unwrap();
    let d = Tensor::<f64>::ones(&[2, 100_000]).unwrap();
    let e = GradientSignAnalyzer::default()
        .per_sample_gradients(&a, &d)
        .unwrap_err();
    let m = too_large(&e);
    assert!(m.contains("2×100000×100000"), "{m}");
    assert!(e.to_string().starts_with("per_sample_gradients"), "{e}");
}

#[test]
fn curvature_of_too_many_inputs_is_an_error_not_hours_of_eigensolving() {
    let k = MAX_CURVATURE_INPUTS + 1;
    let a = Tensor::<f32>::ones(&[2, k]).unwrap();
    let d = Tensor::<f32>::ones(&[2, 1]).unwrap();
    let an = GradientSignAnalyzer::default().with_curvature(true);
    let e = an.analyze_layer(&a, &d).unwrap_err();
    let m = invalid(&e);
    assert!(m.contains(&format!("{k} inputs")), "{m}");
    assert!(e.to_string().starts_with("analyze_layer"), "{e}");
    // Without curvature the same layer is analysed.
    assert!(an.with_curvature(false).analyze_layer(&a, &d).is_ok());
}

#[test]
fn a_top_eigenvector_too_large_to_solve_is_an_error_at_observe() {
    use gradsign::activation::Activation;
    use gradsign::nn::{Init, Mlp};
    let k = MAX_CURVATURE_INPUTS + 10;
    let b = MAX_CURVATURE_INPUTS + 1;
    let mlp = Mlp::builder(&[k, 1])
        .hidden(Activation::Identity)
        .output(Activation::Identity)
        .init(Init::Zeros)
        .seed(1)
        .build::<f32>()
        .unwrap();
    let tape = Tape::<f32>::new();
    let x = tape.constant(&Tensor::ones(&[b, k]).unwrap());
    let (y, trace) = gradsign::nn::forward(&mlp, &tape, x).unwrap();
    let grads = y.sum().backward().unwrap();
    let mut an = GradientSignAnalyzer::default();
    let e = an.observe(0, &trace, &grads).unwrap_err();
    assert!(e.to_string().contains("top eigenvector"), "{e}");
    assert_eq!(an.tracker().steps(), 0);
    // Off: observed.
    let mut an = GradientSignAnalyzer::default()
        .with_tracking(TrackingConfig::default().top_eigenvector(TopEigenvector::Off));
    an.observe(0, &trace, &grads).unwrap();
}

#[test]
fn every_zero_steps_is_rejected() {
    use gradsign::activation::Activation;
    use gradsign::nn::{Init, Mlp};
    let mlp = Mlp::builder(&[2, 1])
        .hidden(Activation::Identity)
        .output(Activation::Identity)
        .init(Init::LecunNormal)
        .seed(1)
        .build::<f64>()
        .unwrap();
    let tape = Tape::<f64>::new();
    let x = tape.constant(&Tensor::ones(&[3, 2]).unwrap());
    let (y, trace) = gradsign::nn::forward(&mlp, &tape, x).unwrap();
    let grads = y.sum().backward().unwrap();
    let mut an = GradientSignAnalyzer::default()
        .with_tracking(TrackingConfig::default().top_eigenvector(TopEigenvector::Every(0)));
    let e = an.observe(0, &trace, &grads).unwrap_err();
    assert!(
        invalid(&e).contains("TopEigenvector::Every must be at least 1"),
        "{e}"
    );
}

#[test]
fn thread_counts_are_clamped_to_the_machine() {
    assert_eq!(clamp_threads(0), 1);
    assert_eq!(clamp_threads(usize::MAX), max_threads());
    let mut tape = Tape::<f32>::new();
    tape.set_threads(usize::MAX);
    assert_eq!(tape.threads(), max_threads());
    tape.set_threads(0);
    assert_eq!(tape.threads(), 1);
    for t in [0, usize::MAX] {
        assert_eq!(
            GradientSignAnalyzer::default()
                .with_threads(t)
                .config()
                .threads,
            clamp_threads(t)
        );
    }
}

/// A 300×300 product on `set_threads(usize::MAX)` used to split into
/// `usize::MAX` pieces and hang; run in a thread with a deadline.
fn within(secs: u64, f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        f();
        tx.send(()).unwrap();
    });
    rx.recv_timeout(Duration::from_secs(secs))
        .expect("finished in time");
}

#[test]
fn a_matmul_on_usize_max_threads_finishes_and_matches_one_thread() {
    within(120, || {
        for threads in [usize::MAX, 0] {
            let a = Tensor::<f32>::rand_normal(&[300, 300], 0.0, 1.0, 1).unwrap();
            let product = |t: usize| {
                let mut tape = Tape::<f32>::new();
                tape.set_threads(t);
                let x = tape.constant(&a);
                x.matmul(x).unwrap().value().into_vec()
            };
            let (many, one) = (product(threads), product(1));
            for (p, q) in many.iter().zip(&one) {
                assert!((p - q).abs() <= 1e-3 * (1.0 + q.abs()), "{p} vs {q}");
            }
        }
    });
}

#[test]
fn the_analyzer_on_usize_max_threads_finishes_and_matches_one_thread() {
    within(120, || {
        let a = Tensor::<f64>::rand_uniform(&[300, 300], -1.0, 1.0, 3).unwrap();
        let d = Tensor::<f64>::rand_normal(&[300, 300], 0.0, 1.0, 4).unwrap();
        let one = GradientSignAnalyzer::default()
            .analyze_layer(&a, &d)
            .unwrap();
        for t in [usize::MAX, 0] {
            let an = GradientSignAnalyzer::default().with_threads(t);
            assert_eq!(an.analyze_layer(&a, &d).unwrap().batch_rows, one.batch_rows);
            let (w, _) = an.per_sample_gradients(&a, &d).unwrap();
            assert_eq!(w.dims(), &[300, 300, 300]);
        }
        // A config set directly (not through with_threads) is clamped too.
        let mut cfg = gradsign::analysis::AnalyzerConfig::default();
        cfg.threads = usize::MAX;
        let r = GradientSignAnalyzer::new(cfg)
            .analyze_layer(&a, &d)
            .unwrap();
        assert_eq!(r.batch_rows, one.batch_rows);
        let _ = PerSampleGradients::<f64>::new().with_threads(usize::MAX);
    });
}

fn tolerance_in<F: Element>(tol: f64) -> Result<(), Error> {
    let a = Tensor::<F>::ones(&[2, 2]).unwrap();
    let d = Tensor::<F>::ones(&[2, 1]).unwrap();
    GradientSignAnalyzer::default()
        .with_sign_tolerance(tol)
        .analyze_layer(&a, &d)
        .map(|_| ())
}

#[test]
fn tolerances_are_validated_in_the_element_type() {
    // 1e300 is a fine f64 but infinite in f32.
    assert!(tolerance_in::<f64>(1e300).is_ok());
    let e = tolerance_in::<f32>(1e300).unwrap_err();
    assert!(invalid(&e).contains("overflows to inf"), "{e}");
    assert!(invalid(&e).contains("f32"), "{e}");
    // 1e-50 underflows to 0 in f32: silently an exact-zero tolerance before.
    assert!(tolerance_in::<f64>(1e-50).is_ok());
    let e = tolerance_in::<f32>(1e-50).unwrap_err();
    assert!(invalid(&e).contains("underflows to 0"), "{e}");
    // A subnormal f32 tolerance is representable and accepted.
    assert!(tolerance_in::<f32>(1e-40).is_ok());
    for bad in [f64::NAN, f64::INFINITY, -1e-9, f64::NEG_INFINITY] {
        assert!(tolerance_in::<f32>(bad).is_err(), "{bad}");
        assert!(tolerance_in::<f64>(bad).is_err(), "{bad}");
    }
    for ok in [0.0, -0.0, 1e-6, 3e38] {
        assert!(tolerance_in::<f32>(ok).is_ok(), "{ok}");
    }
}

#[test]
fn recorder_directions_of_extreme_magnitude_are_normalised_not_rejected() {
    for big in [1e200, 1e-200, f64::MAX, 5e-324] {
        let mut rec = TrajectoryRecorder::new(1, 2, false)
            .unwrap()
            .track_update_along(&[big, big])
            .unwrap();
        rec.observe_update(
            &Tensor::from_vec(vec![1.0f32, 1.0], &[1, 2]).unwrap(),
            None,
            None,
        )
        .unwrap();
        let c = rec.component(0).unwrap();
        assert!((c - 2f64.sqrt()).abs() < 1e-6, "{big}: {c}");
    }
    for bad in [[f64::NAN, 1.0], [f64::INFINITY, 1.0], [0.0, 0.0]] {
        assert!(
            TrajectoryRecorder::new(1, 2, false)
                .unwrap()
                .track_update_along(&bad)
                .is_err()
        );
    }
}

/// Inputs and deltas with every kind of entry: both signs, zeros, tiny
/// values, and (when `poison`) a NaN row and an infinite delta.
fn mixed<F: Element>(dims: &[usize], seed: u64, poison: bool) -> Tensor<F> {
    let t = Tensor::<F>::rand_normal(dims, F::zero(), F::one(), seed).unwrap();
    let cols = dims[1];
    let v: Vec<F> = t
        .as_slice()
        .iter()
        .enumerate()
        .map(|(i, &x)| match i % 97 {
            0 => F::zero(),
            1 => F::from_f64(1e-30),
            _ if poison && i / cols == 3 && i % 5 == 0 => F::nan(),
            _ if poison && i == 7 * cols + 2 => F::infinity(),
            // Mostly non-negative rows, as after ReLU or a sigmoid.
            _ if !(i / cols).is_multiple_of(3) => x.abs(),
            _ => x,
        })
        .collect();
    Tensor::from_vec(v, dims).unwrap()
}

/// `analyze_layer`'s report on `threads` threads.
fn layer_report<F: Element>(
    a: &Tensor<F>,
    d: &Tensor<F>,
    threads: usize,
) -> gradsign::analysis::LayerReport {
    GradientSignAnalyzer::default()
        .with_threads(threads)
        .analyze_layer(a, d)
        .unwrap()
}

#[test]
fn two_threads_give_the_one_thread_report_on_either_side_of_the_split() {
    // Needs a second core: with one, `with_threads(2)` is one thread.
    if max_threads() < 2 {
        return;
    }
    // Shapes below and above the sizes where the pass splits its neurons
    // (B×J = 2¹⁴) and runs the input summary beside the batch rows
    // (B×K = 2¹⁵), an odd J, a single example, and a two-neuron layer.
    let shapes = [
        (128, 784, 256),
        (200, 300, 91),
        (64, 8, 300),
        (130, 260, 2),
        (1, 40_000, 40),
        (16, 16, 16),
    ];
    for (b, k, j) in shapes {
        for poison in [false, true] {
            let a = mixed::<f32>(&[b, k], 11, poison);
            let d = mixed::<f32>(&[b, j], 12, poison);
            assert_eq!(
                layer_report(&a, &d, 2),
                layer_report(&a, &d, 1),
                "B {b} K {k} J {j} poison {poison}"
            );
        }
    }
    let a = mixed::<f64>(&[128, 400], 5, true);
    let d = mixed::<f64>(&[128, 200], 6, false);
    assert_eq!(layer_report(&a, &d, 2), layer_report(&a, &d, 1));
}
