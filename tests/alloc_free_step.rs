//! A warm training step allocates nothing: `tape.clear()`, forward, loss,
//! `backward_into` a reused `Gradients`, optimiser step, counted by a global
//! allocator that tallies the allocations of the calling thread.
//!
//! Its own test binary, because it installs a global allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use gradsign::activation::Activation;
use gradsign::data::bench_data;
use gradsign::nn::Mlp;
use gradsign::optim::{Adam, Optimizer, Sgd};
use gradsign::{Element, Gradients, Tape, Tensor};

thread_local! {
    /// Allocations (and reallocations) made by this thread.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

struct Counting;

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counter is a thread-local `Cell` with a const initialiser, which neither
// allocates nor needs a destructor.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: the caller's contract for `alloc` is passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: the caller's contract for `realloc` is passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

/// Runs `warm` steps, then counts the allocations of `measured` more.
fn allocations_per_warm_steps<F: Element>(
    mlp: &mut Mlp<F>,
    opt: &mut impl Optimizer<F>,
    x: &Tensor<F>,
    y: &Tensor<F>,
    measured: usize,
) -> (usize, F) {
    let mut tape = Tape::new();
    let mut grads = Gradients::new();
    let mut before = 0;
    let mut loss_value = F::zero();
    for step in 0..3 + measured {
        if step == 3 {
            before = allocations();
        }
        tape.clear();
        let input = tape.constant(x);
        let target = tape.constant(y);
        let (out, trace) = mlp.forward(&tape, input).unwrap();
        // Mean squared error from primitives.
        let loss = (out - target).square().mean().unwrap();
        loss_value = loss.item().unwrap();
        loss.backward_into(&mut grads).unwrap();
        opt.step(mlp.params_with_grads(&trace, &grads).unwrap())
            .unwrap();
    }
    (allocations() - before, loss_value)
}

#[test]
fn a_warm_training_step_performs_no_heap_allocation() {
    // BENCH.md's W2: 2-8-8-1 tanh MLP, 32 examples, f32.
    let w2 = bench_data::w2::<f32>();

    let mut mlp = w2.mlp.clone();
    let mut sgd = Sgd::new(0.03f32).momentum(0.9);
    let (n, loss) = allocations_per_warm_steps(&mut mlp, &mut sgd, &w2.x, &w2.y, 100);
    assert_eq!(n, 0, "{n} allocations in 100 warm SGD steps");
    assert!(
        loss.is_finite() && loss < 1.00202,
        "training made progress: {loss}"
    );

    let mut mlp = w2.mlp.clone();
    let mut adam = Adam::new(0.01f32);
    let (n, _) = allocations_per_warm_steps(&mut mlp, &mut adam, &w2.x, &w2.y, 100);
    assert_eq!(n, 0, "{n} allocations in 100 warm Adam steps");

    // The same in f64 with a hand-built network.
    let mut mlp =
        Mlp::<f64>::from_splitmix(5, &[2, 8, 8, 1], Activation::Tanh, Activation::Identity)
            .unwrap();
    let (x, y) = (w2.x.cast::<f64>(), w2.y.cast::<f64>());
    let (n, _) = allocations_per_warm_steps(&mut mlp, &mut Sgd::new(0.03), &x, &y, 100);
    assert_eq!(n, 0, "{n} allocations in 100 warm f64 steps");
}

#[test]
fn the_counter_sees_allocations() {
    // Guards the test above against a counter that never counts.
    let before = allocations();
    let v = std::hint::black_box(vec![1u8; 64]);
    assert!(allocations() > before);
    drop(v);
}
