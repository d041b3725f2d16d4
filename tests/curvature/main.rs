//! The curvature figures of issue 6: exact Hessian-vector products, the
//! spectrum of one-signed inputs, Efficient BackProp's example, the softmax
//! Hessian, and natural gradient's invariance to centring. One test target,
//! one module per topic.

mod dual;
mod hvp;
mod natural;
mod spectrum;
