//! Numeric kernels on slices. The only module allowed `unsafe`: it wraps the
//! tuned matrix-multiply crate behind bounds-checked safe functions, and
//! calls the loops of [`bits`] and [`reduce`] compiled for the
//! instructions the CPU was found to have.
//!
//! # Thread counts
//!
//! One rule for every thread-count parameter of the crate
//! ([`Tape::set_threads`](crate::Tape::set_threads),
//! [`GradientSignAnalyzer::with_threads`](crate::analysis::GradientSignAnalyzer::with_threads),
//! [`PerSampleGradients::with_threads`](crate::analysis::PerSampleGradients::with_threads),
//! [`AnalyzerConfig::threads`](crate::analysis::AnalyzerConfig::threads),
//! [`GemmArgs::threads`](matmul::GemmArgs)): a request is clamped to
//! `1 ..= `[`max_threads`]`()`, the parallelism the machine offers. `0`
//! means one thread, and a request beyond the machine (up to `usize::MAX`)
//! gets every thread there is, never more pieces of work than threads to
//! run them.

pub mod bits;
pub mod matmul;
pub mod reduce;
pub mod vmath;

use std::sync::OnceLock;

/// The most threads any kernel uses: what
/// [`std::thread::available_parallelism`] reports (1 if it cannot tell),
/// read once per process.
///
/// ```
/// assert!(gradsign::kernels::max_threads() >= 1);
/// ```
pub fn max_threads() -> usize {
    static MAX: OnceLock<usize> = OnceLock::new();
    *MAX.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// A requested thread count under the crate's rule (see the module docs):
/// clamped to `1 ..= max_threads()`.
///
/// ```
/// use gradsign::kernels::{clamp_threads, max_threads};
/// assert_eq!(clamp_threads(0), 1);
/// assert_eq!(clamp_threads(usize::MAX), max_threads());
/// assert_eq!(clamp_threads(1), 1);
/// ```
pub fn clamp_threads(threads: usize) -> usize {
    if threads <= 1 {
        // No lookup: a one-thread caller never touches the process-wide
        // cache (whose first read allocates).
        1
    } else {
        threads.min(max_threads())
    }
}
