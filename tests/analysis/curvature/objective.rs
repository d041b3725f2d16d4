//! The curvature of a whole network through the model abstraction: the
//! exact Hessian of a trained two-layer sigmoid network from HVPs against a
//! finite-difference Hessian, one layer's block, and the Fisher identities.

use gradsign::activation::Activation;
use gradsign::curvature::spectrum::Spectrum;
use gradsign::curvature::{Likelihood, Objective};
use gradsign::data::{Dataset, LabelEncoding, Playground, PlaygroundConfig};
use gradsign::nn::{Mlp, Module, Sequential, VisitorMut};
use gradsign::optim::Adam;
use gradsign::train::{TrainConfig, train};
use gradsign::{Result, Tensor};

/// A 2-4-1 sigmoid network trained briefly on the playground's gauss set
/// (0/1 targets), and its data.
fn trained() -> (Sequential<f64>, Dataset<f64>) {
    let cfg = PlaygroundConfig::default()
        .samples(40)
        .noise(0.0)
        .encoding(LabelEncoding::ZeroOne)
        .seed(3);
    let data = Playground::Gauss.generate::<f64>(&cfg).unwrap();
    let mut net = Mlp::builder(&[2, 4, 1])
        .hidden(Activation::Sigmoid)
        .seed(5)
        .build::<f64>()
        .unwrap();
    let config = TrainConfig::default().epochs(30).batch_size(40);
    train(
        &mut net,
        &mut Adam::new(0.05),
        &data,
        &config,
        |out, b| (out - b.targets_on(out.tape())?).square().mean(),
        &mut |_| {},
    )
    .unwrap();
    (net, data)
}

/// Adds `h` to parameter number `index` (flattened over the model).
fn nudge(net: &mut Sequential<f64>, index: usize, h: f64) {
    let mut seen = 0;
    net.visit_mut(&mut VisitorMut::new(&mut |_, t| {
        let n = t.numel();
        if (seen..seen + n).contains(&index) {
            t.as_mut_slice()[index - seen] += h;
        }
        seen += n;
        Ok(())
    }))
    .unwrap();
}

fn gradient(net: &Sequential<f64>, x: &Tensor<f64>, y: &Tensor<f64>) -> Result<Vec<f64>> {
    Objective::new(net, Likelihood::Gaussian, x, y)?.gradient()
}

#[test]
fn the_hessian_of_a_trained_sigmoid_network_equals_finite_differences() {
    let (net, data) = trained();
    let (x, y) = (data.features(), data.targets());
    let objective = Objective::new(&net, Likelihood::Gaussian, x, y).unwrap();
    let h = objective.hessian().unwrap();
    let p = objective.dim().unwrap();
    assert_eq!(p, 2 * 4 + 4 + 4 + 1);
    // Central differences of the exact gradient, column by column:
    // H e_i ≈ (∇L(θ + h e_i) − ∇L(θ − h e_i)) / 2h, error O(h²).
    let step = 1e-5;
    let mut worst = 0.0f64;
    for i in 0..p {
        let (mut plus, mut minus) = (net.clone(), net.clone());
        nudge(&mut plus, i, step);
        nudge(&mut minus, i, -step);
        let (gp, gm) = (
            gradient(&plus, x, y).unwrap(),
            gradient(&minus, x, y).unwrap(),
        );
        for r in 0..p {
            let fd = (gp[r] - gm[r]) / (2.0 * step);
            let exact = h.as_slice()[r * p + i];
            let rel = (fd - exact).abs() / exact.abs().max(1e-3);
            worst = worst.max(rel);
        }
    }
    assert!(worst < 1e-6, "worst relative difference {worst:e}");
    let spectrum = Spectrum::of(&h).unwrap();
    let top = spectrum.largest();
    let v = spectrum.top_eigenvector();
    // The reported pair is an eigenpair of the Hessian.
    let hv = objective.hvp(&v).unwrap();
    for (a, b) in hv.iter().zip(&v) {
        assert!(
            (a - top * b).abs() < 1e-9 * top.abs().max(1.0),
            "{a} vs {}",
            top * b
        );
    }
    println!("top eigenvalue {top:.6e}, eigenvector {v:?}");
}

#[test]
fn one_layers_hessian_is_its_block_of_the_full_hessian() {
    let (net, data) = trained();
    let (x, y) = (data.features(), data.targets());
    let full = Objective::new(&net, Likelihood::Gaussian, x, y).unwrap();
    let h = full.hessian().unwrap();
    let p = full.dim().unwrap();
    // Layer 2 (the output layer) holds the last 4 + 1 parameters.
    let last = Objective::new(&net, Likelihood::Gaussian, x, y)
        .unwrap()
        .only("2")
        .unwrap();
    assert_eq!(
        last.parameters().unwrap(),
        [("2.weight".to_string(), 4), ("2.bias".to_string(), 1)]
    );
    let block = last.hessian().unwrap();
    let q = 5;
    for r in 0..q {
        for c in 0..q {
            let a = block.as_slice()[r * q + c];
            let b = h.as_slice()[(p - q + r) * p + (p - q + c)];
            assert!((a - b).abs() < 1e-12, "({r}, {c}): {a} vs {b}");
        }
    }
    assert!(full.clone().only("7").is_err());
}

#[test]
fn an_f32_model_gets_the_same_curvature_as_its_f64_copy() {
    let (net, data) = trained();
    // The f32 copy's parameters are the f64 ones rounded; its curvature is
    // computed in f64 from those values, so it equals the curvature of an
    // f64 model holding the rounded values exactly.
    let rounded: Vec<Tensor<f64>> = gradsign::nn::named_parameters(&net)
        .unwrap()
        .into_iter()
        .map(|(_, t)| t.cast::<f32>().cast::<f64>())
        .collect();
    let mut net64 = net.clone();
    let mut i = 0;
    net64
        .visit_mut(&mut VisitorMut::new(&mut |_, t| {
            *t = rounded[i].clone();
            i += 1;
            Ok(())
        }))
        .unwrap();
    let mut net32 = Mlp::builder(&[2, 4, 1])
        .hidden(Activation::Sigmoid)
        .build::<f32>()
        .unwrap();
    let mut i = 0;
    net32
        .visit_mut(&mut VisitorMut::new(&mut |_, t| {
            *t = rounded[i].cast::<f32>();
            i += 1;
            Ok(())
        }))
        .unwrap();
    let (x, y) = (data.features(), data.targets());
    let h32 = Objective::new(&net32, Likelihood::Gaussian, x, y)
        .unwrap()
        .hessian()
        .unwrap();
    let h64 = Objective::new(&net64, Likelihood::Gaussian, x, y)
        .unwrap()
        .hessian()
        .unwrap();
    assert_eq!(h32.as_slice(), h64.as_slice());
}

#[test]
fn gauss_newton_equals_the_fisher_for_canonical_links() {
    let (net, data) = trained();
    let (x, y) = (data.features(), data.targets());
    let o = Objective::new(&net, Likelihood::Bernoulli, x, y).unwrap();
    let (g, f) = (o.gauss_newton().unwrap(), o.fisher().unwrap());
    for (a, b) in g.as_slice().iter().zip(f.as_slice()) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }
}

#[test]
fn a_bad_direction_or_data_is_an_error() {
    let (net, data) = trained();
    let (x, y) = (data.features(), data.targets());
    let o = Objective::new(&net, Likelihood::Gaussian, x, y).unwrap();
    assert!(o.hvp(&[1.0; 3]).is_err());
    let mut v = vec![0.0; o.dim().unwrap()];
    v[0] = f64::NAN;
    assert!(o.hvp(&v).is_err());
    let bad = Tensor::from_vec(vec![f64::NAN; 2], &[1, 2]).unwrap();
    assert!(
        Objective::new(
            &net,
            Likelihood::Gaussian,
            &bad,
            &Tensor::zeros(&[1, 1]).unwrap()
        )
        .is_err()
    );
}

#[test]
fn the_per_sample_gradients_are_each_examples_own_gradient() {
    let (net, data) = trained();
    let (x, y) = (data.features(), data.targets());
    let o = Objective::new(&net, Likelihood::Gaussian, x, y).unwrap();
    let per = o.per_sample_gradients().unwrap();
    let p = o.dim().unwrap();
    // The oracle: the gradient of an objective on one example alone.
    for n in [0, 7, 39] {
        let xn = Tensor::from_slice(&x.as_slice()[2 * n..2 * n + 2], &[1, 2]).unwrap();
        let yn = Tensor::from_slice(&y.as_slice()[n..n + 1], &[1, 1]).unwrap();
        let g = Objective::new(&net, Likelihood::Gaussian, &xn, &yn)
            .unwrap()
            .gradient()
            .unwrap();
        for (a, b) in per.as_slice()[n * p..(n + 1) * p].iter().zip(&g) {
            assert!((a - b).abs() < 1e-14 * (1.0 + b.abs()), "{a} vs {b}");
        }
    }
    // The empirical Fisher is their mean outer product.
    let ef = o.empirical_fisher().unwrap();
    let b = data.len() as f64;
    for r in 0..p {
        for c in 0..p {
            let m: f64 = per
                .as_slice()
                .chunks_exact(p)
                .map(|row| row[r] * row[c])
                .sum::<f64>()
                / b;
            assert!((ef.as_slice()[r * p + c] - m).abs() < 1e-15 * (1.0 + m.abs()));
        }
    }
}

/// One natural-gradient (Fisher scoring) step of logistic regression with a
/// bias, a one-layer model, from θ = 0 on one-signed inputs, against the
/// closed form: `F = (1/B) Σ p(1 − p) x̃x̃ᵀ`, `g = (1/B) Σ (p − y) x̃`,
/// `θ₁ = −η F⁻¹ g` with `x̃ = [x, 1]` and `p = σ(0) = ½`.
#[test]
fn a_natural_gradient_step_on_a_one_layer_model_matches_the_closed_form() {
    use gradsign::curvature::natural::{Curvature, NaturalGradient};
    use gradsign::nn::Linear;
    let (b, k) = (30, 2);
    let x = Tensor::<f64>::rand_uniform(&[b, k], 0.5, 2.0, 11).unwrap();
    let coins = Tensor::<f64>::rand_uniform(&[b], 0.0, 1.0, 12).unwrap();
    let y = Tensor::from_fn(&[b, 1], |ix| f64::from(coins.as_slice()[ix[0]] < 0.4)).unwrap();
    let mut model = Linear::<f64>::new(
        Tensor::zeros(&[1, k]).unwrap(),
        Some(Tensor::zeros(&[1]).unwrap()),
    )
    .unwrap();
    let eta = 0.7;
    let ng = NaturalGradient {
        learning_rate: eta,
        damping: 0.0,
        curvature: Curvature::Fisher,
    };
    ng.step(&mut model, Likelihood::Bernoulli, &x, &y).unwrap();
    // The closed form, solved with nalgebra's LU (independent of the
    // crate's Cholesky).
    let mut f = nalgebra::DMatrix::<f64>::zeros(3, 3);
    let mut g = nalgebra::DVector::<f64>::zeros(3);
    for n in 0..b {
        let xt =
            nalgebra::DVector::from_vec(vec![x.as_slice()[n * k], x.as_slice()[n * k + 1], 1.0]);
        f += &xt * xt.transpose() * (0.25 / b as f64);
        g += &xt * ((0.5 - y.as_slice()[n]) / b as f64);
    }
    let theta = -(f.lu().solve(&g).unwrap()) * eta;
    let got = [
        model.weight.as_slice()[0],
        model.weight.as_slice()[1],
        model.bias.as_ref().unwrap().as_slice()[0],
    ];
    for (a, e) in got.iter().zip(theta.iter()) {
        assert!((a - e).abs() < 1e-12 * (1.0 + e.abs()), "{a} vs {e}");
    }
    // The same step through a one-layer Sequential lands on the same values.
    let mut net = gradsign::nn::Sequential::<f64>::new().push(
        Linear::new(
            Tensor::zeros(&[1, k]).unwrap(),
            Some(Tensor::zeros(&[1]).unwrap()),
        )
        .unwrap(),
    );
    ng.step(&mut net, Likelihood::Bernoulli, &x, &y).unwrap();
    let lin: &Linear<f64> = net.layer(0).unwrap();
    assert_eq!(lin.weight, model.weight);
    assert_eq!(lin.bias, model.bias);
}
