//! The crate's one error type.
//!
//! Policy, written down once: every named method whose validity depends on its
//! input (shapes, axes, labels, files) returns [`Result`]; the arithmetic
//! operators (`+ - * /` and unary `-`) panic with the same message the `try_`
//! twin would return as an [`Error`], so that `x * x + x` stays readable. Every
//! variant names the operation and the shapes or values involved, so a message
//! explains itself without a backtrace.
//!
//! # Which methods return a `Result`
//!
//! One rule decides it: a method returns [`Result`] exactly when some
//! argument it accepts can make it fail. So:
//!
//! - [`Var::sum`](crate::Var::sum) is defined for every tensor (the sum of
//!   nothing is 0) and returns a `Var`; like the arithmetic operators it can
//!   fail only in [checked mode](crate::Tape::set_checked) on a non-finite
//!   result, and panics there with the message its twin
//!   [`try_sum`](crate::Var::try_sum) returns;
//! - [`Var::mean`](crate::Var::mean) is not defined for an empty tensor
//!   (`0/0`), so it returns `Result`;
//! - [`Tensor::zeros`](crate::Tensor::zeros) returns `Result` because the
//!   dimensions can be of a rank the crate does not hold or too many
//!   elements to allocate; [`Tensor::scalar`](crate::Tensor::scalar)
//!   cannot fail and does not.
//!
//! A `try_` twin exists only for the infallible-looking methods that checked
//! mode can make fail (the operators, `sum`, the element-wise maps); nothing
//! else has two spellings.
//!
//! ```
//! use gradsign::{Error, Tape, Tensor};
//! let tape = Tape::<f64>::new();
//! let empty = tape.var(&Tensor::zeros(&[0])?);
//! assert_eq!(empty.sum().item()?, 0.0);
//! assert!(matches!(empty.mean(), Err(Error::Empty { op: "mean", .. })));
//! assert!(matches!(Tensor::<f64>::zeros(&[1, 1, 1, 1, 1]), Err(Error::RankMismatch { .. })));
//! # Ok::<(), gradsign::Error>(())
//! ```

use crate::shape::Shape;

/// Everything that can go wrong in `gradsign`.
///
/// The enum is `#[non_exhaustive]`: new variants may be added in minor
/// releases, so match with a wildcard arm.
///
/// ```
/// use gradsign::{Error, Tensor};
/// let err = Tensor::<f64>::from_vec(vec![1.0, 2.0, 3.0], &[2, 2]).unwrap_err();
/// assert!(matches!(err, Error::DataLength { .. }));
/// assert_eq!(err.to_string(), "from_vec: 3 values cannot fill shape [2, 2] (needs 4)");
/// ```
///
/// A parameter outside an op's domain is an [`Error::OutOfDomain`] naming
/// the op, the parameter, the values it may take and the value given; its
/// fields can be read by name (the variant is `#[non_exhaustive]`, so the
/// pattern ends in `..`):
///
/// ```
/// use gradsign::{Error, Tape};
/// let tape = Tape::<f64>::new();
/// let x = tape.var_scalar(1.5);
/// match x.clamp(2.0, 1.0) {
///     Err(Error::OutOfDomain { op, param, .. }) => {
///         assert_eq!(op, "clamp");
///         assert_eq!(param, "the bounds");
///     }
///     other => panic!("expected OutOfDomain, got {other:?}"),
/// }
/// assert_eq!(
///     x.clamp(2.0, 1.0).unwrap_err().to_string(),
///     "clamp: the bounds must be lo ≤ hi, got lo = 2, hi = 1"
/// );
/// ```
///
/// Which variant means what, in short: shapes that do not combine are
/// [`Error::ShapeMismatch`] (and [`Error::RankMismatch`],
/// [`Error::AxisOutOfRange`], [`Error::IndexOutOfRange`],
/// [`Error::DataLength`], [`Error::Empty`]); a parameter outside its
/// domain is [`Error::OutOfDomain`]; two things that must agree and do
/// not are [`Error::Incompatible`]; a size that overflows or cannot be
/// allocated is [`Error::TooLarge`]; a variable without a gradient is
/// [`Error::NoGradient`]; a stateful object used out of sequence is
/// [`Error::OutOfOrder`]; a file or saved form of the wrong kind is
/// [`Error::Format`] (malformed text is [`Error::Parse`], a failed read or
/// write [`Error::Io`]); a NaN or infinity where a finite value is needed
/// is [`Error::NonFinite`]. [`Error::InvalidArgument`] is left for the few
/// free-form refusals that fit none of these.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Two shapes that the operation cannot combine (NumPy broadcasting, or an
    /// operation that needs equal shapes).
    #[error("{op}: shapes {lhs} and {rhs} are not compatible{}{}", if .reason.is_empty() { "" } else { ": " }, .reason)]
    ShapeMismatch {
        /// The operation.
        op: &'static str,
        /// The left operand's shape.
        lhs: Shape,
        /// The right operand's shape.
        rhs: Shape,
        /// Why, when it is not plain broadcasting (may be empty).
        reason: &'static str,
    },
    /// A data buffer whose length does not match the product of a shape.
    #[error("{op}: {len} values cannot fill shape {shape} (needs {})", .shape.numel())]
    DataLength {
        /// The operation.
        op: &'static str,
        /// The number of values supplied.
        len: usize,
        /// The requested shape.
        shape: Shape,
    },
    /// An axis beyond the rank of the tensor.
    #[error("{op}: axis {axis} is out of range for shape {shape} (rank {})", .shape.rank())]
    AxisOutOfRange {
        /// The operation.
        op: &'static str,
        /// The axis requested.
        axis: usize,
        /// The tensor's shape.
        shape: Shape,
    },
    /// An operation that needs a tensor of a particular rank.
    #[error("{op}: expected a tensor of rank {expected}, got shape {shape}")]
    RankMismatch {
        /// The operation.
        op: &'static str,
        /// The rank the operation needs (as text: "2", "2 or 3", "at most 4").
        expected: &'static str,
        /// The shape received.
        shape: Shape,
    },
    /// An index (a label, a gather index, a slice bound) outside its range.
    #[error("{op}: index {index} is out of range {bound} for shape {shape}")]
    IndexOutOfRange {
        /// The operation.
        op: &'static str,
        /// The offending index.
        index: usize,
        /// The exclusive upper bound it had to respect.
        bound: usize,
        /// The shape it indexes.
        shape: Shape,
    },
    /// An empty tensor or batch where the result would be meaningless
    /// (the mean of nothing, a batch of zero examples).
    #[error("{op}: empty input of shape {shape}")]
    Empty {
        /// The operation.
        op: &'static str,
        /// The empty shape.
        shape: Shape,
    },
    /// `backward` from a root that is not a scalar, without a seed.
    #[error(
        "backward: the root has shape {shape}; a non-scalar root needs an explicit seed of that shape (use backward_with_seed)"
    )]
    NonScalarRoot {
        /// The root's shape.
        shape: Shape,
    },
    /// A variable used with a tape it does not belong to.
    #[error("{op}: a variable from tape #{found} was used with tape #{expected}")]
    ForeignVar {
        /// The operation.
        op: &'static str,
        /// The tape the operation runs on.
        expected: u64,
        /// The tape the variable came from.
        found: u64,
    },
    /// A free-form refusal that fits none of the other variants (a loss
    /// closure returning a vector, a model whose outputs cannot be
    /// flattened). Prefer matching the typed variants: parameters outside
    /// their domain are [`Error::OutOfDomain`], sizes that cannot be had
    /// [`Error::TooLarge`], disagreements [`Error::Incompatible`], files
    /// [`Error::Format`].
    #[error("{op}: {message}")]
    InvalidArgument {
        /// The operation.
        op: &'static str,
        /// What was wrong, with the value.
        message: String,
    },
    /// A parameter outside the values an op is defined for: a negative
    /// learning rate, an `eps` that rounds to zero in the element type,
    /// `lo > hi`, a layer of zero channels. Checked in the element type the
    /// value will be used in.
    #[error("{op}: {param} must be {domain}, got {value}")]
    #[non_exhaustive]
    OutOfDomain {
        /// The operation.
        op: &'static str,
        /// The parameter, as the op's documentation names it.
        param: String,
        /// The values it may take.
        domain: String,
        /// The value given (and, where it differs, what it became in the
        /// element type).
        value: String,
    },
    /// Two things that must agree do not: a saved state of another
    /// optimizer or model, a parameter list that changed between steps, a
    /// trace of another model, a recorder built without a bias fed one.
    #[error("{op}: {what}")]
    #[non_exhaustive]
    Incompatible {
        /// The operation.
        op: &'static str,
        /// What disagrees with what.
        what: String,
    },
    /// A file or saved form that is not what the reader needs: another
    /// format or version, an element type the crate does not read, an entry
    /// missing or given twice, a layer without a saved form.
    #[error("{op}: {what}")]
    #[non_exhaustive]
    Format {
        /// The operation.
        op: &'static str,
        /// What is wrong with the file, naming it.
        what: String,
    },
    /// A size that cannot be had: its element count overflows a `usize`, or
    /// the memory for it cannot be allocated. Checked before anything is
    /// sized by it.
    #[error("{op}: {what} is too large: {reason}")]
    #[non_exhaustive]
    TooLarge {
        /// The operation.
        op: &'static str,
        /// What was to be sized, with its sizes.
        what: String,
        /// Why it cannot be had (the overflow, or the allocator's error).
        reason: String,
    },
    /// A variable has no gradient in these [`Gradients`](crate::Gradients):
    /// it was recorded after they were computed (stale), on another pass,
    /// or it does not depend on any differentiable leaf.
    #[error("{op}: {what}")]
    #[non_exhaustive]
    NoGradient {
        /// The operation.
        op: &'static str,
        /// Which variable, and why.
        what: String,
    },
    /// A stateful object used out of order: a step that does not follow
    /// the last one, a recorder fed two kinds of observation, a
    /// configuration changed mid-run.
    #[error("{op}: {what}")]
    #[non_exhaustive]
    OutOfOrder {
        /// The operation.
        op: &'static str,
        /// What came out of order.
        what: String,
    },
    /// A non-finite value where a finite one is required (checked mode, data
    /// that would make a result meaningless).
    #[error("{op}: non-finite value {what}")]
    NonFinite {
        /// The operation.
        op: &'static str,
        /// Which value and where.
        what: String,
    },
    /// A matrix that a solve needs positive definite (a Fisher, Gauss–Newton
    /// or Hessian matrix) is singular or indefinite, to working precision.
    #[error(
        "{op}: the {size}×{size} {what} matrix is not positive definite ({detail}); add damping (λ > 0) or remove the redundant parameters"
    )]
    NotPositiveDefinite {
        /// The operation.
        op: &'static str,
        /// Which matrix ("Fisher", "Gauss–Newton"...).
        what: &'static str,
        /// Its size.
        size: usize,
        /// Where the factorisation failed, with the pivot.
        detail: String,
    },
    /// An operator that an algorithm needs symmetric (Lanczos, stochastic
    /// Lanczos quadrature) failed a random symmetry probe.
    #[error("{op}: the {what} operator is not symmetric ({detail})")]
    NotSymmetric {
        /// The operation.
        op: &'static str,
        /// The operator's name ("Hessian", "dense matrix"...).
        what: &'static str,
        /// The probe's two sides.
        detail: String,
    },
    /// A text or binary input (CSV, .npy, JSON) that cannot be parsed.
    #[error("{source_name}: line {line}, column {column}: {message}")]
    Parse {
        /// The input's name (a file path or "csv").
        source_name: String,
        /// One-based line number.
        line: usize,
        /// One-based column number.
        column: usize,
        /// What was wrong.
        message: String,
    },
    /// An error in one layer of a network, with the layer's index (first
    /// layer = 0); the source names the operation and the shapes.
    #[error("layer {layer}: {source}")]
    Layer {
        /// The layer's index.
        layer: usize,
        /// What went wrong there.
        source: Box<Error>,
    },
    /// An I/O failure reading or writing a file.
    #[error("{op}: {message}")]
    Io {
        /// The operation.
        op: &'static str,
        /// The underlying error's message.
        message: String,
    },
}

impl Error {
    /// An [`Error::OutOfDomain`].
    pub(crate) fn out_of_domain(
        op: &'static str,
        param: impl Into<String>,
        domain: impl Into<String>,
        value: impl std::fmt::Display,
    ) -> Self {
        Error::OutOfDomain {
            op,
            param: param.into(),
            domain: domain.into(),
            value: value.to_string(),
        }
    }

    /// An [`Error::Format`].
    #[cfg_attr(not(any(feature = "io", feature = "serde")), allow(dead_code))]
    pub(crate) fn format(op: &'static str, what: impl Into<String>) -> Self {
        Error::Format {
            op,
            what: what.into(),
        }
    }

    /// An [`Error::Incompatible`].
    pub(crate) fn incompatible(op: &'static str, what: impl Into<String>) -> Self {
        Error::Incompatible {
            op,
            what: what.into(),
        }
    }
}

/// `Result` with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The operators' panic: the error's message, reported at the caller's line.
///
/// A panic inside a closure (`unwrap_or_else(|e| panic!(..))`) reports the
/// closure's own location, because closures cannot carry
/// `#[track_caller]`; a `match` in a `#[track_caller]` function passes the
/// caller's location through, so `a + b` on shapes that do not broadcast
/// points at the user's `a + b`.
#[track_caller]
pub(crate) fn or_panic<T>(result: Result<T>) -> T {
    match result {
        Ok(value) => value,
        Err(e) => panic!("{e}"),
    }
}
