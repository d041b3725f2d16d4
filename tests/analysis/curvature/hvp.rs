//! Exact Hessian-vector products: [`Objective::hvp`] against finite
//! differences of gradients on random MLPs, its symmetry, the dual numbers
//! through every op family, and the softmax-regression Hessian (fused and
//! from primitives). The Hessian of a trained network element by element
//! is checked in `objective.rs`.

use gradsign::activation::Activation;
use gradsign::curvature::spectrum::second_moment;
use gradsign::curvature::{Likelihood, Objective};
use gradsign::dual::Dual;
use gradsign::loss::{Reduction, softmax_cross_entropy};
use gradsign::nn::{Linear, Mlp, Module, Sequential, VisitorMut};
use gradsign::{Element, Result, Tape, Tensor, Var};

/// A random `k-h-o` MLP with `activation` after the hidden layer, every
/// parameter drawn from `N(0, 0.8²)` (biases included), and random data.
fn random_mlp(
    seed: u64,
    dims: (usize, usize, usize),
    batch: usize,
    activation: Activation,
) -> (Sequential<f64>, Tensor<f64>, Tensor<f64>) {
    let (k, h, o) = dims;
    let mut net = Mlp::builder(&[k, h, o])
        .hidden(activation)
        .build::<f64>()
        .unwrap();
    let mut i = 0;
    net.visit_mut(&mut VisitorMut::new(&mut |_, t| {
        i += 1;
        *t = Tensor::rand_normal(t.dims(), 0.0, 0.8, seed + i)?;
        Ok(())
    }))
    .unwrap();
    let x = Tensor::rand_normal(&[batch, k], 0.0, 1.0, seed + 10).unwrap();
    let y = Tensor::rand_normal(&[batch, o], 0.0, 1.0, seed + 11).unwrap();
    (net, x, y)
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(p, q)| p * q).sum()
}

/// `net` with every parameter moved by `s·v` (flattened in visit order).
fn shifted(net: &Sequential<f64>, v: &[f64], s: f64) -> Sequential<f64> {
    let mut out = net.clone();
    let mut off = 0;
    out.visit_mut(&mut VisitorMut::new(&mut |_, t| {
        for p in t.as_mut_slice() {
            *p += s * v[off];
            off += 1;
        }
        Ok(())
    }))
    .unwrap();
    out
}

#[test]
fn hvp_matches_finite_differences_of_gradients_on_random_mlps() {
    for (seed, act) in [
        (10, Activation::Tanh),
        (20, Activation::Sigmoid),
        (30, Activation::Tanh),
        (40, Activation::Sigmoid),
    ] {
        let (net, x, y) = random_mlp(seed, (3, 5, 2), 7, act);
        let objective = Objective::new(&net, Likelihood::Gaussian, &x, &y).unwrap();
        let p = objective.dim().unwrap();
        let v = Tensor::<f64>::rand_normal(&[p], 0.0, 1.0, seed + 100).unwrap();
        let v = v.as_slice();
        let exact = objective.hvp(v).unwrap();
        // Central differences of gradients: error O(h²) ≈ 1e-10, rounding
        // O(ε/h) ≈ 1e-11, both far below 1e-6 of ‖Hv‖ ≈ 1.
        let h = 1e-5;
        let grad = |s: f64| {
            let moved = shifted(&net, v, s);
            Objective::new(&moved, Likelihood::Gaussian, &x, &y)
                .unwrap()
                .gradient()
                .unwrap()
        };
        let (plus, minus) = (grad(h), grad(-h));
        let numeric: Vec<f64> = plus
            .iter()
            .zip(&minus)
            .map(|(a, b)| (a - b) / (2.0 * h))
            .collect();
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
fn hvp_is_symmetric_before_symmetrisation() {
    // uᵀ(Hw) = wᵀ(Hu) for exact Hessian-vector products, to rounding.
    let (net, x, y) = random_mlp(3, (4, 6, 3), 9, Activation::Sigmoid);
    let objective = Objective::new(&net, Likelihood::Gaussian, &x, &y).unwrap();
    let p = objective.dim().unwrap();
    let u = Tensor::<f64>::rand_normal(&[p], 0.0, 1.0, 500).unwrap();
    let w = Tensor::<f64>::rand_normal(&[p], 0.0, 1.0, 600).unwrap();
    let hu = objective.hvp(u.as_slice()).unwrap();
    let hw = objective.hvp(w.as_slice()).unwrap();
    let (a, b) = (dot(u.as_slice(), &hw), dot(w.as_slice(), &hu));
    assert!((a - b).abs() <= 1e-13 * a.abs().max(1.0), "{a} vs {b}");
}

/// A scalar function of some parameters, written once for every tape
/// element type: plain `f64` for gradients, [`Dual`] for
/// forward-over-reverse.
trait ScalarFn {
    fn eval<'t, E: Element>(&self, tape: &'t Tape<E>, p: &[Var<'t, E>]) -> Result<Var<'t, E>>;
}

/// `∇f(x)` on an `f64` tape, flattened.
fn gradient_of<S: ScalarFn>(f: &S, x: &[Tensor<f64>]) -> Vec<f64> {
    let tape = Tape::<f64>::new();
    let vars: Vec<_> = x.iter().map(|t| tape.var(t)).collect();
    let grads = f.eval(&tape, &vars).unwrap().backward().unwrap();
    vars.iter()
        .flat_map(|v| grads.get(*v).unwrap().to_vec())
        .collect()
}

/// The dual gradient of `f` at `x` seeded with tangent `v`: its value
/// parts and its tangent parts (`∇f(x)` and `∇²f(x)·v`), flattened.
fn dual_gradient<S: ScalarFn>(f: &S, x: &[Tensor<f64>], v: &[Tensor<f64>]) -> (Vec<f64>, Vec<f64>) {
    let tape = Tape::<Dual<f64>>::new();
    let vars: Vec<_> = x
        .iter()
        .zip(v)
        .map(|(t, d)| {
            let duals: Vec<_> = t
                .as_slice()
                .iter()
                .zip(d.as_slice())
                .map(|(&a, &b)| Dual::new(a, b))
                .collect();
            tape.var_from_slice(&duals, t.dims()).unwrap()
        })
        .collect();
    let grads = f.eval(&tape, &vars).unwrap().backward().unwrap();
    let all: Vec<Dual<f64>> = vars
        .iter()
        .flat_map(|v| grads.get(*v).unwrap().to_vec())
        .collect();
    (
        all.iter().map(|d| d.value).collect(),
        all.iter().map(|d| d.tangent).collect(),
    )
}

/// The dense Hessian of `f` at `x` from one dual gradient per column.
fn dense_hessian<S: ScalarFn>(f: &S, x: &[Tensor<f64>]) -> (usize, Vec<f64>) {
    let p: usize = x.iter().map(Tensor::numel).sum();
    let mut h = vec![0.0; p * p];
    for i in 0..p {
        let mut offset = 0;
        let e: Vec<_> = x
            .iter()
            .map(|t| {
                let data = (0..t.numel()).map(|k| f64::from(offset + k == i)).collect();
                offset += t.numel();
                Tensor::from_vec(data, t.dims()).unwrap()
            })
            .collect();
        for (r, v) in dual_gradient(f, x, &e).1.into_iter().enumerate() {
            h[r * p + i] = v;
        }
    }
    (p, h)
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

fn op_zoo_point() -> (Vec<Tensor<f64>>, Vec<Tensor<f64>>) {
    let x = vec![
        Tensor::<f64>::rand_normal(&[2, 3], 0.0, 0.7, 1).unwrap(),
        Tensor::<f64>::rand_normal(&[3, 2], 0.0, 0.7, 2).unwrap(),
    ];
    let v = vec![
        Tensor::<f64>::rand_normal(&[2, 3], 0.0, 1.0, 3).unwrap(),
        Tensor::<f64>::rand_normal(&[3, 2], 0.0, 1.0, 4).unwrap(),
    ];
    (x, v)
}

#[test]
fn hvp_flows_through_every_op_family() {
    let (x, v) = op_zoo_point();
    let exact = dual_gradient(&OpZoo, &x, &v).1;
    let h = 1e-5;
    let moved = |s: f64| -> Vec<f64> {
        let xs: Vec<_> = x
            .iter()
            .zip(&v)
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
        gradient_of(&OpZoo, &xs)
    };
    let (plus, minus) = (moved(h), moved(-h));
    let numeric: Vec<f64> = plus
        .iter()
        .zip(&minus)
        .map(|(a, b)| (a - b) / (2.0 * h))
        .collect();
    let diff: Vec<f64> = exact.iter().zip(&numeric).map(|(a, b)| a - b).collect();
    assert!(
        norm(&diff) <= 1e-6 * norm(&numeric),
        "‖Hv − FD‖ = {:e}, ‖FD‖ = {:e}",
        norm(&diff),
        norm(&numeric)
    );
}

#[test]
fn the_value_parts_of_a_dual_gradient_are_the_gradient() {
    // Forward-over-reverse: whatever the tangents, the value parts of the
    // dual gradient are ∇f(x), to the bit.
    let (x, v) = op_zoo_point();
    let plain = gradient_of(&OpZoo, &x);
    let (values, tangents) = dual_gradient(&OpZoo, &x, &v);
    assert_eq!(values, plain);
    assert!(tangents.iter().any(|t| t.abs() > 1e-3), "a non-zero Hv");
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

/// Inputs with a bias column (`B×(n+1)`), labels and their one-hot rows
/// for the softmax regression figure.
fn softmax_data(c: usize, n: usize, b: usize) -> (Tensor<f64>, Vec<usize>, Tensor<f64>) {
    let x = Tensor::<f64>::rand_uniform(&[b, n], 0.0, 1.0, 77).unwrap();
    let mut z = Vec::with_capacity(b * (n + 1));
    for row in x.as_slice().chunks_exact(n) {
        z.extend_from_slice(row);
        z.push(1.0);
    }
    let u = Tensor::<f64>::rand_uniform(&[b], 0.0, c as f64, 78).unwrap();
    let labels: Vec<usize> = u.as_slice().iter().map(|v| v.floor() as usize).collect();
    let one_hot = Tensor::from_fn(&[b, c], |ix| f64::from(labels[ix[0]] == ix[1])).unwrap();
    (Tensor::from_vec(z, &[b, n + 1]).unwrap(), labels, one_hot)
}

#[test]
fn softmax_regression_hessian_at_zero_is_a_kronecker_product() {
    // At W = 0 every p = 1/C, and ∇²L = E[(diag p − ppᵀ) ⊗ zzᵀ]
    // = (1/C)(I − 11ᵀ/C) ⊗ E[zzᵀ], whatever the labels: here through the
    // library's path, a bias-free dense layer under the categorical
    // likelihood.
    let (c, n, b) = (3usize, 4usize, 40usize);
    let (z, _, one_hot) = softmax_data(c, n, b);
    let model = Linear::new(Tensor::<f64>::zeros(&[c, n + 1]).unwrap(), None).unwrap();
    let h = Objective::new(&model, Likelihood::Categorical, &z, &one_hot)
        .unwrap()
        .hessian()
        .unwrap();
    let m = second_moment(&z, false).unwrap(); // z already holds the bias column
    let d = n + 1;
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

/// The fused and the primitive softmax cross-entropy have the same exact
/// Hessian at `w`, and the library's categorical objective has it too.
fn assert_fused_hessian_matches_primitives(w: Tensor<f64>) {
    let (c, n, b) = (3usize, 4usize, 40usize);
    let (z, labels, one_hot) = softmax_data(c, n, b);
    let model = Linear::new(w.clone(), None).unwrap();
    let library = Objective::new(&model, Likelihood::Categorical, &z, &one_hot)
        .unwrap()
        .hessian()
        .unwrap();
    let fused = FusedSoftmaxRegression {
        inputs: z.clone(),
        labels,
    };
    let primitive = SoftmaxRegression { inputs: z, one_hot };
    let w = [w];
    let ((p, h1), (_, h2)) = (dense_hessian(&fused, &w), dense_hessian(&primitive, &w));
    assert_eq!(library.dims(), &[p, p]);
    assert!(h2.iter().any(|&e| e.abs() > 1e-3), "a non-trivial Hessian");
    for ((a, e), l) in h1.iter().zip(&h2).zip(library.as_slice()) {
        assert!((a - e).abs() <= 1e-12, "fused {a} vs primitives {e}");
        assert!((l - e).abs() <= 1e-12, "objective {l} vs primitives {e}");
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
