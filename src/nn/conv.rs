//! Convolutional layers over NCHW batches: [`Conv2d`], [`MaxPool2d`],
//! [`AvgPool2d`], [`Flatten`], and [`Reshape`] (feature rows to images).

use crate::autodiff::Var;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::ops::conv::Window;
use crate::tensor::Tensor;

use super::Init;
use super::module::{Forward, ModelElement, Module, Visitor, VisitorMut};

/// A 2-D convolution `y = x ⋆ W + b` over NCHW input (cross-correlation,
/// as in PyTorch), with filters `W` stored `OIHW`: `(out channels, in
/// channels, kernel height, kernel width)`.
///
/// It is a dense layer applied at every output position (the patch matrix
/// of the input times the flattened filters), which is how the sign
/// analysis reads it (see [`LayerTrace`](super::LayerTrace)); on the tape it
/// is one [`Var::conv2d`] op.
///
/// ```
/// use gradsign::{nn::{self, Conv2d, Init}, ops::conv::Window, Tape, Tensor};
/// // 1 → 4 channels, 3 × 3 kernels, padding 1 keeps 8 × 8.
/// let conv = Conv2d::<f64>::init(1, 4, (3, 3), Init::HeNormal, true, 7)?
///     .with_window(Window::default().padding(1));
/// let tape = Tape::new();
/// let x = tape.constant(&Tensor::rand_uniform(&[2, 1, 8, 8], 0.0, 1.0, 3)?);
/// let (y, trace) = nn::forward(&conv, &tape, x)?;
/// assert_eq!(y.value().dims(), &[2, 4, 8, 8]);
/// let grads = y.square().sum().backward()?;
/// let g = nn::named_gradients(&conv, &trace, &grads)?;
/// assert_eq!(g[0].0, "weight");
/// assert_eq!(g[0].1.len(), 4 * 9);
/// # Ok::<(), gradsign::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Conv2d<F: Element> {
    /// The filters, `(O, C, kh, kw)`.
    pub weight: Tensor<F>,
    /// One bias per out-channel, `(O)`, if any.
    pub bias: Option<Tensor<F>>,
    /// Stride, padding and dilation.
    pub window: Window,
}

impl<F: Element> Conv2d<F> {
    /// A layer from its filters `(O, C, kh, kw)` and optional bias `(O)`,
    /// stride 1 and no padding (see [`with_window`](Self::with_window)).
    ///
    /// # Errors
    /// [`Error::RankMismatch`] unless the weight has rank 4;
    /// [`Error::Empty`] if any of its sizes is zero; [`Error::ShapeMismatch`]
    /// if the bias is not `(O)`.
    pub fn new(weight: Tensor<F>, bias: Option<Tensor<F>>) -> Result<Self> {
        const OP: &str = "Conv2d::new";
        let ws = weight.shape();
        let &[o, ..] = ws.dims() else {
            return Err(Error::RankMismatch {
                op: OP,
                expected: "4 (out channels, in channels, kernel height, kernel width)",
                shape: ws,
            });
        };
        if ws.rank() != 4 {
            return Err(Error::RankMismatch {
                op: OP,
                expected: "4 (out channels, in channels, kernel height, kernel width)",
                shape: ws,
            });
        }
        if ws.numel() == 0 {
            return Err(Error::Empty { op: OP, shape: ws });
        }
        if let Some(b) = &bias
            && b.dims() != [o]
        {
            return Err(Error::ShapeMismatch {
                op: OP,
                lhs: ws,
                rhs: b.shape(),
                reason: "the bias needs one value per out-channel (axis 0 of the weight)",
            });
        }
        Ok(Conv2d {
            weight,
            bias,
            window: Window::default(),
        })
    }

    /// A layer with `init`'s filters, drawn as an `(O, C·kh·kw)` matrix
    /// from `seed` (so the fan-in is `C·kh·kw`, as PyTorch counts it, and
    /// the fan-out `O`, where PyTorch counts `O·kh·kw`: only the Glorot
    /// initialisers see the difference), and zero biases if `bias`.
    ///
    /// # Errors
    /// [`Error::OutOfDomain`] if a size is zero; [`Error::TooLarge`] if the
    /// sizes overflow or the weights cannot be allocated.
    pub fn init(
        in_channels: usize,
        out_channels: usize,
        kernel: (usize, usize),
        init: Init,
        bias: bool,
        seed: u64,
    ) -> Result<Self> {
        let fan_in = in_channels
            .checked_mul(kernel.0)
            .and_then(|v| v.checked_mul(kernel.1))
            .ok_or_else(|| Error::TooLarge {
                op: "Conv2d::init",
                what: format!("{in_channels} channels × {kernel:?} kernels"),
                reason: "the fan-in overflows a usize".into(),
            })?;
        let weight = init.tensor(out_channels, fan_in, seed)?.reshape(&[
            out_channels,
            in_channels,
            kernel.0,
            kernel.1,
        ])?;
        let bias = if bias {
            Some(Tensor::zeros(&[out_channels])?)
        } else {
            None
        };
        Conv2d::new(weight, bias)
    }

    /// The same layer with stride, padding and dilation `window`.
    #[must_use]
    pub fn with_window(mut self, window: Window) -> Self {
        self.window = window;
        self
    }

    /// Out-channels, in-channels and the kernel size.
    pub fn dims(&self) -> (usize, usize, (usize, usize)) {
        let d = self.weight.dims();
        (d[0], d[1], (d[2], d[3]))
    }
}

/// `input ⋆ weight (+ bias)`, reported to the trace as a convolution (its
/// patches, rows and positions per example), as every convolutional layer
/// records itself.
pub(crate) fn convolve<'t, F: Element, E: ModelElement>(
    ctx: &mut Forward<'t, '_, F, E>,
    input: Var<'t, E>,
    weight: Var<'t, E>,
    bias: Option<Var<'t, E>>,
    window: &Window,
) -> Result<Var<'t, E>> {
    let output = input.conv2d(weight, bias, window)?;
    let kernel = (weight.shape().dims()[2], weight.shape().dims()[3]);
    ctx.record_conv(input, output, weight, bias, kernel, window);
    Ok(output)
}

impl<F: Element> Module<F> for Conv2d<F> {
    fn forward<'t, E: ModelElement>(
        &self,
        input: Var<'t, E>,
        ctx: &mut Forward<'t, '_, F, E>,
    ) -> Result<Var<'t, E>> {
        let weight = ctx.param(&self.weight)?;
        let bias = match &self.bias {
            Some(b) => Some(ctx.param(b)?),
            None => None,
        };
        convolve(ctx, input, weight, bias, &self.window)
    }

    fn visit(&self, v: &mut Visitor<'_, F>) -> Result<()> {
        v.param("weight", &self.weight)?;
        if let Some(b) = &self.bias {
            v.param("bias", b)?;
        }
        Ok(())
    }

    fn visit_mut(&mut self, v: &mut VisitorMut<'_, F>) -> Result<()> {
        v.param("weight", &mut self.weight)?;
        if let Some(b) = &mut self.bias {
            v.param("bias", b)?;
        }
        Ok(())
    }
}

/// Max pooling over `kernel` windows ([`Var::max_pool2d`]; the gradient
/// goes to each window's first maximal element).
///
/// ```
/// use gradsign::{nn::{self, MaxPool2d}, Tape, Tensor};
/// let pool = MaxPool2d::new((2, 2)); // stride 2, as PyTorch's default
/// let tape = Tape::<f64>::new();
/// let x = tape.constant(&Tensor::zeros(&[1, 3, 28, 28])?);
/// assert_eq!(nn::forward(&pool, &tape, x)?.0.value().dims(), &[1, 3, 14, 14]);
/// # Ok::<(), gradsign::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaxPool2d {
    /// The window size.
    pub kernel: (usize, usize),
    /// Stride, padding and dilation.
    pub window: Window,
}

impl MaxPool2d {
    /// Windows of `kernel`, stride equal to the kernel (PyTorch's default),
    /// no padding.
    pub fn new(kernel: (usize, usize)) -> Self {
        MaxPool2d {
            kernel,
            window: Window {
                stride: kernel,
                ..Window::default()
            },
        }
    }

    /// The same pooling with stride, padding and dilation `window`.
    #[must_use]
    pub fn with_window(mut self, window: Window) -> Self {
        self.window = window;
        self
    }
}

impl<F: Element> Module<F> for MaxPool2d {
    fn forward<'t, E: ModelElement>(
        &self,
        input: Var<'t, E>,
        ctx: &mut Forward<'t, '_, F, E>,
    ) -> Result<Var<'t, E>> {
        let y = input.max_pool2d(self.kernel, &self.window)?;
        ctx.record_layer("max_pool2d", input, y);
        Ok(y)
    }

    fn visit(&self, _: &mut Visitor<'_, F>) -> Result<()> {
        Ok(())
    }

    fn visit_mut(&mut self, _: &mut VisitorMut<'_, F>) -> Result<()> {
        Ok(())
    }
}

/// Average pooling over `kernel` windows ([`Var::avg_pool2d`]).
///
/// ```
/// use gradsign::{nn::{self, AvgPool2d}, Tape, Tensor};
/// let pool = AvgPool2d::new((2, 2));
/// let tape = Tape::<f64>::new();
/// let x = tape.constant(&Tensor::full(&[1, 1, 4, 4], 3.0)?);
/// assert_eq!(nn::forward(&pool, &tape, x)?.0.value().as_slice(), &[3.0; 4]);
/// # Ok::<(), gradsign::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AvgPool2d {
    /// The window size.
    pub kernel: (usize, usize),
    /// Stride and padding (dilation must be 1).
    pub window: Window,
    /// Divide by the window size clipped to the padded input (PyTorch's
    /// default, `true`) rather than by the input elements covered.
    pub count_include_pad: bool,
}

impl AvgPool2d {
    /// Windows of `kernel`, stride equal to the kernel, no padding,
    /// `count_include_pad` (PyTorch's defaults).
    pub fn new(kernel: (usize, usize)) -> Self {
        AvgPool2d {
            kernel,
            window: Window {
                stride: kernel,
                ..Window::default()
            },
            count_include_pad: true,
        }
    }

    /// The same pooling with stride and padding `window`.
    #[must_use]
    pub fn with_window(mut self, window: Window) -> Self {
        self.window = window;
        self
    }
}

impl<F: Element> Module<F> for AvgPool2d {
    fn forward<'t, E: ModelElement>(
        &self,
        input: Var<'t, E>,
        ctx: &mut Forward<'t, '_, F, E>,
    ) -> Result<Var<'t, E>> {
        let y = input.avg_pool2d(self.kernel, &self.window, self.count_include_pad)?;
        ctx.record_layer("avg_pool2d", input, y);
        Ok(y)
    }

    fn visit(&self, _: &mut Visitor<'_, F>) -> Result<()> {
        Ok(())
    }

    fn visit_mut(&mut self, _: &mut VisitorMut<'_, F>) -> Result<()> {
        Ok(())
    }
}

/// Flattens every axis after the batch axis ([`Var::flatten`]): the bridge
/// from convolutions to dense layers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flatten;

impl<F: Element> Module<F> for Flatten {
    fn forward<'t, E: ModelElement>(
        &self,
        input: Var<'t, E>,
        ctx: &mut Forward<'t, '_, F, E>,
    ) -> Result<Var<'t, E>> {
        let y = input.flatten()?;
        ctx.record_layer("flatten", input, y);
        Ok(y)
    }

    fn visit(&self, _: &mut Visitor<'_, F>) -> Result<()> {
        Ok(())
    }

    fn visit_mut(&mut self, _: &mut VisitorMut<'_, F>) -> Result<()> {
        Ok(())
    }
}

/// Views each example as a tensor of shape `per_example` (the batch axis
/// kept): the bridge from feature rows, as a [`Dataset`](crate::data::Dataset)
/// holds them, to images. `Reshape::new(&[1, 8, 8])` turns a `(N, 64)`
/// batch into `(N, 1, 8, 8)`.
///
/// ```
/// use gradsign::{nn::{self, Reshape}, Tape, Tensor};
/// let tape = Tape::<f64>::new();
/// let x = tape.constant(&Tensor::zeros(&[5, 64])?);
/// let (y, _) = nn::forward(&Reshape::new(&[1, 8, 8])?, &tape, x)?;
/// assert_eq!(y.value().dims(), &[5, 1, 8, 8]);
/// # Ok::<(), gradsign::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reshape {
    dims: [usize; 3],
    rank: usize,
}

impl Reshape {
    /// A reshape of each example to `per_example` (rank 1 to 3, so that
    /// with the batch axis the result has rank at most 4).
    ///
    /// # Errors
    /// [`Error::OutOfDomain`] for an empty or longer `per_example`.
    pub fn new(per_example: &[usize]) -> Result<Self> {
        if per_example.is_empty() || per_example.len() > 3 {
            return Err(Error::out_of_domain(
                "Reshape::new",
                "the rank of an example's shape",
                "1 to 3 (the batch axis is added)",
                format_args!("{per_example:?}"),
            ));
        }
        let mut dims = [0; 3];
        dims[..per_example.len()].copy_from_slice(per_example);
        Ok(Reshape {
            dims,
            rank: per_example.len(),
        })
    }

    /// Each example's shape.
    pub fn per_example(&self) -> &[usize] {
        &self.dims[..self.rank]
    }
}

impl<F: Element> Module<F> for Reshape {
    fn forward<'t, E: ModelElement>(
        &self,
        input: Var<'t, E>,
        ctx: &mut Forward<'t, '_, F, E>,
    ) -> Result<Var<'t, E>> {
        let n = input.shape().dims().first().copied().unwrap_or(0);
        let mut dims = [n; 4];
        dims[1..=self.rank].copy_from_slice(self.per_example());
        let y = input.reshape(&dims[..=self.rank])?;
        ctx.record_layer("reshape", input, y);
        Ok(y)
    }

    fn visit(&self, _: &mut Visitor<'_, F>) -> Result<()> {
        Ok(())
    }

    fn visit_mut(&mut self, _: &mut VisitorMut<'_, F>) -> Result<()> {
        Ok(())
    }
}
