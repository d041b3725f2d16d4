//! Criterion benches of BENCH.md's W4 (per-sample gradients of W3's net)
//! and W5 (a full sign report on top of a W3 step). The `workloads`
//! example prints the same figures in the peers' format.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use gradsign::analysis::{GradientSignAnalyzer, PerSampleGradients};
use gradsign::data::bench_data;
use gradsign::optim::{Optimizer, Sgd};
use gradsign::{Gradients, Tape, Var};

/// Softmax cross-entropy, summed over the batch or averaged, with the
/// row maximum held constant (see the `workloads` example).
fn softmax_cross_entropy<'t>(logits: Var<'t, f32>, labels: &[usize], mean: bool) -> Var<'t, f32> {
    let tape = logits.tape();
    let (b, c) = (labels.len(), logits.dims()[1]);
    let (max, mask) = logits.with_value(|z| {
        let max: Vec<f32> = z
            .chunks_exact(c)
            .map(|r| r.iter().copied().fold(f32::NEG_INFINITY, f32::max))
            .collect();
        let mut mask = vec![0.0f32; b * c];
        for (n, &y) in labels.iter().enumerate() {
            mask[n * c + y] = 1.0;
        }
        (max, mask)
    });
    let m = tape.constant_from_slice(&max, &[b, 1]).unwrap();
    let mask = tape.constant_from_slice(&mask, &[b, c]).unwrap();
    let shifted = logits - m;
    let lse = shifted.exp().sum_axis(1, true).unwrap().ln();
    let total = -((shifted - lse) * mask).sum();
    if mean {
        total * (1.0 / b as f32)
    } else {
        total
    }
}

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
                let (out, trace) = w3.mlp.forward(&tape, x).unwrap();
                softmax_cross_entropy(out, &w3.labels, false)
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
    let (out, trace) = w3.mlp.forward(&tape, x).unwrap();
    let grads = softmax_cross_entropy(out, &w3.labels, true)
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
                let (out, trace) = w3.mlp.forward(&tape, x).unwrap();
                softmax_cross_entropy(out, &w3.labels, true)
                    .backward_into(&mut grads)
                    .unwrap();
                if report {
                    black_box(analyzer.analyze(&trace, &grads).unwrap());
                }
                opt.step(w3.mlp.params_with_grads(&trace, &grads).unwrap())
                    .unwrap();
            })
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = w4, w5
}
criterion_main!(benches);
