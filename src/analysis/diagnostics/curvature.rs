//! The opt-in curvature section of a layer's report: the spectra of its
//! inputs' `E[a aᵀ]` and `Cov(a)` (from [`curvature::spectrum`]), the
//! numbers the diagnosis quotes, and how both are shown.
//!
//! [`curvature::spectrum`]: crate::curvature::spectrum

use crate::curvature::spectrum::InputCurvature;
use crate::dynamics::{try_filled, try_grow};
use crate::element::Element;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// The most inputs `K` a layer may have for
/// [`AnalyzerConfig::curvature`](crate::analysis::AnalyzerConfig::curvature): four
/// dense `(K+1)×(K+1)` eigendecompositions cost `O(K³)` time and several
/// `(K+1)²` matrices of memory, about a second at `K` = 784 and some
/// minutes (and a GB) at this limit; beyond it the analysis returns an error
/// instead of running for hours or exhausting memory. The tracker's top
/// eigenvector ([`TopEigenvector`](crate::analysis::TopEigenvector)) is held to the
/// same bound on the smaller of `K (+1)` and the batch size.
pub const MAX_CURVATURE_INPUTS: usize = 4096;

/// The inputs that are constant over the batch, and the curvature of the
/// others.
///
/// A constant input makes `Cov(a)` singular (its variance is 0), and with
/// the bias column `E[ã ãᵀ]` too (the input is a multiple of the constant
/// 1), so their condition numbers are `∞` whatever the other inputs do; a
/// constant 0 (a dead pixel, an off unit) makes `E[a aᵀ]` singular as well.
/// The spectra of the remaining inputs say how the others are conditioned.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct ConstantInputs {
    /// The indices (first input = 0) of the inputs equal on every example.
    pub columns: Vec<usize>,
    /// The value of each of them, in the same order.
    pub values: Vec<f64>,
    /// The curvature of the batch without those inputs (`None` when every
    /// input is constant).
    pub curvature: Option<InputCurvature>,
}

/// The curvature of a `B×K` batch of inputs (`None` when an input is not
/// finite: the report counts those; no spectrum is meaningful then), and the
/// constant inputs with the curvature of the others, when there are any.
///
/// # Errors
/// [`Error::TooLarge`] naming `op` when `K` exceeds
/// [`MAX_CURVATURE_INPUTS`] or a buffer cannot be allocated.
pub(crate) fn input_curvature<F: Element>(
    op: &'static str,
    inputs: &[F],
    batch: usize,
    fan_in: usize,
) -> Result<(Option<InputCurvature>, Option<ConstantInputs>)> {
    if fan_in > MAX_CURVATURE_INPUTS {
        return Err(Error::TooLarge {
            op,
            what: format!(
                "the curvature of {fan_in} inputs (four {0}×{0} eigendecompositions)",
                fan_in + 1
            ),
            reason: format!(
                "it is beyond the limit of {MAX_CURVATURE_INPUTS} inputs \
                 (gradsign::analysis::MAX_CURVATURE_INPUTS): turn curvature off for this layer"
            ),
        });
    }
    if fan_in == 0 || !crate::kernels::all_finite(inputs) {
        return Ok((None, None));
    }
    let mut copy = Vec::new();
    try_grow(op, "a copy of the inputs", &mut copy, inputs.len())?;
    copy.extend_from_slice(inputs);
    let a = Tensor::from_vec(copy, &[batch, fan_in])?;
    let full = InputCurvature::of(&a).ok();
    let first = &inputs[..fan_in];
    let mut constant = try_filled(op, "the constant-input flags", fan_in, true)?;
    for row in inputs.chunks_exact(fan_in).skip(1) {
        for ((c, &x), &x0) in constant.iter_mut().zip(row).zip(first) {
            *c &= x == x0;
        }
    }
    let columns: Vec<usize> = (0..fan_in).filter(|&i| constant[i]).collect();
    if columns.is_empty() {
        return Ok((full, None));
    }
    let values = columns.iter().map(|&i| first[i].to_f64()).collect();
    let kept = fan_in - columns.len();
    let curvature = if kept == 0 {
        None
    } else {
        let mut sub = Vec::new();
        try_grow(op, "the non-constant inputs", &mut sub, batch * kept)?;
        for row in inputs.chunks_exact(fan_in) {
            sub.extend(
                row.iter()
                    .zip(&constant)
                    .filter(|(_, c)| !**c)
                    .map(|(x, _)| *x),
            );
        }
        InputCurvature::of(&Tensor::from_vec(sub, &[batch, kept])?).ok()
    };
    Ok((
        full,
        Some(ConstantInputs {
            columns,
            values,
            curvature,
        }),
    ))
}

/// The curvature numbers behind a layer's diagnosis: `E[a aᵀ] = Cov(a) + μμᵀ`,
/// so a non-zero mean adds one large eigenvalue (about `‖μ‖²`) along `μ`.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct CurvatureEvidence {
    /// `κ(E[a aᵀ]) = λmax/λmin` (`+∞` if singular).
    pub kappa_second_moment: f64,
    /// `κ(Cov(a))`.
    pub kappa_covariance: f64,
    /// `κ` of `E[ã ãᵀ]` with the bias column `ã = [a, 1]`.
    pub kappa_second_moment_with_bias: f64,
    /// `κ` of `[[Cov(a), 0], [0, 1]]`.
    pub kappa_covariance_with_bias: f64,
    /// `λmax(E[a aᵀ])`.
    pub lambda_max_second_moment: f64,
    /// `λmax(Cov(a))`.
    pub lambda_max_covariance: f64,
    /// `‖μ‖²`, the size of what the mean adds.
    pub mean_norm_squared: f64,
    /// `|cos(v, μ)|` for the top eigenvector `v` of `E[a aᵀ]` (0 when `μ = 0`).
    pub top_alignment_with_mean: f64,
    /// Examples `B` and features `K`: with `B < K` both matrices are singular
    /// on the batch (their rank is at most `B`).
    pub batch: usize,
    /// See [`batch`](Self::batch).
    pub features: usize,
}

impl CurvatureEvidence {
    /// The numbers of an [`InputCurvature`] report.
    pub fn of(c: &InputCurvature) -> Self {
        let norm2: f64 = c.mean.iter().map(|m| m * m).sum();
        let v = &c.raw.top_eigenvector;
        let along: f64 = v.iter().zip(&c.mean).map(|(a, b)| a * b).sum();
        let largest = |e: &[f64]| e.last().copied().unwrap_or(f64::NAN);
        CurvatureEvidence {
            kappa_second_moment: c.raw.condition_number,
            kappa_covariance: c.centred.condition_number,
            kappa_second_moment_with_bias: c.raw_with_bias.condition_number,
            kappa_covariance_with_bias: c.centred_with_bias.condition_number,
            lambda_max_second_moment: largest(&c.raw.eigenvalues),
            lambda_max_covariance: largest(&c.centred.eigenvalues),
            mean_norm_squared: norm2,
            top_alignment_with_mean: if norm2 > 0.0 {
                along.abs() / norm2.sqrt()
            } else {
                0.0
            },
            batch: c.batch,
            features: c.features,
        }
    }

    /// Whether the mean dominates: the top eigenvalue of `E[a aᵀ]` is at
    /// least twice that of `Cov(a)` and its eigenvector lies within 25° of
    /// `μ` (`|cos| ≥ 0.9`).
    pub fn mean_dominates(&self) -> bool {
        self.lambda_max_second_moment >= 2.0 * self.lambda_max_covariance
            && self.top_alignment_with_mean >= 0.9
    }
}

impl CurvatureEvidence {
    /// Whether the raw second moment is worse conditioned than the
    /// covariance (`κ(E[a aᵀ]) > κ(Cov(a))`): only then does centring the
    /// inputs improve the conditioning.
    pub fn centring_improves_conditioning(&self) -> bool {
        self.kappa_second_moment > self.kappa_covariance
    }
}
