//! Example 04's tests (run by `cargo test`: the example has `test = true`):
//! the units' identities, the twin networks' equality, one training run and
//! the grid of runs, at small sizes.

use super::*;
use common::sigmoid_vs_tanh::comparison::Tally;
use common::sigmoid_vs_tanh::{Coding, median_epochs, run_all};
use gradsign::nn::{Init, Linear};

fn values(h: Hidden, xs: &[f64]) -> Vec<f64> {
    let tape = Tape::<f64>::new();
    let x = tape.constant_from_slice(xs, &[xs.len()]).unwrap();
    gradsign::nn::forward(&h, &tape, x)
        .unwrap()
        .0
        .value()
        .into_vec()
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
        let (y, _) = gradsign::nn::forward(&h, &tape, x).unwrap();
        let g = y.backward().unwrap();
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
    let (z, _) = gradsign::nn::forward(l0, tape, x).unwrap();
    let (a, _) = gradsign::nn::forward(&h, tape, z).unwrap();
    let (y, _) = gradsign::nn::forward(l1, tape, a).unwrap();
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
    let a = run_all(&jobs, &one, train_run).unwrap();
    assert_eq!(a, run_all(&jobs, &two, train_run).unwrap());
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
    let c = compare(&config, train_run).unwrap();
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
