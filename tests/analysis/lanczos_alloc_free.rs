//! Thick-restart Lanczos allocates nothing per step or restart: two runs
//! that differ only in how many steps (and restarts) they take allocate
//! exactly as often, counted per thread by the global allocator of
//! `support/counting_alloc.rs`.

use gradsign::Tensor;
use gradsign::curvature::DenseOperator;
use gradsign::curvature::lanczos::{LanczosConfig, lanczos};

use crate::counting_alloc::allocations;

#[test]
fn lanczos_steps_and_restarts_allocate_nothing() {
    // diag(1, …, 400) rotated by nothing: evenly spaced, slow to converge,
    // so that neither run below converges before its budget.
    let n = 400;
    let m = Tensor::from_fn(&[n, n], |ix| {
        if ix[0] == ix[1] {
            (ix[0] + 1) as f64
        } else {
            0.0
        }
    })
    .unwrap();
    let op = DenseOperator::new(&m).unwrap();
    let run = |steps: usize| {
        let config = LanczosConfig::largest(3).basis(8).max_iterations(steps);
        let before = allocations();
        let r = lanczos(&op, &config).unwrap();
        (allocations() - before, r)
    };
    let (short_allocs, short) = run(40);
    let (long_allocs, long) = run(400);
    assert!(!short.converged && !long.converged, "{long:?}");
    assert_eq!((short.iterations, long.iterations), (40, 400));
    assert!(
        long.restarts >= short.restarts + 80,
        "{} vs {}",
        long.restarts,
        short.restarts
    );
    assert!(short_allocs > 0, "the counter counts");
    assert_eq!(
        short_allocs, long_allocs,
        "40 steps ({} restarts) allocated {short_allocs} times, 400 steps ({} restarts) {long_allocs}",
        short.restarts, long.restarts
    );
}
