//! BENCH.md's workloads, printing the peers' `RESULT`/`CHECK` lines so that
//! `shared/peers/summarize.py` merges gradsign's figures with theirs.
//!
//! ```sh
//! cargo run --release --example workloads              # every workload, 1 then 2 threads
//! PEERS_ONLY=W1 cargo run --release --example workloads
//! PEERS_THREAD_LIST=1 cargo run --release --example workloads
//! ```
//!
//! Thread count: `PEERS_THREAD_LIST` (default `1,2`), as for the peers.

use std::time::Instant;

use gradsign::analysis::{GradientSignAnalyzer, PerSampleGradients};
use gradsign::data::bench_data;
use gradsign::loss::{self, Reduction};
use gradsign::optim::{Optimizer, Sgd};
use gradsign::{Gradients, Tape};

/// SplitMix64 exactly as BENCH.md specifies.
struct SplitMix64(u64);
impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn uniform01(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0)
    }
    fn pm1(&mut self) -> f64 {
        2.0 * self.uniform01() - 1.0
    }
}

fn wants(w: &str) -> bool {
    match std::env::var("PEERS_ONLY") {
        Ok(only) if !only.trim().is_empty() => only.split(',').any(|x| x.trim() == w),
        _ => true,
    }
}

/// Median, min, max of samples.
fn summarize(samples: &mut [f64]) -> (f64, f64, f64) {
    samples.sort_by(f64::total_cmp);
    (
        samples[samples.len() / 2],
        samples[0],
        samples[samples.len() - 1],
    )
}

fn fmt(v: f64) -> String {
    let a = v.abs();
    if v == 0.0 {
        "0".into()
    } else if a >= 100.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.3}")
    } else {
        format!("{v:.4}")
    }
}

/// Six significant digits, as the peers' `g6`.
fn g6(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let digits = 5 - v.abs().log10().floor() as i32;
    if (-5..=15).contains(&digits) {
        let s = format!("{:.*}", digits.max(0) as usize, v);
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    } else {
        format!("{v:.5e}")
    }
}

fn result(workload: &str, peer: &str, samples: &mut [f64], unit: &str, extra: &str) {
    let (med, lo, hi) = summarize(samples);
    println!(
        "RESULT {workload} {peer} {} {unit} min={} max={} {extra}",
        fmt(med),
        fmt(lo),
        fmt(hi)
    );
}

fn w1(peer: &str) {
    const N: usize = 10_000;
    let mut rng = SplitMix64(1);
    let w: Vec<f64> = (0..N).map(|_| rng.pm1()).collect();
    let b: Vec<f64> = (0..N).map(|_| rng.pm1()).collect();
    let mut tape = Tape::<f64>::new();
    let mut grads = gradsign::Gradients::new();
    let mut run = |check: bool| {
        tape.clear();
        let x0 = tape.var_scalar(0.5);
        let mut x = x0;
        if check {
            // Keep the leaves to sum their gradients.
            let ws: Vec<_> = w.iter().map(|&v| tape.var_scalar(v)).collect();
            let bs: Vec<_> = b.iter().map(|&v| tape.var_scalar(v)).collect();
            for i in 0..N {
                x = (x * ws[i] + bs[i]).tanh();
            }
            x.backward_into(&mut grads).expect("scalar root");
            let sw: f64 = ws.iter().map(|&v| grads.get(v).unwrap()[0]).sum();
            let sb: f64 = bs.iter().map(|&v| grads.get(v).unwrap()[0]).sum();
            println!(
                "CHECK W1-scalar-chain {peer} x={} dx0={} sum_dw={} sum_db={}",
                g6(x.item().unwrap()),
                g6(grads.get(x0).unwrap()[0]),
                g6(sw),
                g6(sb)
            );
        } else {
            // The same graph (2N + 1 scalar leaves, 3N ops), leaves recorded
            // as they are used: no buffer outside the tape.
            for i in 0..N {
                let (wi, bi) = (tape.var_scalar(w[i]), tape.var_scalar(b[i]));
                x = (x * wi + bi).tanh();
            }
            x.backward_into(&mut grads).expect("scalar root");
        }
    };
    run(true);
    let mut samples = Vec::new();
    for k in 0..1 + 7 {
        let t0 = Instant::now();
        run(false);
        if k > 0 {
            samples.push(t0.elapsed().as_secs_f64());
        }
    }
    let ops = (3 * N) as f64;
    let mut per_op: Vec<f64> = samples.iter().map(|s| s * 1e9 / ops).collect();
    result(
        "W1-scalar-chain",
        peer,
        &mut per_op,
        "ns/op",
        "dtype=f64 0-d",
    );
    let mut ms: Vec<f64> = samples.iter().map(|s| s * 1e3).collect();
    result(
        "W1-scalar-chain-total",
        peer,
        &mut ms,
        "ms",
        "dtype=f64 0-d",
    );
}

/// Runs `f` `warmup` times, then times `reps` calls (seconds).
fn time_reps(warmup: usize, reps: usize, mut f: impl FnMut()) -> Vec<f64> {
    for _ in 0..warmup {
        f();
    }
    (0..reps)
        .map(|_| {
            let t0 = Instant::now();
            f();
            t0.elapsed().as_secs_f64()
        })
        .collect()
}

/// W4: the per-example gradient of every parameter of W3's net at its
/// initial weights, for each of the 128 examples' own loss: one forward and
/// one backward of the summed loss, then `g_njk = Δ_nj·a_nk` per layer into
/// buffers kept across batches (no loop of backward passes).
fn w4(peer: &str, threads: usize) {
    let w3 = bench_data::w3::<f32>();
    let mut tape = Tape::<f32>::new();
    tape.set_threads(threads);
    let mut grads = Gradients::new();
    let mut per_sample = PerSampleGradients::new().with_threads(threads);
    let run = |tape: &mut Tape<f32>,
               grads: &mut Gradients<f32>,
               ps: &mut PerSampleGradients<f32>| {
        tape.clear();
        let x = tape.constant(&w3.x);
        let (out, trace) = w3.mlp.forward(tape, x).expect("W3 shapes");
        let l = loss::softmax_cross_entropy(out, &w3.labels, Reduction::Sum).expect("W3 labels");
        l.backward_into(grads).expect("scalar loss");
        ps.compute(&trace, grads).expect("traced layers");
    };
    run(&mut tape, &mut grads, &mut per_sample);
    let row0: f64 = (0..per_sample.len())
        .map(|l| {
            let w = per_sample.weights(l);
            let per_example = w.numel() / w.dims()[0];
            let sum = |s: &[f32]| s.iter().map(|&v| f64::from(v)).sum::<f64>();
            let b = per_sample
                .bias(l)
                .map_or(0.0, |b| sum(&b.as_slice()[..b.dims()[1]]));
            sum(&w.as_slice()[..per_example]) + b
        })
        .sum();
    let params: usize = (0..per_sample.len())
        .map(|l| {
            let w = per_sample.weights(l);
            (w.numel() + per_sample.bias(l).map_or(0, |b| b.numel())) / w.dims()[0]
        })
        .sum();
    println!(
        "CHECK W4-per-sample {peer} norm={} sum_row0={} params={params}",
        g6(per_sample.frobenius_norm()),
        g6(row0)
    );
    let mut ms: Vec<f64> = time_reps(3, 30, || run(&mut tape, &mut grads, &mut per_sample))
        .iter()
        .map(|s| s * 1e3)
        .collect();
    result(
        "W4-per-sample",
        peer,
        &mut ms,
        "ms/batch",
        &format!("batch=128 params={params} forward+backward+per-sample"),
    );
    // The per-sample fill alone, from one traced backward pass.
    tape.clear();
    let x = tape.constant(&w3.x);
    let (out, trace) = w3.mlp.forward(&tape, x).expect("W3 shapes");
    loss::softmax_cross_entropy(out, &w3.labels, Reduction::Sum)
        .expect("W3 labels")
        .backward_into(&mut grads)
        .expect("scalar loss");
    let mut fill: Vec<f64> = time_reps(3, 30, || {
        per_sample.compute(&trace, &grads).expect("traced layers")
    })
    .iter()
    .map(|s| s * 1e3)
    .collect();
    result(
        "W4-per-sample-fill",
        peer,
        &mut fill,
        "ms/batch",
        "g_njk = Δ_nj·a_nk into kept buffers (120 MB)",
    );
}

/// W5: one full `GradientSignAnalyzer` report on top of a W3 training step
/// (forward, mean cross-entropy, backward, SGD), against the plain step.
/// Plain and reported steps alternate so that both see the same noise.
fn w5(peer: &str, threads: usize) {
    let mut w3 = bench_data::w3::<f32>();
    let mut opt = Sgd::new(bench_data::W3_LR as f32);
    let mut tape = Tape::<f32>::new();
    tape.set_threads(threads);
    let mut grads = Gradients::new();
    let analyzer = GradientSignAnalyzer::default().with_threads(threads);
    let mut step = |report: bool, tape: &mut Tape<f32>| -> f64 {
        tape.clear();
        let x = tape.constant(&w3.x);
        let (out, trace) = w3.mlp.forward(tape, x).expect("W3 shapes");
        let l = loss::softmax_cross_entropy(out, &w3.labels, Reduction::Mean).expect("W3 labels");
        l.backward_into(&mut grads).expect("scalar loss");
        let mut analysis = 0.0;
        if report {
            let t0 = Instant::now();
            let r = analyzer.analyze(&trace, &grads).expect("traced layers");
            analysis = t0.elapsed().as_secs_f64();
            std::hint::black_box(r);
        }
        opt.step(w3.mlp.params_with_grads(&trace, &grads).expect("same net"))
            .expect("finite step");
        analysis
    };
    for i in 0..6 {
        step(i % 2 == 1, &mut tape);
    }
    let (mut plain, mut reported, mut analysis) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..200 {
        let t0 = Instant::now();
        let a = step(i % 2 == 1, &mut tape);
        let dt = t0.elapsed().as_secs_f64() * 1e3;
        if i % 2 == 1 {
            reported.push(dt);
            analysis.push(a * 1e3);
        } else {
            plain.push(dt);
        }
    }
    let (p, p_min, _) = summarize(&mut plain.clone());
    let (r, r_min, _) = summarize(&mut reported.clone());
    result(
        "W5-step",
        peer,
        &mut plain,
        "ms/step",
        "W3 step without analysis",
    );
    result(
        "W5-step-with-report",
        peer,
        &mut reported,
        "ms/step",
        "W3 step + full report",
    );
    result(
        "W5-report",
        peer,
        &mut analysis,
        "ms",
        "GradientSignAnalyzer::analyze alone",
    );
    // On a noisy machine the minima are the steadier figures (BENCH.md).
    println!(
        "RESULT W5-ratio {peer} {:.3} ratio min={:.3} step-with-report/step (medians; min: of the minima) target<=1.5",
        r / p,
        r_min / p_min
    );
}

fn main() {
    let list = std::env::var("PEERS_THREAD_LIST").unwrap_or_else(|_| "1,2".into());
    println!("INFO gradsign {} threads={list}", env!("CARGO_PKG_VERSION"));
    for t in list
        .split(',')
        .filter_map(|t| t.trim().parse::<usize>().ok())
    {
        let peer = format!("gradsign-{t}t");
        if wants("W1") {
            w1(&peer);
        }
        if wants("W4") {
            w4(&peer, t);
        }
        if wants("W5") {
            w5(&peer, t);
        }
    }
}
