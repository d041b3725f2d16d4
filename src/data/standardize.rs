//! Centring and standardisation, fitted on training data and applied to
//! anything of the same width.
//!
//! The statistics are computed without overflow or underflow: each column
//! is first scaled by the power of two `2⁻ᵉ` that brings its largest
//! magnitude into `[½, 1)`, the mean and variance are taken on the scaled
//! values, and the results are scaled back. A power of two scales exactly,
//! so for ordinary data this changes no bit of the result, and a column such
//! as `[1e200, −1e200]` (whose `Σx²` overflows `f64`) or `[0, 5e−324]` (whose
//! deviations square to 0) gets its true mean and deviation.

use crate::element::Element;
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tensor::Tensor;

/// Checks that `x` is a non-empty `(n, d)` matrix of finite values and
/// returns `(n, d)`.
fn check_matrix<F: Element>(op: &'static str, x: &Tensor<F>) -> Result<(usize, usize)> {
    let s = x.shape();
    let &[n, d] = s.dims() else {
        return Err(Error::RankMismatch {
            op,
            expected: "2 (examples, features)",
            shape: s,
        });
    };
    // Zero columns would leave nothing to fit (and no row to iterate by).
    if n == 0 || d == 0 {
        return Err(Error::Empty { op, shape: s });
    }
    if let Some(pos) = x.as_slice().iter().position(|v| !v.is_finite()) {
        return Err(Error::NonFinite {
            op,
            what: format!(
                "{} at row {}, column {}",
                x.as_slice()[pos],
                pos / d,
                pos % d
            ),
        });
    }
    Ok((n, d))
}

/// One column's statistics on its scaled values `x·2⁻ᵉ`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct ScaledColumn {
    /// `e`: the column's largest magnitude is in `[2ᵉ⁻¹, 2ᵉ)` (0 for an
    /// all-zero column).
    pub(crate) exp: i32,
    /// The mean of the scaled values, in `[−1, 1]`.
    pub(crate) mean: f64,
}

impl ScaledColumn {
    /// `x·2⁻ᵉ`, exact unless the result is subnormal.
    pub(crate) fn scale(&self, x: f64) -> f64 {
        libm::ldexp(x, -self.exp)
    }

    /// The column's mean `μ = 2ᵉ·mean`, always finite: `|μ| ≤ max|x|`.
    pub(crate) fn unscaled_mean(&self) -> f64 {
        libm::ldexp(self.mean, self.exp)
    }
}

/// The per-column scale exponent and scaled mean of the finite `(n, d)`
/// data `x` (row-major, `n, d > 0`), computed in `f64`:
/// `mean = (1/n) Σᵢ xᵢ·2⁻ᵉ`. The sum runs over the rows in order, as a
/// plain sum of the unscaled values would.
pub(crate) fn scaled_means<F: Element>(x: &[F], n: usize, d: usize) -> Vec<ScaledColumn> {
    let mut max = vec![0.0f64; d];
    for row in x.chunks_exact(d) {
        for (m, v) in max.iter_mut().zip(row) {
            *m = m.max(Element::to_f64(*v).abs());
        }
    }
    let mut cols: Vec<ScaledColumn> = max
        .iter()
        .map(|&m| ScaledColumn {
            exp: if m == 0.0 { 0 } else { libm::frexp(m).1 },
            mean: 0.0,
        })
        .collect();
    for row in x.chunks_exact(d) {
        for (c, v) in cols.iter_mut().zip(row) {
            c.mean += c.scale(Element::to_f64(*v));
        }
    }
    cols.iter_mut().for_each(|c| c.mean /= n as f64);
    cols
}

/// Per-column mean of `x` (`(n, d)`), computed in `f64` without overflow,
/// after checking the data.
fn column_means<F: Element>(op: &'static str, x: &Tensor<F>) -> Result<Vec<f64>> {
    let (n, d) = check_matrix(op, x)?;
    Ok(scaled_means(x.as_slice(), n, d)
        .iter()
        .map(ScaledColumn::unscaled_mean)
        .collect())
}

/// Checks that `x` is an `(m, d)` matrix of finite values for a transform
/// fitted on `d` columns, and returns `m`.
fn check_transform_input<F: Element>(op: &'static str, x: &Tensor<F>, d: usize) -> Result<usize> {
    if x.rank() != 2 || x.dims()[1] != d {
        return Err(Error::ShapeMismatch {
            op,
            lhs: x.shape(),
            rhs: Shape::vector(d),
            reason: "the data's width must equal the number of fitted columns",
        });
    }
    if let Some(pos) = x.as_slice().iter().position(|v| !v.is_finite()) {
        return Err(Error::NonFinite {
            op,
            what: format!(
                "{} at row {}, column {} of the data to transform",
                x.as_slice()[pos],
                pos / d,
                pos % d
            ),
        });
    }
    Ok(x.dims()[0])
}

/// Applies the per-column map `f(column, x)` to a checked `(m, d)` matrix,
/// in place, all or nothing: every value is computed before any is
/// written, so an error leaves `x` unchanged. `f` returns `None` when the
/// result is not a finite `F`, which becomes an error naming the value.
fn apply<F: Element>(
    op: &'static str,
    x: &mut Tensor<F>,
    d: usize,
    f: impl Fn(usize, F) -> Option<F>,
) -> Result<()> {
    check_transform_input(op, x, d)?;
    let overflow = |pos: usize, v: F| Error::NonFinite {
        op,
        what: format!(
            "the transform of {v} at row {}, column {} overflows {}",
            pos / d,
            pos % d,
            F::NAME
        ),
    };
    if let Some(pos) = x
        .as_slice()
        .iter()
        .enumerate()
        .position(|(i, &v)| f(i % d, v).is_none())
    {
        return Err(overflow(pos, x.as_slice()[pos]));
    }
    for (i, v) in x.as_mut_slice().iter_mut().enumerate() {
        // Checked above: every value maps to a finite one.
        if let Some(z) = f(i % d, *v) {
            *v = z;
        }
    }
    Ok(())
}

/// Standardisation: `x ↦ (x − μ)/σ` per column, with the mean `μ` and the
/// population standard deviation `σ = √(Σ(x − μ)²/n)` of the training
/// data.
///
/// Both are computed on the column scaled by the power of two `2⁻ᵉ` that
/// brings its largest magnitude into `[½, 1)`:
/// `μ = 2ᵉ·(1/n) Σ xᵢ2⁻ᵉ` and `σ = 2ᵉ·√((1/n) Σ (xᵢ2⁻ᵉ − μ2⁻ᵉ)²)`. Scaling
/// by a power of two is exact, so ordinary data get the very bits of the
/// plain formulas, and any finite data get a finite, accurate result: `[1e200, −1e200]` has `σ = 1e200`, `[f64::MAX, f64::MAX]` has
/// `μ = f64::MAX`. The transform is `(x − μ)·(1/σ)` in `F`; where that
/// cannot be formed (`1/σ` not a normal `F`, as for a column of subnormal
/// values, or `x − μ` overflowing for data far outside the training range)
/// it is computed on the scaled values instead, `(x·2⁻ᵉ − μ·2⁻ᵉ)·(2ᵉ/σ)`,
/// which needs no reciprocal of `σ`. So `[0, 5e−324]` standardises to
/// `[−1, 1]` although its `σ` rounds to 0 in `f64`: [`std`](Self::std)
/// reports that rounded value, while the transform never divides by it.
///
/// A column whose training values are all equal (zero variance) has no
/// scale to divide by: it is centred but **left unscaled** (factor 1), and
/// reported by [`constant_columns`](Self::constant_columns) so the caller
/// can drop it or stop ([`require_variance`](Self::require_variance) turns
/// it into an error). "All equal" is judged on the values themselves, so a
/// column that differs in a single subnormal is not constant.
///
/// ```
/// use gradsign::{data::Standardizer, Tensor};
/// let train = Tensor::from_vec(vec![1.0, 5.0, 3.0, 5.0], &[2, 2])?;
/// let s = Standardizer::fit(&train)?;
/// assert_eq!(s.transform(&train)?.as_slice(), &[-1.0, 0.0, 1.0, 0.0]);
/// assert_eq!(s.constant_columns(), &[1]);          // column 1 is all 5s
/// assert!(s.require_variance().is_err());
///
/// // Extreme but finite columns keep their true statistics.
/// let wide = Tensor::from_vec(vec![1e200, 0.0, -1e200, 5e-324], &[2, 2])?;
/// let s = Standardizer::fit(&wide)?;
/// assert_eq!(s.std()[0], 1e200);
/// assert_eq!(s.transform(&wide)?.as_slice(), &[1.0, -1.0, -1.0, 1.0]);
/// # Ok::<(), gradsign::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Standardizer<F: Element> {
    mean: Vec<F>,
    inv_std: Vec<F>,
    std: Vec<f64>,
    constant: Vec<usize>,
    /// Per column: how the transform is computed.
    kind: Vec<Kind>,
    /// Per column: the scale exponent, the scaled mean and `2ᵉ/σ`.
    scaled: Vec<(ScaledColumn, f64)>,
}

/// How one column is standardised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Constant in training: `x − μ`, unscaled.
    Constant,
    /// `(x − μ)·(1/σ)` in `F` (`σ` normal in `f64`, `1/σ` normal in `F`),
    /// with the scaled form as a fallback when `x − μ` overflows.
    Direct,
    /// Only the scaled form: `1/σ` is not a normal `F`.
    Scaled,
}

impl<F: Element> Standardizer<F> {
    /// Fits the per-column mean and standard deviation of `train` (`(n, d)`).
    ///
    /// # Errors
    /// [`Error::RankMismatch`] if `train` is not a matrix; [`Error::Empty`]
    /// for zero rows or zero columns; [`Error::NonFinite`] for a NaN or
    /// infinite value, naming its row and column.
    pub fn fit(train: &Tensor<F>) -> Result<Self> {
        let (n, d) = check_matrix("Standardizer::fit", train)?;
        let data = train.as_slice();
        let cols = scaled_means(data, n, d);
        let mut var = vec![0.0; d];
        for row in data.chunks_exact(d) {
            for ((v, c), x) in var.iter_mut().zip(&cols).zip(row) {
                // Each term is at most 4: the scaled values lie in [−1, 1].
                *v += (c.scale(Element::to_f64(*x)) - c.mean).powi(2);
            }
        }
        // Exactly constant columns, judged on the values themselves: the
        // computed variance of a constant column need not be exactly 0.
        let first = &data[..d];
        let mut std = Vec::with_capacity(d);
        let mut inv_std = Vec::with_capacity(d);
        let mut kind = Vec::with_capacity(d);
        let mut scaled = Vec::with_capacity(d);
        for (j, (c, v)) in cols.iter().zip(&var).enumerate() {
            // σ·2⁻ᵉ ≤ 1 (σ ≤ max|x|), and for a non-constant column at
            // least one scaled deviation is ≥ 2⁻⁵⁴, so the gain is finite.
            let scaled_std = (v / n as f64).sqrt();
            let gain = 1.0 / scaled_std;
            let s = libm::ldexp(scaled_std, c.exp);
            let is_constant =
                data.chunks_exact(d).all(|r| r[j] == first[j]) || !(gain.is_finite() && gain > 0.0);
            let inv = if is_constant {
                F::one()
            } else {
                F::from_f64(1.0 / s)
            };
            std.push(s);
            inv_std.push(inv);
            kind.push(if is_constant {
                Kind::Constant
            } else if s.is_normal() && inv.is_normal() {
                Kind::Direct
            } else {
                Kind::Scaled
            });
            scaled.push((*c, gain));
        }
        let constant = (0..d).filter(|&j| kind[j] == Kind::Constant).collect();
        Ok(Standardizer {
            mean: cols
                .iter()
                .map(|c| F::from_f64(c.unscaled_mean()))
                .collect(),
            inv_std,
            std,
            constant,
            kind,
            scaled,
        })
    }

    /// The fitted means.
    pub fn mean(&self) -> &[F] {
        &self.mean
    }

    /// The fitted standard deviations, rounded to `f64` (0 for a constant
    /// column; 0 or subnormal also for a column whose spread is itself
    /// subnormal, which the transform still scales correctly).
    pub fn std(&self) -> &[f64] {
        &self.std
    }

    /// The columns with zero variance in the training data, left unscaled.
    pub fn constant_columns(&self) -> &[usize] {
        &self.constant
    }

    /// Fails if a training column had zero variance.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the constant columns.
    pub fn require_variance(&self) -> Result<()> {
        if self.constant.is_empty() {
            return Ok(());
        }
        Err(Error::Incompatible {
            op: "Standardizer",
            what: format!(
                "columns {:?} have zero variance in the training data (left unscaled)",
                self.constant
            ),
        })
    }

    /// `(x − μ)/σ` for one value of column `j`, or `None` if it is not a
    /// finite `F`.
    fn standardize(&self, j: usize, x: F) -> Option<F> {
        let kind = self.kind[j];
        if kind != Kind::Scaled {
            let z = (x - self.mean[j]) * self.inv_std[j];
            if z.is_finite() || kind == Kind::Constant {
                // For a constant column an overflowing x − μ is final.
                return z.is_finite().then_some(z);
            }
        }
        let (c, gain) = self.scaled[j];
        let z = F::from_f64((c.scale(Element::to_f64(x)) - c.mean) * gain);
        z.is_finite().then_some(z)
    }

    /// `(x − μ)/σ` per column, as a new tensor.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if the width differs from the fitted data's;
    /// [`Error::NonFinite`] naming the row and column of a NaN or infinite
    /// value in `x`, or of a value whose result overflows `F` (data far
    /// outside the training range).
    pub fn transform(&self, x: &Tensor<F>) -> Result<Tensor<F>> {
        let mut out = x.clone();
        self.transform_in_place(&mut out)?;
        Ok(out)
    }

    /// `(x − μ)/σ` per column, in place; on an error `x` is unchanged.
    ///
    /// # Errors
    /// As [`transform`](Self::transform).
    pub fn transform_in_place(&self, x: &mut Tensor<F>) -> Result<()> {
        apply("Standardizer::transform", x, self.mean.len(), |j, v| {
            self.standardize(j, v)
        })
    }
}

/// Plain centring: `x ↦ x − μ` per column, with the training mean `μ`. It
/// removes the mean that makes a layer's inputs one-signed, without
/// changing their scale. The mean is computed without overflow, as
/// [`Standardizer`]'s is.
///
/// ```
/// use gradsign::{data::Centering, Tensor};
/// let train = Tensor::from_vec(vec![1.0, 10.0, 3.0, 30.0], &[2, 2])?;
/// let c = Centering::fit(&train)?;
/// assert_eq!(c.mean(), &[2.0, 20.0]);
/// assert_eq!(c.transform(&train)?.as_slice(), &[-1.0, -10.0, 1.0, 10.0]);
///
/// let big = Tensor::from_vec(vec![f64::MAX, f64::MAX], &[2, 1])?;
/// assert_eq!(Centering::fit(&big)?.mean(), &[f64::MAX]);
/// # Ok::<(), gradsign::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Centering<F: Element> {
    mean: Vec<F>,
}

impl<F: Element> Centering<F> {
    /// Fits the per-column mean of `train` (`(n, d)`).
    ///
    /// # Errors
    /// As [`Standardizer::fit`].
    pub fn fit(train: &Tensor<F>) -> Result<Self> {
        let mean: Vec<F> = column_means("Centering::fit", train)?
            .into_iter()
            .map(F::from_f64)
            .collect();
        Ok(Centering { mean })
    }

    /// The fitted means.
    pub fn mean(&self) -> &[F] {
        &self.mean
    }

    /// `x − μ` per column, as a new tensor.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if the width differs from the fitted data's;
    /// [`Error::NonFinite`] naming the row and column of a NaN or infinite
    /// value in `x`, or of one whose difference overflows `F`.
    pub fn transform(&self, x: &Tensor<F>) -> Result<Tensor<F>> {
        let mut out = x.clone();
        self.transform_in_place(&mut out)?;
        Ok(out)
    }

    /// `x − μ` per column, in place; on an error `x` is unchanged.
    ///
    /// # Errors
    /// As [`transform`](Self::transform).
    pub fn transform_in_place(&self, x: &mut Tensor<F>) -> Result<()> {
        apply("Centering::transform", x, self.mean.len(), |j, v| {
            let z = v - self.mean[j];
            z.is_finite().then_some(z)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standardised_training_columns_have_mean_zero_and_unit_variance() {
        let iris = crate::data::iris::<f64>();
        let s = Standardizer::fit(iris.features()).unwrap();
        let z = s.transform(iris.features()).unwrap();
        for j in 0..4 {
            let col: Vec<f64> = z.as_slice().iter().skip(j).step_by(4).copied().collect();
            let m = col.iter().sum::<f64>() / 150.0;
            let v = col.iter().map(|x| (x - m).powi(2)).sum::<f64>() / 150.0;
            assert!(
                m.abs() < 1e-12 && (v - 1.0).abs() < 1e-12,
                "column {j}: {m} {v}"
            );
        }
        assert!(s.constant_columns().is_empty());
    }

    #[test]
    fn a_constant_column_is_centred_left_unscaled_and_reported() {
        // 0.1 three times: its computed mean need not equal 0.1 exactly, yet
        // the column is recognised as constant.
        let x = Tensor::from_vec(vec![0.1, 1.0, 0.1, 2.0, 0.1, 3.0], &[3, 2]).unwrap();
        let s = Standardizer::fit(&x).unwrap();
        assert_eq!(s.constant_columns(), &[0]);
        let z = s.transform(&x).unwrap();
        assert!(
            z.as_slice()
                .iter()
                .step_by(2)
                .all(|v: &f64| v.abs() < 1e-15)
        );
        let e = s.require_variance().unwrap_err();
        assert!(e.to_string().contains("[0]"), "{e}");
    }

    #[test]
    fn transform_rejects_another_width() {
        let s = Standardizer::fit(&Tensor::<f64>::ones(&[2, 3]).unwrap()).unwrap();
        assert!(s.transform(&Tensor::zeros(&[2, 2]).unwrap()).is_err());
    }

    #[test]
    fn fit_rejects_nan_and_empty_data() {
        let x = Tensor::from_vec(vec![1.0, f64::NAN], &[1, 2]).unwrap();
        let e = Standardizer::fit(&x).unwrap_err();
        assert!(e.to_string().contains("row 0, column 1"), "{e}");
        assert!(matches!(
            Centering::fit(&Tensor::<f64>::zeros(&[0, 2]).unwrap()),
            Err(Error::Empty { .. })
        ));
    }
}
