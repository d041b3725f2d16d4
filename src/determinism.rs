//! # Determinism
//!
//! **Same seed, same bits.** Every source of randomness in the crate takes an
//! explicit seed (`Tensor::rand_uniform`/`rand_normal` and the initialisers
//! draw from ChaCha8, the playground sets and BENCH.md's data from seeded
//! generators); nothing reads the clock, the environment or a global
//! generator. The engine itself has no hash maps and no data-dependent order:
//! the backward sweep is one loop over the tape in reverse, element-wise ops
//! and reductions visit elements in a fixed order (sums are pairwise, with a
//! fixed split). So the same program with the same seeds gives the same bits,
//! in `f32` and in `f64`, from run to run and from process to process
//! (`tests/engine/determinism.rs` trains a network twice in one process and once in
//! a child process, and compares every parameter's bits).
//!
//! **Threads.** [`Tape::set_threads`](crate::Tape::set_threads) only lets the
//! matrix products (from 128·128·64 multiply-adds up) use more threads, and
//! with the `gemm` kernel the crate uses, results do not depend on the thread
//! count: the kernel gives each thread its own tiles of the output and runs
//! the reduction over the inner dimension `k` in the same blocks, in the same
//! order, whatever the thread count, so no sum is reassociated.
//! `tests/engine/determinism.rs` checks this: BENCH.md's W3 layer
//! (`128×784 · (256×784)ᵀ`, its `dW = Gᵀ·X` over the 128 examples and its
//! `dX`) is bit-identical at 1 and 2 threads in `f32` and `f64`, and so is a
//! whole training run. Should a future kernel split `k` across threads, that
//! test fails first; `set_threads(1)` (the default) is the deterministic mode
//! in any case, since one thread has one order.
//!
//! **Across machines.** Bits are the same on machines that pick the same
//! kernel: `gemm` dispatches at run time to AVX-512, AVX2/FMA or SSE, whose
//! fused multiply-adds round differently from separate ones, and `libm`-style
//! functions (`exp`, `ln`, `tanh`) come from the platform's math library. A
//! result reproduced on another CPU family or operating system may differ in
//! the last bits.
//!
//! **Training on several threads.** Models, optimisers, gradients and
//! tensors are `Send + Sync`; a [`Tape`](crate::Tape) is `Send` but not
//! `Sync` (recording appends through `&Tape`). Two models trained on two
//! threads, each with its own tape, give the bits of training them one after
//! the other (`tests/engine/threads.rs`).
