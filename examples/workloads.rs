//! The workloads of `docs/BENCHMARKS.md`, printing the `RESULT`/`CHECK`
//! lines described there, so that gradsign's figures merge with the other
//! frameworks' into one table.
//!
//! ```sh
//! cargo run --release --example workloads              # every workload, 1 then 2 threads
//! PEERS_ONLY=W1,W3 cargo run --release --example workloads
//! PEERS_THREAD_LIST=1 cargo run --release --example workloads
//! ```
//!
//! Environment, as for the other frameworks' programs:
//! - `PEERS_THREAD_LIST` (default `1,2`): the thread counts to run, each
//!   reported under the peer name `gradsign-<t>t`. The count is handed to
//!   the kernels through [`Tape::set_threads`]: matrix products of W3/W4
//!   size use a second thread, W1 and W2 never do. With `t > 1`, W3–W5 run
//!   on a worker of a rayon pool of `t` threads, so that the calling thread
//!   works with the pool rather than waiting on it.
//! - `PEERS_ONLY` (default: all): a comma-separated subset of `W1 W2 W3 W4
//!   W5 W6`.
//!
//! W4 and W5 are gradsign's own measurements (the peers have no sign
//! analyzer; W4's peers are BackPACK, `torch.func` and JAX): W4 prints the
//! per-sample gradients' Frobenius norm as its CHECK, W5 the ratio of a W3
//! step with a full `GradientSignAnalyzer` report to a plain one.
//!
//! Timing follows `docs/BENCHMARKS.md` exactly: W1 one warm-up and 7 timed runs
//! (graph + backward; ns/op = run / 3N); W2 200 warm-up steps, then 7 reps
//! of 2000 steps, each rep timed as a whole (µs/step); W3 10 warm-up steps,
//! then 200 steps each timed (ms/step, and GFLOP/s from 3 × the forward
//! FLOPs); W4 3 warm-ups, then 30 timed calls (ms/batch); W5 alternates
//! 100 plain and 100 reported W3 steps after 6 warm-ups. RESULT lines carry
//! median, min and max; `cpu=` is the process's CPU time over wall time
//! during the timed region (1.00 = one busy core). CHECK values are printed
//! with six significant digits, as Python's `%.6g`.

use std::time::Instant;

use gradsign::analysis::{GradientSignAnalyzer, PerSampleGradients};
use gradsign::loss::{self, Reduction};
use gradsign::threads::Workers;
use gradsign::{Gradients, Tape};
use gradsign_studies::trainer::{Target, Trainer};
use gradsign_studies::{SplitMix64, bench_data};

/// Whether `PEERS_ONLY` asks for workload `w`.
fn wants(w: &str) -> bool {
    match std::env::var("PEERS_ONLY") {
        Ok(only) if !only.trim().is_empty() => only.split(',').any(|x| x.trim() == w),
        _ => true,
    }
}

/// Median (the mean of the two middle samples for an even count, as
/// Python's `statistics.median`), min, max.
fn summarize(samples: &[f64]) -> (f64, f64, f64) {
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    let median = if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    };
    (median, s[0], s[n - 1])
}

/// Python's `%.{p}g`: `p` significant digits, trailing zeros dropped,
/// scientific notation when the exponent is below −4 or at least `p`.
fn fmt_g(v: f64, p: usize) -> String {
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.into();
    }
    if !v.is_finite() {
        return if v.is_nan() {
            "nan".into()
        } else if v > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    let sci = format!("{:.*e}", p - 1, v);
    let (mantissa, exp) = sci.split_once('e').expect("exponent");
    let exp: i32 = exp.parse().expect("integer exponent");
    let trim = |s: &str| {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if exp < -4 || exp >= p as i32 {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim(mantissa), exp.abs())
    } else {
        trim(&format!("{:.*}", (p as i32 - 1 - exp) as usize, v))
    }
}

/// Six significant digits, as the peers' `g6`.
fn g6(v: f64) -> String {
    fmt_g(v, 6)
}

/// The peers' `fmt` for RESULT figures.
fn fmt(v: f64) -> String {
    let a = v.abs();
    if v == 0.0 {
        "0".into()
    } else if a >= 100.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.3}")
    } else {
        fmt_g(v, 4)
    }
}

fn result_value(
    workload: &str,
    peer: &str,
    (med, lo, hi): (f64, f64, f64),
    unit: &str,
    extra: &str,
) {
    let mut line = format!(
        "RESULT {workload} {peer} {} {unit} min={} max={}",
        fmt(med),
        fmt(lo),
        fmt(hi)
    );
    if !extra.is_empty() {
        line.push(' ');
        line.push_str(extra);
    }
    println!("{line}");
}

/// Prints a RESULT line for `samples` (already in `unit`); returns the median.
fn result(workload: &str, peer: &str, samples: &[f64], unit: &str, extra: &str) -> f64 {
    let s = summarize(samples);
    result_value(workload, peer, s, unit, extra);
    s.0
}

/// CPU time of the whole process (every thread) in seconds, from the
/// scheduler's per-thread nanosecond counters; `None` where `/proc` is
/// missing.
fn process_cpu_seconds() -> Option<f64> {
    let mut total = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
        total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(total as f64 * 1e-9)
}

/// Process CPU time over wall time across a region, as the peers' `cpu=`.
struct CpuMeter {
    cpu: Option<f64>,
    wall: Instant,
}

impl CpuMeter {
    fn start() -> Self {
        CpuMeter {
            cpu: process_cpu_seconds(),
            wall: Instant::now(),
        }
    }

    fn note(&self) -> String {
        let wall = self.wall.elapsed().as_secs_f64();
        match (self.cpu, process_cpu_seconds()) {
            (Some(a), Some(b)) => format!("cpu={:.2}", (b - a) / wall),
            _ => "cpu=nan".into(),
        }
    }
}

/// Calls `f` `warmup` times, then times `repeats` calls: seconds per call,
/// and the CPU note of the timed calls (the peers' `time_repeats`).
fn time_repeats(mut f: impl FnMut(), repeats: usize, warmup: usize) -> (Vec<f64>, String) {
    for _ in 0..warmup {
        f();
    }
    let meter = CpuMeter::start();
    let samples = (0..repeats)
        .map(|_| {
            let t0 = Instant::now();
            f();
            t0.elapsed().as_secs_f64()
        })
        .collect();
    (samples, meter.note())
}

fn scaled(samples: &[f64], scale: f64) -> Vec<f64> {
    samples.iter().map(|s| s * scale).collect()
}

/// W1: `x = tanh(x·wᵢ + bᵢ)` for 10⁴ steps on 2N + 1 scalar leaves, f64.
fn w1(peer: &str) {
    const N: usize = 10_000;
    let mut rng = SplitMix64::new(1);
    let w: Vec<f64> = (0..N).map(|_| rng.pm1()).collect();
    let b: Vec<f64> = (0..N).map(|_| rng.pm1()).collect();
    let mut tape = Tape::<f64>::new();
    let mut grads = Gradients::new();
    {
        // The check keeps the leaves, to sum their gradients.
        let x0 = tape.var_scalar(0.5);
        let ws: Vec<_> = w.iter().map(|&v| tape.var_scalar(v)).collect();
        let bs: Vec<_> = b.iter().map(|&v| tape.var_scalar(v)).collect();
        let mut x = x0;
        for i in 0..N {
            x = (x * ws[i] + bs[i]).tanh();
        }
        x.backward_into(&mut grads).expect("scalar root");
        let sum = |vs: &[gradsign::Var<'_, f64>]| -> f64 {
            vs.iter()
                .map(|&v| grads.get(v).expect("a leaf's gradient")[0])
                .sum()
        };
        println!(
            "CHECK W1-scalar-chain {peer} x={} dx0={} sum_dw={} sum_db={}",
            g6(x.item().expect("scalar")),
            g6(grads.get(x0).expect("x0's gradient")[0]),
            g6(sum(&ws)),
            g6(sum(&bs))
        );
    }
    // Timed: the same graph (2N + 1 scalar leaves, 3N ops), each leaf
    // recorded as the chain reaches it, then the backward sweep.
    let mut samples = Vec::new();
    let mut meter = CpuMeter::start();
    for k in 0..1 + 7 {
        tape.clear();
        if k == 1 {
            meter = CpuMeter::start();
        }
        let t0 = Instant::now();
        let mut x = tape.var_scalar(0.5);
        for i in 0..N {
            x = (x * tape.var_scalar(w[i]) + tape.var_scalar(b[i])).tanh();
        }
        x.backward_into(&mut grads).expect("scalar root");
        if k > 0 {
            samples.push(t0.elapsed().as_secs_f64());
        }
    }
    let note = meter.note();
    let ops = (3 * N) as f64;
    result(
        "W1-scalar-chain",
        peer,
        &scaled(&samples, 1e9 / ops),
        "ns/op",
        &format!("dtype=f64 0-d {note}"),
    );
    result(
        "W1-scalar-chain-total",
        peer,
        &scaled(&samples, 1e3),
        "ms",
        "dtype=f64 0-d",
    );
}

/// Losses at the initial weights and after `k` steps of a fresh trainer.
fn check_losses(mut step: impl FnMut() -> f64, k: usize) -> (f64, f64) {
    let losses: Vec<f64> = (0..=k).map(|_| step()).collect();
    (losses[0], losses[k])
}

/// W2: 2-8-8-1 tanh MLP, MSE, SGD lr 0.03 on one fixed batch of 32, f32.
fn w2(peer: &str, threads: usize) {
    const STEPS: usize = 2000;
    let data = bench_data::w2::<f32>();
    let mse = Target::Values(&data.y);
    let fresh = || Trainer::new(data.mlp.clone(), bench_data::W2_LR, threads);
    let mut t = fresh();
    let (l0, lk) = check_losses(|| f64::from(t.step(&data.x, mse)), 100);
    println!(
        "CHECK W2-mlp-small {peer} loss0={} loss100={}",
        g6(l0),
        g6(lk)
    );
    let mut t = fresh();
    for _ in 0..200 {
        t.step(&data.x, mse);
    }
    let meter = CpuMeter::start();
    let samples: Vec<f64> = (0..7)
        .map(|_| {
            let t0 = Instant::now();
            for _ in 0..STEPS {
                std::hint::black_box(t.step(&data.x, mse));
            }
            t0.elapsed().as_secs_f64() / STEPS as f64
        })
        .collect();
    let note = meter.note();
    result(
        "W2-mlp-small",
        peer,
        &scaled(&samples, 1e6),
        "us/step",
        &format!("steps={STEPS}x7 {note}"),
    );
}

/// Prints the GFLOP/s of a step of `flops` from its timed samples
/// (seconds) and their median `med` (ms): median, and the range from the
/// slowest to the fastest sample.
fn gflops(name: &str, peer: &str, samples: &[f64], med: f64, flops: f64) {
    let (lo, hi) = samples
        .iter()
        .fold((f64::INFINITY, 0.0f64), |(a, b), &x| (a.min(x), b.max(x)));
    result_value(
        name,
        peer,
        (
            flops / (med * 1e-3) / 1e9,
            flops / hi / 1e9,
            flops / lo / 1e9,
        ),
        "GFLOP/s",
        "flops=3*fwd",
    );
}

/// W3's FLOPs per step: 3 × the forward's `2·B·Σ in·out` (the peers'
/// convention, which counts the input batch's gradient too).
fn w3_flops() -> f64 {
    let s = bench_data::W3_SIZES;
    let fwd: usize = 2 * bench_data::W3_BATCH * s.windows(2).map(|p| p[0] * p[1]).sum::<usize>();
    3.0 * fwd as f64
}

/// W3: 784-256-128-10 sigmoid MLP, mean softmax cross-entropy, SGD lr 0.1 on
/// one fixed batch of 128, f32.
fn w3(peer: &str, threads: usize) {
    let data = bench_data::w3::<f32>();
    let ce = Target::Classes(&data.labels);
    let fresh = || Trainer::new(data.mlp.clone(), bench_data::W3_LR, threads);
    let mut t = fresh();
    let (l0, lk) = check_losses(|| f64::from(t.step(&data.x, ce)), 10);
    println!("CHECK W3-mlp-mid {peer} loss0={} loss10={}", g6(l0), g6(lk));
    let mut t = fresh();
    let (s, note) = time_repeats(
        || {
            std::hint::black_box(t.step(&data.x, ce));
        },
        200,
        10,
    );
    let med = result(
        "W3-mlp-mid",
        peer,
        &scaled(&s, 1e3),
        "ms/step",
        &format!("steps=200 {note}"),
    );
    gflops("W3-mlp-mid-gflops", peer, &s, med, w3_flops());
}

/// W6's FLOPs per step: 3 × the forward's multiply-adds of the two
/// convolutions and the linear layer (BENCH.md's 1.09 GFLOP).
fn w6_flops() -> f64 {
    let b = bench_data::W6_BATCH as f64;
    let conv1 = 2.0 * b * 28.0 * 28.0 * 16.0 * 25.0;
    let conv2 = 2.0 * b * 14.0 * 14.0 * 32.0 * 16.0 * 25.0;
    let linear = 2.0 * b * 1568.0 * 10.0;
    3.0 * (conv1 + conv2 + linear)
}

/// W6: the small CNN (conv 5×5 1→16, ReLU, max-pool, conv 5×5 16→32, ReLU,
/// max-pool, linear 1568→10), mean softmax cross-entropy, SGD lr 0.05 on
/// one fixed batch of 64 28×28 images, f32.
fn w6(peer: &str, threads: usize) {
    let data = bench_data::w6::<f32>();
    let ce = Target::Classes(&data.labels);
    let fresh = || Trainer::new(data.net.clone(), bench_data::W6_LR, threads);
    let mut t = fresh();
    let (l0, lk) = check_losses(|| f64::from(t.step(&data.x, ce)), 10);
    println!("CHECK W6-cnn {peer} loss0={} loss10={}", g6(l0), g6(lk));
    let mut t = fresh();
    let (s, note) = time_repeats(
        || {
            std::hint::black_box(t.step(&data.x, ce));
        },
        20,
        5,
    );
    let med = result(
        "W6-cnn",
        peer,
        &scaled(&s, 1e3),
        "ms/step",
        &format!("steps=20 {note}"),
    );
    gflops("W6-cnn-gflops", peer, &s, med, w6_flops());
}

/// W4: the per-example gradient of every parameter of W3's net at its
/// initial weights, for each of the 128 examples' own loss: one forward and
/// one backward of the summed loss, then `g_njk = Δ_nj·a_nk` per layer,
/// written once into buffers kept across batches (no loop of backward
/// passes).
fn w4(peer: &str, threads: usize) {
    let data = bench_data::w3::<f32>();
    let mut tape = Tape::<f32>::new();
    tape.set_threads(threads);
    let mut grads = Gradients::new();
    let mut per_sample = PerSampleGradients::new().with_threads(threads);
    let mut run = || {
        tape.clear();
        let x = tape.constant(&data.x);
        let (out, trace) = gradsign::nn::forward(&data.mlp, &tape, x).expect("W3 shapes");
        loss::softmax_cross_entropy(out, &data.labels, Reduction::Sum)
            .expect("W3 labels")
            .backward_into(&mut grads)
            .expect("scalar loss");
        per_sample.compute(&trace, &grads).expect("traced layers");
    };
    run();
    let (s, note) = time_repeats(&mut run, 30, 3);
    let sum = |s: &[f32]| s.iter().map(|&v| f64::from(v)).sum::<f64>();
    let (mut params, mut row0) = (0, 0.0);
    for l in 0..per_sample.len() {
        let w = per_sample.weights(l);
        let per_example = w.numel() / w.dims()[0];
        params += per_example;
        row0 += sum(&w.as_slice()[..per_example]);
        if let Some(b) = per_sample.bias(l) {
            params += b.dims()[1];
            row0 += sum(&b.as_slice()[..b.dims()[1]]);
        }
    }
    println!(
        "CHECK W4-per-sample {peer} norm={} sum_row0={} params={params}",
        g6(per_sample.frobenius_norm()),
        g6(row0)
    );
    result(
        "W4-per-sample",
        peer,
        &scaled(&s, 1e3),
        "ms/batch",
        &format!("batch=128 params={params} {note}"),
    );
}

/// W5: one full `GradientSignAnalyzer` report on top of a W3 training step
/// (forward, mean cross-entropy, backward, report, SGD), against the plain
/// step. Plain and reported steps alternate, so both see the same noise.
fn w5(peer: &str, threads: usize) {
    let data = bench_data::w3::<f32>();
    let mut t = Trainer::new(data.mlp.clone(), bench_data::W3_LR, threads);
    let analyzer = GradientSignAnalyzer::default().with_threads(threads);
    let labels = Target::Classes(&data.labels);
    let (mut plain, mut reported) = (Vec::new(), Vec::new());
    for i in 0..6 + 200 {
        let report = i % 2 == 1;
        let t0 = Instant::now();
        t.step_with(&data.x, labels, |trace, grads| {
            if report {
                std::hint::black_box(analyzer.analyze(trace, grads).expect("traced layers"));
            }
        });
        let dt = t0.elapsed().as_secs_f64() * 1e3;
        if i >= 6 {
            if report { &mut reported } else { &mut plain }.push(dt);
        }
    }
    let p = result("W5-step", peer, &plain, "ms/step", "W3-step,no-report");
    let r = result(
        "W5-step-with-report",
        peer,
        &reported,
        "ms/step",
        "W3-step+GradientSignAnalyzer::analyze",
    );
    // Each reported step over the plain step just before it: the pairs
    // alternate, so the two steps of a pair see the same machine.
    let ratios: Vec<f64> = plain.iter().zip(&reported).map(|(p, r)| r / p).collect();
    result(
        "W5-sign-analysis",
        peer,
        &ratios,
        "ratio",
        &format!(
            "step-with-report/step-per-pair medians={:.3}/{:.3}ms target<=1.5",
            r, p
        ),
    );
}

/// Runs `f` on [`Workers`] of `threads` threads when `threads > 1`, so that
/// the thread driving the tape takes part in the kernels' parallel work (a
/// product split in two, `linear`'s `dX` beside `dW`) and the other worker
/// polls for its half instead of sleeping between splits, as a BLAS's
/// OpenMP pool does.
fn on_threads(threads: usize, f: impl FnOnce() + Send) {
    if threads > 1 {
        Workers::new(threads).expect("a thread pool").run(f);
    } else {
        f();
    }
}

fn main() {
    let list = std::env::var("PEERS_THREAD_LIST").unwrap_or_else(|_| "1,2".into());
    println!(
        "INFO gradsign {} threads={list} cpus={}",
        env!("CARGO_PKG_VERSION"),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    for t in list
        .split(',')
        .filter_map(|t| t.trim().parse::<usize>().ok())
    {
        let peer = format!("gradsign-{t}t");
        if wants("W1") {
            w1(&peer);
        }
        if wants("W2") {
            w2(&peer, t);
        }
        if wants("W3") {
            on_threads(t, || w3(&peer, t));
        }
        if wants("W4") {
            on_threads(t, || w4(&peer, t));
        }
        if wants("W5") {
            on_threads(t, || w5(&peer, t));
        }
        if wants("W6") {
            on_threads(t, || w6(&peer, t));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fmt_g_matches_python_percent_g() {
        // Python: f"{v:.6g}" for each v.
        assert_eq!(g6(64.33281234), "64.3328");
        assert_eq!(g6(0.0834251), "0.0834251");
        assert_eq!(g6(2.2771), "2.2771");
        assert_eq!(g6(1.0e-5), "1e-05");
        assert_eq!(g6(123456789.0), "1.23457e+08");
        assert_eq!(g6(999999.5), "1e+06");
        assert_eq!(g6(0.0), "0");
        assert_eq!(fmt(0.12345), "0.1235");
        assert_eq!(fmt(51.2491), "51.249");
        assert_eq!(fmt(309.94), "309.9");
    }
}
