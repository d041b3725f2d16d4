//! Random tape programs (the interpreter in `program/mod.rs`, shared with the
//! fuzz target `tape_program`): any sequence of ops with any operands,
//! shapes and values either runs forward and backward or returns an `Err`;
//! it never panics, and every value and gradient has its shape's size.

use crate::program;

use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_f64_programs_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = program::run::<f64>(&mut program::Bytes::new(&bytes));
    }

    #[test]
    fn random_f32_programs_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = program::run::<f32>(&mut program::Bytes::new(&bytes));
    }
}
