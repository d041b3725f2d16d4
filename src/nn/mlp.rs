//! `Mlp<F>`: a stack of dense layers, each followed by an activation.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use smallvec::SmallVec;

use crate::activation::Activation;
use crate::autodiff::{Gradients, Tape, Var};
use crate::data::SplitMix64;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tensor::Tensor;

use super::{Init, Linear, Param, ParamKind, ParamName, Trace};

/// One layer of an [`Mlp`]: a dense map and the activation applied to its
/// output.
#[derive(Clone, Debug, PartialEq)]
pub struct Layer<F: Element> {
    /// The dense map `Z = A·Wᵀ + b`.
    pub linear: Linear<F>,
    /// The activation `f` giving the layer's output `f(Z)`.
    pub activation: Activation,
}

/// A multi-layer perceptron: dense layers, each followed by its activation.
///
/// [`forward`](Self::forward) records the network on a tape and returns,
/// beside the output, a [`Trace`] with every layer's input `A_l` and
/// pre-activation `Z_l`: after `backward`, `Δ_l = ∂L/∂Z_l` is
/// `grads.get(trace.layers()[l].pre_activation)`, and the analyzer needs
/// nothing re-run. Parameters are plain tensors owned by the network.
///
/// ```
/// use gradsign::{activation::Activation, nn::{Init, Mlp}, Tape, Tensor};
/// let mlp = Mlp::<f64>::new(&[2, 8, 1], Activation::Tanh, Activation::Identity, Init::LecunNormal, 0)?;
/// let tape = Tape::new();
/// let x = tape.constant(&Tensor::from_vec(vec![0.5, -1.0, 1.0, 2.0], &[2, 2])?);
/// let (y, trace) = mlp.forward(&tape, x)?;
/// assert_eq!(y.dims(), vec![2, 1]);
/// assert_eq!(trace.len(), 2);
/// let grads = y.sum().backward()?;
/// let delta = grads.get(trace.layers()[0].pre_activation)?; // Δ₀, 2 × 8
/// assert_eq!(delta.len(), 16);
/// # Ok::<(), gradsign::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Mlp<F: Element> {
    layers: Vec<Layer<F>>,
}

impl<F: Element> Mlp<F> {
    /// A network with the given layer sizes (`[in, hidden…, out]`), the
    /// `hidden` activation after every layer but the last, `output` after
    /// the last; weights drawn by `init` from one ChaCha8 stream seeded by
    /// `seed` (layer after layer), biases zero.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if fewer than two sizes are given, a
    /// size is zero, a layer's weights cannot be allocated, or an
    /// activation's parameter is invalid in `F` (see
    /// [`Activation::validate`]; the error is the one `validate` returns,
    /// as [`from_layers`](Self::from_layers) and
    /// [`from_json`](Self::from_json) return it).
    pub fn new(
        sizes: &[usize],
        hidden: Activation,
        output: Activation,
        init: Init,
        seed: u64,
    ) -> Result<Self> {
        check_sizes("Mlp::new", sizes)?;
        check_activations::<F>(hidden, output)?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut layers = Vec::with_capacity(sizes.len() - 1);
        for (l, pair) in sizes.windows(2).enumerate() {
            let weight = init.sample(pair[1], pair[0], &mut rng)?;
            let bias = Some(Tensor::zeros(&[pair[1]])?);
            layers.push(Layer {
                linear: Linear::new(weight, bias)?,
                activation: activation_of(l, sizes.len() - 1, hidden, output),
            });
        }
        Ok(Mlp { layers })
    }

    /// A network from its layers, built one by one.
    ///
    /// ```
    /// use gradsign::{activation::Activation, nn::{Init, Linear, Mlp}};
    /// let mlp = Mlp::<f32>::from_layers(vec![
    ///     (Linear::init(4, 16, Init::HeNormal, true, 1)?, Activation::Relu),
    ///     (Linear::init(16, 3, Init::GlorotUniform, true, 2)?, Activation::Identity),
    /// ])?;
    /// assert_eq!(mlp.sizes(), vec![4, 16, 3]);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for no layer or an activation parameter
    /// invalid in `F` (see [`Activation::validate`]); [`Error::ShapeMismatch`]
    /// if a layer's fan-in differs from the previous layer's fan-out.
    pub fn from_layers(layers: Vec<(Linear<F>, Activation)>) -> Result<Self> {
        if layers.is_empty() {
            return Err(Error::InvalidArgument {
                op: "Mlp::from_layers",
                message: "a network needs at least one layer".into(),
            });
        }
        for (_, activation) in &layers {
            activation.validate::<F>()?;
        }
        for pair in layers.windows(2) {
            let (a, b) = (&pair[0].0, &pair[1].0);
            if a.fan_out() != b.fan_in() {
                return Err(Error::ShapeMismatch {
                    op: "Mlp::from_layers",
                    lhs: a.weight.shape(),
                    rhs: b.weight.shape(),
                    reason: "a layer's fan-in must equal the previous layer's fan-out",
                });
            }
        }
        let layers = layers
            .into_iter()
            .map(|(linear, activation)| Layer { linear, activation })
            .collect();
        Ok(Mlp { layers })
    }

    /// A network initialised as BENCH.md specifies, from SplitMix64 seeded
    /// by `seed`: per layer `W[in][out]` row-major, then `b[out]`, each
    /// value `pm1/√in`, drawn in `f64` and cast to `F`; `W` is transposed
    /// to the crate's `(out, in)` on load.
    ///
    /// ```
    /// use gradsign::{activation::Activation, nn::Mlp};
    /// let mlp = Mlp::<f32>::from_splitmix(2, &[2, 8, 8, 1], Activation::Tanh, Activation::Identity)?;
    /// assert_eq!(mlp.num_parameters(), 2 * 8 + 8 + 8 * 8 + 8 + 8 + 1);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn from_splitmix(
        seed: u64,
        sizes: &[usize],
        hidden: Activation,
        output: Activation,
    ) -> Result<Self> {
        Self::from_splitmix_rng(&mut SplitMix64::new(seed), sizes, hidden, output)
    }

    /// [`from_splitmix`](Self::from_splitmix) drawing from a given
    /// generator, which is left just after the last bias (BENCH.md draws
    /// the batch from the same stream next).
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn from_splitmix_rng(
        rng: &mut SplitMix64,
        sizes: &[usize],
        hidden: Activation,
        output: Activation,
    ) -> Result<Self> {
        check_sizes("Mlp::from_splitmix", sizes)?;
        check_activations::<F>(hidden, output)?;
        let mut layers = Vec::with_capacity(sizes.len() - 1);
        for (l, pair) in sizes.windows(2).enumerate() {
            let (fan_in, fan_out) = (pair[0], pair[1]);
            let scale = 1.0 / (fan_in as f64).sqrt();
            // Drawn W[in][out]; stored W[out][in].
            // Checks the size (overflow, allocation) before any draw.
            let mut weight = Tensor::zeros(&[fan_out, fan_in])?;
            let w = weight.as_mut_slice();
            for i in 0..fan_in {
                for o in 0..fan_out {
                    w[o * fan_in + i] = F::from_f64(rng.pm1() * scale);
                }
            }
            let b: Vec<F> = (0..fan_out)
                .map(|_| F::from_f64(rng.pm1() * scale))
                .collect();
            layers.push(Layer {
                linear: Linear::new(weight, Some(Tensor::from_vec(b, &[fan_out])?))?,
                activation: activation_of(l, sizes.len() - 1, hidden, output),
            });
        }
        Ok(Mlp { layers })
    }

    /// The layers, first to last.
    pub fn layers(&self) -> &[Layer<F>] {
        &self.layers
    }

    /// The layers, mutably (to set weights or activations by hand;
    /// [`forward`](Self::forward) checks the widths still chain).
    pub fn layers_mut(&mut self) -> &mut [Layer<F>] {
        &mut self.layers
    }

    /// The layer sizes `[in, hidden…, out]`.
    pub fn sizes(&self) -> Vec<usize> {
        let mut s = vec![self.layers[0].linear.fan_in()];
        s.extend(self.layers.iter().map(|l| l.linear.fan_out()));
        s
    }

    /// The input width (the first layer's fan-in).
    pub fn input_width(&self) -> usize {
        self.layers[0].linear.fan_in()
    }

    /// The output width (the last layer's fan-out).
    pub fn output_width(&self) -> usize {
        self.layers[self.layers.len() - 1].linear.fan_out()
    }

    /// The number of scalar parameters.
    pub fn num_parameters(&self) -> usize {
        self.layers.iter().map(|l| l.linear.num_parameters()).sum()
    }

    /// Records the network on `tape` for the batch `input` (`(batch, in)`)
    /// and returns the output with the per-layer [`Trace`].
    ///
    /// The parameters are copied onto the tape as fresh leaves; for up to 8
    /// layers nothing is allocated once the tape is warm.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if the input's width is not the first
    /// layer's size (or a hand-edited layer no longer chains);
    /// [`Error::Empty`] for a batch of zero rows; [`Error::RankMismatch`]
    /// if `input` is not a matrix; [`Error::ForeignVar`] if it is from
    /// another tape.
    pub fn forward<'t>(
        &self,
        tape: &'t Tape<F>,
        input: Var<'t, F>,
    ) -> Result<(Var<'t, F>, Trace<'t, F>)> {
        let s = input.shape();
        if s.rank() == 2 && s.dims()[1] != self.input_width() {
            return Err(Error::ShapeMismatch {
                op: "Mlp::forward",
                lhs: s,
                rhs: Shape::vector(self.input_width()),
                reason: "the input's width must equal the network's first layer size",
            });
        }
        let mut trace = Trace::new();
        let mut a = input;
        for layer in &self.layers {
            let (z, mut lt) = layer.linear.forward(tape, a)?;
            let out = layer.activation.apply(z)?;
            lt.output = out;
            lt.activation = layer.activation;
            trace.push(lt);
            a = out;
        }
        Ok((a, trace))
    }

    /// Every parameter with its name (`layers.0.weight`, `layers.0.bias`,
    /// …), mutably, first layer first, weight before bias.
    ///
    /// ```
    /// use gradsign::{activation::Activation, nn::{Init, Mlp}};
    /// let mut mlp = Mlp::<f64>::new(&[2, 3, 1], Activation::Tanh, Activation::Identity, Init::Zeros, 0)?;
    /// let names: Vec<String> = mlp.parameters_mut().map(|(n, _)| n.to_string()).collect();
    /// assert_eq!(names, ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    pub fn parameters_mut(&mut self) -> impl Iterator<Item = (ParamName, &mut Tensor<F>)> {
        self.layers.iter_mut().enumerate().flat_map(|(l, layer)| {
            let w = (
                ParamName {
                    layer: l,
                    kind: ParamKind::Weight,
                },
                &mut layer.linear.weight,
            );
            let b = layer.linear.bias.as_mut().map(|b| {
                (
                    ParamName {
                        layer: l,
                        kind: ParamKind::Bias,
                    },
                    b,
                )
            });
            std::iter::once(w).chain(b)
        })
    }

    /// Every parameter beside its gradient from `grads`, looked up through
    /// `trace` (which must come from [`forward`](Self::forward) on this
    /// network, on the graph `grads` was computed on): what an
    /// [`Optimizer`](crate::optim::Optimizer) steps over. Allocates nothing
    /// for up to 8 layers.
    ///
    /// ```
    /// use gradsign::{activation::Activation, nn::{Init, Mlp}, Tape, Tensor};
    /// let mut mlp = Mlp::<f64>::new(&[2, 1], Activation::Identity, Activation::Identity, Init::Constant(1.0), 0)?;
    /// let tape = Tape::new();
    /// let x = tape.constant(&Tensor::from_vec(vec![3.0, 4.0], &[1, 2])?);
    /// let (y, trace) = mlp.forward(&tape, x)?;
    /// let grads = y.sum().backward()?;
    /// for p in mlp.params_with_grads(&trace, &grads)? {
    ///     for (v, g) in p.value.iter_mut().zip(p.grad) {
    ///         *v -= 0.1 * g; // plain gradient descent
    ///     }
    /// }
    /// assert_eq!(mlp.layers()[0].linear.weight.as_slice(), &[1.0 - 0.3, 1.0 - 0.4]);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if the trace has a different number of
    /// layers or a parameter's shape differs from this network's;
    /// [`Error::ForeignVar`] if `grads` belongs to another graph.
    pub fn params_with_grads<'a>(
        &'a mut self,
        trace: &Trace<'_, F>,
        grads: &'a Gradients<F>,
    ) -> Result<ParamsWithGrads<'a, F>> {
        let mismatch = |message: String| Error::InvalidArgument {
            op: "Mlp::params_with_grads",
            message,
        };
        if trace.len() != self.layers.len() {
            return Err(mismatch(format!(
                "the trace has {} layers, the network {}",
                trace.len(),
                self.layers.len()
            )));
        }
        let mut grad_slices = SmallVec::new();
        for (l, (layer, lt)) in self.layers.iter().zip(trace.layers()).enumerate() {
            let gw = grads.get(lt.weight)?;
            if lt.weight.shape() != layer.linear.weight.shape() {
                return Err(mismatch(format!(
                    "layers.{l}.weight is {} in the trace but {} in the network",
                    lt.weight.shape(),
                    layer.linear.weight.shape()
                )));
            }
            let gb = match (&layer.linear.bias, lt.bias) {
                (Some(b), Some(v)) if b.shape() == v.shape() => Some(grads.get(v)?),
                (None, None) => None,
                _ => {
                    return Err(mismatch(format!(
                        "layers.{l}.bias differs between the trace and the network"
                    )));
                }
            };
            grad_slices.push((gw, gb));
        }
        Ok(ParamsWithGrads {
            layers: self.layers.iter_mut().enumerate(),
            grads: grad_slices,
            pending: None,
        })
    }
}

/// A layer's weight and bias gradients.
type GradPair<'a, F> = (&'a [F], Option<&'a [F]>);

/// The iterator of [`Mlp::params_with_grads`]: each parameter with its
/// gradient, first layer first, weight before bias.
pub struct ParamsWithGrads<'a, F: Element> {
    layers: std::iter::Enumerate<std::slice::IterMut<'a, Layer<F>>>,
    /// Looked up once, inline for up to 8 layers (no allocation).
    grads: SmallVec<[GradPair<'a, F>; 8]>,
    pending: Option<Param<'a, F>>,
}

impl<'a, F: Element> Iterator for ParamsWithGrads<'a, F> {
    type Item = Param<'a, F>;

    fn next(&mut self) -> Option<Param<'a, F>> {
        if let Some(p) = self.pending.take() {
            return Some(p);
        }
        let (l, layer) = self.layers.next()?;
        let (gw, gb) = self.grads[l];
        let linear = &mut layer.linear;
        if let (Some(b), Some(gb)) = (linear.bias.as_mut(), gb) {
            self.pending = Some(Param {
                name: ParamName {
                    layer: l,
                    kind: ParamKind::Bias,
                },
                value: b.as_mut_slice(),
                grad: gb,
            });
        }
        Some(Param {
            name: ParamName {
                layer: l,
                kind: ParamKind::Weight,
            },
            value: linear.weight.as_mut_slice(),
            grad: gw,
        })
    }
}

fn activation_of(l: usize, n: usize, hidden: Activation, output: Activation) -> Activation {
    if l + 1 == n { output } else { hidden }
}

/// Both activations a constructor is given, checked in `F` (the hidden one
/// even for a single layer, where it goes unused: an argument that would be
/// refused elsewhere is refused here too).
fn check_activations<F: Element>(hidden: Activation, output: Activation) -> Result<()> {
    hidden.validate::<F>()?;
    output.validate::<F>()
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
    fn from_layers_rejects_widths_that_do_not_chain() {
        let e = Mlp::<f64>::from_layers(vec![
            (
                Linear::init(2, 3, Init::Zeros, true, 0).unwrap(),
                Activation::Tanh,
            ),
            (
                Linear::init(4, 1, Init::Zeros, true, 0).unwrap(),
                Activation::Identity,
            ),
        ])
        .unwrap_err();
        assert!(matches!(
            e,
            Error::ShapeMismatch {
                op: "Mlp::from_layers",
                ..
            }
        ));
    }

    #[test]
    fn new_rejects_a_zero_size() {
        assert!(
            Mlp::<f64>::new(
                &[2, 0, 1],
                Activation::Tanh,
                Activation::Tanh,
                Init::Zeros,
                0
            )
            .is_err()
        );
        assert!(Mlp::<f64>::new(&[2], Activation::Tanh, Activation::Tanh, Init::Zeros, 0).is_err());
    }

    #[test]
    fn splitmix_init_transposes_w_in_out_to_out_in() {
        // BENCH.md draws W[in][out] row-major: for a 2-3 layer the draws are
        // w00 w01 w02 w10 w11 w12, then b0 b1 b2, each pm1/√2.
        let mut rng = SplitMix64::new(9);
        let s = 1.0 / 2f64.sqrt();
        let d: Vec<f64> = (0..9).map(|_| rng.pm1() * s).collect();
        let mlp = Mlp::<f64>::from_splitmix(9, &[2, 3], Activation::Identity, Activation::Identity)
            .unwrap();
        let lin = &mlp.layers()[0].linear;
        assert_eq!(lin.weight.as_slice(), &[d[0], d[3], d[1], d[4], d[2], d[5]]);
        assert_eq!(lin.bias.as_ref().unwrap().as_slice(), &d[6..9]);
    }

    #[test]
    fn the_output_activation_applies_to_the_last_layer_only() {
        let mlp = Mlp::<f64>::new(
            &[2, 3, 3, 1],
            Activation::Relu,
            Activation::Sigmoid,
            Init::Zeros,
            0,
        )
        .unwrap();
        let acts: Vec<_> = mlp.layers().iter().map(|l| l.activation).collect();
        assert_eq!(
            acts,
            [Activation::Relu, Activation::Relu, Activation::Sigmoid]
        );
    }

    #[test]
    fn params_with_grads_rejects_a_trace_of_another_network() {
        let mut a = Mlp::<f64>::new(
            &[2, 3, 1],
            Activation::Tanh,
            Activation::Identity,
            Init::Zeros,
            0,
        )
        .unwrap();
        let b = Mlp::<f64>::new(
            &[2, 1],
            Activation::Tanh,
            Activation::Identity,
            Init::Zeros,
            0,
        )
        .unwrap();
        let tape = Tape::new();
        let x = tape.constant(&Tensor::zeros(&[1, 2]).unwrap());
        let (y, trace) = b.forward(&tape, x).unwrap();
        let grads = y.sum().backward().unwrap();
        assert!(a.params_with_grads(&trace, &grads).is_err());
    }
}
