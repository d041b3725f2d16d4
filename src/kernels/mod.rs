//! Numeric kernels on slices, private to the crate. The only module allowed
//! `unsafe`: it wraps the tuned matrix-multiply crate behind bounds-checked
//! safe functions, and calls the loops of [`bits`] and [`reduce`] compiled
//! for the instructions the CPU was found to have. Element types reach them
//! through [`Element`](crate::Element); thread counts follow
//! [`threads`](crate::threads).

pub(crate) mod bits;
pub(crate) mod matmul;
pub(crate) mod reduce;
pub(crate) mod vmath;
