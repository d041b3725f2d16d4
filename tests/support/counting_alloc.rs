//! A global allocator that counts the calling thread's allocations and live
//! heap bytes, for the tests that prove a warm step allocates nothing and
//! that memory stays flat over long training. Each test binary that needs it
//! declares it once in its `main.rs` (`#[path = "../support/counting_alloc.rs"]
//! mod counting_alloc;`), which installs it as that binary's global
//! allocator. Tests run on several threads at once, so every figure is per
//! thread: another test's allocations never reach it. The one exception,
//! [`all_allocations`], counts every thread of the process, for a binary
//! that holds a single test (`tests/alloc_two_threads.rs`).
// Each binary uses the part its tests need.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Allocations (and reallocations) made by every thread of the process.
static ALL: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Allocations (and reallocations) made by this thread.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
    /// Bytes allocated minus bytes freed by this thread.
    static LIVE: Cell<isize> = const { Cell::new(0) };
    /// The largest value `LIVE` has reached since the last `reset_peak`.
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

/// Counts one allocation call of the calling thread.
fn count() {
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
    ALL.fetch_add(1, Ordering::Relaxed);
}

/// Moves the calling thread's live bytes by `delta` and its peak with them.
/// Saturating: a panic inside the allocator would abort the whole binary.
fn add_live(delta: isize) {
    let _ = LIVE.try_with(|l| {
        let now = l.get().saturating_add(delta);
        l.set(now);
        let _ = PEAK.try_with(|p| p.set(p.get().max(now)));
    });
}

/// A size as a signed byte count (`Layout` keeps sizes within `isize`).
fn signed(size: usize) -> isize {
    isize::try_from(size).unwrap_or(isize::MAX)
}

struct Counting;

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counters are thread-local `Cell`s with const initialisers, which neither
// allocate nor need a destructor, and one atomic. Only allocations that
// succeed move the live bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller's contract for `alloc` is passed on.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            add_live(signed(layout.size()));
        }
        ptr
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        add_live(-signed(layout.size()));
        // SAFETY: `ptr` came from `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            add_live(signed(layout.size()));
        }
        ptr
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: the caller's contract for `realloc` is passed on.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            add_live(signed(new_size) - signed(layout.size()));
        }
        new
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations (and reallocations) made by the calling thread so far.
pub fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

/// Allocations (and reallocations) made by every thread of the process so
/// far: meaningful only in a binary whose one test is the only thing
/// running.
pub fn all_allocations() -> usize {
    ALL.load(Ordering::Relaxed)
}

/// How far `counter` ([`allocations`] or [`all_allocations`]) moves
/// during `rounds` calls of `f`, after `warm` warm-up calls.
pub fn counted_in(
    counter: fn() -> usize,
    (warm, rounds): (usize, usize),
    mut f: impl FnMut(),
) -> usize {
    for _ in 0..warm {
        f();
    }
    let before = counter();
    for _ in 0..rounds {
        f();
    }
    counter() - before
}

/// Bytes the calling thread has allocated and not freed.
pub fn live_bytes() -> isize {
    LIVE.with(Cell::get)
}

/// The most bytes the calling thread has had live since the last
/// [`reset_peak`].
pub fn peak_bytes() -> isize {
    PEAK.with(Cell::get)
}

/// Starts a new peak from the calling thread's live bytes now.
pub fn reset_peak() {
    PEAK.with(|p| p.set(live_bytes()));
}
