//! `Dataset<F>`: a classification data set (features, class labels,
//! numeric targets) and its seeded train/test split.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::element::Element;
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tensor::Tensor;

/// A labelled data set: `n` examples of `d` features, each with a class
/// label and a numeric target.
///
/// The target is what a regression-style loss (mean squared error) compares
/// the network's output with: for the playground generators, the label in
/// the chosen encoding (`0/1` or `±1`); for the embedded sets and CSV data,
/// the class index as a number. Use [`one_hot`](Self::one_hot) for one
/// output per class.
///
/// ```
/// use gradsign::{data::Dataset, Tensor};
/// let d = Dataset::new(
///     Tensor::from_vec(vec![0.0, 1.0, 2.0, 3.0], &[2, 2])?,
///     vec![0, 1],
/// )?;
/// assert_eq!((d.len(), d.width(), d.classes()), (2, 2, 2));
/// assert_eq!(d.one_hot()?.as_slice(), &[1.0, 0.0, 0.0, 1.0]);
/// # Ok::<(), gradsign::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset<F: Element> {
    features: Tensor<F>,
    labels: Vec<usize>,
    targets: Tensor<F>,
    classes: usize,
    feature_names: Vec<String>,
}

impl<F: Element> Dataset<F> {
    /// A data set from features `(n, d)` and one class label per row; the
    /// targets are the labels as numbers `(n, 1)`, the number of classes is
    /// the largest label plus one.
    ///
    /// # Errors
    /// [`Error::RankMismatch`] if `features` is not a matrix;
    /// [`Error::ShapeMismatch`] if the label count differs from the row
    /// count; [`Error::InvalidArgument`] for a label of `usize::MAX`, or
    /// one that `F` cannot store exactly as a target (above 2²⁴ = 16777216
    /// an `f32` holds only some integers: `16777217` would read
    /// `16777216`).
    pub fn new(features: Tensor<F>, labels: Vec<usize>) -> Result<Self> {
        class_count(&labels)?;
        let mut targets = Vec::new();
        targets
            .try_reserve_exact(labels.len())
            .map_err(|e| Error::TooLarge {
                op: "Dataset::new",
                what: format!("{} targets", labels.len()),
                reason: e.to_string(),
            })?;
        for &l in &labels {
            let t = F::from_f64(l as f64);
            // Through f64 and F, then back: both conversions must be exact.
            let back = Element::to_f64(t);
            // (`as u128` saturates, so 2⁶⁴ from usize::MAX cannot match.)
            if !(back.fract() == 0.0 && back as u128 == l as u128) {
                return Err(Error::out_of_domain(
                    "Dataset::new",
                    "a label",
                    format!("exactly representable as a {} target", F::NAME),
                    format_args!("{l} (it would read {back})"),
                ));
            }
            targets.push(t);
        }
        let targets = Tensor::from_vec(targets, &[labels.len(), 1])?;
        Self::with_targets(features, labels, targets)
    }

    /// A data set with explicit numeric targets `(n, t)`.
    ///
    /// # Errors
    /// As [`new`](Self::new), and [`Error::ShapeMismatch`] if the targets
    /// do not have one row per example.
    pub fn with_targets(
        features: Tensor<F>,
        labels: Vec<usize>,
        targets: Tensor<F>,
    ) -> Result<Self> {
        let fs = features.shape();
        let &[n, d] = fs.dims() else {
            return Err(Error::RankMismatch {
                op: "Dataset::new",
                expected: "2 (examples, features)",
                shape: fs,
            });
        };
        if labels.len() != n {
            return Err(Error::ShapeMismatch {
                op: "Dataset::new",
                lhs: fs,
                rhs: Shape::vector(labels.len()),
                reason: "one label per example (row) is needed",
            });
        }
        if targets.rank() != 2 || targets.dims()[0] != n {
            return Err(Error::ShapeMismatch {
                op: "Dataset::new",
                lhs: fs,
                rhs: targets.shape(),
                reason: "the targets need one row per example",
            });
        }
        let classes = class_count(&labels)?;
        Ok(Dataset {
            features,
            labels,
            targets,
            classes,
            feature_names: (0..d).map(|j| format!("x{j}")).collect(),
        })
    }

    /// Sets the number of classes (for a subset or generator where the
    /// highest class may be absent).
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] if a label is not below `classes`.
    pub fn with_classes(mut self, classes: usize) -> Result<Self> {
        if let Some(&bad) = self.labels.iter().find(|&&l| l >= classes) {
            return Err(Error::IndexOutOfRange {
                op: "Dataset::with_classes",
                index: bad,
                bound: classes,
                shape: Shape::vector(self.labels.len()),
            });
        }
        self.classes = classes;
        Ok(self)
    }

    /// Names the feature columns.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if the count differs from the width.
    pub fn with_feature_names(mut self, names: Vec<String>) -> Result<Self> {
        if names.len() != self.width() {
            return Err(Error::incompatible(
                "Dataset::with_feature_names",
                format!("{} names for {} features", names.len(), self.width()),
            ));
        }
        self.feature_names = names;
        Ok(self)
    }

    /// The features, `(n, d)`.
    pub fn features(&self) -> &Tensor<F> {
        &self.features
    }

    /// The class labels, one per example.
    pub fn labels(&self) -> &[usize] {
        &self.labels
    }

    /// The numeric targets, `(n, t)`.
    pub fn targets(&self) -> &Tensor<F> {
        &self.targets
    }

    /// The feature names (`x0, x1, …` unless set).
    pub fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    /// The number of classes (largest label + 1).
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// The number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there is no example.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The number of features.
    pub fn width(&self) -> usize {
        self.features.dims()[1]
    }

    /// The labels one-hot encoded, `(n, classes)`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `n × classes` values cannot be allocated
    /// (the class count is the largest label plus one, so one label of 10¹²
    /// asks for 10¹² values per row).
    pub fn one_hot(&self) -> Result<Tensor<F>> {
        let k = self.classes;
        let mut t = Tensor::zeros(&[self.len(), k])?;
        let data = t.as_mut_slice();
        for (n, &l) in self.labels.iter().enumerate() {
            data[n * k + l] = F::one();
        }
        Ok(t)
    }

    /// Replaces the features (same number of rows), for instance with
    /// standardised ones.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if the row count differs.
    pub fn map_features(mut self, f: impl FnOnce(&Tensor<F>) -> Result<Tensor<F>>) -> Result<Self> {
        let new = f(&self.features)?;
        if new.rank() != 2 || new.dims()[0] != self.len() {
            return Err(Error::ShapeMismatch {
                op: "Dataset::map_features",
                lhs: self.features.shape(),
                rhs: new.shape(),
                reason: "the new features need one row per example",
            });
        }
        if new.dims()[1] != self.width() {
            self.feature_names = (0..new.dims()[1]).map(|j| format!("x{j}")).collect();
        }
        self.features = new;
        Ok(self)
    }

    /// The examples at `indices`, in that order.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] for an index ≥ `len()`.
    pub fn select(&self, indices: &[usize]) -> Result<Self> {
        let (d, t) = (self.width(), self.targets.dims()[1]);
        let mut x = Vec::with_capacity(indices.len() * d);
        let mut y = Vec::with_capacity(indices.len() * t);
        let mut labels = Vec::with_capacity(indices.len());
        for &i in indices {
            if i >= self.len() {
                return Err(Error::IndexOutOfRange {
                    op: "Dataset::select",
                    index: i,
                    bound: self.len(),
                    shape: self.features.shape(),
                });
            }
            x.extend_from_slice(&self.features.as_slice()[i * d..(i + 1) * d]);
            y.extend_from_slice(&self.targets.as_slice()[i * t..(i + 1) * t]);
            labels.push(self.labels[i]);
        }
        Ok(Dataset {
            features: Tensor::from_vec(x, &[indices.len(), d])?,
            labels,
            targets: Tensor::from_vec(y, &[indices.len(), t])?,
            classes: self.classes,
            feature_names: self.feature_names.clone(),
        })
    }

    /// A seeded random split into `(train, test)`, with
    /// `round(test_fraction · n)` test examples. Both keep this set's class
    /// count even if a class is missing from one side.
    ///
    /// ```
    /// let iris = gradsign::data::iris::<f64>();
    /// let (train, test) = iris.split(0.2, 7)?;
    /// assert_eq!((train.len(), test.len()), (120, 30));
    /// assert_eq!(iris.split(0.2, 7)?, (train, test)); // reproducible
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] unless `0 ≤ test_fraction < 1` and the
    /// training side keeps at least one example.
    pub fn split(&self, test_fraction: f64, seed: u64) -> Result<(Self, Self)> {
        let n = self.len();
        let n_test = (test_fraction * n as f64).round() as usize;
        if !(0.0..1.0).contains(&test_fraction) || n_test >= n {
            return Err(Error::out_of_domain(
                "Dataset::split",
                "the test fraction",
                format!("in [0, 1) and leave a training example of the {n}"),
                test_fraction,
            ));
        }
        let mut idx: Vec<usize> = (0..n).collect();
        idx.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
        let (test, train) = idx.split_at(n_test);
        Ok((self.select(train)?, self.select(test)?))
    }
}

/// The largest label plus one (0 without labels).
fn class_count(labels: &[usize]) -> Result<usize> {
    match labels.iter().max() {
        None => Ok(0),
        Some(&m) => m.checked_add(1).ok_or_else(|| {
            Error::out_of_domain(
                "Dataset::new",
                "a label",
                "below usize::MAX (the class count is the largest label + 1)",
                m,
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_count_different_from_the_rows_is_an_error() {
        let x = Tensor::<f64>::zeros(&[3, 2]).unwrap();
        let e = Dataset::new(x, vec![0, 1]).unwrap_err();
        assert!(
            matches!(
                e,
                Error::ShapeMismatch {
                    op: "Dataset::new",
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn split_partitions_the_examples() {
        let x = Tensor::<f64>::from_fn(&[10, 1], |i| i[0] as f64).unwrap();
        let d = Dataset::new(x, (0..10).map(|i| i % 2).collect()).unwrap();
        let (a, b) = d.split(0.3, 1).unwrap();
        let mut all: Vec<f64> = a.features().as_slice().to_vec();
        all.extend_from_slice(b.features().as_slice());
        all.sort_by(f64::total_cmp);
        assert_eq!(all, (0..10).map(|i| i as f64).collect::<Vec<_>>());
        assert_eq!(b.len(), 3);
        assert!(d.split(1.0, 1).is_err());
    }
}
