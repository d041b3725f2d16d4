//! The per-step cost of `GradientSignAnalyzer::observe` on `docs/BENCHMARKS.md`'s W3
//! (784-256-128-10 sigmoid MLP, batch 128, f32, SGD lr 0.1), against the W3
//! training step it observes. Plain and observed steps alternate so both see
//! the same machine noise; each call is timed alone, and the medians and
//! minima are printed (on a shared machine the minima are the steadier).
//!
//! ```sh
//! cargo run --release --example observe_cost
//! ```

use std::time::Instant;

use gradsign::analysis::{GradientSignAnalyzer, TrackingConfig, UpdateSource};
use gradsign::loss::{self, Reduction};
use gradsign::optim::{Optimizer, Sgd};
use gradsign::{Gradients, Tape};
use gradsign_studies::bench_data;

/// Median and minimum, in place.
fn median_min(v: &mut [f64]) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0])
}

fn run(updates: UpdateSource) {
    let mut w3 = bench_data::w3::<f32>();
    let mut opt = Sgd::new(bench_data::W3_LR as f32);
    let mut tape = Tape::<f32>::new();
    let mut grads = Gradients::new();
    let mut analyzer =
        GradientSignAnalyzer::default().with_tracking(TrackingConfig::default().updates(updates));
    let (mut plain, mut observed, mut alone) = (Vec::new(), Vec::new(), Vec::new());
    let mut first = 0.0;
    let mut step = 0;
    for i in 0..420 {
        let observe = i % 2 == 1;
        let t0 = Instant::now();
        tape.clear();
        let x = tape.constant(&w3.x);
        let (out, trace) = gradsign::nn::forward(&w3.mlp, &tape, x).expect("W3 shapes");
        loss::softmax_cross_entropy(out, &w3.labels, Reduction::Mean)
            .expect("W3 labels")
            .backward_into(&mut grads)
            .expect("scalar loss");
        let mut cost = 0.0;
        if observe {
            let t = Instant::now();
            analyzer
                .observe(step, &trace, &grads)
                .expect("traced layers");
            cost = t.elapsed().as_secs_f64() * 1e3;
            if step == 0 {
                first = cost;
            }
            step += 1;
        }
        opt.step(&mut w3.mlp, &trace, &grads).expect("finite step");
        let dt = t0.elapsed().as_secs_f64() * 1e3;
        if i >= 20 {
            if observe {
                observed.push(dt);
                alone.push(cost);
            } else {
                plain.push(dt);
            }
        }
    }
    let (p, p_min) = median_min(&mut plain);
    let (o, o_min) = median_min(&mut observed);
    let (a, a_min) = median_min(&mut alone);
    println!(
        "{updates:?}: first observe (sizes the recorders, three top eigenvectors) {first:.2} ms"
    );
    println!("  W3 step           median {p:.3} ms  min {p_min:.3} ms");
    println!("  W3 step + observe median {o:.3} ms  min {o_min:.3} ms");
    println!(
        "  observe alone     median {a:.3} ms  min {a_min:.3} ms  = {:.1}% of a step (medians), {:.1}% (minima)",
        100.0 * a / p,
        100.0 * a_min / p_min
    );
}

fn main() {
    run(UpdateSource::NegativeGradient);
    run(UpdateSource::WeightChange);
}
