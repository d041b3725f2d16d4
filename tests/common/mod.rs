//! Losses written from primitives, shared by the integration tests until
//! the crate's loss module lands.
#![allow(dead_code)]

use gradsign::{Element, Result, Var};

/// Mean softmax cross-entropy of `logits` (B × C) against class `labels`:
/// `L = −(1/B) Σ_n log softmax(z_n)[y_n]`, with
/// `log softmax(z) = (z − m) − ln Σ_c exp(z_c − m)` and `m = max_c z_c` a
/// constant (the shift leaves the value and the gradient unchanged and
/// keeps `exp` from overflowing). The label entries are picked by a
/// constant one-hot mask.
pub fn softmax_cross_entropy<'t, F: Element>(
    logits: Var<'t, F>,
    labels: &[usize],
) -> Result<Var<'t, F>> {
    let tape = logits.tape();
    let dims = logits.dims();
    let (b, c) = (dims[0], dims[1]);
    let z = logits.value();
    let max: Vec<F> = z
        .as_slice()
        .chunks_exact(c)
        .map(|row| row.iter().copied().fold(F::neg_infinity(), F::max))
        .collect();
    let m = tape.constant_from_slice(&max, &[b, 1])?;
    let mut mask = vec![F::zero(); b * c];
    for (n, &y) in labels.iter().enumerate() {
        mask[n * c + y] = F::one();
    }
    let mask = tape.constant_from_slice(&mask, &[b, c])?;
    let shifted = logits.try_sub(m)?;
    let lse = shifted.exp().sum_axis(1, true)?.ln();
    let log_p = shifted.try_sub(lse)?;
    Ok(-(log_p * mask).sum() * F::from_f64(1.0 / b as f64))
}

/// Mean squared error `mean((out − target)²)`.
pub fn mse<'t, F: Element>(out: Var<'t, F>, target: Var<'t, F>) -> Result<Var<'t, F>> {
    out.try_sub(target)?.square().mean()
}
