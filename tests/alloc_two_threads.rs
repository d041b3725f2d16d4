//! A warm W3 or W6 training step on two threads allocates nothing on any
//! thread: neither on the thread driving the tape nor on the worker that
//! takes the splits (the matrix kernel's halves, `linear`'s `dX` beside
//! `dW`, the convolution's examples, SGD's pieces). The global allocator of
//! `support/counting_alloc.rs` counts every thread of the process, so this
//! binary holds a single test: nothing else runs while it counts.

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::{all_allocations, counted_in};
use gradsign::Tensor;
use gradsign::nn::Sequential;
use gradsign::threads::{Workers, max_threads};
use gradsign_studies::bench_data;
use gradsign_studies::trainer::{Target, Trainer};

/// Allocations of every thread during five warm steps of `net` (softmax
/// cross-entropy, SGD, two threads), after two warm-up steps, with the
/// pool's other worker polling for splits as the workloads runner runs it.
fn all_allocations_in_warm_steps(
    workers: &Workers,
    net: &Sequential<f32>,
    x: &Tensor<f32>,
    labels: &[usize],
    lr: f64,
) -> usize {
    workers.run(|| {
        let mut trainer = Trainer::new(net.clone(), lr, workers.threads());
        counted_in(all_allocations, (2, 5), || {
            std::hint::black_box(trainer.step(x, Target::Classes(labels)));
        })
    })
}

#[test]
fn warm_two_thread_steps_allocate_on_no_thread() {
    let workers = Workers::new(2).expect("a pool of two threads");
    assert_eq!(
        workers.threads(),
        2.min(max_threads()),
        "the pool has the threads asked for, up to the machine's"
    );

    // The counter sees an allocation made on the pool's other thread: the
    // second half of a join that is made to run there.
    let seen = workers.run(|| {
        let started = std::sync::atomic::AtomicBool::new(false);
        let caller = rayon::current_thread_index();
        let before = all_allocations();
        let (_, elsewhere) = rayon::join(
            || {
                // Wait (bounded) for the other worker to take the second half.
                let t0 = std::time::Instant::now();
                while !started.load(std::sync::atomic::Ordering::Acquire)
                    && t0.elapsed() < std::time::Duration::from_secs(5)
                {
                    std::hint::spin_loop();
                }
            },
            || {
                started.store(true, std::sync::atomic::Ordering::Release);
                std::hint::black_box(vec![1u8; 64]);
                rayon::current_thread_index() != caller
            },
        );
        (all_allocations() - before, elsewhere)
    });
    assert!(seen.0 >= 1, "the counter missed an allocation: {seen:?}");
    if max_threads() >= 2 {
        assert!(seen.1, "the allocation ran on the caller's thread");
    }

    let w3 = bench_data::w3::<f32>();
    let n = all_allocations_in_warm_steps(&workers, &w3.mlp, &w3.x, &w3.labels, bench_data::W3_LR);
    assert_eq!(n, 0, "{n} allocations in 5 warm W3 steps on two threads");

    let w6 = bench_data::w6::<f32>();
    let n = all_allocations_in_warm_steps(&workers, &w6.net, &w6.x, &w6.labels, bench_data::W6_LR);
    assert_eq!(n, 0, "{n} allocations in 5 warm W6 steps on two threads");
}
