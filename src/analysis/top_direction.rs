//! The top eigenpair of a batch's second moment `E[ã ãᵀ]`, the direction
//! whose component the tracker follows over training.

use crate::curvature::spectrum::Spectrum;
use crate::dynamics::try_filled;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// The largest eigenvalue of `M = (1/B)·ÃᵀÃ` for the rows `ã_n = a_n` (or
/// `[a_n, 1]` with `bias`) of a `B×K` batch, and its unit eigenvector, signed
/// as [`Spectrum`] signs them (components summing to a non-negative number).
///
/// When the row length `d` exceeds `B`, the eigenpair comes from the `B×B`
/// Gram matrix `G = (1/B)·ÃÃᵀ` instead: `G` and `M` share their non-zero
/// eigenvalues, and `Gu = λu` gives `M(Ãᵀu) = λ(Ãᵀu)`. For a first layer
/// (`d` = 785, `B` = 128) that is a 128×128 eigenproblem instead of a
/// 785×785 one.
///
/// Returns `None` when `λmax = 0` (all inputs zero and no bias column): there
/// is no direction to follow.
///
/// # Errors
/// [`Error::NonFinite`] on a non-finite input; [`Error::InvalidArgument`]
/// when the eigenproblem would exceed
/// [`MAX_CURVATURE_INPUTS`](super::MAX_CURVATURE_INPUTS) or a buffer cannot
/// be allocated.
pub(crate) fn top_eigenpair<F: Element>(
    inputs: &[F],
    batch: usize,
    fan_in: usize,
    bias: bool,
) -> Result<Option<(f64, Vec<f64>)>> {
    let d = fan_in + usize::from(bias);
    if let Some(i) = inputs.iter().position(|x| !x.is_finite()) {
        return Err(Error::NonFinite {
            op: "observe",
            what: format!(
                "{} at row {}, column {} of the inputs, needed for the top eigenvector of E[a aᵀ]",
                inputs[i],
                i / fan_in.max(1),
                i % fan_in.max(1)
            ),
        });
    }
    let n = d.min(batch);
    if n > super::MAX_CURVATURE_INPUTS {
        return Err(Error::TooLarge {
            op: "observe",
            what: format!(
                "the top eigenvector of E[a aᵀ] for {batch} examples of {d} inputs \
                 (a {n}×{n} eigendecomposition)"
            ),
            reason: format!(
                "it is beyond the limit of {} (gradsign::analysis::MAX_CURVATURE_INPUTS): use \
                 TopEigenvector::Off for this layer or a smaller batch",
                super::MAX_CURVATURE_INPUTS
            ),
        });
    }
    // B×d ≤ the inputs' length plus B (the bias column): no overflow.
    let what = "the rows for the top eigenvector";
    let mut rows = try_filled("observe", what, batch * d, 1.0)?;
    for (row, a) in rows
        .chunks_exact_mut(d)
        .zip(inputs.chunks_exact(fan_in.max(1)))
    {
        for (r, &x) in row.iter_mut().zip(a) {
            *r = x.to_f64();
        }
    }
    let scale = 1.0 / batch as f64;
    let mut v = vec![0.0; d];
    let lambda = if d <= batch {
        let mut m = try_filled("observe", what, d * d, 0.0)?;
        for row in rows.chunks_exact(d) {
            for i in 0..d {
                for j in 0..=i {
                    m[i * d + j] += row[i] * row[j];
                }
            }
        }
        mirror(&mut m, d, scale);
        let s = Spectrum::of(&Tensor::from_vec(m, &[d, d])?)?;
        v.copy_from_slice(&s.top_eigenvector());
        s.largest()
    } else {
        let mut g = try_filled("observe", what, batch * batch, 0.0)?;
        for i in 0..batch {
            let ri = &rows[i * d..(i + 1) * d];
            for j in 0..=i {
                let rj = &rows[j * d..(j + 1) * d];
                g[i * batch + j] = ri.iter().zip(rj).map(|(a, b)| a * b).sum();
            }
        }
        mirror(&mut g, batch, scale);
        let s = Spectrum::of(&Tensor::from_vec(g, &[batch, batch])?)?;
        let u = s.top_eigenvector();
        for (row, &un) in rows.chunks_exact(d).zip(&u) {
            for (vi, &a) in v.iter_mut().zip(row) {
                *vi += un * a;
            }
        }
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm > 0.0 {
            let sum: f64 = v.iter().sum();
            let first = v.iter().copied().find(|x| *x != 0.0).unwrap_or(1.0);
            let sign = if sum > 0.0 || (sum == 0.0 && first > 0.0) {
                1.0
            } else {
                -1.0
            };
            v.iter_mut().for_each(|x| *x = sign * (*x / norm));
        }
        s.largest()
    };
    let usable = lambda > 0.0 && v.iter().any(|x| *x != 0.0);
    Ok(usable.then_some((lambda, v)))
}

/// Scales the lower triangle of an `n×n` matrix by `scale` and mirrors it.
fn mirror(m: &mut [f64], n: usize, scale: f64) {
    for i in 0..n {
        for j in 0..=i {
            let v = m[i * n + j] * scale;
            m[i * n + j] = v;
            m[j * n + i] = v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::curvature::spectrum::second_moment;

    /// The pair against the full eigendecomposition of `E[ã ãᵀ]`.
    fn agrees_with_spectrum(batch: usize, fan_in: usize, bias: bool, seed: u64) {
        let a = Tensor::<f64>::rand_uniform(&[batch, fan_in], 0.0, 1.0, seed).unwrap();
        let (lambda, v) = top_eigenpair(a.as_slice(), batch, fan_in, bias)
            .unwrap()
            .unwrap();
        let s = Spectrum::of(&second_moment(&a, bias).unwrap()).unwrap();
        assert!(
            (lambda - s.largest()).abs() < 1e-12 * s.largest(),
            "{lambda} vs {}",
            s.largest()
        );
        for (x, y) in v.iter().zip(s.top_eigenvector()) {
            assert!((x - y).abs() < 1e-10, "{x} vs {y}");
        }
    }

    #[test]
    fn the_second_moment_path_matches_the_full_spectrum() {
        // d = 6 ≤ B = 40: the d×d matrix itself.
        agrees_with_spectrum(40, 5, true, 1);
    }

    #[test]
    fn the_gram_path_matches_the_full_spectrum() {
        // d = 31 > B = 12: the 12×12 Gram matrix, mapped back through Ãᵀ.
        agrees_with_spectrum(12, 30, true, 2);
        agrees_with_spectrum(12, 30, false, 3);
    }

    #[test]
    fn all_zero_inputs_without_bias_have_no_direction() {
        assert_eq!(top_eigenpair(&[0.0f32; 6], 2, 3, false).unwrap(), None);
        // With the bias column, the constant input 1 is the direction.
        // E[ããᵀ] = e₄e₄ᵀ: λmax = 1 along e₄.
        let (lambda, v) = top_eigenpair(&[0.0f32; 6], 2, 3, true).unwrap().unwrap();
        assert!((lambda - 1.0).abs() < 1e-15, "{lambda}");
        assert_eq!(v, [0.0, 0.0, 0.0, 1.0]);
    }

    #[test]
    fn non_finite_inputs_are_named() {
        let err = top_eigenpair(&[1.0, f64::NAN], 1, 2, false).unwrap_err();
        assert!(err.to_string().contains("row 0, column 1"), "{err}");
    }
}
