//! Optimiser steps on small networks against updates computed by hand from
//! the published equations.

use gradsign::activation::Activation;
use gradsign::nn::Linear;
use gradsign::optim::{Adam, AdamW, Optimizer, Sgd};
use gradsign::{Tape, Tensor};

fn t(data: &[f64], dims: &[usize]) -> Tensor<f64> {
    Tensor::from_slice(data, dims).unwrap()
}

/// The gradient of `mean((y − target)²)` for `mlp` on `x`, applied by `opt`.
fn step_mse(
    mlp: &mut gradsign::nn::Sequential<f64>,
    opt: &mut impl Optimizer<f64>,
    x: &Tensor<f64>,
    target: &Tensor<f64>,
) {
    let tape = Tape::new();
    let (y, trace) = gradsign::nn::forward(&*mlp, &tape, tape.constant(x)).unwrap();
    let loss = (y - tape.constant(target)).square().mean().unwrap();
    let grads = loss.backward().unwrap();
    opt.step(&mut *mlp, &trace, &grads).unwrap();
}

#[test]
fn one_sgd_step_on_a_2_2_1_network_equals_the_hand_computed_update() {
    let (w1, b1) = ([0.3, -0.2, 0.5, 0.4], [0.1, -0.1]); // (out, in) = (2, 2)
    let (w2, b2) = ([0.7, -0.6], [0.05]);
    let xs = [[0.5, -1.0], [1.5, 0.25]];
    let ts = [0.25, -0.5];
    let lr = 0.1;
    let mut mlp = gradsign::nn::Sequential::new()
        .push(Linear::new(t(&w1, &[2, 2]), Some(t(&b1, &[2]))).unwrap())
        .push(Activation::Tanh)
        .push(Linear::new(t(&w2, &[1, 2]), Some(t(&b2, &[1]))).unwrap())
        .push(Activation::Identity);
    step_mse(
        &mut mlp,
        &mut Sgd::new(lr),
        &t(&[0.5, -1.0, 1.5, 0.25], &[2, 2]),
        &t(&ts, &[2, 1]),
    );

    // By hand: z = W1·x + b1, h = tanh z, y = W2·h + b2, L = mean_n (y_n − t_n)²
    // over N = 2 examples, so dL/dy_n = 2(y_n − t_n)/N; then the chain rule.
    let (mut gw1, mut gb1, mut gw2, mut gb2) = ([0.0; 4], [0.0; 2], [0.0; 2], 0.0);
    for (x, tn) in xs.iter().zip(ts) {
        let z: Vec<f64> = (0..2)
            .map(|j| w1[2 * j] * x[0] + w1[2 * j + 1] * x[1] + b1[j])
            .collect();
        let h: Vec<f64> = z.iter().map(|z| z.tanh()).collect();
        let y = w2[0] * h[0] + w2[1] * h[1] + b2[0];
        let dy = 2.0 * (y - tn) / 2.0;
        for j in 0..2 {
            gw2[j] += dy * h[j];
            let dz = dy * w2[j] * (1.0 - h[j] * h[j]);
            gb1[j] += dz;
            gw1[2 * j] += dz * x[0];
            gw1[2 * j + 1] += dz * x[1];
        }
        gb2 += dy;
    }
    let expect =
        |p: &[f64], g: &[f64]| -> Vec<f64> { p.iter().zip(g).map(|(p, g)| p - lr * g).collect() };
    let close = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(a, b)| (a - b).abs() < 1e-15);
    let l: Vec<_> = mlp.linears().map(|(_, lin)| lin).collect();
    assert!(close(l[0].weight.as_slice(), &expect(&w1, &gw1)));
    assert!(close(
        l[0].bias.as_ref().unwrap().as_slice(),
        &expect(&b1, &gb1)
    ));
    assert!(close(l[1].weight.as_slice(), &expect(&w2, &gw2)));
    assert!(close(
        l[1].bias.as_ref().unwrap().as_slice(),
        &expect(&b2, &[gb2])
    ));
}

/// A 2-1 linear unit: three parameters θ = (w₀, w₁, b), fitted by mean
/// squared error to three fixed points.
fn linear_unit(theta: [f64; 3]) -> gradsign::nn::Sequential<f64> {
    gradsign::nn::Sequential::new()
        .push(Linear::new(t(&theta[..2], &[1, 2]), Some(t(&theta[2..], &[1]))).unwrap())
        .push(Activation::Identity)
}

const XS: [[f64; 2]; 3] = [[1.0, 2.0], [-0.5, 0.3], [2.0, -1.0]];
const TS: [f64; 3] = [1.0, -2.0, 0.5];

/// ∇ of mean_n (w·x_n + b − t_n)²: (2/N) Σ_n r_n·(x_n, 1).
fn gradient(theta: [f64; 3]) -> [f64; 3] {
    let mut g = [0.0; 3];
    for (x, tn) in XS.iter().zip(TS) {
        let r = theta[0] * x[0] + theta[1] * x[1] + theta[2] - tn;
        for (gi, xi) in g.iter_mut().zip([x[0], x[1], 1.0]) {
            *gi += 2.0 / 3.0 * r * xi;
        }
    }
    g
}

fn theta_of(mlp: &gradsign::nn::Sequential<f64>) -> [f64; 3] {
    let l = &mlp.linears().next().unwrap().1;
    let w = l.weight.as_slice();
    [w[0], w[1], l.bias.as_ref().unwrap().as_slice()[0]]
}

/// Kingma & Ba, Algorithm 1, with decoupled decay `wd` (AdamW, PyTorch's
/// form θ ← θ(1 − ηλ) − η·m̂/(√v̂ + ε)); `wd = 0` is Adam.
fn adam_by_hand(mut theta: [f64; 3], steps: usize, lr: f64, wd: f64) -> Vec<[f64; 3]> {
    let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8);
    let (mut m, mut v) = ([0.0; 3], [0.0; 3]);
    let mut out = Vec::new();
    for t in 1..=steps {
        let g = gradient(theta);
        for i in 0..3 {
            m[i] = b1 * m[i] + (1.0 - b1) * g[i];
            v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i];
            let m_hat = m[i] / (1.0 - b1.powi(t as i32));
            let v_hat = v[i] / (1.0 - b2.powi(t as i32));
            theta[i] = theta[i] * (1.0 - lr * wd) - lr * m_hat / (v_hat.sqrt() + eps);
        }
        out.push(theta);
    }
    out
}

fn inputs() -> (Tensor<f64>, Tensor<f64>) {
    (t(XS.as_flattened(), &[3, 2]), t(&TS, &[3, 1]))
}

#[test]
fn adams_first_three_updates_match_its_published_equations() {
    let theta0 = [0.4, -0.3, 0.2];
    let expected = adam_by_hand(theta0, 3, 0.05, 0.0);
    let mut mlp = linear_unit(theta0);
    let mut opt = Adam::new(0.05);
    let (x, y) = inputs();
    for e in expected {
        step_mse(&mut mlp, &mut opt, &x, &y);
        let got = theta_of(&mlp);
        for i in 0..3 {
            assert!(
                (got[i] - e[i]).abs() < 1e-12,
                "θ{i}: {} vs {}",
                got[i],
                e[i]
            );
        }
    }
}

#[test]
fn adamws_first_three_updates_match_its_published_equations() {
    let theta0 = [0.4, -0.3, 0.2];
    let expected = adam_by_hand(theta0, 3, 0.05, 0.1);
    let mut mlp = linear_unit(theta0);
    let mut opt = AdamW::new(0.05, 0.1);
    let (x, y) = inputs();
    for e in expected {
        step_mse(&mut mlp, &mut opt, &x, &y);
        let got = theta_of(&mlp);
        for i in 0..3 {
            assert!(
                (got[i] - e[i]).abs() < 1e-12,
                "θ{i}: {} vs {}",
                got[i],
                e[i]
            );
        }
    }
}

#[test]
fn nesterov_sgd_follows_its_equations_for_three_steps() {
    // b ← μb + g; θ ← θ − η(g + μb), with L2 decay λ in g.
    let (lr, mu, wd) = (0.05, 0.9, 0.01);
    let mut theta = [0.4, -0.3, 0.2];
    let mut b = [0.0; 3];
    let mut mlp = linear_unit(theta);
    let mut opt = Sgd::new(lr).momentum(mu).nesterov(true).weight_decay(wd);
    let (x, y) = inputs();
    for _ in 0..3 {
        let g0 = gradient(theta);
        for i in 0..3 {
            let g = g0[i] + wd * theta[i];
            b[i] = mu * b[i] + g;
            theta[i] -= lr * (g + mu * b[i]);
        }
        step_mse(&mut mlp, &mut opt, &x, &y);
        let got = theta_of(&mlp);
        for i in 0..3 {
            assert!(
                (got[i] - theta[i]).abs() < 1e-12,
                "θ{i}: {} vs {}",
                got[i],
                theta[i]
            );
        }
    }
}
