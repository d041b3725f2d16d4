//! The state an op saves in its node for its backward rule.
//!
//! Each op names its own saved state: a small `Copy` type with named fields
//! (the slope of a leaky ReLU, the four dimensions of a batched product, the
//! group layout of a normalisation). The node stores it inline, packed into
//! two scalars and four integers ([`Slots`]), so recording an op allocates
//! nothing; only the op's [`Saved`] impl knows the packing, and its forward
//! and backward code read the fields by name.

use crate::element::Element;

/// The inline storage of a node's saved state: two scalars and four
/// integers. Only a [`Saved`] impl reads or writes it; op code uses its own
/// typed state.
///
/// ```
/// use gradsign::autodiff::Slots;
/// let s = Slots::<f64>::default();
/// assert_eq!((s.f, s.u), ([0.0; 2], [0; 4]));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Slots<F> {
    /// Scalar slots.
    pub f: [F; 2],
    /// Integer slots.
    pub u: [usize; 4],
}

/// A value an op saves for its backward rule, packed into the node's
/// [`Slots`] (no allocation) and read back by
/// [`BackwardCtx::saved`](super::BackwardCtx::saved).
///
/// Implemented for `()` (nothing saved), the element type `F` (one scalar,
/// such as a constant operand), a pair `(F, F)` and an `i32` (kept
/// exactly). A custom op with more to save
/// implements it for its own struct:
///
/// ```
/// use gradsign::autodiff::{Saved, Slots};
/// /// A clamp's bounds.
/// #[derive(Clone, Copy, Debug, PartialEq)]
/// struct Bounds {
///     lo: f64,
///     hi: f64,
/// }
/// impl Saved<f64> for Bounds {
///     fn pack(self) -> Slots<f64> {
///         Slots { f: [self.lo, self.hi], ..Slots::default() }
///     }
///     fn unpack(s: &Slots<f64>) -> Self {
///         Bounds { lo: s.f[0], hi: s.f[1] }
///     }
/// }
/// let b = Bounds { lo: -1.0, hi: 2.0 };
/// assert_eq!(Bounds::unpack(&b.pack()), b);
/// ```
///
/// `unpack` must invert `pack`. The backward rule reads the state as the
/// type it names; reading another op's type reads its slots reinterpreted
/// (safe, but wrong values), which debug builds catch with a panic naming
/// the op.
pub trait Saved<F>: Copy + Send + Sync + 'static {
    /// Packs the state into a node's slots.
    fn pack(self) -> Slots<F>;
    /// Reads it back.
    fn unpack(slots: &Slots<F>) -> Self;
}

impl<F: Element> Saved<F> for () {
    #[inline]
    fn pack(self) -> Slots<F> {
        Slots {
            f: [F::zero(); 2],
            u: [0; 4],
        }
    }
    #[inline]
    fn unpack(_: &Slots<F>) -> Self {}
}

impl<F: Element> Saved<F> for F {
    #[inline]
    fn pack(self) -> Slots<F> {
        Slots {
            f: [self, F::zero()],
            u: [0; 4],
        }
    }
    #[inline]
    fn unpack(s: &Slots<F>) -> Self {
        s.f[0]
    }
}

impl<F: Element> Saved<F> for (F, F) {
    #[inline]
    fn pack(self) -> Slots<F> {
        Slots {
            f: [self.0, self.1],
            u: [0; 4],
        }
    }
    #[inline]
    fn unpack(s: &Slots<F>) -> Self {
        (s.f[0], s.f[1])
    }
}

/// An integer, exactly (an `f32` slot would hold integers exactly only up
/// to 2²⁴).
impl<F: Element> Saved<F> for i32 {
    #[inline]
    fn pack(self) -> Slots<F> {
        Slots {
            f: [F::zero(); 2],
            u: [self as u32 as usize, 0, 0, 0],
        }
    }
    #[inline]
    fn unpack(s: &Slots<F>) -> Self {
        s.u[0] as u32 as i32
    }
}

/// Declares an op's saved state made of up to four `usize` fields, with its
/// [`Saved`] impl (the fields in the integer slots, in order).
macro_rules! saved_dims {
    ($(#[$meta:meta])* $vis:vis struct $name:ident { $($(#[$fmeta:meta])* $field:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        $vis struct $name {
            $($(#[$fmeta])* pub(crate) $field: usize,)+
        }
        impl<F: $crate::element::Element> $crate::autodiff::Saved<F> for $name {
            #[inline]
            fn pack(self) -> $crate::autodiff::Slots<F> {
                let mut u = [0usize; 4];
                let mut i = 0;
                $(u[i] = self.$field; i += 1;)+
                let _ = i;
                $crate::autodiff::Slots { f: [F::zero(); 2], u }
            }
            #[inline]
            fn unpack(s: &$crate::autodiff::Slots<F>) -> Self {
                let mut i = 0;
                $(let $field = s.u[i]; i += 1;)+
                let _ = i;
                $name { $($field,)+ }
            }
        }
    };
}
pub(crate) use saved_dims;

#[cfg(test)]
mod tests {
    use super::*;

    saved_dims!(struct Dims { a, b, c });

    #[test]
    fn packing_round_trips() {
        let d = Dims { a: 1, b: 2, c: 3 };
        let s: Slots<f32> = d.pack();
        assert_eq!(s.u, [1, 2, 3, 0]);
        assert_eq!(<Dims as Saved<f32>>::unpack(&s), d);
        assert_eq!(<f64 as Saved<f64>>::unpack(&2.5f64.pack()), 2.5);
        assert_eq!(<(f32, f32)>::unpack(&(1.0f32, -2.0f32).pack()), (1.0, -2.0));
        for n in [0, 1, -1, i32::MIN, i32::MAX, 16_777_217] {
            assert_eq!(<i32 as Saved<f32>>::unpack(&n.pack()), n);
        }
        let () = <() as Saved<f64>>::unpack(&().pack());
    }
}
