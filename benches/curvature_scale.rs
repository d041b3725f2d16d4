//! Curvature at network scale, on W3's network (784-256-128-10 sigmoid,
//! 235,146 parameters, batch 128, softmax cross-entropy; data from
//! `gradsign_studies::bench_data` as `benches/workloads.rs` draws it):
//! one exact Hessian-vector product (forward-over-reverse on dual numbers)
//! and one Gauss–Newton product against one gradient, all in f64 through
//! the same `Objective`; then, once, the top-5 Hessian eigenvalues by
//! Lanczos to relative residual 1e-3, with the number of products used.
//! Reported, never asserted.
//!
//! ```sh
//! cargo bench --bench curvature_scale
//! ```

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use gradsign::Tensor;
use gradsign::curvature::lanczos::{LanczosConfig, lanczos};
use gradsign::curvature::{Curvature, Likelihood, Objective, Operator};
use gradsign_studies::bench_data;

fn curvature_scale(c: &mut Criterion) {
    let data = bench_data::w3::<f64>();
    let classes = bench_data::W3_SIZES[bench_data::W3_SIZES.len() - 1];
    let targets = Tensor::from_fn(&[bench_data::W3_BATCH, classes], |ix| {
        f64::from(data.labels[ix[0]] == ix[1])
    })
    .expect("128 × 10 values");
    let objective = Objective::new(&data.mlp, Likelihood::Categorical, &data.x, &targets)
        .expect("W3's data is valid");
    let hessian = objective.operator(Curvature::Hessian).expect("parameters");
    let ggn = objective
        .operator(Curvature::GaussNewton)
        .expect("parameters");
    let p = hessian.dim();
    let v: Vec<f64> = (0..p).map(|i| ((i % 7) as f64 - 3.0) / 3.0).collect();
    let mut out = vec![0.0; p];

    let mut group = c.benchmark_group("curvature_scale");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("gradient_f64", |b| {
        b.iter(|| black_box(objective.gradient().expect("finite")))
    });
    group.bench_function("hvp_f64", |b| {
        b.iter(|| hessian.apply(black_box(&v), &mut out).expect("finite"))
    });
    group.bench_function("ggn_vp_f64", |b| {
        b.iter(|| ggn.apply(black_box(&v), &mut out).expect("finite"))
    });
    group.finish();

    let started = Instant::now();
    let top = lanczos(&hessian, &LanczosConfig::largest(5).tolerance(1e-3).seed(1))
        .expect("a symmetric operator");
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "top-5 Lanczos on W3's Hessian (P = {p}): {} Lanczos steps, {} products in all \
         (1 symmetry probe, {} residual checks), converged: {}, {secs:.1} s",
        top.iterations,
        top.applications,
        top.eigenvalues.len(),
        top.converged
    );
    for i in 0..top.eigenvalues.len() {
        eprintln!(
            "  λ{} = {:.6e}, relative residual {:.1e}",
            i + 1,
            top.eigenvalues[i],
            top.relative_residual(i)
        );
    }
}

criterion_group!(benches, curvature_scale);
criterion_main!(benches);
