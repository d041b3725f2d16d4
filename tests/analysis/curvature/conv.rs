//! The curvature operators of a convolutional network: a tiny CNN
//! (conv 3×3 1→2, activation, max-pool, flatten, linear → 3) on 6×6
//! one-signed images, the network example 11b measures at scale.
//!
//! Two independent checks. The operators' columns equal the dense matrices
//! to 1e-10 (as for the MLPs in `operators.rs`), and the Hessian's columns
//! are symmetric to 1e-10: forward-over-reverse through `unfold2d`, the
//! pooling and the dense product does not make `H` symmetric by
//! construction, so a wrong tangent in any of them shows as asymmetry.
//! And `H·v` equals central differences of the reverse-mode gradient,
//! `(∇L(θ + hv) − ∇L(θ − hv))/2h`, which uses no dual numbers: its error is
//! `h²/6·‖∇³L[v, v]‖` (≈ 1e-10 here, h = 1e-5, third derivatives O(1))
//! plus rounding `ε·‖∇L‖/h` (≈ 1e-11), so 1e-7·max(1, ‖Hv‖) is a bound
//! with room, not a fit. The inputs are continuous random values, so no
//! max-pool window has a tie that a step of 1e-5 could flip.

use gradsign::Tensor;
use gradsign::activation::Activation;
use gradsign::curvature::{Curvature, Likelihood, Objective, Operator};
use gradsign::nn::VisitorMut;
use gradsign::nn::{BatchNorm, Conv2d, Flatten, Init, Linear, MaxPool2d, Module, Sequential};

/// `(B, 1, 6, 6)` images in (0, 1) and one-hot targets over 3 classes.
fn images(b: usize) -> (Tensor<f64>, Tensor<f64>) {
    let x = Tensor::rand_uniform(&[b, 1, 6, 6], 0.0, 1.0, 21).unwrap();
    let y = Tensor::from_fn(&[b, 3], |ix| f64::from(ix[1] == (ix[0] * 5 + 1) % 3)).unwrap();
    (x, y)
}

/// conv 3×3 1→2 (6×6 → 4×4), [BatchNorm], `act`, max-pool 2×2 (→ 2×2),
/// flatten (8), linear 8→3: 47 parameters (51 with BatchNorm).
fn tiny_cnn(act: Activation, batch_norm: bool) -> Sequential<f64> {
    let mut net = Sequential::new()
        .push(Conv2d::<f64>::init(1, 2, (3, 3), Init::LecunNormal, true, 8).unwrap());
    if batch_norm {
        net.add(BatchNorm::new(2).unwrap());
    }
    net.add(act);
    net.add(MaxPool2d::new((2, 2)));
    net.add(Flatten);
    net.add(Linear::<f64>::init(8, 3, Init::LecunNormal, true, 9).unwrap());
    // Non-zero biases, so that no term of the Hessian vanishes at θ.
    net.visit_mut(&mut VisitorMut::new(&mut |name, t| {
        if name.ends_with("bias") {
            for (i, e) in t.as_mut_slice().iter_mut().enumerate() {
                *e = 0.3 - 0.2 * i as f64;
            }
        }
        Ok(())
    }))
    .unwrap();
    net
}

/// The operator's columns `op·eᵢ`, as a row-major `P×P` matrix whose
/// column `i` is `op·eᵢ`.
fn columns(op: &impl Operator) -> Vec<f64> {
    let p = op.dim();
    let (mut e, mut col) = (vec![0.0; p], vec![0.0; p]);
    let mut m = vec![0.0; p * p];
    for i in 0..p {
        e[i] = 1.0;
        op.apply(&e, &mut col).unwrap();
        e[i] = 0.0;
        for (r, v) in col.iter().enumerate() {
            m[r * p + i] = *v;
        }
    }
    m
}

#[test]
fn operators_equal_the_dense_matrices_of_a_small_cnn_and_its_hessian_is_symmetric() {
    let net = tiny_cnn(Activation::Sigmoid, false);
    let (x, y) = images(10);
    for prefix in [None, Some("0")] {
        let mut o = Objective::new(&net, Likelihood::Categorical, &x, &y).unwrap();
        if let Some(p) = prefix {
            o = o.only(p).unwrap();
        }
        assert_eq!(o.dim().unwrap(), if prefix.is_some() { 20 } else { 47 });
        let cases = [
            (Curvature::Hessian, o.hessian().unwrap()),
            (Curvature::GaussNewton, o.gauss_newton().unwrap()),
            (Curvature::Fisher, o.fisher().unwrap()),
            (Curvature::EmpiricalFisher, o.empirical_fisher().unwrap()),
        ];
        for (kind, dense) in cases {
            let op = o.operator(kind).unwrap();
            let p = op.dim();
            let m = columns(&op);
            let mut worst = 0.0f64;
            let mut asym = 0.0f64;
            for r in 0..p {
                for c in 0..p {
                    worst = worst.max((m[r * p + c] - dense.as_slice()[r * p + c]).abs());
                    asym = asym.max((m[r * p + c] - m[c * p + r]).abs());
                }
            }
            assert!(
                worst < 1e-10,
                "{kind:?} {prefix:?}: worst difference {worst:e}"
            );
            assert!(asym < 1e-10, "{kind:?} {prefix:?}: asymmetry {asym:e}");
        }
        // The Hessian is not the Gauss–Newton matrix away from a minimum:
        // the comparison above saw two different matrices.
        let (h, g) = (o.hessian().unwrap(), o.gauss_newton().unwrap());
        let gap = h
            .as_slice()
            .iter()
            .zip(g.as_slice())
            .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
        assert!(gap > 1e-4, "{prefix:?}: H and GGN agree to {gap:e}");
    }
}

#[test]
fn the_hessian_of_a_small_cnn_is_the_derivative_of_its_gradient() {
    let (x, y) = images(12);
    for (act, batch_norm) in [(Activation::Sigmoid, false), (Activation::Tanh, true)] {
        let net = tiny_cnn(act, batch_norm);
        let o = Objective::new(&net, Likelihood::Categorical, &x, &y).unwrap();
        let p = o.dim().unwrap();
        for seed in 0..3u64 {
            let v = Tensor::<f64>::rand_normal(&[p], 0.0, 1.0, 40 + seed).unwrap();
            let v = v.as_slice();
            let hv = o.hvp(v).unwrap();
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
                Objective::new(&m, Likelihood::Categorical, &x, &y)
                    .unwrap()
                    .gradient()
                    .unwrap()
            };
            let (gp, gm) = (shifted(h), shifted(-h));
            let norm = hv.iter().map(|a| a * a).sum::<f64>().sqrt();
            let worst = hv
                .iter()
                .zip(gp.iter().zip(&gm))
                .fold(0.0f64, |w, (a, (b, c))| {
                    w.max((a - (b - c) / (2.0 * h)).abs())
                });
            assert!(
                worst < 1e-7 * norm.max(1.0),
                "{act:?}, BatchNorm {batch_norm}, seed {seed}: ‖Hv‖ {norm:e}, worst {worst:e}"
            );
            assert!(norm > 1e-3, "a vanishing product tests nothing: {norm:e}");
        }
    }
}
