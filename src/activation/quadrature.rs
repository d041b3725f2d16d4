//! Expectations under the standard normal by composite Gauss–Legendre
//! quadrature: what `Activation::gaussian_moments` integrates with.
//!
//! `E[g(z)] = ∫ g(z)·φ(z) dz` is truncated to `[−10, 10]` (the mass outside
//! is `2Φ(−10) ≈ 1.5·10⁻²³`, and `∫_{10}^∞ z²φ(z) dz ≈ 10·φ(10) ≈ 8·10⁻²²`,
//! far below the accuracy asked for) and split into panels of width ½, each
//! integrated with the 10-point Gauss–Legendre rule. Every kink of the
//! crate's activations (0, ±1, ±3) is a panel edge, so each panel's integrand
//! is analytic and the rule converges at its full order (it is exact for
//! polynomials of degree 19 on each panel) instead of the first-order error
//! that Gauss–Hermite or Simpson suffer across a kink.

use std::f64::consts::PI;

/// Nodes per panel.
const NODES: usize = 10;
/// Half-width of the truncated range.
const HALF_RANGE: f64 = 10.0;
/// Panel width: every kink of the crate's activations is a multiple of it.
const PANEL: f64 = 0.5;

/// The `N`-point Gauss–Legendre rule on `[−1, 1]`: nodes (ascending) and
/// weights.
///
/// The nodes are the roots of the Legendre polynomial `P_N`, found by Newton
/// iteration from `cos(π(i + ¾)/(N + ½))`, with `P_N` and `P_N'` from the
/// three-term recurrence `(k+1)P_{k+1} = (2k+1)x·P_k − k·P_{k−1}` and
/// `P_N' = N(x·P_N − P_{N−1})/(x² − 1)`; the weights are
/// `2/((1 − x²)·P_N'(x)²)`.
pub(crate) fn gauss_legendre<const N: usize>() -> ([f64; N], [f64; N]) {
    let mut nodes = [0.0; N];
    let mut weights = [0.0; N];
    let n = N as f64;
    for i in 0..N.div_ceil(2) {
        let mut x = (PI * (i as f64 + 0.75) / (n + 0.5)).cos();
        let mut dp = 0.0;
        for _ in 0..100 {
            let (p, p_prev) = legendre(N, x);
            dp = n * (x * p - p_prev) / (x * x - 1.0);
            let dx = p / dp;
            x -= dx;
            if dx.abs() < 1e-16 {
                break;
            }
        }
        let w = 2.0 / ((1.0 - x * x) * dp * dp);
        nodes[i] = -x;
        nodes[N - 1 - i] = x;
        weights[i] = w;
        weights[N - 1 - i] = w;
    }
    (nodes, weights)
}

/// `(P_n(x), P_{n−1}(x))`.
fn legendre(n: usize, x: f64) -> (f64, f64) {
    let (mut p_prev, mut p) = (1.0, x);
    if n == 0 {
        return (1.0, 0.0);
    }
    for k in 1..n {
        let k = k as f64;
        let next = ((2.0 * k + 1.0) * x * p - k * p_prev) / (k + 1.0);
        p_prev = p;
        p = next;
    }
    (p, p_prev)
}

/// `∫_a^b g` by the composite rule: `panels` equal panels, each with the
/// `NODES`-point Gauss–Legendre rule.
pub(crate) fn integrate(g: impl Fn(f64) -> f64, a: f64, b: f64, panels: usize) -> f64 {
    let (nodes, weights) = gauss_legendre::<NODES>();
    let h = (b - a) / panels as f64;
    let mut total = 0.0;
    for p in 0..panels {
        let mid = a + (p as f64 + 0.5) * h;
        let panel: f64 = nodes
            .iter()
            .zip(&weights)
            .map(|(&t, &w)| w * g(mid + 0.5 * h * t))
            .sum();
        total += 0.5 * h * panel;
    }
    total
}

/// `E[g(z)]` for `z ~ N(0, 1)`, to about 10⁻¹⁴ for the activations of this
/// crate (see the module docs).
pub(crate) fn normal_expectation(g: impl Fn(f64) -> f64) -> f64 {
    let norm = (2.0 * PI).sqrt().recip();
    let panels = (2.0 * HALF_RANGE / PANEL) as usize;
    integrate(
        |z| g(z) * norm * (-0.5 * z * z).exp(),
        -HALF_RANGE,
        HALF_RANGE,
        panels,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauss_legendre_weights_sum_to_the_interval_length() {
        // ∫_{−1}^{1} 1 dx = 2.
        let (_, w) = gauss_legendre::<NODES>();
        assert!((w.iter().sum::<f64>() - 2.0).abs() < 1e-14);
    }

    #[test]
    fn gauss_legendre_is_exact_for_degree_2n_minus_1() {
        // ∫_{−1}^{1} x¹⁸ dx = 2/19, and odd powers integrate to 0.
        let (x, w) = gauss_legendre::<NODES>();
        let even: f64 = x.iter().zip(&w).map(|(x, w)| w * x.powi(18)).sum();
        let odd: f64 = x.iter().zip(&w).map(|(x, w)| w * x.powi(19)).sum();
        assert!((even - 2.0 / 19.0).abs() < 1e-15, "{even}");
        assert!(odd.abs() < 1e-15, "{odd}");
    }

    #[test]
    fn gauss_legendre_nodes_are_the_roots_of_p_n() {
        let (x, _) = gauss_legendre::<NODES>();
        for &xi in &x {
            assert!(legendre(NODES, xi).0.abs() < 1e-14, "P_10({xi})");
        }
        assert!(x.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn normal_expectation_reproduces_the_first_moments_of_n01() {
        // E[1] = 1, E[z] = 0, E[z²] = 1, E[z⁴] = 3.
        assert!((normal_expectation(|_| 1.0) - 1.0).abs() < 1e-14);
        assert!(normal_expectation(|z| z).abs() < 1e-15);
        assert!((normal_expectation(|z| z * z) - 1.0).abs() < 1e-14);
        assert!((normal_expectation(|z| z.powi(4)) - 3.0).abs() < 1e-13);
    }

    #[test]
    fn normal_expectation_of_a_kinked_function_is_exact() {
        // E[|z|] = √(2/π): the kink at 0 sits on a panel edge.
        let e = normal_expectation(f64::abs);
        assert!((e - (2.0 / PI).sqrt()).abs() < 1e-14, "{e}");
    }
}
