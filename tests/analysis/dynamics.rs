//! The dynamics figures of issue 6: gradient descent's error ratio, the sign
//! flips of the error along the top eigenvector of `E[x̃x̃ᵀ]`, and the
//! trajectory recorder's per-neuron measures (and that observing a step
//! allocates nothing, counted by a global allocator that tallies the calling
//! thread's allocations).

use gradsign::analysis::SignCategory;
use gradsign::curvature::spectrum::{Spectrum, second_moment};
use gradsign::dynamics::{Tracked, TrajectoryRecorder};
use gradsign::{Error, Tape, Tensor};

use crate::counting_alloc::allocations;

/// The full factorial two-point design on `{½ ± 1/√12}ⁿ`: every coordinate
/// has mean ½ and variance 1/12 and the coordinates are exactly independent
/// over the 2ⁿ rows, so the batch's second moment is the U(0,1)ⁿ population
/// matrix `I/12 + 11ᵀ/4` (to rounding), with strictly positive inputs.
fn uniform_moment_design(n: usize) -> Tensor<f64> {
    let half_width = 1.0 / 12f64.sqrt();
    let rows = 1usize << n;
    Tensor::from_fn(&[rows, n], |ix| {
        if (ix[0] >> ix[1]) & 1 == 1 {
            0.5 + half_width
        } else {
            0.5 - half_width
        }
    })
    .unwrap()
}

/// A linear unit `y = x·wᵀ (+ b)` trained by full-batch gradient descent on
/// `(1/2B)‖ŷ − y‖²` through the tape, with targets from `w*` (and `b*`).
struct LinearUnit {
    x: Tensor<f64>,
    y: Tensor<f64>,
    w: Tensor<f64>,
    b: Option<Tensor<f64>>,
    tape: Tape<f64>,
}

impl LinearUnit {
    fn new(x: Tensor<f64>, w_star: &Tensor<f64>, b_star: Option<&Tensor<f64>>) -> Self {
        let tape = Tape::new();
        let y = {
            let xv = tape.constant(&x);
            let out = xv
                .linear(tape.constant(w_star), b_star.map(|b| tape.constant(b)))
                .unwrap();
            out.value()
        };
        let k = x.dims()[1];
        LinearUnit {
            x,
            y,
            w: Tensor::zeros(&[1, k]).unwrap(),
            b: b_star.map(|_| Tensor::zeros(&[1]).unwrap()),
            tape,
        }
    }

    /// One step with learning rate `lr`; returns the deltas `∂L/∂ŷ` (B×1).
    fn step(&mut self, lr: f64) -> Tensor<f64> {
        self.tape.clear();
        let tape = &self.tape;
        let w = tape.var(&self.w);
        let b = self.b.as_ref().map(|b| tape.var(b));
        let out = tape.constant(&self.x).linear(w, b).unwrap();
        let loss = (out - tape.constant(&self.y)).square().mean().unwrap() * 0.5;
        let g = loss.backward().unwrap();
        let deltas = g.tensor(out).unwrap();
        for (p, d) in self.w.as_mut_slice().iter_mut().zip(g.get(w).unwrap()) {
            *p -= lr * d;
        }
        if let (Some(bt), Some(bv)) = (self.b.as_mut(), b) {
            bt.as_mut_slice()[0] -= lr * g.get(bv).unwrap()[0];
        }
        deltas
    }

    /// `‖[w, b] − [w*, b*]‖`.
    fn error_norm(&self, w_star: &Tensor<f64>, b_star: Option<&Tensor<f64>>) -> f64 {
        let mut s: f64 = self
            .w
            .as_slice()
            .iter()
            .zip(w_star.as_slice())
            .map(|(a, b)| (a - b).powi(2))
            .sum();
        if let (Some(b), Some(bs)) = (&self.b, b_star) {
            s += (b.as_slice()[0] - bs.as_slice()[0]).powi(2);
        }
        s.sqrt()
    }
}

/// Runs GD with `η = 2/(λmax + λmin)` and returns the last per-step error
/// ratio together with `(κ − 1)/(κ + 1)`.
fn optimal_rate_error_ratio(x: Tensor<f64>, bias: bool, steps: usize) -> (f64, f64) {
    let k = x.dims()[1];
    let s = Spectrum::of(&second_moment(&x, bias).unwrap()).unwrap();
    let kappa = s.condition_number();
    let lr = 2.0 / (s.largest() + s.smallest());
    let w_star = Tensor::rand_normal(&[1, k], 0.0, 1.0, 5).unwrap();
    let b_star = Tensor::from_vec(vec![0.3], &[1]).unwrap();
    let b_star = bias.then_some(&b_star);
    let mut unit = LinearUnit::new(x, &w_star, b_star);
    let mut before = unit.error_norm(&w_star, b_star);
    let mut ratio = f64::NAN;
    for _ in 0..steps {
        unit.step(lr);
        let now = unit.error_norm(&w_star, b_star);
        ratio = now / before;
        before = now;
    }
    (ratio, (kappa - 1.0) / (kappa + 1.0))
}

#[test]
fn gradient_descent_error_ratio_tends_to_kappa_minus_1_over_kappa_plus_1() {
    // With η = 2/(λmax + λmin), I − ηH has the factors ±(κ − 1)/(κ + 1) on
    // the extreme eigenvectors and smaller ones in between, so the error
    // ratio tends to (κ − 1)/(κ + 1).
    // U(0,1)¹⁰ moments exactly (κ = 31, ratio 30/32):
    let (ratio, want) = optimal_rate_error_ratio(uniform_moment_design(10), false, 60);
    assert!((want - 30.0 / 32.0).abs() < 1e-12, "{want}");
    assert!((ratio - want).abs() < 1e-3, "ratio {ratio} vs {want}");
    // A random U(0,1)² sample with a bias column (three distinct eigenvalues):
    let x = Tensor::<f64>::rand_uniform(&[500, 2], 0.0, 1.0, 8).unwrap();
    let (ratio, want) = optimal_rate_error_ratio(x, true, 300);
    assert!((ratio - want).abs() < 1e-3, "ratio {ratio} vs {want}");
}

/// Per-step ratios and flips of the error along the top eigenvector for
/// `η = factor/λmax`, over `steps` steps.
fn top_component_run(factor: f64, steps: usize) -> (Vec<f64>, usize, f64) {
    let x = Tensor::<f64>::rand_uniform(&[500, 10], 0.0, 1.0, 21).unwrap();
    let s = Spectrum::of(&second_moment(&x, true).unwrap()).unwrap();
    let lr = factor / s.largest();
    let w_star = Tensor::rand_normal(&[1, 10], 0.0, 1.0, 22).unwrap();
    let b_star = Tensor::from_vec(vec![-0.7], &[1]).unwrap();
    let mut unit = LinearUnit::new(x, &w_star, Some(&b_star));
    let mut rec = TrajectoryRecorder::new(1, 10, true)
        .unwrap()
        .track_error_along(&s.top_eigenvector(), &w_star, Some(&b_star))
        .unwrap();
    let mut ratios = Vec::new();
    rec.observe(&unit.w, unit.b.as_ref(), None).unwrap();
    for _ in 0..steps {
        let deltas = unit.step(lr);
        rec.observe(&unit.w, unit.b.as_ref(), Some(&deltas))
            .unwrap();
        ratios.push(rec.component_ratio(0).unwrap());
    }
    (ratios, rec.component_flips(0), 1.0 - lr * s.largest())
}

#[test]
fn top_eigenvector_error_is_multiplied_by_one_minus_eta_lambda_max() {
    // e_{t+1} = (I − ηH)e_t, and H·v = λmax·v for the top eigenvector v, so
    // vᵀe_{t+1} = (1 − ηλmax)·vᵀe_t exactly. Steps are limited so that the
    // component stays above 1e-6 of its start (rounding of the other
    // components would dominate below).
    for (factor, steps) in [(0.5, 19), (0.9, 6), (1.5, 19), (1.9, 40)] {
        let (ratios, _, want) = top_component_run(factor, steps);
        assert!((want - (1.0 - factor)).abs() < 1e-15);
        for (t, r) in ratios.iter().enumerate() {
            assert!(
                (r - want).abs() < 1e-9,
                "η = {factor}/λmax, step {t}: ratio {r} vs {want}"
            );
        }
    }
}

#[test]
fn top_eigenvector_error_flips_sign_every_step_iff_eta_exceeds_one_over_lambda_max() {
    for (factor, steps) in [(0.5, 19), (0.9, 6), (1.5, 19), (1.9, 40)] {
        let (_, flips, _) = top_component_run(factor, steps);
        let expected = if factor > 1.0 { steps } else { 0 };
        assert_eq!(flips, expected, "η = {factor}/λmax");
    }
}

#[test]
fn update_component_has_the_same_ratio_as_the_error_component() {
    // u_t = −ηH e_t, so vᵀu_t = −ηλmax·vᵀe_t: the same ratio 1 − ηλmax.
    let x = Tensor::<f64>::rand_uniform(&[300, 4], 0.0, 1.0, 31).unwrap();
    let s = Spectrum::of(&second_moment(&x, false).unwrap()).unwrap();
    let lr = 1.7 / s.largest();
    let w_star = Tensor::rand_normal(&[1, 4], 0.0, 1.0, 32).unwrap();
    let mut unit = LinearUnit::new(x, &w_star, None);
    let mut rec = TrajectoryRecorder::new(1, 4, false)
        .unwrap()
        .track_update_along(&s.top_eigenvector())
        .unwrap();
    rec.observe(&unit.w, None, None).unwrap();
    for _ in 0..10 {
        unit.step(lr);
        rec.observe(&unit.w, None, None).unwrap();
    }
    let r = rec.component_ratio(0).unwrap();
    assert!((r - (1.0 - 1.7)).abs() < 1e-9, "{r}");
    assert_eq!(rec.component_flips(0), 9);
    let report = rec.report();
    assert_eq!(report.direction.as_ref().unwrap().tracked, Tracked::Update);
    // The zig-zag shows in the cosines: consecutive updates point apart.
    assert!(report.neurons[0].mean_cosine.unwrap() < 0.0, "{report}");
}

/// Plain SGD, one example per step, on a linear unit with bias; records
/// `(weights, δ)` each step.
fn sgd_one_example_per_step(x: &Tensor<f64>, seed: u64) -> TrajectoryRecorder {
    let k = x.dims()[1];
    let w_star = Tensor::rand_normal(&[1, k], 0.0, 1.0, seed).unwrap();
    let mut w = Tensor::<f64>::zeros(&[1, k]).unwrap();
    let mut b = Tensor::<f64>::zeros(&[1]).unwrap();
    let mut rec = TrajectoryRecorder::new(1, k, true).unwrap();
    rec.observe(&w, Some(&b), None).unwrap();
    let mut tape = Tape::<f64>::new();
    for row in x.as_slice().chunks_exact(k) {
        tape.clear();
        let target: f64 = row.iter().zip(w_star.as_slice()).map(|(a, c)| a * c).sum();
        let xi = tape.constant_from_slice(row, &[1, k]).unwrap();
        let (wv, bv) = (tape.var(&w), tape.var(&b));
        let out = xi.linear(wv, Some(bv)).unwrap();
        let loss = (out - target).square().sum() * 0.5;
        let g = loss.backward().unwrap();
        let delta = g.tensor(out).unwrap();
        for (p, d) in w.as_mut_slice().iter_mut().zip(g.get(wv).unwrap()) {
            *p -= 0.1 * d;
        }
        b.as_mut_slice()[0] -= 0.1 * g.get(bv).unwrap()[0];
        rec.observe(&w, Some(&b), Some(&delta)).unwrap();
    }
    rec
}

#[test]
fn sgd_updates_on_positive_inputs_stay_in_the_two_one_signed_orthants() {
    // u = −η δ [x, 1] with x > 0: every component has the sign of −δ.
    let x = Tensor::<f64>::rand_uniform(&[200, 5], 0.01, 1.0, 41).unwrap();
    let rec = sgd_one_example_per_step(&x, 42);
    let n = rec.neuron(0);
    assert_eq!(n.updates, 200);
    assert_eq!(n.orthants.one_signed_share(), Some(1.0), "{:?}", n.orthants);
    assert!(
        n.orthants.count(SignCategory::Positive) > 0
            && n.orthants.count(SignCategory::Negative) > 0
    );
    // Consecutive updates are in the same or in the opposite orthant.
    assert_eq!(
        n.orthants.same_as_previous + n.orthants.opposite_to_previous,
        199
    );
    assert!(n.delta_flip_rate.unwrap() > 0.0);
}

#[test]
fn sgd_updates_on_centred_inputs_leave_the_one_signed_orthants() {
    let x = Tensor::<f64>::rand_uniform(&[200, 5], -1.0, 1.0, 43).unwrap();
    let rec = sgd_one_example_per_step(&x, 42);
    let share = rec.neuron(0).orthants.one_signed_share().unwrap();
    // Six components with random independent signs: one-signed about 2/64.
    assert!(share < 0.2, "{share}");
    assert!(rec.neuron(0).orthants.count(SignCategory::Mixed) > 150);
}

#[test]
fn path_efficiency_is_one_for_a_straight_path() {
    let mut rec = TrajectoryRecorder::new(2, 3, false).unwrap();
    for t in 0..5 {
        let w = Tensor::from_fn(&[2, 3], |ix| (t * (ix[0] + 1)) as f64 * 0.5).unwrap();
        rec.observe(&w, None, None).unwrap();
    }
    assert!((rec.neuron(1).path_efficiency.unwrap() - 1.0).abs() < 1e-15);
    assert_eq!(rec.neuron(1).mean_cosine, Some(1.0));
    // Every update of neuron 0 is (0.5, 0.5, 0.5): the all-positive orthant.
    assert_eq!(rec.neuron(0).orthants.count(SignCategory::Positive), 4);
}

#[test]
fn delta_flips_compare_each_example_with_itself() {
    let mut rec = TrajectoryRecorder::new(2, 1, false).unwrap();
    let w = Tensor::<f64>::zeros(&[2, 1]).unwrap();
    // Rows are examples, columns neurons. Neuron 0 sees example 0 go
    // + → − → − and example 1 go − → − → 0: one flip in three comparable
    // pairs (a 0 is not comparable). Neuron 1 sees both examples go
    // + → − → +: four flips in four pairs.
    for d in [
        [1.0, 1.0, -1.0, 1.0],
        [-1.0, -1.0, -1.0, -1.0],
        [-1.0, 1.0, 0.0, 1.0],
    ] {
        let deltas = Tensor::from_vec(d.to_vec(), &[2, 2]).unwrap();
        rec.observe(&w, None, Some(&deltas)).unwrap();
    }
    assert_eq!(rec.neuron(0).delta_flip_rate, Some(1.0 / 3.0));
    assert_eq!(rec.neuron(1).delta_flip_rate, Some(1.0));
}

#[test]
fn bad_observations_are_errors_and_change_nothing() {
    let mut rec = TrajectoryRecorder::new(2, 3, true).unwrap();
    let w = Tensor::<f64>::zeros(&[2, 3]).unwrap();
    let b = Tensor::<f64>::zeros(&[2]).unwrap();
    rec.observe(&w, Some(&b), None).unwrap();
    let wrong = Tensor::<f64>::zeros(&[3, 2]).unwrap();
    assert!(matches!(
        rec.observe(&wrong, Some(&b), None).unwrap_err(),
        Error::ShapeMismatch { op: "observe", .. }
    ));
    let err = rec.observe(&w, None, None).unwrap_err();
    assert!(err.to_string().contains("lacks"), "{err}");
    let nan = Tensor::from_vec(vec![0.0, 0.0, f64::NAN, 0.0, 0.0, 0.0], &[2, 3]).unwrap();
    let err = rec.observe(&nan, Some(&b), None).unwrap_err();
    assert!(
        matches!(err, Error::NonFinite { op: "observe", .. }),
        "{err}"
    );
    let d1 = Tensor::<f64>::zeros(&[4, 2]).unwrap();
    rec.observe(&w, Some(&b), Some(&d1)).unwrap();
    let d2 = Tensor::<f64>::zeros(&[5, 2]).unwrap();
    let err = rec.observe(&w, Some(&b), Some(&d2)).unwrap_err();
    assert!(err.to_string().contains("batch size"), "{err}");
    // The good calls: the first stored the weights, the second made one update.
    assert_eq!(rec.updates(), 1);
    assert!(TrajectoryRecorder::new(0, 3, false).is_err());
    assert!(
        TrajectoryRecorder::new(2, 3, true)
            .unwrap()
            .track_update_along(&[1.0, 2.0, 3.0])
            .is_err()
    );
    let mut tracked = TrajectoryRecorder::new(2, 3, true)
        .unwrap()
        .track_error_along(&[1.0; 4], &w, Some(&b))
        .unwrap();
    assert!(matches!(
        tracked.observe_update(&w, Some(&b), None).unwrap_err(),
        Error::OutOfOrder {
            op: "observe_update",
            ..
        }
    ));
}

#[test]
fn the_report_renders_a_table() {
    let x = Tensor::<f64>::rand_uniform(&[20, 3], 0.01, 1.0, 51).unwrap();
    let report = sgd_one_example_per_step(&x, 52).report();
    let shown = report.to_string();
    assert!(
        shown.contains("trajectory: 20 updates, 1 neurons"),
        "{shown}"
    );
    assert!(
        shown.contains("all-positive or all-negative orthant: 20 of 20"),
        "{shown}"
    );
}

#[test]
fn feeding_updates_matches_feeding_weights() {
    // u_t = W_t − W_{t−1}: a recorder fed the weights and one fed the
    // differences see the same updates.
    let (j, k) = (3, 5);
    let ws: Vec<_> = (0..6)
        .map(|s| Tensor::<f64>::rand_normal(&[j, k], 0.0, 1.0, 200 + s).unwrap())
        .collect();
    let dir = [0.3, -0.2, 0.9, 0.1, 0.4];
    let mut by_weights = TrajectoryRecorder::new(j, k, false)
        .unwrap()
        .track_update_along(&dir)
        .unwrap();
    let mut by_updates = by_weights.clone();
    by_weights.observe(&ws[0], None, None).unwrap();
    for pair in ws.windows(2) {
        by_weights.observe(&pair[1], None, None).unwrap();
        let u: Vec<f64> = pair[1]
            .as_slice()
            .iter()
            .zip(pair[0].as_slice())
            .map(|(a, b)| a - b)
            .collect();
        by_updates
            .observe_update(&Tensor::from_vec(u, &[j, k]).unwrap(), None, None)
            .unwrap();
    }
    for n in 0..j {
        let (a, b) = (by_weights.neuron(n), by_updates.neuron(n));
        assert_eq!(a.updates, b.updates);
        assert_eq!(a.orthants, b.orthants);
        assert!((a.mean_cosine.unwrap() - b.mean_cosine.unwrap()).abs() < 1e-12);
        assert!((a.path_efficiency.unwrap() - b.path_efficiency.unwrap()).abs() < 1e-12);
        assert!(
            (by_weights.component(n).unwrap() - by_updates.component(n).unwrap()).abs() < 1e-12
        );
    }
    // One recorder, one kind of feed.
    let err = by_updates.observe(&ws[0], None, None).unwrap_err();
    assert!(err.to_string().contains("not both"), "{err}");
}

#[test]
fn observing_allocates_nothing_after_the_first_call() {
    let (j, k, b) = (16, 32, 8);
    let weights: Vec<_> = (0..4)
        .map(|s| Tensor::<f32>::rand_normal(&[j, k], 0.0, 1.0, 300 + s).unwrap())
        .collect();
    let bias = Tensor::<f32>::zeros(&[j]).unwrap();
    let deltas = Tensor::<f32>::rand_normal(&[b, j], 0.0, 1.0, 309).unwrap();
    let target = Tensor::<f32>::zeros(&[j, k]).unwrap();
    let dir = vec![1.0; k + 1];
    let by_update = TrajectoryRecorder::new(j, k, true)
        .unwrap()
        .track_update_along(&dir)
        .unwrap();
    let by_error = TrajectoryRecorder::new(j, k, true)
        .unwrap()
        .track_error_along(&dir, &target, Some(&bias))
        .unwrap();
    for mut rec in [by_update, by_error] {
        rec.observe(&weights[0], Some(&bias), Some(&deltas))
            .unwrap();
        let before = allocations();
        for w in &weights[1..] {
            rec.observe(w, Some(&bias), Some(&deltas)).unwrap();
            let _ = rec.neuron(3);
            let _ = rec.component_ratio(3);
        }
        assert_eq!(allocations() - before, 0);
        assert_eq!(rec.updates(), 3);
    }
}

#[test]
fn f32_values_keep_f32_state_with_the_same_signs_and_close_sums() {
    // The same weights fed as f32 and as f64 (the f32 values widened
    // exactly): signs are exact either way, so the orthant counts agree;
    // the sums differ by f32 rounding only.
    let (j, k) = (4, 37); // 37: a row that is not a multiple of the lanes
    let ws: Vec<Tensor<f32>> = (0..8)
        .map(|s| Tensor::<f32>::rand_normal(&[j, k], 0.0, 1.0, 400 + s).unwrap())
        .collect();
    let bias = |s: u64| Tensor::<f32>::rand_normal(&[j], 0.0, 1.0, 500 + s).unwrap();
    let dir: Vec<f64> = (0..=k).map(|i| (i as f64 * 0.37).sin()).collect();
    let mut single = TrajectoryRecorder::new(j, k, true)
        .unwrap()
        .track_update_along(&dir)
        .unwrap();
    let mut double = single.clone();
    for (s, w) in ws.iter().enumerate() {
        let b = bias(s as u64);
        single.observe(w, Some(&b), None).unwrap();
        double
            .observe(&w.cast::<f64>(), Some(&b.cast::<f64>()), None)
            .unwrap();
    }
    for n in 0..j {
        let (a, b) = (single.neuron(n), double.neuron(n));
        assert_eq!(a.orthants, b.orthants);
        let close = |x: f64, y: f64| (x - y).abs() < 1e-5 * y.abs().max(1.0);
        assert!(close(a.mean_cosine.unwrap(), b.mean_cosine.unwrap()));
        assert!(close(
            a.path_efficiency.unwrap(),
            b.path_efficiency.unwrap()
        ));
        assert!(close(
            single.component(n).unwrap(),
            double.component(n).unwrap()
        ));
    }
}
