//! 01 — a first gradient, three ways.
//!
//! One sigmoid neuron `a = σ(w·x + b)` with the loss `½(a − y)²` on one
//! example whose inputs are outputs of sigmoid units (positive). Its
//! gradient by hand (the chain rule written out), by the tape, and by
//! central differences, side by side; then the crate's `gradcheck` on the
//! same function. Every weight's derivative is `δ·xᵢ`: with every `xᵢ > 0`
//! they all share the sign of `δ`.
//!
//! ```sh
//! cargo run --release --example 01_first_gradient
//! ```

mod common;

use common::slices::{Slice, draw};
use common::{Res, plot_path, table};
use gradsign::autodiff::{Tape, Var};
use gradsign::gradcheck::{GradcheckConfig, gradcheck};
use gradsign::tensor::Tensor;

const W: [f64; 3] = [0.5, -1.0, 0.3];
const B: f64 = 0.1;
const Y: f64 = 1.0;

fn sigmoid(u: f64) -> f64 {
    1.0 / (1.0 + (-u).exp())
}

/// `L = ½(σ(x·wᵀ + b) − y)²` recorded on a tape: the function gradcheck
/// will differentiate, with `w` (1 × 3) and `b` (1) as its inputs.
fn loss<'t>(
    tape: &'t Tape<f64>,
    x: &[f64],
    w: Var<'t, f64>,
    b: Var<'t, f64>,
) -> gradsign::Result<Var<'t, f64>> {
    let x = tape.constant_from_slice(x, &[1, x.len()])?;
    Ok((x.linear(w, Some(b))?.sigmoid() - Y).square().sum() * 0.5)
}

/// The same loss as a plain function of `[w…, b]`, for finite differences.
fn loss_at(x: &[f64], p: &[f64]) -> f64 {
    let z: f64 = x.iter().zip(p).map(|(x, w)| x * w).sum::<f64>() + p[3];
    0.5 * (sigmoid(z) - Y).powi(2)
}

fn main() -> Res {
    let x = [sigmoid(-1.0), sigmoid(0.5), sigmoid(2.0)];
    println!(
        "x = ({:.3}, {:.3}, {:.3}) (outputs of sigmoid units: all positive)",
        x[0], x[1], x[2]
    );
    println!("w = {W:?}, b = {B}, y = {Y}");

    // Parameters are tensors; `tape.var` puts them on the tape as
    // variables whose gradients `backward` returns.
    let (w0, b0) = (
        Tensor::from_vec(W.to_vec(), &[1, 3])?,
        Tensor::from_vec(vec![B], &[1])?,
    );
    let tape = Tape::<f64>::new();
    let (w, b) = (tape.var(&w0), tape.var(&b0));
    let xs = tape.constant_from_slice(&x, &[1, 3])?;
    let z = xs.linear(w, Some(b))?;
    let a = z.sigmoid();
    let l = (a - Y).square().sum() * 0.5;
    let grads = l.backward()?;
    let (z, a, lv) = (z.item()?, a.item()?, l.item()?);
    println!("z = w·x + b = {z:.4}, a = σ(z) = {a:.4}, L = ½(a − y)² = {lv:.5}");
    // The chain rule by hand: δ = ∂L/∂z = (a − y)·σ'(z), σ' = a(1 − a).
    let delta = (a - Y) * a * (1.0 - a);
    println!("δ = ∂L/∂z = (a − y)·a·(1 − a) = {delta:.6}\n");

    let by_tape: Vec<f64> = grads.get(w)?.iter().chain(grads.get(b)?).copied().collect();
    let mut p: Vec<f64> = W.iter().copied().chain([B]).collect();
    let (h, span) = (1e-6, 1.5);
    let (mut rows, mut slices) = (Vec::new(), Vec::new());
    for i in 0..4 {
        let (name, hand, by_hand) = match i {
            3 => ("b".to_string(), "δ".to_string(), delta),
            _ => (format!("w{i}"), format!("δ·x{i}"), delta * x[i]),
        };
        // Central differences: exact to O(h²), with rounding of order ε·L/h.
        let mut at = |t: f64| {
            let keep = p[i];
            p[i] += t;
            let v = loss_at(&x, &p);
            p[i] = keep;
            v
        };
        let by_diff = (at(h) - at(-h)) / (2.0 * h);
        let curve = (0..121)
            .map(|k| -span + span * k as f64 / 60.0)
            .map(|t| (t, at(t)))
            .collect();
        rows.push(vec![
            name.clone(),
            hand,
            format!("{by_hand:+.9}"),
            format!("{:+.9}", by_tape[i]),
            format!("{by_diff:+.9}"),
            format!("{:.1e}", (by_tape[i] - by_diff).abs()),
        ]);
        slices.push(Slice {
            name,
            curve,
            slope: by_tape[i],
        });
    }
    table(
        "θ|chain rule|by hand|tape|central difference|tape − difference",
        &rows,
    );

    // gradcheck re-runs the function on its own tape and compares every
    // element of the gradient with central differences.
    let report = gradcheck(
        |t, v| loss(t, &x, v[0], v[1]),
        &[w0, b0],
        &GradcheckConfig::default(),
    )?;
    println!("\n{report}");
    let one_signed = by_tape[..3].iter().all(|g| g * delta > 0.0);
    println!(
        "every ∂L/∂wᵢ has the sign of δ: {}",
        if one_signed { "yes" } else { "no" }
    );
    println!("so one plain SGD step on this example moves every weight the same way.");

    let path = plot_path("01_first_gradient.svg")?;
    draw(&path, lv, &slices)?;
    println!("\nplot: {}", path.display());
    Ok(())
}
