//! Criterion benches of `docs/BENCHMARKS.md`'s W4 (per-sample gradients of W3's net),
//! W5 (a full sign report on top of a W3 step), and the per-step cost of
//! `GradientSignAnalyzer::observe` on W3 (against the same W3 step). The
//! `workloads` example prints W4 and W5 in the peers' format.
//!
//! ```sh
//! cargo bench --bench analysis -- observe
//! ```

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use gradsign::analysis::{GradientSignAnalyzer, PerSampleGradients};
use gradsign::loss::{self, Reduction};
use gradsign::optim::{Optimizer, Sgd};
use gradsign::{Gradients, Tape};
use gradsign_studies::bench_data;

fn w4(c: &mut Criterion) {
    let w3 = bench_data::w3::<f32>();
    for threads in [1, 2] {
        let mut tape = Tape::<f32>::new();
        tape.set_threads(threads);
        let mut grads = Gradients::new();
        let mut per_sample = PerSampleGradients::new().with_threads(threads);
        c.bench_function(&format!("W4 per-sample gradients {threads}t"), |bench| {
            bench.iter(|| {
                tape.clear();
                let x = tape.constant(&w3.x);
                let (out, trace) = gradsign::nn::forward(&w3.mlp, &tape, x).unwrap();
                loss::softmax_cross_entropy(out, &w3.labels, Reduction::Sum)
                    .expect("W3 labels")
                    .backward_into(&mut grads)
                    .unwrap();
                per_sample.compute(&trace, &grads).unwrap();
            })
        });
    }
}

fn w5(c: &mut Criterion) {
    let analyzer = GradientSignAnalyzer::default();
    // The report alone, on W3's traced step.
    let w3 = bench_data::w3::<f32>();
    let tape = Tape::<f32>::new();
    let x = tape.constant(&w3.x);
    let (out, trace) = gradsign::nn::forward(&w3.mlp, &tape, x).unwrap();
    let grads = loss::softmax_cross_entropy(out, &w3.labels, Reduction::Mean)
        .expect("W3 labels")
        .backward()
        .unwrap();
    c.bench_function("W5 report alone", |bench| {
        bench.iter(|| black_box(analyzer.analyze(&trace, &grads).unwrap()))
    });
    // A plain W3 step, and the same step with a full report.
    for report in [false, true] {
        let mut w3 = bench_data::w3::<f32>();
        let mut opt = Sgd::new(bench_data::W3_LR as f32);
        let mut tape = Tape::<f32>::new();
        let mut grads = Gradients::new();
        let name = if report {
            "W5 W3 step + report"
        } else {
            "W5 W3 step"
        };
        c.bench_function(name, |bench| {
            bench.iter(|| {
                tape.clear();
                let x = tape.constant(&w3.x);
                let (out, trace) = gradsign::nn::forward(&w3.mlp, &tape, x).unwrap();
                loss::softmax_cross_entropy(out, &w3.labels, Reduction::Mean)
                    .expect("W3 labels")
                    .backward_into(&mut grads)
                    .unwrap();
                if report {
                    black_box(analyzer.analyze(&trace, &grads).unwrap());
                }
                opt.step(&mut w3.mlp, &trace, &grads).unwrap();
            })
        });
    }
}

/// `observe` on W3: alone (one traced step observed again and again), and
/// on top of W3 training steps, beside the plain step.
fn observe(c: &mut Criterion) {
    let w3 = bench_data::w3::<f32>();
    let tape = Tape::<f32>::new();
    let x = tape.constant(&w3.x);
    let (out, trace) = gradsign::nn::forward(&w3.mlp, &tape, x).unwrap();
    let grads = loss::softmax_cross_entropy(out, &w3.labels, Reduction::Mean)
        .expect("W3 labels")
        .backward()
        .unwrap();
    let mut analyzer = GradientSignAnalyzer::default();
    let mut step = 0;
    analyzer.observe(step, &trace, &grads).unwrap();
    c.bench_function("observe W3 alone", |bench| {
        bench.iter(|| {
            step += 1;
            analyzer.observe(step, &trace, &grads).unwrap();
        })
    });
    for observed in [false, true] {
        let mut w3 = bench_data::w3::<f32>();
        let mut opt = Sgd::new(bench_data::W3_LR as f32);
        let mut tape = Tape::<f32>::new();
        let mut grads = Gradients::new();
        let mut analyzer = GradientSignAnalyzer::default();
        let mut step = 0;
        let name = if observed {
            "observe W3 step + observe"
        } else {
            "observe W3 step"
        };
        c.bench_function(name, |bench| {
            bench.iter(|| {
                tape.clear();
                let x = tape.constant(&w3.x);
                let (out, trace) = gradsign::nn::forward(&w3.mlp, &tape, x).unwrap();
                loss::softmax_cross_entropy(out, &w3.labels, Reduction::Mean)
                    .expect("W3 labels")
                    .backward_into(&mut grads)
                    .unwrap();
                if observed {
                    analyzer.observe(step, &trace, &grads).unwrap();
                    step += 1;
                }
                opt.step(&mut w3.mlp, &trace, &grads).unwrap();
            })
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = w4, w5, observe
}
criterion_main!(benches);
