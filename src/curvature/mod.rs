//! Curvature of any model: exact Hessian-vector products, Hessians,
//! Gauss–Newton and Fisher matrices ([`Objective`], forward-over-reverse on
//! [`Dual`](crate::dual::Dual) numbers), the spectrum of a layer's input
//! second moment, and natural-gradient / Gauss–Newton steps for small
//! models; for models of any size, matrix-free [`Operator`]s and
//! [`lanczos`](lanczos::lanczos) for their extreme eigenpairs,
//! [`hutchinson`](density::hutchinson) for their trace and
//! [`slq`](density::slq) for their spectral density.
//!
//! Why it matters here: for a linear unit under squared loss the Hessian is
//! `E[x xᵀ] = Cov(x) + μμᵀ`. One-signed inputs have a large mean, which adds
//! one large eigenvalue along `μ`; gradient descent then needs about
//! `κ = λmax/λmin` steps, and the error along the top eigenvector flips sign
//! every step when `η > 1/λmax`: the zig-zag.

pub mod density;
pub mod lanczos;
pub mod likelihood;
pub mod natural;
mod objective;
mod operator;
pub mod spectrum;

use crate::error::{Error, Result};

/// A zeroed `d×d` buffer, or an error naming `op` when `d²` overflows or
/// cannot be allocated: matrix sizes here come from input shapes, and an
/// impossible one is bad input, not a reason to abort.
pub(crate) fn square_buffer<F: Clone + num_traits::Zero>(
    op: &'static str,
    d: usize,
) -> Result<Vec<F>> {
    let too_big = |why: String| Error::TooLarge {
        op,
        what: format!("a {d}×{d} matrix"),
        reason: why,
    };
    let n = d
        .checked_mul(d)
        .ok_or_else(|| too_big("it has more entries than a usize can count".into()))?;
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|e| too_big(e.to_string()))?;
    v.resize(n, F::zero());
    Ok(v)
}

pub use likelihood::Likelihood;
pub use natural::Curvature;
pub use objective::Objective;
pub use operator::{CurvatureOperator, DenseOperator, Operator};
