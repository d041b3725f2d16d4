//! The curvature figures of issue 6: exact Hessian-vector products, the
//! spectrum of one-signed inputs, Efficient BackProp's example, the softmax
//! Hessian, and natural gradient's invariance to centring.

use gradsign::activation::Activation;
use gradsign::curvature::hvp::{ScalarFn, gradient, hessian, hvp};
use gradsign::curvature::spectrum::{
    InputCurvature, Spectrum, covariance, second_moment, uniform_second_moment,
};
use gradsign::dual::Dual;
use gradsign::{Element, Result, Tape, Tensor, Var};
use num_traits::{Float, Num, One, ToPrimitive};

// Dual numbers: the tangent of every `Float` function is its derivative.

type D = Dual<f64>;

/// Central difference of `f` at `x`.
fn central_difference(f: impl Fn(f64) -> f64, x: f64) -> f64 {
    let h = 1e-6;
    (f(x + h) - f(x - h)) / (2.0 * h)
}

#[test]
fn dual_tangents_of_unary_functions_match_central_differences() {
    #[allow(clippy::type_complexity)]
    let cases: &[(&str, fn(D) -> D, fn(f64) -> f64, f64)] = &[
        ("recip", |x| x.recip(), |x| x.recip(), 0.7),
        ("powi3", |x| x.powi(3), |x| x.powi(3), -1.3),
        ("powi-2", |x| x.powi(-2), |x| x.powi(-2), 0.9),
        ("sqrt", |x| x.sqrt(), |x| x.sqrt(), 2.5),
        ("exp", |x| x.exp(), |x| x.exp(), 0.3),
        ("exp2", |x| x.exp2(), |x| x.exp2(), 0.3),
        ("exp_m1", |x| x.exp_m1(), |x| x.exp_m1(), -0.4),
        ("ln", |x| x.ln(), |x| x.ln(), 1.7),
        ("ln_1p", |x| x.ln_1p(), |x| x.ln_1p(), 0.2),
        ("log2", |x| x.log2(), |x| x.log2(), 3.1),
        ("log10", |x| x.log10(), |x| x.log10(), 3.1),
        ("cbrt", |x| x.cbrt(), |x| x.cbrt(), -2.2),
        ("sin", |x| x.sin(), |x| x.sin(), 0.8),
        ("cos", |x| x.cos(), |x| x.cos(), 0.8),
        ("tan", |x| x.tan(), |x| x.tan(), 0.8),
        ("asin", |x| x.asin(), |x| x.asin(), 0.4),
        ("acos", |x| x.acos(), |x| x.acos(), 0.4),
        ("atan", |x| x.atan(), |x| x.atan(), -1.4),
        ("sinh", |x| x.sinh(), |x| x.sinh(), 0.6),
        ("cosh", |x| x.cosh(), |x| x.cosh(), 0.6),
        ("tanh", |x| x.tanh(), |x| x.tanh(), 0.6),
        ("asinh", |x| x.asinh(), |x| x.asinh(), 0.6),
        ("acosh", |x| x.acosh(), |x| x.acosh(), 1.6),
        ("atanh", |x| x.atanh(), |x| x.atanh(), 0.6),
        ("abs", |x| x.abs(), |x| x.abs(), -0.6),
        ("fract", |x| x.fract(), |x| x.fract(), 2.25),
        ("powf", |x| x.powf(D::constant(1.7)), |x| x.powf(1.7), 1.3),
        ("to_degrees", |x| x.to_degrees(), |x| x.to_degrees(), 0.5),
        ("mul_add", |x| x.mul_add(x, x), |x| x.mul_add(x, x), 0.5),
        (
            "div",
            |x| D::constant(2.0) / (x + D::one()),
            |x| 2.0 / (x + 1.0),
            0.5,
        ),
        ("rem", |x| x % D::constant(0.75), |x| x % 0.75, 2.0),
    ];
    for &(name, fd, ff, x) in cases {
        let y = fd(D::new(x, 1.0));
        assert_eq!(y.value, ff(x), "{name}: value");
        let want = central_difference(ff, x);
        assert!(
            (y.tangent - want).abs() <= 1e-7 * want.abs().max(1.0),
            "{name}: tangent {} vs central difference {want}",
            y.tangent
        );
    }
}

#[test]
fn dual_tangents_of_binary_functions_match_partial_derivatives() {
    let (x, y) = (0.9, -1.7);
    // Tangent along (1, 0) is ∂/∂x, along (0, 1) is ∂/∂y.
    #[allow(clippy::type_complexity)]
    let fs: &[(&str, fn(D, D) -> D, fn(f64, f64) -> f64)] = &[
        ("atan2", |a, b| a.atan2(b), f64::atan2),
        ("hypot", |a, b| a.hypot(b), f64::hypot),
        ("powf", |a, b| (a * a).powf(b), |a, b| (a * a).powf(b)),
        ("log", |a, b| (a * a).log(b * b), |a, b| (a * a).log(b * b)),
    ];
    for &(name, fd, ff) in fs {
        let dx = fd(D::new(x, 1.0), D::constant(y)).tangent;
        let dy = fd(D::constant(x), D::new(y, 1.0)).tangent;
        let (wx, wy) = (
            central_difference(|t| ff(t, y), x),
            central_difference(|t| ff(x, t), y),
        );
        assert!(
            (dx - wx).abs() < 1e-7 * wx.abs().max(1.0),
            "{name} ∂x {dx} vs {wx}"
        );
        assert!(
            (dy - wy).abs() < 1e-7 * wy.abs().max(1.0),
            "{name} ∂y {dy} vs {wy}"
        );
    }
}

#[test]
fn dual_constants_stay_constant_where_the_derivative_is_infinite() {
    // √0 has an infinite derivative; a constant 0 must not turn into 0·∞ = NaN.
    let s = D::constant(0.0).sqrt();
    assert_eq!((s.value, s.tangent), (0.0, 0.0));
    let p = D::constant(0.0).powf(D::constant(0.5));
    assert_eq!((p.value, p.tangent), (0.0, 0.0));
    let r = D::constant(0.0).recip();
    assert_eq!(r.tangent, 0.0);
}

#[test]
fn dual_comparisons_look_at_values_only() {
    let (a, b) = (D::new(1.0, 10.0), D::new(2.0, -10.0));
    assert!(a < b);
    assert_eq!(a, D::new(1.0, 0.0));
    assert_eq!(a.max(b).tangent, -10.0);
    assert_eq!(a.min(b).tangent, 10.0);
    assert_eq!(D::nan().max(a).tangent, 10.0);
}

#[test]
fn dual_a_nan_or_infinite_tangent_makes_the_dual_non_finite() {
    assert!(D::new(1.0, f64::NAN).is_nan());
    assert!(!D::new(1.0, f64::INFINITY).is_finite());
    assert!(D::new(1.0, f64::INFINITY).is_infinite());
    assert!(D::new(1.0, 2.0).is_finite());
}

#[test]
fn dual_abs_at_zero_has_zero_tangent() {
    assert_eq!(D::new(0.0, 3.0).abs().tangent, 0.0);
    assert_eq!(D::new(-2.0, 3.0).abs().tangent, -3.0);
}

#[test]
fn dual_conversions_drop_or_zero_the_tangent() {
    use num_traits::NumCast;
    let x: D = <D as NumCast>::from(2.5f32).unwrap();
    assert_eq!((x.value, x.tangent), (2.5, 0.0));
    assert_eq!(ToPrimitive::to_f64(&D::new(3.5, 1.0)), Some(3.5));
    assert_eq!(<D as Element>::from_f64(0.25).tangent, 0.0);
    assert_eq!(D::from_str_radix("1.5", 10).unwrap().value, 1.5);
}

#[test]
fn dual_display_shows_both_parts() {
    assert_eq!(D::new(1.5, -2.0).to_string(), "1.5-2ε");
    assert_eq!(D::new(1.5, 2.0).to_string(), "1.5+2ε");
    assert_eq!(format!("{:.2}", D::new(1.5, -2.0)), "1.50-2.00ε");
}

// Hessian-vector products on random MLPs.

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
fn fd_of_gradients(f: &MlpLoss, x: &[Tensor<f64>], v: &[Tensor<f64>], h: f64) -> Vec<f64> {
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

/// The larger root of `λ² − (13/12 + n/4)λ + 1/12 = 0`.
fn lambda_plus(n: f64) -> f64 {
    let t = 13.0 / 12.0 + n / 4.0;
    (t + (t * t - 4.0 / 12.0).sqrt()) / 2.0
}

#[test]
fn uniform_inputs_have_condition_number_3n_plus_1() {
    // E[x xᵀ] = I/12 + 11ᵀ/4 for U(0,1)ⁿ: eigenvalues 1/12 (n−1 times) and
    // (3n+1)/12, so κ = 3n + 1.
    for (n, kappa) in [(2, 7.0), (10, 31.0), (64, 193.0)] {
        let s = Spectrum::of(&uniform_second_moment(n, false).unwrap()).unwrap();
        // Relative 1e-12: the solver is backward stable, so λmin = 1/12 is
        // exact to about ε·‖M‖ ≈ 4e-15 and κ to a few 1e-14 relative.
        let got = s.condition_number();
        assert!((got - kappa).abs() <= 1e-12 * kappa, "n = {n}: κ = {got}");
        assert!((s.largest() - (3 * n + 1) as f64 / 12.0).abs() < 1e-13);
        for &l in &s.eigenvalues[..n - 1] {
            assert!((l - 1.0 / 12.0).abs() < 1e-14, "n = {n}: λ = {l}");
        }
    }
}

#[test]
fn the_top_eigenvector_of_uniform_inputs_is_the_mean_direction() {
    for n in [2, 10, 64] {
        let s = Spectrum::of(&uniform_second_moment(n, false).unwrap()).unwrap();
        let v = s.top_eigenvector();
        let expected = 1.0 / (n as f64).sqrt();
        for x in v {
            assert!(
                (x - expected).abs() < 1e-12,
                "n = {n}: {x} vs 1/√n = {expected}"
            );
        }
    }
}

#[test]
fn centred_uniform_inputs_are_perfectly_conditioned() {
    // Cov = I/12: κ = 1.
    for n in [2, 10, 64] {
        let cov =
            Tensor::from_fn(&[n, n], |ix| if ix[0] == ix[1] { 1.0 / 12.0 } else { 0.0 }).unwrap();
        let s = Spectrum::of(&cov).unwrap();
        assert!((s.condition_number() - 1.0).abs() < 1e-12, "n = {n}");
    }
}

#[test]
fn the_bias_column_gives_condition_number_12_lambda_plus_squared() {
    // With the bias column the 2×2 block on span(1/√n, e_bias) is
    // [[1/12 + n/4, √n/2], [√n/2, 1]]: trace 13/12 + n/4, determinant 1/12,
    // so λ₊λ₋ = 1/12 and κ = λ₊/λ₋ = 12λ₊².
    for (n, printed) in [(2usize, 28.048), (10, 152.077), (64, 3500.083)] {
        let s = Spectrum::of(&uniform_second_moment(n, true).unwrap()).unwrap();
        let want = 12.0 * lambda_plus(n as f64).powi(2);
        let kappa = s.condition_number();
        assert!(
            (kappa - want).abs() <= 1e-6 * want,
            "n = {n}: κ = {kappa}, 12λ₊² = {want}"
        );
        // The issue prints three decimals.
        assert!(
            (kappa - printed).abs() < 5e-4,
            "n = {n}: κ = {kappa} vs {printed}"
        );
    }
}

#[test]
fn sampled_uniform_inputs_approach_the_population_figures() {
    // 20 000 samples: the sample second moment is within a few 1e-3 of the
    // population one, so κ is within a few percent of 3n + 1 = 31, while the
    // centred κ stays near 1 (sampling noise only).
    let a = Tensor::<f64>::rand_uniform(&[20_000, 10], 0.0, 1.0, 42).unwrap();
    let c = InputCurvature::of(&a).unwrap();
    assert!((c.raw.condition_number - 31.0).abs() < 0.1 * 31.0, "{c}");
    assert!(c.centred.condition_number < 1.2, "{c}");
    assert!(c.raw.top_alignment_with_ones > 0.999, "{c}");
    let shown = c.to_string();
    assert!(
        shown.contains("E[a aᵀ] + bias") && shown.contains("Cov(a)"),
        "{shown}"
    );
}

/// Efficient BackProp §5.2's data: two Gaussian classes with means ±(0.4, 0.8)
/// and variance σ² = 0.036 per coordinate, built as exact mirror pairs
/// (x, −x) so that the sample mean is exactly 0.
fn efficient_backprop_data(per_class: usize) -> (Tensor<f64>, Tensor<f64>) {
    let noise = Tensor::<f64>::rand_normal(&[per_class, 2], 0.0, 0.036f64.sqrt(), 52).unwrap();
    let mut x = Vec::with_capacity(4 * per_class);
    let mut y = Vec::with_capacity(2 * per_class);
    for e in noise.as_slice().chunks_exact(2) {
        x.extend([0.4 + e[0], 0.8 + e[1], -0.4 - e[0], -0.8 - e[1]]);
        y.extend([1.0, -1.0]);
    }
    (
        Tensor::from_vec(x, &[2 * per_class, 2]).unwrap(),
        Tensor::from_vec(y, &[2 * per_class, 1]).unwrap(),
    )
}

#[test]
fn efficient_backprop_example_bias_gives_the_largest_eigenvalue() {
    // Population: E[x̃x̃ᵀ] = [[σ²I + μμᵀ, 0], [0, 1]] with ‖μ‖² = 0.8:
    // eigenvalues 0.036, 0.836 and 1 (the bias). The text's 2.38 is 2/0.836,
    // the input block alone; the bias makes the boundary 2/1 = 2.
    let (x, _) = efficient_backprop_data(2000);
    let s = Spectrum::of(&second_moment(&x, true).unwrap()).unwrap();
    let top = s.top_eigenvector();
    assert!(
        top[2].abs() > 0.999,
        "top eigenvector {top:?} is not the bias direction"
    );
    assert!((s.largest() - 1.0).abs() < 0.01, "λmax = {}", s.largest());
    assert!(
        (2.0 / s.largest() - 2.0).abs() < 0.02,
        "boundary {}",
        2.0 / s.largest()
    );
    let inputs_only = Spectrum::of(&covariance(&x, false).unwrap()).unwrap();
    assert!(
        (2.0 / inputs_only.largest() - 2.38).abs() < 0.1,
        "{}",
        2.0 / inputs_only.largest()
    );
}

/// Full-batch gradient descent on `(1/2B)‖X̃w − y‖²` for a linear unit with
/// bias, through the tape, from `w = 0, b = 1/2`; returns the final loss. (The
/// mirrored data make the optimal bias 0 and the bias direction an exact
/// eigenvector, so a start at `b = 0` would never excite it.)
fn linear_unit_gd(x: &Tensor<f64>, y: &Tensor<f64>, lr: f64, steps: usize) -> f64 {
    let mut w = Tensor::<f64>::zeros(&[1, 2]).unwrap();
    let mut b = Tensor::from_vec(vec![0.5], &[1]).unwrap();
    let mut tape = Tape::<f64>::new();
    let mut loss = f64::NAN;
    for _ in 0..steps {
        tape.clear();
        let (wv, bv) = (tape.var(&w), tape.var(&b));
        let out = tape.constant(x).linear(wv, Some(bv)).unwrap();
        let l = (out - tape.constant(y)).square().mean().unwrap() * 0.5;
        loss = l.item().unwrap();
        let g = l.backward().unwrap();
        for (p, d) in w.as_mut_slice().iter_mut().zip(g.get(wv).unwrap()) {
            *p -= lr * d;
        }
        for (p, d) in b.as_mut_slice().iter_mut().zip(g.get(bv).unwrap()) {
            *p -= lr * d;
        }
    }
    loss
}

#[test]
fn efficient_backprop_example_diverges_just_above_eta_2() {
    let (x, y) = efficient_backprop_data(2000);
    let boundary = 2.0
        / Spectrum::of(&second_moment(&x, true).unwrap())
            .unwrap()
            .largest();
    assert!(
        (boundary - 2.0).abs() < 0.01 * 2.0,
        "boundary {boundary} not within 1% of 2"
    );
    // Just below the boundary GD converges, just above it diverges; at the
    // text's 2.38 it diverges fast.
    let start = linear_unit_gd(&x, &y, 0.0, 1);
    let below = linear_unit_gd(&x, &y, 0.99 * boundary, 400);
    let above = linear_unit_gd(&x, &y, 1.01 * boundary, 400);
    let text = linear_unit_gd(&x, &y, 2.38, 400);
    assert!(
        below < start,
        "η = 0.99·boundary: loss {below} vs start {start}"
    );
    assert!(above > 10.0 * start, "η = 1.01·boundary: loss {above}");
    assert!(text > above, "η = 2.38: loss {text}");
}

/// Mean softmax cross-entropy of the logits `Z·Wᵀ` against one-hot labels,
/// written from primitives: `mean_n [ln Σ_c exp(l_nc) − Σ_c y_nc l_nc]`. No
/// max-shift: it is evaluated at `W = 0`, where every logit is 0.
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

#[test]
fn softmax_regression_hessian_at_zero_is_a_kronecker_product() {
    // At W = 0 every p = 1/C, and ∇²L = E[(diag p − ppᵀ) ⊗ zzᵀ]
    // = (1/C)(I − 11ᵀ/C) ⊗ E[zzᵀ], whatever the labels.
    let (c, n, b) = (3usize, 4usize, 40usize);
    let x = Tensor::<f64>::rand_uniform(&[b, n], 0.0, 1.0, 77).unwrap();
    let mut z = Vec::with_capacity(b * (n + 1));
    for row in x.as_slice().chunks_exact(n) {
        z.extend_from_slice(row);
        z.push(1.0);
    }
    let z = Tensor::from_vec(z, &[b, n + 1]).unwrap();
    let labels = Tensor::<f64>::rand_uniform(&[b], 0.0, c as f64, 78).unwrap();
    let one_hot = Tensor::from_fn(&[b, c], |ix| {
        f64::from(labels.as_slice()[ix[0]].floor() as usize == ix[1])
    })
    .unwrap();
    let f = SoftmaxRegression {
        inputs: z.clone(),
        one_hot,
    };
    let h = hessian(&f, &[Tensor::<f64>::zeros(&[c, n + 1]).unwrap()]).unwrap();
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
