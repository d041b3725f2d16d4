//! Curvature of any model: exact Hessian-vector products, Hessians,
//! Gauss–Newton and Fisher matrices ([`Objective`], forward-over-reverse on
//! [`Dual`](crate::dual::Dual) numbers), the spectrum of a layer's input
//! second moment, and natural-gradient / Gauss–Newton steps for small
//! models.
//!
//! Why it matters here: for a linear unit under squared loss the Hessian is
//! `E[x xᵀ] = Cov(x) + μμᵀ`. One-signed inputs have a large mean, which adds
//! one large eigenvalue along `μ`; gradient descent then needs about
//! `κ = λmax/λmin` steps, and the error along the top eigenvector flips sign
//! every step when `η > 1/λmax`: the zig-zag.

pub mod likelihood;
pub mod natural;
mod objective;
pub mod spectrum;

pub use likelihood::Likelihood;
pub use objective::Objective;
