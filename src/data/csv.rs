//! Numeric CSV: a table of finite numbers, with errors that name the line
//! and the column.

use crate::element::Element;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

use super::Dataset;

/// The largest label a CSV may hold (2³² − 1): labels are class indices,
/// and this cap keeps every label a valid `usize` on 32-bit targets too.
const MAX_LABEL: u64 = u32::MAX as u64;

/// At most this many characters of a field are quoted in a message.
const QUOTE_CHARS: usize = 64;

/// A numeric table read from CSV: column names and a `(rows, columns)`
/// tensor, with the source line of each row kept for later messages.
///
/// The format: comma-separated fields, an optional header row of names,
/// one row per line (`\n` or `\r\n`); a UTF-8 byte-order mark at the start
/// is dropped; spaces around a field are ignored, blank lines are skipped.
/// A field may be quoted (`"a, b"`, with `""` for a quote inside), but not
/// span lines. Every field must parse as a finite number of the element
/// type, read directly in that type (no double rounding through `f64`):
/// - an empty field, a word, `NaN` or `inf` is an error;
/// - **overflow**: a value beyond the type's range (`1e39` as `f32`) is an
///   error;
/// - **underflow**: a non-zero value whose magnitude is below the type's
///   smallest normal number (`1e-50` or `1e-40` as `f32`, `1e-310` as
///   `f64`) is an error too, rather than silently becoming 0 or a subnormal
///   that keeps only part of its digits; `0`, `-0` and `0e5` are zeros;
/// - `+1`, `-0`, `.5`, `1.` and `1e3` are numbers.
///
/// Errors name the line and column (both from 1), as does a row with a
/// different number of fields.
///
/// ```
/// use gradsign::{data::Table, Error};
/// let t = Table::<f64>::parse("a,b\n1,2\n3,4\n", "inline", true)?;
/// assert_eq!(t.names(), ["a", "b"]);
/// assert_eq!(t.data().as_slice(), &[1.0, 2.0, 3.0, 4.0]);
///
/// let e = Table::<f64>::parse("a,b\n1,2\n3,NaN\n", "inline", true).unwrap_err();
/// assert_eq!(e.to_string(), "inline: line 3, column 2: `NaN` is not a finite number");
/// let e = Table::<f32>::parse("a\n1e-50\n", "inline", true).unwrap_err();
/// assert!(e.to_string().contains("below the normal range of f32"), "{e}");
/// # Ok::<(), gradsign::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Table<F: Element> {
    source: String,
    names: Vec<String>,
    data: Tensor<F>,
    lines: Vec<usize>,
    /// Per column, the first field that could not be a label (the text
    /// does not denote an integer in `0..=MAX_LABEL` that `F` stores
    /// exactly): its line and why. The stored values alone cannot tell,
    /// since `16777217` is read as `16777216` in `f32`.
    label_issues: Vec<Option<(usize, String)>>,
}

/// `s`, cut to [`QUOTE_CHARS`] characters for a message.
fn quoted(s: &str) -> String {
    match s.char_indices().nth(QUOTE_CHARS) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// Splits one line into trimmed fields; a field in double quotes may hold
/// commas and `""`. On error, the one-based column and the message.
fn split_fields(raw: &str) -> std::result::Result<Vec<String>, (usize, String)> {
    let mut fields = Vec::new();
    let mut rest = raw;
    loop {
        let column = fields.len() + 1;
        let trimmed = rest.trim_start();
        if let Some(body) = trimmed.strip_prefix('"') {
            let mut field = String::new();
            let mut chars = body.char_indices();
            let after = loop {
                match chars.next() {
                    None => {
                        return Err((
                            column,
                            "unterminated quoted field (a field cannot span lines)".into(),
                        ));
                    }
                    Some((i, '"')) => {
                        if body[i + 1..].starts_with('"') {
                            field.push('"');
                            chars.next();
                        } else {
                            break &body[i + 1..];
                        }
                    }
                    Some((_, c)) => field.push(c),
                }
            };
            let after = after.trim_start();
            fields.push(field.trim().to_string());
            match after.strip_prefix(',') {
                Some(next) => rest = next,
                None if after.is_empty() => return Ok(fields),
                None => {
                    return Err((
                        column,
                        format!("text `{}` after a closing quote", quoted(after)),
                    ));
                }
            }
        } else {
            let (field, next) = match trimmed.find(',') {
                Some(i) => (&trimmed[..i], Some(&trimmed[i + 1..])),
                None => (trimmed, None),
            };
            if field.contains('"') {
                return Err((
                    column,
                    format!("a quote inside the unquoted field `{}`", quoted(field)),
                ));
            }
            fields.push(field.trim().to_string());
            match next {
                Some(next) => rest = next,
                None => return Ok(fields),
            }
        }
    }
}

/// Parses a field as a finite, normal-or-zero `F`, read in `F` itself for
/// `f32` and `f64`.
fn parse_number<F: Element>(f: &str) -> std::result::Result<F, String> {
    let not_a_number = || format!("`{}` is not a number", quoted(f));
    let v = match F::NAME {
        "f32" => F::from_f64(f64::from(f.parse::<f32>().map_err(|_| not_a_number())?)),
        _ => F::from_f64(f.parse::<f64>().map_err(|_| not_a_number())?),
    };
    if !v.is_finite() {
        // Rust reads `inf`, `infinity` and `nan` in any case, signed.
        let word = f
            .trim_start_matches(['+', '-'])
            .starts_with(|c: char| c.is_alphabetic());
        return Err(if word {
            format!("`{}` is not a finite number", quoted(f))
        } else {
            format!("`{}` is out of the range of {}", quoted(f), F::NAME)
        });
    }
    if v != F::zero() && v.abs() < F::min_positive_value() || v == F::zero() && nonzero_text(f) {
        return Err(format!(
            "`{}` is below the normal range of {} (smallest normal {:?}): it would be stored as {:?}",
            quoted(f),
            F::NAME,
            Element::to_f64(F::min_positive_value()),
            Element::to_f64(v)
        ));
    }
    Ok(v)
}

/// Whether a text that parsed as a number denotes a non-zero one: a digit
/// 1–9 before any exponent.
fn nonzero_text(f: &str) -> bool {
    f.split(['e', 'E'])
        .next()
        .is_some_and(|m| m.bytes().any(|b| (b'1'..=b'9').contains(&b)))
}

/// The integer a decimal text denotes exactly (`3`, `+3`, `3.0`, `3e2`,
/// `-0`), or why it is not a label in `0..=MAX_LABEL`. No rounding: the
/// digits themselves decide.
fn exact_label(f: &str) -> std::result::Result<u64, String> {
    let not_integer = || format!("label `{}` is not an integer", quoted(f));
    let (negative, body) = match f.as_bytes().first() {
        Some(b'-') => (true, &f[1..]),
        Some(b'+') => (false, &f[1..]),
        _ => (false, f),
    };
    let (mantissa, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.len() + frac.len() == 0 || !digits_only(int) || !digits_only(frac) {
        return Err(not_integer());
    }
    // value = digits × 10^shift, with the exponent saturated (a text of
    // any length stays in i64).
    let mut shift: i64 = match exp {
        None => 0,
        Some(e) => {
            let (neg, d) = match e.as_bytes().first() {
                Some(b'-') => (true, &e[1..]),
                Some(b'+') => (false, &e[1..]),
                _ => (false, e),
            };
            if d.is_empty() || !digits_only(d) {
                return Err(not_integer());
            }
            let mag = d.bytes().fold(0i64, |a, b| {
                a.saturating_mul(10).saturating_add(i64::from(b - b'0'))
            });
            if neg { -mag } else { mag }
        }
    };
    shift = shift.saturating_sub(frac.len() as i64);
    let all = format!("{int}{frac}");
    let digits = all.trim_start_matches('0');
    if digits.is_empty() {
        return Ok(0); // 0, -0, 0.000, 0e9
    }
    let trimmed = digits.trim_end_matches('0');
    shift = shift.saturating_add((digits.len() - trimmed.len()) as i64);
    if shift < 0 {
        return Err(not_integer());
    }
    if negative {
        return Err(format!(
            "label `{}` is negative (labels are class indices from 0)",
            quoted(f)
        ));
    }
    let too_large = || {
        format!(
            "label `{}` is beyond the largest label {MAX_LABEL}",
            quoted(f)
        )
    };
    if trimmed.len() as i64 + shift > 20 {
        return Err(too_large());
    }
    let mut value: u64 = 0;
    for b in trimmed.bytes() {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(b - b'0')))
            .ok_or_else(too_large)?;
    }
    for _ in 0..shift {
        value = value.checked_mul(10).ok_or_else(too_large)?;
    }
    if value > MAX_LABEL {
        return Err(too_large());
    }
    Ok(value)
}

impl<F: Element> Table<F> {
    /// Parses CSV text; `source` names it in errors (a path, or "csv").
    ///
    /// # Errors
    /// [`Error::Parse`] naming the line and column of the first bad field
    /// (not a number, not finite, beyond the range of `F` either way, a
    /// broken quote) or ragged row; [`Error::Empty`] if there is no data
    /// row.
    pub fn parse(text: &str, source: &str, has_header: bool) -> Result<Self> {
        let err = |line: usize, column: usize, message: String| Error::Parse {
            source_name: source.to_string(),
            line,
            column,
            message,
        };
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut names: Option<Vec<String>> = None;
        let mut values = Vec::new();
        let mut lines = Vec::new();
        let mut width = None;
        let mut label_issues: Vec<Option<(usize, String)>> = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            if raw.trim().is_empty() {
                continue;
            }
            let fields = split_fields(raw).map_err(|(c, m)| err(line, c, m))?;
            if has_header && names.is_none() {
                width = Some(fields.len());
                names = Some(fields);
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
            label_issues.resize(w, None);
            for (j, f) in fields.iter().enumerate() {
                let v: F = parse_number(f).map_err(|m| err(line, j + 1, m))?;
                if label_issues[j].is_none() {
                    let issue = match exact_label(f) {
                        Err(m) => Some(m),
                        // `F` may round an integer it cannot hold.
                        Ok(k) if Element::to_f64(v) != k as f64 => Some(format!(
                            "label `{}` cannot be stored exactly in {} (it reads as {})",
                            quoted(f),
                            F::NAME,
                            v
                        )),
                        Ok(_) => None,
                    };
                    label_issues[j] = issue.map(|m| (line, m));
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
            label_issues,
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

    /// Splits off column `label_column` as class labels and keeps the other
    /// columns as features.
    ///
    /// A label must be written as an exact integer in `0..=4294967295`
    /// (`3`, `+3`, `3.0`, `3e0` and `-0` are fine; `3.5`, `-1` and
    /// `3000000000.5` are not), judged on the text, and `F` must store it
    /// exactly: `16777217` is an error in an `f32` table, which would read
    /// it as `16777216` (the [`Dataset`]'s numeric targets are `F`).
    ///
    /// ```
    /// use gradsign::data::Table;
    /// let t = Table::<f64>::parse("x,label\n0.5,0\n1.5,2\n", "csv", true)?;
    /// let d = t.into_dataset(1)?;
    /// assert_eq!(d.labels(), &[0, 2]);
    /// assert_eq!(d.feature_names(), ["x"]);
    /// assert!(Table::<f64>::parse("x,label\n0.5,1.5\n", "csv", true)?.into_dataset(1).is_err());
    /// let big = Table::<f32>::parse("x,label\n0.5,16777217\n", "csv", true)?;
    /// assert!(big.into_dataset(1).is_err()); // f32 would store 16777216
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] for a column past the last;
    /// [`Error::Parse`] naming the line and column of the first label that
    /// is not an integer, is negative, is beyond 2³² − 1, or that `F`
    /// cannot store exactly; [`Error::InvalidArgument`] if no feature
    /// column is left.
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
            return Err(Error::out_of_domain(
                "Table::into_dataset",
                "the column count",
                "at least 2 (a feature column beside the label)",
                w,
            ));
        }
        if let Some((line, message)) = &self.label_issues[label_column] {
            return Err(Error::Parse {
                source_name: self.source.clone(),
                line: *line,
                column: label_column + 1,
                message: message.clone(),
            });
        }
        let mut features = Vec::with_capacity(rows * (w - 1));
        let mut labels = Vec::with_capacity(rows);
        for row in self.data.as_slice().chunks_exact(w) {
            // Checked at parse time: an exact integer in 0..=MAX_LABEL.
            labels.push(Element::to_f64(row[label_column]) as usize);
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
