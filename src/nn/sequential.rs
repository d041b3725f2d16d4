//! [`Sequential`]: layers applied one after the other.

use crate::activation::Activation;
use crate::autodiff::Var;
use crate::element::Element;
use crate::error::{Error, Result};

use super::Linear;
use super::module::{DynModule, Forward, ModelElement, Module, Segment, Visitor, VisitorMut};

/// Layers applied in order; layer `i`'s parameters are named `i.<name>`
/// (`0.weight`, `0.bias`, `2.weight`…), as in PyTorch's `nn.Sequential`.
///
/// Any [`Module`] that is `Clone + Debug + Send + Sync + 'static` can be a
/// layer, the crate's ([`Linear`], [`Activation`]) and your own alike. The
/// layers are boxed; each layer's own forward pass is static code, so the
/// one indirect call per layer is all the dispatch there is.
///
/// ```
/// use gradsign::activation::Activation;
/// use gradsign::nn::{self, Init, Linear, Sequential};
/// use gradsign::{Tape, Tensor};
/// let net = Sequential::<f32>::new()
///     .push(Linear::init(4, 8, Init::HeNormal, true, 1)?)
///     .push(Activation::Relu)
///     .push(Linear::init(8, 1, Init::GlorotUniform, true, 2)?);
/// assert_eq!(net.len(), 3);
/// let tape = Tape::new();
/// let x = tape.constant(&Tensor::rand_uniform(&[5, 4], 0.0, 1.0, 3)?);
/// let (y, trace) = nn::forward(&net, &tape, x)?;
/// assert_eq!(y.dims(), [5, 1]);
/// assert_eq!(trace.len(), 2); // two dense layers recorded for the analyzer
/// # Ok::<(), gradsign::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Sequential<F: Element> {
    layers: Vec<Box<dyn DynModule<F>>>,
    training: bool,
}

impl<F: Element> Default for Sequential<F> {
    fn default() -> Self {
        Self::new()
    }
}

impl<F: Element> Sequential<F> {
    /// An empty container (in training mode).
    pub fn new() -> Self {
        Sequential {
            layers: Vec::new(),
            training: true,
        }
    }

    /// Appends a layer.
    #[must_use]
    pub fn push<M>(mut self, layer: M) -> Self
    where
        M: Module<F> + Clone + std::fmt::Debug + Send + Sync + 'static,
    {
        self.layers.push(Box::new(layer));
        self
    }

    /// Appends a layer in place.
    pub fn add<M>(&mut self, layer: M)
    where
        M: Module<F> + Clone + std::fmt::Debug + Send + Sync + 'static,
    {
        self.layers.push(Box::new(layer));
    }

    /// The number of layers.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// Whether there is no layer.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// Layer `i` as its concrete type, if it is an `M`.
    ///
    /// ```
    /// use gradsign::nn::{Linear, Mlp};
    /// let net = Mlp::builder(&[2, 3, 1]).build::<f64>()?;
    /// let first: &Linear<f64> = net.layer(0).unwrap();
    /// assert_eq!(first.fan_in(), 2);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    pub fn layer<M: 'static>(&self, i: usize) -> Option<&M> {
        self.layers.get(i)?.as_any().downcast_ref()
    }

    /// Layer `i` as its concrete type, mutably, if it is an `M`.
    pub fn layer_mut<M: 'static>(&mut self, i: usize) -> Option<&mut M> {
        self.layers.get_mut(i)?.as_any_mut().downcast_mut()
    }

    /// The dense layers, in order, with their positions.
    pub fn linears(&self) -> impl Iterator<Item = (usize, &Linear<F>)> {
        self.layers
            .iter()
            .enumerate()
            .filter_map(|(i, l)| Some((i, l.as_any().downcast_ref::<Linear<F>>()?)))
    }

    /// The activation of each dense layer: the [`Activation`] layer that
    /// directly follows it, or the identity.
    pub fn dense_activations(&self) -> Vec<Activation> {
        self.linears()
            .map(|(i, _)| {
                self.layer::<Activation>(i + 1)
                    .copied()
                    .unwrap_or(Activation::Identity)
            })
            .collect()
    }

    /// The input width of the first dense layer and the output width of
    /// the last, if the container has dense layers.
    pub fn dense_widths(&self) -> Option<(usize, usize)> {
        let first = self.linears().next()?.1.fan_in();
        let last = self.linears().last()?.1.fan_out();
        Some((first, last))
    }

    /// Whether the layers are in training mode (see
    /// [`Module::set_training`]).
    pub fn is_training(&self) -> bool {
        self.training
    }
}

/// Two containers are equal when they hold layers of the same types in the
/// same order, the same activations, the same training flag, and parameters
/// of the same names, shapes and values (a custom layer's settings other
/// than its parameters are not compared).
impl<F: Element> PartialEq for Sequential<F> {
    fn eq(&self, other: &Self) -> bool {
        if self.layers.len() != other.layers.len() || self.training != other.training {
            return false;
        }
        let same_layers = self.layers.iter().zip(&other.layers).all(|(a, b)| {
            let (a, b) = (a.as_any(), b.as_any());
            a.type_id() == b.type_id()
                && match (
                    a.downcast_ref::<Activation>(),
                    b.downcast_ref::<Activation>(),
                ) {
                    (Some(x), Some(y)) => x == y,
                    _ => true,
                }
        });
        same_layers
            && matches!(
                (super::named_parameters(self), super::named_parameters(other)),
                (Ok(a), Ok(b)) if a == b
            )
    }
}

impl<F: Element> Module<F> for Sequential<F> {
    fn forward<'t, E: ModelElement>(
        &self,
        x: Var<'t, E>,
        ctx: &mut Forward<'t, '_, F, E>,
    ) -> Result<Var<'t, E>> {
        if self.layers.is_empty() {
            return Err(Error::out_of_domain(
                "Sequential::forward",
                "the layer count",
                "at least 1",
                0,
            ));
        }
        let mut a = x;
        for (i, layer) in self.layers.iter().enumerate() {
            a = ctx
                .scoped(Segment::Index(i), |ctx| E::forward_dyn(&**layer, a, ctx))
                .map_err(|e| Error::Layer {
                    layer: i,
                    source: Box::new(e),
                })?;
        }
        Ok(a)
    }

    fn visit(&self, v: &mut Visitor<'_, F>) -> Result<()> {
        for (i, layer) in self.layers.iter().enumerate() {
            v.scope(Segment::Index(i), |v| layer.visit_dyn(v))?;
        }
        Ok(())
    }

    fn visit_mut(&mut self, v: &mut VisitorMut<'_, F>) -> Result<()> {
        for (i, layer) in self.layers.iter_mut().enumerate() {
            v.scope(Segment::Index(i), |v| layer.visit_mut_dyn(v))?;
        }
        Ok(())
    }

    fn set_training(&mut self, training: bool) {
        self.training = training;
        for layer in &mut self.layers {
            layer.set_training_dyn(training);
        }
    }
}

impl<F: Element> Module<F> for Activation {
    /// `f(x)` element-wise; reported to the trace so that the dense layer
    /// before it records `f(Z)` as its output.
    fn forward<'t, E: ModelElement>(
        &self,
        x: Var<'t, E>,
        ctx: &mut Forward<'t, '_, F, E>,
    ) -> Result<Var<'t, E>> {
        let y = self.apply(x)?;
        ctx.record_activation(*self, x, y);
        Ok(y)
    }

    fn visit(&self, _: &mut Visitor<'_, F>) -> Result<()> {
        Ok(())
    }

    fn visit_mut(&mut self, _: &mut VisitorMut<'_, F>) -> Result<()> {
        Ok(())
    }
}
