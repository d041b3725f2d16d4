//! The normalisation layers: gradients against finite differences (input
//! and every parameter, training and evaluation mode), exact Hessian-vector
//! products through them, and the running statistics' rules.

use gradsign::activation::Activation;
use gradsign::curvature::{Likelihood, Objective};
use gradsign::gradcheck::{GradcheckConfig, gradcheck};
use gradsign::nn::{
    self, BatchNorm, Forward, Init, LayerNorm, Linear, MeanOnlyBatchNorm, Module, Sequential,
    VisitorMut, WeightNormLinear, named_gradients, named_parameters,
};
use gradsign::{Tape, Tensor};

fn upstream(dims: &[usize], seed: u64) -> Tensor<f64> {
    Tensor::rand_uniform(dims, -1.5, 1.5, seed ^ 0x5EED).unwrap()
}

/// `Σ layer(x) ⊙ up`.
fn loss<M: Module<f64>>(m: &M, x: &Tensor<f64>, up: &Tensor<f64>) -> f64 {
    let tape = Tape::<f64>::new();
    let y = m
        .forward(tape.constant(x), &mut Forward::new(&tape))
        .unwrap();
    (y * tape.constant(up)).sum().item().unwrap()
}

/// Checks the gradient with respect to the input with [`gradcheck`], and
/// with respect to every parameter element against central differences.
fn check_layer<M: Module<f64>>(m: &mut M, x: &Tensor<f64>, seed: u64) {
    let up = upstream(&output_dims(m, x), seed);
    let report = gradcheck(
        |tape, v| {
            let y = m.forward(v[0], &mut Forward::new(tape))?;
            Ok((y * tape.constant(&up)).sum())
        },
        std::slice::from_ref(x),
        &GradcheckConfig::default(),
    )
    .unwrap();
    assert!(report.passed(), "input gradient: {report}");

    let tape = Tape::<f64>::new();
    let (y, trace) = nn::forward(&*m, &tape, tape.constant(x)).unwrap();
    let grads = (y * tape.constant(&up)).sum().backward().unwrap();
    let analytic = named_gradients(&*m, &trace, &grads).unwrap();
    assert!(!analytic.is_empty() || named_parameters(&*m).unwrap().is_empty());
    let h = 1e-6;
    for (name, g) in &analytic {
        for (i, &gi) in g.iter().enumerate() {
            let mut at = |delta: f64| {
                nudge(m, name, i, delta);
                let l = loss(&*m, x, &up);
                nudge(m, name, i, -delta);
                l
            };
            let numeric = (at(h) - at(-h)) / (2.0 * h);
            assert!(
                (gi - numeric).abs() <= 1e-6 + 1e-5 * numeric.abs(),
                "{name}[{i}]: analytic {gi} vs numeric {numeric}"
            );
        }
    }
}

fn output_dims<M: Module<f64>>(m: &M, x: &Tensor<f64>) -> Vec<usize> {
    let tape = Tape::<f64>::new();
    m.forward(tape.constant(x), &mut Forward::new(&tape))
        .unwrap()
        .dims()
}

fn nudge<M: Module<f64>>(m: &mut M, name: &str, i: usize, delta: f64) {
    m.visit_mut(&mut VisitorMut::new(&mut |n, t| {
        if n == name {
            t.as_mut_slice()[i] += delta;
        }
        Ok(())
    }))
    .unwrap();
}

fn random_affine(bn: &mut BatchNorm<f64>, seed: u64) {
    let c = bn.channels();
    bn.weight = Some(Tensor::rand_uniform(&[c], 0.5, 1.5, seed).unwrap());
    bn.bias = Some(Tensor::rand_uniform(&[c], -1.0, 1.0, seed + 1).unwrap());
}

#[test]
fn batch_norm_gradients_match_finite_differences_in_both_modes() {
    for (k, dims) in [
        vec![5, 3],
        vec![2, 3, 2, 2],
        vec![3, 2, 4],
        vec![1, 2, 2, 2],
    ]
    .iter()
    .enumerate()
    {
        let x = Tensor::rand_uniform(dims, -2.0, 3.0, 10 + k as u64).unwrap();
        for affine in [true, false] {
            let mut bn = BatchNorm::<f64>::new(dims[1]).unwrap();
            if affine {
                random_affine(&mut bn, k as u64);
            } else {
                bn = bn.without_affine();
            }
            check_layer(&mut bn, &x, 1);
            bn.set_running_stats(&vec![0.3; dims[1]], &vec![1.7; dims[1]])
                .unwrap();
            bn.set_training(false);
            check_layer(&mut bn, &x, 2);
        }
    }
}

#[test]
fn mean_only_batch_norm_gradients_match_finite_differences_in_both_modes() {
    for dims in [vec![4, 3], vec![2, 2, 3, 1]] {
        let x = Tensor::rand_uniform(&dims, -2.0, 3.0, 3).unwrap();
        let mut m = MeanOnlyBatchNorm::<f64>::new(dims[1]).unwrap();
        m.bias = Tensor::rand_uniform(&[dims[1]], -1.0, 1.0, 4).unwrap();
        check_layer(&mut m, &x, 3);
        m.set_running_mean(&vec![0.25; dims[1]]).unwrap();
        m.set_training(false);
        check_layer(&mut m, &x, 4);
    }
}

#[test]
fn layer_norm_gradients_match_finite_differences() {
    for (dims, ns) in [
        (vec![3, 5], vec![5]),
        (vec![2, 2, 3], vec![2, 3]),
        (vec![4, 1], vec![1]),
    ] {
        let x = Tensor::rand_uniform(&dims, -2.0, 3.0, 5).unwrap();
        let mut ln = LayerNorm::<f64>::new(&ns).unwrap();
        ln.weight = Some(Tensor::rand_uniform(&ns, 0.5, 1.5, 6).unwrap());
        ln.bias = Some(Tensor::rand_uniform(&ns, -1.0, 1.0, 7).unwrap());
        check_layer(&mut ln, &x, 5);
        // LayerNorm has no mode: evaluation computes the same.
        ln.set_training(false);
        check_layer(&mut ln, &x, 5);
        let mut plain = LayerNorm::<f64>::new(&ns).unwrap().without_affine();
        check_layer(&mut plain, &x, 6);
    }
}

#[test]
fn weight_norm_gradients_match_finite_differences() {
    let x = Tensor::rand_uniform(&[4, 3], -2.0, 2.0, 8).unwrap();
    for bias in [true, false] {
        let mut wn = WeightNormLinear::<f64>::init(3, 2, Init::LecunNormal, bias, 9).unwrap();
        wn.g = Tensor::from_vec(vec![0.7, -1.3], &[2]).unwrap();
        check_layer(&mut wn, &x, 7);
    }
}

/// A small network using every layer, for the HVP and serde tests.
fn every_layer_net() -> Sequential<f64> {
    Sequential::new()
        .push(Linear::init(3, 4, Init::LecunNormal, true, 1).unwrap())
        .push(BatchNorm::new(4).unwrap())
        .push(Activation::Tanh)
        .push(WeightNormLinear::init(4, 4, Init::LecunNormal, false, 2).unwrap())
        .push(MeanOnlyBatchNorm::new(4).unwrap())
        .push(Activation::Sigmoid)
        .push(LayerNorm::new(&[4]).unwrap())
        .push(Linear::init(4, 1, Init::LecunNormal, true, 3).unwrap())
}

#[test]
fn hessian_vector_products_run_through_every_layer_and_match_differences_of_gradients() {
    let x = Tensor::rand_uniform(&[6, 3], -1.0, 2.0, 11).unwrap();
    let y = Tensor::rand_uniform(&[6, 1], -1.0, 1.0, 12).unwrap();
    let net = every_layer_net();
    let obj = Objective::new(&net, Likelihood::Gaussian, &x, &y).unwrap();
    let dim = obj.dim().unwrap();
    let v: Vec<f64> = (0..dim)
        .map(|i| ((i * 7919) % 13) as f64 / 13.0 - 0.5)
        .collect();
    let hv = obj.hvp(&v).unwrap();
    let h = 1e-5;
    let shifted = |s: f64| {
        let mut m = net.clone();
        let mut k = 0;
        m.visit_mut(&mut VisitorMut::new(&mut |_, t| {
            for e in t.as_mut_slice() {
                *e += s * v[k];
                k += 1;
            }
            Ok(())
        }))
        .unwrap();
        Objective::new(&m, Likelihood::Gaussian, &x, &y)
            .unwrap()
            .gradient()
            .unwrap()
    };
    let (gp, gm) = (shifted(h), shifted(-h));
    for i in 0..dim {
        let numeric = (gp[i] - gm[i]) / (2.0 * h);
        assert!(
            (hv[i] - numeric).abs() <= 1e-6 + 1e-5 * numeric.abs(),
            "Hv[{i}]: {} vs {numeric}",
            hv[i]
        );
    }
}

#[test]
fn dual_passes_leave_running_statistics_alone_and_real_passes_move_them() {
    let x = Tensor::rand_uniform(&[6, 3], -1.0, 2.0, 13).unwrap();
    let y = Tensor::rand_uniform(&[6, 1], -1.0, 1.0, 14).unwrap();
    let net = every_layer_net();
    let bn = |n: &Sequential<f64>| n.layer::<BatchNorm<f64>>(1).unwrap().running_mean();
    let mo = |n: &Sequential<f64>| n.layer::<MeanOnlyBatchNorm<f64>>(4).unwrap().running_mean();
    let before = (bn(&net), mo(&net));
    let obj = Objective::new(&net, Likelihood::Gaussian, &x, &y).unwrap();
    let dim = obj.dim().unwrap();
    obj.hvp(&vec![1.0; dim]).unwrap();
    assert_eq!(
        (bn(&net), mo(&net)),
        before,
        "an HVP moved the running statistics"
    );
    // An f32 pass of the f64 model counts as a batch.
    let tape = Tape::<f32>::new();
    net.forward(tape.constant(&x.cast::<f32>()), &mut Forward::new(&tape))
        .unwrap();
    assert_ne!(bn(&net), before.0);
    assert_ne!(mo(&net), before.1);
}

#[test]
fn evaluation_mode_uses_and_keeps_the_running_statistics() {
    let mut bn = BatchNorm::<f64>::new(2).unwrap().without_affine();
    bn.set_running_stats(&[1.0, -2.0], &[4.0, 0.25]).unwrap();
    bn.set_training(false);
    let x = Tensor::from_vec(vec![3.0, -1.0], &[1, 2]).unwrap();
    let y = nn::predict(&bn, &x).unwrap();
    let want = [
        (3.0 - 1.0) / (4.0f64 + 1e-5).sqrt(),
        1.0 / (0.25f64 + 1e-5).sqrt(),
    ];
    for (a, b) in y.as_slice().iter().zip(want) {
        assert!((a - b).abs() < 1e-15, "{a} vs {b}");
    }
    assert_eq!(bn.running_mean(), [1.0, -2.0]);
    assert_eq!(bn.running_var(), [4.0, 0.25]);
}

#[test]
fn running_statistics_follow_pytorchs_update_with_the_unbiased_variance() {
    let bn = BatchNorm::<f64>::new(1)
        .unwrap()
        .with_momentum(0.5)
        .unwrap();
    let x = Tensor::from_vec(vec![1.0, 2.0, 6.0], &[3, 1]).unwrap();
    nn::predict(&bn, &x).unwrap();
    // mean 3, unbiased variance (4 + 1 + 9)/2 = 7.
    assert_eq!(bn.running_mean(), [0.5 * 3.0]);
    assert!(
        (bn.running_var()[0] - 4.0).abs() <= 4.0 * f64::EPSILON,
        "{:?}",
        bn.running_var()
    );
    // Momentum 0 freezes them; 1 replaces them.
    let frozen = BatchNorm::<f64>::new(1)
        .unwrap()
        .with_momentum(0.0)
        .unwrap();
    nn::predict(&frozen, &x).unwrap();
    assert_eq!(
        (frozen.running_mean(), frozen.running_var()),
        (vec![0.0], vec![1.0])
    );
    let replace = BatchNorm::<f32>::new(1)
        .unwrap()
        .with_momentum(1.0)
        .unwrap();
    nn::predict(&replace, &x.cast::<f32>()).unwrap();
    assert_eq!(replace.running_mean(), [3.0]);
    assert!((replace.running_var()[0] - 7.0).abs() <= 7.0 * 4.0 * f32::EPSILON);
}

#[test]
fn sequential_set_training_reaches_every_normalisation_layer() {
    let mut net = every_layer_net();
    net.set_training(false);
    assert!(!net.layer::<BatchNorm<f64>>(1).unwrap().is_training());
    assert!(
        !net.layer::<MeanOnlyBatchNorm<f64>>(4)
            .unwrap()
            .is_training()
    );
    // A batch of one is fine in evaluation mode.
    nn::predict(&net, &Tensor::rand_uniform(&[1, 3], 0.0, 1.0, 1).unwrap()).unwrap();
    net.set_training(true);
    assert!(net.layer::<BatchNorm<f64>>(1).unwrap().is_training());
    assert!(nn::predict(&net, &Tensor::rand_uniform(&[1, 3], 0.0, 1.0, 1).unwrap()).is_err());
}

#[test]
fn layers_report_themselves_to_the_trace_in_order() {
    let net = every_layer_net();
    let tape = Tape::<f64>::new();
    let x = tape.constant(&Tensor::rand_uniform(&[5, 3], 0.0, 1.0, 2).unwrap());
    let (_, trace) = nn::forward(&net, &tape, x).unwrap();
    let kinds: Vec<String> = trace
        .records()
        .iter()
        .map(|r| format!("{}:{:?}", r.path, r.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            "0:Dense",
            "1:Other(\"batch_norm\")",
            "2:Activation(Tanh)",
            "3:Dense",
            "4:Other(\"mean_only_batch_norm\")",
            "5:Activation(Sigmoid)",
            "6:Other(\"layer_norm\")",
            "7:Dense"
        ]
    );
    // The weight-normalised layer is a dense layer whose weight is W.
    assert_eq!(trace.len(), 3);
}

#[test]
fn the_f32_layers_agree_with_f64_to_f32_precision() {
    let x = Tensor::rand_uniform(&[8, 3, 2, 2], -3.0, 5.0, 21).unwrap();
    let bn64 = BatchNorm::<f64>::new(3).unwrap();
    let bn32 = BatchNorm::<f32>::new(3).unwrap();
    let a = nn::predict(&bn64, &x).unwrap();
    let b = nn::predict(&bn32, &x.cast::<f32>()).unwrap().cast::<f64>();
    for (p, q) in a.as_slice().iter().zip(b.as_slice()) {
        assert!((p - q).abs() < 1e-5, "{p} vs {q}");
    }
    for (p, q) in bn64.running_var().iter().zip(bn32.running_var()) {
        assert!((p - f64::from(q)).abs() < 1e-5 * p.abs());
    }
}
