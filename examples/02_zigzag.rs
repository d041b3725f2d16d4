//! 02 — the zig-zag (CS231n's picture, measured).
//!
//! One linear neuron with two weights, inputs that are outputs of sigmoid
//! units (so positive), a target `w*` that needs one weight up and the
//! other down, plain per-example SGD. Every update is `−η(e·x)·x`: a
//! multiple of a positive vector, so it points into quadrant I or III around
//! the current point, and the path staircases. The same data centred goes
//! straight.
//!
//! ```sh
//! cargo run --release --example 02_zigzag
//! ```

mod common;

use common::zigzag::{Run, draw, median_cell, panel, summary_row};
use common::{Res, plot_path, table};
use gradsign::autodiff::Tape;
use gradsign::curvature::spectrum::{Spectrum, second_moment};
use gradsign::data::Centering;
use gradsign::dynamics::TrajectoryRecorder;
use gradsign::nn::Linear;
use gradsign::optim::{Optimizer, Sgd};
use gradsign::tensor::Tensor;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const EXAMPLES: usize = 256;
const START: [f64; 2] = [-0.5, 1.0];
const TARGET: [f64; 2] = [1.0, -0.5]; // y = w*·x: realisable, SGD ends at w*
const TOLERANCE: f64 = 0.01; // stop at ‖w − w*‖ ≤ 1 % of ‖w₀ − w*‖
const MAX_STEPS: usize = 5000;
const SEED: u64 = 7;

/// Plain per-example SGD on `½(w·x − y)²`, one example per step drawn in
/// the order `order` (the same order for every kind of input).
fn sgd(x: &Tensor<f64>, eta: f64, order: u64) -> gradsign::Result<Run> {
    let y: Vec<f64> = x
        .as_slice()
        .chunks_exact(2)
        .map(|r| TARGET[0] * r[0] + TARGET[1] * r[1])
        .collect();
    // One linear neuron without bias: a dense layer is a module on its own.
    let mut neuron = Linear::new(Tensor::from_vec(START.to_vec(), &[1, 2])?, None)?;
    let mut opt = Sgd::new(eta);
    // The recorder sees each new weight row and classifies the update's orthant.
    let mut recorder = TrajectoryRecorder::new(1, 2, false)?;
    recorder.observe(&neuron.weight, None, None)?;
    let mut rng = ChaCha8Rng::seed_from_u64((SEED ^ 0x005e_ed0f_0de5).wrapping_add(order));
    let mut tape = Tape::<f64>::new();
    let mut path = vec![START];
    let done = |p: &[[f64; 2]]| {
        let d = |w: [f64; 2]| (w[0] - TARGET[0]).hypot(w[1] - TARGET[1]);
        d(p[p.len() - 1]) <= TOLERANCE * d(START)
    };
    while !done(&path) && path.len() <= MAX_STEPS {
        let i = rng.random_range(0..y.len());
        tape.clear(); // one tape, reused: its buffers stay allocated
        let xi = tape.constant_from_slice(&x.as_slice()[2 * i..2 * i + 2], &[1, 2])?;
        let (out, trace) = gradsign::nn::forward(&neuron, &tape, xi)?;
        let loss = (out.sum() - tape.constant_scalar(y[i])).square() * 0.5;
        let grads = loss.backward()?;
        // δ = ∂L/∂z, the error signal the weight gradient is δ·xᵀ of.
        let delta = grads.tensor(trace.layers()[0].pre_activation)?;
        opt.step(&mut neuron, &trace, &grads)?;
        if !neuron.weight.all_finite() {
            break; // diverged: it will not come back
        }
        recorder.observe(&neuron.weight, None, Some(&delta))?;
        path.push([neuron.weight.as_slice()[0], neuron.weight.as_slice()[1]]);
    }
    let kappa = Spectrum::of(&second_moment(x, false)?)?.condition_number();
    let steps = done(&path).then_some(path.len() - 1);
    Ok(Run {
        eta,
        kappa,
        path,
        steps,
        t: recorder.neuron(0),
    })
}

/// `η = c / mean‖x‖²`: `mean‖x‖² = tr E[xxᵀ] ≥ λmax`, so `η·λmax ≤ c` for any data.
fn rate(x: &Tensor<f64>, c: f64) -> gradsign::Result<f64> {
    let m = second_moment(x, false)?;
    Ok(c / (m.as_slice()[0] + m.as_slice()[3]))
}

fn main() -> Res {
    // x = σ(u), u ~ N(0, 1): every component in (0, 1), mean near ½.
    let positive = Tensor::<f64>::rand_normal(&[EXAMPLES, 2], 0.0, 1.0, SEED)?
        .map(|u| 1.0 / (1.0 + (-u).exp()));
    let centring = Centering::fit(&positive)?;
    let centred = centring.transform(&positive)?;
    let mean = centring.mean();
    let (m0, m1) = (mean[0], mean[1]);
    println!(
        "One neuron, two weights, {EXAMPLES} examples x = σ(u), u ~ N(0, 1²); mean input ({m0:.3}, {m1:.3})."
    );
    println!(
        "From w₀ = {START:?} to w* = {TARGET:?} by plain per-example SGD, η = 0.25 / mean‖x‖².\n"
    );
    let eta = rate(&positive, 0.25)?;
    let runs = [
        ("positive σ(u)", sgd(&positive, eta, 0)?),
        ("centred x − mean", sgd(&centred, rate(&centred, 0.25)?, 0)?),
        // The control: centred data at the positive data's step size.
        ("centred, positive's η", sgd(&centred, eta, 0)?),
    ];
    let rows: Vec<Vec<String>> = runs.iter().map(|(n, r)| summary_row(n, r)).collect();
    table(
        "inputs|η|κ(E[xxᵀ])|steps to 1%|path efficiency|updates in I/III|mean cos(uₜ, uₜ₊₁)",
        &rows,
    );

    // One example order is one noisy sample: the sweep reports a median.
    println!(
        "\nSteps to 1% against the step scale c (η = c / mean‖x‖², median of 11 example orders):\n"
    );
    let median_steps = |x: &Tensor<f64>, c: f64| -> gradsign::Result<String> {
        let steps = (0..11).map(|o| Ok(sgd(x, rate(x, c)?, o)?.steps));
        Ok(median_cell(
            steps.collect::<gradsign::Result<_>>()?,
            MAX_STEPS,
        ))
    };
    let mut sweep = Vec::new();
    for c in [0.25, 0.5, 1.0, 1.5, 2.0] {
        sweep.push(vec![
            format!("{c}"),
            median_steps(&positive, c)?,
            median_steps(&centred, c)?,
        ]);
    }
    table("c|positive|centred", &sweep);
    println!(
        "\nWith positive inputs every update lies in quadrant I or III; w* − w₀ points into IV.\n\
         At one fixed η, centring straightens the path but does not shorten it: the speed comes\n\
         from the larger step that centred data (no large eigenvalue along the mean) allows."
    );

    // Each panel's contours are those of its data's E[xxᵀ].
    let mut panels = Vec::new();
    for ((name, r), x) in runs.iter().zip([&positive, &centred]) {
        panels.push(panel(name, r, second_moment(x, false)?));
    }
    let path = plot_path("02_zigzag.svg")?;
    draw(&path, START, TARGET, &panels)?;
    println!("\nplot: {}", path.display());
    Ok(())
}
