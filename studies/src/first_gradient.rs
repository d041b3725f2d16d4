//! Example 01: one gradient three ways — by hand, by the tape, by finite
//! differences — for one sigmoid neuron whose inputs are positive.

use gradsign::autodiff::{Tape, Var};
use gradsign::error::{Error, Result};
use gradsign::gradcheck::{GradcheckConfig, GradcheckReport, gradcheck};
use gradsign::tensor::Tensor;

/// One neuron `a = σ(w·x + b)` with the loss `L = ½(a − y)²` on one
/// example.
#[derive(Clone, Debug, PartialEq)]
pub struct Neuron {
    /// The example's inputs `x` (here: outputs of sigmoid units below, so
    /// every one is positive).
    pub inputs: Vec<f64>,
    /// The weights `w`, one per input.
    pub weights: Vec<f64>,
    /// The bias `b`.
    pub bias: f64,
    /// The target `y`.
    pub target: f64,
}

impl Default for Neuron {
    /// Inputs `σ(−1), σ(½), σ(2)` ≈ `0.269, 0.622, 0.881`; weights
    /// `(0.5, −1, 0.3)`; bias `0.1`; target `1`.
    fn default() -> Self {
        let sigmoid = |u: f64| 1.0 / (1.0 + (-u).exp());
        Neuron {
            inputs: vec![sigmoid(-1.0), sigmoid(0.5), sigmoid(2.0)],
            weights: vec![0.5, -1.0, 0.3],
            bias: 0.1,
            target: 1.0,
        }
    }
}

/// One parameter's derivative, computed three ways.
#[derive(Clone, Debug, PartialEq)]
pub struct GradientRow {
    /// The parameter (`w0`, `w1`, …, `b`).
    pub name: String,
    /// `∂L/∂θ` from the chain rule written out: `δ·xᵢ` for a weight, `δ`
    /// for the bias.
    pub by_hand: f64,
    /// `∂L/∂θ` from the tape's backward sweep.
    pub by_tape: f64,
    /// The central difference `(L(θ + h) − L(θ − h)) / 2h`.
    pub by_differences: f64,
}

/// The loss along one parameter, `t ↦ L(θ + t·eᵢ)`, with the tangent the
/// tape's derivative predicts.
#[derive(Clone, Debug, PartialEq)]
pub struct LossSlice {
    /// The parameter moved.
    pub name: String,
    /// `(t, L(θ + t·eᵢ))` for `t` evenly spaced in `[−span, span]`.
    pub curve: Vec<(f64, f64)>,
    /// The loss at `t = 0`.
    pub value: f64,
    /// The tape's `∂L/∂θᵢ`: the slope of the tangent at `t = 0`.
    pub slope: f64,
}

/// What example 01 computes.
#[derive(Clone, Debug, PartialEq)]
pub struct FirstGradient {
    /// The problem.
    pub neuron: Neuron,
    /// The pre-activation `z = w·x + b`.
    pub pre_activation: f64,
    /// The output `a = σ(z)`.
    pub output: f64,
    /// The loss `½(a − y)²`.
    pub loss: f64,
    /// `δ = ∂L/∂z = (a − y)·a·(1 − a)`.
    pub delta: f64,
    /// One row per weight, then the bias.
    pub rows: Vec<GradientRow>,
    /// The crate's [`gradcheck`] of the same function.
    pub gradcheck: GradcheckReport,
    /// The loss along each parameter, for the plot.
    pub slices: Vec<LossSlice>,
}

impl FirstGradient {
    /// Whether every weight's derivative has the sign of `δ` (strictly): the
    /// claim for one example with positive inputs.
    pub fn weight_gradient_is_one_signed(&self) -> bool {
        let n = self.neuron.weights.len();
        self.rows[..n].iter().all(|r| r.by_tape * self.delta > 0.0)
    }
}

/// The step of the central differences.
const STEP: f64 = 1e-6;

/// `½(σ(w·x + b) − y)²` on the tape, from `w` (1 × n) and `b` (1).
fn loss_on_tape<'t>(
    tape: &'t Tape<f64>,
    neuron: &Neuron,
    w: Var<'t, f64>,
    b: Var<'t, f64>,
) -> Result<Var<'t, f64>> {
    let n = neuron.inputs.len();
    let x = tape.constant_from_slice(&neuron.inputs, &[1, n])?;
    let a = x.linear(w, Some(b))?.sigmoid();
    Ok((a - neuron.target).square().sum() * 0.5)
}

/// The loss as a plain function of the parameters `[w…, b]`.
fn loss_at(neuron: &Neuron, params: &[f64]) -> f64 {
    let n = neuron.inputs.len();
    let z: f64 = params[..n]
        .iter()
        .zip(&neuron.inputs)
        .map(|(w, x)| w * x)
        .sum::<f64>()
        + params[n];
    let a = 1.0 / (1.0 + (-z).exp());
    0.5 * (a - neuron.target) * (a - neuron.target)
}

/// Computes the gradient of `L = ½(σ(w·x + b) − y)²` by hand, by the tape
/// and by central differences, runs [`gradcheck`] on it, and samples the
/// loss along each parameter over `[−span, span]` at `points` points.
///
/// By hand: `δ = ∂L/∂z = (a − y)·σ'(z) = (a − y)·a·(1 − a)`, then
/// `∂L/∂wᵢ = δ·xᵢ` and `∂L/∂b = δ`. With every `xᵢ > 0`, every `∂L/∂wᵢ`
/// has the sign of `δ`.
///
/// ```
/// use gradsign_studies::first_gradient::{first_gradient, Neuron};
/// let r = first_gradient(&Neuron::default(), 1.0, 5)?;
/// assert!(r.gradcheck.passed());
/// assert!(r.weight_gradient_is_one_signed());
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidArgument`] if the neuron has no input, the weights and
/// inputs differ in number, a value is not finite, or `points < 2`.
pub fn first_gradient(neuron: &Neuron, span: f64, points: usize) -> Result<FirstGradient> {
    let n = neuron.inputs.len();
    let finite = neuron
        .inputs
        .iter()
        .chain(&neuron.weights)
        .chain([&neuron.bias, &neuron.target, &span])
        .all(|v| v.is_finite());
    if n == 0 || neuron.weights.len() != n || !finite || points < 2 {
        return Err(Error::InvalidArgument {
            op: "first_gradient",
            message: format!(
                "needs as many weights as inputs (≥ 1), finite values and ≥ 2 points; got {n} inputs, {} weights, {points} points",
                neuron.weights.len()
            ),
        });
    }
    let w0 = Tensor::from_vec(neuron.weights.clone(), &[1, n])?;
    let b0 = Tensor::from_vec(vec![neuron.bias], &[1])?;

    let tape = Tape::<f64>::new();
    let (w, b) = (tape.var(&w0), tape.var(&b0));
    let x = tape.constant_from_slice(&neuron.inputs, &[1, n])?;
    let z = x.linear(w, Some(b))?;
    let a = z.sigmoid();
    let loss = (a - neuron.target).square().sum() * 0.5;
    let grads = loss.backward()?;
    let (z, a, l) = (z.item()?, a.item()?, loss.item()?);
    let delta = (a - neuron.target) * a * (1.0 - a);

    let mut params: Vec<f64> = neuron
        .weights
        .iter()
        .copied()
        .chain([neuron.bias])
        .collect();
    let tape_grads: Vec<f64> = grads.get(w)?.iter().chain(grads.get(b)?).copied().collect();
    let mut rows = Vec::with_capacity(n + 1);
    let mut slices = Vec::with_capacity(n + 1);
    for i in 0..=n {
        let name = if i < n { format!("w{i}") } else { "b".into() };
        let by_hand = if i < n {
            delta * neuron.inputs[i]
        } else {
            delta
        };
        let p = params[i];
        params[i] = p + STEP;
        let plus = loss_at(neuron, &params);
        params[i] = p - STEP;
        let minus = loss_at(neuron, &params);
        let curve = (0..points)
            .map(|k| {
                let t = -span + 2.0 * span * k as f64 / (points - 1) as f64;
                params[i] = p + t;
                (t, loss_at(neuron, &params))
            })
            .collect();
        params[i] = p;
        rows.push(GradientRow {
            name: name.clone(),
            by_hand,
            by_tape: tape_grads[i],
            by_differences: (plus - minus) / (2.0 * STEP),
        });
        slices.push(LossSlice {
            name,
            curve,
            value: l,
            slope: tape_grads[i],
        });
    }
    let report = gradcheck(
        |tape, v| loss_on_tape(tape, neuron, v[0], v[1]),
        &[w0, b0],
        &GradcheckConfig::default(),
    )?;
    Ok(FirstGradient {
        neuron: neuron.clone(),
        pre_activation: z,
        output: a,
        loss: l,
        delta,
        rows,
        gradcheck: report,
        slices,
    })
}
