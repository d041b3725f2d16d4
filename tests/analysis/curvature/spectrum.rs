//! The spectrum of one-signed inputs: κ = 3n + 1, the bias column, and
//! Efficient BackProp's example.

use gradsign::curvature::spectrum::{
    InputCurvature, Spectrum, covariance, second_moment, uniform_second_moment,
};
use gradsign::{Tape, Tensor};

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
    // Centring removes μμᵀ: Cov = E[x xᵀ] − μμᵀ = I/12, κ = 1. Population
    // (n = 64) from the second moment minus the mean's outer product:
    let n = 64;
    let m = uniform_second_moment(n, false).unwrap();
    let cov = Tensor::from_fn(&[n, n], |ix| m.as_slice()[ix[0] * n + ix[1]] - 0.25).unwrap();
    let s = Spectrum::of(&cov).unwrap();
    assert!(
        (s.condition_number() - 1.0).abs() < 1e-12,
        "κ = {}",
        s.condition_number()
    );
    // Exact construction (n = 2, 10): the two-point factorial design on
    // {½ ± 1/√12}ⁿ has the U(0,1)ⁿ mean and covariance exactly, and its
    // sample covariance is I/12 to rounding.
    for n in [2usize, 10] {
        let h = 1.0 / 12f64.sqrt();
        let x = Tensor::from_fn(&[1 << n, n], |ix| {
            if (ix[0] >> ix[1]) & 1 == 1 {
                0.5 + h
            } else {
                0.5 - h
            }
        })
        .unwrap();
        let raw = Spectrum::of(&second_moment(&x, false).unwrap()).unwrap();
        let centred = Spectrum::of(&covariance(&x, false).unwrap()).unwrap();
        let kappa = (3 * n + 1) as f64;
        assert!(
            (raw.condition_number() - kappa).abs() <= 1e-12 * kappa,
            "n = {n}: κ = {}",
            raw.condition_number()
        );
        assert!(
            (centred.condition_number() - 1.0).abs() < 1e-12,
            "n = {n}: centred κ = {}",
            centred.condition_number()
        );
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
