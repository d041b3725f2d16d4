//! The one model abstraction: [`Module`], the [`Forward`] recorder a forward
//! pass writes to, and the parameter visitors.
//!
//! A module owns its parameters as plain [`Tensor<F>`]s. Its forward pass is
//! written once, generic over the tape's element type `E`: the same model
//! value runs on an `f32` or `f64` tape, and on a tape of [`Dual`] numbers
//! for exact Hessian-vector products (forward-over-reverse). A parameter
//! enters the tape through [`Forward::param`], which converts it to `E` (and,
//! for an HVP, seeds its tangent) and remembers which tape variable holds
//! it, so that after `backward` every tool (optimisers, the analyzer,
//! curvature) finds the gradient of each named parameter.

use smallvec::SmallVec;

use crate::activation::Activation;
use crate::autodiff::{Gradients, Tape, Var};
use crate::dual::Dual;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::ops::conv::Window;
use crate::tensor::Tensor;

use super::{ConvWindow, LayerKind, LayerPath, LayerRecord, LayerTrace, Trace};

/// A differentiable model or layer: a forward pass written once for every
/// tape element type, and named parameters.
///
/// Implement it for your own layer and it trains with
/// [`train`](crate::train::train), steps with any
/// [`Optimizer`](crate::optim::Optimizer), is analysed by the
/// [`GradientSignAnalyzer`](crate::analysis::GradientSignAnalyzer) and gets
/// exact Hessian-vector products from [`curvature`](crate::curvature), and
/// it can sit in a [`Sequential`](super::Sequential) beside the built-in
/// layers. A layer that scales its input by a learned vector:
///
/// ```
/// use gradsign::nn::{Forward, Module, ModelElement, Visitor, VisitorMut};
/// use gradsign::{Result, Tensor, Var, Element};
///
/// #[derive(Clone, Debug)]
/// struct Scale<F: Element> { gain: Tensor<F> }
///
/// impl<F: Element> Module<F> for Scale<F> {
///     fn forward<'t, E: ModelElement>(
///         &self,
///         x: Var<'t, E>,
///         ctx: &mut Forward<'t, '_, F, E>,
///     ) -> Result<Var<'t, E>> {
///         let g = ctx.param(&self.gain)?; // onto the tape, remembered
///         x.try_mul(g)
///     }
///     fn visit(&self, v: &mut Visitor<'_, F>) -> Result<()> {
///         v.param("gain", &self.gain)
///     }
///     fn visit_mut(&mut self, v: &mut VisitorMut<'_, F>) -> Result<()> {
///         v.param("gain", &mut self.gain)
///     }
/// }
///
/// let layer = Scale { gain: Tensor::from_vec(vec![2.0, -1.0], &[2])? };
/// let tape = gradsign::Tape::<f64>::new();
/// let x = tape.constant(&Tensor::from_vec(vec![1.0, 3.0], &[1, 2])?);
/// let (y, trace) = gradsign::nn::forward(&layer, &tape, x)?;
/// assert_eq!(y.value().as_slice(), &[2.0, -3.0]);
/// let grads = y.sum().backward()?;
/// let names: Vec<String> = gradsign::nn::named_gradients(&layer, &trace, &grads)?
///     .into_iter().map(|(n, g)| format!("{n}={g:?}")).collect();
/// assert_eq!(names, ["gain=[1.0, 3.0]"]);
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// The contract: [`forward`](Self::forward) puts every parameter it uses on
/// the tape through [`Forward::param`] (a tensor used directly, as a
/// constant, gets no gradient), and [`visit`](Self::visit) and
/// [`visit_mut`](Self::visit_mut) name the same parameters in the same
/// order. A dense layer also reports its input and pre-activation with
/// [`Forward::record_dense`], which is what the sign analyzer reads.
pub trait Module<F: Element> {
    /// Records the forward pass of a batch `x` on `ctx`'s tape.
    ///
    /// # Errors
    /// Whatever the recorded ops return (shapes that do not fit, a foreign
    /// variable, a non-finite value in checked mode).
    fn forward<'t, E: ModelElement>(
        &self,
        x: Var<'t, E>,
        ctx: &mut Forward<'t, '_, F, E>,
    ) -> Result<Var<'t, E>>;

    /// Hands every parameter to `v` with its name, in a fixed order.
    ///
    /// # Errors
    /// Whatever the visitor returns.
    fn visit(&self, v: &mut Visitor<'_, F>) -> Result<()>;

    /// Hands every parameter to `v` mutably, in the order of
    /// [`visit`](Self::visit).
    ///
    /// # Errors
    /// Whatever the visitor returns.
    fn visit_mut(&mut self, v: &mut VisitorMut<'_, F>) -> Result<()>;

    /// Switches between training and evaluation behaviour (layers whose
    /// forward pass differs, such as normalisation, override it; a
    /// container passes it to its children). The default does nothing.
    fn set_training(&mut self, training: bool) {
        let _ = training;
    }
}

/// A mutable reference to a module is the module, so a function holding
/// `&mut model` can hand it on (to [`forward`], an optimiser, `train`).
impl<F: Element, M: Module<F> + ?Sized> Module<F> for &mut M {
    fn forward<'t, E: ModelElement>(
        &self,
        x: Var<'t, E>,
        ctx: &mut Forward<'t, '_, F, E>,
    ) -> Result<Var<'t, E>> {
        (**self).forward(x, ctx)
    }

    fn visit(&self, v: &mut Visitor<'_, F>) -> Result<()> {
        (**self).visit(v)
    }

    fn visit_mut(&mut self, v: &mut VisitorMut<'_, F>) -> Result<()> {
        (**self).visit_mut(v)
    }

    fn set_training(&mut self, training: bool) {
        (**self).set_training(training);
    }
}

/// The element types a [`Module`] runs on: `f32`, `f64`, and [`Dual`]
/// numbers over either (for Hessian-vector products).
///
/// Sealed: the set is closed so that a [`Sequential`](super::Sequential)
/// of boxed layers can dispatch a generic forward pass to each of them.
pub trait ModelElement: Element + sealed::Sealed {
    /// The element whose value is `x` and whose tangent is `t` (real types
    /// drop the tangent).
    #[doc(hidden)]
    fn lift(x: f64, t: f64) -> Self;

    /// The tangent part (0 for real types).
    #[doc(hidden)]
    fn tangent_f64(self) -> f64;

    /// Runs a boxed layer's forward pass at this element type.
    #[doc(hidden)]
    fn forward_dyn<'t, F: Element>(
        layer: &dyn DynModule<F>,
        x: Var<'t, Self>,
        ctx: &mut Forward<'t, '_, F, Self>,
    ) -> Result<Var<'t, Self>>;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
    impl Sealed for crate::dual::Dual<f32> {}
    impl Sealed for crate::dual::Dual<f64> {}
}

macro_rules! model_element {
    ($t:ty, $method:ident, |$x:ident, $tan:ident| $lift:expr, |$y:ident| $tangent:expr) => {
        impl ModelElement for $t {
            #[inline]
            fn lift($x: f64, $tan: f64) -> Self {
                $lift
            }
            #[inline]
            fn tangent_f64(self) -> f64 {
                let $y = self;
                $tangent
            }
            fn forward_dyn<'t, F: Element>(
                layer: &dyn DynModule<F>,
                x: Var<'t, Self>,
                ctx: &mut Forward<'t, '_, F, Self>,
            ) -> Result<Var<'t, Self>> {
                layer.$method(x, ctx)
            }
        }
    };
}

model_element!(f32, forward_f32, |x, _t| x as f32, |_y| 0.0);
model_element!(f64, forward_f64, |x, _t| x, |_y| 0.0);
model_element!(
    Dual<f32>,
    forward_dual_f32,
    |x, t| Dual::new(x as f32, t as f32),
    |y| f64::from(y.tangent)
);
model_element!(Dual<f64>, forward_dual_f64, |x, t| Dual::new(x, t), |y| y
    .tangent);

/// A [`Module`] behind a pointer: what a [`Sequential`](super::Sequential)
/// stores. Implemented for every `Module + Clone + Debug + Send + Sync`;
/// you never implement it yourself.
#[doc(hidden)]
pub trait DynModule<F: Element>: std::fmt::Debug + Send + Sync {
    fn forward_f32<'t>(
        &self,
        x: Var<'t, f32>,
        ctx: &mut Forward<'t, '_, F, f32>,
    ) -> Result<Var<'t, f32>>;
    fn forward_f64<'t>(
        &self,
        x: Var<'t, f64>,
        ctx: &mut Forward<'t, '_, F, f64>,
    ) -> Result<Var<'t, f64>>;
    fn forward_dual_f32<'t>(
        &self,
        x: Var<'t, Dual<f32>>,
        ctx: &mut Forward<'t, '_, F, Dual<f32>>,
    ) -> Result<Var<'t, Dual<f32>>>;
    fn forward_dual_f64<'t>(
        &self,
        x: Var<'t, Dual<f64>>,
        ctx: &mut Forward<'t, '_, F, Dual<f64>>,
    ) -> Result<Var<'t, Dual<f64>>>;
    fn visit_dyn(&self, v: &mut Visitor<'_, F>) -> Result<()>;
    fn visit_mut_dyn(&mut self, v: &mut VisitorMut<'_, F>) -> Result<()>;
    fn set_training_dyn(&mut self, training: bool);
    fn clone_box(&self) -> Box<dyn DynModule<F>>;
    fn as_any(&self) -> &dyn std::any::Any;
    fn as_any_mut(&mut self) -> &mut dyn std::any::Any;
}

impl<F, M> DynModule<F> for M
where
    F: Element,
    M: Module<F> + Clone + std::fmt::Debug + Send + Sync + 'static,
{
    fn forward_f32<'t>(
        &self,
        x: Var<'t, f32>,
        ctx: &mut Forward<'t, '_, F, f32>,
    ) -> Result<Var<'t, f32>> {
        self.forward(x, ctx)
    }
    fn forward_f64<'t>(
        &self,
        x: Var<'t, f64>,
        ctx: &mut Forward<'t, '_, F, f64>,
    ) -> Result<Var<'t, f64>> {
        self.forward(x, ctx)
    }
    fn forward_dual_f32<'t>(
        &self,
        x: Var<'t, Dual<f32>>,
        ctx: &mut Forward<'t, '_, F, Dual<f32>>,
    ) -> Result<Var<'t, Dual<f32>>> {
        self.forward(x, ctx)
    }
    fn forward_dual_f64<'t>(
        &self,
        x: Var<'t, Dual<f64>>,
        ctx: &mut Forward<'t, '_, F, Dual<f64>>,
    ) -> Result<Var<'t, Dual<f64>>> {
        self.forward(x, ctx)
    }
    fn visit_dyn(&self, v: &mut Visitor<'_, F>) -> Result<()> {
        self.visit(v)
    }
    fn visit_mut_dyn(&mut self, v: &mut VisitorMut<'_, F>) -> Result<()> {
        self.visit_mut(v)
    }
    fn set_training_dyn(&mut self, training: bool) {
        self.set_training(training);
    }
    fn clone_box(&self) -> Box<dyn DynModule<F>> {
        Box::new(self.clone())
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
}

impl<F: Element> Clone for Box<dyn DynModule<F>> {
    fn clone(&self) -> Self {
        self.clone_box()
    }
}

/// Tangents for the parameters of an HVP: the direction's values for each
/// parameter, found by the parameter's address.
pub(crate) type Tangents<'p> = [(usize, &'p [f64])];

/// What a forward pass writes to: the tape, the parameters it put there,
/// and the per-layer [`Trace`].
///
/// Built by [`forward`] (and by the training loop and curvature tools);
/// layers receive it in [`Module::forward`].
pub struct Forward<'t, 'p, F: Element, E: Element> {
    tape: &'t Tape<E>,
    trace: Trace<'t, E>,
    tangents: Option<&'p Tangents<'p>>,
    _params: std::marker::PhantomData<F>,
    lifted: Vec<E>,
    scope: SmallVec<[Segment; 4]>,
}

/// One step of a parameter's or layer's hierarchical name: an index in a
/// container (`0`) or a field name (`encoder`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Segment {
    /// A position in a container such as [`Sequential`](super::Sequential).
    Index(usize),
    /// A named child.
    Name(&'static str),
}

impl std::fmt::Display for Segment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Segment::Index(i) => write!(f, "{i}"),
            Segment::Name(n) => f.write_str(n),
        }
    }
}

impl<'t, 'p, F: Element, E: ModelElement> Forward<'t, 'p, F, E> {
    /// A recorder on `tape`, with parameters entering as plain leaves.
    pub fn new(tape: &'t Tape<E>) -> Self {
        Forward {
            tape,
            trace: Trace::new(),
            tangents: None,
            _params: std::marker::PhantomData,
            lifted: Vec::new(),
            scope: SmallVec::new(),
        }
    }

    /// A recorder whose parameters carry the tangents of an HVP direction.
    pub(crate) fn with_tangents(tape: &'t Tape<E>, tangents: &'p Tangents<'p>) -> Self {
        let mut f = Self::new(tape);
        f.tangents = Some(tangents);
        f
    }

    /// The tape being recorded on.
    pub fn tape(&self) -> &'t Tape<E> {
        self.tape
    }

    /// Puts a parameter on the tape as a differentiable leaf, converted to
    /// the tape's element type, and remembers it so that its gradient can
    /// be found by name after `backward`.
    ///
    /// # Errors
    /// [`Error::OutOfOrder`] if the same tensor is put on the tape
    /// twice in one forward pass (use the returned variable again instead).
    pub fn param(&mut self, value: &Tensor<F>) -> Result<Var<'t, E>> {
        let addr = std::ptr::from_ref(value) as usize;
        if self.trace.params.iter().any(|&(a, _)| a == addr) {
            return Err(Error::OutOfOrder {
                op: "Forward::param",
                what: format!(
                    "a parameter of shape {} was put on the tape twice in one forward pass; \
                     reuse the variable the first call returned",
                    value.shape()
                ),
            });
        }
        let tangent = self
            .tangents
            .and_then(|ts| ts.iter().find(|&&(a, _)| a == addr).map(|&(_, t)| t));
        let var = match (
            (value as &dyn std::any::Any).downcast_ref::<Tensor<E>>(),
            tangent,
        ) {
            // Same type, no tangent: one copy, as a plain leaf.
            (Some(same), None) => self.tape.var(same),
            _ => {
                self.lifted.clear();
                let src = value.as_slice();
                match tangent {
                    Some(t) => self
                        .lifted
                        .extend(src.iter().zip(t).map(|(&x, &d)| E::lift(x.to_f64(), d))),
                    None => self
                        .lifted
                        .extend(src.iter().map(|&x| E::lift(x.to_f64(), 0.0))),
                }
                self.tape.var_from_slice(&self.lifted, value.dims())?
            }
        };
        self.trace.params.push((addr, var));
        Ok(var)
    }

    /// Records a dense layer's input `A` (batch × in), pre-activation
    /// `Z = A·Wᵀ + b` (batch × out) and its parameters' variables, for the
    /// analyzer and per-sample gradients. The layer's output is `Z` until
    /// an activation that follows reports itself with
    /// [`record_activation`](Self::record_activation).
    pub fn record_dense(
        &mut self,
        input: Var<'t, E>,
        pre_activation: Var<'t, E>,
        weight: Var<'t, E>,
        bias: Option<Var<'t, E>>,
    ) {
        self.trace.push(LayerTrace {
            input,
            pre_activation,
            output: pre_activation,
            weight,
            bias,
            activation: Activation::Identity,
            positions: 1,
            conv: None,
        });
        self.push_record(LayerKind::Dense, input, pre_activation);
    }

    /// Records a convolution as the dense layer it is at every output
    /// position (see [`LayerTrace`]): its NCHW `input` and pre-activation
    /// `output` (which an activation that follows reports as its input),
    /// the `(O, C, kh, kw)` weight parameter, the bias, and the `kernel`
    /// and `window` that turn the input into patches.
    pub fn record_conv(
        &mut self,
        input: Var<'t, E>,
        output: Var<'t, E>,
        weight: Var<'t, E>,
        bias: Option<Var<'t, E>>,
        kernel: (usize, usize),
        window: &Window,
    ) {
        let d = output.shape();
        let positions = match d.dims() {
            &[_, _, oh, ow] => oh * ow,
            _ => 1,
        };
        self.trace.push(LayerTrace {
            input,
            pre_activation: output,
            output,
            weight,
            bias,
            activation: Activation::Identity,
            positions,
            conv: Some(ConvWindow {
                kernel,
                window: *window,
            }),
        });
        self.push_record(LayerKind::Conv2d, input, output);
    }

    /// Reports a layer that is neither dense nor an activation (a
    /// normalisation, a pooling, your own), so that [`Trace::records`]
    /// lists it with its place in the model.
    pub fn record_layer(&mut self, kind: &'static str, input: Var<'t, E>, output: Var<'t, E>) {
        self.push_record(LayerKind::Other(kind), input, output);
    }

    fn push_record(&mut self, kind: LayerKind, input: Var<'t, E>, output: Var<'t, E>) {
        self.trace.records.push(LayerRecord {
            kind,
            path: LayerPath(self.scope.iter().copied().collect()),
            input,
            output,
        });
    }

    /// Records that `activation` was applied to `input` giving `output`:
    /// if `input` is the output of the last dense layer, that layer's
    /// record now ends in `output` (so the next layer's input is known to
    /// come from `activation`).
    pub fn record_activation(
        &mut self,
        activation: Activation,
        input: Var<'t, E>,
        output: Var<'t, E>,
    ) {
        if let Some(last) = self.trace.last_mut()
            && last.output.id() == input.id()
        {
            last.output = output;
            last.activation = activation;
        }
        self.push_record(LayerKind::Activation(activation), input, output);
    }

    /// Runs `f` with `segment` appended to the current scope (containers
    /// call this around each child, so records carry hierarchical names).
    ///
    /// # Errors
    /// Whatever `f` returns.
    pub fn scoped<R>(&mut self, segment: Segment, f: impl FnOnce(&mut Self) -> R) -> R {
        self.scope.push(segment);
        let r = f(self);
        self.scope.pop();
        r
    }

    /// The records of the forward pass so far, and the parameters' tape
    /// variables.
    pub fn finish(self) -> Trace<'t, E> {
        self.trace
    }
}

/// Visits a module's parameters read-only, building each one's
/// hierarchical name (`0.weight`, `encoder.1.bias`) in a reused buffer.
pub struct Visitor<'a, F: Element> {
    name: NameBuffer,
    f: &'a mut dyn FnMut(&str, &Tensor<F>) -> Result<()>,
}

/// Visits a module's parameters mutably; see [`Visitor`].
pub struct VisitorMut<'a, F: Element> {
    name: NameBuffer,
    f: &'a mut dyn FnMut(&str, &mut Tensor<F>) -> Result<()>,
}

/// The methods of [`Visitor`] and [`VisitorMut`], which differ only in how
/// they hold a tensor.
macro_rules! visitor_methods {
    ($visitor:ident, $($tensor:tt)*) => {
        impl<'a, F: Element> $visitor<'a, F> {
            /// A visitor calling `f` with every parameter's full name.
            pub fn new(f: &'a mut dyn FnMut(&str, $($tensor)*) -> Result<()>) -> Self {
                $visitor {
                    name: NameBuffer::default(),
                    f,
                }
            }

            /// Hands one parameter to the visitor under `name` in the
            /// current scope.
            ///
            /// # Errors
            /// Whatever the visitor returns.
            pub fn param(&mut self, name: &str, value: $($tensor)*) -> Result<()> {
                let len = self.name.len();
                push_segment(&mut self.name, name);
                let r = (self.f)(self.name.as_str(), value);
                self.name.truncate(len);
                r
            }

            /// Visits a child module under `segment`.
            ///
            /// # Errors
            /// Whatever the visitor returns.
            pub fn scope(
                &mut self,
                segment: Segment,
                child: impl FnOnce(&mut Self) -> Result<()>,
            ) -> Result<()> {
                let len = self.name.len();
                push_segment(&mut self.name, segment);
                let r = child(self);
                self.name.truncate(len);
                r
            }
        }
    };
}

visitor_methods!(Visitor, &Tensor<F>);
visitor_methods!(VisitorMut, &mut Tensor<F>);

/// A parameter's name, built in place: inline up to 128 bytes, so that
/// visiting a model's parameters (every optimiser step does, twice)
/// allocates nothing.
#[derive(Default)]
struct NameBuffer(SmallVec<[u8; 128]>);

impl NameBuffer {
    fn len(&self) -> usize {
        self.0.len()
    }

    fn truncate(&mut self, len: usize) {
        self.0.truncate(len);
    }

    fn as_str(&self) -> &str {
        // Only whole `str`s are ever pushed, so the bytes are UTF-8.
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}

/// One step of a name: a child's position or a name.
trait NamePart {
    fn push_to(&self, name: &mut NameBuffer);
}

impl NamePart for &str {
    fn push_to(&self, name: &mut NameBuffer) {
        name.0.extend_from_slice(self.as_bytes());
    }
}

impl NamePart for Segment {
    fn push_to(&self, name: &mut NameBuffer) {
        match *self {
            Segment::Name(n) => n.push_to(name),
            Segment::Index(mut i) => {
                // Digits without the formatting machinery: names are built
                // twice per parameter per optimiser step.
                let mut digits = [0u8; 20];
                let mut k = digits.len();
                loop {
                    k -= 1;
                    digits[k] = b'0' + (i % 10) as u8;
                    i /= 10;
                    if i == 0 {
                        break;
                    }
                }
                name.0.extend_from_slice(&digits[k..]);
            }
        }
    }
}

fn push_segment(name: &mut NameBuffer, segment: impl NamePart) {
    if name.len() > 0 {
        name.0.push(b'.');
    }
    segment.push_to(name);
}

/// Records `model` on `tape` for the batch `x` and returns its output with
/// the [`Trace`] (per dense layer: input, pre-activation, output; every
/// layer's kind and place; every parameter's variable).
///
/// The tape has the model's element type, which is what lets
/// `Tape::new()` infer it. To run a model on a tape of another type (an
/// `f32` model in `f64`, or on dual numbers), call [`Module::forward`] with
/// a [`Forward`] on that tape:
///
/// ```
/// use gradsign::nn::{Forward, Mlp, Module};
/// use gradsign::{Tape, Tensor};
/// let net = Mlp::builder(&[2, 3, 1]).build::<f32>()?;
/// let tape = Tape::<f64>::new();
/// let x = tape.constant(&Tensor::from_vec(vec![0.5, -1.0], &[1, 2])?);
/// let y = net.forward(x, &mut Forward::new(&tape))?; // f32 parameters, f64 arithmetic
/// assert_eq!(y.dims(), [1, 1]);
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// # Errors
/// Whatever the model's forward pass returns.
pub fn forward<'t, F: ModelElement, M: Module<F> + ?Sized>(
    model: &M,
    tape: &'t Tape<F>,
    x: Var<'t, F>,
) -> Result<(Var<'t, F>, Trace<'t, F>)> {
    let mut ctx = Forward::new(tape);
    let y = model.forward(x, &mut ctx)?;
    Ok((y, ctx.finish()))
}

/// The model's outputs for a batch `inputs`, computed on a fresh tape (for
/// evaluation: nothing is kept).
///
/// ```
/// use gradsign::nn::{predict, Mlp};
/// use gradsign::Tensor;
/// let net = Mlp::builder(&[3, 4, 2]).build::<f32>()?;
/// let out = predict(&net, &Tensor::zeros(&[5, 3])?)?;
/// assert_eq!(out.dims(), [5, 2]);
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// # Errors
/// Whatever the model's forward pass returns.
pub fn predict<F: ModelElement, M: Module<F> + ?Sized>(
    model: &M,
    inputs: &Tensor<F>,
) -> Result<Tensor<F>> {
    let tape = Tape::new();
    let x = tape.constant(inputs);
    Ok(model.forward(x, &mut Forward::new(&tape))?.value())
}

/// Every parameter's name and values, in visiting order (allocates; for
/// inspection and saving).
///
/// ```
/// use gradsign::nn::{named_parameters, Mlp};
/// let net = Mlp::builder(&[2, 3, 1]).build::<f64>()?;
/// let names: Vec<String> = named_parameters(&net)?.into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names, ["0.weight", "0.bias", "2.weight", "2.bias"]);
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// # Errors
/// None from the crate's layers; whatever a custom module's visitor returns.
pub fn named_parameters<F: Element, M: Module<F> + ?Sized>(
    model: &M,
) -> Result<Vec<(String, Tensor<F>)>> {
    let mut out = Vec::new();
    model.visit(&mut Visitor::new(&mut |name, t| {
        out.push((name.to_owned(), t.clone()));
        Ok(())
    }))?;
    Ok(out)
}

/// The number of scalar parameters of `model`.
///
/// # Errors
/// As [`named_parameters`].
pub fn num_parameters<F: Element, M: Module<F> + ?Sized>(model: &M) -> Result<usize> {
    let mut n = 0usize;
    model.visit(&mut Visitor::new(&mut |_, t| {
        n += t.numel();
        Ok(())
    }))?;
    Ok(n)
}

/// Every parameter's name with its gradient from `grads`, looked up through
/// `trace` (from a forward pass of this model).
///
/// # Errors
/// [`Error::Incompatible`] if a parameter was not put on the tape in the
/// traced forward pass; [`Error::ForeignVar`] if `grads` belongs to another
/// graph; [`Error::NoGradient`] if a parameter has no gradient in `grads`.
pub fn named_gradients<F: Element, M: Module<F> + ?Sized>(
    model: &M,
    trace: &Trace<'_, F>,
    grads: &Gradients<F>,
) -> Result<Vec<(String, Vec<F>)>> {
    let mut out = Vec::new();
    let mut i = 0;
    model.visit(&mut Visitor::new(&mut |name, t| {
        let var = trace.param_var(i, t, name)?;
        i += 1;
        out.push((name.to_owned(), grads.get(var)?.to_vec()));
        Ok(())
    }))?;
    Ok(out)
}
