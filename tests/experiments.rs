//! The examples' computations at small sizes, checked against what the
//! maths fixes: exact sign statements, eigenvalue inequalities, and
//! reproducibility bit for bit.

use gradsign::experiments::first_gradient::{Neuron, first_gradient};
use gradsign::experiments::zigzag::{Inputs, ZigzagConfig, zigzag};

// ---------------------------------------------------------------- 01

#[test]
fn first_gradient_by_hand_tape_and_differences_agree() {
    let r = first_gradient(&Neuron::default(), 1.0, 5).unwrap();
    assert!(r.gradcheck.passed(), "{}", r.gradcheck);
    for row in &r.rows {
        // The tape and the chain rule do the same arithmetic up to rounding.
        assert!(
            (row.by_hand - row.by_tape).abs() <= 4.0 * f64::EPSILON * row.by_hand.abs(),
            "{row:?}"
        );
        // Central differences with h = 1e-6 are exact to O(h²) plus rounding
        // of order ε·L/h ≈ 1e-10.
        assert!((row.by_differences - row.by_tape).abs() < 1e-8, "{row:?}");
    }
}

#[test]
fn first_gradient_delta_is_the_chain_rule_through_the_sigmoid() {
    let n = Neuron::default();
    let r = first_gradient(&n, 1.0, 3).unwrap();
    let z: f64 = n
        .weights
        .iter()
        .zip(&n.inputs)
        .map(|(w, x)| w * x)
        .sum::<f64>()
        + n.bias;
    let a = 1.0 / (1.0 + (-z).exp());
    assert!((r.pre_activation - z).abs() < 1e-15);
    // δ = (a − y)·a·(1 − a)
    assert!((r.delta - (a - n.target) * a * (1.0 - a)).abs() < 1e-15);
    // a < 1 = y, so δ < 0 and the bias's derivative is δ itself.
    assert!(r.delta < 0.0);
    assert_eq!(r.rows.last().unwrap().by_hand, r.delta);
}

#[test]
fn first_gradient_with_positive_inputs_is_one_signed_and_with_mixed_inputs_is_not() {
    assert!(
        first_gradient(&Neuron::default(), 1.0, 3)
            .unwrap()
            .weight_gradient_is_one_signed()
    );
    let mixed = Neuron {
        inputs: vec![0.5, -0.25, 0.75],
        ..Neuron::default()
    };
    assert!(
        !first_gradient(&mixed, 1.0, 3)
            .unwrap()
            .weight_gradient_is_one_signed()
    );
}

#[test]
fn first_gradient_slices_pass_through_the_loss_at_zero() {
    let r = first_gradient(&Neuron::default(), 0.5, 5).unwrap();
    for s in &r.slices {
        assert_eq!(s.curve.len(), 5);
        // The middle of 5 evenly spaced points on [−½, ½] is t = 0.
        assert_eq!(s.curve[2].0, 0.0);
        assert!((s.curve[2].1 - r.loss).abs() < 1e-15);
    }
}

#[test]
fn first_gradient_rejects_mismatched_weights() {
    let bad = Neuron {
        weights: vec![1.0],
        ..Neuron::default()
    };
    assert!(first_gradient(&bad, 1.0, 5).is_err());
    assert!(first_gradient(&Neuron::default(), 1.0, 1).is_err());
}

// ---------------------------------------------------------------- 02

fn small_zigzag() -> ZigzagConfig {
    ZigzagConfig {
        examples: 64,
        sweep: vec![0.25, 1.0],
        sweep_orders: 3,
        ..ZigzagConfig::default()
    }
}

#[test]
fn zigzag_with_positive_inputs_puts_every_update_in_quadrant_one_or_three() {
    let r = zigzag(&small_zigzag()).unwrap();
    assert_eq!(r.positive.inputs, Inputs::Positive);
    // u = −η(e·x)·x with x > 0: u₁u₂ = η²(e·x)²x₁x₂ > 0 whenever e·x ≠ 0.
    assert_eq!(r.positive.quadrant_share, 1.0);
    // Centred inputs take both signs, so updates reach quadrants II and IV.
    assert!(r.centred.quadrant_share < 1.0);
    assert!(r.centred_same_rate.quadrant_share < 1.0);
}

#[test]
fn zigzag_mean_input_adds_the_large_eigenvalue() {
    let r = zigzag(&small_zigzag()).unwrap();
    let (p, c) = (r.positive.eigenvalues, r.centred.eigenvalues);
    let mu = r.input_mean;
    let mu2 = mu[0] * mu[0] + mu[1] * mu[1];
    // E[xxᵀ] = Cov + μμᵀ: λmax ≥ ‖μ‖² (Rayleigh quotient at μ/‖μ‖) …
    assert!(p[0] >= mu2 * (1.0 - 1e-12));
    // … and a rank-one update interlaces: λ₂(Cov) ≤ λ₂(C) ≤ λ₁(Cov) ≤ λ₁(C).
    let eps = 1e-12;
    assert!(c[1] <= p[1] + eps && p[1] <= c[0] + eps && c[0] <= p[0] + eps);
    // σ(u) ∈ (0, 1) has variance below ¼, and the mean is near ½: κ is large.
    assert!(r.positive.condition_number() > 5.0 * r.centred.condition_number());
    // The top eigenvector leans along the mean (both components positive).
    assert!(r.positive.top_eigenvector.iter().all(|&v| v > 0.0));
}

#[test]
fn zigzag_centring_shortens_the_path_at_the_same_step_rule() {
    let r = zigzag(&small_zigzag()).unwrap();
    let (p, c) = (
        r.positive.steps_to_tolerance.unwrap(),
        r.centred.steps_to_tolerance.unwrap(),
    );
    // η·λmin decides the slow direction's rate 1 − ηλmin; with η = c/tr C it
    // is c·λmin/tr C, about 0.07c raw and 0.45c centred: several times fewer steps.
    assert!(2 * c < p, "centred {c} vs positive {p}");
}

#[test]
fn zigzag_centring_at_the_raw_step_size_straightens_but_does_not_shorten() {
    let r = zigzag(&small_zigzag()).unwrap();
    assert_eq!(r.centred_same_rate.learning_rate, r.positive.learning_rate);
    assert!(r.centred_same_rate.path_efficiency > r.positive.path_efficiency);
    // Same η, and λmin(Cov) ≤ λmin(C): the slow direction is no faster.
    let (p, s) = (
        r.positive.steps_to_tolerance.unwrap() as f64,
        r.centred_same_rate.steps_to_tolerance.unwrap() as f64,
    );
    assert!(s > 0.5 * p, "same-rate centred {s} vs positive {p}");
}

#[test]
fn zigzag_paths_end_within_the_tolerance_they_report() {
    let cfg = small_zigzag();
    let r = zigzag(&cfg).unwrap();
    let d0 =
        ((cfg.start[0] - cfg.target[0]).powi(2) + (cfg.start[1] - cfg.target[1]).powi(2)).sqrt();
    for run in [&r.positive, &r.centred, &r.centred_same_rate] {
        let steps = run.steps_to_tolerance.unwrap();
        assert_eq!(run.steps(), steps);
        assert_eq!(run.loss.len(), steps + 1);
        let w = run.path[steps];
        let d = ((w[0] - cfg.target[0]).powi(2) + (w[1] - cfg.target[1]).powi(2)).sqrt();
        assert!(d <= cfg.tolerance * d0);
        assert!(run.path_efficiency > 0.0 && run.path_efficiency <= 1.0);
    }
}

#[test]
fn zigzag_contours_lie_on_their_level() {
    let cfg = small_zigzag();
    let r = zigzag(&cfg).unwrap();
    for run in [&r.positive, &r.centred] {
        for p in run.contour(cfg.target, 0.3, 16) {
            assert!((run.loss_at(p, cfg.target) - 0.3).abs() < 1e-12);
        }
    }
}

#[test]
fn zigzag_is_reproducible_bit_for_bit() {
    let cfg = small_zigzag();
    assert_eq!(zigzag(&cfg).unwrap(), zigzag(&cfg).unwrap());
}

#[test]
fn zigzag_sweep_reports_every_scale() {
    let cfg = small_zigzag();
    let r = zigzag(&cfg).unwrap();
    let scales: Vec<f64> = r.sweep.iter().map(|s| s.step_scale).collect();
    assert_eq!(scales, cfg.sweep);
    // Over several example orders too, the small step scale favours centring
    // (the rates 1 − c·λmin/tr C differ several-fold).
    assert!(
        2 * r.sweep[0].centred < r.sweep[0].positive,
        "{:?}",
        r.sweep[0]
    );
}

#[test]
fn zigzag_rejects_a_start_at_the_target() {
    let cfg = ZigzagConfig {
        start: [1.0, -0.5],
        target: [1.0, -0.5],
        ..small_zigzag()
    };
    assert!(zigzag(&cfg).is_err());
    assert!(
        zigzag(&ZigzagConfig {
            examples: 1,
            ..small_zigzag()
        })
        .is_err()
    );
}

// ---------------------------------------------------------------- 04

use gradsign::Tape;
use gradsign::data::Playground;
use gradsign::experiments::sigmoid_vs_tanh::{
    Coding, ComparisonConfig, Hidden, Output, Run, Setting, Tally, TrainingConfig, compare,
    median_epochs, run_all, train_run,
};
use gradsign::nn::{Init, Linear};
use gradsign::{Tensor, Var};

fn values(h: Hidden, xs: &[f64]) -> Vec<f64> {
    let tape = Tape::<f64>::new();
    let x = tape.constant_from_slice(xs, &[xs.len()]).unwrap();
    h.apply(x).unwrap().value().into_vec()
}

const GRID: [f64; 7] = [-6.0, -2.0, -0.5, 0.0, 0.25, 1.5, 5.0];

#[test]
fn tanh_is_a_centred_steeper_taller_sigmoid() {
    // tanh x = 2σ(2x) − 1, and 1 + tanh x = 2σ(2x).
    let t = values(Hidden::Tanh, &GRID);
    let s = values(Hidden::ShiftedTanh, &GRID);
    for ((x, a), b) in GRID.iter().zip(&t).zip(&s) {
        let sigma = 1.0 / (1.0 + (-2.0 * x).exp());
        assert!((a - (2.0 * sigma - 1.0)).abs() < 1e-15, "x = {x}");
        assert!((b - 2.0 * sigma).abs() < 1e-15, "x = {x}");
    }
}

#[test]
fn each_unit_and_its_twin_differ_by_a_constant() {
    for h in Hidden::ALL {
        let Some(twin) = h.twin() else { continue };
        assert_eq!(twin.twin(), Some(h));
        assert_eq!(h.slope_at_zero(), twin.slope_at_zero());
        assert_ne!(h.is_centred(), twin.is_centred());
        let (a, b) = (values(h, &GRID), values(twin, &GRID));
        let shift = a[0] - b[0];
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y - shift).abs() < 1e-15, "{h:?}");
        }
    }
}

#[test]
fn centred_units_are_odd_and_slopes_match_the_tape() {
    for h in Hidden::ALL {
        let v = values(h, &[-0.7, 0.0, 0.7]);
        assert_eq!(
            h.is_centred(),
            v[1] == 0.0 && (v[0] + v[2]).abs() < 1e-15,
            "{h:?}"
        );
        let tape = Tape::<f64>::new();
        // ReLU's slope is the one for x > 0, so probe just right of 0.
        let x = tape.var_scalar(if h == Hidden::Relu { 1e-9 } else { 0.0 });
        let g = h.apply(x).unwrap().backward().unwrap();
        assert!(
            (g.get(x).unwrap()[0] - h.slope_at_zero()).abs() < 1e-15,
            "{h:?}"
        );
    }
}

/// Records `layer1(f(layer0(x)))` with the hidden unit `h`.
fn two_layers<'t>(
    tape: &'t Tape<f64>,
    l0: &Linear<f64>,
    l1: &Linear<f64>,
    h: Hidden,
    x: Var<'t, f64>,
) -> Vec<f64> {
    let (z, _) = l0.forward(tape, x).unwrap();
    let (y, _) = l1.forward(tape, h.apply(z).unwrap()).unwrap();
    y.value().into_vec()
}

#[test]
fn a_centred_twin_network_computes_the_same_function_after_a_bias_shift() {
    // W(σ − ½) + b' = Wσ + b when b' = b + ½·W·1.
    let l0 = Linear::<f64>::init(2, 4, Init::GlorotUniform, true, 3).unwrap();
    let l1 = Linear::<f64>::init(4, 1, Init::GlorotUniform, true, 4).unwrap();
    let mut shifted = l1.clone();
    let half_row_sum: f64 = 0.5 * l1.weight.as_slice().iter().sum::<f64>();
    shifted.bias.as_mut().unwrap().as_mut_slice()[0] += half_row_sum;
    let tape = Tape::new();
    let x = tape.constant(&Tensor::rand_uniform(&[5, 2], -6.0, 6.0, 9).unwrap());
    let a = two_layers(&tape, &l0, &l1, Hidden::Sigmoid, x);
    let b = two_layers(&tape, &l0, &shifted, Hidden::CentredSigmoid, x);
    for (p, q) in a.iter().zip(&b) {
        assert!((p - q).abs() < 1e-14);
    }
}

fn small_training() -> TrainingConfig {
    TrainingConfig {
        samples: 80,
        hidden_sizes: vec![4],
        epochs: 20,
        seeds: vec![1, 2],
        ..TrainingConfig::default()
    }
}

#[test]
fn a_training_run_is_reproducible_and_independent_of_threads() {
    let jobs = [
        (Playground::Gauss, Setting::playground(Hidden::Tanh)),
        (Playground::Xor, Setting::playground(Hidden::Sigmoid)),
    ];
    let one = TrainingConfig {
        threads: 1,
        ..small_training()
    };
    let two = TrainingConfig {
        threads: 2,
        ..small_training()
    };
    let a = run_all(&jobs, &one).unwrap();
    assert_eq!(a, run_all(&jobs, &two).unwrap());
    assert_eq!(a.len(), 4); // 2 jobs × 2 seeds, in job order
    assert_eq!(
        (a[0].dataset, a[0].seed, a[1].seed),
        (Playground::Gauss, 1, 2)
    );
}

#[test]
fn tanh_learns_two_separated_gaussians() {
    // Gauss is linearly separable (means ±(2, 2), variance ½): a tanh
    // network in the playground's setting fits it in a few epochs.
    let r = train_run(
        Playground::Gauss,
        &Setting::playground(Hidden::Tanh),
        &small_training(),
        1,
    )
    .unwrap();
    assert_eq!(r.losses.len(), 21);
    assert!(
        r.epochs_to_threshold.is_some_and(|e| e <= 20),
        "{:?}",
        r.losses
    );
    assert_eq!(r.test_accuracy, 1.0);
    assert!(!r.diverged);
}

#[test]
fn layers_after_uncentred_units_have_one_signed_rows_and_after_tanh_not() {
    let run = |h| {
        train_run(
            Playground::Xor,
            &Setting::playground(h),
            &small_training(),
            2,
        )
        .unwrap()
    };
    // 2σ(x) ∈ (0, 2) feeds the output layer strictly positive inputs: every
    // per-example row is one-signed (the theorem, checked by the analyzer).
    assert_eq!(run(Hidden::TwiceSigmoid).coherence[1], 1.0);
    // Its centred twin tanh(x/2) feeds inputs of both signs.
    assert!(run(Hidden::HalfTanh).coherence[1] < 1.0);
}

#[test]
fn too_large_a_learning_rate_diverges_without_an_error() {
    // A linear output and a huge step: each step multiplies the error.
    let setting = Setting {
        learning_rate: 1e3,
        output: Output::Linear,
        ..Setting::playground(Hidden::Tanh)
    };
    let r = train_run(Playground::Xor, &setting, &small_training(), 1).unwrap();
    assert!(r.diverged && r.epochs_to_threshold.is_none());
    assert!(r.losses.iter().all(|l| l.is_finite()));
}

#[test]
fn median_epochs_counts_a_missed_threshold_as_slowest() {
    let run = |e: Option<usize>| Run {
        dataset: Playground::Gauss,
        setting: Setting::playground(Hidden::Tanh),
        seed: 0,
        losses: vec![1.0],
        epochs_to_threshold: e,
        test_accuracy: 1.0,
        diverged: false,
        coherence: Vec::new(),
    };
    let (a, b, c) = (run(Some(3)), run(None), run(Some(9)));
    assert_eq!(median_epochs(&[&a, &b, &c]), Some(9)); // 3, 9, never
    assert_eq!(median_epochs(&[&a, &b, &b]), None);
}

#[test]
fn a_tally_counts_changes_and_their_geometric_mean() {
    let mut t = Tally::default();
    t.add(Some(10), Some(5));
    t.add(Some(4), Some(8));
    t.add(None, Some(3));
    t.add(None, None);
    t.add(Some(2), Some(2));
    assert_eq!((t.faster, t.slower, t.same, t.undecided), (2, 1, 1, 1));
    // (½ · 2 · 1)^(1/3) = 1
    assert!((t.mean_ratio().unwrap() - 1.0).abs() < 1e-15);
}

#[test]
fn the_comparison_fills_every_table() {
    let config = ComparisonConfig {
        training: small_training(),
        datasets: vec![Playground::Gauss, Playground::Xor],
        units: vec![Hidden::Sigmoid, Hidden::CentredSigmoid, Hidden::Tanh],
        learning_rates: vec![0.1, 1.0],
        tuned_units: vec![Hidden::Sigmoid, Hidden::CentredSigmoid],
        coding_units: vec![Hidden::Tanh],
        quick_seeds: vec![1],
    };
    let c = compare(&config).unwrap();
    assert_eq!(c.playground.len(), 2 * 3);
    assert_eq!(c.runs.len(), 2 * 3 * 2);
    let learned = config
        .datasets
        .iter()
        .filter(|&&d| {
            c.playground
                .iter()
                .any(|p| p.dataset == d && p.median_epochs.is_some())
        })
        .count();
    assert_eq!(c.tuned.len(), learned * 2);
    assert_eq!(c.coding.len(), learned * 3);
    // Gauss is learned by tanh (see above), so the quick tables cover it.
    assert!(c.tuned_cell(Playground::Gauss, Hidden::Sigmoid).is_some());
    assert!(
        c.coding_cell(Playground::Gauss, Hidden::Tanh, Coding::ZeroOne)
            .is_some()
    );
    // One σ/σ − ½ pair per data set.
    assert_eq!(c.centring().total(), 2);
    for cell in &c.playground {
        assert_eq!(cell.median_curve.len(), config.training.epochs + 1);
    }
}

// ---------------------------------------------------------------- 05

use gradsign::experiments::conditioning::{ConditioningConfig, conditioning};

fn small_conditioning() -> ConditioningConfig {
    ConditioningConfig {
        widths: vec![2, 6],
        examples: 300,
        flip_width: 6,
        flip_steps: 12,
        ..ConditioningConfig::default()
    }
}

#[test]
fn conditioning_population_kappa_is_three_n_plus_one() {
    let c = conditioning(&small_conditioning()).unwrap();
    for r in &c.rows {
        // I/12 + 11ᵀ/4: eigenvalues 1/12 and (3n + 1)/12.
        let expected = 3.0 * r.width as f64 + 1.0;
        assert!((r.population_kappa - expected).abs() < 1e-9 * expected);
        // The sample's top eigenvector is the mean direction 1/√n.
        assert!(r.raw.top_alignment_with_ones > 0.99);
        assert!(r.centred.condition_number < r.raw.condition_number);
    }
}

#[test]
fn conditioning_gradient_descent_steps_respect_the_kappa_bound() {
    let c = conditioning(&small_conditioning()).unwrap();
    for r in &c.rows {
        let raw = r.raw_steps.unwrap() as f64;
        // Each error component shrinks by at least 1 − 1/κ per step.
        assert!(
            raw <= r.raw_bound,
            "n = {}: {raw} > {}",
            r.width,
            r.raw_bound
        );
        // Centred, κ is near 1: a few steps.
        assert!(r.centred_steps.unwrap() < r.raw_steps.unwrap());
    }
}

#[test]
fn conditioning_error_along_the_top_eigenvector_is_multiplied_by_one_minus_r() {
    let cfg = ConditioningConfig {
        flip_rates: vec![0.5, 1.8],
        ..small_conditioning()
    };
    let c = conditioning(&cfg).unwrap();
    for f in &c.flips {
        // Gradient descent on a quadratic with Hessian H: e ← (I − ηH)e, so
        // the component along an eigenvector of λmax is multiplied by 1 − ηλmax.
        for t in 0..4 {
            let ratio = f.components[t + 1] / f.components[t];
            assert!(
                (ratio - (1.0 - f.rate)).abs() < 1e-9,
                "r = {}: {ratio}",
                f.rate
            );
        }
        let expected_flips = if f.rate > 1.0 { cfg.flip_steps } else { 0 };
        assert_eq!(f.flips, expected_flips);
        assert_eq!(f.components.len(), cfg.flip_steps + 1);
    }
}

#[test]
fn conditioning_rejects_too_few_examples() {
    let cfg = ConditioningConfig {
        examples: 5,
        ..small_conditioning()
    };
    assert!(conditioning(&cfg).is_err());
}

// ---------------------------------------------------------------- 07

use gradsign::experiments::natural_gradient::{NaturalGradientConfig, natural_gradient};

fn small_natural() -> NaturalGradientConfig {
    NaturalGradientConfig {
        examples: 120,
        features: 3,
        gd_steps: 400,
        ng_steps: 8,
        ..NaturalGradientConfig::default()
    }
}

#[test]
fn natural_gradient_is_invariant_to_centring_and_gradient_descent_is_not() {
    let c = natural_gradient(&small_natural()).unwrap();
    let (ng, gd) = (c.invariance_gap(true), c.invariance_gap(false));
    // θ = 0 is the same function on both inputs: every prediction ½.
    assert_eq!((ng[0], gd[0]), (0.0, 0.0));
    // F⁻¹∇L transforms with the parameters, so the predictions agree to rounding.
    assert!(ng.iter().all(|&g| g < 1e-10), "{ng:?}");
    assert!(gd.iter().any(|&g| g > 1e-3));
}

#[test]
fn centring_speeds_up_gradient_descent_and_natural_gradient_needs_neither() {
    let c = natural_gradient(&small_natural()).unwrap();
    assert!(c.gd_centred.fisher_kappa < c.gd_raw.fisher_kappa);
    let steps = |t: &gradsign::experiments::natural_gradient::Trajectory| {
        t.steps_to_tolerance.unwrap_or(usize::MAX)
    };
    assert!(steps(&c.gd_centred) < steps(&c.gd_raw));
    assert!(steps(&c.ng_raw) < steps(&c.gd_centred));
    assert_eq!(steps(&c.ng_raw), steps(&c.ng_centred));
    // Newton's method on a strictly convex loss ends at the minimum.
    assert!((c.ng_raw.losses.last().unwrap() - c.optimum).abs() < 1e-12);
}

#[test]
fn natural_gradient_rejects_too_few_examples() {
    let cfg = NaturalGradientConfig {
        examples: 3,
        ..small_natural()
    };
    assert!(natural_gradient(&cfg).is_err());
}

// ---------------------------------------------------------------- 06

use gradsign::experiments::batch_size::{BatchSizeConfig, batch_size, two_orthant_probability};

#[test]
fn two_orthant_probability_matches_the_closed_form_for_two_components() {
    // For K = 2: P = ½ + arcsin(ρ)/π (Sheppard's formula, both orthants).
    for rho in [0.0, 0.25, 0.5, 0.75, 0.9] {
        let exact = 0.5 + f64::asin(rho) / std::f64::consts::PI;
        assert!(
            (two_orthant_probability(2, rho) - exact).abs() < 1e-9,
            "ρ = {rho}"
        );
    }
    // One component always lies in one of the two half-lines.
    assert!((two_orthant_probability(1, 0.3) - 1.0).abs() < 1e-9);
    // Independent components: 2·2^−K.
    assert!((two_orthant_probability(10, 0.0) - 2f64.powi(-9)).abs() < 1e-12);
}

#[test]
fn batch_size_per_example_rows_of_positive_inputs_are_always_one_signed() {
    let cfg = BatchSizeConfig {
        widths: vec![2, 10],
        batch_sizes: vec![1, 16, 256],
        neurons: 256,
        trials: 4,
        seed: 3,
    };
    let r = batch_size(&cfg).unwrap();
    assert_eq!(r.rows_per_point, 1024);
    for c in &r.curves {
        for p in &c.points {
            assert_eq!(p.positive_per_example, 1.0);
        }
        // B = 1: the batch row is the example's row.
        assert_eq!(c.points[0].positive_batch, 1.0);
        assert_eq!(c.points[0].centred_batch, c.points[0].centred_per_example);
    }
}

#[test]
fn batch_size_coherence_levels_off_at_the_equicorrelated_limit() {
    let cfg = BatchSizeConfig {
        widths: vec![2],
        batch_sizes: vec![256],
        neurons: 256,
        trials: 4,
        seed: 4,
    };
    let r = batch_size(&cfg).unwrap();
    let c = &r.curves[0];
    // 1024 rows: SE = √(0.77·0.23/1024) = 0.013; ±0.066 is 5 SE.
    assert!(
        (c.points[0].positive_batch - c.positive_limit).abs() < 0.066,
        "{:?}",
        c.points[0]
    );
    // Centred, per example: 2^(1−K) = ½. A row's sign pattern depends on its
    // example only, so there are 256·4 = 1024 independent draws: SE = 0.016,
    // and ±0.08 is 5 SE.
    assert!((c.points[0].centred_per_example - 0.5).abs() < 0.08);
}

// ---------------------------------------------------------------- 03

use gradsign::analysis::{Cause, Verdict};
use gradsign::experiments::sign_report::{SignReportConfig, sign_report};

#[test]
fn iris_raw_first_layer_is_diagnosed_one_signed_and_standardised_is_not() {
    let r = sign_report(&SignReportConfig {
        epochs: 3,
        ..SignReportConfig::default()
    })
    .unwrap();
    let raw = &r.raw.report;
    // Every iris measurement is a positive length: the theorem's precondition
    // holds on all 150 examples, and so does its conclusion.
    assert_eq!(raw.layers[0].precondition.strictly_positive_share(), 1.0);
    assert_eq!(raw.layers[0].per_example_coherence(), 1.0);
    assert_eq!(raw.layers[0].theorem.violations, 0);
    assert_eq!(raw.diagnosis.layers[0].verdict, Verdict::AllPositive);
    assert_eq!(raw.diagnosis.layers[0].cause, Some(Cause::NonCentredData));
    let std = &r.standardised.report;
    assert!(std.layers[0].precondition.strictly_positive_share() < 1.0);
    assert!(std.layers[0].per_example_coherence() < 1.0);
    assert_ne!(std.diagnosis.layers[0].verdict, Verdict::AllPositive);
    assert_eq!(r.raw.epoch_losses.len(), 3);
}

// ---------------------------------------------------------------- 08

use gradsign::experiments::foreign::{analyze_foreign, example_matrices};

fn read_shipped(name: &str) -> Tensor<f32> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/data")
        .join(name);
    let bytes = std::fs::read(&path).unwrap();
    let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    Tensor::from_vec(npy.into_vec::<f32>().unwrap(), &shape).unwrap()
}

#[test]
fn the_shipped_npy_files_are_what_example_matrices_makes() {
    // Provenance: the files were written by `08_foreign_gradients --write-data`.
    // Bit for bit on the machine that wrote them; another platform's `exp`
    // may round differently in the last place, which 20 epochs of training
    // can grow to a few ulps, hence a relative 1e-4 rather than equality.
    let (a, d) = example_matrices().unwrap();
    for (made, name) in [(&a, "foreign_A.npy"), (&d, "foreign_delta.npy")] {
        let shipped = read_shipped(name);
        assert_eq!(shipped.dims(), made.dims());
        for (x, y) in shipped.as_slice().iter().zip(made.as_slice()) {
            assert!(
                (x - y).abs() <= 1e-4 * y.abs().max(1e-6),
                "{name}: {x} vs {y}"
            );
        }
    }
    assert_eq!((a.dims(), d.dims()), (&[64, 8][..], &[64, 4][..]));
}

#[test]
fn foreign_sigmoid_inputs_are_diagnosed_one_signed() {
    let r = analyze_foreign(
        &read_shipped("foreign_A.npy"),
        &read_shipped("foreign_delta.npy"),
    )
    .unwrap();
    // Sigmoid outputs are strictly positive: every row of every example is
    // one-signed, and the analyzer finds no violation.
    assert_eq!(r.report.precondition.strictly_positive_share(), 1.0);
    assert_eq!(r.report.per_example_coherence(), 1.0);
    assert_eq!(r.report.theorem.violations, 0);
    assert_eq!(r.diagnosis.layers[0].verdict, Verdict::AllPositive);
    assert!(r.curvature.raw.top_alignment_with_ones > 0.9);
}
