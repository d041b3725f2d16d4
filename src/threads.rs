//! The crate's one rule for thread counts.
//!
//! # Thread counts
//!
//! Every thread-count parameter of the crate
//! ([`Tape::set_threads`](crate::Tape::set_threads),
//! [`GradientSignAnalyzer::with_threads`](crate::analysis::GradientSignAnalyzer::with_threads),
//! [`PerSampleGradients::with_threads`](crate::analysis::PerSampleGradients::with_threads),
//! [`AnalyzerConfig::threads`](crate::analysis::AnalyzerConfig::threads),
//! [`StatisticsConfig::with_threads`](crate::stats::StatisticsConfig::with_threads),
//! [`GemmArgs::threads`](crate::element::GemmArgs::threads),
//! [`Sgd::threads`](crate::optim::Sgd::threads),
//! [`Adam::threads`](crate::optim::Adam::threads),
//! [`AdamW::threads`](crate::optim::AdamW::threads)) follows one
//! rule: a request is clamped to `1 ..= `[`max_threads`]`()`, the
//! parallelism the machine offers. `0` means one thread, and a request
//! beyond the machine (up to `usize::MAX`) gets every thread there is, never
//! more pieces of work than threads to run them.
//!
//! ```
//! use gradsign::{threads::max_threads, Tape};
//! let mut tape = Tape::<f32>::new();
//! tape.set_threads(usize::MAX);
//! assert_eq!(tape.threads(), max_threads());
//! tape.set_threads(0);
//! assert_eq!(tape.threads(), 1);
//! ```
//!
//! # Where the threads come from
//!
//! The kernels split their work with `rayon::join`, on the rayon pool of
//! the calling thread (the global pool outside any). Between two parallel
//! kernels of a step (an element-wise op, the loss, the optimiser) an idle
//! rayon worker goes to sleep after a few tens of microseconds, and the next
//! split must wake it through the kernel's scheduler first; a step of many
//! small products (W3 of `docs/BENCHMARKS.md`) then spends much of its
//! second core waking up. [`Workers`] runs a closure on a pool of its own,
//! with the calling thread taking part and the other workers kept awake
//! (polling for work) while the closure runs, as a BLAS's OpenMP pool keeps
//! its threads spinning between calls.

use crate::{Error, Result};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

/// The most threads any kernel uses: what
/// [`std::thread::available_parallelism`] reports (1 if it cannot tell),
/// read once per process.
///
/// ```
/// assert!(gradsign::threads::max_threads() >= 1);
/// ```
pub fn max_threads() -> usize {
    static MAX: OnceLock<usize> = OnceLock::new();
    *MAX.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// A requested thread count under the crate's rule (see the
/// [module docs](self#thread-counts)): clamped to `1 ..= max_threads()`.
///
/// ```
/// use gradsign::threads::{clamp_threads, max_threads};
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

/// A pool of threads for the kernels, kept awake while it runs a closure.
///
/// [`run`](Self::run) executes a closure on one of the pool's threads, so
/// that the thread driving the tape is itself a worker: a product split in
/// two runs one half there and the other on a second worker, instead of
/// handing both halves to a pool and sleeping until they are done. While
/// the closure runs, every other worker polls for the kernels' work instead
/// of sleeping between splits ([`spinning`](Self::spinning), on by
/// default): the price is that those cores stay busy (100% CPU) until
/// `run` returns, as with OpenMP's default wait policy. The figures in
/// `docs/PERFORMANCE.md` are measured this way.
///
/// Set the tape's thread count ([`Tape::set_threads`](crate::Tape::set_threads))
/// as well: the pool only provides the threads, the tape decides which
/// kernels split.
///
/// ```
/// use gradsign::{threads::Workers, Tape, Tensor};
/// let workers = Workers::new(2)?;
/// let sum = workers.run(|| -> gradsign::Result<f32> {
///     let mut tape = Tape::<f32>::new();
///     tape.set_threads(workers.threads());
///     let a = tape.var(&Tensor::from_vec(vec![1.0; 64 * 64], &[64, 64])?);
///     let y = a.matmul(a)?.sum();
///     Ok(y.value().as_slice()[0])
/// })?;
/// assert_eq!(sum, 64.0 * 64.0 * 64.0);
/// # Ok::<(), gradsign::Error>(())
/// ```
#[derive(Debug)]
pub struct Workers {
    pool: rayon::ThreadPool,
    spinning: bool,
}

impl Workers {
    /// A pool of `threads` threads, clamped by the crate's rule
    /// ([`clamp_threads`]), spinning while it runs.
    ///
    /// ```
    /// use gradsign::threads::{max_threads, Workers};
    /// assert_eq!(Workers::new(0)?.threads(), 1);
    /// assert_eq!(Workers::new(usize::MAX)?.threads(), max_threads());
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the operating system refuses to
    /// start the threads.
    pub fn new(threads: usize) -> Result<Self> {
        let threads = clamp_threads(threads);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("gradsign-worker-{i}"))
            .build()
            .map_err(|e| Error::InvalidArgument {
                op: "Workers::new",
                message: format!("could not start {threads} threads: {e}"),
            })?;
        Ok(Self {
            pool,
            spinning: true,
        })
    }

    /// Whether the other workers poll for work while [`run`](Self::run)'s
    /// closure runs (`true`, the default) or sleep between splits as
    /// rayon's workers do (`false`: no core is kept busy, each split pays a
    /// wake-up).
    ///
    /// ```
    /// use gradsign::threads::Workers;
    /// let quiet = Workers::new(2)?.spinning(false);
    /// assert_eq!(quiet.run(|| 1 + 1), 2);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    #[must_use]
    pub fn spinning(mut self, on: bool) -> Self {
        self.spinning = on;
        self
    }

    /// The pool's number of threads, the calling thread of
    /// [`run`](Self::run) included.
    ///
    /// ```
    /// assert_eq!(gradsign::threads::Workers::new(1)?.threads(), 1);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    pub fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }

    /// Runs `f` on one of the pool's threads and returns its result; the
    /// other workers take the kernels' splits (and poll for them when
    /// [`spinning`](Self::spinning)) until `f` returns. A panic in `f`
    /// stops the polling and is resumed on the caller.
    ///
    /// ```
    /// use gradsign::threads::Workers;
    /// let workers = Workers::new(2)?;
    /// let (a, b) = workers.run(|| rayon::join(|| 1, || 2));
    /// assert_eq!(a + b, 3);
    /// // A panic comes back to the caller, and the pool stays usable.
    /// let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
    ///     workers.run(|| panic!("inside"))
    /// }));
    /// assert!(caught.is_err());
    /// assert_eq!(workers.run(|| 7), 7);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    pub fn run<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        let threads = self.threads();
        if !self.spinning || threads == 1 {
            return self.pool.install(f);
        }
        self.pool.install(|| {
            let done = AtomicBool::new(false);
            let caller = rayon::current_thread_index();
            rayon::scope(|s| {
                for _ in 1..threads {
                    s.spawn(|_| {
                        // The caller runs a poller only when no worker took
                        // it before `f` returned: then there is nothing to
                        // wait for.
                        if rayon::current_thread_index() == caller {
                            return;
                        }
                        while !done.load(Ordering::Acquire) {
                            // Runs a split's other half as soon as it is
                            // pushed, from any worker's queue.
                            if rayon::yield_now() != Some(rayon::Yield::Executed) {
                                std::hint::spin_loop();
                            }
                        }
                    });
                }
                // Set on return and on unwind alike, so that a panic in `f`
                // cannot leave the pollers running (and the scope waiting).
                struct Stop<'a>(&'a AtomicBool);
                impl Drop for Stop<'_> {
                    fn drop(&mut self) {
                        self.0.store(true, Ordering::Release);
                    }
                }
                let _stop = Stop(&done);
                f()
            })
        })
    }
}
