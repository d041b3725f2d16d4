//! Criterion benches of `docs/BENCHMARKS.md`'s workloads W1–W5, one group each, on the
//! crate's SplitMix64 data (`gradsign_studies::bench_data`). The `workloads`
//! example prints the same figures in the peers' `RESULT` format; these are
//! for development (confidence intervals, regressions between commits).
//! W3 and W6 run on `gradsign::threads::Workers`, as the example does: at two
//! threads the timing thread is one of the pool's workers and the other polls
//! for the kernels' splits.
//!
//! ```sh
//! cargo bench --bench workloads              # everything (~2 min)
//! cargo bench --bench workloads -- W3        # one group
//! ```
//!
//! Throughput, so that criterion's `thrpt` line reads directly: W1 in ops
//! (ns/op = 10⁹ / elem/s), W2 and W5 in steps, W3 in floating-point
//! operations at the peers' count of 3 × the forward pass (180.3 MFLOP per
//! step: `Gelem/s` reads as GFLOP/s), W4 in bytes of per-sample gradients
//! written (128 × 235,146 × 4).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};
use gradsign::analysis::{GradientSignAnalyzer, PerSampleGradients};
use gradsign::loss::{self, Reduction};
use gradsign::threads::Workers;
use gradsign::{Gradients, Tape, Tensor};
use gradsign_studies::trainer::{Target, Trainer};
use gradsign_studies::{SplitMix64, bench_data};

/// W1: `x = tanh(x·wᵢ + bᵢ)` for 10⁴ steps on 2N + 1 scalar leaves, graph
/// and backward (3N ops).
fn w1(c: &mut Criterion) {
    const N: usize = 10_000;
    let mut rng = SplitMix64::new(1);
    let w: Vec<f64> = (0..N).map(|_| rng.pm1()).collect();
    let b: Vec<f64> = (0..N).map(|_| rng.pm1()).collect();
    let mut tape = Tape::<f64>::new();
    let mut grads = Gradients::new();
    let mut group = c.benchmark_group("W1");
    group.throughput(Throughput::Elements(3 * N as u64));
    group.bench_function("scalar_chain_f64", |bench| {
        bench.iter(|| {
            tape.clear();
            let mut x = tape.var_scalar(0.5);
            for i in 0..N {
                x = (x * tape.var_scalar(w[i]) + tape.var_scalar(b[i])).tanh();
            }
            x.backward_into(&mut grads).expect("scalar root");
            black_box(grads.get(x).expect("the root's gradient")[0])
        })
    });
    group.finish();
}

/// W2: the 2-8-8-1 tanh MLP, MSE, SGD, f32; never more than one thread.
fn w2(c: &mut Criterion) {
    let data = bench_data::w2::<f32>();
    let mut t = Trainer::new(data.mlp.clone(), bench_data::W2_LR, 1);
    let mut group = c.benchmark_group("W2");
    group.throughput(Throughput::Elements(1));
    group.bench_function("step_f32", |bench| {
        bench.iter(|| black_box(t.step(&data.x, Target::Values(&data.y))))
    });
    group.finish();
}

/// W3's FLOPs per step by the peers' count: 3 × `2·B·Σ in·out`.
fn w3_flops() -> u64 {
    let s = bench_data::W3_SIZES;
    let fwd: usize = 2 * bench_data::W3_BATCH * s.windows(2).map(|p| p[0] * p[1]).sum::<usize>();
    3 * fwd as u64
}

/// Benches `step_f32/{threads}t`: training steps of `t` on `(x, labels)`,
/// timed on [`Workers`] of `threads` threads (the timing thread one of
/// them), as the `workloads` example runs them.
fn bench_steps(
    group: &mut BenchmarkGroup<'_, WallTime>,
    threads: usize,
    mut t: Trainer<f32>,
    x: &Tensor<f32>,
    labels: &[usize],
) {
    let workers = Workers::new(threads).expect("a thread pool");
    group.bench_function(
        BenchmarkId::new("step_f32", format!("{threads}t")),
        |bench| {
            bench.iter_custom(|iters| {
                workers.run(|| {
                    let start = Instant::now();
                    for _ in 0..iters {
                        black_box(t.step(x, Target::Classes(labels)));
                    }
                    start.elapsed()
                })
            })
        },
    );
}

/// W3: the 784-256-128-10 sigmoid MLP, softmax cross-entropy, SGD, f32, on
/// 1 and 2 threads.
fn w3(c: &mut Criterion) {
    let data = bench_data::w3::<f32>();
    let mut group = c.benchmark_group("W3");
    group.throughput(Throughput::Elements(w3_flops()));
    group.measurement_time(Duration::from_secs(4));
    for threads in [1, 2] {
        let t = Trainer::new(data.mlp.clone(), bench_data::W3_LR, threads);
        bench_steps(&mut group, threads, t, &data.x, &data.labels);
    }
    group.finish();
}

/// W6: the small CNN (two 5×5 convolutions with ReLU and max-pooling, a
/// linear layer), softmax cross-entropy, SGD, f32, on 1 and 2 threads.
fn w6(c: &mut Criterion) {
    let data = bench_data::w6::<f32>();
    let mut group = c.benchmark_group("W6");
    // 3 × the forward's 2·multiply-adds: BENCH.md's 1.09 GFLOP.
    let b = bench_data::W6_BATCH as u64;
    let fwd = 2 * b * (28 * 28 * 16 * 25 + 14 * 14 * 32 * 16 * 25 + 1568 * 10);
    group.throughput(Throughput::Elements(3 * fwd));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(6));
    for threads in [1, 2] {
        let t = Trainer::new(data.net.clone(), bench_data::W6_LR, threads);
        bench_steps(&mut group, threads, t, &data.x, &data.labels);
    }
    group.finish();
}

/// W4: every example's own gradient of every parameter of W3's net (one
/// forward, one backward of the summed loss, the per-example products
/// written once into kept buffers), on 1 and 2 threads.
fn w4(c: &mut Criterion) {
    let data = bench_data::w3::<f32>();
    let params = gradsign::nn::num_parameters(&data.mlp).unwrap();
    let mut group = c.benchmark_group("W4");
    group.throughput(Throughput::Bytes(
        (bench_data::W3_BATCH * params * std::mem::size_of::<f32>()) as u64,
    ));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(4));
    for threads in [1, 2] {
        let mut tape = Tape::<f32>::new();
        tape.set_threads(threads);
        let mut grads = Gradients::new();
        let mut per_sample = PerSampleGradients::new().with_threads(threads);
        group.bench_function(
            BenchmarkId::new("per_sample_f32", format!("{threads}t")),
            |bench| {
                bench.iter(|| {
                    tape.clear();
                    let (out, trace) =
                        gradsign::nn::forward(&data.mlp, &tape, tape.constant(&data.x))
                            .expect("shapes");
                    loss::softmax_cross_entropy(out, &data.labels, Reduction::Sum)
                        .expect("labels")
                        .backward_into(&mut grads)
                        .expect("scalar loss");
                    per_sample.compute(&trace, &grads).expect("traced layers");
                })
            },
        );
    }
    group.finish();
}

/// W5: a W3 step with one full `GradientSignAnalyzer` report between
/// backward and the update; compare with W3's `step_f32` for the ratio.
fn w5(c: &mut Criterion) {
    let data = bench_data::w3::<f32>();
    let mut group = c.benchmark_group("W5");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(4));
    for threads in [1, 2] {
        let mut t = Trainer::new(data.mlp.clone(), bench_data::W3_LR, threads);
        let analyzer = GradientSignAnalyzer::default().with_threads(threads);
        group.bench_function(
            BenchmarkId::new("step_with_report_f32", format!("{threads}t")),
            |bench| {
                bench.iter(|| {
                    black_box(t.step_with(
                        &data.x,
                        Target::Classes(&data.labels),
                        |trace, grads| {
                            black_box(analyzer.analyze(trace, grads).expect("traced layers"));
                        },
                    ))
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, w1, w2, w3, w4, w5, w6);
criterion_main!(benches);
