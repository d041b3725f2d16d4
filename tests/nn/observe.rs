//! `GradientSignAnalyzer::observe`: the zig-zag measured over training from
//! traces and gradients, its theorem (one example, positive inputs: every
//! update one-signed), the component along the top eigenvector against a
//! direct computation, bad input, and that a warm observed step allocates
//! nothing (counted by the global allocator of `support/counting_alloc.rs`,
//! which tallies the calling thread's allocations).

use gradsign::activation::Activation;
use gradsign::analysis::{
    GradientSignAnalyzer, LayerSelection, TopEigenvector, TrackerReport, TrackingConfig,
    UpdateSource,
};
use gradsign::curvature::spectrum::{Spectrum, second_moment};
use gradsign::dynamics::Tracked;
use gradsign::loss::{self, Reduction};
use gradsign::nn::{Init, Mlp};
use gradsign::optim::{Optimizer, Sgd};
use gradsign::{Error, Gradients, Tape, Tensor};

use crate::counting_alloc::allocations;

/// Trains a 4-6-3 network (`hidden` activation, softmax cross-entropy) with
/// plain SGD on `x`, `batch` examples per step in order, observing every
/// step; returns the trajectories.
fn train_observed(x: &Tensor<f64>, hidden: Activation, batch: usize) -> TrackerReport {
    let (n, k) = (x.dims()[0], x.dims()[1]);
    let mut mlp = Mlp::builder(&[k, 6, 3])
        .hidden(hidden)
        .output(Activation::Identity)
        .init(Init::LecunNormal)
        .seed(7)
        .build::<f64>()
        .unwrap();
    let labels: Vec<usize> = (0..n).map(|i| (i * 7 + i / 3) % 3).collect();
    let mut analyzer = GradientSignAnalyzer::default();
    let mut sgd = Sgd::new(0.2);
    let mut tape = Tape::new();
    let mut grads = Gradients::new();
    for (step, first) in (0..n).step_by(batch).enumerate() {
        tape.clear();
        let rows = &x.as_slice()[first * k..(first + batch) * k];
        let input = tape.constant_from_slice(rows, &[batch, k]).unwrap();
        let (out, trace) = gradsign::nn::forward(&mlp, &tape, input).unwrap();
        loss::softmax_cross_entropy(out, &labels[first..first + batch], Reduction::Mean)
            .unwrap()
            .backward_into(&mut grads)
            .unwrap();
        analyzer.observe(step, &trace, &grads).unwrap();
        sgd.step(&mut mlp, &trace, &grads).unwrap();
    }
    analyzer.trajectories()
}

#[test]
fn one_example_steps_on_positive_inputs_are_one_signed_for_every_neuron() {
    // The theorem: u_j = −δ_j·[a, 1] with a > 0 entrywise, so every entry
    // has the sign of −δ_j. Layer 0 reads the data, layer 1 sigmoid outputs,
    // both strictly positive.
    let x = Tensor::rand_uniform(&[120, 4], 0.01, 1.0, 1).unwrap();
    let report = train_observed(&x, Activation::Sigmoid, 1);
    assert_eq!(report.steps, 120);
    for layer in &report.layers {
        assert_eq!(layer.min_one_signed_share(), Some(1.0), "{report}");
        assert_eq!(layer.one_signed_share(), Some(1.0));
        assert_eq!(layer.trajectory.updates, 120);
    }
}

#[test]
fn one_example_steps_on_centred_inputs_are_rarely_one_signed() {
    // Centred data and tanh outputs take both signs: an update row of five
    // entries whose signs were independent and fair would be one-signed with
    // probability 2/2⁵ = 1/16.
    let x = Tensor::rand_uniform(&[120, 4], -1.0, 1.0, 2).unwrap();
    let report = train_observed(&x, Activation::Tanh, 1);
    let first = report.layers[0].one_signed_share().unwrap();
    assert!(first < 0.25, "{first}\n{report}");
    let second = report.layers[1].one_signed_share().unwrap();
    assert!(second < 1.0, "{second}");
}

#[test]
fn batches_of_positive_inputs_are_one_signed_more_often_than_centred_ones() {
    // Summing over a batch mixes signs, but non-centred inputs keep the rows
    // of the first layer far more often one-signed than centred ones.
    let positive = Tensor::rand_uniform(&[240, 4], 0.01, 1.0, 3).unwrap();
    let centred = positive.map(|v: f64| v - 0.505);
    let p = train_observed(&positive, Activation::Sigmoid, 8);
    let c = train_observed(&centred, Activation::Sigmoid, 8);
    let (ps, cs) = (
        p.layers[0].one_signed_share().unwrap(),
        c.layers[0].one_signed_share().unwrap(),
    );
    assert!(ps > cs, "positive {ps} vs centred {cs}");
}

/// A linear unit `ŷ = x·wᵀ + b` as a one-layer `Mlp`, trained by full-batch
/// gradient descent on `(1/2B)‖ŷ − y‖²`, whose Hessian is `E[x̃x̃ᵀ]`.
struct LinearUnit {
    mlp: gradsign::nn::Sequential<f64>,
    x: Tensor<f64>,
    y: Tensor<f64>,
}

impl LinearUnit {
    fn new(seed: u64) -> Self {
        let x = Tensor::<f64>::rand_uniform(&[400, 6], 0.0, 1.0, seed).unwrap();
        let w_star = Tensor::<f64>::rand_normal(&[6, 1], 0.0, 1.0, seed + 1).unwrap();
        let y = Tensor::from_vec(
            x.as_slice()
                .chunks_exact(6)
                .map(|r| {
                    r.iter()
                        .zip(w_star.as_slice())
                        .map(|(a, b)| a * b)
                        .sum::<f64>()
                        - 0.4
                })
                .collect(),
            &[400, 1],
        )
        .unwrap();
        let mlp = Mlp::builder(&[6, 1])
            .hidden(Activation::Identity)
            .output(Activation::Identity)
            .init(Init::Zeros)
            .seed(0)
            .build()
            .unwrap();
        LinearUnit { mlp, x, y }
    }

    /// `[w, b]` as one row.
    fn row(&self) -> Vec<f64> {
        let linear = &self.mlp.linears().next().unwrap().1;
        let mut r = linear.weight.as_slice().to_vec();
        r.extend_from_slice(linear.bias.as_ref().unwrap().as_slice());
        r
    }

    /// One observed step with learning rate `lr`.
    fn step(&mut self, analyzer: &mut GradientSignAnalyzer, step: usize, lr: f64) {
        let tape = Tape::new();
        let (out, trace) = gradsign::nn::forward(&self.mlp, &tape, tape.constant(&self.x)).unwrap();
        let loss = (out - tape.constant(&self.y)).square().mean().unwrap() * 0.5;
        let grads = loss.backward().unwrap();
        analyzer.observe(step, &trace, &grads).unwrap();
        Sgd::new(lr).step(&mut self.mlp, &trace, &grads).unwrap();
    }
}

/// `vᵀu`.
fn dot(v: &[f64], u: &[f64]) -> f64 {
    v.iter().zip(u).map(|(a, b)| a * b).sum()
}

#[test]
fn top_component_of_gradient_updates_matches_the_direct_computation() {
    let mut unit = LinearUnit::new(11);
    let s = Spectrum::of(&second_moment(&unit.x, true).unwrap()).unwrap();
    let (v, lambda) = (s.top_eigenvector(), s.largest());
    // η > 1/λmax: the zig-zag regime.
    let lr = 1.5 / lambda;
    let mut analyzer = GradientSignAnalyzer::default();
    for step in 0..12 {
        let before = unit.row();
        unit.step(&mut analyzer, step, lr);
        // The recorded update is −∇L = (W_{t+1} − W_t)/η.
        let direct = dot(&v, &unit.row()) / lr - dot(&v, &before) / lr;
        let recorded = analyzer
            .tracker()
            .recorder(0)
            .unwrap()
            .component(0)
            .unwrap();
        assert!(
            (recorded - direct).abs() < 1e-9 * direct.abs().max(1e-12),
            "step {step}: {recorded} vs {direct}"
        );
    }
    let tracked = analyzer.tracker().top_eigenvalue(0).unwrap();
    assert!((tracked - lambda).abs() < 1e-12 * lambda);
    // vᵀu_{t+1} = (1 − ηλmax)·vᵀu_t, and η > 1/λmax flips it every step.
    let rec = analyzer.tracker().recorder(0).unwrap();
    let ratio = rec.component_ratio(0).unwrap();
    assert!((ratio - (1.0 - 1.5)).abs() < 1e-9, "{ratio}");
    assert_eq!(rec.component_flips(0), 11);
}

#[test]
fn top_component_of_weight_changes_equals_a_recorder_fed_the_weights() {
    let mut unit = LinearUnit::new(21);
    let s = Spectrum::of(&second_moment(&unit.x, true).unwrap()).unwrap();
    let lr = 0.7 / s.largest();
    let mut analyzer = GradientSignAnalyzer::default()
        .with_tracking(TrackingConfig::default().updates(UpdateSource::WeightChange));
    let mut direct = gradsign::dynamics::TrajectoryRecorder::new(1, 6, true)
        .unwrap()
        .track_update_along(&s.top_eigenvector())
        .unwrap();
    for step in 0..10 {
        let linear = &unit.mlp.linears().next().unwrap().1;
        direct
            .observe(&linear.weight, linear.bias.as_ref(), None)
            .unwrap();
        // The analyzer reads the same weights from the step's trace.
        unit.step(&mut analyzer, step, lr);
    }
    let rec = analyzer.tracker().recorder(0).unwrap();
    assert_eq!(rec.updates(), direct.updates());
    let (a, b) = (rec.component(0).unwrap(), direct.component(0).unwrap());
    assert!((a - b).abs() < 1e-12 * b.abs(), "{a} vs {b}");
    let (ra, rb) = (
        rec.component_ratio(0).unwrap(),
        direct.component_ratio(0).unwrap(),
    );
    assert!(
        (ra - rb).abs() < 1e-9 && (ra - (1.0 - 0.7)).abs() < 1e-9,
        "{ra} vs {rb}"
    );
    let (na, nb) = (rec.neuron(0), direct.neuron(0));
    assert_eq!(na.orthants, nb.orthants);
    assert!((na.mean_cosine.unwrap() - nb.mean_cosine.unwrap()).abs() < 1e-12);
    assert!((na.path_efficiency.unwrap() - nb.path_efficiency.unwrap()).abs() < 1e-12);
}

/// W3's shapes scaled down: a 20-16-8-3 sigmoid network, batch 16, f32.
fn small_w3() -> (gradsign::nn::Sequential<f32>, Tensor<f32>, Vec<usize>) {
    let mlp = Mlp::builder(&[20, 16, 8, 3])
        .hidden(Activation::Sigmoid)
        .output(Activation::Identity)
        .build_with(gradsign_studies::splitmix::dense::<f32>(
            &mut gradsign_studies::SplitMix64::new(9),
        ))
        .unwrap();
    let x = Tensor::<f32>::rand_uniform(&[16, 20], 0.0, 1.0, 4).unwrap();
    let labels = (0..16).map(|i| i % 3).collect();
    (mlp, x, labels)
}

/// Runs 3 observed SGD steps, then counts the allocations that `observe`
/// makes in `measured` more. (The step itself is `alloc_free_step.rs`'s
/// business: here the matrix products of the backward pass allocate a few
/// packing buffers at these shapes.)
fn allocations_per_observed_steps(analyzer: &mut GradientSignAnalyzer, measured: usize) -> usize {
    let (mut mlp, x, labels) = small_w3();
    let mut sgd = Sgd::new(0.1f32);
    let mut tape = Tape::new();
    let mut grads = Gradients::new();
    let mut observing = 0;
    for step in 0..3 + measured {
        tape.clear();
        let input = tape.constant(&x);
        let (out, trace) = gradsign::nn::forward(&mlp, &tape, input).unwrap();
        loss::softmax_cross_entropy(out, &labels, Reduction::Mean)
            .unwrap()
            .backward_into(&mut grads)
            .unwrap();
        let before = allocations();
        analyzer.observe(step, &trace, &grads).unwrap();
        if step >= 3 {
            observing += allocations() - before;
        }
        sgd.step(&mut mlp, &trace, &grads).unwrap();
    }
    observing
}

#[test]
fn observing_a_warm_step_performs_no_heap_allocation() {
    for updates in [UpdateSource::NegativeGradient, UpdateSource::WeightChange] {
        let mut analyzer = GradientSignAnalyzer::default()
            .with_tracking(TrackingConfig::default().updates(updates));
        let n = allocations_per_observed_steps(&mut analyzer, 50);
        assert_eq!(n, 0, "{n} allocations in 50 observations ({updates:?})");
        let report = analyzer.trajectories();
        assert_eq!(report.steps, 53);
        assert!(report.layers.iter().all(|l| l.top_eigenvalue.is_some()));
    }
}

#[test]
fn eigenvectors_are_refreshed_on_schedule_and_on_request() {
    let mut analyzer = GradientSignAnalyzer::default()
        .with_tracking(TrackingConfig::default().top_eigenvector(TopEigenvector::Every(10)));
    allocations_per_observed_steps(&mut analyzer, 22);
    // Steps 0..=24: computed at 0, 10 and 20.
    let steps = |a: &GradientSignAnalyzer| {
        a.trajectories()
            .layers
            .iter()
            .map(|l| l.top_eigenvector_step)
            .collect::<Vec<_>>()
    };
    assert_eq!(steps(&analyzer), [Some(20); 3]);
    let mut once = GradientSignAnalyzer::default();
    allocations_per_observed_steps(&mut once, 2);
    assert_eq!(steps(&once), [Some(0); 3]);
    once.tracker_mut().refresh_top_eigenvectors();
    let (mlp, x, labels) = small_w3();
    let tape = Tape::new();
    let (out, trace) = gradsign::nn::forward(&mlp, &tape, tape.constant(&x)).unwrap();
    let grads = loss::softmax_cross_entropy(out, &labels, Reduction::Mean)
        .unwrap()
        .backward()
        .unwrap();
    once.observe(100, &trace, &grads).unwrap();
    assert_eq!(steps(&once), [Some(100); 3]);
    // The component series restarts with the new direction.
    let dir = once.trajectories().layers[0]
        .trajectory
        .direction
        .clone()
        .unwrap();
    assert_eq!(dir.tracked, Tracked::Update);
    assert!(dir.last_ratios.iter().all(Option::is_none));
}

/// One traced step of the small network on `x` (any batch size), with the
/// gradients of its mean cross-entropy.
fn traced<R>(
    mlp: &gradsign::nn::Sequential<f32>,
    x: &Tensor<f32>,
    f: impl FnOnce(&gradsign::nn::Trace<'_, f32>, &Gradients<f32>) -> R,
) -> R {
    let tape = Tape::new();
    let (out, trace) = gradsign::nn::forward(mlp, &tape, tape.constant(x)).unwrap();
    let labels: Vec<usize> = (0..x.dims()[0]).map(|i| i % 3).collect();
    let grads = loss::softmax_cross_entropy(out, &labels, Reduction::Mean)
        .unwrap()
        .backward()
        .unwrap();
    f(&trace, &grads)
}

#[test]
fn bad_observations_are_errors_that_record_nothing() {
    let (mlp, x, _) = small_w3();
    let mut analyzer = GradientSignAnalyzer::default();
    traced(&mlp, &x, |t, g| analyzer.observe(5, t, g)).unwrap();
    // Steps must increase.
    let err = traced(&mlp, &x, |t, g| analyzer.observe(5, t, g)).unwrap_err();
    assert!(err.to_string().contains("step 5 does not follow"), "{err}");
    // A non-finite input makes non-finite gradients: named, nothing recorded.
    let mut bad = x.clone();
    bad.as_mut_slice()[3] = f32::NAN;
    let err = traced(&mlp, &bad, |t, g| analyzer.observe(6, t, g)).unwrap_err();
    assert!(matches!(err, Error::Layer { .. }), "{err}");
    assert!(err.to_string().contains("non-finite"), "{err}");
    assert_eq!(analyzer.tracker().steps(), 1);
    assert_eq!(analyzer.tracker().recorder(0).unwrap().updates(), 1);
    // Another selection needs a reset.
    let mut other = analyzer.clone().with_layers(LayerSelection::Only(vec![1]));
    let err = traced(&mlp, &x, |t, g| other.observe(7, t, g)).unwrap_err();
    assert!(err.to_string().contains("reset"), "{err}");
    other.tracker_mut().reset();
    traced(&mlp, &x, |t, g| other.observe(7, t, g)).unwrap();
    assert_eq!(other.tracker().layers().collect::<Vec<_>>(), [1]);
    // A smaller last batch is recorded, its δ not compared.
    let half = Tensor::from_slice(&x.as_slice()[..8 * 20], &[8, 20]).unwrap();
    traced(&mlp, &half, |t, g| analyzer.observe(8, t, g)).unwrap();
    let report = analyzer.trajectories();
    assert_eq!((report.steps, report.skipped_delta_steps), (2, 1));
    assert!(report.to_string().contains("δ not compared on 1 steps"));
}

#[test]
fn a_first_observation_that_fails_leaves_the_tracker_empty() {
    let (mlp, mut x, _) = small_w3();
    x.as_mut_slice()[0] = f32::INFINITY;
    let mut analyzer = GradientSignAnalyzer::default();
    assert!(traced(&mlp, &x, |t, g| analyzer.observe(0, t, g)).is_err());
    assert_eq!(analyzer.tracker().layers().count(), 0);
    assert_eq!(analyzer.tracker().last_step(), None);
}

#[test]
fn the_trajectory_report_renders_a_table_per_layer() {
    let x = Tensor::rand_uniform(&[30, 4], 0.01, 1.0, 5).unwrap();
    let shown = train_observed(&x, Activation::Sigmoid, 1).to_string();
    for needle in [
        "training trajectory: 30 observations, steps 0..=29",
        "u = −∇L",
        "λmax E[aaᵀ]",
        "layer 1 (6 -> 3, rows with the bias): top eigenvector of E[ã ãᵀ] from step 0's batch",
        "all-positive or all-negative orthant: 90 of 90",
    ] {
        assert!(shown.contains(needle), "missing {needle:?} in\n{shown}");
    }
}
