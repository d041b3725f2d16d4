//! Numeric kernels on slices, private to the crate. The only module allowed
//! `unsafe`: it wraps the tuned matrix-multiply crate behind bounds-checked
//! safe functions. Element types reach them through
//! [`Element`](crate::Element); thread counts follow
//! [`threads`](crate::threads).

pub(crate) mod matmul;
pub(crate) mod vmath;
