//! The curvature a layer's inputs impose: the second moment `E[a aᵀ]` and the
//! covariance of a batch of inputs, raw and centred, with and without the bias
//! column, and their symmetric eigendecomposition.
//!
//! For a linear unit `y = w·a (+ b)` under squared loss the Hessian with
//! respect to `w` (or `(w, b)`) is exactly `E[ã ãᵀ]` with `ã = a` (or
//! `[a, 1]`), so this spectrum decides how fast gradient descent can go:
//! `E[a aᵀ] = Cov(a) + μμᵀ`, and a non-zero mean adds one large eigenvalue
//! along `μ`.
//!
//! The eigen-solver is nalgebra's `SymmetricEigen` (Householder
//! tridiagonalisation and implicit symmetric QR): backward stable, so each
//! eigenvalue is exact to about `ε·‖M‖`, which is what the figures need; the
//! matrices here are small (`K` up to a few thousand), where nalgebra is fast
//! enough and brings far fewer dependencies than faer.

use std::fmt;

use nalgebra::DMatrix;

use crate::data::{ScaledColumn, scaled_means};
use crate::element::Element;
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tensor::Tensor;

use super::square_buffer;

/// Checks that `a` is a finite, non-empty `B×K` batch and returns `(B, K)`.
fn batch_dims<F: Element>(op: &'static str, a: &Tensor<F>) -> Result<(usize, usize)> {
    let (b, k) = match a.dims() {
        &[b, k] => (b, k),
        _ => {
            return Err(Error::RankMismatch {
                op,
                expected: "2 (batch, features)",
                shape: a.shape(),
            });
        }
    };
    if b == 0 || k == 0 {
        return Err(Error::Empty {
            op,
            shape: a.shape(),
        });
    }
    if let Some(i) = a.as_slice().iter().position(|x| !x.is_finite()) {
        return Err(Error::NonFinite {
            op,
            what: format!(
                "{} at row {}, column {} of the inputs {}",
                a.as_slice()[i],
                i / k,
                i % k,
                a.shape()
            ),
        });
    }
    Ok((b, k))
}

/// The per-feature mean `μ = (1/B) Σ_n a_n` of a `B×K` batch.
///
/// # Errors
/// [`Error::RankMismatch`] unless `a` is 2-D; [`Error::Empty`] for an empty
/// batch; [`Error::NonFinite`] on a NaN or infinite input.
pub fn feature_mean<F: Element>(a: &Tensor<F>) -> Result<Vec<f64>> {
    let (b, k) = batch_dims("feature_mean", a)?;
    // Summed on the columns scaled by a power of two: exact for ordinary
    // data, and no overflow for `[f64::MAX, f64::MAX]`.
    Ok(scaled_means(a.as_slice(), b, k)
        .iter()
        .map(ScaledColumn::unscaled_mean)
        .collect())
}

/// `(1/B) Σ_n ã_n ã_nᵀ` for rows `ã_n = a_n` or `a_n − μ` (`centred`),
/// with a trailing 1 when `bias_column`, for a checked `B×K` batch.
///
/// Computed on the columns scaled by powers of two: entry `(i, j)` is
/// `2^(eᵢ+eⱼ)·(1/B) Σ_n (a_ni·2^−eᵢ − μᵢ·2^−eᵢ)(a_nj·2^−eⱼ − μⱼ·2^−eⱼ)`, every
/// scaled factor in `[−2, 2]`. The scaling is exact, so ordinary data gets
/// the same bits as the plain sum, and only an entry that itself exceeds
/// `f64::MAX` fails, instead of `Σ a²` overflowing on the way.
fn moment<F: Element>(
    op: &'static str,
    a: &Tensor<F>,
    k: usize,
    centred: bool,
    bias_column: bool,
) -> Result<Tensor<f64>> {
    let b = a.dims()[0];
    let cols = scaled_means(a.as_slice(), b, k);
    let d = k + usize::from(bias_column);
    let mut exps: Vec<i32> = cols.iter().map(|c| c.exp).collect();
    exps.resize(d, 0);
    let mut m = square_buffer(op, d)?;
    let mut row = vec![1.0; d];
    for x in a.as_slice().chunks_exact(k) {
        for ((r, &xi), c) in row.iter_mut().zip(x).zip(&cols) {
            *r = c.scale(xi.to_f64()) - if centred { c.mean } else { 0.0 };
        }
        for i in 0..d {
            let ri = row[i];
            // Lower triangle only; mirrored below.
            for (mij, &rj) in m[i * d..i * d + i + 1].iter_mut().zip(&row) {
                *mij += ri * rj;
            }
        }
    }
    for i in 0..d {
        for j in 0..=i {
            let v = libm::ldexp(m[i * d + j] / b as f64, exps[i] + exps[j]);
            if !v.is_finite() {
                return Err(Error::NonFinite {
                    op,
                    what: format!(
                        "entry ({i}, {j}) of the {d}×{d} moment of the inputs {} overflows f64",
                        a.shape()
                    ),
                });
            }
            m[i * d + j] = v;
            m[j * d + i] = v;
        }
    }
    Tensor::from_vec(m, &[d, d])
}

/// The raw second moment `E[ã ãᵀ] = (1/B) Σ_n ã_n ã_nᵀ` of a batch of
/// inputs `A` (`B×K`, one example per row), with `ã = a`, or `ã = [a, 1]`
/// when `bias_column` (the bias is the weight of a constant input 1, so its
/// row and column are `[μ, 1]`). This is the Hessian of a linear unit under
/// the loss `(1/2B) Σ (w·ã_n − y_n)²`.
///
/// ```
/// use gradsign::curvature::spectrum::second_moment;
/// use gradsign::Tensor;
/// let a = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2])?;
/// let m = second_moment(&a, true)?;
/// // [(1+9)/2, (2+12)/2, (1+3)/2; ., (4+16)/2, (2+4)/2; ., ., 1]
/// assert_eq!(m.as_slice(), &[5.0, 7.0, 2.0, 7.0, 10.0, 3.0, 2.0, 3.0, 1.0]);
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// # Errors
/// As [`feature_mean`]; [`Error::NonFinite`] if an entry exceeds
/// `f64::MAX` (inputs near `1e154` and beyond); [`Error::InvalidArgument`]
/// if the `(K + 1)²` entries cannot be allocated.
pub fn second_moment<F: Element>(a: &Tensor<F>, bias_column: bool) -> Result<Tensor<f64>> {
    let (_, k) = batch_dims("second_moment", a)?;
    moment("second_moment", a, k, false, bias_column)
}

/// The covariance `Cov(a) = (1/B) Σ_n (a_n − μ)(a_n − μ)ᵀ` (population
/// normalisation, so that `E[a aᵀ] = Cov(a) + μμᵀ` holds exactly), i.e. the
/// second moment of the centred inputs. With `bias_column` the rows are
/// `[a_n − μ, 1]`, giving the block matrix `[[Cov, 0], [0, 1]]`: the Hessian
/// of a linear unit with bias on centred inputs.
///
/// ```
/// use gradsign::curvature::spectrum::covariance;
/// use gradsign::Tensor;
/// let a = Tensor::from_vec(vec![1.0, 2.0, 3.0, 6.0], &[2, 2])?;
/// // μ = (2, 4); centred rows (−1, −2) and (1, 2).
/// assert_eq!(covariance(&a, false)?.as_slice(), &[1.0, 2.0, 2.0, 4.0]);
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// # Errors
/// As [`second_moment`].
pub fn covariance<F: Element>(a: &Tensor<F>, bias_column: bool) -> Result<Tensor<f64>> {
    let (_, k) = batch_dims("covariance", a)?;
    moment("covariance", a, k, true, bias_column)
}

/// The population second moment `E[ã ãᵀ] = Σ + μμᵀ` of a distribution with
/// mean `μ` and covariance `Σ`; with `bias_column`, bordered by `[μ, 1]`.
///
/// ```
/// use gradsign::curvature::spectrum::population_second_moment;
/// use gradsign::Tensor;
/// let cov = Tensor::from_vec(vec![1.0, 0.0, 0.0, 1.0], &[2, 2])?;
/// let m = population_second_moment(&[1.0, 2.0], &cov, false)?;
/// assert_eq!(m.as_slice(), &[2.0, 2.0, 2.0, 5.0]);
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// # Errors
/// [`Error::ShapeMismatch`] unless `cov` is `K×K` for `K = mean.len()`;
/// [`Error::NonFinite`] on a non-finite entry.
pub fn population_second_moment(
    mean: &[f64],
    cov: &Tensor<f64>,
    bias_column: bool,
) -> Result<Tensor<f64>> {
    let k = mean.len();
    if cov.dims() != [k, k] {
        return Err(Error::ShapeMismatch {
            op: "population_second_moment",
            lhs: Shape::vector(k),
            rhs: cov.shape(),
            reason: "the covariance must be K×K for a mean of length K",
        });
    }
    if !cov.all_finite() || mean.iter().any(|m| !m.is_finite()) {
        return Err(Error::NonFinite {
            op: "population_second_moment",
            what: "in the mean or the covariance".into(),
        });
    }
    let d = k + usize::from(bias_column);
    let mut m = square_buffer("population_second_moment", d)?;
    m.iter_mut().for_each(|x| *x = 1.0);
    for i in 0..k {
        for j in 0..k {
            m[i * d + j] = cov.as_slice()[i * k + j] + mean[i] * mean[j];
        }
        if bias_column {
            m[i * d + k] = mean[i];
            m[k * d + i] = mean[i];
        }
    }
    Tensor::from_vec(m, &[d, d])
}

/// The second moment of `U(0, 1)ⁿ`: `I/12 + 11ᵀ/4` (variance 1/12, mean
/// 1/2 per coordinate). Its eigenvalues are `1/12` (`n − 1` times, on the
/// vectors orthogonal to `1`) and `(3n + 1)/12` (along `1/√n`), so
/// `κ = 3n + 1`; centred, the matrix is `I/12` and `κ = 1`. With the bias
/// column, `κ = 12·λ₊²` where `λ₊` is the larger root of
/// `λ² − (13/12 + n/4)λ + 1/12 = 0` (the two roots multiply to `1/12`).
///
/// ```
/// use gradsign::curvature::spectrum::{uniform_second_moment, Spectrum};
/// let s = Spectrum::of(&uniform_second_moment(10, false)?)?;
/// assert!((s.condition_number() - 31.0).abs() < 1e-12);
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidArgument`] for `n = 0`.
pub fn uniform_second_moment(n: usize, bias_column: bool) -> Result<Tensor<f64>> {
    if n == 0 {
        return Err(Error::out_of_domain(
            "uniform_second_moment",
            "the coordinate count n",
            "at least 1",
            0,
        ));
    }
    let cov = Tensor::from_fn(&[n, n], |ix| if ix[0] == ix[1] { 1.0 / 12.0 } else { 0.0 })?;
    population_second_moment(&vec![0.5; n], &cov, bias_column)
}

/// A full symmetric eigendecomposition `M = V·diag(λ)·Vᵀ`, eigenvalues
/// ascending.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Spectrum {
    /// The eigenvalues, ascending.
    pub eigenvalues: Vec<f64>,
    /// The orthonormal eigenvectors as the columns of an `n×n` row-major
    /// matrix: column `i` belongs to `eigenvalues[i]`. Each is signed so
    /// that its components sum to a non-negative number (the first non-zero
    /// component positive when the sum is 0), so results are reproducible.
    pub eigenvectors: Vec<f64>,
}

impl Spectrum {
    /// The eigendecomposition of a symmetric matrix.
    ///
    /// ```
    /// use gradsign::{curvature::spectrum::Spectrum, Tensor};
    /// let m = Tensor::from_vec(vec![2.0, 1.0, 1.0, 2.0], &[2, 2])?;
    /// let s = Spectrum::of(&m)?;
    /// assert!((s.eigenvalues[0] - 1.0).abs() < 1e-15 && (s.largest() - 3.0).abs() < 1e-15);
    /// let v = s.top_eigenvector();
    /// assert!((v[0] - 0.5f64.sqrt()).abs() < 1e-15 && (v[1] - 0.5f64.sqrt()).abs() < 1e-15);
    /// assert!(Spectrum::of(&Tensor::from_vec(vec![1.0, 2.0, 0.0, 1.0], &[2, 2])?).is_err());
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::RankMismatch`] / [`Error::ShapeMismatch`] unless `m` is a
    /// square matrix; [`Error::Empty`] for `0×0`; [`Error::NonFinite`] on a
    /// non-finite entry; [`Error::InvalidArgument`] if `m` is not symmetric
    /// (an entry differs from its mirror by more than `10⁻¹⁰·max|mᵢⱼ|`).
    pub fn of(m: &Tensor<f64>) -> Result<Self> {
        let n = square_dims("Spectrum::of", m)?;
        check_symmetric("Spectrum::of", m, n)?;
        let a = m.as_slice();
        let eig = nalgebra::SymmetricEigen::new(DMatrix::from_row_slice(n, n, a));
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&i, &j| eig.eigenvalues[i].total_cmp(&eig.eigenvalues[j]));
        let eigenvalues = order.iter().map(|&i| eig.eigenvalues[i]).collect();
        let mut eigenvectors = vec![0.0; n * n];
        for (col, &i) in order.iter().enumerate() {
            let v = eig.eigenvectors.column(i);
            let sum: f64 = v.iter().sum();
            let first = v.iter().copied().find(|x| *x != 0.0).unwrap_or(1.0);
            let sign = if sum > 0.0 || (sum == 0.0 && first > 0.0) {
                1.0
            } else {
                -1.0
            };
            for (row, x) in v.iter().enumerate() {
                eigenvectors[row * n + col] = sign * x;
            }
        }
        Ok(Spectrum {
            eigenvalues,
            eigenvectors,
        })
    }

    /// The matrix size `n`.
    pub fn len(&self) -> usize {
        self.eigenvalues.len()
    }

    /// Whether the matrix was empty (never, for a `Spectrum` from
    /// [`of`](Self::of)).
    pub fn is_empty(&self) -> bool {
        self.eigenvalues.is_empty()
    }

    /// `λmax`.
    pub fn largest(&self) -> f64 {
        self.eigenvalues.last().copied().unwrap_or(f64::NAN)
    }

    /// `λmin`.
    pub fn smallest(&self) -> f64 {
        self.eigenvalues.first().copied().unwrap_or(f64::NAN)
    }

    /// The condition number `κ = λmax/λmin` of a positive semi-definite
    /// matrix: `+∞` when `λmin ≤ 0` (singular, or indefinite by rounding).
    pub fn condition_number(&self) -> f64 {
        let (lo, hi) = (self.smallest(), self.largest());
        if lo > 0.0 { hi / lo } else { f64::INFINITY }
    }

    /// The unit eigenvector of eigenvalue `i` (ascending order).
    ///
    /// # Panics
    /// If `i ≥ len()`.
    #[track_caller]
    pub fn eigenvector(&self, i: usize) -> Vec<f64> {
        let n = self.len();
        assert!(i < n, "eigenvector: index {i} out of range for size {n}");
        (0..n).map(|r| self.eigenvectors[r * n + i]).collect()
    }

    /// The unit eigenvector of `λmax`.
    pub fn top_eigenvector(&self) -> Vec<f64> {
        match self.len() {
            0 => Vec::new(),
            n => self.eigenvector(n - 1),
        }
    }
}

/// Fails with [`Error::InvalidArgument`] unless the `n×n` matrix `m` is
/// symmetric: every entry within `10⁻¹⁰·max|mᵢⱼ|` of its mirror. The one
/// symmetry test of the crate, shared by [`Spectrum::of`] and
/// [`solve_damped`](super::natural::solve_damped).
pub(crate) fn check_symmetric(op: &'static str, m: &Tensor<f64>, n: usize) -> Result<()> {
    let a = m.as_slice();
    let scale = a.iter().fold(0.0f64, |s, x| s.max(x.abs()));
    for i in 0..n {
        for j in 0..i {
            let (x, y) = (a[i * n + j], a[j * n + i]);
            // |x − y| may overflow for entries of opposite sign near MAX:
            // compare halves, which cannot.
            if (x / 2.0 - y / 2.0).abs() > 0.5e-10 * scale {
                return Err(Error::out_of_domain(
                    op,
                    format!("the matrix {}", m.shape()),
                    "symmetric",
                    format_args!("entry ({i}, {j}) = {x} but ({j}, {i}) = {y}"),
                ));
            }
        }
    }
    Ok(())
}

/// Checks `m` is a finite non-empty square matrix and returns its size.
pub(crate) fn square_dims(op: &'static str, m: &Tensor<f64>) -> Result<usize> {
    let n = match m.dims() {
        [r, c] if r == c => *r,
        [_, _] => {
            return Err(Error::ShapeMismatch {
                op,
                lhs: m.shape(),
                rhs: m.shape(),
                reason: "needs a square matrix",
            });
        }
        _ => {
            return Err(Error::RankMismatch {
                op,
                expected: "2 (a square matrix)",
                shape: m.shape(),
            });
        }
    };
    if n == 0 {
        return Err(Error::Empty {
            op,
            shape: m.shape(),
        });
    }
    if let Some(i) = m.as_slice().iter().position(|x| !x.is_finite()) {
        return Err(Error::NonFinite {
            op,
            what: format!(
                "{} at entry ({}, {}) of the {} matrix",
                m.as_slice()[i],
                i / n,
                i % n,
                m.shape()
            ),
        });
    }
    Ok(n)
}

/// One of the four input matrices of an [`InputCurvature`] report, summarised.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MomentSpectrum {
    /// The eigenvalues, ascending.
    pub eigenvalues: Vec<f64>,
    /// `λmax/λmin` (`+∞` if singular).
    pub condition_number: f64,
    /// The unit eigenvector of `λmax`.
    pub top_eigenvector: Vec<f64>,
    /// `|cos(v, 1)|` for the top eigenvector `v` and the all-ones vector: 1
    /// when the mean direction dominates one-signed inputs.
    pub top_alignment_with_ones: f64,
}

impl MomentSpectrum {
    /// Summarises the spectrum of a symmetric matrix.
    ///
    /// # Errors
    /// As [`Spectrum::of`].
    pub fn of(m: &Tensor<f64>) -> Result<Self> {
        let s = Spectrum::of(m)?;
        let v = s.top_eigenvector();
        let cos = v.iter().sum::<f64>().abs() / (v.len() as f64).sqrt();
        Ok(MomentSpectrum {
            condition_number: s.condition_number(),
            top_alignment_with_ones: cos,
            top_eigenvector: v,
            eigenvalues: s.eigenvalues,
        })
    }
}

/// The curvature a layer's inputs impose on its weights: the spectra of
/// `E[a aᵀ]` and `Cov(a)`, each without and with the bias column.
///
/// ```
/// use gradsign::curvature::spectrum::InputCurvature;
/// use gradsign::Tensor;
/// let a = Tensor::<f64>::rand_uniform(&[4096, 4], 0.0, 1.0, 1)?; // one-signed
/// let c = InputCurvature::of(&a)?;
/// assert!(c.raw.condition_number > 8.0);      // ≈ 3n + 1 = 13
/// assert!(c.centred.condition_number < 1.5);  // ≈ 1
/// println!("{c}");
/// # Ok::<(), gradsign::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct InputCurvature {
    /// Examples `B`.
    pub batch: usize,
    /// Features `K`.
    pub features: usize,
    /// The per-feature mean `μ`.
    pub mean: Vec<f64>,
    /// `E[a aᵀ]`.
    pub raw: MomentSpectrum,
    /// `Cov(a)`.
    pub centred: MomentSpectrum,
    /// `E[[a, 1][a, 1]ᵀ]`.
    pub raw_with_bias: MomentSpectrum,
    /// `[[Cov(a), 0], [0, 1]]`.
    pub centred_with_bias: MomentSpectrum,
}

impl InputCurvature {
    /// The report for a batch of inputs `A` (`B×K`).
    ///
    /// # Errors
    /// As [`feature_mean`].
    pub fn of<F: Element>(a: &Tensor<F>) -> Result<Self> {
        let (batch, features) = batch_dims("InputCurvature::of", a)?;
        Ok(InputCurvature {
            batch,
            features,
            mean: feature_mean(a)?,
            raw: MomentSpectrum::of(&second_moment(a, false)?)?,
            centred: MomentSpectrum::of(&covariance(a, false)?)?,
            raw_with_bias: MomentSpectrum::of(&second_moment(a, true)?)?,
            centred_with_bias: MomentSpectrum::of(&covariance(a, true)?)?,
        })
    }
}

impl fmt::Display for InputCurvature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let norm = self.mean.iter().map(|m| m * m).sum::<f64>().sqrt();
        writeln!(
            f,
            "input curvature: {} examples × {} features, ‖μ‖ = {norm:.4}",
            self.batch, self.features
        )?;
        writeln!(
            f,
            "  {:<22} {:>12} {:>12} {:>12} {:>10}",
            "matrix", "λmin", "λmax", "κ", "|cos(v,1)|"
        )?;
        let rows = [
            ("E[a aᵀ]", &self.raw),
            ("Cov(a)", &self.centred),
            ("E[a aᵀ] + bias", &self.raw_with_bias),
            ("Cov(a) + bias", &self.centred_with_bias),
        ];
        for (name, s) in rows {
            writeln!(
                f,
                "  {:<22} {:>12.5e} {:>12.5e} {:>12.4} {:>10.4}",
                name,
                s.eigenvalues.first().copied().unwrap_or(f64::NAN),
                s.eigenvalues.last().copied().unwrap_or(f64::NAN),
                s.condition_number,
                s.top_alignment_with_ones
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_moment_is_covariance_plus_mean_outer_product() {
        let a = Tensor::<f64>::rand_normal(&[50, 3], 2.0, 1.0, 3).unwrap();
        let (s, c, mu) = (
            second_moment(&a, false).unwrap(),
            covariance(&a, false).unwrap(),
            feature_mean(&a).unwrap(),
        );
        for i in 0..3 {
            for j in 0..3 {
                let want = c.as_slice()[i * 3 + j] + mu[i] * mu[j];
                assert!((s.as_slice()[i * 3 + j] - want).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn centred_with_bias_is_block_diagonal() {
        let a = Tensor::<f64>::rand_uniform(&[20, 2], 0.0, 1.0, 5).unwrap();
        let m = covariance(&a, true).unwrap();
        let s = m.as_slice();
        assert_eq!(s[8], 1.0);
        // The centred columns sum to zero (to rounding).
        for x in [s[2], s[5], s[6], s[7]] {
            assert!(x.abs() < 1e-15, "{x}");
        }
    }

    #[test]
    fn bad_batches_are_rejected() {
        let nan = Tensor::from_vec(vec![1.0, f64::NAN], &[1, 2]).unwrap();
        assert!(matches!(
            second_moment(&nan, false).unwrap_err(),
            Error::NonFinite {
                op: "second_moment",
                ..
            }
        ));
        let empty = Tensor::<f64>::zeros(&[0, 3]).unwrap();
        assert!(matches!(
            covariance(&empty, false).unwrap_err(),
            Error::Empty { .. }
        ));
        let flat = Tensor::<f64>::zeros(&[3]).unwrap();
        assert!(matches!(
            InputCurvature::of(&flat).unwrap_err(),
            Error::RankMismatch { .. }
        ));
    }

    #[test]
    fn bad_matrices_are_rejected() {
        let rect = Tensor::<f64>::zeros(&[2, 3]).unwrap();
        assert!(matches!(
            Spectrum::of(&rect).unwrap_err(),
            Error::ShapeMismatch { .. }
        ));
        let nan = Tensor::from_vec(vec![1.0, f64::NAN, f64::NAN, 1.0], &[2, 2]).unwrap();
        assert!(matches!(
            Spectrum::of(&nan).unwrap_err(),
            Error::NonFinite { .. }
        ));
        let skew = Tensor::from_vec(vec![1.0, 1.0, -1.0, 1.0], &[2, 2]).unwrap();
        let err = Spectrum::of(&skew).unwrap_err();
        assert!(err.to_string().contains("must be symmetric"), "{err}");
    }

    #[test]
    fn eigenvectors_reconstruct_the_matrix() {
        let a = Tensor::<f64>::rand_uniform(&[30, 4], 0.0, 1.0, 9).unwrap();
        let m = second_moment(&a, true).unwrap();
        let s = Spectrum::of(&m).unwrap();
        let n = s.len();
        for i in 0..n {
            for j in 0..n {
                let r: f64 = (0..n)
                    .map(|k| {
                        s.eigenvectors[i * n + k] * s.eigenvalues[k] * s.eigenvectors[j * n + k]
                    })
                    .sum();
                assert!((r - m.as_slice()[i * n + j]).abs() < 1e-13);
            }
        }
        assert!(s.eigenvalues.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn a_singular_matrix_has_infinite_condition_number() {
        let m = Tensor::from_vec(vec![1.0, 1.0, 1.0, 1.0], &[2, 2]).unwrap();
        let s = Spectrum::of(&m).unwrap();
        // λ = 0 may come out as ±ε; either way κ is reported as +∞ or huge,
        // never negative.
        assert!(s.condition_number() > 1e14, "{}", s.condition_number());
    }
}
