//! A warm call of the statistics allocates nothing of its own: the three
//! layers of W3 (784-256-128-10, batch 128, f32) through
//! `StatisticsWorkspace::layer_statistics_into` and their combination
//! through `network_statistics_into` allocate exactly what their matrix
//! products allocate when called alone through `f32`'s tuned kernel,
//! `Element::gemm` (the `gemm` crate's packing buffers, which are its own),
//! counted per thread by the global allocator of `support/counting_alloc.rs`.

use gradsign::Element;
use gradsign::Tensor;
use gradsign::element::GemmArgs;
use gradsign::stats::{
    LayerStatistics, NetworkStatistics, StatisticsConfig, StatisticsWorkspace, layer_statistics,
    network_statistics,
};
use gradsign_studies::bench_data;

use crate::counting_alloc::{allocations, counted_in};

/// `C = A·B` through the tuned kernel on one thread, `dims` =
/// `[m, n, k, a_rs, a_cs, b_rs, b_cs]`.
fn product(a: &[f32], b: &[f32], c: &mut [f32], dims: [usize; 7]) {
    let [m, n, k, a_rs, a_cs, b_rs, b_cs] = dims;
    f32::gemm(GemmArgs {
        m,
        n,
        k,
        a,
        a_rs,
        a_cs,
        b,
        b_rs,
        b_cs,
        c,
        c_rs: n,
        accumulate: false,
        threads: 1,
    });
}

/// The products `layer_statistics_into` makes for a dense layer of `batch`
/// examples, `kp` parameters per neuron (the bias included) and `j`
/// neurons, as its documentation lists them: `ÃÃᵀ`, `ΔΔᵀ`, and per block
/// of `max(B, ⌈4096/K'⌉)` neurons the two per-parameter products.
fn layer_products(a: &[f32], b: &[f32], c: &mut [f32], (batch, kp, j): (usize, usize, usize)) {
    product(a, b, c, [batch, batch, kp, kp, 1, 1, kp]);
    product(a, b, c, [batch, batch, j, j, 1, 1, j]);
    let nb = batch.max(4096usize.div_ceil(kp)).min(j);
    let mut j0 = 0;
    while j0 < j {
        let n = nb.min(j - j0);
        // Σ_n g and Σ_n g² (the sign sums are counted in bit masks).
        for _ in 0..2 {
            product(&a[j0..], b, c, [n, kp, batch, 1, j, kp, 1]);
        }
        j0 += n;
    }
}

#[test]
fn warm_statistics_of_w3_allocate_only_inside_the_tuned_matrix_kernel() {
    let batch = bench_data::W3_BATCH;
    let sizes = bench_data::W3_SIZES;
    let layers: Vec<(Tensor<f32>, Tensor<f32>)> = sizes
        .windows(2)
        .enumerate()
        .map(|(l, p)| {
            let a = Tensor::rand_uniform(&[batch, p[0]], 0.0, 1.0, 2 * l as u64).unwrap();
            let d = Tensor::rand_normal(&[batch, p[1]], 0.0, 1e-3, 2 * l as u64 + 1).unwrap();
            (a, d)
        })
        .collect();
    let cfg = StatisticsConfig::full();
    let mut ws = StatisticsWorkspace::new();
    let mut outs: Vec<LayerStatistics> = vec![LayerStatistics::default(); layers.len()];
    let mut net = NetworkStatistics::default();
    let first = allocations();
    let mut call = || {
        for ((a, d), out) in layers.iter().zip(&mut outs) {
            ws.layer_statistics_into(a, d, &cfg, out).unwrap();
        }
        let refs: [&LayerStatistics; 3] = [&outs[0], &outs[1], &outs[2]];
        ws.network_statistics_into(&refs, &mut net).unwrap();
    };
    call();
    assert!(allocations() > first, "the first call sizes the buffers");
    let in_calls = counted_in(allocations, (1, 5), &mut call);

    let largest = sizes[0] * sizes[1] + sizes[1];
    let (a, b, mut c) = (vec![0.5; largest], vec![0.25; largest], vec![0.0; largest]);
    let in_kernel = counted_in(allocations, (1, 5), || {
        for p in sizes.windows(2) {
            layer_products(&a, &b, &mut c, (batch, p[0] + 1, p[1]));
        }
    });
    assert_eq!(
        in_calls, in_kernel,
        "5 warm W3 statistics: {in_calls} allocations, their products alone {in_kernel}"
    );

    // The reused outputs are the fresh ones.
    for ((a, d), out) in layers.iter().zip(&outs) {
        assert_eq!(out, &layer_statistics(a, d, &cfg).unwrap());
    }
    assert_eq!(
        net,
        network_statistics(&[&outs[0], &outs[1], &outs[2]]).unwrap()
    );
}

/// A convolution's statistics (`positions > 1`, each example's gradient
/// summed over its positions) on a warm workspace allocate only what their
/// products allocate alone: one `J×K'` product per example over its `P`
/// positions, then the `B×B` Gram of the summed gradients.
#[test]
fn warm_convolution_statistics_allocate_only_inside_the_tuned_matrix_kernel() {
    // 3×3 filters over 2 channels (K = 18, K' = 19), 4 filters, a 6×6
    // output (P = 36), 16 examples.
    let (batch, pos, k_in, j) = (16, 36, 18, 4);
    let kp = k_in + 1;
    let a = Tensor::<f32>::rand_uniform(&[batch * pos, k_in], -1.0, 1.0, 7).unwrap();
    let d = Tensor::<f32>::rand_normal(&[batch * pos, j], 0.0, 1e-2, 8).unwrap();
    let cfg = StatisticsConfig::full().with_positions(pos);
    let mut ws = StatisticsWorkspace::new();
    let mut out = LayerStatistics::default();
    let first = allocations();
    let mut call = || ws.layer_statistics_into(&a, &d, &cfg, &mut out).unwrap();
    call();
    assert!(allocations() > first, "the first call sizes the buffers");
    let in_calls = counted_in(allocations, (1, 5), &mut call);

    let per = j * kp;
    let (x, y) = (vec![0.5f32; batch * pos * kp], vec![0.25f32; batch * per]);
    let mut c = vec![0.0f32; batch * per.max(batch)];
    let in_kernel = counted_in(allocations, (1, 5), || {
        for n in 0..batch {
            product(
                &y[..pos * j],
                &x[n * pos * kp..(n + 1) * pos * kp],
                &mut c[n * per..(n + 1) * per],
                [j, kp, pos, 1, j, kp, 1],
            );
        }
        product(&y, &y, &mut c, [batch, batch, per, per, 1, 1, per]);
    });
    assert_eq!(
        in_calls, in_kernel,
        "5 warm convolution statistics: {in_calls} allocations, their products alone {in_kernel}"
    );
    assert_eq!(out, layer_statistics(&a, &d, &cfg).unwrap());
}
