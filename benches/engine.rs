//! Criterion benchmarks of the engine: per-node overhead (`tape`), memory
//! bound element-wise ops (`elementwise`) and matrix products (`matmul`).
//!
//! ```sh
//! cargo bench --bench engine                # everything
//! cargo bench --bench engine -- tape        # one group
//! ```
//!
//! Reading the figures: every benchmark sets a throughput, so criterion's
//! `thrpt` line gives the rate directly. In `tape`, one element is one op,
//! so ns per op = 10⁹ / (elements per second), or the time divided by the
//! ops in the name. In `matmul`, one element is one floating-point
//! operation (2n³ per product), so `Gelem/s` reads as GFLOP/s.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use gradsign::{Element, Gradients, Tape, Tensor};
use gradsign_studies::SplitMix64;

/// `docs/BENCHMARKS.md`'s W1: `x = tanh(x·wᵢ + bᵢ)` for 10⁴ steps on 2N + 1 scalar
/// leaves, graph and backward, 3N ops. The leaves are recorded as the chain
/// reaches them (keeping them in a `Vec` would allocate per run, because a
/// `Vec` of variables cannot outlive `clear`); their count is unchanged.
fn w1_scalar_chain(c: &mut Criterion) {
    const N: usize = 10_000;
    let mut rng = SplitMix64::new(1);
    let w: Vec<f64> = (0..N).map(|_| rng.pm1()).collect();
    let b: Vec<f64> = (0..N).map(|_| rng.pm1()).collect();
    let mut tape = Tape::<f64>::new();
    let mut grads = Gradients::new();
    let mut group = c.benchmark_group("tape");
    group.throughput(Throughput::Elements(3 * N as u64));
    group.bench_function("w1_scalar_chain_f64_30000_ops", |bench| {
        bench.iter(|| {
            tape.clear();
            let mut x = tape.var_scalar(0.5);
            for i in 0..N {
                x = (x * tape.var_scalar(w[i]) + tape.var_scalar(b[i])).tanh();
            }
            x.backward_into(&mut grads).expect("scalar root");
            black_box(grads.get(x).expect("the root has a gradient")[0])
        })
    });

    // 3333 steps of three ops on 4×4 tensors, and a final sum: 10⁴ ops.
    const STEPS: usize = 3333;
    let x0 = Tensor::<f64>::rand_uniform(&[4, 4], -1.0, 1.0, 1).expect("shape");
    let w = Tensor::<f64>::rand_uniform(&[4, 4], -1.0, 1.0, 2).expect("shape");
    let b = Tensor::<f64>::rand_uniform(&[4, 4], -0.1, 0.1, 3).expect("shape");
    group.throughput(Throughput::Elements(3 * STEPS as u64 + 1));
    group.bench_function("chain_4x4_f64_10000_ops", |bench| {
        bench.iter(|| {
            tape.clear();
            let (wv, bv) = (tape.var(&w), tape.var(&b));
            let mut x = tape.var(&x0);
            for _ in 0..STEPS {
                x = (x * wv + bv).tanh();
            }
            x.sum().backward_into(&mut grads).expect("scalar root");
            black_box(grads.get(wv).expect("w has a gradient")[0])
        })
    });

    // One node: recording a scalar op, and recording it plus its share of
    // the backward sweep, over chains of 4096 (the tape is cleared between
    // chains, outside the timed region).
    const CHUNK: u64 = 4096;
    group.throughput(Throughput::Elements(1));
    group.bench_function("one_node_record", |bench| {
        bench.iter_custom(|iters| one_node(&mut tape, &mut grads, iters, CHUNK, false))
    });
    group.bench_function("one_node_record_and_backward", |bench| {
        bench.iter_custom(|iters| one_node(&mut tape, &mut grads, iters, CHUNK, true))
    });
    group.finish();
}

/// Times `iters` scalar `mul` nodes in chains of at most `chunk`, with their
/// backward sweep if `backward`.
fn one_node(
    tape: &mut Tape<f64>,
    grads: &mut Gradients<f64>,
    iters: u64,
    chunk: u64,
    backward: bool,
) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(chunk);
        tape.clear();
        let x = tape.var_scalar(0.5);
        let c = tape.var_scalar(1.000_001);
        let start = Instant::now();
        let mut y = x;
        for _ in 0..n {
            y = y * c;
        }
        if backward {
            y.backward_into(grads).expect("scalar root");
        }
        black_box(y);
        total += start.elapsed();
        left -= n;
    }
    total
}

/// Forward and backward of one element-wise op on 10⁵ elements (the leaves'
/// copies into the tape and a final sum included).
fn elementwise(c: &mut Criterion) {
    const N: usize = 100_000;
    let a = Tensor::<f32>::rand_uniform(&[N], -1.0, 1.0, 1).expect("shape");
    let b = Tensor::<f32>::rand_uniform(&[N], -1.0, 1.0, 2).expect("shape");
    let mut tape = Tape::<f32>::new();
    let mut grads = Gradients::new();
    let mut group = c.benchmark_group("elementwise");
    group.throughput(Throughput::Elements(N as u64));
    for op in ["add", "mul", "tanh", "sigmoid"] {
        group.bench_function(BenchmarkId::new("f32_forward_backward", op), |bench| {
            bench.iter(|| {
                tape.clear();
                let (x, y) = (tape.var(&a), tape.var(&b));
                let z = match op {
                    "add" => x + y,
                    "mul" => x * y,
                    "tanh" => x.tanh(),
                    _ => x.sigmoid(),
                };
                z.sum().backward_into(&mut grads).expect("scalar root");
                black_box(grads.get(x).expect("x has a gradient")[0])
            })
        });
    }
    group.finish();
}

/// W6's first max-pool, forward and backward: 2 × 2 windows of stride 2
/// over a `[64, 16, 28, 28]` f32 input (a ReLU output: half the entries
/// are zero, so one window in sixteen is a four-way tie at zero), at one
/// thread.
fn max_pool(c: &mut Criterion) {
    let a = Tensor::<f32>::rand_uniform(&[64, 16, 28, 28], -1.0, 1.0, 3)
        .expect("shape")
        .map(|v| v.max(0.0));
    let window = gradsign::ops::conv::Window::default().stride(2);
    let mut tape = Tape::<f32>::new();
    let mut grads = Gradients::new();
    let mut group = c.benchmark_group("max_pool");
    group.throughput(Throughput::Elements(a.numel() as u64));
    group.bench_function("f32_2x2_forward_backward", |bench| {
        bench.iter(|| {
            tape.clear();
            let x = tape.var(&a);
            let y = x.max_pool2d((2, 2), &window).expect("W6 shapes");
            y.sum().backward_into(&mut grads).expect("scalar root");
            black_box(grads.get(x).expect("x has a gradient")[0])
        })
    });
    group.finish();
}

/// Times `iters` products `C = A·B` of two `n×n` constants, each on a
/// freshly cleared tape (the copies into the tape are not timed).
fn product<F: Element>(n: usize, threads: usize, iters: u64) -> Duration {
    let a = Tensor::<F>::rand_uniform(&[n, n], F::from_f64(-1.0), F::one(), 1).expect("shape");
    let b = Tensor::<F>::rand_uniform(&[n, n], F::from_f64(-1.0), F::one(), 2).expect("shape");
    let mut tape = Tape::<F>::new();
    tape.set_threads(threads);
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        tape.clear();
        let (x, y) = (tape.constant(&a), tape.constant(&b));
        let start = Instant::now();
        let z = x.matmul(y).expect("square shapes");
        total += start.elapsed();
        black_box(z);
    }
    total
}

/// Square products at 128, 512 and 2048 in f32 and f64 on 1 and 2 threads;
/// one element of throughput is one flop (2n³ per product).
fn matmul(c: &mut Criterion) {
    let mut group = c.benchmark_group("matmul");
    for n in [128usize, 512, 2048] {
        if n == 2048 {
            // Seconds per product on a fallback kernel: the minimum sample.
            group.sample_size(10);
            group.warm_up_time(Duration::from_millis(500));
        }
        group.throughput(Throughput::Elements(2 * (n as u64).pow(3)));
        for threads in [1usize, 2] {
            group.bench_function(BenchmarkId::new(format!("f32_{threads}t"), n), |bench| {
                bench.iter_custom(|iters| product::<f32>(n, threads, iters))
            });
            group.bench_function(BenchmarkId::new(format!("f64_{threads}t"), n), |bench| {
                bench.iter_custom(|iters| product::<f64>(n, threads, iters))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, w1_scalar_chain, elementwise, max_pool, matmul);
criterion_main!(benches);
