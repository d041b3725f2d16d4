//! `Linear<F>`: a dense layer whose parameters live outside the tape.

use crate::autodiff::Var;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tensor::Tensor;

use super::Init;
use super::module::{Forward, ModelElement, Module, Visitor, VisitorMut};

/// A dense layer `Z = A·Wᵀ + b`.
///
/// The weight is stored `(out, in)`: row `j` is neuron `j`'s weights, which
/// is the unit the sign analysis reasons about. Parameters are plain
/// [`Tensor`]s outside any tape; each forward pass copies them onto the tape
/// as differentiable leaves, so after `backward` their gradients are looked
/// up through the returned [`Trace`](super::Trace).
///
/// ```
/// use gradsign::{nn::{self, Linear}, Tape, Tensor};
/// let layer = Linear::new(
///     Tensor::from_vec(vec![1.0, -1.0, 0.5, 0.5], &[2, 2])?,
///     Some(Tensor::from_vec(vec![0.0, 1.0], &[2])?),
/// )?;
/// let tape = Tape::<f64>::new();
/// let a = tape.constant(&Tensor::from_vec(vec![2.0, 4.0], &[1, 2])?);
/// let (z, trace) = nn::forward(&layer, &tape, a)?;
/// assert_eq!(z.value().as_slice(), &[-2.0, 4.0]); // [2−4, 1+2+1]
/// let grads = z.sum().backward()?;
/// // Every row of ∂L/∂W is δ_j·a: here δ = 1, so each row equals the input.
/// assert_eq!(grads.get(trace.layers()[0].weight)?, &[2.0, 4.0, 2.0, 4.0]);
/// # Ok::<(), gradsign::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Linear<F: Element> {
    /// The weight `W`, `(out, in)`.
    pub weight: Tensor<F>,
    /// The bias `b`, `(out)`, if any.
    pub bias: Option<Tensor<F>>,
}

impl<F: Element> Linear<F> {
    /// A layer from its weight `(out, in)` and optional bias `(out)`.
    ///
    /// # Errors
    /// [`Error::RankMismatch`] if the weight is not a matrix;
    /// [`Error::ShapeMismatch`] if the bias is not `(out)`;
    /// [`Error::InvalidArgument`] if a dimension is zero.
    pub fn new(weight: Tensor<F>, bias: Option<Tensor<F>>) -> Result<Self> {
        let ws = weight.shape();
        let &[out, inp] = ws.dims() else {
            return Err(Error::RankMismatch {
                op: "Linear::new",
                expected: "2 (out, in) for the weight",
                shape: ws,
            });
        };
        if out == 0 || inp == 0 {
            return Err(Error::out_of_domain(
                "Linear::new",
                "the weight's shape",
                "at least one output and one input",
                ws,
            ));
        }
        if let Some(b) = &bias
            && b.shape() != Shape::vector(out)
        {
            return Err(Error::ShapeMismatch {
                op: "Linear::new",
                lhs: ws,
                rhs: b.shape(),
                reason: "the bias must be (out)",
            });
        }
        Ok(Linear { weight, bias })
    }

    /// A layer `fan_in → fan_out` whose weight is drawn by `init` from
    /// `seed` and whose bias (if `bias`) starts at zero.
    ///
    /// ```
    /// use gradsign::nn::{Init, Linear};
    /// let layer = Linear::<f32>::init(3, 5, Init::GlorotUniform, true, 1)?;
    /// assert_eq!((layer.fan_in(), layer.fan_out()), (3, 5));
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if a size is zero.
    pub fn init(fan_in: usize, fan_out: usize, init: Init, bias: bool, seed: u64) -> Result<Self> {
        let weight = init.tensor(fan_out, fan_in, seed)?;
        let bias = if bias {
            Some(Tensor::zeros(&[fan_out])?)
        } else {
            None
        };
        Ok(Linear { weight, bias })
    }

    /// The number of inputs (columns of `W`).
    pub fn fan_in(&self) -> usize {
        self.weight.dims()[1]
    }

    /// The number of outputs, i.e. neurons (rows of `W`).
    pub fn fan_out(&self) -> usize {
        self.weight.dims()[0]
    }

    /// The number of scalar parameters.
    pub fn num_parameters(&self) -> usize {
        self.weight.numel() + self.bias.as_ref().map_or(0, Tensor::numel)
    }

    /// Checks that `input` is a non-empty `(batch, in)` matrix for this
    /// layer.
    fn check_input(&self, s: crate::shape::Shape) -> Result<()> {
        let &[rows, width] = s.dims() else {
            return Err(Error::RankMismatch {
                op: "Linear::forward",
                expected: "2 (batch, in) for the input",
                shape: s,
            });
        };
        if width != self.fan_in() {
            return Err(Error::ShapeMismatch {
                op: "Linear::forward",
                lhs: s,
                rhs: self.weight.shape(),
                reason: "the input's width must equal the layer's fan-in (the weight is (out, in))",
            });
        }
        if rows == 0 {
            return Err(Error::Empty {
                op: "Linear::forward",
                shape: s,
            });
        }
        Ok(())
    }
}

impl<F: Element> Module<F> for Linear<F> {
    /// Records `Z = A·Wᵀ + b` (one fused op) with the parameters as
    /// differentiable leaves, and reports the layer to the trace (input
    /// `A`, pre-activation `Z`). Allocates nothing once the tape is warm.
    ///
    /// # Errors
    /// [`Error::RankMismatch`] if `input` is not `(batch, in)`;
    /// [`Error::ShapeMismatch`] if its width is not [`fan_in`](Self::fan_in);
    /// [`Error::Empty`] for a batch of zero rows;
    /// [`Error::ForeignVar`] if `input` is from another tape.
    fn forward<'t, E: ModelElement>(
        &self,
        input: Var<'t, E>,
        ctx: &mut Forward<'t, '_, F, E>,
    ) -> Result<Var<'t, E>> {
        self.check_input(input.shape())?;
        let weight = ctx.param(&self.weight)?;
        let bias = match &self.bias {
            Some(b) => Some(ctx.param(b)?),
            None => None,
        };
        let z = input.linear(weight, bias)?;
        ctx.record_dense(input, z, weight, bias);
        Ok(z)
    }

    fn visit(&self, v: &mut Visitor<'_, F>) -> Result<()> {
        v.param("weight", &self.weight)?;
        match &self.bias {
            Some(b) => v.param("bias", b),
            None => Ok(()),
        }
    }

    fn visit_mut(&mut self, v: &mut VisitorMut<'_, F>) -> Result<()> {
        v.param("weight", &mut self.weight)?;
        match &mut self.bias {
            Some(b) => v.param("bias", b),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autodiff::Tape;

    #[test]
    fn a_bias_of_the_wrong_length_is_rejected() {
        let w = Tensor::<f64>::zeros(&[2, 3]).unwrap();
        let b = Tensor::<f64>::zeros(&[3]).unwrap();
        assert!(matches!(
            Linear::new(w, Some(b)),
            Err(Error::ShapeMismatch { .. })
        ));
    }

    #[test]
    fn forward_rejects_a_wrong_width_naming_both_shapes() {
        let layer = Linear::<f64>::init(3, 2, Init::Zeros, true, 0).unwrap();
        let tape = Tape::<f64>::new();
        let x = tape.constant(&Tensor::zeros(&[4, 2]).unwrap());
        let e = crate::nn::forward(&layer, &tape, x).unwrap_err();
        assert!(
            e.to_string().contains("[4, 2]") && e.to_string().contains("[2, 3]"),
            "{e}"
        );
    }

    #[test]
    fn forward_rejects_an_empty_batch() {
        let layer = Linear::<f64>::init(3, 2, Init::Zeros, false, 0).unwrap();
        let tape = Tape::<f64>::new();
        let x = tape.constant(&Tensor::zeros(&[0, 3]).unwrap());
        assert!(matches!(
            crate::nn::forward(&layer, &tape, x),
            Err(Error::Empty { .. })
        ));
    }
}
