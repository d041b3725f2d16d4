//! What the gradient statistics of `gradsign::stats` cost on a W3-sized
//! network (784-256-128-10 sigmoid MLP, batch 128, f32, one thread), beside
//! a plain W3 step and beside materialising every per-sample gradient (W4).
//!
//! ```sh
//! cargo bench --bench stats
//! ```
//!
//! - `w3_step`: one forward, backward and SGD update (W3's `step_f32`);
//! - `statistics_only`: [`StatisticsWorkspace::layer_statistics_into`] of
//!   the three layers from their `A` and `Δ` (copied out of one step's
//!   trace once, before timing) and
//!   [`StatisticsWorkspace::network_statistics_into`] over them, on a warm
//!   workspace, with the default selection (norms, α, `B_simple`, the
//!   GradSign score and the AND-mask, per neuron, per layer and for the
//!   network; the summed gradient `ΔᵀÃ` computed, since no gradient is
//!   given); `statistics_only_full` the same with every statistic
//!   ([`StatisticsConfig::full`]: the Gram, stiffness and GSNR too), and
//!   `statistics_only_full_fresh` that through [`layer_statistics`] and
//!   [`network_statistics`], which allocate their buffers and results on
//!   every call;
//! - `step_with_report`: the step with the analyzer's sign report between
//!   backward and the update (W5); `step_with_report_and_statistics` the
//!   same with the default statistics, which read `ΔᵀA` from the weights'
//!   gradients, and `step_with_report_and_full_statistics` with all of
//!   them, all through
//!   [`analyze_with_workspace`](GradientSignAnalyzer::analyze_with_workspace)
//!   on a workspace kept from step to step: their differences are what the
//!   statistics add to the report;
//! - `per_sample`: W4, the forward, backward and every example's own
//!   gradient written into kept buffers.
//!
//! The loss is the mean over the batch, as in W3; that scales `Δ` by `1/B`,
//! which changes no timing.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use gradsign::analysis::{GradientSignAnalyzer, PerSampleGradients};
use gradsign::loss::{self, Reduction};
use gradsign::stats::{
    LayerStatistics, NetworkStatistics, StatisticsConfig, StatisticsWorkspace, layer_statistics,
    network_statistics,
};
use gradsign::{Gradients, Tape, Tensor};
use gradsign_studies::bench_data;
use gradsign_studies::trainer::{Target, Trainer};

fn statistics(c: &mut Criterion) {
    let data = bench_data::w3::<f32>();
    let mut group = c.benchmark_group("stats_W3");
    group.measurement_time(Duration::from_secs(4));
    group.sample_size(30);

    let mut t = Trainer::new(data.mlp.clone(), bench_data::W3_LR, 1);
    group.bench_function("w3_step", |b| {
        b.iter(|| black_box(t.step(&data.x, Target::Classes(&data.labels))))
    });

    // Every layer's A and Δ from one step, as owned tensors.
    let mut t = Trainer::new(data.mlp.clone(), bench_data::W3_LR, 1);
    let mut layers: Vec<(Tensor<f32>, Tensor<f32>)> = Vec::new();
    t.step_with(&data.x, Target::Classes(&data.labels), |trace, grads| {
        for lt in trace.layers() {
            let a = lt.input.value();
            let d = grads.get(lt.pre_activation).expect("a gradient");
            let d = Tensor::from_vec(d.to_vec(), lt.pre_activation.shape().dims()).expect("B×J");
            layers.push((a, d));
        }
    });
    for (name, cfg) in [
        ("statistics_only", StatisticsConfig::default()),
        ("statistics_only_full", StatisticsConfig::full()),
    ] {
        group.bench_function(name, |b| {
            let mut ws = StatisticsWorkspace::new();
            let mut outs = vec![LayerStatistics::default(); layers.len()];
            let mut net = NetworkStatistics::default();
            b.iter(|| {
                for ((a, d), out) in layers.iter().zip(&mut outs) {
                    ws.layer_statistics_into(a, d, &cfg, out).expect("finite");
                }
                let refs: Vec<&LayerStatistics> = outs.iter().collect();
                ws.network_statistics_into(&refs, &mut net)
                    .expect("one batch");
                black_box(&net);
            })
        });
    }
    let cfg = StatisticsConfig::full();
    group.bench_function("statistics_only_full_fresh", |b| {
        b.iter(|| {
            let s: Vec<_> = layers
                .iter()
                .map(|(a, d)| layer_statistics(a, d, &cfg).expect("finite"))
                .collect();
            black_box(network_statistics(&s.iter().collect::<Vec<_>>()).expect("one batch"))
        })
    });

    for (name, with) in [
        ("step_with_report", None),
        (
            "step_with_report_and_statistics",
            Some(StatisticsConfig::default()),
        ),
        (
            "step_with_report_and_full_statistics",
            Some(StatisticsConfig::full()),
        ),
    ] {
        let mut t = Trainer::new(data.mlp.clone(), bench_data::W3_LR, 1);
        let mut analyzer = GradientSignAnalyzer::default();
        if let Some(cfg) = with {
            analyzer = analyzer.with_statistics(cfg);
        }
        let mut ws = StatisticsWorkspace::new();
        group.bench_function(name, |b| {
            b.iter(|| {
                black_box(
                    t.step_with(&data.x, Target::Classes(&data.labels), |trace, grads| {
                        let r = analyzer
                            .analyze_with_workspace(trace, grads, &mut ws)
                            .expect("traced layers");
                        black_box(r.statistics());
                    }),
                )
            })
        });
    }

    let mut tape = Tape::<f32>::new();
    let mut grads = Gradients::new();
    let mut per_sample = PerSampleGradients::new();
    group.bench_function("per_sample", |b| {
        b.iter(|| {
            tape.clear();
            let (out, trace) =
                gradsign::nn::forward(&data.mlp, &tape, tape.constant(&data.x)).expect("shapes");
            loss::softmax_cross_entropy(out, &data.labels, Reduction::Sum)
                .expect("labels")
                .backward_into(&mut grads)
                .expect("scalar loss");
            per_sample.compute(&trace, &grads).expect("traced layers");
        })
    });
    group.finish();
}

criterion_group!(benches, statistics);
criterion_main!(benches);
