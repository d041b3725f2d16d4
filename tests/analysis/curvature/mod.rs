//! The curvature tools: exact Hessian-vector products of any model, the
//! spectrum of one-signed inputs, Efficient BackProp's example, the softmax
//! Hessian, and natural gradient's invariance to centring. One module per
//! topic.

mod conv;
mod density;
mod dual;
mod hvp;
mod lanczos;
mod natural;
mod objective;
mod operators;
mod spectrum;
