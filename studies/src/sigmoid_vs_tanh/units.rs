//! The hidden units, label codings and output units the comparison varies.

use gradsign::activation::Activation;
use gradsign::autodiff::Var;
use gradsign::error::Result;
use gradsign::nn::{Forward, ModelElement, Module, Visitor, VisitorMut};

/// A hidden unit of the comparison (see the module docs for the grid).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Hidden {
    /// `σ(x)`: range (0, 1), slope ¼ at 0.
    Sigmoid,
    /// `σ(x) − ½ = ½·tanh(x/2)`: centred, slope ¼.
    CentredSigmoid,
    /// `2σ(x)`: range (0, 2), slope ½.
    TwiceSigmoid,
    /// `2σ(x) − 1 = tanh(x/2)`: centred, slope ½.
    HalfTanh,
    /// `2σ(2x) = 1 + tanh x`: range (0, 2), slope 1.
    ShiftedTanh,
    /// `tanh x = 2σ(2x) − 1`: centred, slope 1.
    Tanh,
    /// `max(x, 0)`: non-negative, slope 1 for `x > 0`.
    Relu,
}

impl Hidden {
    /// Every unit, in the grid's order, ReLU last.
    pub const ALL: [Hidden; 7] = [
        Hidden::Sigmoid,
        Hidden::CentredSigmoid,
        Hidden::TwiceSigmoid,
        Hidden::HalfTanh,
        Hidden::ShiftedTanh,
        Hidden::Tanh,
        Hidden::Relu,
    ];

    /// The formula, for tables.
    pub fn formula(self) -> &'static str {
        match self {
            Hidden::Sigmoid => "σ(x)",
            Hidden::CentredSigmoid => "σ(x) − ½",
            Hidden::TwiceSigmoid => "2σ(x)",
            Hidden::HalfTanh => "tanh(x/2)",
            Hidden::ShiftedTanh => "1 + tanh x",
            Hidden::Tanh => "tanh x",
            Hidden::Relu => "relu x",
        }
    }

    /// Whether the unit is zero-centred (odd, `f(0) = 0`).
    pub fn is_centred(self) -> bool {
        matches!(
            self,
            Hidden::CentredSigmoid | Hidden::HalfTanh | Hidden::Tanh
        )
    }

    /// `f'(0)` (for ReLU, the slope on `x > 0`).
    pub fn slope_at_zero(self) -> f64 {
        match self {
            Hidden::Sigmoid | Hidden::CentredSigmoid => 0.25,
            Hidden::TwiceSigmoid | Hidden::HalfTanh => 0.5,
            Hidden::ShiftedTanh | Hidden::Tanh | Hidden::Relu => 1.0,
        }
    }

    /// The unit's uncentred or centred twin with the same slope (ReLU has
    /// none).
    pub fn twin(self) -> Option<Hidden> {
        match self {
            Hidden::Sigmoid => Some(Hidden::CentredSigmoid),
            Hidden::CentredSigmoid => Some(Hidden::Sigmoid),
            Hidden::TwiceSigmoid => Some(Hidden::HalfTanh),
            Hidden::HalfTanh => Some(Hidden::TwiceSigmoid),
            Hidden::ShiftedTanh => Some(Hidden::Tanh),
            Hidden::Tanh => Some(Hidden::ShiftedTanh),
            Hidden::Relu => None,
        }
    }

    /// The crate activation whose sign facts the unit shares, recorded in
    /// the trace.
    pub fn activation(self) -> Activation {
        match self {
            Hidden::Sigmoid | Hidden::TwiceSigmoid | Hidden::ShiftedTanh => Activation::Sigmoid,
            Hidden::CentredSigmoid | Hidden::HalfTanh => Activation::CentredSigmoid,
            Hidden::Tanh => Activation::Tanh,
            Hidden::Relu => Activation::Relu,
        }
    }

    /// Applies the unit on the tape: the crate's own op where there is one
    /// (σ, σ − ½, tanh, ReLU), else `a·σ(b·x) + c` from primitives.
    ///
    /// # Errors
    /// [`Error::NonFinite`](gradsign::Error::NonFinite) in checked mode.
    pub fn apply<'t, E: gradsign::Element>(self, z: Var<'t, E>) -> Result<Var<'t, E>> {
        let c = E::from_f64;
        match self {
            Hidden::Sigmoid => z.try_sigmoid(),
            Hidden::CentredSigmoid => z.try_centred_sigmoid(),
            Hidden::TwiceSigmoid => Ok(z.try_sigmoid()?.mul_scalar(c(2.0))),
            Hidden::HalfTanh => Ok(z.mul_scalar(c(0.5)).try_tanh()?),
            Hidden::ShiftedTanh => Ok(z.try_tanh()?.add_scalar(c(1.0))),
            Hidden::Tanh => z.try_tanh(),
            Hidden::Relu => Activation::Relu.apply(z),
        }
    }
}

/// A hidden unit is a layer: applied element-wise, reported to the trace as
/// the crate activation whose sign facts it shares.
impl<F: gradsign::Element> Module<F> for Hidden {
    fn forward<'t, E: ModelElement>(
        &self,
        x: Var<'t, E>,
        ctx: &mut Forward<'t, '_, F, E>,
    ) -> Result<Var<'t, E>> {
        let y = self.apply(x)?;
        ctx.record_activation(self.activation(), x, y);
        Ok(y)
    }

    fn visit(&self, _: &mut Visitor<'_, F>) -> Result<()> {
        Ok(())
    }

    fn visit_mut(&mut self, _: &mut VisitorMut<'_, F>) -> Result<()> {
        Ok(())
    }
}

/// How the two classes are written as targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Coding {
    /// Class 0 ↦ 0, class 1 ↦ 1.
    ZeroOne,
    /// Class 0 ↦ −½, class 1 ↦ ½: centred, the same spread as `0/1`.
    PlusMinusHalf,
    /// Class 0 ↦ −1, class 1 ↦ 1: the playground's labels.
    PlusMinusOne,
}

impl Coding {
    /// The targets of class 0 and class 1.
    pub fn values(self) -> (f64, f64) {
        match self {
            Coding::ZeroOne => (0.0, 1.0),
            Coding::PlusMinusHalf => (-0.5, 0.5),
            Coding::PlusMinusOne => (-1.0, 1.0),
        }
    }

    /// The coding's name, for tables.
    pub fn name(self) -> &'static str {
        match self {
            Coding::ZeroOne => "0/1",
            Coding::PlusMinusHalf => "±½",
            Coding::PlusMinusOne => "±1",
        }
    }
}

/// The output unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Output {
    /// `tanh`, as in the playground (for `±1` targets).
    Tanh,
    /// The identity, so the label coding is the only thing that changes.
    Linear,
}

/// One network setting: what the comparison varies.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Setting {
    /// The hidden unit.
    pub hidden: Hidden,
    /// The output unit.
    pub output: Output,
    /// The label coding.
    pub coding: Coding,
    /// The SGD learning rate.
    pub learning_rate: f64,
}

impl Setting {
    /// The playground's setting with the given hidden unit: tanh output,
    /// `±1` labels, learning rate 0.03.
    pub fn playground(hidden: Hidden) -> Self {
        Setting {
            hidden,
            output: Output::Tanh,
            coding: Coding::PlusMinusOne,
            learning_rate: 0.03,
        }
    }
}
