//! Centring and standardisation, fitted on training data and applied to
//! anything of the same width.

use crate::element::Element;
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tensor::Tensor;

/// Per-column mean of `x` (`(n, d)`), computed in `f64`, after checking
/// the data.
fn column_means<F: Element>(op: &'static str, x: &Tensor<F>) -> Result<Vec<f64>> {
    let s = x.shape();
    let &[n, d] = s.dims() else {
        return Err(Error::RankMismatch {
            op,
            expected: "2 (examples, features)",
            shape: s,
        });
    };
    if n == 0 {
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
    let mut mean = vec![0.0; d];
    for row in x.as_slice().chunks_exact(d) {
        for (m, v) in mean.iter_mut().zip(row) {
            *m += Element::to_f64(*v);
        }
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    Ok(mean)
}

/// Applies `x ↦ (x − shift)·scale` per column, in place.
fn apply<F: Element>(op: &'static str, x: &mut Tensor<F>, shift: &[F], scale: &[F]) -> Result<()> {
    let d = shift.len();
    if x.rank() != 2 || x.dims()[1] != d {
        return Err(Error::ShapeMismatch {
            op,
            lhs: x.shape(),
            rhs: Shape::vector(d),
            reason: "the data's width must equal the number of fitted columns",
        });
    }
    for row in x.as_mut_slice().chunks_exact_mut(d) {
        for ((v, &m), &s) in row.iter_mut().zip(shift).zip(scale) {
            *v = (*v - m) * s;
        }
    }
    Ok(())
}

/// Standardisation: `x ↦ (x − μ)/σ` per column, with the mean `μ` and the
/// population standard deviation `σ = √(Σ(x − μ)²/n)` of the training
/// data.
///
/// A column whose training values are all equal (zero variance) has no
/// scale to divide by: it is centred but **left unscaled** (factor 1), and
/// reported by [`constant_columns`](Self::constant_columns) so the caller
/// can drop it or stop ([`require_variance`](Self::require_variance) turns
/// it into an error).
///
/// ```
/// use gradsign::{data::Standardizer, Tensor};
/// let train = Tensor::from_vec(vec![1.0, 5.0, 3.0, 5.0], &[2, 2])?;
/// let s = Standardizer::fit(&train)?;
/// assert_eq!(s.transform(&train)?.as_slice(), &[-1.0, 0.0, 1.0, 0.0]);
/// assert_eq!(s.constant_columns(), &[1]);          // column 1 is all 5s
/// assert!(s.require_variance().is_err());
/// # Ok::<(), gradsign::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Standardizer<F: Element> {
    mean: Vec<F>,
    inv_std: Vec<F>,
    std: Vec<f64>,
    constant: Vec<usize>,
}

impl<F: Element> Standardizer<F> {
    /// Fits the per-column mean and standard deviation of `train` (`(n, d)`).
    ///
    /// # Errors
    /// [`Error::RankMismatch`] if `train` is not a matrix; [`Error::Empty`]
    /// for zero rows; [`Error::NonFinite`] for a NaN or infinite value.
    pub fn fit(train: &Tensor<F>) -> Result<Self> {
        let mean = column_means("Standardizer::fit", train)?;
        let d = mean.len();
        let n = train.dims()[0] as f64;
        let mut var = vec![0.0; d];
        for row in train.as_slice().chunks_exact(d) {
            for ((v, &m), x) in var.iter_mut().zip(&mean).zip(row) {
                *v += (Element::to_f64(*x) - m).powi(2);
            }
        }
        // Exactly constant columns, judged on the values themselves: the
        // computed variance of a constant column need not be exactly 0.
        let first = &train.as_slice()[..d];
        let constant: Vec<usize> = (0..d)
            .filter(|&j| train.as_slice().chunks_exact(d).all(|r| r[j] == first[j]))
            .collect();
        let std: Vec<f64> = var.iter().map(|v| (v / n).sqrt()).collect();
        let inv_std = (0..d)
            .map(|j| {
                if constant.contains(&j) {
                    F::one()
                } else {
                    F::from_f64(1.0 / std[j])
                }
            })
            .collect();
        Ok(Standardizer {
            mean: mean.into_iter().map(F::from_f64).collect(),
            inv_std,
            std,
            constant,
        })
    }

    /// The fitted means.
    pub fn mean(&self) -> &[F] {
        &self.mean
    }

    /// The fitted standard deviations (0 for a constant column).
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
        Err(Error::InvalidArgument {
            op: "Standardizer",
            message: format!(
                "columns {:?} have zero variance in the training data (left unscaled)",
                self.constant
            ),
        })
    }

    /// `(x − μ)/σ` per column, as a new tensor.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if the width differs from the fitted data's.
    pub fn transform(&self, x: &Tensor<F>) -> Result<Tensor<F>> {
        let mut out = x.clone();
        self.transform_in_place(&mut out)?;
        Ok(out)
    }

    /// `(x − μ)/σ` per column, in place.
    ///
    /// # Errors
    /// As [`transform`](Self::transform).
    pub fn transform_in_place(&self, x: &mut Tensor<F>) -> Result<()> {
        apply("Standardizer::transform", x, &self.mean, &self.inv_std)
    }
}

/// Plain centring: `x ↦ x − μ` per column, with the training mean `μ`. It
/// removes the mean that makes a layer's inputs one-signed, without
/// changing their scale.
///
/// ```
/// use gradsign::{data::Centering, Tensor};
/// let train = Tensor::from_vec(vec![1.0, 10.0, 3.0, 30.0], &[2, 2])?;
/// let c = Centering::fit(&train)?;
/// assert_eq!(c.mean(), &[2.0, 20.0]);
/// assert_eq!(c.transform(&train)?.as_slice(), &[-1.0, -10.0, 1.0, 10.0]);
/// # Ok::<(), gradsign::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Centering<F: Element> {
    mean: Vec<F>,
    ones: Vec<F>,
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
        let ones = vec![F::one(); mean.len()];
        Ok(Centering { mean, ones })
    }

    /// The fitted means.
    pub fn mean(&self) -> &[F] {
        &self.mean
    }

    /// `x − μ` per column, as a new tensor.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if the width differs from the fitted data's.
    pub fn transform(&self, x: &Tensor<F>) -> Result<Tensor<F>> {
        let mut out = x.clone();
        self.transform_in_place(&mut out)?;
        Ok(out)
    }

    /// `x − μ` per column, in place.
    ///
    /// # Errors
    /// As [`transform`](Self::transform).
    pub fn transform_in_place(&self, x: &mut Tensor<F>) -> Result<()> {
        apply("Centering::transform", x, &self.mean, &self.ones)
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
