//! Arbitrary programs on a tape, from the fuzzer's bytes: the interpreter
//! in `tests/engine/program.rs` (shared with the proptest
//! `tests/engine/random_programs.rs`) picks ops, operands, shapes and values, runs
//! them forward, then backward. It calls only `try_` and `Result` methods, so
//! any panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/engine/program.rs"]
mod program;

fuzz_target!(|data: &[u8]| {
    let mut u = program::Bytes::new(data);
    let _ = match u.int_in_range(0u8..=1) {
        Ok(1) => program::run::<f32>(&mut u),
        _ => program::run::<f64>(&mut u),
    };
});
