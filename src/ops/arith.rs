//! Arithmetic: `+ - * /` (broadcasting), their scalar forms, element-wise
//! maximum and minimum, and the operator impls.
//!
//! Operators panic on shapes that do not broadcast, with the message of the
//! [`Error`](crate::Error) their `try_` twin returns.

use std::ops::{Add, Div, Mul, Neg, Sub};

use crate::autodiff::Var;
use crate::element::Element;
use crate::error::Result;

use super::{BinaryOp, UnaryOp};

/// `a + b`; ∂/∂a = 1, ∂/∂b = 1.
pub struct AddOp;
impl<F: Element> BinaryOp<F> for AddOp {
    const NAME: &'static str = "add";
    #[inline]
    fn f(a: F, b: F) -> F {
        a + b
    }
    #[inline]
    fn da(_: F, _: F, _: F) -> F {
        F::one()
    }
    #[inline]
    fn db(_: F, _: F, _: F) -> F {
        F::one()
    }
}

/// `a − b`; ∂/∂a = 1, ∂/∂b = −1.
pub struct SubOp;
impl<F: Element> BinaryOp<F> for SubOp {
    const NAME: &'static str = "sub";
    #[inline]
    fn f(a: F, b: F) -> F {
        a - b
    }
    #[inline]
    fn da(_: F, _: F, _: F) -> F {
        F::one()
    }
    #[inline]
    fn db(_: F, _: F, _: F) -> F {
        -F::one()
    }
}

/// `a · b`; ∂/∂a = b, ∂/∂b = a.
pub struct MulOp;
impl<F: Element> BinaryOp<F> for MulOp {
    const NAME: &'static str = "mul";
    #[inline]
    fn f(a: F, b: F) -> F {
        a * b
    }
    #[inline]
    fn da(_: F, b: F, _: F) -> F {
        b
    }
    #[inline]
    fn db(a: F, _: F, _: F) -> F {
        a
    }
}

/// `a / b`; ∂/∂a = 1/b, ∂/∂b = −a/b².
pub struct DivOp;
impl<F: Element> BinaryOp<F> for DivOp {
    const NAME: &'static str = "div";
    #[inline]
    fn f(a: F, b: F) -> F {
        a / b
    }
    #[inline]
    fn da(_: F, b: F, _: F) -> F {
        b.recip()
    }
    #[inline]
    fn db(_: F, b: F, y: F) -> F {
        -y / b
    }
}

/// Element-wise `max(a, b)`. The gradient goes to the larger input; at a tie
/// it is split in half (so `max(x, x)` has derivative 1). NaN rule: if either
/// input is NaN the output is NaN and both partials are NaN, so a NaN is
/// never silently dropped.
pub struct MaximumOp;
impl<F: Element> BinaryOp<F> for MaximumOp {
    const NAME: &'static str = "maximum";
    #[inline]
    fn f(a: F, b: F) -> F {
        if a.is_nan() || b.is_nan() {
            F::nan()
        } else if a >= b {
            a
        } else {
            b
        }
    }
    #[inline]
    fn da(a: F, b: F, _: F) -> F {
        pick(a, b)
    }
    #[inline]
    fn db(a: F, b: F, _: F) -> F {
        pick(b, a)
    }
}

/// Element-wise `min(a, b)`: the mirror of [`MaximumOp`] (same tie and NaN
/// rules).
pub struct MinimumOp;
impl<F: Element> BinaryOp<F> for MinimumOp {
    const NAME: &'static str = "minimum";
    #[inline]
    fn f(a: F, b: F) -> F {
        if a.is_nan() || b.is_nan() {
            F::nan()
        } else if a <= b {
            a
        } else {
            b
        }
    }
    #[inline]
    fn da(a: F, b: F, _: F) -> F {
        pick(b, a)
    }
    #[inline]
    fn db(a: F, b: F, _: F) -> F {
        pick(a, b)
    }
}

/// The share of a max's gradient that goes to `x` when competing with `y`.
#[inline]
fn pick<F: Element>(x: F, y: F) -> F {
    if x.is_nan() || y.is_nan() {
        F::nan()
    } else if x > y {
        F::one()
    } else if x == y {
        F::from_f64(0.5)
    } else {
        F::zero()
    }
}

/// `x + c` for a constant `c = p.f[0]`; d/dx = 1.
pub struct AddScalar;
impl<F: Element> UnaryOp<F> for AddScalar {
    const NAME: &'static str = "add_scalar";
    type State = F;
    #[inline]
    fn f(x: F, c: F) -> F {
        x + c
    }
    #[inline]
    fn df(_: F, _: F, _: F) -> F {
        F::one()
    }
}

/// `x · c` for a constant `c = p.f[0]`; d/dx = c.
pub struct MulScalar;
impl<F: Element> UnaryOp<F> for MulScalar {
    const NAME: &'static str = "mul_scalar";
    type State = F;
    #[inline]
    fn f(x: F, c: F) -> F {
        x * c
    }
    #[inline]
    fn df(_: F, _: F, c: F) -> F {
        c
    }
}

/// `c − x` for a constant `c = p.f[0]`; d/dx = −1.
pub struct RsubScalar;
impl<F: Element> UnaryOp<F> for RsubScalar {
    const NAME: &'static str = "rsub_scalar";
    type State = F;
    #[inline]
    fn f(x: F, c: F) -> F {
        c - x
    }
    #[inline]
    fn df(_: F, _: F, _: F) -> F {
        -F::one()
    }
}

/// `c / x` for a constant `c = p.f[0]`; d/dx = −c/x² = −y/x.
pub struct RdivScalar;
impl<F: Element> UnaryOp<F> for RdivScalar {
    const NAME: &'static str = "rdiv_scalar";
    type State = F;
    #[inline]
    fn f(x: F, c: F) -> F {
        c / x
    }
    #[inline]
    fn df(x: F, y: F, _: F) -> F {
        -y / x
    }
}

/// `x / c` for a constant `c = p.f[0]`; d/dx = 1/c. A division, not a
/// product with `1/c`, so `x / 3.0` is the correctly rounded quotient.
pub struct DivScalar;
impl<F: Element> UnaryOp<F> for DivScalar {
    const NAME: &'static str = "div_scalar";
    type State = F;
    #[inline]
    fn f(x: F, c: F) -> F {
        x / c
    }
    #[inline]
    fn df(_: F, _: F, c: F) -> F {
        c.recip()
    }
}

impl<'t, F: Element> Var<'t, F> {
    /// `self + rhs` with broadcasting.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) if the shapes do
    /// not broadcast, [`Error::ForeignVar`](crate::Error::ForeignVar) if
    /// `rhs` is from another tape.
    pub fn try_add(self, rhs: Var<'t, F>) -> Result<Var<'t, F>> {
        self.try_binary::<AddOp>(rhs)
    }

    /// `self − rhs` with broadcasting.
    ///
    /// # Errors
    /// As [`try_add`](Self::try_add).
    pub fn try_sub(self, rhs: Var<'t, F>) -> Result<Var<'t, F>> {
        self.try_binary::<SubOp>(rhs)
    }

    /// `self · rhs` (element-wise) with broadcasting.
    ///
    /// ```
    /// use gradsign::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let a = tape.var(&Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2])?);
    /// let b = tape.var(&Tensor::from_vec(vec![10.0, 100.0], &[2])?);
    /// assert_eq!(a.try_mul(b)?.value().as_slice(), &[10.0, 200.0, 30.0, 400.0]);
    /// let c = tape.var(&Tensor::<f64>::zeros(&[3])?);
    /// assert!(a.try_mul(c).is_err());
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`try_add`](Self::try_add).
    pub fn try_mul(self, rhs: Var<'t, F>) -> Result<Var<'t, F>> {
        self.try_binary::<MulOp>(rhs)
    }

    /// `self / rhs` with broadcasting.
    ///
    /// # Errors
    /// As [`try_add`](Self::try_add).
    pub fn try_div(self, rhs: Var<'t, F>) -> Result<Var<'t, F>> {
        self.try_binary::<DivOp>(rhs)
    }

    /// Element-wise maximum with broadcasting (tie and NaN rules:
    /// [`MaximumOp`]).
    ///
    /// ```
    /// use gradsign::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let a = tape.var(&Tensor::from_vec(vec![1.0, 5.0], &[2])?);
    /// let b = tape.constant_scalar(3.0);
    /// assert_eq!(a.maximum(b)?.value().as_slice(), &[3.0, 5.0]);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`try_add`](Self::try_add).
    pub fn maximum(self, rhs: Var<'t, F>) -> Result<Var<'t, F>> {
        self.try_binary::<MaximumOp>(rhs)
    }

    /// Element-wise minimum with broadcasting (rules: [`MinimumOp`]).
    ///
    /// # Errors
    /// As [`try_add`](Self::try_add).
    pub fn minimum(self, rhs: Var<'t, F>) -> Result<Var<'t, F>> {
        self.try_binary::<MinimumOp>(rhs)
    }

    /// `self + c`.
    ///
    /// # Panics
    /// Only in checked mode, on a non-finite output; the `try_` twin returns
    /// that error. So do the other scalar methods and the operators with a
    /// scalar operand (`x + 1.0`, `2.0 * x`...).
    #[track_caller]
    pub fn add_scalar(self, c: F) -> Var<'t, F> {
        self.unary::<AddScalar>(c)
    }

    /// `self + c`, returning errors.
    ///
    /// # Errors
    /// [`Error::NonFinite`](crate::Error::NonFinite) in checked mode, on a
    /// non-finite output; so do the other scalar `try_` methods.
    pub fn try_add_scalar(self, c: F) -> Result<Var<'t, F>> {
        self.try_unary::<AddScalar>(c)
    }

    /// `self · c`.
    ///
    /// # Panics
    /// As [`add_scalar`](Self::add_scalar).
    #[track_caller]
    pub fn mul_scalar(self, c: F) -> Var<'t, F> {
        self.unary::<MulScalar>(c)
    }

    /// `self · c`, returning errors.
    ///
    /// # Errors
    /// As [`try_add_scalar`](Self::try_add_scalar).
    pub fn try_mul_scalar(self, c: F) -> Result<Var<'t, F>> {
        self.try_unary::<MulScalar>(c)
    }

    /// `self / c`.
    ///
    /// ```
    /// let tape = gradsign::Tape::<f64>::new();
    /// let x = tape.var_scalar(0.1);
    /// let y = (x / 7.0).item()?;
    /// assert_eq!(y, 0.1 / 7.0); // the correctly rounded quotient,
    /// assert_ne!(y, 0.1 * (1.0 / 7.0)); // which a product with 1/7 is not
    /// assert_eq!((x / 7.0).backward()?.get(x)?, &[1.0 / 7.0]);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Panics
    /// As [`add_scalar`](Self::add_scalar).
    #[track_caller]
    pub fn div_scalar(self, c: F) -> Var<'t, F> {
        self.unary::<DivScalar>(c)
    }

    /// `self / c`, returning errors.
    ///
    /// ```
    /// use gradsign::{Error, Tape};
    /// let mut tape = Tape::<f64>::new();
    /// tape.set_checked(true);
    /// let x = tape.var_scalar(1.0);
    /// let err = x.try_div_scalar(0.0).unwrap_err();
    /// assert!(matches!(err, Error::NonFinite { op: "div_scalar", .. }));
    /// ```
    ///
    /// # Errors
    /// As [`try_add_scalar`](Self::try_add_scalar).
    pub fn try_div_scalar(self, c: F) -> Result<Var<'t, F>> {
        self.try_unary::<DivScalar>(c)
    }

    /// `c − self`.
    ///
    /// # Panics
    /// As [`add_scalar`](Self::add_scalar).
    #[track_caller]
    pub fn rsub_scalar(self, c: F) -> Var<'t, F> {
        self.unary::<RsubScalar>(c)
    }

    /// `c − self`, returning errors.
    ///
    /// # Errors
    /// As [`try_add_scalar`](Self::try_add_scalar).
    pub fn try_rsub_scalar(self, c: F) -> Result<Var<'t, F>> {
        self.try_unary::<RsubScalar>(c)
    }

    /// `c / self`.
    ///
    /// # Panics
    /// As [`add_scalar`](Self::add_scalar).
    #[track_caller]
    pub fn rdiv_scalar(self, c: F) -> Var<'t, F> {
        self.unary::<RdivScalar>(c)
    }

    /// `c / self`, returning errors.
    ///
    /// # Errors
    /// As [`try_add_scalar`](Self::try_add_scalar).
    pub fn try_rdiv_scalar(self, c: F) -> Result<Var<'t, F>> {
        self.try_unary::<RdivScalar>(c)
    }

    /// `−self`, returning errors (the `-x` operator panics instead).
    ///
    /// # Errors
    /// As [`try_add_scalar`](Self::try_add_scalar) (a NaN or infinite input
    /// gives a non-finite output).
    pub fn try_neg(self) -> Result<Var<'t, F>> {
        self.try_unary::<super::unary::NegOp>(())
    }
}

macro_rules! var_operator {
    ($trait:ident, $method:ident, $try:ident, |$v:ident, $c:ident| $scalar:expr) => {
        impl<'t, F: Element> $trait<Var<'t, F>> for Var<'t, F> {
            type Output = Var<'t, F>;
            /// # Panics
            /// If the shapes do not broadcast or the operands come from
            /// different tapes (the message names the op and both shapes),
            /// or in checked mode on a non-finite output; the `try_` method
            /// returns that error instead.
            #[track_caller]
            fn $method(self, rhs: Var<'t, F>) -> Var<'t, F> {
                crate::error::or_panic(self.$try(rhs))
            }
        }
        impl<'t, F: Element> $trait<F> for Var<'t, F> {
            type Output = Var<'t, F>;
            /// # Panics
            /// Only in checked mode, on a non-finite output (see the
            /// `try_…_scalar` methods).
            #[track_caller]
            fn $method(self, rhs: F) -> Var<'t, F> {
                // Inlined rather than a closure, so that `#[track_caller]`
                // reaches the scalar method.
                let ($v, $c) = (self, rhs);
                $scalar
            }
        }
    };
}

var_operator!(Add, add, try_add, |v, c| v.add_scalar(c));
var_operator!(Sub, sub, try_sub, |v, c| v.add_scalar(-c));
var_operator!(Mul, mul, try_mul, |v, c| v.mul_scalar(c));
var_operator!(Div, div, try_div, |v, c| v.div_scalar(c));

macro_rules! scalar_lhs_operator {
    ($f:ty) => {
        impl<'t> Add<Var<'t, $f>> for $f {
            type Output = Var<'t, $f>;
            /// # Panics
            /// Only in checked mode, on a non-finite output.
            #[track_caller]
            fn add(self, rhs: Var<'t, $f>) -> Var<'t, $f> {
                rhs.add_scalar(self)
            }
        }
        impl<'t> Sub<Var<'t, $f>> for $f {
            type Output = Var<'t, $f>;
            /// # Panics
            /// Only in checked mode, on a non-finite output.
            #[track_caller]
            fn sub(self, rhs: Var<'t, $f>) -> Var<'t, $f> {
                rhs.rsub_scalar(self)
            }
        }
        impl<'t> Mul<Var<'t, $f>> for $f {
            type Output = Var<'t, $f>;
            /// # Panics
            /// Only in checked mode, on a non-finite output.
            #[track_caller]
            fn mul(self, rhs: Var<'t, $f>) -> Var<'t, $f> {
                rhs.mul_scalar(self)
            }
        }
        impl<'t> Div<Var<'t, $f>> for $f {
            type Output = Var<'t, $f>;
            /// # Panics
            /// Only in checked mode, on a non-finite output.
            #[track_caller]
            fn div(self, rhs: Var<'t, $f>) -> Var<'t, $f> {
                rhs.rdiv_scalar(self)
            }
        }
    };
}

scalar_lhs_operator!(f32);
scalar_lhs_operator!(f64);

impl<'t, F: Element> Neg for Var<'t, F> {
    type Output = Var<'t, F>;
    /// `−x` ([`NegOp`](super::unary::NegOp)); keeps the sign of zero.
    ///
    /// # Panics
    /// Only in checked mode, on a non-finite output
    /// ([`try_neg`](Var::try_neg) returns the error).
    #[track_caller]
    fn neg(self) -> Var<'t, F> {
        self.unary::<super::unary::NegOp>(())
    }
}
