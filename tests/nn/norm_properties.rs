//! Exact properties of the normalisation layers, over wide magnitude ranges:
//! BatchNorm's training output has zero batch mean and variance
//! `σ²/(σ² + ε)` per channel; LayerNorm's the same per example; mean-only
//! BatchNorm on a dense layer's pre-activation makes that layer's deltas
//! sum to zero over the batch, so its batch weight gradient ignores a
//! constant added to its inputs; weight normalisation ignores the scale
//! of `v`.

use gradsign::activation::Activation;
use gradsign::nn::{
    self, BatchNorm, Init, LayerNorm, Linear, MeanOnlyBatchNorm, Sequential, WeightNormConv2d,
    WeightNormLinear,
};
use gradsign::{Element, Tape, Tensor};
use proptest::prelude::*;

/// Values `shift + scale·u`, `u` uniform in [−1, 1], from a seed.
fn data<F: Element>(dims: &[usize], scale: f64, shift: f64, seed: u64) -> Tensor<F> {
    let u = Tensor::<f64>::rand_uniform(dims, -1.0, 1.0, seed).unwrap();
    let v: Vec<F> = u
        .as_slice()
        .iter()
        .map(|&x| F::from_f64(shift + scale * x))
        .collect();
    Tensor::from_vec(v, dims).unwrap()
}

/// Per group of `(outer, groups, inner)`: mean and biased variance, in f64.
fn moments(y: &[f64], outer: usize, groups: usize, inner: usize) -> Vec<(f64, f64)> {
    (0..groups)
        .map(|c| {
            let vals: Vec<f64> = (0..outer)
                .flat_map(|a| (0..inner).map(move |s| (a * groups + c) * inner + s))
                .map(|i| y[i])
                .collect();
            let m = vals.iter().sum::<f64>() / vals.len() as f64;
            let v = vals.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / vals.len() as f64;
            (m, v)
        })
        .collect()
}

/// Checks normalised groups: mean 0 and variance `σ²/(σ²+ε)` where `σ²` is
/// the input group's variance. The bound is the rounding analysis of the
/// two-pass moments in unit roundoff `u`: the mean of `M` values is off by
/// at most `~M·u·max|x|`, each deviation `x − μ` by that plus `u·|x|`, and
/// the output scales them by `1/√(σ² + ε)`; the variance of outputs below
/// 1 is off by twice that.
fn check_normalised(
    x: &[f64],
    y: &[f64],
    layout: (usize, usize, usize),
    eps: f64,
    u: f64,
) -> Result<(), TestCaseError> {
    let (o, g, i) = layout;
    let m = (o * i) as f64;
    for (c, ((_, vx), (my, vy))) in moments(x, o, g, i)
        .into_iter()
        .zip(moments(y, o, g, i))
        .enumerate()
    {
        let big = (0..o)
            .flat_map(|a| (0..i).map(move |s| (a * g + c) * i + s))
            .fold(0.0f64, |acc, k| acc.max(x[k].abs()));
        let tol = 4.0 * (m + 2.0) * u * (big / (vx + eps).sqrt() + 1.0);
        let want = vx / (vx + eps);
        prop_assert!(
            my.abs() <= tol,
            "group {}: mean {} (input variance {}, tolerance {:e})",
            c,
            my,
            vx,
            tol
        );
        prop_assert!(
            (vy - want).abs() <= 2.0 * tol,
            "group {}: variance {} vs {} (input variance {}, tolerance {:e})",
            c,
            vy,
            want,
            vx,
            2.0 * tol
        );
    }
    Ok(())
}

const U64: f64 = f64::EPSILON / 2.0;
const U32: f64 = f32::EPSILON as f64 / 2.0;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn batch_norm_training_output_is_standardised_per_channel(
        n in 2usize..9, c in 1usize..4, hw in prop::sample::select(vec![0usize, 1, 4]),
        log_scale in -6.0f64..6.0, shift_ratio in -1e3f64..1e3, seed in any::<u64>(),
    ) {
        let scale = 10f64.powf(log_scale);
        let dims: Vec<usize> = if hw == 0 { vec![n, c] } else { vec![n, c, hw, 1] };
        let inner = hw.max(1);
        let x = data::<f64>(&dims, scale, shift_ratio * scale, seed);
        let bn = BatchNorm::<f64>::new(c).unwrap().without_affine();
        let y = nn::predict(&bn, &x).unwrap();
        check_normalised(x.as_slice(), y.as_slice(), (n, c, inner), 1e-5, U64)?;
        // f32 on the same values.
        let x32 = x.cast::<f32>();
        let bn32 = BatchNorm::<f32>::new(c).unwrap().without_affine();
        let y32 = nn::predict(&bn32, &x32).unwrap().cast::<f64>();
        check_normalised(x32.cast::<f64>().as_slice(), y32.as_slice(), (n, c, inner), 1e-5, U32)?;
    }

    #[test]
    fn layer_norm_output_is_standardised_per_example(
        n in 1usize..6, d in 2usize..9,
        log_scale in -6.0f64..6.0, shift_ratio in -1e3f64..1e3, seed in any::<u64>(),
    ) {
        let scale = 10f64.powf(log_scale);
        let x = data::<f64>(&[n, d], scale, shift_ratio * scale, seed);
        let ln = LayerNorm::<f64>::new(&[d]).unwrap().without_affine();
        let y = nn::predict(&ln, &x).unwrap();
        check_normalised(x.as_slice(), y.as_slice(), (1, n, d), 1e-5, U64)?;
        let x32 = x.cast::<f32>();
        let y32 = nn::predict(&LayerNorm::<f32>::new(&[d]).unwrap().without_affine(), &x32).unwrap();
        check_normalised(x32.cast::<f64>().as_slice(), y32.cast::<f64>().as_slice(), (1, n, d), 1e-5, U32)?;
    }

    #[test]
    fn mean_only_batch_norm_centres_the_deltas_so_the_weight_gradient_ignores_input_shifts(
        n in 2usize..8, fan_in in 1usize..4, width in 1usize..4,
        log_shift in -3.0f64..3.0, seed in any::<u64>(),
    ) {
        let net = Sequential::<f64>::new()
            .push(Linear::init(fan_in, width, Init::LecunNormal, true, seed).unwrap())
            .push(MeanOnlyBatchNorm::new(width).unwrap())
            .push(Activation::Sigmoid)
            .push(Linear::init(width, 1, Init::LecunNormal, true, seed ^ 1).unwrap());
        let x = data::<f64>(&[n, fan_in], 1.0, 0.5, seed ^ 2);
        let target = data::<f64>(&[n, 1], 1.0, 0.0, seed ^ 3);
        let shift = data::<f64>(&[fan_in], 10f64.powf(log_shift), 0.0, seed ^ 4);
        let run = |x: &Tensor<f64>| {
            let tape = Tape::<f64>::new();
            let (y, trace) = nn::forward(&net, &tape, tape.constant(x)).unwrap();
            let r = y - tape.constant(&target);
            let grads = (r * r).sum().backward().unwrap();
            let first = trace.layers()[0];
            // The gradient arriving at the mean-only layer's output.
            let bn_out = trace.records()[1].output;
            (
                grads.get(first.pre_activation).unwrap().to_vec(),
                grads.get(first.weight).unwrap().to_vec(),
                grads.get(bn_out).unwrap().to_vec(),
            )
        };
        let (delta, gw, incoming) = run(&x);
        for j in 0..width {
            let sum: f64 = (0..n).map(|b| delta[b * width + j]).sum();
            // δ_b = g_b − mean(g), each rounded once, then summed: a few
            // units of roundoff of Σ|g| (g can be far larger than δ).
            let size: f64 = (0..n).map(|b| incoming[b * width + j].abs()).sum();
            prop_assert!(sum.abs() <= 4.0 * n as f64 * f64::EPSILON * size,
                "unit {}: Σ_b δ = {} (Σ|g| = {})", j, sum, size);
        }
        let shifted: Vec<f64> = x
            .as_slice()
            .iter()
            .enumerate()
            .map(|(i, &v)| v + shift.as_slice()[i % fan_in])
            .collect();
        let (_, gw2, _) = run(&Tensor::from_vec(shifted, &[n, fan_in]).unwrap());
        let norm: f64 = gw.iter().map(|g| g.abs()).sum::<f64>();
        let s_max = shift.as_slice().iter().fold(1.0f64, |a, s| a.max(s.abs()));
        for (i, (a, b)) in gw.iter().zip(&gw2).enumerate() {
            prop_assert!((a - b).abs() <= 1e-11 * s_max * (norm + 1e-300),
                "∂L/∂W[{}]: {} unshifted vs {} shifted", i, a, b);
        }
    }

    #[test]
    fn weight_norm_is_invariant_to_rescaling_v(
        fan_in in 1usize..5, fan_out in 1usize..4,
        log_scales in prop::collection::vec(-30.0f64..30.0, 4), seed in any::<u64>(),
    ) {
        let wn = WeightNormLinear::<f64>::init(fan_in, fan_out, Init::LecunNormal, true, seed).unwrap();
        let mut scaled = wn.clone();
        for (j, row) in scaled.v.as_mut_slice().chunks_exact_mut(fan_in).enumerate() {
            let a = 10f64.powf(log_scales[j % 4]);
            row.iter_mut().for_each(|v| *v *= a);
        }
        let x = data::<f64>(&[3, fan_in], 1.0, 0.0, seed ^ 5);
        let (p, q) = (nn::predict(&wn, &x).unwrap(), nn::predict(&scaled, &x).unwrap());
        for (a, b) in p.as_slice().iter().zip(q.as_slice()) {
            prop_assert!((a - b).abs() <= 1e-13 * (1.0 + a.abs()), "{} vs {}", a, b);
        }
        // The same in f32, on rows scaled by up to 1e±30 (whose squares
        // would overflow or underflow without the scaled norm).
        let wn32 = WeightNormLinear::<f32>::new(wn.v.cast(), wn.g.cast(), wn.bias.as_ref().map(|b| b.cast())).unwrap();
        let sc32 = WeightNormLinear::<f32>::new(scaled.v.cast(), scaled.g.cast(), scaled.bias.as_ref().map(|b| b.cast())).unwrap();
        let x32 = x.cast::<f32>();
        let (p, q) = (nn::predict(&wn32, &x32).unwrap(), nn::predict(&sc32, &x32).unwrap());
        for (a, b) in p.as_slice().iter().zip(q.as_slice()) {
            prop_assert!((a - b).abs() <= 1e-5 * (1.0 + a.abs()), "f32: {} vs {}", a, b);
        }
    }

    #[test]
    fn conv_weight_norm_is_invariant_to_rescaling_each_filter(
        c in 1usize..3, o in 1usize..4, kh in 1usize..3, kw in 1usize..3,
        log_scales in prop::collection::vec(-30.0f64..30.0, 3), seed in any::<u64>(),
    ) {
        let wn = WeightNormConv2d::<f64>::init(c, o, (kh, kw), Init::HeNormal, true, seed).unwrap();
        let mut scaled = wn.clone();
        for (j, filter) in scaled.v.as_mut_slice().chunks_exact_mut(c * kh * kw).enumerate() {
            let a = 10f64.powf(log_scales[j % 3]);
            filter.iter_mut().for_each(|v| *v *= a);
        }
        let x = data::<f64>(&[2, c, 4, 4], 1.0, 0.0, seed ^ 5);
        let (p, q) = (nn::predict(&wn, &x).unwrap(), nn::predict(&scaled, &x).unwrap());
        for (a, b) in p.as_slice().iter().zip(q.as_slice()) {
            prop_assert!((a - b).abs() <= 1e-13 * (1.0 + a.abs()), "{} vs {}", a, b);
        }
        let wn32 = WeightNormConv2d::<f32>::new(wn.v.cast(), wn.g.cast(), wn.bias.as_ref().map(|b| b.cast())).unwrap();
        let sc32 = WeightNormConv2d::<f32>::new(scaled.v.cast(), scaled.g.cast(), scaled.bias.as_ref().map(|b| b.cast())).unwrap();
        let x32 = x.cast::<f32>();
        let (p, q) = (nn::predict(&wn32, &x32).unwrap(), nn::predict(&sc32, &x32).unwrap());
        for (a, b) in p.as_slice().iter().zip(q.as_slice()) {
            prop_assert!((a - b).abs() <= 1e-5 * (1.0 + a.abs()), "f32: {} vs {}", a, b);
        }
    }
}
