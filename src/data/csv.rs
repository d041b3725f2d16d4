//! Numeric CSV: a table of finite numbers, with errors that name the line
//! and the column.

use crate::element::Element;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

use super::Dataset;

/// A numeric table read from CSV: column names and a `(rows, columns)`
/// tensor, with the source line of each row kept for later messages.
///
/// The format: comma-separated fields, an optional header row of names,
/// one row per line; spaces around a field are ignored, blank lines are
/// skipped. Every field must parse as a finite number of the element type:
/// an empty field, a word, `NaN`, `inf` or a value beyond the type's range
/// (`1e39` as `f32`) is an error naming the line and column (both from 1),
/// as is a row with a different number of fields.
///
/// ```
/// use gradsign::{data::Table, Error};
/// let t = Table::<f64>::parse("a,b\n1,2\n3,4\n", "inline", true)?;
/// assert_eq!(t.names(), ["a", "b"]);
/// assert_eq!(t.data().as_slice(), &[1.0, 2.0, 3.0, 4.0]);
///
/// let e = Table::<f64>::parse("a,b\n1,2\n3,NaN\n", "inline", true).unwrap_err();
/// assert_eq!(e.to_string(), "inline: line 3, column 2: `NaN` is not a finite number");
/// # Ok::<(), gradsign::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Table<F: Element> {
    source: String,
    names: Vec<String>,
    data: Tensor<F>,
    lines: Vec<usize>,
}

impl<F: Element> Table<F> {
    /// Parses CSV text; `source` names it in errors (a path, or "csv").
    ///
    /// # Errors
    /// [`Error::Parse`] naming the line and column of the first bad field
    /// or ragged row; [`Error::Empty`] if there is no data row.
    pub fn parse(text: &str, source: &str, has_header: bool) -> Result<Self> {
        let err = |line: usize, column: usize, message: String| Error::Parse {
            source_name: source.to_string(),
            line,
            column,
            message,
        };
        let mut names: Option<Vec<String>> = None;
        let mut values = Vec::new();
        let mut lines = Vec::new();
        let mut width = None;
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            if raw.trim().is_empty() {
                continue;
            }
            let fields: Vec<&str> = raw.split(',').map(str::trim).collect();
            if has_header && names.is_none() {
                names = Some(fields.iter().map(|s| s.to_string()).collect());
                width = Some(fields.len());
                continue;
            }
            let w = *width.get_or_insert(fields.len());
            if fields.len() != w {
                return Err(err(
                    line,
                    fields.len().min(w) + 1,
                    format!("expected {w} fields, found {}", fields.len()),
                ));
            }
            for (j, f) in fields.iter().enumerate() {
                let x: f64 = f
                    .parse()
                    .map_err(|_| err(line, j + 1, format!("`{f}` is not a number")))?;
                if !x.is_finite() {
                    return Err(err(line, j + 1, format!("`{f}` is not a finite number")));
                }
                // Finite as f64 is not enough: `1e39` overflows f32.
                let v = F::from_f64(x);
                if !v.is_finite() {
                    return Err(err(
                        line,
                        j + 1,
                        format!("`{f}` is out of the range of {}", F::NAME),
                    ));
                }
                values.push(v);
            }
            lines.push(line);
        }
        let w = width.unwrap_or(0);
        let names = names.unwrap_or_else(|| (0..w).map(|j| format!("c{j}")).collect());
        let data = Tensor::from_vec(values, &[lines.len(), w])?;
        if lines.is_empty() {
            return Err(Error::Empty {
                op: "Table::parse",
                shape: data.shape(),
            });
        }
        Ok(Table {
            source: source.to_string(),
            names,
            data,
            lines,
        })
    }

    /// Reads and parses a CSV file.
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be read; otherwise as
    /// [`parse`](Self::parse).
    pub fn read(path: impl AsRef<std::path::Path>, has_header: bool) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
            op: "Table::read",
            message: format!("{}: {e}", path.display()),
        })?;
        Self::parse(&text, &path.display().to_string(), has_header)
    }

    /// The column names (`c0, c1, …` without a header).
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The values, `(rows, columns)`.
    pub fn data(&self) -> &Tensor<F> {
        &self.data
    }

    /// The source line (from 1) of each row.
    pub fn lines(&self) -> &[usize] {
        &self.lines
    }

    /// Splits off column `label_column` as class labels (non-negative
    /// integers) and keeps the other columns as features.
    ///
    /// ```
    /// use gradsign::data::Table;
    /// let t = Table::<f64>::parse("x,label\n0.5,0\n1.5,2\n", "csv", true)?;
    /// let d = t.into_dataset(1)?;
    /// assert_eq!(d.labels(), &[0, 2]);
    /// assert_eq!(d.feature_names(), ["x"]);
    /// assert!(Table::<f64>::parse("x,label\n0.5,1.5\n", "csv", true)?.into_dataset(1).is_err());
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] for a column past the last;
    /// [`Error::Parse`] naming the line and column of a label that is not a
    /// non-negative integer; [`Error::InvalidArgument`] if no feature column
    /// is left.
    pub fn into_dataset(self, label_column: usize) -> Result<Dataset<F>> {
        let (rows, w) = (self.data.dims()[0], self.data.dims()[1]);
        if label_column >= w {
            return Err(Error::IndexOutOfRange {
                op: "Table::into_dataset",
                index: label_column,
                bound: w,
                shape: self.data.shape(),
            });
        }
        if w < 2 {
            return Err(Error::InvalidArgument {
                op: "Table::into_dataset",
                message: "a data set needs at least one feature column beside the label".into(),
            });
        }
        let mut features = Vec::with_capacity(rows * (w - 1));
        let mut labels = Vec::with_capacity(rows);
        for (r, row) in self.data.as_slice().chunks_exact(w).enumerate() {
            let y = Element::to_f64(row[label_column]);
            if y < 0.0 || y.fract() != 0.0 || y > u32::MAX as f64 {
                return Err(Error::Parse {
                    source_name: self.source.clone(),
                    line: self.lines[r],
                    column: label_column + 1,
                    message: format!("label `{y}` is not a non-negative integer"),
                });
            }
            labels.push(y as usize);
            features.extend(
                row.iter()
                    .enumerate()
                    .filter(|&(j, _)| j != label_column)
                    .map(|(_, &x)| x),
            );
        }
        let mut names = self.names;
        names.remove(label_column);
        Dataset::new(Tensor::from_vec(features, &[rows, w - 1])?, labels)?.with_feature_names(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_err(text: &str) -> (usize, usize, String) {
        match Table::<f64>::parse(text, "t.csv", true).unwrap_err() {
            Error::Parse {
                line,
                column,
                message,
                ..
            } => (line, column, message),
            e => panic!("not a parse error: {e}"),
        }
    }

    #[test]
    fn a_word_is_reported_at_its_line_and_column() {
        let (line, column, msg) = parse_err("a,b,c\n1,2,3\n\n4,five,6\n");
        // Line 4 (the blank line 3 still counts), column 2.
        assert_eq!((line, column), (4, 2));
        assert!(msg.contains("five"), "{msg}");
    }

    #[test]
    fn nan_and_infinity_are_errors() {
        assert_eq!(parse_err("a\nnan\n").0, 2);
        assert_eq!(parse_err("a,b\n1,inf\n").1, 2);
    }

    #[test]
    fn an_empty_field_is_an_error() {
        assert_eq!(parse_err("a,b\n1,\n"), (2, 2, "`` is not a number".into()));
    }

    #[test]
    fn a_ragged_row_names_its_line() {
        let (line, _, msg) = parse_err("a,b\n1,2\n3\n");
        assert_eq!(line, 3);
        assert!(msg.contains("expected 2 fields, found 1"), "{msg}");
    }

    #[test]
    fn a_header_only_file_is_empty() {
        assert!(matches!(
            Table::<f64>::parse("a,b\n", "t", true),
            Err(Error::Empty { .. })
        ));
    }

    #[test]
    fn without_a_header_columns_get_numbered_names() {
        let t = Table::<f32>::parse("1, 2\n 3 ,4\n", "t", false).unwrap();
        assert_eq!(t.names(), ["c0", "c1"]);
        assert_eq!(t.data().as_slice(), &[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(t.lines(), &[1, 2]);
    }

    #[test]
    fn a_missing_file_is_an_io_error() {
        assert!(matches!(
            Table::<f64>::read("/nonexistent/x.csv", true),
            Err(Error::Io { .. })
        ));
    }
}
