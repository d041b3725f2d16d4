//! Classification metrics: predicted classes, accuracy, confusion matrix.
//!
//! A network's output row is read as a class by one rule: with one output,
//! class 1 iff the output exceeds a threshold (0 for a tanh output against
//! `±1` targets, 0.5 for a sigmoid output against `0/1`); with several, the
//! index of the largest. A row with NaN where the decision needs a number
//! predicts no class and counts as wrong.

use std::fmt;

use crate::element::Element;
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tensor::Tensor;

/// The class an output row predicts: `row[0] > threshold` for one output,
/// the first index of the largest non-NaN value otherwise; `None` if NaN
/// leaves nothing to decide on.
///
/// ```
/// use gradsign::metrics::predicted_class;
/// assert_eq!(predicted_class(&[0.2f64], 0.5), Some(0));
/// assert_eq!(predicted_class(&[-1.0f64, 3.0, 2.0], 0.0), Some(1));
/// assert_eq!(predicted_class(&[f64::NAN], 0.0), None);
/// ```
pub fn predicted_class<F: Element>(row: &[F], threshold: F) -> Option<usize> {
    match row {
        [] => None,
        [y] if y.is_nan() => None,
        [y] => Some(usize::from(*y > threshold)),
        _ => {
            let mut best: Option<(usize, F)> = None;
            for (j, &y) in row.iter().enumerate() {
                if !y.is_nan() && best.is_none_or(|(_, b)| y > b) {
                    best = Some((j, y));
                }
            }
            best.map(|(j, _)| j)
        }
    }
}

fn check_rows(op: &'static str, outputs: Shape, labels: usize) -> Result<usize> {
    let &[n, width] = outputs.dims() else {
        return Err(Error::RankMismatch {
            op,
            expected: "2 (batch, outputs)",
            shape: outputs,
        });
    };
    if n != labels {
        return Err(Error::ShapeMismatch {
            op,
            lhs: outputs,
            rhs: Shape::vector(labels),
            reason: "one label per output row is needed",
        });
    }
    if n == 0 {
        return Err(Error::Empty { op, shape: outputs });
    }
    Ok(width)
}

/// The fraction of rows of `outputs` (`(n, k)`) whose predicted class (see
/// [`predicted_class`]) equals the label. Allocates nothing.
///
/// ```
/// use gradsign::{metrics::accuracy, Tensor};
/// let out = Tensor::from_vec(vec![0.9f64, 0.1, 0.3, 0.7, 0.6, 0.4], &[3, 2])?;
/// assert_eq!(accuracy(&out, &[0, 1, 1], 0.0)?, 2.0 / 3.0);
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// # Errors
/// [`Error::ShapeMismatch`] if the label count differs from the row count;
/// [`Error::Empty`] for no rows; [`Error::RankMismatch`] if `outputs` is
/// not a matrix.
pub fn accuracy<F: Element>(outputs: &Tensor<F>, labels: &[usize], threshold: F) -> Result<f64> {
    let width = check_rows("accuracy", outputs.shape(), labels.len())?;
    Ok(accuracy_of_rows(
        outputs.as_slice(),
        width,
        labels,
        threshold,
    ))
}

/// [`accuracy`] on a row-major slice of rows of `width` (already checked).
pub(crate) fn accuracy_of_rows<F: Element>(
    outputs: &[F],
    width: usize,
    labels: &[usize],
    threshold: F,
) -> f64 {
    let correct = outputs
        .chunks_exact(width.max(1))
        .zip(labels)
        .filter(|&(row, &l)| predicted_class(row, threshold) == Some(l))
        .count();
    correct as f64 / labels.len().max(1) as f64
}

/// A confusion matrix: `count(actual, predicted)` over `classes` classes,
/// plus the rows that predicted no class (NaN outputs).
///
/// ```
/// use gradsign::metrics::ConfusionMatrix;
/// let m = ConfusionMatrix::from_predictions(&[0, 1, 1, 2], &[0, 1, 2, 2], 3)?;
/// assert_eq!(m.count(2, 1), 1);   // one 2 taken for a 1
/// assert_eq!(m.accuracy(), 0.75);
/// assert_eq!(m.recall(2), Some(0.5));
/// println!("{m}");
/// # Ok::<(), gradsign::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfusionMatrix {
    classes: usize,
    counts: Vec<usize>,
    undecided: usize,
}

impl ConfusionMatrix {
    /// From predicted and actual class indices.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if the lengths differ;
    /// [`Error::IndexOutOfRange`] for a class ≥ `classes`;
    /// [`Error::InvalidArgument`] if `classes²` counts cannot be allocated.
    pub fn from_predictions(predicted: &[usize], labels: &[usize], classes: usize) -> Result<Self> {
        if predicted.len() != labels.len() {
            return Err(Error::ShapeMismatch {
                op: "ConfusionMatrix",
                lhs: Shape::vector(predicted.len()),
                rhs: Shape::vector(labels.len()),
                reason: "one prediction per label is needed",
            });
        }
        let mut m = ConfusionMatrix::empty(classes)?;
        for (&p, &a) in predicted.iter().zip(labels) {
            m.add(Some(p), a)?;
        }
        Ok(m)
    }

    /// From network outputs `(n, k)` read by [`predicted_class`].
    ///
    /// # Errors
    /// As [`accuracy`], and [`Error::IndexOutOfRange`] for a class ≥
    /// `classes`; [`Error::InvalidArgument`] if `classes²` counts cannot be
    /// allocated.
    pub fn from_outputs<F: Element>(
        outputs: &Tensor<F>,
        labels: &[usize],
        classes: usize,
        threshold: F,
    ) -> Result<Self> {
        let width = check_rows("ConfusionMatrix", outputs.shape(), labels.len())?;
        let mut m = ConfusionMatrix::empty(classes)?;
        for (row, &a) in outputs.as_slice().chunks_exact(width.max(1)).zip(labels) {
            m.add(predicted_class(row, threshold), a)?;
        }
        Ok(m)
    }

    /// A matrix of `classes × classes` zero counts, or an error when that
    /// many counts overflow or cannot be allocated (a class count taken
    /// from untrusted data).
    fn empty(classes: usize) -> Result<Self> {
        let too_many = || Error::TooLarge {
            op: "ConfusionMatrix",
            what: format!("a table of {classes} classes"),
            reason: "its counts cannot be allocated".into(),
        };
        let cells = classes.checked_mul(classes).ok_or_else(too_many)?;
        // Ask first, then take zeroed memory: `vec![0; n]` gets pages the
        // system zeroes when first touched, so 40 000 classes (12 GiB of
        // counts, nearly all zero) cost only the cells the data reach,
        // where writing `classes²` zeros would commit every page (and could
        // exhaust memory after the reservation succeeded).
        let mut probe: Vec<usize> = Vec::new();
        probe.try_reserve_exact(cells).map_err(|_| too_many())?;
        drop(probe);
        let counts = vec![0; cells];
        Ok(ConfusionMatrix {
            classes,
            counts,
            undecided: 0,
        })
    }

    fn add(&mut self, predicted: Option<usize>, actual: usize) -> Result<()> {
        let k = self.classes;
        for c in [actual].into_iter().chain(predicted) {
            if c >= k {
                return Err(Error::IndexOutOfRange {
                    op: "ConfusionMatrix",
                    index: c,
                    bound: k,
                    shape: Shape::matrix(k, k),
                });
            }
        }
        match predicted {
            Some(p) => self.counts[actual * k + p] += 1,
            None => self.undecided += 1,
        }
        Ok(())
    }

    /// The number of classes.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// How many examples of class `actual` were predicted as `predicted`:
    /// 0 when either is not a class of the matrix (no example can be there).
    pub fn count(&self, actual: usize, predicted: usize) -> usize {
        if actual >= self.classes || predicted >= self.classes {
            return 0;
        }
        self.counts[actual * self.classes + predicted]
    }

    /// Rows that predicted no class (NaN outputs).
    pub fn undecided(&self) -> usize {
        self.undecided
    }

    /// The number of examples counted.
    pub fn total(&self) -> usize {
        self.counts.iter().sum::<usize>() + self.undecided
    }

    /// The fraction on the diagonal (0 for no example).
    pub fn accuracy(&self) -> f64 {
        let diag: usize = (0..self.classes).map(|c| self.count(c, c)).sum();
        diag as f64 / self.total().max(1) as f64
    }

    /// The fraction of class `c`'s examples predicted as `c`; `None` if the
    /// class has no example.
    pub fn recall(&self, c: usize) -> Option<f64> {
        let row: usize = (0..self.classes).map(|p| self.count(c, p)).sum();
        (row > 0).then(|| self.count(c, c) as f64 / row as f64)
    }

    /// The fraction of predictions of `c` that are right; `None` if `c` was
    /// never predicted.
    pub fn precision(&self, c: usize) -> Option<f64> {
        let col: usize = (0..self.classes).map(|a| self.count(a, c)).sum();
        (col > 0).then(|| self.count(c, c) as f64 / col as f64)
    }
}

impl fmt::Display for ConfusionMatrix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "actual \\ predicted")?;
        for p in 0..self.classes {
            write!(f, " {p:>6}")?;
        }
        writeln!(f)?;
        for a in 0..self.classes {
            write!(f, "{a:>18}")?;
            for p in 0..self.classes {
                write!(f, " {:>6}", self.count(a, p))?;
            }
            writeln!(f)?;
        }
        if self.undecided > 0 {
            writeln!(f, "undecided (NaN outputs): {}", self.undecided)?;
        }
        write!(f, "accuracy {:.4}", self.accuracy())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nan_row_counts_as_wrong_and_undecided() {
        let out = Tensor::from_vec(vec![f64::NAN, 1.0], &[2, 1]).unwrap();
        assert_eq!(accuracy(&out, &[0, 1], 0.0).unwrap(), 0.5);
        let m = ConfusionMatrix::from_outputs(&out, &[0, 1], 2, 0.0).unwrap();
        assert_eq!((m.undecided(), m.count(1, 1), m.total()), (1, 1, 2));
    }

    #[test]
    fn a_label_count_different_from_the_rows_is_an_error() {
        let out = Tensor::<f64>::zeros(&[3, 2]).unwrap();
        assert!(matches!(
            accuracy(&out, &[0, 1], 0.0),
            Err(Error::ShapeMismatch { .. })
        ));
    }

    #[test]
    fn a_label_beyond_the_classes_is_an_error() {
        assert!(ConfusionMatrix::from_predictions(&[0], &[3], 2).is_err());
    }

    #[test]
    fn argmax_takes_the_first_of_equal_maxima() {
        assert_eq!(predicted_class(&[1.0f32, 1.0], 0.0), Some(0));
    }
}
