//! Exact Hessian-vector products against finite differences of gradients on
//! random MLPs, and the softmax-regression Hessian at `W = 0`.

use gradsign::activation::Activation;
use gradsign::curvature::hvp::{ScalarFn, gradient, hessian, hvp};
use gradsign::curvature::spectrum::second_moment;
use gradsign::dual::Dual;
use gradsign::loss::{Reduction, softmax_cross_entropy};
use gradsign::{Element, Result, Tape, Tensor, Var};

/// A two-layer perceptron `x → act(x·W1ᵀ + b1) → h·W2ᵀ + b2` under mean
/// squared error on fixed data; parameters `[W1, b1, W2, b2]`.
struct MlpLoss {
    inputs: Tensor<f64>,
    targets: Tensor<f64>,
    activation: Activation,
}

impl ScalarFn for MlpLoss {
    fn eval<'t, E: Element>(&self, tape: &'t Tape<E>, p: &[Var<'t, E>]) -> Result<Var<'t, E>> {
        let x = tape.constant(&self.inputs.cast::<E>());
        let y = tape.constant(&self.targets.cast::<E>());
        let h = self.activation.apply(x.linear(p[0], Some(p[1]))?)?;
        let out = h.linear(p[2], Some(p[3]))?;
        (out - y).square().mean()
    }
}

/// A random MLP problem and parameter point from `seed`.
fn random_mlp(
    seed: u64,
    dims: (usize, usize, usize),
    batch: usize,
    activation: Activation,
) -> (MlpLoss, Vec<Tensor<f64>>) {
    let (k, h, o) = dims;
    let f = MlpLoss {
        inputs: Tensor::rand_normal(&[batch, k], 0.0, 1.0, seed).unwrap(),
        targets: Tensor::rand_normal(&[batch, o], 0.0, 1.0, seed + 1).unwrap(),
        activation,
    };
    let params = vec![
        Tensor::rand_normal(&[h, k], 0.0, 0.8, seed + 2).unwrap(),
        Tensor::rand_normal(&[h], 0.0, 0.5, seed + 3).unwrap(),
        Tensor::rand_normal(&[o, h], 0.0, 0.8, seed + 4).unwrap(),
        Tensor::rand_normal(&[o], 0.0, 0.5, seed + 5).unwrap(),
    ];
    (f, params)
}

fn flat(ts: &[Tensor<f64>]) -> Vec<f64> {
    ts.iter().flat_map(|t| t.as_slice().to_vec()).collect()
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// `(∇f(x + hv) − ∇f(x − hv)) / 2h`, flattened.
fn fd_of_gradients<S: ScalarFn>(f: &S, x: &[Tensor<f64>], v: &[Tensor<f64>], h: f64) -> Vec<f64> {
    let shifted = |s: f64| -> Vec<f64> {
        let xs: Vec<_> = x
            .iter()
            .zip(v)
            .map(|(a, b)| {
                let data = a
                    .as_slice()
                    .iter()
                    .zip(b.as_slice())
                    .map(|(p, q)| p + s * q)
                    .collect();
                Tensor::from_vec(data, a.dims()).unwrap()
            })
            .collect();
        flat(&gradient(f, &xs).unwrap().1)
    };
    let (plus, minus) = (shifted(h), shifted(-h));
    plus.iter()
        .zip(&minus)
        .map(|(a, b)| (a - b) / (2.0 * h))
        .collect()
}

#[test]
fn hvp_matches_finite_differences_of_gradients_on_random_mlps() {
    for (seed, act) in [
        (10, Activation::Tanh),
        (20, Activation::Sigmoid),
        (30, Activation::Tanh),
        (40, Activation::Sigmoid),
    ] {
        let (f, x) = random_mlp(seed, (3, 5, 2), 7, act);
        let v: Vec<_> = x
            .iter()
            .enumerate()
            .map(|(i, t)| Tensor::rand_normal(t.dims(), 0.0, 1.0, seed + 100 + i as u64).unwrap())
            .collect();
        let exact = flat(&hvp(&f, &x, &v).unwrap());
        // Central differences of gradients: error O(h²) ≈ 1e-10, rounding
        // O(ε/h) ≈ 1e-11, both far below 1e-6 of ‖Hv‖ ≈ 1.
        let numeric = fd_of_gradients(&f, &x, &v, 1e-5);
        let diff: Vec<f64> = exact.iter().zip(&numeric).map(|(a, b)| a - b).collect();
        assert!(
            norm(&diff) <= 1e-6 * norm(&numeric),
            "seed {seed}: ‖Hv − FD‖ = {:e}, ‖FD‖ = {:e}",
            norm(&diff),
            norm(&numeric)
        );
    }
}

#[test]
fn hessian_from_hvps_matches_finite_differences_element_by_element() {
    let (f, x) = random_mlp(7, (2, 3, 1), 5, Activation::Tanh);
    let h = hessian(&f, &x).unwrap();
    let n = h.dims()[0];
    assert_eq!(n, 2 * 3 + 3 + 3 + 1);
    let scale = h.as_slice().iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for i in 0..n {
        // Column i by finite differences of the gradient along e_i.
        let mut offset = 0;
        let e: Vec<_> = x
            .iter()
            .map(|t| {
                let data = (0..t.numel()).map(|k| f64::from(offset + k == i)).collect();
                offset += t.numel();
                Tensor::from_vec(data, t.dims()).unwrap()
            })
            .collect();
        let col = fd_of_gradients(&f, &x, &e, 1e-5);
        for (r, fd) in col.iter().enumerate() {
            let exact = h.as_slice()[r * n + i];
            assert!(
                (exact - fd).abs() <= 1e-7 * scale,
                "H[{r}, {i}] = {exact}, finite differences {fd}"
            );
        }
    }
}

#[test]
fn hvp_is_symmetric_before_symmetrisation() {
    // uᵀ(Hw) = wᵀ(Hu) for exact Hessian-vector products, to rounding.
    let (f, x) = random_mlp(3, (4, 6, 3), 9, Activation::Sigmoid);
    let dir = |seed: u64| -> Vec<_> {
        x.iter()
            .enumerate()
            .map(|(i, t)| Tensor::rand_normal(t.dims(), 0.0, 1.0, seed + i as u64).unwrap())
            .collect()
    };
    let (u, w) = (dir(500), dir(600));
    let (hu, hw) = (
        flat(&hvp(&f, &x, &u).unwrap()),
        flat(&hvp(&f, &x, &w).unwrap()),
    );
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(p, q)| p * q).sum::<f64>();
    let (a, b) = (dot(&flat(&u), &hw), dot(&flat(&w), &hu));
    assert!((a - b).abs() <= 1e-13 * a.abs().max(1.0), "{a} vs {b}");
}

#[test]
fn hvp_value_parts_are_the_gradient() {
    // Forward-over-reverse: the value parts of the dual gradient are ∇f(x).
    let (f, x) = random_mlp(11, (3, 4, 2), 6, Activation::Tanh);
    let (_, g) = gradient(&f, &x).unwrap();
    let tape = Tape::<Dual<f64>>::new();
    let vars: Vec<_> = x
        .iter()
        .map(|t| {
            let d: Vec<_> = t.as_slice().iter().map(|&a| Dual::new(a, 1.0)).collect();
            tape.var_from_slice(&d, t.dims()).unwrap()
        })
        .collect();
    let grads = f.eval(&tape, &vars).unwrap().backward().unwrap();
    for (v, want) in vars.iter().zip(&g) {
        for (d, w) in grads.get(*v).unwrap().iter().zip(want.as_slice()) {
            assert_eq!(d.value, *w);
        }
    }
}

/// A composition of every differentiable op family, at a point away from
/// the kinks of `abs`, `relu`, `clamp` and `maximum`: the dual numbers must
/// carry second derivatives through each op's first-derivative rule.
struct OpZoo;
impl ScalarFn for OpZoo {
    fn eval<'t, E: Element>(&self, tape: &'t Tape<E>, p: &[Var<'t, E>]) -> Result<Var<'t, E>> {
        let (a, b) = (p[0], p[1]); // a: 2×3, b: 3×2
        let c = a.matmul(b)?; // 2×2
        let t = c.transpose()?.reshape(&[4])?;
        let pos = t.square().add_scalar(E::from_f64(0.5));
        let u =
            pos.sqrt() + pos.powi(3) * E::from_f64(0.01) + pos.powf(E::from_f64(1.5)) + pos.recip();
        let v = (t.exp() / pos).ln() + t.abs() + t.relu() + t.sigmoid();
        let w = t
            .clamp(E::from_f64(-100.0), E::from_f64(100.0))?
            .maximum(tape.constant_scalar(E::from_f64(-50.0)))?;
        let m = a.sum_axis(0, false)?.mean_axis(0, true)?
            * b.mean_axis(1, false)?
                .minimum(tape.constant_scalar(E::from_f64(10.0)))?
                .sum();
        Ok((u * v + w.tanh() - t).sum() + (-m).exp())
    }
}

#[test]
fn hvp_flows_through_every_op_family() {
    let x = vec![
        Tensor::<f64>::rand_normal(&[2, 3], 0.0, 0.7, 1).unwrap(),
        Tensor::<f64>::rand_normal(&[3, 2], 0.0, 0.7, 2).unwrap(),
    ];
    let v = vec![
        Tensor::<f64>::rand_normal(&[2, 3], 0.0, 1.0, 3).unwrap(),
        Tensor::<f64>::rand_normal(&[3, 2], 0.0, 1.0, 4).unwrap(),
    ];
    let exact = flat(&hvp(&OpZoo, &x, &v).unwrap());
    let numeric = fd_of_gradients(&OpZoo, &x, &v, 1e-5);
    let diff: Vec<f64> = exact.iter().zip(&numeric).map(|(a, b)| a - b).collect();
    assert!(
        norm(&diff) <= 1e-6 * norm(&numeric),
        "‖Hv − FD‖ = {:e}, ‖FD‖ = {:e}",
        norm(&diff),
        norm(&numeric)
    );
}

/// Mean softmax cross-entropy of the logits `Z·Wᵀ` against one-hot labels,
/// written from primitives: `mean_n [ln Σ_c exp(l_nc) − Σ_c y_nc l_nc]`. No
/// max-shift: it is evaluated at `W = 0` and at small `W`, where the logits
/// are small.
struct SoftmaxRegression {
    inputs: Tensor<f64>,
    one_hot: Tensor<f64>,
}

impl ScalarFn for SoftmaxRegression {
    fn eval<'t, E: Element>(&self, tape: &'t Tape<E>, p: &[Var<'t, E>]) -> Result<Var<'t, E>> {
        let z = tape.constant(&self.inputs.cast::<E>());
        let mask = tape.constant(&self.one_hot.cast::<E>());
        let logits = z.linear(p[0], None)?;
        let lse = logits.exp().sum_axis(1, false)?.ln();
        let picked = (logits * mask).sum_axis(1, false)?;
        (lse - picked).mean()
    }
}

/// Inputs with a bias column (`B×(n+1)`) and labels for the softmax
/// regression figure.
fn softmax_data(c: usize, n: usize, b: usize) -> (Tensor<f64>, Vec<usize>) {
    let x = Tensor::<f64>::rand_uniform(&[b, n], 0.0, 1.0, 77).unwrap();
    let mut z = Vec::with_capacity(b * (n + 1));
    for row in x.as_slice().chunks_exact(n) {
        z.extend_from_slice(row);
        z.push(1.0);
    }
    let u = Tensor::<f64>::rand_uniform(&[b], 0.0, c as f64, 78).unwrap();
    let labels = u.as_slice().iter().map(|v| v.floor() as usize).collect();
    (Tensor::from_vec(z, &[b, n + 1]).unwrap(), labels)
}

/// Checks `h` against `(1/C)(I − 11ᵀ/C) ⊗ E[zzᵀ]` to 1e-8.
fn assert_softmax_kronecker(h: &Tensor<f64>, z: &Tensor<f64>, c: usize) {
    let m = second_moment(z, false).unwrap(); // z already holds the bias column
    let d = z.dims()[1];
    let p = c * d;
    assert_eq!(h.dims(), &[p, p]);
    for (i, j) in (0..p).flat_map(|i| (0..p).map(move |j| (i, j))) {
        let (ci, ki, cj, kj) = (i / d, i % d, j / d, j % d);
        let a = (f64::from(ci == cj) - 1.0 / c as f64) / c as f64;
        let want = a * m.as_slice()[ki * d + kj];
        let got = h.as_slice()[i * p + j];
        assert!(
            (got - want).abs() <= 1e-8,
            "H[{i}, {j}] = {got}, want {want}"
        );
    }
}

#[test]
fn softmax_regression_hessian_at_zero_is_a_kronecker_product() {
    // At W = 0 every p = 1/C, and ∇²L = E[(diag p − ppᵀ) ⊗ zzᵀ]
    // = (1/C)(I − 11ᵀ/C) ⊗ E[zzᵀ], whatever the labels.
    let (c, n, b) = (3usize, 4usize, 40usize);
    let (z, labels) = softmax_data(c, n, b);
    let one_hot = Tensor::from_fn(&[b, c], |ix| f64::from(labels[ix[0]] == ix[1])).unwrap();
    let f = SoftmaxRegression {
        inputs: z.clone(),
        one_hot,
    };
    let h = hessian(&f, &[Tensor::<f64>::zeros(&[c, n + 1]).unwrap()]).unwrap();
    assert_softmax_kronecker(&h, &z, c);
}

/// The same model through the crate's fused `loss::softmax_cross_entropy`.
struct FusedSoftmaxRegression {
    inputs: Tensor<f64>,
    labels: Vec<usize>,
}

impl ScalarFn for FusedSoftmaxRegression {
    fn eval<'t, E: Element>(&self, tape: &'t Tape<E>, p: &[Var<'t, E>]) -> Result<Var<'t, E>> {
        let logits = tape.constant(&self.inputs.cast::<E>()).linear(p[0], None)?;
        softmax_cross_entropy(logits, &self.labels, Reduction::Mean)
    }
}

/// The fused and the primitive softmax cross-entropy have the same exact
/// Hessian at `w`.
fn assert_fused_hessian_matches_primitives(w: Tensor<f64>) {
    let (c, n, b) = (3usize, 4usize, 40usize);
    let (z, labels) = softmax_data(c, n, b);
    let one_hot = Tensor::from_fn(&[b, c], |ix| f64::from(labels[ix[0]] == ix[1])).unwrap();
    let fused = FusedSoftmaxRegression {
        inputs: z.clone(),
        labels,
    };
    let primitive = SoftmaxRegression { inputs: z, one_hot };
    let w = [w];
    let (h1, h2) = (
        hessian(&fused, &w).unwrap(),
        hessian(&primitive, &w).unwrap(),
    );
    assert!(
        h2.as_slice().iter().any(|&e| e.abs() > 1e-3),
        "a non-trivial Hessian"
    );
    for (a, e) in h1.as_slice().iter().zip(h2.as_slice()) {
        assert!((a - e).abs() <= 1e-12, "fused {a} vs primitives {e}");
    }
}

#[test]
fn the_fused_softmax_cross_entropy_gives_the_same_hessian_as_primitives() {
    // The loss module's fused op has only a first-derivative rule; dual
    // numbers differentiate it once more.
    let (c, n) = (3usize, 4usize);
    assert_fused_hessian_matches_primitives(
        Tensor::<f64>::rand_normal(&[c, n + 1], 0.0, 0.5, 79).unwrap(),
    );
}

#[test]
fn the_fused_softmax_cross_entropy_keeps_tangents_when_logits_tie() {
    // At W = 0 every logit ties with its row maximum: the max-shift must
    // keep each tangent (ẋ − ṁ), or the Hessian comes out as zero.
    assert_fused_hessian_matches_primitives(Tensor::<f64>::zeros(&[3, 5]).unwrap());
}
