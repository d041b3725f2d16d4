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
