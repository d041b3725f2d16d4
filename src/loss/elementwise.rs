//! The machinery shared by the element-wise losses: a loss is written once as
//! its per-element value and two partial derivatives, and recorded as one
//! fused op `scale·Σᵢ ℓ(xᵢ, tᵢ)` with a scalar output.

use crate::autodiff::{BackwardCtx, Var};
use crate::element::Element;
use crate::error::{Error, Result};
use crate::shape::Shape;

use super::Reduction;

/// A loss that is a sum of per-element terms `ℓ(x, t)` of a prediction `x`
/// and a target `t`, with one scalar parameter `c` (Huber's δ; unused by the
/// others).
pub(super) trait ElementLoss<F: Element> {
    /// The loss's name, used on the tape and in errors.
    const NAME: &'static str;
    /// `ℓ(x, t)`.
    fn loss(x: F, t: F, c: F) -> F;
    /// `∂ℓ/∂x`.
    fn d_pred(x: F, t: F, c: F) -> F;
    /// `∂ℓ/∂t`.
    fn d_target(x: F, t: F, c: F) -> F;
}

/// Backward of `y = s·Σ ℓ(xᵢ, tᵢ)` (the saved state is `(s, c)`, the
/// reduction's scale and the loss's constant): `dxᵢ += g·s·∂ℓ/∂x`,
/// `dtᵢ += g·s·∂ℓ/∂t`.
fn element_loss_backward<F: Element, L: ElementLoss<F>>(ctx: &mut BackwardCtx<'_, F>) {
    let (scale, c): (F, F) = ctx.saved();
    let (x, t) = (ctx.input(0), ctx.input(1));
    let gs = ctx.grad_out()[0] * scale;
    if let Some(gx) = ctx.grad_input(0) {
        for ((g, &xi), &ti) in gx.iter_mut().zip(x).zip(t) {
            *g += gs * L::d_pred(xi, ti, c);
        }
    }
    if let Some(gt) = ctx.grad_input(1) {
        for ((g, &xi), &ti) in gt.iter_mut().zip(x).zip(t) {
            *g += gs * L::d_target(xi, ti, c);
        }
    }
}

/// Records the element-wise loss `L` of `pred` against `target`.
///
/// # Errors
/// [`Error::ShapeMismatch`] unless the shapes are equal; [`Error::Empty`]
/// for the mean of an empty tensor; [`Error::ForeignVar`] if the two come
/// from different tapes; [`Error::NonFinite`] in checked mode.
pub(super) fn element_loss<'t, F: Element, L: ElementLoss<F>>(
    pred: Var<'t, F>,
    target: Var<'t, F>,
    reduction: Reduction,
    c: F,
) -> Result<Var<'t, F>> {
    let (sp, st) = (pred.shape(), target.shape());
    if sp != st {
        return Err(Error::ShapeMismatch {
            op: L::NAME,
            lhs: sp,
            rhs: st,
            reason: "the prediction and the target must have the same shape",
        });
    }
    let scale = reduction.scale::<F>(L::NAME, sp.numel(), sp)?;
    pred.tape().record(
        L::NAME,
        &[pred, target],
        Shape::scalar(),
        (scale, c),
        element_loss_backward::<F, L>,
        |out, inp| {
            let (x, t) = (inp.value(0), inp.value(1));
            let mut total = F::zero();
            for (&xi, &ti) in x.iter().zip(t) {
                total += L::loss(xi, ti, c);
            }
            out[0] = total * scale;
            if !out[0].is_finite() && scale != F::one() {
                // The running sum overflowed, or a term is infinite: the
                // mean of finite terms is finite, so sum the scaled terms
                // (an infinite or NaN term stays so).
                out[0] = x
                    .iter()
                    .zip(t)
                    .fold(F::zero(), |a, (&xi, &ti)| a + L::loss(xi, ti, c) * scale);
            }
        },
    )
}

/// The first element of `v` that fails `ok`, as an error naming `op`.
pub(super) fn check_values<F: Element>(
    op: &'static str,
    v: Var<'_, F>,
    what: &str,
    domain: &str,
    ok: impl Fn(F) -> bool,
) -> Result<()> {
    let bad = v.with_value(|xs| xs.iter().position(|&x| !ok(x)).map(|i| (i, xs[i])));
    match bad {
        None => Ok(()),
        Some((i, x)) => Err(Error::out_of_domain(
            op,
            format!("{what} (element {i} of shape {})", v.shape()),
            domain,
            x,
        )),
    }
}
