//! Every op's VJP against central finite differences in f64, on random
//! shapes (broadcast cases included for the binary ops) and random values
//! kept away from kinks and domain edges. The op's output is weighted by a
//! fixed random tensor before the sum, so `grad_out` is not all ones.
//!
//! The same op bodies run in f32 on the same (f32-representable) inputs, and
//! their forward values must match the f64 ones within a rounding-error
//! bound: a few units of roundoff for an element-wise op, plus `n·u·Σ|terms|`
//! for an op that accumulates `n` terms (the standard bound for a recursive
//! sum or dot product, Higham, *Accuracy and Stability of Numerical
//! Algorithms*, §3.1 and §4.2).

use gradsign::gradcheck::{GradcheckConfig, gradcheck};
use gradsign::ops::{concat, select};
use gradsign::{Element, Result, Tape, Tensor, Var};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

/// The unit roundoff of f32, 2⁻²⁴.
const U32: f64 = f32::EPSILON as f64 / 2.0;

/// Runs `f` on `inputs` (cast to `F`) and returns its output in f64.
fn forward<F: Element>(
    f: impl for<'t> Fn(&'t Tape<F>, &[Var<'t, F>]) -> Result<Var<'t, F>>,
    inputs: &[Tensor<f64>],
) -> Tensor<f64> {
    let tape = Tape::<F>::new();
    let vars: Vec<_> = inputs.iter().map(|t| tape.var(&t.cast::<F>())).collect();
    f(&tape, &vars).unwrap().value().cast::<f64>()
}

/// `Σ w ⊙ y` for a fixed random `w`: the upstream gradient is `w`.
fn upstream<'t>(y: Var<'t, f64>, seed: u64) -> Result<Var<'t, f64>> {
    let w = Tensor::rand_uniform(&y.dims(), -1.5, 1.5, seed ^ 0x5EED)?;
    Ok((y * y.tape().constant(&w)).sum())
}

/// Checks f32 forward values against f64 ones. Element-wise ops are
/// correctly rounded or within 2 ulps (libm), and chains here have at most
/// a few roundings: 8u relative. An op accumulating `terms` terms may add
/// `terms·u·Σ|terms|`, where `abs` holds `Σ|terms|` (the op on |inputs|).
fn check_f32(
    y32: &Tensor<f64>,
    y64: &Tensor<f64>,
    abs: Option<&Tensor<f64>>,
    terms: usize,
) -> std::result::Result<(), TestCaseError> {
    prop_assert_eq!(y32.dims(), y64.dims());
    for (i, (&a, &b)) in y32.as_slice().iter().zip(y64.as_slice()).enumerate() {
        let accumulated = abs.map_or(0.0, |t| terms as f64 * U32 * t.as_slice()[i]);
        let tol = 8.0 * U32 * b.abs() + accumulated + f64::from(f32::MIN_POSITIVE);
        prop_assert!(
            (a - b).abs() <= tol,
            "element {}: f32 {} vs f64 {} (tolerance {:e})",
            i,
            a,
            b,
            tol
        );
    }
    Ok(())
}

/// The gradient check in f64, then the f32 forward check, of one op body.
/// `terms` is how many terms the op accumulates per output (0: none).
/// Inside the body, `F` is the float type of the run.
macro_rules! check_op {
    ($inputs:expr, $seed:expr, $terms:expr, |$tape:ident, $v:ident| $body:expr) => {{
        let inputs: Vec<Tensor<f64>> = $inputs;
        let report = gradcheck(
            |$tape, $v| {
                #[allow(dead_code)]
                type F = f64;
                let y: Result<Var<'_, F>> = $body;
                upstream(y?, $seed)
            },
            &inputs,
            &GradcheckConfig::default(),
        );
        if inputs.iter().all(|t| t.numel() == 0) {
            // Nothing to compare: gradcheck says so instead of "passed";
            // the forward checks below still run the op on empty parts.
            prop_assert!(
                matches!(report, Err(gradsign::Error::Empty { .. })),
                "{:?}",
                report
            );
        } else {
            let report = report.unwrap();
            prop_assert!(report.passed(), "{}", report);
        }
        let y64 = forward::<f64>(
            |$tape, $v| {
                #[allow(dead_code)]
                type F = f64;
                $body
            },
            &inputs,
        );
        let y32 = forward::<f32>(
            |$tape, $v| {
                #[allow(dead_code)]
                type F = f32;
                $body
            },
            &inputs,
        );
        let terms: usize = $terms;
        let abs_inputs: Vec<Tensor<f64>> = inputs.iter().map(|t| t.map(f64::abs)).collect();
        let abs = (terms > 0).then(|| {
            forward::<f64>(
                |$tape, $v| {
                    #[allow(dead_code)]
                    type F = f64;
                    $body
                },
                &abs_inputs,
            )
        });
        check_f32(&y32, &y64, abs.as_ref(), terms)?;
    }};
}

// ---------------------------------------------------------------- input values

/// How the values of an input are drawn.
#[derive(Clone, Copy, Debug)]
enum Values {
    /// U(−2, 2).
    Smooth,
    /// |x| ∈ [0.5, 2), either sign: away from the pole and kink at 0.
    NonZero,
    /// [0.5, 2): inside the domain of ln, sqrt, powf.
    Positive,
    /// `0.25k + phase + [0, 0.04)`: two lattices with phases 0.05 and 0.15
    /// never come closer than 0.06, far beyond the step h = 1e-6, so
    /// `max`/`min`/`clamp` are never compared across a kink.
    Lattice(f64),
}

/// A seeded input of shape `dims`, rounded to f32 so both runs see it.
fn values(dims: &[usize], seed: u64, kind: Values) -> Tensor<f64> {
    let u = Tensor::<f64>::rand_uniform(dims, -2.0, 2.0, seed).unwrap();
    let t = match kind {
        Values::Smooth => u,
        Values::NonZero => u.map(|x| x.signum() * (0.5 + 0.75 * x.abs())),
        Values::Positive => u.map(|x| 1.25 + 0.375 * x),
        Values::Lattice(phase) => u.map(|x| {
            let s = 4.0 * x;
            0.25 * s.floor() + phase + 0.04 * (s - s.floor())
        }),
    };
    t.cast::<f32>().cast::<f64>()
}

/// A scalar parameter rounded to f32, so both runs use the same value.
fn r32(x: f64) -> f64 {
    f64::from(x as f32)
}

// ---------------------------------------------------------------- shapes

/// Dimensions of the given rank, each 1..=4.
fn dims_of_rank(rank: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = Vec<usize>> {
    rank.prop_flat_map(|r| prop::collection::vec(1usize..=4, r))
}

/// Two shapes that broadcast: equal, scalar vs matrix, `[n]` vs `[m, n]`,
/// `[m, 1]` vs `[1, n]`, rank 3 vs rank 2, rank 3 vs rank 3.
fn broadcast_pair() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    (1usize..=4, 1usize..=4, 1usize..=3, 0usize..9).prop_map(|(m, n, b, case)| match case {
        0 => (vec![m, n], vec![m, n]),
        1 => (vec![], vec![m, n]),
        2 => (vec![m, n], vec![]),
        3 => (vec![n], vec![m, n]),
        4 => (vec![m, n], vec![n]),
        5 => (vec![m, 1], vec![1, n]),
        6 => (vec![b, m, n], vec![m, 1]),
        7 => (vec![b, 1, n], vec![b, m, 1]),
        _ => (vec![1, m, 1], vec![b, 1, n]),
    })
}

/// Three shapes that broadcast together (condition, first, second branch).
fn broadcast_triple() -> impl Strategy<Value = [Vec<usize>; 3]> {
    (1usize..=4, 1usize..=4, 1usize..=3, 0usize..5).prop_map(|(m, n, b, case)| match case {
        0 => [vec![m, n], vec![m, n], vec![m, n]],
        1 => [vec![m, n], vec![n], vec![]],
        2 => [vec![m, 1], vec![1, n], vec![m, n]],
        3 => [vec![], vec![m, n], vec![m, 1]],
        _ => [vec![b, 1, n], vec![m, 1], vec![b, m, n]],
    })
}

/// A shape with a valid axis.
fn shape_and_axis(
    rank: std::ops::RangeInclusive<usize>,
) -> impl Strategy<Value = (Vec<usize>, usize)> {
    dims_of_rank(rank).prop_flat_map(|d| {
        let r = d.len();
        (Just(d), 0..r)
    })
}

fn config() -> ProptestConfig {
    ProptestConfig::with_cases(48)
}

// ---------------------------------------------------------------- binary ops

fn binary_inputs(sa: &[usize], sb: &[usize], seed: u64, a: Values, b: Values) -> Vec<Tensor<f64>> {
    vec![values(sa, seed, a), values(sb, seed + 1, b)]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn add_vjp_matches_finite_differences((sa, sb) in broadcast_pair(), seed in any::<u64>()) {
        check_op!(binary_inputs(&sa, &sb, seed, Values::Smooth, Values::Smooth), seed, 0,
            |_t, v| Ok(v[0] + v[1]));
    }

    #[test]
    fn sub_vjp_matches_finite_differences((sa, sb) in broadcast_pair(), seed in any::<u64>()) {
        check_op!(binary_inputs(&sa, &sb, seed, Values::Smooth, Values::Smooth), seed, 0,
            |_t, v| Ok(v[0] - v[1]));
    }

    #[test]
    fn mul_vjp_matches_finite_differences((sa, sb) in broadcast_pair(), seed in any::<u64>()) {
        check_op!(binary_inputs(&sa, &sb, seed, Values::Smooth, Values::Smooth), seed, 0,
            |_t, v| Ok(v[0] * v[1]));
    }

    #[test]
    fn div_vjp_matches_finite_differences((sa, sb) in broadcast_pair(), seed in any::<u64>()) {
        check_op!(binary_inputs(&sa, &sb, seed, Values::Smooth, Values::NonZero), seed, 0,
            |_t, v| Ok(v[0] / v[1]));
    }

    #[test]
    fn maximum_vjp_matches_finite_differences((sa, sb) in broadcast_pair(), seed in any::<u64>()) {
        check_op!(
            binary_inputs(&sa, &sb, seed, Values::Lattice(0.05), Values::Lattice(0.15)),
            seed, 0, |_t, v| v[0].maximum(v[1]));
    }

    #[test]
    fn minimum_vjp_matches_finite_differences((sa, sb) in broadcast_pair(), seed in any::<u64>()) {
        check_op!(
            binary_inputs(&sa, &sb, seed, Values::Lattice(0.15), Values::Lattice(0.05)),
            seed, 0, |_t, v| v[0].minimum(v[1]));
    }

    #[test]
    fn a_value_used_as_both_operands_matches_finite_differences(
        dims in dims_of_rank(0..=3), seed in any::<u64>(),
    ) {
        // x·x and x/x (whose gradient is exactly 0) through one node each.
        check_op!(vec![values(&dims, seed, Values::NonZero)], seed, 0,
            |_t, v| Ok(v[0] * v[0] + v[0] / v[0]));
    }
}

// ---------------------------------------------------------------- scalar forms

proptest! {
    #![proptest_config(config())]

    #[test]
    fn scalar_form_vjps_match_finite_differences(
        dims in dims_of_rank(0..=3), seed in any::<u64>(), c in 0.5f64..2.0, form in 0usize..12,
    ) {
        // One op per case, so the f32 check sees a single rounding.
        let c = r32(c);
        check_op!(vec![values(&dims, seed, Values::NonZero)], seed, 0, |_t, v| {
            let (x, c) = (v[0], F::from_f64(c));
            Ok(match form {
                0 => x + c,
                1 => x - c,
                2 => x * c,
                3 => x / c,
                4 => c + x,
                5 => c - x,
                6 => c * x,
                7 => c / x,
                8 => x.add_scalar(c),
                9 => x.mul_scalar(c),
                10 => x.rsub_scalar(c),
                _ => x.rdiv_scalar(c),
            })
        });
    }

    #[test]
    fn neg_vjp_matches_finite_differences(dims in dims_of_rank(0..=3), seed in any::<u64>()) {
        check_op!(vec![values(&dims, seed, Values::Smooth)], seed, 0, |_t, v| Ok(-v[0]));
    }
}

// ---------------------------------------------------------------- unary maths

proptest! {
    #![proptest_config(config())]

    #[test]
    fn exp_vjp_matches_finite_differences(dims in dims_of_rank(0..=3), seed in any::<u64>()) {
        check_op!(vec![values(&dims, seed, Values::Smooth)], seed, 0, |_t, v| v[0].try_exp());
    }

    #[test]
    fn ln_vjp_matches_finite_differences(dims in dims_of_rank(0..=3), seed in any::<u64>()) {
        check_op!(vec![values(&dims, seed, Values::Positive)], seed, 0, |_t, v| v[0].try_ln());
    }

    #[test]
    fn sqrt_vjp_matches_finite_differences(dims in dims_of_rank(0..=3), seed in any::<u64>()) {
        check_op!(vec![values(&dims, seed, Values::Positive)], seed, 0, |_t, v| v[0].try_sqrt());
    }

    #[test]
    fn powi_vjp_matches_finite_differences(
        dims in dims_of_rank(0..=3), seed in any::<u64>(), n in -3i32..=4,
    ) {
        check_op!(vec![values(&dims, seed, Values::NonZero)], seed, 0, |_t, v| Ok(v[0].powi(n)));
    }

    #[test]
    fn powf_vjp_matches_finite_differences(
        dims in dims_of_rank(0..=3), seed in any::<u64>(), a in -2.0f64..3.0,
    ) {
        let a = r32(a);
        check_op!(vec![values(&dims, seed, Values::Positive)], seed, 0,
            |_t, v| Ok(v[0].powf(F::from_f64(a))));
    }

    #[test]
    fn abs_vjp_matches_finite_differences(dims in dims_of_rank(0..=3), seed in any::<u64>()) {
        check_op!(vec![values(&dims, seed, Values::NonZero)], seed, 0, |_t, v| v[0].try_abs());
    }

    #[test]
    fn square_vjp_matches_finite_differences(dims in dims_of_rank(0..=3), seed in any::<u64>()) {
        check_op!(vec![values(&dims, seed, Values::Smooth)], seed, 0, |_t, v| v[0].try_square());
    }

    #[test]
    fn recip_vjp_matches_finite_differences(dims in dims_of_rank(0..=3), seed in any::<u64>()) {
        check_op!(vec![values(&dims, seed, Values::NonZero)], seed, 0, |_t, v| v[0].try_recip());
    }

    #[test]
    fn tanh_vjp_matches_finite_differences(dims in dims_of_rank(0..=3), seed in any::<u64>()) {
        check_op!(vec![values(&dims, seed, Values::Smooth)], seed, 0, |_t, v| v[0].try_tanh());
    }

    #[test]
    fn clamp_vjp_matches_finite_differences(
        dims in dims_of_rank(0..=3), seed in any::<u64>(), k in -6i32..4, width in 1i32..8,
    ) {
        // Bounds on the 0.15-phase lattice, values on the 0.05 one.
        let lo = r32(0.25 * f64::from(k) + 0.15);
        let hi = r32(lo + 0.25 * f64::from(width));
        check_op!(vec![values(&dims, seed, Values::Lattice(0.05))], seed, 0,
            |_t, v| v[0].clamp(F::from_f64(lo), F::from_f64(hi)));
    }
}

// ---------------------------------------------------------------- reductions

proptest! {
    #![proptest_config(config())]

    #[test]
    fn sum_vjp_matches_finite_differences(dims in dims_of_rank(0..=3), seed in any::<u64>()) {
        let n = dims.iter().product();
        check_op!(vec![values(&dims, seed, Values::Smooth)], seed, n, |_t, v| Ok(v[0].sum()));
    }

    #[test]
    fn mean_vjp_matches_finite_differences(dims in dims_of_rank(0..=3), seed in any::<u64>()) {
        let n = dims.iter().product();
        check_op!(vec![values(&dims, seed, Values::Smooth)], seed, n, |_t, v| v[0].mean());
    }

    #[test]
    fn sum_axis_vjp_matches_finite_differences(
        (dims, axis) in shape_and_axis(1..=3), keepdim in any::<bool>(), seed in any::<u64>(),
    ) {
        let n = dims[axis];
        check_op!(vec![values(&dims, seed, Values::Smooth)], seed, n,
            |_t, v| v[0].sum_axis(axis, keepdim));
    }

    #[test]
    fn mean_axis_vjp_matches_finite_differences(
        (dims, axis) in shape_and_axis(1..=3), keepdim in any::<bool>(), seed in any::<u64>(),
    ) {
        let n = dims[axis];
        check_op!(vec![values(&dims, seed, Values::Smooth)], seed, n,
            |_t, v| v[0].mean_axis(axis, keepdim));
    }
}

// ---------------------------------------------------------------- matrix products

proptest! {
    #![proptest_config(config())]

    #[test]
    fn matmul_vjp_matches_finite_differences(
        m in 1usize..=4, k in 1usize..=4, n in 1usize..=4, seed in any::<u64>(),
    ) {
        check_op!(binary_inputs(&[m, k], &[k, n], seed, Values::Smooth, Values::Smooth), seed, k,
            |_t, v| v[0].matmul(v[1]));
    }

    #[test]
    fn batched_matmul_vjp_matches_finite_differences(
        b in 1usize..=3, m in 1usize..=3, k in 1usize..=3, n in 1usize..=3,
        shared_rhs in any::<bool>(), seed in any::<u64>(),
    ) {
        // (b×m×k)·(b×k×n), or (b×m×k)·(k×n) with one right operand for all.
        let rhs = if shared_rhs { vec![k, n] } else { vec![b, k, n] };
        check_op!(binary_inputs(&[b, m, k], &rhs, seed, Values::Smooth, Values::Smooth), seed, k,
            |_t, v| v[0].matmul(v[1]));
    }

    #[test]
    fn linear_vjp_matches_finite_differences(
        batch in 1usize..=4, fan_in in 1usize..=4, fan_out in 1usize..=4,
        bias in any::<bool>(), seed in any::<u64>(),
    ) {
        let mut inputs = binary_inputs(
            &[batch, fan_in], &[fan_out, fan_in], seed, Values::Smooth, Values::Smooth);
        if bias {
            inputs.push(values(&[fan_out], seed + 2, Values::Smooth));
        }
        check_op!(inputs, seed, fan_in + usize::from(bias),
            |_t, v| v[0].linear(v[1], v.get(2).copied()));
    }
}

// ---------------------------------------------------------------- data movement

proptest! {
    #![proptest_config(config())]

    #[test]
    fn transpose_vjp_matches_finite_differences(dims in dims_of_rank(2..=4), seed in any::<u64>()) {
        check_op!(vec![values(&dims, seed, Values::Smooth)], seed, 0, |_t, v| v[0].transpose());
    }

    #[test]
    fn reshape_vjp_matches_finite_differences(dims in dims_of_rank(1..=3), seed in any::<u64>()) {
        let reversed: Vec<usize> = dims.iter().rev().copied().collect();
        check_op!(vec![values(&dims, seed, Values::Smooth)], seed, 0,
            |_t, v| v[0].reshape(&reversed));
    }

    #[test]
    fn concat_vjp_matches_finite_differences(
        (dims, axis) in shape_and_axis(1..=3),
        lens in prop::collection::vec(0usize..=3, 1..=7),
        seed in any::<u64>(),
    ) {
        // Up to seven parts (a tree of three-input nodes past three), some
        // of length 0 along the axis.
        let inputs: Vec<Tensor<f64>> = lens.iter().enumerate().map(|(i, &len)| {
            let mut d = dims.clone();
            d[axis] = len;
            values(&d, seed + i as u64, Values::Smooth)
        }).collect();
        check_op!(inputs, seed, 0, |_t, v| concat(v, axis));
    }

    #[test]
    fn slice_vjp_matches_finite_differences(
        (dims, axis) in shape_and_axis(1..=3), a in 0usize..=4, b in 0usize..=4, seed in any::<u64>(),
    ) {
        let len = dims[axis];
        let (start, end) = (a.min(b).min(len), a.max(b).min(len));
        check_op!(vec![values(&dims, seed, Values::Smooth)], seed, 0,
            |_t, v| v[0].slice(axis, start, end));
    }
}

// ---------------------------------------------------------------- indexing

proptest! {
    #![proptest_config(config())]

    #[test]
    fn gather_vjp_matches_finite_differences(
        dims in dims_of_rank(1..=3), picks in prop::collection::vec(any::<usize>(), 64),
        seed in any::<u64>(),
    ) {
        let cols = dims[dims.len() - 1];
        let rows: usize = dims.iter().product::<usize>() / cols;
        let labels: Vec<usize> = picks[..rows].iter().map(|p| p % cols).collect();
        check_op!(vec![values(&dims, seed, Values::Smooth)], seed, 0,
            |_t, v| v[0].gather(&labels));
    }

    #[test]
    fn index_select_vjp_matches_finite_differences(
        (dims, axis) in shape_and_axis(1..=3),
        picks in prop::collection::vec(any::<usize>(), 0..=6),
        seed in any::<u64>(),
    ) {
        // Repeats are likely with up to six picks from at most four slices.
        let indices: Vec<usize> = picks.iter().map(|p| p % dims[axis]).collect();
        check_op!(vec![values(&dims, seed, Values::Smooth)], seed, 0,
            |_t, v| v[0].index_select(axis, &indices));
    }

    #[test]
    fn select_vjp_matches_finite_differences(
        [sc, sa, sb] in broadcast_triple(), seed in any::<u64>(),
    ) {
        // The condition is a constant 0/1 mask: it is not differentiated.
        let mask = Tensor::<f64>::rand_uniform(&sc, 0.0, 1.0, seed + 7)
            .unwrap()
            .map(|u| if u < 0.5 { 0.0 } else { 1.0 });
        check_op!(binary_inputs(&sa, &sb, seed, Values::Smooth, Values::Smooth), seed, 0,
            |t, v| select(t.constant(&mask.cast::<F>()), v[0], v[1]));
    }
}
