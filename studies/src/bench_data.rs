//! BENCH.md's workload data, drawn from [`SplitMix64`] exactly as the
//! peers draw it, so that benches, tests and examples share one
//! implementation and reproduce the peers' check values.
//!
//! ```
//! use gradsign_studies::bench_data;
//! let w2 = bench_data::w2::<f32>();
//! assert_eq!(w2.x.dims(), &[32, 2]);
//! assert_eq!(gradsign::nn::num_parameters(&w2.mlp)?, 2 * 8 + 8 + 8 * 8 + 8 + 8 + 1);
//! # Ok::<(), gradsign::Error>(())
//! ```

use gradsign::activation::Activation;
use gradsign::element::Element;
use gradsign::nn::{Mlp, Sequential};
use gradsign::tensor::Tensor;

use crate::SplitMix64;

/// W2's layer sizes: 2-8-8-1.
pub const W2_SIZES: [usize; 4] = [2, 8, 8, 1];
/// W2's batch size.
pub const W2_BATCH: usize = 32;
/// W2's SGD learning rate.
pub const W2_LR: f64 = 0.03;
/// W3's layer sizes: 784-256-128-10.
pub const W3_SIZES: [usize; 4] = [784, 256, 128, 10];
/// W3's batch size.
pub const W3_BATCH: usize = 128;
/// W3's SGD learning rate.
pub const W3_LR: f64 = 0.1;

/// W2, the small MLP: a 2-8-8-1 network (tanh hidden, linear output) and
/// one fixed batch; trained with mean squared error and SGD (lr 0.03).
#[derive(Clone, Debug)]
pub struct W2<F: Element> {
    /// The network at its initial weights.
    pub mlp: Sequential<F>,
    /// The inputs `x[32][2]`, each `pm1`.
    pub x: Tensor<F>,
    /// The targets `y[32][1]`: `+1` if `x₀·x₁ > 0`, else `−1`.
    pub y: Tensor<F>,
}

/// W3, the mid-size MLP: a 784-256-128-10 network (sigmoid hidden, linear
/// output) and one fixed batch; trained with mean softmax cross-entropy and
/// SGD (lr 0.1).
#[derive(Clone, Debug)]
pub struct W3<F: Element> {
    /// The network at its initial weights.
    pub mlp: Sequential<F>,
    /// The inputs `x[128][784]`, each `u ∈ [0, 1)`.
    pub x: Tensor<F>,
    /// The class labels: `min(9, ⌊10u⌋)`.
    pub labels: Vec<usize>,
}

/// W2's network and batch (seed 2): weights first, then `x`, from one
/// SplitMix64 stream.
pub fn w2<F: Element>() -> W2<F> {
    let mut rng = SplitMix64::new(2);
    let mlp = Mlp::builder(&W2_SIZES)
        .hidden(Activation::Tanh)
        .build_with(crate::splitmix::dense(&mut rng))
        .expect("W2's sizes are valid");
    let x: Vec<f64> = (0..W2_BATCH * 2).map(|_| rng.pm1()).collect();
    let y: Vec<F> = x
        .chunks_exact(2)
        .map(|r| F::from_f64(if r[0] * r[1] > 0.0 { 1.0 } else { -1.0 }))
        .collect();
    W2 {
        mlp,
        x: Tensor::from_vec(x.into_iter().map(F::from_f64).collect(), &[W2_BATCH, 2])
            .expect("32 × 2 values"),
        y: Tensor::from_vec(y, &[W2_BATCH, 1]).expect("32 values"),
    }
}

/// W3's network and batch (seed 3): weights, then `x`, then the labels,
/// from one SplitMix64 stream.
pub fn w3<F: Element>() -> W3<F> {
    let mut rng = SplitMix64::new(3);
    let mlp = Mlp::builder(&W3_SIZES)
        .hidden(Activation::Sigmoid)
        .build_with(crate::splitmix::dense(&mut rng))
        .expect("W3's sizes are valid");
    let x: Vec<F> = (0..W3_BATCH * W3_SIZES[0])
        .map(|_| F::from_f64(rng.uniform01()))
        .collect();
    let labels = (0..W3_BATCH)
        .map(|_| ((rng.uniform01() * 10.0) as usize).min(9))
        .collect();
    W3 {
        mlp,
        x: Tensor::from_vec(x, &[W3_BATCH, W3_SIZES[0]]).expect("128 × 784 values"),
        labels,
    }
}

/// W6's batch size.
pub const W6_BATCH: usize = 64;
/// W6's SGD learning rate.
pub const W6_LR: f64 = 0.05;

/// W6, the small CNN: conv 5×5 1→16 (pad 2), ReLU, max-pool 2, conv 5×5
/// 16→32 (pad 2), ReLU, max-pool 2, flatten, linear 1568→10, on one fixed
/// batch of 64 28×28 images; mean softmax cross-entropy, SGD (lr 0.05).
#[derive(Clone, Debug)]
pub struct W6<F: Element> {
    /// The network at its initial weights.
    pub net: Sequential<F>,
    /// The images `x[64][1][28][28]`, each `u ∈ [0, 1)`.
    pub x: Tensor<F>,
    /// The class labels: `min(9, ⌊10u⌋)`.
    pub labels: Vec<usize>,
}

/// `n` values `pm1·scale` from `rng`, cast to `F`.
fn drawn<F: Element>(rng: &mut SplitMix64, n: usize, scale: f64) -> Vec<F> {
    (0..n).map(|_| F::from_f64(rng.pm1() * scale)).collect()
}

/// W6's network and batch (seed 6): conv1's `W[16][1][5][5]` then `b[16]`,
/// conv2's `W[32][16][5][5]` then `b[32]` (each `pm1/√(in·25)`), the
/// linear layer's `W[1568][10]` then `b[10]` (`pm1/√1568`, the MLP
/// layout), then `x`, then the labels, from one SplitMix64 stream.
pub fn w6<F: Element>() -> W6<F> {
    use gradsign::nn::{Conv2d, Flatten, MaxPool2d};
    use gradsign::ops::conv::Window;
    let mut rng = SplitMix64::new(6);
    let mut conv = |o: usize, c: usize| {
        let scale = 1.0 / ((c * 25) as f64).sqrt();
        let w = Tensor::from_vec(drawn(&mut rng, o * c * 25, scale), &[o, c, 5, 5])
            .expect("the filters' sizes");
        let b = Tensor::from_vec(drawn(&mut rng, o, scale), &[o]).expect("the biases");
        Conv2d::new(w, Some(b))
            .expect("valid filters")
            .with_window(Window::default().padding(2))
    };
    let (conv1, conv2) = (conv(16, 1), conv(32, 16));
    let linear = crate::splitmix::dense::<F>(&mut rng)(1568, 10).expect("the linear layer");
    let net = Sequential::new()
        .push(conv1)
        .push(Activation::Relu)
        .push(MaxPool2d::new((2, 2)))
        .push(conv2)
        .push(Activation::Relu)
        .push(MaxPool2d::new((2, 2)))
        .push(Flatten)
        .push(linear);
    let x: Vec<F> = (0..W6_BATCH * 28 * 28)
        .map(|_| F::from_f64(rng.uniform01()))
        .collect();
    let labels = (0..W6_BATCH)
        .map(|_| ((rng.uniform01() * 10.0) as usize).min(9))
        .collect();
    W6 {
        net,
        x: Tensor::from_vec(x, &[W6_BATCH, 1, 28, 28]).expect("64 × 784 values"),
        labels,
    }
}
