//! [`Mlp`]: the builder of a multi-layer perceptron, a [`Sequential`] of
//! dense layers and activations.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::activation::Activation;
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
        self.build_with(|fan_in, fan_out| {
            let weight = self.init.sample(fan_out, fan_in, &mut rng)?;
            let bias = if self.bias {
                Some(Tensor::zeros(&[fan_out])?)
            } else {
                None
            };
            Linear::new(weight, bias)
        })
    }

    /// The network with each dense layer made by `dense(fan_in, fan_out)`,
    /// for an initialisation of your own (the builder's initialiser, seed
    /// and bias settings are then not used); the activations are the
    /// builder's.
    ///
    /// ```
    /// use gradsign::{nn::{Linear, Mlp}, Tensor};
    /// // Every weight 0.1, every bias 0.
    /// let net = Mlp::builder(&[3, 4, 2]).build_with(|fan_in, fan_out| {
    ///     Linear::new(Tensor::full(&[fan_out, fan_in], 0.1)?, Some(Tensor::zeros(&[fan_out])?))
    /// })?;
    /// assert_eq!(net.linears().map(|(_, l)| l.weight.dims().to_vec()).collect::<Vec<_>>(),
    ///            [vec![4, 3], vec![2, 4]]);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`build`](Self::build), and whatever `dense` returns.
    pub fn build_with<F: Element>(
        &self,
        mut dense: impl FnMut(usize, usize) -> Result<Linear<F>>,
    ) -> Result<Sequential<F>> {
        check_sizes("Mlp::build_with", &self.sizes)?;
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
        return Err(Error::out_of_domain(
            op,
            "the layer sizes",
            "at least [in, out], all ≥ 1",
            format_args!("{sizes:?}"),
        ));
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
