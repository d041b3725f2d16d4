//! [`Mlp`]: the builder of a multi-layer perceptron, a [`Sequential`] of
//! dense layers and activations.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::activation::Activation;
use crate::data::SplitMix64;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

use super::{Init, Linear, Sequential};

/// A multi-layer perceptron, described: layer sizes `[in, hidden…, out]`,
/// the activation after every hidden layer and after the output, the
/// initialiser and its seed. [`build`](Self::build) makes the
/// [`Sequential`] — `Linear, activation, Linear, …, Linear` (an output
/// activation other than the identity is a last layer of its own) — so
/// dense layer `l` sits at position `2l` and its parameters are named
/// `2l.weight` and `2l.bias`.
///
/// Defaults: tanh hidden units, a linear (identity) output, LeCun-normal
/// weights from seed 0, zero biases.
///
/// ```
/// use gradsign::{activation::Activation, nn::{self, Init, Mlp}, Tape, Tensor};
/// let net = Mlp::builder(&[2, 8, 1])
///     .hidden(Activation::Tanh)
///     .output(Activation::Identity)
///     .init(Init::LecunNormal)
///     .seed(0)
///     .build::<f64>()?;
/// let tape = Tape::new();
/// let x = tape.constant(&Tensor::from_vec(vec![0.5, -1.0, 1.0, 2.0], &[2, 2])?);
/// let (y, trace) = nn::forward(&net, &tape, x)?;
/// assert_eq!(y.dims(), vec![2, 1]);
/// assert_eq!(trace.len(), 2);
/// let grads = y.sum().backward()?;
/// let delta = grads.get(trace.layers()[0].pre_activation)?; // Δ₀, 2 × 8
/// assert_eq!(delta.len(), 16);
/// # Ok::<(), gradsign::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Mlp {
    sizes: Vec<usize>,
    hidden: Activation,
    output: Activation,
    init: Init,
    seed: u64,
    bias: bool,
}

impl Mlp {
    /// A perceptron with layer sizes `[in, hidden…, out]` and the defaults.
    pub fn builder(sizes: &[usize]) -> Self {
        Mlp {
            sizes: sizes.to_vec(),
            hidden: Activation::Tanh,
            output: Activation::Identity,
            init: Init::LecunNormal,
            seed: 0,
            bias: true,
        }
    }

    /// The activation after every layer but the last.
    #[must_use]
    pub fn hidden(mut self, activation: Activation) -> Self {
        self.hidden = activation;
        self
    }

    /// The activation after the last layer.
    #[must_use]
    pub fn output(mut self, activation: Activation) -> Self {
        self.output = activation;
        self
    }

    /// The weight initialiser.
    #[must_use]
    pub fn init(mut self, init: Init) -> Self {
        self.init = init;
        self
    }

    /// The seed of the one ChaCha8 stream the weights are drawn from, layer
    /// after layer.
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Whether the dense layers have biases (default: yes, starting at 0).
    #[must_use]
    pub fn bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }

    /// The network.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if fewer than two sizes are given, a size
    /// is zero, an activation's parameter is invalid in `F` (see
    /// [`Activation::validate`]), or a layer's weights cannot be allocated.
    pub fn build<F: Element>(&self) -> Result<Sequential<F>> {
        check_sizes("Mlp::build", &self.sizes)?;
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        self.assemble(|fan_in, fan_out| {
            let weight = self.init.sample(fan_out, fan_in, &mut rng)?;
            let bias = if self.bias {
                Some(Tensor::zeros(&[fan_out])?)
            } else {
                None
            };
            Linear::new(weight, bias)
        })
    }

    /// The network with every weight and bias drawn from SplitMix64 as the
    /// repository's `docs/BENCHMARKS.md` specifies (the benchmark
    /// workloads' initialisation): per layer `W[in][out]` row-major, then
    /// `b[out]`, each `pm1/√in`, drawn in `f64` and cast to `F`; `W` is
    /// transposed to the crate's `(out, in)`. The generator is left just
    /// after the last bias. The initialiser, seed and bias settings are
    /// not used.
    ///
    /// ```
    /// use gradsign::{activation::Activation, data::SplitMix64, nn::{self, Mlp}};
    /// let net = Mlp::builder(&[2, 8, 8, 1])
    ///     .build_splitmix::<f32>(&mut SplitMix64::new(2))?;
    /// assert_eq!(nn::num_parameters(&net)?, 2 * 8 + 8 + 8 * 8 + 8 + 8 + 1);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`build`](Self::build).
    pub fn build_splitmix<F: Element>(&self, rng: &mut SplitMix64) -> Result<Sequential<F>> {
        check_sizes("Mlp::build_splitmix", &self.sizes)?;
        self.assemble(|fan_in, fan_out| {
            let scale = 1.0 / (fan_in as f64).sqrt();
            // Checks the size (overflow, allocation) before any draw.
            let mut weight = Tensor::zeros(&[fan_out, fan_in])?;
            let w = weight.as_mut_slice();
            for i in 0..fan_in {
                for o in 0..fan_out {
                    w[o * fan_in + i] = F::from_f64(rng.pm1() * scale);
                }
            }
            let mut bias = Tensor::zeros(&[fan_out])?;
            for b in bias.as_mut_slice() {
                *b = F::from_f64(rng.pm1() * scale);
            }
            Linear::new(weight, Some(bias))
        })
    }

    /// The layers in order, each dense layer made by `dense(fan_in,
    /// fan_out)`.
    fn assemble<F: Element>(
        &self,
        mut dense: impl FnMut(usize, usize) -> Result<Linear<F>>,
    ) -> Result<Sequential<F>> {
        self.hidden.validate::<F>()?;
        self.output.validate::<F>()?;
        let n = self.sizes.len() - 1;
        let mut net = Sequential::new();
        for (l, pair) in self.sizes.windows(2).enumerate() {
            net.add(dense(pair[0], pair[1])?);
            let activation = if l + 1 == n { self.output } else { self.hidden };
            if l + 1 < n || activation != Activation::Identity {
                net.add(activation);
            }
        }
        Ok(net)
    }
}

fn check_sizes(op: &'static str, sizes: &[usize]) -> Result<()> {
    if sizes.len() < 2 || sizes.contains(&0) {
        return Err(Error::InvalidArgument {
            op,
            message: format!("layer sizes must be at least [in, out], all ≥ 1, got {sizes:?}"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_rejects_a_zero_size_or_a_single_size() {
        assert!(Mlp::builder(&[2, 0, 1]).build::<f64>().is_err());
        assert!(Mlp::builder(&[2]).build::<f64>().is_err());
    }

    #[test]
    fn splitmix_init_transposes_w_in_out_to_out_in() {
        // The workloads draw W[in][out] row-major: for a 2-3 layer the draws
        // are w00 w01 w02 w10 w11 w12, then b0 b1 b2, each pm1/√2.
        let mut rng = SplitMix64::new(9);
        let s = 1.0 / 2f64.sqrt();
        let d: Vec<f64> = (0..9).map(|_| rng.pm1() * s).collect();
        let net = Mlp::builder(&[2, 3])
            .build_splitmix::<f64>(&mut SplitMix64::new(9))
            .unwrap();
        let lin: &Linear<f64> = net.layer(0).unwrap();
        assert_eq!(lin.weight.as_slice(), &[d[0], d[3], d[1], d[4], d[2], d[5]]);
        assert_eq!(lin.bias.as_ref().unwrap().as_slice(), &d[6..9]);
    }

    #[test]
    fn the_output_activation_follows_the_last_layer_only() {
        let net = Mlp::builder(&[2, 3, 3, 1])
            .hidden(Activation::Relu)
            .output(Activation::Sigmoid)
            .init(Init::Zeros)
            .build::<f64>()
            .unwrap();
        assert_eq!(
            net.dense_activations(),
            [Activation::Relu, Activation::Relu, Activation::Sigmoid]
        );
        // An identity output adds no layer.
        let net = Mlp::builder(&[2, 3, 1]).build::<f64>().unwrap();
        assert_eq!(net.len(), 3);
        assert_eq!(
            net.dense_activations(),
            [Activation::Tanh, Activation::Identity]
        );
    }
}
