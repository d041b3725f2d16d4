//! The opt-in curvature section of a layer's report: the spectra of its
//! inputs' `E[a aᵀ]` and `Cov(a)` (from [`curvature::spectrum`]), the
//! numbers the diagnosis quotes, and how both are shown.
//!
//! [`curvature::spectrum`]: crate::curvature::spectrum

use std::fmt;

use crate::curvature::spectrum::InputCurvature;
use crate::element::Element;
use crate::tensor::Tensor;

use super::report::LayerReport;

/// The curvature of a `B×K` batch of inputs, or `None` when an input is not
/// finite (the report counts those; no spectrum is meaningful then).
pub(crate) fn input_curvature<F: Element>(
    inputs: &[F],
    batch: usize,
    fan_in: usize,
) -> Option<InputCurvature> {
    if fan_in == 0 || !crate::dynamics::all_finite(inputs) {
        return None;
    }
    let a = Tensor::from_slice(inputs, &[batch, fan_in]).ok()?;
    InputCurvature::of(&a).ok()
}

/// The curvature numbers behind a layer's diagnosis: `E[a aᵀ] = Cov(a) + μμᵀ`,
/// so a non-zero mean adds one large eigenvalue (about `‖μ‖²`) along `μ`.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
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

/// A condition number or eigenvalue for text: `∞` when infinite, four
/// significant digits otherwise.
pub(crate) fn number(x: f64) -> String {
    if x.is_infinite() {
        "∞".to_string()
    } else if x != 0.0 && !(1e-3..1e5).contains(&x.abs()) {
        format!("{x:.3e}")
    } else {
        format!("{x:.4}")
    }
}

impl fmt::Display for CurvatureEvidence {
    /// The diagnosis sentence, with the measured numbers.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kappas = format!(
            "κ(E[aaᵀ]) = {} vs κ(Cov) = {}",
            number(self.kappa_second_moment),
            number(self.kappa_covariance)
        );
        if self.mean_dominates() {
            write!(
                f,
                "a non-zero input mean adds one large eigenvalue along μ: {kappas}; λmax = {} vs {} \
                 (‖μ‖² = {}, top eigenvector at |cos| = {:.3} with μ)",
                number(self.lambda_max_second_moment),
                number(self.lambda_max_covariance),
                number(self.mean_norm_squared),
                self.top_alignment_with_mean
            )?;
        } else {
            write!(
                f,
                "the input mean is small against the spread: {kappas}; λmax = {} vs {}",
                number(self.lambda_max_second_moment),
                number(self.lambda_max_covariance)
            )?;
        }
        write!(
            f,
            "; with the bias column κ = {} vs {}",
            number(self.kappa_second_moment_with_bias),
            number(self.kappa_covariance_with_bias)
        )?;
        if self.batch < self.features {
            write!(
                f,
                " (with {} examples for {} inputs both matrices are singular on this batch: \
                 compare λmax)",
                self.batch, self.features
            )?;
        }
        Ok(())
    }
}

/// The curvature columns of a network report, one line per layer that has
/// them (nothing when none has).
pub(crate) fn network_table(f: &mut fmt::Formatter<'_>, layers: &[LayerReport]) -> fmt::Result {
    if layers.iter().all(|l| l.curvature.is_none()) {
        return Ok(());
    }
    writeln!(f)?;
    writeln!(
        f,
        "{:>5}  {:>11}  {:>11}  {:>11}  {:>11}  {:>13}  {:>13}  {:>9}",
        "layer",
        "λmax E[aaᵀ]",
        "λmax Cov",
        "κ(E[aaᵀ])",
        "κ(Cov)",
        "κ(E) + bias",
        "κ(Cov) + bias",
        "|cos(v,μ)|"
    )?;
    for l in layers {
        let Some(c) = &l.curvature else { continue };
        let e = CurvatureEvidence::of(c);
        writeln!(
            f,
            "{:>5}  {:>11}  {:>11}  {:>11}  {:>11}  {:>13}  {:>13}  {:>9.3}",
            l.layer.map_or_else(|| "-".to_string(), |i| i.to_string()),
            number(e.lambda_max_second_moment),
            number(e.lambda_max_covariance),
            number(e.kappa_second_moment),
            number(e.kappa_covariance),
            number(e.kappa_second_moment_with_bias),
            number(e.kappa_covariance_with_bias),
            e.top_alignment_with_mean
        )?;
    }
    Ok(())
}
