//! Criterion benchmarks of the normalisation layers: BatchNorm and
//! LayerNorm forward + backward at width 256, batch 128, beside a dense
//! layer of the same width (256 → 256), on a warm tape (cleared, not
//! dropped, between runs), in `f32` and `f64`.
//!
//! ```sh
//! cargo bench --bench norm
//! cargo bench --bench norm -- --quick
//! ```
//!
//! Each run records the layer on a batch, weights its output by a fixed
//! tensor, sums and backpropagates (the weighting and the sum are the same
//! for every layer, so differences are the layers' own). The throughput is
//! one element per input value (128·256).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gradsign::nn::{BatchNorm, Forward, Init, LayerNorm, Linear, Module};
use gradsign::{Gradients, Tape, Tensor};

const WIDTH: usize = 256;
const BATCH: usize = 128;

fn bench_layer<F: gradsign::nn::ModelElement, M: Module<F>>(
    c: &mut Criterion,
    name: &str,
    layer: &M,
) {
    let x = Tensor::<f64>::rand_uniform(&[BATCH, WIDTH], -1.0, 2.0, 1)
        .expect("shape")
        .cast::<F>();
    let up = Tensor::<f64>::rand_uniform(&[BATCH, WIDTH], -1.0, 1.0, 2)
        .expect("shape")
        .cast::<F>();
    let mut tape = Tape::<F>::new();
    let mut grads = Gradients::new();
    let mut group = c.benchmark_group("norm");
    group.throughput(Throughput::Elements((BATCH * WIDTH) as u64));
    group.bench_function(format!("{name}_{}_{BATCH}x{WIDTH}_fwd_bwd", F::NAME), |b| {
        b.iter(|| {
            tape.clear();
            let xv = tape.var(&x);
            let y = layer
                .forward(xv, &mut Forward::new(&tape))
                .expect("valid batch");
            (y * tape.constant(&up))
                .sum()
                .backward_into(&mut grads)
                .expect("scalar root");
            black_box(grads.get(xv).expect("input gradient")[0])
        })
    });
    group.finish();
}

fn layers<F: gradsign::nn::ModelElement>(c: &mut Criterion) {
    let dense = Linear::<F>::init(WIDTH, WIDTH, Init::LecunNormal, true, 3).expect("sizes");
    bench_layer(c, "dense", &dense);
    bench_layer(c, "batch_norm", &BatchNorm::<F>::new(WIDTH).expect("width"));
    bench_layer(
        c,
        "layer_norm",
        &LayerNorm::<F>::new(&[WIDTH]).expect("width"),
    );
}

fn all(c: &mut Criterion) {
    layers::<f32>(c);
    layers::<f64>(c);
}

criterion_group!(benches, all);
criterion_main!(benches);
