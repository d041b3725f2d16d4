//! Small MLPs built by hand from `Var::linear` and activations, per-example
//! losses, and the brute-force reference: each example's weight gradient from
//! its own backward pass.

// Each test crate uses a subset of these helpers.
#![allow(dead_code)]

use gradsign::activation::{Activation, OutputSign};
use gradsign::{Tape, Tensor, Var};
use proptest::prelude::*;

/// Per-example losses `ℓ_n`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Loss {
    /// `Σ_j (out_nj − t_nj)²`.
    SquaredError,
    /// `log Σ_j e^{out_nj} − out_{n,label}` (labels from the targets' argmax).
    CrossEntropy,
    /// `Σ_j t_nj·out_nj³`: a loss whose `δ` changes sign with `out`.
    Cubic,
}

/// A dense network: `sizes[0]` inputs, then one layer per further size.
#[derive(Clone, Debug)]
pub struct Net {
    pub sizes: Vec<usize>,
    pub acts: Vec<Activation>,
    /// Per layer: weight (out × in, row-major) and bias.
    pub params: Vec<(Vec<f64>, Vec<f64>)>,
    pub loss: Loss,
    /// `B × out` targets in [−1, 1].
    pub targets: Vec<f64>,
}

/// One recorded layer.
#[derive(Clone, Copy)]
pub struct LayerVars<'t> {
    pub input: Var<'t, f64>,
    pub z: Var<'t, f64>,
    pub w: Var<'t, f64>,
    pub b: Var<'t, f64>,
}

/// A forward pass: every layer and the per-example loss vector (B).
pub struct Recorded<'t> {
    pub layers: Vec<LayerVars<'t>>,
    pub losses: Var<'t, f64>,
}

pub fn forward<'t>(tape: &'t Tape<f64>, data: &Tensor<f64>, net: &Net) -> Recorded<'t> {
    let batch = data.dims()[0];
    let mut h = tape.constant(data);
    let mut layers = Vec::new();
    for (l, (w, b)) in net.params.iter().enumerate() {
        let (k, j) = (net.sizes[l], net.sizes[l + 1]);
        let w = tape.var(&Tensor::from_slice(w, &[j, k]).unwrap());
        let b = tape.var(&Tensor::from_slice(b, &[j]).unwrap());
        let z = h.linear(w, Some(b)).unwrap();
        layers.push(LayerVars { input: h, z, w, b });
        h = net.acts[l].apply(z).unwrap();
    }
    let out_width = *net.sizes.last().unwrap();
    let t = tape.constant(&Tensor::from_slice(&net.targets, &[batch, out_width]).unwrap());
    let losses = match net.loss {
        Loss::SquaredError => (h - t).square().sum_axis(1, false).unwrap(),
        Loss::CrossEntropy => {
            let onehot = Tensor::from_fn(&[batch, out_width], |i| {
                let row = &net.targets[i[0] * out_width..(i[0] + 1) * out_width];
                let arg = (0..out_width)
                    .max_by(|&a, &b| row[a].total_cmp(&row[b]))
                    .unwrap();
                if i[1] == arg { 1.0 } else { 0.0 }
            })
            .unwrap();
            let lse = h.exp().sum_axis(1, false).unwrap().ln();
            lse - (h * tape.constant(&onehot)).sum_axis(1, false).unwrap()
        }
        Loss::Cubic => (h * h * h * t).sum_axis(1, false).unwrap(),
    };
    Recorded { layers, losses }
}

/// Layer `l`'s per-example gradient rows from `B` backward passes, each
/// seeded with one example's loss only: `rows[n][j] = (∂ℓ_n/∂W_j, ∂ℓ_n/∂b_j)`.
pub fn brute_rows(rec: &Recorded<'_>, l: usize, batch: usize) -> Vec<Vec<Vec<f64>>> {
    let lay = rec.layers[l];
    let (j, k) = (lay.w.dims()[0], lay.w.dims()[1]);
    (0..batch)
        .map(|n| {
            let seed = Tensor::from_fn(&[batch], |i| if i[0] == n { 1.0 } else { 0.0 }).unwrap();
            let g = rec.losses.backward_with_seed(&seed).unwrap();
            let (gw, gb) = (g.get(lay.w).unwrap(), g.get(lay.b).unwrap());
            (0..j)
                .map(|jj| {
                    let mut row = gw[jj * k..(jj + 1) * k].to_vec();
                    row.push(gb[jj]);
                    row
                })
                .collect()
        })
        .collect()
}

/// `Δ = ∂(Σ_n ℓ_n)/∂Z` of every layer, and every layer's input `A`.
pub fn inputs_and_deltas(rec: &Recorded<'_>) -> Vec<(Tensor<f64>, Tensor<f64>)> {
    let g = rec.losses.sum().backward().unwrap();
    rec.layers
        .iter()
        .map(|l| (l.input.value(), g.tensor(l.z).unwrap()))
        .collect()
}

// ---- strategies ----

/// Every activation of the crate.
pub fn any_act() -> impl Strategy<Value = Activation> + Clone {
    prop::sample::select(Activation::ALL.to_vec())
}

/// The activations with outputs of one sign, `sign`.
pub fn acts_with(sign: OutputSign) -> impl Strategy<Value = Activation> + Clone {
    let v: Vec<Activation> = Activation::ALL
        .into_iter()
        .filter(|a| a.output_sign() == sign)
        .collect();
    prop::sample::select(v)
}

pub fn any_loss() -> impl Strategy<Value = Loss> {
    prop_oneof![
        Just(Loss::SquaredError),
        Just(Loss::CrossEntropy),
        Just(Loss::Cubic)
    ]
}

/// A network on `fan_in` inputs for a batch of `batch`, with hidden
/// activations from `hidden`, any output activation and any loss; depth
/// 1..=`max_depth`, widths 1..=4, weights in [−2, 2].
pub fn net(
    fan_in: usize,
    batch: usize,
    max_depth: usize,
    hidden: BoxedStrategy<Activation>,
) -> impl Strategy<Value = Net> {
    prop::collection::vec(1usize..=4, 1..=max_depth).prop_flat_map(move |widths| {
        let mut sizes = vec![fan_in];
        sizes.extend(&widths);
        let depth = widths.len();
        let params: Vec<_> = (0..depth)
            .map(|l| {
                (
                    prop::collection::vec(-2.0f64..2.0, sizes[l] * sizes[l + 1]),
                    prop::collection::vec(-1.0f64..1.0, sizes[l + 1]),
                )
            })
            .collect();
        let acts = (prop::collection::vec(hidden.clone(), depth - 1), any_act()).prop_map(
            |(mut v, last)| {
                v.push(last);
                v
            },
        );
        let out = sizes[depth];
        (
            Just(sizes),
            acts,
            params,
            any_loss(),
            prop::collection::vec(-1.0f64..1.0, batch * out),
        )
            .prop_map(|(sizes, acts, params, loss, targets)| Net {
                sizes,
                acts,
                params,
                loss,
                targets,
            })
    })
}

/// A `batch × fan_in` tensor with entries from `values`.
pub fn batch_of(
    batch: usize,
    fan_in: usize,
    values: impl Strategy<Value = f64>,
) -> impl Strategy<Value = Tensor<f64>> {
    prop::collection::vec(values, batch * fan_in)
        .prop_map(move |v| Tensor::from_vec(v, &[batch, fan_in]).unwrap())
}
