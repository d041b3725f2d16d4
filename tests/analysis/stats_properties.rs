//! Every statistic of `gradsign::stats`, computed from `A` and `Δ`, equals the
//! same statistic computed from the materialised per-sample gradients
//! (`GradientSignAnalyzer::per_sample_gradients`, `PerSampleGradients`) on
//! random small layers in f64, to 1e-10 relative to the statistic's natural
//! scale (see `close`).
#![allow(clippy::needless_range_loop)] // index loops mirror the formulas

use gradsign::activation::Activation;
use gradsign::analysis::{GradientSignAnalyzer, PerSampleGradients};
use gradsign::nn::{self, Init, Mlp};
use gradsign::stats::{self, StatisticsConfig};
use gradsign::{Tape, Tensor};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

const TOL: f64 = 1e-10;

/// `|x − y| ≤ TOL·max(|y|, scale)`: relative, except that a value much
/// smaller than the magnitudes it is computed from (a cancelling sum) is
/// compared on the scale of those magnitudes, where its rounding lives.
fn close(what: &str, x: f64, y: f64, scale: f64) {
    let bound = TOL * y.abs().max(scale);
    assert!(
        (x - y).abs() <= bound,
        "{what}: {x} vs reference {y} (|diff| {:e} > {bound:e})",
        (x - y).abs()
    );
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Per-example gradients `g[n]` (J·K' values each, neuron-major, the bias
/// last in each neuron's block) from the materialised tensors.
fn materialise(a: &Tensor<f64>, d: &Tensor<f64>, bias: bool) -> Vec<Vec<f64>> {
    let (w, b) = GradientSignAnalyzer::default()
        .with_bias(bias)
        .per_sample_gradients(a, d)
        .unwrap();
    let (bn, j, k) = (w.dims()[0], w.dims()[1], w.dims()[2]);
    (0..bn)
        .map(|n| {
            let mut g = Vec::new();
            for jj in 0..j {
                g.extend_from_slice(&w.as_slice()[(n * j + jj) * k..(n * j + jj + 1) * k]);
                if let Some(b) = &b {
                    g.push(b.as_slice()[n * j + jj]);
                }
            }
            g
        })
        .collect()
}

/// One neuron's block of every example's gradient.
fn neuron(g: &[Vec<f64>], j: usize, kp: usize) -> Vec<Vec<f64>> {
    g.iter().map(|v| v[j * kp..(j + 1) * kp].to_vec()).collect()
}

struct Ref {
    alpha: Option<f64>,
    alpha_scale: f64,
    trace: f64,
    trace_scale: f64,
    g2: f64,
    g2_scale: f64,
}

/// α, tr Σ (sample covariance, two-pass) and |G|² (U-statistic over pairs
/// n ≠ m), straight from the vectors.
fn reference(g: &[Vec<f64>]) -> Ref {
    let b = g.len();
    let bf = b as f64;
    let p = g[0].len();
    let mean: Vec<f64> = (0..p)
        .map(|i| g.iter().map(|v| v[i]).sum::<f64>() / bf)
        .collect();
    let sq: f64 = g.iter().map(|v| dot(v, v)).sum::<f64>() / bf;
    let norms: Vec<f64> = g.iter().map(|v| dot(v, v).sqrt()).collect();
    let norm_sum: f64 = norms.iter().sum();
    let alpha = (sq > 0.0).then(|| dot(&mean, &mean) / sq);
    let mut trace = 0.0;
    let mut pairs = 0.0;
    for (n, v) in g.iter().enumerate() {
        trace += v
            .iter()
            .zip(&mean)
            .map(|(x, m)| (x - m) * (x - m))
            .sum::<f64>();
        for (m, w) in g.iter().enumerate() {
            if n != m {
                pairs += dot(v, w);
            }
        }
    }
    let denom = (bf - 1.0).max(1.0);
    Ref {
        alpha,
        alpha_scale: if sq > 0.0 {
            norm_sum * norm_sum / (bf * bf * sq)
        } else {
            0.0
        },
        trace: trace / denom,
        trace_scale: sq * bf / denom,
        g2: pairs / (bf * denom),
        g2_scale: norm_sum * norm_sum / (bf * denom),
    }
}

fn check_noise(what: &str, n: Option<stats::NoiseScale>, r: &Ref) {
    let Some(n) = n else {
        panic!("{what}: no noise scale for a batch of two or more");
    };
    close(
        &format!("{what} tr Σ"),
        n.trace_covariance,
        r.trace,
        r.trace_scale,
    );
    close(
        &format!("{what} |G|²"),
        n.gradient_norm_sq,
        r.g2,
        r.g2_scale,
    );
    let (tol_s, tol_g) = (
        TOL * r.trace.abs().max(r.trace_scale),
        TOL * r.g2.abs().max(r.g2_scale),
    );
    if r.g2 > tol_g && r.trace > tol_s {
        let b = n.b_simple.expect("B_simple defined");
        let exact = r.trace / r.g2;
        // A ratio's relative error is at most the sum of its parts'.
        let bound = exact * (tol_s / r.trace + tol_g / r.g2) * 1.01;
        assert!((b - exact).abs() <= bound, "{what} B_simple {b} vs {exact}");
    }
}

/// Everything, for one layer.
fn check_layer(a: &Tensor<f64>, d: &Tensor<f64>, bias: bool, tau: f64) {
    let (b, k, j) = (a.dims()[0], a.dims()[1], d.dims()[1]);
    let kp = k + usize::from(bias);
    if kp == 0 {
        return;
    }
    let g = materialise(a, d, bias);

    // Norms.
    let norms = stats::per_example_norms(a, d, bias).unwrap();
    for n in 0..b {
        let r = dot(&g[n], &g[n]).sqrt();
        close("‖g_n‖", norms.examples[n], r, 0.0);
        for jj in 0..j {
            let row = &g[n][jj * kp..(jj + 1) * kp];
            close("‖g_nj‖", norms.rows[n * j + jj], dot(row, row).sqrt(), 0.0);
        }
    }

    // Gram, on the Cauchy–Schwarz scale √(K_nn K_mm).
    let gram = stats::per_example_gram(a, d, bias).unwrap();
    for n in 0..b {
        for m in 0..b {
            let scale = (dot(&g[n], &g[n]) * dot(&g[m], &g[m])).sqrt();
            close("K_nm", gram.as_slice()[n * b + m], dot(&g[n], &g[m]), scale);
        }
    }

    // Alignment.
    let r = reference(&g);
    match (stats::alignment(a, d, bias), r.alpha) {
        (Ok(al), Some(alpha)) => {
            close("α", al.alpha, alpha, r.alpha_scale);
            close(
                "m-coherence",
                al.m_coherence,
                b as f64 * alpha,
                b as f64 * r.alpha_scale,
            );
            let from_gram = stats::alignment_from_gram(&gram).unwrap();
            assert_eq!(from_gram, al);
        }
        (Err(_), None) => {}
        (x, y) => panic!("alignment {x:?} vs reference {y:?}"),
    }

    // Noise scale.
    if b >= 2 {
        check_noise("layer", Some(stats::noise_scale(a, d, bias).unwrap()), &r);
    } else {
        assert!(stats::noise_scale(a, d, bias).is_err());
    }

    // GSNR, two-pass per parameter.
    if b >= 2 {
        let gs = stats::gsnr(a, d, bias).unwrap();
        let bf = b as f64;
        for i in 0..j * kp {
            let mean = g.iter().map(|v| v[i]).sum::<f64>() / bf;
            let var = g.iter().map(|v| (v[i] - mean).powi(2)).sum::<f64>() / (bf - 1.0);
            let sq = g.iter().map(|v| v[i] * v[i]).sum::<f64>();
            let mean_scale = g.iter().map(|v| v[i].abs()).sum::<f64>() / bf;
            close("GSNR mean", gs.mean[i], mean, mean_scale);
            close("GSNR variance", gs.variance[i], var, sq / (bf - 1.0));
            // Below the rounding floor the variance is taken as 0.
            let floor = 8.0 * bf * f64::EPSILON * sq / (bf - 1.0);
            match gs.ratio[i] {
                Some(ratio) if var > 1e6 * floor => {
                    let exact = mean * mean / var;
                    let rel = 2.0 * TOL * mean_scale / mean.abs() + TOL * sq / (bf - 1.0) / var;
                    assert!(
                        (ratio - exact).abs() <= exact * rel * 1.01 + f64::MIN_POSITIVE,
                        "GSNR {ratio} vs {exact}"
                    );
                }
                None => assert!(var <= floor, "GSNR undefined but variance {var} > {floor}"),
                Some(_) => {}
            }
        }
    }

    // Sign sums, the GradSign score and the AND-mask: exact.
    let sa = stats::sign_agreement(a, d, bias).unwrap();
    let sums: Vec<i64> = (0..j * kp)
        .map(|i| {
            g.iter()
                .map(|v| v[i].signum() as i64 * i64::from(v[i] != 0.0))
                .sum()
        })
        .collect();
    assert_eq!(sa.sums, sums);
    let score: u64 = sums.iter().map(|s| s.unsigned_abs()).sum();
    assert_eq!(sa.gradsign_score(), score);
    let mask: Vec<bool> = sums
        .iter()
        .map(|s| s.unsigned_abs() as f64 / b as f64 >= tau)
        .collect();
    assert_eq!(sa.and_mask(tau).unwrap(), mask);

    // Stiffness: pairs n ≠ m.
    if b >= 2 {
        let st = stats::stiffness(a, d, bias, None).unwrap();
        let (mut sign_sum, mut ambiguous, mut cos_sum, mut cos_n) = (0.0, 0usize, 0.0, 0usize);
        for n in 0..b {
            for m in 0..b {
                if n == m {
                    continue;
                }
                let (knm, nn, mm) = (dot(&g[n], &g[m]), dot(&g[n], &g[n]), dot(&g[m], &g[m]));
                sign_sum += if knm > 0.0 {
                    1.0
                } else if knm < 0.0 {
                    -1.0
                } else {
                    0.0
                };
                ambiguous += usize::from(knm.abs() <= TOL * (nn * mm).sqrt());
                if nn > 0.0 && mm > 0.0 {
                    cos_sum += knm / (nn * mm).sqrt();
                    cos_n += 1;
                }
            }
        }
        let pairs = (b * (b - 1)) as f64;
        assert_eq!(st.pairs, b * (b - 1));
        // A pair whose products cancel to within rounding may take either sign.
        assert!(
            (st.sign - sign_sum / pairs).abs() <= 2.0 * ambiguous as f64 / pairs,
            "sign stiffness {} vs {}",
            st.sign,
            sign_sum / pairs
        );
        assert_eq!(st.cosine_pairs, cos_n);
        if cos_n > 0 {
            close(
                "cos stiffness",
                st.cosine.unwrap(),
                cos_sum / cos_n as f64,
                1.0,
            );
        }
    }

    // All at once, per neuron too.
    let cfg = StatisticsConfig::full()
        .with_bias(bias)
        .with_and_mask_threshold(tau);
    let ls = stats::layer_statistics(a, d, &cfg).unwrap();
    // The default selection: the same values from the same sums, without
    // the Gram and the GSNR.
    let cheap =
        stats::layer_statistics(a, d, &cfg.clone().with_gram(false).with_gsnr(false)).unwrap();
    assert!(cheap.gram.is_empty() && cheap.stiffness.is_none());
    assert!(!cheap.gsnr_computed && cheap.gsnr_mean.is_none());
    assert_eq!(cheap.alignment, ls.alignment);
    assert_eq!(cheap.noise, ls.noise);
    assert_eq!(cheap.example_norms, ls.example_norms);
    assert_eq!(
        (cheap.gradsign_score, cheap.and_mask_kept),
        (ls.gradsign_score, ls.and_mask_kept)
    );
    for (x, y) in cheap.neurons.iter().zip(&ls.neurons) {
        assert_eq!((x.alignment, x.noise), (y.alignment, y.noise));
        assert_eq!(x.gradsign_score, y.gradsign_score);
        assert_eq!(x.gsnr_mean, None);
    }
    assert_eq!(ls.gradsign_score, score);
    assert_eq!(ls.and_mask_kept, mask.iter().filter(|&&m| m).count());
    assert_eq!(ls.gram, gram.as_slice());
    for jj in 0..j {
        let gj = neuron(&g, jj, kp);
        let rj = reference(&gj);
        let ns = &ls.neurons[jj];
        match (ns.alignment, rj.alpha) {
            (Some(al), Some(alpha)) => close("α_j", al.alpha, alpha, rj.alpha_scale),
            (None, None) => {}
            (x, y) => panic!("neuron {jj}: α {x:?} vs {y:?}"),
        }
        if b >= 2 {
            check_noise(&format!("neuron {jj}"), ns.noise, &rj);
        }
        let mean_row = gj.iter().map(|v| dot(v, v).sqrt()).sum::<f64>() / b as f64;
        close("mean row norm", ns.mean_row_norm, mean_row, 0.0);
        let nscore: u64 = sums[jj * kp..(jj + 1) * kp]
            .iter()
            .map(|s| s.unsigned_abs())
            .sum();
        assert_eq!(ns.gradsign_score, nscore);
    }
    // The summary's GSNR mean is the standalone one's.
    if b >= 2 {
        let gs = stats::gsnr(a, d, bias).unwrap();
        assert_eq!(ls.gsnr_defined, j * kp - gs.undefined());
        match (ls.gsnr_mean, gs.mean_ratio()) {
            (Some(x), Some(y)) => close("GSNR mean over parameters", x, y, 0.0),
            (None, None) => {}
            (x, y) => panic!("GSNR mean {x:?} vs {y:?}"),
        }
    }
}

/// A matrix of values `±u·10^e` with `u ∈ [0, 1)`, some exact zeros, and
/// optionally all of one sign.
fn matrix(
    rows: usize,
    cols: usize,
    exp: i32,
    positive: bool,
) -> impl Strategy<Value = Tensor<f64>> {
    proptest::collection::vec((0.0f64..1.0, any::<bool>(), 0u8..10), rows * cols).prop_map(
        move |v| {
            let scale = 10f64.powi(exp);
            let data = v
                .into_iter()
                .map(|(u, s, z)| {
                    if z == 0 {
                        0.0
                    } else if s && !positive {
                        -u * scale
                    } else {
                        u * scale
                    }
                })
                .collect();
            Tensor::from_vec(data, &[rows, cols]).unwrap()
        },
    )
}

fn layer() -> impl Strategy<Value = (Tensor<f64>, Tensor<f64>, bool, f64)> {
    (
        1usize..7,
        0usize..5,
        1usize..4,
        -30i32..30,
        -30i32..30,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_flat_map(|(b, k, j, ea, ed, positive, bias)| {
            (
                matrix(b, k, ea, positive),
                matrix(b, j, ed, false),
                Just(bias),
                0.0f64..=1.0,
            )
        })
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 200,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/analysis/stats_properties.proptest-regressions",
        ))),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn every_statistic_equals_the_materialised_one((a, d, bias, tau) in layer()) {
        check_layer(&a, &d, bias, tau);
    }

    #[test]
    fn f32_inputs_are_computed_in_f32((a, d, bias) in layer32()) {
        // An f32 layer's products run in f32: its statistics are those of
        // its f64 image up to f32 rounding, except what is exact in either
        // type: the sign sums (integers), and the norms, which are formed
        // in f64 from the values as given.
        let cfg = StatisticsConfig::full().with_bias(bias);
        let a64 = a.cast::<f64>();
        let d64 = d.cast::<f64>();
        let x = stats::layer_statistics(&a, &d, &cfg).unwrap();
        let y = stats::layer_statistics(&a64, &d64, &cfg).unwrap();
        prop_assert_eq!(x.gradsign_score, y.gradsign_score);
        prop_assert_eq!(x.and_mask_kept, y.and_mask_kept);
        prop_assert_eq!(&x.example_norms, &y.example_norms);
        let b = x.batch;
        // f32 rounding of two products of at most 8 terms and their
        // entrywise product: well below 1e-5 of the Cauchy–Schwarz scale.
        for n in 0..b {
            for m in 0..b {
                let scale = (y.gram[n * b + n] * y.gram[m * b + m]).sqrt();
                let (u, v) = (x.gram[n * b + m], y.gram[n * b + m]);
                prop_assert!((u - v).abs() <= 1e-5 * scale, "K_{}{}: {} vs {}", n, m, u, v);
            }
        }
        for (p, q) in x.neurons.iter().zip(&y.neurons) {
            prop_assert_eq!(p.gradsign_score, q.gradsign_score);
            prop_assert_eq!(p.mean_row_norm, q.mean_row_norm);
        }
    }
}

/// f32 layers whose products stay far inside f32's range.
fn layer32() -> impl Strategy<Value = (Tensor<f32>, Tensor<f32>, bool)> {
    (
        1usize..7,
        0usize..5,
        1usize..4,
        -4i32..4,
        -4i32..4,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_filter("a parameter", |(_, k, _, _, _, _, bias)| {
            k + usize::from(*bias) > 0
        })
        .prop_flat_map(|(b, k, j, ea, ed, positive, bias)| {
            (
                matrix(b, k, ea, positive),
                matrix(b, j, ed, false),
                Just(bias),
            )
        })
        .prop_map(|(a, d, bias)| (a.cast::<f32>(), d.cast::<f32>(), bias))
}

#[test]
fn f32_products_that_overflow_are_refused() {
    // 1e30² overflows f32 (not f64): an error naming the type, not a NaN.
    let a = Tensor::<f32>::from_vec(vec![1e30, 1e30], &[2, 1]).unwrap();
    let d = Tensor::<f32>::from_vec(vec![1e10, -1e10], &[2, 1]).unwrap();
    for cfg in [StatisticsConfig::default(), StatisticsConfig::full()] {
        let e = stats::layer_statistics(&a, &d, &cfg).unwrap_err();
        assert!(matches!(e, gradsign::Error::NonFinite { .. }), "{e}");
        assert!(e.to_string().contains("overflow f32"), "{e}");
        assert!(stats::layer_statistics(&a.cast::<f64>(), &d.cast::<f64>(), &cfg).is_ok());
    }
}

#[test]
fn many_neurons_span_several_blocks() {
    // 300 neurons of 20 inputs with B = 3: blocks of max(3, ⌈4096/21⌉) = 196
    // neurons, so the per-neuron reduction crosses a block boundary.
    let a = Tensor::<f64>::rand_normal(&[3, 20], 0.5, 1.0, 11).unwrap();
    let d = Tensor::<f64>::rand_normal(&[3, 300], 0.0, 1.0, 12).unwrap();
    check_layer(&a, &d, true, 0.5);
}

/// A network through the trace: the analyzer's statistics per layer equal
/// the materialised ones, and the network's equal those of the
/// concatenated per-sample gradients of every layer (`PerSampleGradients`).
#[test]
fn analyzer_statistics_match_per_sample_gradients_of_a_network() {
    for seed in 0..8 {
        // The default selection reads the summed gradient from the weights'
        // gradients; the full one computes every product.
        let selected = if seed < 4 {
            StatisticsConfig::default()
        } else {
            StatisticsConfig::full()
        };
        let mlp = Mlp::builder(&[3, 5, 4, 2])
            .hidden(if seed % 2 == 0 {
                Activation::Sigmoid
            } else {
                Activation::Tanh
            })
            .output(Activation::Identity)
            .init(Init::LecunNormal)
            .seed(seed)
            .build::<f64>()
            .unwrap();
        let tape = Tape::new();
        let x = tape.constant(&Tensor::rand_uniform(&[6, 3], 0.0, 1.0, 100 + seed).unwrap());
        let (y, trace) = nn::forward(&mlp, &tape, x).unwrap();
        let grads = (y - 0.3).square().sum().backward().unwrap();
        let report = GradientSignAnalyzer::default()
            .with_statistics(selected.clone())
            .analyze(&trace, &grads)
            .unwrap();
        let mut ps = PerSampleGradients::new();
        ps.compute(&trace, &grads).unwrap();
        let b = 6;
        let mut g: Vec<Vec<f64>> = vec![Vec::new(); b];
        for l in 0..ps.len() {
            let (w, bias) = (ps.weights(l), ps.bias(l).unwrap());
            let (j, k) = (w.dims()[1], w.dims()[2]);
            let mut gl: Vec<Vec<f64>> = vec![Vec::new(); b];
            for (n, v) in gl.iter_mut().enumerate() {
                for jj in 0..j {
                    v.extend_from_slice(&w.as_slice()[(n * j + jj) * k..(n * j + jj + 1) * k]);
                    v.push(bias.as_slice()[n * j + jj]);
                }
            }
            let s = report.layers[l].statistics.as_ref().unwrap();
            check_against_vectors(&format!("seed {seed} layer {l}"), s, &gl, k + 1);
            let r = reference(&gl);
            close(
                "layer α",
                s.alignment.unwrap().alpha,
                r.alpha.unwrap(),
                r.alpha_scale,
            );
            check_noise("layer", s.noise, &r);
            for (n, v) in gl.into_iter().enumerate() {
                g[n].extend(v);
            }
        }
        let net = report.statistics().unwrap();
        let r = reference(&g);
        assert_eq!(net.layers, 3);
        assert_eq!(net.parameters, g[0].len());
        close(
            "network α",
            net.alignment.unwrap().alpha,
            r.alpha.unwrap(),
            r.alpha_scale,
        );
        check_noise("network", net.noise, &r);
        assert_eq!(net.stiffness.is_some(), selected.gram);
        assert_eq!(net.gsnr_computed, selected.gsnr);
        for n in 0..b {
            close(
                "network ‖g_n‖",
                net.example_norms[n],
                dot(&g[n], &g[n]).sqrt(),
                0.0,
            );
        }
        let text = report.to_string();
        assert!(text.contains("statistics: α"), "{text}");
        assert!(text.contains("network (3 layers"), "{text}");
    }
}

#[test]
fn statistics_are_off_by_default() {
    let a = Tensor::<f64>::rand_normal(&[4, 2], 0.0, 1.0, 1).unwrap();
    let d = Tensor::<f64>::rand_normal(&[4, 3], 0.0, 1.0, 2).unwrap();
    let r = GradientSignAnalyzer::default()
        .analyze_layer(&a, &d)
        .unwrap();
    assert!(r.statistics.is_none());
    assert!(!r.to_string().contains("statistics"));
    // With them, the raw-matrix entry point honours the bias setting.
    let r = GradientSignAnalyzer::default()
        .without_bias()
        .with_statistics(StatisticsConfig::default())
        .analyze_layer(&a, &d)
        .unwrap();
    let s = r.statistics.unwrap();
    assert_eq!(s.parameters, 3 * 2);
    assert!(!s.bias);
}

/// Every example's gradient of layer `l` as one vector (neuron-major, the
/// bias last in each neuron's block), from `PerSampleGradients`.
fn per_sample_vectors(ps: &PerSampleGradients<f64>, l: usize) -> Vec<Vec<f64>> {
    let w = ps.weights(l);
    let (b, j, k) = (w.dims()[0], w.dims()[1], w.dims()[2]);
    (0..b)
        .map(|n| {
            let mut v = Vec::new();
            for jj in 0..j {
                v.extend_from_slice(&w.as_slice()[(n * j + jj) * k..(n * j + jj + 1) * k]);
                if let Some(bias) = ps.bias(l) {
                    v.push(bias.as_slice()[n * j + jj]);
                }
            }
            v
        })
        .collect()
}

/// A layer's statistics against the same statistics of the vectors `g`
/// (`kp` parameters per neuron).
fn check_against_vectors(what: &str, s: &stats::LayerStatistics, g: &[Vec<f64>], kp: usize) {
    let b = g.len();
    let np = g[0].len();
    let j = np / kp;
    assert_eq!(
        (s.batch, s.parameters, s.neurons.len()),
        (b, np, j),
        "{what}"
    );
    for n in 0..b {
        close(
            &format!("{what} ‖g_n‖"),
            s.example_norms[n],
            dot(&g[n], &g[n]).sqrt(),
            0.0,
        );
        if s.gram.is_empty() {
            continue;
        }
        for m in 0..b {
            let scale = (dot(&g[n], &g[n]) * dot(&g[m], &g[m])).sqrt();
            close(
                &format!("{what} K_nm"),
                s.gram[n * b + m],
                dot(&g[n], &g[m]),
                scale,
            );
        }
    }
    assert_eq!(
        s.stiffness.is_some(),
        !s.gram.is_empty() && b >= 2,
        "{what}"
    );
    let r = reference(g);
    match (s.alignment, r.alpha) {
        (Some(al), Some(alpha)) => close(&format!("{what} α"), al.alpha, alpha, r.alpha_scale),
        (None, None) => {}
        (x, y) => panic!("{what}: α {x:?} vs {y:?}"),
    }
    check_noise(what, s.noise, &r);
    // Sign sums: exact, except where an entry is within rounding of 0
    // (the two sides sum the positions in different orders).
    let (mut score, mut ambiguous) = (0u64, 0u64);
    for i in 0..np {
        let scale: f64 = g.iter().map(|v| v[i].abs()).fold(0.0, f64::max);
        let sum: i64 = g
            .iter()
            .map(|v| v[i].signum() as i64 * i64::from(v[i] != 0.0))
            .sum();
        score += sum.unsigned_abs();
        ambiguous += g
            .iter()
            .filter(|v| v[i] != 0.0 && v[i].abs() <= 1e-12 * scale)
            .count() as u64;
    }
    assert!(
        s.gradsign_score.abs_diff(score) <= ambiguous,
        "{what}: GradSign {} vs {score} ({ambiguous} entries within rounding of 0)",
        s.gradsign_score
    );
    let bf = b as f64;
    for jj in 0..j {
        let gj = neuron(g, jj, kp);
        let rj = reference(&gj);
        let ns = &s.neurons[jj];
        match (ns.alignment, rj.alpha) {
            (Some(al), Some(alpha)) => {
                close(&format!("{what} α_{jj}"), al.alpha, alpha, rj.alpha_scale)
            }
            (None, None) => {}
            (x, y) => panic!("{what} neuron {jj}: α {x:?} vs {y:?}"),
        }
        check_noise(&format!("{what} neuron {jj}"), ns.noise, &rj);
        let mean_row = gj.iter().map(|v| dot(v, v).sqrt()).sum::<f64>() / bf;
        close(
            &format!("{what} mean row norm"),
            ns.mean_row_norm,
            mean_row,
            0.0,
        );
    }
    if !s.gsnr_computed {
        assert_eq!((s.gsnr_mean, s.gsnr_defined), (None, 0), "{what}");
        return;
    }
    // GSNR per parameter, two-pass, where the variance is well above the
    // rounding floor; each ratio's error bound as in `check_layer`.
    let (mut sum, mut bound, mut n) = (0.0, 0.0, 0usize);
    for i in 0..np {
        let mean = g.iter().map(|v| v[i]).sum::<f64>() / bf;
        let var = g.iter().map(|v| (v[i] - mean).powi(2)).sum::<f64>() / (bf - 1.0);
        let sq = g.iter().map(|v| v[i] * v[i]).sum::<f64>();
        let mean_scale = g.iter().map(|v| v[i].abs()).sum::<f64>() / bf;
        if var > 1e-6 * sq / (bf - 1.0) {
            let ratio = mean * mean / var;
            sum += ratio;
            bound += ratio
                * (2.0 * TOL * mean_scale / mean.abs().max(f64::MIN_POSITIVE)
                    + TOL * sq / (bf - 1.0) / var);
            n += 1;
        }
    }
    assert_eq!(s.gsnr_defined, n, "{what}: parameters with a GSNR");
    if n > 0 {
        let (x, y) = (s.gsnr_mean.unwrap(), sum / n as f64);
        let tol = 1.01 * bound / n as f64 + TOL * y;
        assert!(
            (x - y).abs() <= tol,
            "{what}: GSNR mean {x} vs {y} (tolerance {tol:e})"
        );
    }
}

/// conv 3×3 (C → 3, optional padding), tanh or ReLU, max-pool 2, flatten,
/// linear → 2: the convolution's statistics are those of each example's
/// gradient summed over its positions (`PerSampleGradients`), and the
/// network's those of every layer's concatenated.
#[test]
fn convolution_statistics_match_per_sample_gradients() {
    use gradsign::nn::{Conv2d, Flatten, Linear, MaxPool2d, Sequential};
    use gradsign::ops::conv::Window;
    for seed in 0..6u64 {
        let (channels, padding, bias) = (
            1 + seed as usize % 2,
            (seed / 2) as usize % 2,
            seed % 3 != 2,
        );
        let side = 6 + 2 * padding - 2;
        let net: Sequential<f64> = Sequential::new()
            .push(
                Conv2d::init(channels, 3, (3, 3), Init::HeNormal, bias, seed)
                    .unwrap()
                    .with_window(Window::default().padding(padding)),
            )
            .push(if seed % 2 == 0 {
                Activation::Tanh
            } else {
                Activation::Relu
            })
            .push(MaxPool2d::new((2, 2)))
            .push(Flatten)
            .push(
                Linear::init(
                    3 * (side / 2) * (side / 2),
                    2,
                    Init::LecunNormal,
                    true,
                    seed + 1,
                )
                .unwrap(),
            );
        let b = 7;
        let lo = if seed < 3 { 0.1 } else { -0.5 };
        let x = Tensor::<f64>::rand_uniform(&[b, channels, 6, 6], lo, lo + 1.0, 50 + seed).unwrap();
        let tape = Tape::new();
        let (y, trace) = nn::forward(&net, &tape, tape.constant(&x)).unwrap();
        let grads = (y - 0.2).square().sum().backward().unwrap();
        assert_eq!(trace.layers()[0].positions, side * side);
        let selected = if seed % 2 == 0 {
            StatisticsConfig::full()
        } else {
            StatisticsConfig::default()
        };
        let report = GradientSignAnalyzer::default()
            .with_statistics(selected)
            .analyze(&trace, &grads)
            .unwrap();
        let mut ps = PerSampleGradients::new();
        ps.compute(&trace, &grads).unwrap();
        let mut all: Vec<Vec<f64>> = vec![Vec::new(); b];
        for l in 0..ps.len() {
            let g = per_sample_vectors(&ps, l);
            let kp = ps.weights(l).dims()[2] + usize::from(ps.bias(l).is_some());
            let s = report.layers[l].statistics.as_ref().unwrap();
            assert_eq!(s.positions, trace.layers()[l].positions);
            check_against_vectors(&format!("seed {seed} layer {l}"), s, &g, kp);
            for (n, v) in g.into_iter().enumerate() {
                all[n].extend(v);
            }
        }
        let net_stats = report.statistics().unwrap();
        let r = reference(&all);
        close(
            "network α",
            net_stats.alignment.unwrap().alpha,
            r.alpha.unwrap(),
            r.alpha_scale,
        );
        check_noise("network", net_stats.noise, &r);
        assert!(report.to_string().contains("sums its"), "{report}");
    }
}

#[test]
fn positions_that_do_not_split_the_rows_are_refused() {
    let a = Tensor::<f64>::rand_normal(&[8, 2], 0.0, 1.0, 1).unwrap();
    let d = Tensor::<f64>::rand_normal(&[8, 3], 0.0, 1.0, 2).unwrap();
    let refuse = |p| {
        stats::layer_statistics(&a, &d, &StatisticsConfig::default().with_positions(p)).unwrap_err()
    };
    for p in [3, 16] {
        let e = refuse(p);
        assert!(matches!(e, gradsign::Error::Incompatible { .. }), "{e:?}");
        let e = e.to_string();
        assert!(
            e.contains("layer_statistics") && e.contains(&format!("{p} positions")),
            "{e}"
        );
    }
    let e = refuse(0);
    assert!(matches!(e, gradsign::Error::OutOfDomain { .. }), "{e:?}");
    assert!(
        e.to_string()
            .contains("positions must be at least 1, got 0"),
        "{e}"
    );
    // Four examples of two positions: the statistics of four summed gradients.
    let s =
        stats::layer_statistics(&a, &d, &StatisticsConfig::default().with_positions(2)).unwrap();
    assert_eq!((s.batch, s.positions), (4, 2));
}
