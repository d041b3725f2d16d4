//! The engine: tensors, the tape and its ops, activations, losses, the
//! matrix kernels, threads and determinism, checked mode, errors, and the
//! hostile inputs and fuzz regressions of each.
//!
//! One test binary per area, one module per topic: every test binary links
//! the whole crate, so a few binaries keep a build small on disk and quick
//! to link.

#[path = "../support/counting_alloc.rs"]
mod counting_alloc;
mod hostile_numerics_dd;
mod program;

mod activations;
mod api_audit;
mod bench_checks;
mod checked_mode;
mod determinism;
mod engine;
mod errors;
mod fuzz_regressions;
mod hostile_engine;
mod hostile_numerics;
mod loss_kinks;
mod losses;
mod matmul;
mod ops_broadcast_values;
mod ops_gradcheck;
mod random_programs;
mod threads;
mod w1_scalar_chain;
