//! 12 — which fix fixes what: one network (2-16-16-1, sigmoid), one task
//! (the playground's spiral shifted to positive coordinates, one-signed
//! like raw pixels), one seed and budget, and each usual remedy for
//! one-signed inputs switched on alone. Per variant: each dense layer's
//! share of one-signed gradient rows at initialisation (per example / per
//! batch, from the analyzer) and the condition numbers of its inputs'
//! `E[aaᵀ]` and `Cov(a)`, epochs to a target loss, held-out accuracy,
//! wall time. Natural gradient runs full-batch on the same network (337
//! parameters, so its 337×337 Fisher is cheap to form and solve: this is
//! the small version of the task on which it is affordable); its budget is
//! counted in steps, each one pass over the training set. It shows this
//! task, seed and budget only.
//!
//! ```sh
//! cargo run --release --example 12_which_fix
//! ```

mod common;

use common::which_fix::{self, Curve, LayerAtInit, Placement::*};
use common::{Res, plot_path, table};
use gradsign::Var;
use gradsign::activation::Activation::{Sigmoid, Tanh};
use gradsign::data::Dataset;
use gradsign::nn::Sequential;
use gradsign::optim::{Adam, Optimizer, Sgd};
use gradsign::train::{Batch, TrainConfig, train};

const TARGET: f64 = 0.05;
const EPOCHS: usize = 3000;
/// Natural gradient: η, the damping λ, the steps. With λ = 10⁻³ the
/// steps are large along the Fisher's small eigenvalues: η = 1 diverged to
/// a saturated network or not depending on the matrix kernel's rounding,
/// while η from 0.4 to 0.5 reaches the target either way.
const NATURAL: (f64, f64, usize) = (0.45, 1e-3, 300);

/// The mean squared error of a batch.
fn mse<'t>(out: Var<'t, f64>, b: &Batch<'_, f64>) -> gradsign::Result<Var<'t, f64>> {
    (out - b.targets_on(out.tape())?).square().mean()
}

/// How a variant trains.
enum Method {
    Sgd,
    Adam,
    Natural,
}

/// One variant: its measurements at initialisation, its training curve,
/// then the epoch reaching `TARGET`, accuracy and wall time as cells.
fn run(
    name: &str,
    mut net: Sequential<f64>,
    method: &Method,
    (train_set, test): (&Dataset<f64>, &Dataset<f64>),
) -> Res<(Curve, Vec<String>)> {
    let layers = which_fix::at_init(&net, train_set)?;
    let started = std::time::Instant::now();
    let losses = match method {
        Method::Natural => which_fix::natural_gradient(&mut net, train_set, NATURAL)?,
        Method::Sgd => fit(&mut net, Sgd::new(0.5), train_set)?,
        Method::Adam => fit(&mut net, Adam::new(0.01), train_set)?,
    };
    let secs = started.elapsed().as_secs_f64();
    let reached = losses.iter().position(|&l| l <= TARGET);
    let accuracy = which_fix::accuracy(&mut net, test)?;
    let cells = vec![
        reached.map_or_else(|| "—".into(), |e| (e + 1).to_string()),
        common::pct(accuracy),
        format!("{secs:.1} s"),
    ];
    let name = name.to_string();
    Ok((
        Curve {
            name,
            losses,
            layers,
        },
        cells,
    ))
}

/// `EPOCHS` epochs of minibatch training: the mean loss of each.
fn fit<O: Optimizer<f64>>(
    net: &mut Sequential<f64>,
    mut opt: O,
    data: &Dataset<f64>,
) -> Res<Vec<f64>> {
    let mut config = TrainConfig::default();
    (config.epochs, config.batch_size, config.seed) = (EPOCHS, 25, 3);
    Ok(train(net, &mut opt, data, &config, mse, &mut |_| {})?.epoch_losses)
}

fn main() -> Res {
    let ((train_set, test), (train_std, test_std)) = which_fix::spiral()?;
    let (raw, std) = ((&train_set, &test), (&train_std, &test_std));
    use Method::{Adam as A, Natural as N, Sgd as S};
    #[rustfmt::skip]
    let variants = [
        ("none (sigmoid, raw inputs)", Sigmoid, Plain, raw, S),
        ("standardised inputs", Sigmoid, Plain, std, S),
        ("tanh", Tanh, Plain, raw, S),
        ("BatchNorm before sigmoid", Sigmoid, BnBefore, raw, S),
        ("BatchNorm after sigmoid", Sigmoid, BnAfter, raw, S),
        ("LayerNorm after sigmoid", Sigmoid, LnAfter, raw, S),
        ("weight norm + mean-only BN", Sigmoid, WnMob, raw, S),
        ("Adam instead of SGD", Sigmoid, Plain, raw, A),
        ("natural gradient, full batch", Sigmoid, Plain, raw, N),
    ];
    let (eta, damping, steps) = NATURAL;
    let params = which_fix::parameters(&which_fix::network(Sigmoid, Plain)?)?;
    println!(
        "Spiral, {} training / {} held-out points, 2-16-16-1 ({params} parameters), MSE on 0/1 \
         targets.\nSGD η = 0.5, Adam η = 0.01, batch 25, {EPOCHS} epochs; natural gradient \
         η = {eta}, λ = {damping:e}, full batch, {steps} steps. Target loss {TARGET}.\n\
         Measured at initialisation on 64 training examples: coherence (share of one-signed \
         gradient rows of dense layer l, per example / per batch) and κ of its inputs.\n",
        train_set.len(),
        test.len()
    );
    let (mut curves, mut rows, mut kappas) = (Vec::new(), Vec::new(), Vec::new());
    for (name, act, placement, data, method) in variants {
        let (curve, cells) = run(name, which_fix::network(act, placement)?, &method, data)?;
        let cell = |f: &dyn Fn(&LayerAtInit) -> String| {
            let layers = curve.layers.iter().map(f);
            std::iter::once(name.to_string())
                .chain(layers)
                .collect::<Vec<_>>()
        };
        let mut row = cell(&|l| format!("{:.2} / {:.2}", l.per_example, l.batch));
        row.extend(cells);
        rows.push(row);
        let kappa = |l: &LayerAtInit| (l.kappa_moment, l.kappa_cov, l.spike);
        kappas.push(cell(&|l| {
            let (m, c, s) = kappa(l);
            format!("{m:.1e} / {c:.1e} · {s:.0}")
        }));
        curves.push(curve);
    }
    table(
        "variant|layer 0|layer 1|layer 2|epochs to target|accuracy|time",
        &rows,
    );
    println!(
        "\nEach dense layer's inputs at initialisation: κ(E[aaᵀ]) / κ(Cov(a)) · the mean spike \
         λmax(E[aaᵀ])/λmax(Cov(a)).\nThe hidden layers' 16 inputs are functions of 2 coordinates, \
         nearly rank-deficient on 64 examples: their κ is set by λmin ≈ 0 (LayerNorm's outputs \
         sum to 0, so its E[aaᵀ] is singular), while the spike is what centring removes.\n"
    );
    table("variant|layer 0|layer 1|layer 2", &kappas);
    println!(
        "\nEpochs: mean minibatch loss over the epoch (natural gradient: the full-batch loss \
         after the step)."
    );
    let path = plot_path("12_which_fix.svg")?;
    which_fix::draw(&path, &curves, TARGET)?;
    println!("plot: {}", path.display());
    Ok(())
}
