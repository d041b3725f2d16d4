//! [`WeightNormLinear`] and [`WeightNormConv2d`]: a dense layer and a
//! convolution whose weights are weight-normalised.

use crate::autodiff::Var;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tensor::Tensor;

use super::module::{Forward, ModelElement, Module, Visitor, VisitorMut};
use super::{Conv2d, Init, Linear};
use crate::ops::conv::Window;

/// A dense layer `Z = A·Wᵀ + b` with weight normalisation (Salimans &
/// Kingma 2016): each neuron's weight row is `w_j = g_j·v_j/‖v_j‖`, a
/// direction `v_j` and a length `g_j` learned separately.
///
/// The layer reports itself as a dense layer whose weight is the effective
/// `W` (so the analyzer reads `∂L/∂W`, the same quantity as for
/// [`Linear`]); its parameters are `weight_v` `(out, in)`, `weight_g`
/// `(out)` and `bias` `(out)`. Rescaling a row `v_j` leaves the function
/// unchanged.
///
/// ```
/// use gradsign::nn::{self, Init, Linear, WeightNormLinear};
/// use gradsign::{Tape, Tensor};
/// let dense = Linear::<f64>::init(3, 2, Init::LecunNormal, true, 4)?;
/// let wn = WeightNormLinear::from_linear(&dense)?; // the same function
/// let x = Tensor::rand_uniform(&[5, 3], -1.0, 1.0, 1)?;
/// let a = nn::predict(&dense, &x)?;
/// let b = nn::predict(&wn, &x)?;
/// assert!(a.as_slice().iter().zip(b.as_slice()).all(|(p, q)| (p - q).abs() < 1e-12));
/// # Ok::<(), gradsign::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct WeightNormLinear<F: Element> {
    /// The directions `v` `(out, in)`; no row may be zero.
    pub v: Tensor<F>,
    /// The lengths `g` `(out)`.
    pub g: Tensor<F>,
    /// The bias `(out)`, if any.
    pub bias: Option<Tensor<F>>,
}

impl<F: Element> WeightNormLinear<F> {
    /// A layer from its directions `(out, in)`, lengths `(out)` and
    /// optional bias `(out)`.
    ///
    /// # Errors
    /// [`Error::RankMismatch`] if `v` is not a matrix;
    /// [`Error::ShapeMismatch`] if `g` or the bias is not `(out)`;
    /// [`Error::OutOfDomain`] for a zero dimension, or a row of `v` that is
    /// zero or not finite.
    pub fn new(v: Tensor<F>, g: Tensor<F>, bias: Option<Tensor<F>>) -> Result<Self> {
        let op = "WeightNormLinear::new";
        let lin = Linear::new(v, bias)?;
        let (out, inp) = (lin.fan_out(), lin.fan_in());
        if g.shape() != Shape::vector(out) {
            return Err(Error::ShapeMismatch {
                op,
                lhs: lin.weight.shape(),
                rhs: g.shape(),
                reason: "the lengths g must be (out)",
            });
        }
        for (j, row) in lin.weight.as_slice().chunks_exact(inp).enumerate() {
            if !row.iter().all(|x| x.is_finite()) || row.iter().all(|&x| x == F::zero()) {
                return Err(Error::out_of_domain(
                    op,
                    format!("row {j} of v"),
                    "finite and non-zero (else its direction is undefined)",
                    "zero or not finite",
                ));
            }
        }
        Ok(WeightNormLinear {
            v: lin.weight,
            g,
            bias: lin.bias,
        })
    }

    /// The weight-normalised form of a dense layer, computing the same
    /// function: `v = W`, `g_j = ‖W_j‖`.
    ///
    /// # Errors
    /// As [`new`](Self::new): a zero row of `W` has no direction.
    pub fn from_linear(dense: &Linear<F>) -> Result<Self> {
        let inp = dense.fan_in();
        let norms: Vec<F> = dense
            .weight
            .as_slice()
            .chunks_exact(inp)
            .map(|r| {
                let m = r.iter().fold(F::zero(), |a, &x| a.max(x.abs()));
                if m == F::zero() {
                    F::zero()
                } else {
                    m * r
                        .iter()
                        .fold(F::zero(), |a, &x| a + (x / m) * (x / m))
                        .sqrt()
                }
            })
            .collect();
        let g = Tensor::from_vec(norms, &[dense.fan_out()])?;
        Self::new(dense.weight.clone(), g, dense.bias.clone())
    }

    /// A layer `fan_in → fan_out` whose directions are drawn by `init` from
    /// `seed`, with `g_j = ‖v_j‖` (so the initial weight is the drawn one)
    /// and a zero bias if `bias`.
    ///
    /// # Errors
    /// [`Error::OutOfDomain`] if a size is zero or the draw gives a zero
    /// row (e.g. [`Init::Zeros`]); [`Error::TooLarge`] if the weights cannot
    /// be allocated.
    pub fn init(fan_in: usize, fan_out: usize, init: Init, bias: bool, seed: u64) -> Result<Self> {
        Self::from_linear(&Linear::init(fan_in, fan_out, init, bias, seed)?)
    }

    /// The number of inputs.
    pub fn fan_in(&self) -> usize {
        self.v.dims()[1]
    }

    /// The number of outputs.
    pub fn fan_out(&self) -> usize {
        self.v.dims()[0]
    }

    /// The effective weight `W`, `w_j = g_j·v_j/‖v_j‖`.
    ///
    /// # Errors
    /// [`Error::OutOfDomain`] if a row of `v` became zero or not finite
    /// (after an assignment to the public field).
    pub fn weight(&self) -> Result<Tensor<F>> {
        let tape = crate::autodiff::Tape::<F>::new();
        let v = tape.constant(&self.v);
        let g = tape.constant(&self.g);
        Ok(v.weight_norm(g)?.value())
    }
}

impl<F: Element> Module<F> for WeightNormLinear<F> {
    /// `W = weight_norm(v, g)`, then `Z = A·Wᵀ + b`, reported as a dense
    /// layer (input `A`, pre-activation `Z`, weight `W`).
    ///
    /// # Errors
    /// [`Error::RankMismatch`] if `input` is not `(batch, in)`;
    /// [`Error::ShapeMismatch`] if its width is not the fan-in;
    /// [`Error::Empty`] for an empty batch; [`Error::OutOfDomain`] if a
    /// row of `v` is zero in the tape's type (`1e-50` in an `f32` pass);
    /// [`Error::ForeignVar`].
    fn forward<'t, E: ModelElement>(
        &self,
        input: Var<'t, E>,
        ctx: &mut Forward<'t, '_, F, E>,
    ) -> Result<Var<'t, E>> {
        let op = "WeightNormLinear::forward";
        let s = input.shape();
        let &[rows, width] = s.dims() else {
            return Err(Error::RankMismatch {
                op,
                expected: "2 (batch, in) for the input",
                shape: s,
            });
        };
        if width != self.fan_in() {
            return Err(Error::ShapeMismatch {
                op,
                lhs: s,
                rhs: self.v.shape(),
                reason: "the input's width must equal the layer's fan-in (v is (out, in))",
            });
        }
        if rows == 0 {
            return Err(Error::Empty { op, shape: s });
        }
        let v = ctx.param(&self.v)?;
        let g = ctx.param(&self.g)?;
        let bias = self.bias.as_ref().map(|b| ctx.param(b)).transpose()?;
        let w = v.weight_norm(g)?;
        let z = input.linear(w, bias)?;
        ctx.record_dense(input, z, w, bias);
        Ok(z)
    }

    fn visit(&self, v: &mut Visitor<'_, F>) -> Result<()> {
        v.param("weight_v", &self.v)?;
        v.param("weight_g", &self.g)?;
        match &self.bias {
            Some(b) => v.param("bias", b),
            None => Ok(()),
        }
    }

    fn visit_mut(&mut self, v: &mut VisitorMut<'_, F>) -> Result<()> {
        v.param("weight_v", &mut self.v)?;
        v.param("weight_g", &mut self.g)?;
        match &mut self.bias {
            Some(b) => v.param("bias", b),
            None => Ok(()),
        }
    }
}

/// A 2-D convolution ([`Conv2d`]) with weight normalisation per output
/// channel: filter `o` is `w_o = g_o·v_o/‖v_o‖`, the norm taken over its
/// `C·kh·kw` entries (PyTorch's `weight_norm(conv, dim=0)`).
///
/// On the tape `v` `(O, C, kh, kw)` is viewed as the `(O, C·kh·kw)` matrix
/// of flattened filters, normalised row by row with
/// [`Var::weight_norm`], viewed back as `OIHW` and convolved: the VJP is
/// that op's composed with the convolution's. The layer reports itself as
/// a convolution whose weight is the effective `W` (as [`Conv2d`] does with
/// its parameter), so the analyzer reads `∂L/∂W`. Its parameters are
/// `weight_v` `(O, C, kh, kw)`, `weight_g` `(O)` and `bias` `(O)`.
/// Rescaling a filter `v_o` leaves the function unchanged.
///
/// ```
/// use gradsign::nn::{self, Conv2d, Init, WeightNormConv2d};
/// use gradsign::ops::conv::Window;
/// use gradsign::Tensor;
/// let conv = Conv2d::<f64>::init(2, 3, (3, 3), Init::HeNormal, true, 4)?
///     .with_window(Window::default().padding(1));
/// let wn = WeightNormConv2d::from_conv(&conv)?; // the same function
/// let x = Tensor::rand_uniform(&[2, 2, 5, 5], 0.0, 1.0, 1)?;
/// let a = nn::predict(&conv, &x)?;
/// let b = nn::predict(&wn, &x)?;
/// assert!(a.as_slice().iter().zip(b.as_slice()).all(|(p, q)| (p - q).abs() < 1e-12));
/// # Ok::<(), gradsign::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct WeightNormConv2d<F: Element> {
    /// The directions `v` `(O, C, kh, kw)`; no filter may be zero.
    pub v: Tensor<F>,
    /// The lengths `g` `(O)`.
    pub g: Tensor<F>,
    /// One bias per out-channel `(O)`, if any.
    pub bias: Option<Tensor<F>>,
    /// Stride, padding and dilation.
    pub window: Window,
}

impl<F: Element> WeightNormConv2d<F> {
    /// A layer from its directions `(O, C, kh, kw)`, lengths `(O)` and
    /// optional bias `(O)`, stride 1 and no padding (see
    /// [`with_window`](Self::with_window)).
    ///
    /// # Errors
    /// As [`Conv2d::new`] ([`Error::RankMismatch`], [`Error::Empty`],
    /// [`Error::ShapeMismatch`] for the bias); [`Error::ShapeMismatch`] if
    /// `g` is not `(O)`; [`Error::OutOfDomain`] for a filter of `v` that is
    /// zero or not finite.
    pub fn new(v: Tensor<F>, g: Tensor<F>, bias: Option<Tensor<F>>) -> Result<Self> {
        let op = "WeightNormConv2d::new";
        let conv = Conv2d::new(v, bias)?;
        let (out, _, _) = conv.dims();
        if g.shape() != Shape::vector(out) {
            return Err(Error::ShapeMismatch {
                op,
                lhs: conv.weight.shape(),
                rhs: g.shape(),
                reason: "the lengths g must be (O), one per out-channel (axis 0 of v)",
            });
        }
        let per_filter = conv.weight.numel() / out;
        for (o, filter) in conv.weight.as_slice().chunks_exact(per_filter).enumerate() {
            if !filter.iter().all(|x| x.is_finite()) || filter.iter().all(|&x| x == F::zero()) {
                return Err(Error::out_of_domain(
                    op,
                    format!("filter {o} of v"),
                    "finite and non-zero (else its direction is undefined)",
                    "zero or not finite",
                ));
            }
        }
        Ok(WeightNormConv2d {
            v: conv.weight,
            g,
            bias: conv.bias,
            window: conv.window,
        })
    }

    /// The weight-normalised form of a convolution, computing the same
    /// function: `v = W`, `g_o = ‖W_o‖`, the same bias and window.
    ///
    /// # Errors
    /// As [`new`](Self::new): a zero filter of `W` has no direction.
    pub fn from_conv(conv: &Conv2d<F>) -> Result<Self> {
        let (out, c, (kh, kw)) = conv.dims();
        let flat = Linear::new(conv.weight.clone().reshape(&[out, c * kh * kw])?, None)?;
        let g = WeightNormLinear::from_linear(&flat)?.g;
        Ok(Self::new(conv.weight.clone(), g, conv.bias.clone())?.with_window(conv.window))
    }

    /// A layer `in_channels → out_channels` with `kernel` filters drawn as
    /// [`Conv2d::init`] draws them, `g_o = ‖v_o‖` (so the initial weight is
    /// the drawn one), and zero biases if `bias`.
    ///
    /// # Errors
    /// As [`Conv2d::init`]; [`Error::OutOfDomain`] if the draw gives a zero
    /// filter (e.g. [`Init::Zeros`]).
    pub fn init(
        in_channels: usize,
        out_channels: usize,
        kernel: (usize, usize),
        init: Init,
        bias: bool,
        seed: u64,
    ) -> Result<Self> {
        Self::from_conv(&Conv2d::init(
            in_channels,
            out_channels,
            kernel,
            init,
            bias,
            seed,
        )?)
    }

    /// The same layer with stride, padding and dilation `window`.
    #[must_use]
    pub fn with_window(mut self, window: Window) -> Self {
        self.window = window;
        self
    }

    /// Out-channels, in-channels and the kernel size.
    pub fn dims(&self) -> (usize, usize, (usize, usize)) {
        let d = self.v.dims();
        (d[0], d[1], (d[2], d[3]))
    }

    /// The effective filters `W` `(O, C, kh, kw)`, `w_o = g_o·v_o/‖v_o‖`.
    ///
    /// # Errors
    /// [`Error::OutOfDomain`] if a filter of `v` became zero or not finite
    /// (after an assignment to the public field); [`Error::RankMismatch`] /
    /// [`Error::ShapeMismatch`] if `v` or `g` no longer have their shapes.
    pub fn weight(&self) -> Result<Tensor<F>> {
        let tape = crate::autodiff::Tape::<F>::new();
        let v = tape.constant(&self.v);
        let g = tape.constant(&self.g);
        Ok(normalised_filters(v, g)?.value())
    }
}

/// `v` `(O, C, kh, kw)` normalised per out-channel with gains `g` `(O)`.
fn normalised_filters<'t, E: Element>(v: Var<'t, E>, g: Var<'t, E>) -> Result<Var<'t, E>> {
    let s = v.shape();
    let &[o, c, kh, kw] = s.dims() else {
        return Err(Error::RankMismatch {
            op: "WeightNormConv2d",
            expected: "4 (out channels, in channels, kernel height, kernel width) for v",
            shape: s,
        });
    };
    v.reshape(&[o, c * kh * kw])?
        .weight_norm(g)?
        .reshape(&[o, c, kh, kw])
}

impl<F: Element> Module<F> for WeightNormConv2d<F> {
    /// `W = weight_norm(v, g)` per out-channel, then the convolution of
    /// `input` with `W` and the bias, reported as a convolution (input,
    /// patches, pre-activation rows, weight `W`).
    ///
    /// # Errors
    /// As [`Var::conv2d`] for the input and window; [`Error::OutOfDomain`]
    /// if a filter of `v` is zero in the tape's type; [`Error::ForeignVar`].
    fn forward<'t, E: ModelElement>(
        &self,
        input: Var<'t, E>,
        ctx: &mut Forward<'t, '_, F, E>,
    ) -> Result<Var<'t, E>> {
        let v = ctx.param(&self.v)?;
        let g = ctx.param(&self.g)?;
        let bias = self.bias.as_ref().map(|b| ctx.param(b)).transpose()?;
        let weight = normalised_filters(v, g)?;
        super::conv::convolve(ctx, input, weight, bias, &self.window)
    }

    fn visit(&self, v: &mut Visitor<'_, F>) -> Result<()> {
        v.param("weight_v", &self.v)?;
        v.param("weight_g", &self.g)?;
        match &self.bias {
            Some(b) => v.param("bias", b),
            None => Ok(()),
        }
    }

    fn visit_mut(&mut self, v: &mut VisitorMut<'_, F>) -> Result<()> {
        v.param("weight_v", &mut self.v)?;
        v.param("weight_g", &mut self.g)?;
        match &mut self.bias {
            Some(b) => v.param("bias", b),
            None => Ok(()),
        }
    }
}
