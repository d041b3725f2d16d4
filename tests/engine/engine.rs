//! The engine's contract: accumulation, deep graphs, tape reuse, gradients of
//! intermediates and constants, foreign and stale variables, detach, checked
//! mode, and one test per error variant the engine can produce, each checking
//! that the message names the op and the shapes.

use gradsign::ops::{concat, select};
use gradsign::{BackwardCtx, Error, Gradients, Shape, Tape, Tensor, Var};

fn t(data: &[f64], dims: &[usize]) -> Tensor<f64> {
    Tensor::from_slice(data, dims).unwrap()
}

/// Asserts that `err` is the expected variant and that its message contains
/// every fragment (the op's name, the shapes).
#[track_caller]
fn assert_names(err: &Error, fragments: &[&str]) {
    let msg = err.to_string();
    for f in fragments {
        assert!(msg.contains(f), "{msg:?} does not name {f:?}");
    }
}

// ---------------------------------------------------------------- accumulation

#[test]
fn a_value_used_twice_accumulates_both_contributions() {
    let tape = Tape::<f64>::new();
    let x = tape.var(&t(&[3.0, -2.0], &[2]));
    let g = (x * x).sum().backward().unwrap();
    // d(x²)/dx = 2x: both operands' contributions, not one of them.
    assert_eq!(g.get(x).unwrap(), &[6.0, -4.0]);
}

#[test]
fn a_weight_used_in_two_places_gets_the_sum_of_both_gradients() {
    let tape = Tape::<f64>::new();
    let w = tape.var(&t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]));
    let a = tape.constant(&t(&[1.0, 0.5], &[1, 2]));
    let b = tape.constant(&t(&[-1.0, 2.0], &[1, 2]));
    // y = Σ(a·Wᵀ) + Σ(b·Wᵀ): ∂y/∂W_jk = a_k + b_k for every row j.
    let y = a.linear(w, None).unwrap().sum() + b.linear(w, None).unwrap().sum();
    let g = y.backward().unwrap();
    assert_eq!(g.get(w).unwrap(), &[0.0, 2.5, 0.0, 2.5]);
}

#[test]
fn a_reused_gradients_buffer_does_not_carry_old_values() {
    let mut tape = Tape::<f64>::new();
    let mut grads = Gradients::new();
    for _ in 0..3 {
        tape.clear();
        let x = tape.var_scalar(2.0);
        (x * x).backward_into(&mut grads).unwrap();
        // 2x every time, not 2x accumulated over the steps.
        assert_eq!(grads.get(x).unwrap(), &[4.0]);
    }
}

#[test]
fn a_reused_gradients_buffer_zeroes_every_slot_the_sweep_does_not_reach() {
    // The buffer keeps its contents between sweeps and each slot is zeroed
    // or overwritten when first written; slots no rule reaches must still
    // read zero, not the previous sweep's values.
    let mut tape = Tape::<f64>::new();
    let mut grads = Gradients::new();
    let x0 = t(&[1.0, -2.0, 3.0, 0.5, 4.0, -1.0], &[2, 3]);
    let w0 = t(&[0.5, -1.0, 2.0, 1.5, 0.25, -0.75], &[2, 3]);
    {
        // Fill every slot with large values first.
        let x = tape.var(&x0);
        let w = tape.var(&w0);
        let y = x.linear(w, None).unwrap().sigmoid() * 1e6;
        (y.sum() + x.square().sum() * 1e6)
            .backward_into(&mut grads)
            .unwrap();
        assert!(grads.get(w).unwrap().iter().all(|&g| g != 0.0));
    }
    tape.clear();
    let x = tape.var(&x0);
    let w = tape.var(&w0);
    // Same layout; this time w and the product do not lead to the root.
    let off_path = x.linear(w, None).unwrap().sigmoid();
    let root = x.sum();
    root.backward_into(&mut grads).unwrap();
    assert_eq!(grads.get(x).unwrap(), &[1.0; 6]);
    assert_eq!(grads.get(w).unwrap(), &[0.0; 6]);
    assert_eq!(grads.get(off_path).unwrap(), &[0.0; 4]);
    // An intermediate used twice: the second rule adds to the first's write.
    tape.clear();
    let x = tape.var(&x0);
    let h = x.sigmoid();
    (h.sum() + (h * 2.0).sum())
        .backward_into(&mut grads)
        .unwrap();
    assert_eq!(grads.get(h).unwrap(), &[3.0; 6]);
}

#[test]
fn a_variable_as_both_input_and_weight_of_a_dense_layer_gets_both_products() {
    // y = Σ_{n,j} x_n·x_j (x as input and as weight): ∂y/∂x_ab = 2·Σ_n x_nb.
    // Both products go into one slot, the first into a reused buffer's
    // unwritten slot, the second added to it.
    let mut tape = Tape::<f64>::new();
    let mut grads = Gradients::new();
    let x0 = t(&[1.0, -2.0, 3.0, 0.5], &[2, 2]);
    {
        let x = tape.var(&x0);
        (x.square().sum() * 1e6).backward_into(&mut grads).unwrap();
    }
    tape.clear();
    let x = tape.var(&x0);
    x.linear(x, None)
        .unwrap()
        .sum()
        .backward_into(&mut grads)
        .unwrap();
    let col = [1.0 + 3.0, -2.0 + 0.5];
    let expected = [2.0 * col[0], 2.0 * col[1], 2.0 * col[0], 2.0 * col[1]];
    assert_eq!(grads.get(x).unwrap(), &expected);
}

// ---------------------------------------------------------------- deep graphs

#[test]
fn a_chain_of_a_million_nodes_runs_backward_without_recursion() {
    // Runs on the default test thread (2 MiB stack): a recursive sweep
    // would overflow it long before 10⁶ nodes.
    const N: i32 = 1_000_000;
    let tape = Tape::<f64>::new();
    let x = tape.var_scalar(1.0);
    let mut y = x;
    for _ in 0..N {
        y = y * 1.000_001;
    }
    assert_eq!(tape.len(), N as usize + 1);
    let g = y.backward().unwrap();
    // y = x·cᴺ, dy/dx = cᴺ ≈ e; each of the 10⁶ products rounds once, so the
    // two orders of evaluation agree to about N·ε ≈ 2e-10 relative.
    let expected = 1.000_001f64.powi(N);
    let got = g.get(x).unwrap()[0];
    assert!(
        (got - expected).abs() <= 1e-9 * expected,
        "{got} vs {expected}"
    );
}

// ---------------------------------------------------------------- tape reuse

/// A graph touching broadcasting, matmul, reductions, indexing and select.
fn mixed_graph<'t>(tape: &'t Tape<f64>, x: &Tensor<f64>, w: &Tensor<f64>) -> [Var<'t, f64>; 3] {
    let x = tape.var(x);
    let w = tape.var(w);
    let b = tape.var_scalar(0.3);
    let h = (x.matmul(w).unwrap() + b).tanh();
    let picked = h.gather(&[1, 0, 2]).unwrap();
    let m = h.mask(|v| v > 0.0);
    let s = select(m, h, h * 0.1).unwrap();
    let loss = picked.sum() + s.sum_axis(1, false).unwrap().square().mean().unwrap();
    [x, w, loss]
}

#[test]
fn a_cleared_tape_gives_bit_identical_gradients() {
    let x = Tensor::rand_uniform(&[3, 4], -1.0, 1.0, 1).unwrap();
    let w = Tensor::rand_uniform(&[4, 3], -1.0, 1.0, 2).unwrap();
    let mut tape = Tape::<f64>::new();
    let mut grads = Gradients::new();
    let mut runs: Vec<Vec<u64>> = Vec::new();
    for _ in 0..3 {
        tape.clear();
        let [xv, wv, loss] = mixed_graph(&tape, &x, &w);
        loss.backward_into(&mut grads).unwrap();
        let bits = [grads.get(xv).unwrap(), grads.get(wv).unwrap()]
            .concat()
            .iter()
            .map(|g| g.to_bits())
            .collect();
        runs.push(bits);
    }
    // A fresh tape is the reference.
    let fresh = Tape::<f64>::new();
    let [xv, wv, loss] = mixed_graph(&fresh, &x, &w);
    let g = loss.backward().unwrap();
    let reference: Vec<u64> = [g.get(xv).unwrap(), g.get(wv).unwrap()]
        .concat()
        .iter()
        .map(|g| g.to_bits())
        .collect();
    for run in &runs {
        assert_eq!(run, &reference);
    }
}

// ---------------------------------------------------------------- intermediates and constants

#[test]
fn gradients_of_intermediates_are_available() {
    let tape = Tape::<f64>::new();
    let x = tape.var(&t(&[0.5, -1.0], &[2]));
    let h = x * 2.0;
    let y = h.tanh().sum();
    let g = y.backward().unwrap();
    // ∂y/∂h = 1 − tanh²(h), and ∂y/∂x = 2·(1 − tanh²(2x)).
    for (i, &xi) in [0.5f64, -1.0].iter().enumerate() {
        let dh = 1.0 - (2.0 * xi).tanh().powi(2);
        assert!((g.get(h).unwrap()[i] - dh).abs() < 1e-15);
        assert!((g.get(x).unwrap()[i] - 2.0 * dh).abs() < 1e-15);
    }
    assert_eq!(g.get(y).unwrap(), &[1.0]);
}

#[test]
fn constants_get_no_gradient_and_their_lookup_is_an_error() {
    let tape = Tape::<f64>::new();
    let x = tape.var(&t(&[1.0, 2.0], &[2]));
    let c = tape.constant(&t(&[3.0, 4.0], &[2]));
    let cc = c * c; // depends only on constants
    let y = (x * c + cc).sum();
    assert!(!c.requires_grad() && !cc.requires_grad());
    let g = y.backward().unwrap();
    assert_eq!(g.get(x).unwrap(), &[3.0, 4.0]);
    for v in [c, cc] {
        let err = g.get(v).unwrap_err();
        assert!(matches!(err, Error::NoGradient { .. }), "{err}");
        assert_names(&err, &["gradient lookup", "[2]", "no gradient"]);
    }
}

#[test]
fn a_root_of_constants_gives_zero_gradients() {
    let tape = Tape::<f64>::new();
    let x = tape.var_scalar(2.0);
    let c = tape.constant_scalar(5.0);
    let g = (c * c).backward().unwrap();
    assert_eq!(g.get(x).unwrap(), &[0.0]);
}

#[test]
fn detach_stops_gradients() {
    let tape = Tape::<f64>::new();
    let x = tape.var(&t(&[2.0, 3.0], &[2]));
    let d = x.detach();
    assert!(!d.requires_grad());
    // y = Σ x·stop(x)²: dy/dx = stop(x)², the detached factor a constant.
    let y = (x * d.square()).sum();
    assert_eq!(y.backward().unwrap().get(x).unwrap(), &[4.0, 9.0]);
    assert!(y.backward().unwrap().get(d).is_err());
}

// ---------------------------------------------------------------- foreign and stale variables

#[test]
fn a_variable_from_another_tape_is_an_error_naming_the_op() {
    let (t1, t2) = (Tape::<f64>::new(), Tape::<f64>::new());
    let a = t1.var(&t(&[1.0, 2.0], &[2]));
    let b = t2.var(&t(&[1.0, 2.0], &[2]));
    let m1 = t1.var(&t(&[1.0; 4], &[2, 2]));
    let m2 = t2.var(&t(&[1.0; 4], &[2, 2]));
    let cases: [(&str, Result<Var<'_, f64>, Error>); 8] = [
        ("add", a.try_add(b)),
        ("sub", a.try_sub(b)),
        ("mul", a.try_mul(b)),
        ("div", a.try_div(b)),
        ("maximum", a.maximum(b)),
        ("matmul", m1.matmul(m2)),
        ("concat", concat(&[a, b], 0)),
        ("select", select(a, a, b)),
    ];
    for (op, r) in cases {
        let err = r.unwrap_err();
        assert!(matches!(err, Error::ForeignVar { .. }), "{op}: {err}");
        assert_names(
            &err,
            &[
                &format!("{op}:"),
                &format!("tape #{}", t2.id()),
                &format!("tape #{}", t1.id()),
            ],
        );
    }
    // Nothing was recorded on the first tape by the failed calls.
    assert_eq!(t1.len(), 2);
}

#[test]
#[should_panic(expected = "add: a variable from tape")]
fn an_operator_on_variables_from_two_tapes_panics_with_the_message() {
    let (t1, t2) = (Tape::<f64>::new(), Tape::<f64>::new());
    let _ = t1.var_scalar(1.0) + t2.var_scalar(1.0);
}

#[test]
fn a_gradient_lookup_with_a_variable_from_another_tape_is_an_error() {
    let (t1, t2) = (Tape::<f64>::new(), Tape::<f64>::new());
    let x = t1.var_scalar(1.0);
    let other = t2.var_scalar(1.0);
    let g = (x * 2.0).backward().unwrap();
    let err = g.get(other).unwrap_err();
    assert!(matches!(err, Error::ForeignVar { .. }));
    assert_names(&err, &["gradient lookup", &format!("tape #{}", t2.id())]);
}

#[test]
fn a_gradient_lookup_after_a_clear_is_an_error() {
    let mut tape = Tape::<f64>::new();
    let g = {
        let x = tape.var(&t(&[1.0, 2.0], &[2]));
        (x * x).sum().backward().unwrap()
    };
    tape.clear();
    // Same tape, same node index, new graph: the old gradients must not be
    // read as if they were this variable's.
    let y = tape.var(&t(&[1.0, 2.0], &[2]));
    let err = g.get(y).unwrap_err();
    assert!(matches!(err, Error::NoGradient { .. }), "{err}");
    assert_names(&err, &["gradient lookup", "[2]", "cleared"]);
}

#[test]
fn a_gradient_lookup_of_a_variable_recorded_after_backward_is_an_error() {
    // Regression: this indexed past the gradient buffer and panicked.
    let tape = Tape::<f64>::new();
    let x = tape.var(&t(&[1.0, 2.0], &[2]));
    let g = x.sum().backward().unwrap();
    let later = x * 3.0;
    let err = g.get(later).unwrap_err();
    assert!(matches!(err, Error::NoGradient { .. }), "{err}");
    assert_names(&err, &["gradient lookup", "mul_scalar [2]", "after"]);
}

// ---------------------------------------------------------------- checked mode

#[test]
fn checked_mode_reports_the_first_non_finite_op() {
    let mut tape = Tape::<f64>::new();
    tape.set_checked(true);
    let x = tape.var(&t(&[1.0, -2.0], &[2]));
    let doubled = x.try_mul(tape.constant_scalar(2.0)).unwrap(); // finite
    let err = doubled.try_sqrt().unwrap_err();
    assert!(matches!(err, Error::NonFinite { op: "sqrt", .. }));
    // The value, where it is, the output's shape and the input that fed it.
    assert_names(&err, &["sqrt:", "NaN", "element 1", "[2]", "mul #"]);
    // The failed op left nothing behind: the graph goes on.
    let len = tape.len();
    let ok = doubled.try_abs().unwrap().try_sqrt().unwrap();
    assert_eq!(tape.len(), len + 2);
    assert!(ok.value().all_finite());
}

#[test]
#[should_panic(expected = "ln: non-finite value -inf at element 0 of the output [1]")]
fn checked_mode_makes_the_panicking_form_panic_with_the_message() {
    let mut tape = Tape::<f64>::new();
    tape.set_checked(true);
    let _ = tape.var(&t(&[0.0], &[1])).ln();
}

#[test]
fn unchecked_mode_lets_non_finite_values_through() {
    let tape = Tape::<f64>::new();
    let y = tape.var(&t(&[-1.0], &[1])).ln();
    assert!(y.value().as_slice()[0].is_nan());
}

// ---------------------------------------------------------------- every error variant

#[test]
fn shape_mismatch_names_the_op_and_both_shapes() {
    let tape = Tape::<f64>::new();
    let a = tape.var(&Tensor::zeros(&[2, 3]).unwrap());
    let b = tape.var(&Tensor::zeros(&[3, 2]).unwrap());
    let err = a.try_add(b).unwrap_err();
    assert_eq!(
        err.to_string(),
        "add: shapes [2, 3] and [3, 2] are not compatible"
    );
    let cases = [
        (a.matmul(a).unwrap_err(), "matmul", "inner dimensions"),
        (
            a.reshape(&[4]).unwrap_err(),
            "reshape",
            "number of elements",
        ),
        (
            a.linear(b, None).unwrap_err(),
            "linear",
            "weight must be (out, in)",
        ),
        (
            concat(&[a, b], 0).unwrap_err(),
            "concat",
            "every dimension but",
        ),
        (select(a, a, b).unwrap_err(), "select", "branches"),
        (
            a.backward_with_seed(&Tensor::zeros(&[3]).unwrap())
                .unwrap_err(),
            "backward_with_seed",
            "seed",
        ),
    ];
    for (err, op, why) in cases {
        assert!(matches!(err, Error::ShapeMismatch { .. }), "{err}");
        assert_names(&err, &[&format!("{op}:"), "[2, 3]", why]);
    }
}

#[test]
fn a_2d_times_3d_product_says_so() {
    // Regression: this reported "expected a tensor of rank 2 or 3" for a
    // rank-3 operand, which is a rank matmul accepts.
    let tape = Tape::<f64>::new();
    let a = tape.var(&Tensor::zeros(&[2, 3]).unwrap());
    let b = tape.var(&Tensor::zeros(&[4, 3, 2]).unwrap());
    let err = a.matmul(b).unwrap_err();
    assert_eq!(
        err.to_string(),
        "matmul: shapes [2, 3] and [4, 3, 2] are not compatible: a 2-D left operand needs a 2-D right operand"
    );
}

#[test]
#[should_panic(expected = "mul: shapes [2] and [3] are not compatible")]
fn an_operator_on_shapes_that_do_not_broadcast_panics_with_the_message() {
    let tape = Tape::<f64>::new();
    let _ = tape.var(&Tensor::zeros(&[2]).unwrap()) * tape.var(&Tensor::zeros(&[3]).unwrap());
}

#[test]
fn data_length_names_the_op_and_the_shape() {
    let tape = Tape::<f64>::new();
    let err = tape.var_from_slice(&[1.0, 2.0, 3.0], &[2, 2]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "var_from_slice: 3 values cannot fill shape [2, 2] (needs 4)"
    );
    let err = tape.constant_from_slice(&[1.0], &[2]).unwrap_err();
    assert!(matches!(err, Error::DataLength { .. }));
    assert_names(&err, &["constant_from_slice:", "[2]"]);
}

#[test]
fn axis_out_of_range_names_the_op_the_axis_and_the_shape() {
    let tape = Tape::<f64>::new();
    let x = tape.var(&Tensor::zeros(&[2, 3]).unwrap());
    assert_eq!(
        x.sum_axis(2, false).unwrap_err().to_string(),
        "sum_axis: axis 2 is out of range for shape [2, 3] (rank 2)"
    );
    let cases = [
        (x.mean_axis(5, true).unwrap_err(), "mean_axis"),
        (x.slice(2, 0, 1).unwrap_err(), "slice"),
        (concat(&[x, x], 2).unwrap_err(), "concat"),
        (x.index_select(3, &[0]).unwrap_err(), "index_select"),
    ];
    for (err, op) in cases {
        assert!(matches!(err, Error::AxisOutOfRange { .. }), "{err}");
        assert_names(&err, &[&format!("{op}:"), "[2, 3]"]);
    }
}

#[test]
fn rank_mismatch_names_the_op_and_the_shape() {
    let tape = Tape::<f64>::new();
    let v = tape.var(&Tensor::zeros(&[3]).unwrap());
    assert_eq!(
        v.transpose().unwrap_err().to_string(),
        "transpose: expected a tensor of rank at least 2, got shape [3]"
    );
    let s = tape.var_scalar(1.0);
    let cases = [
        (v.matmul(v).unwrap_err(), "matmul", "[3]"),
        (v.item().unwrap_err(), "item", "[3]"),
        (s.gather(&[0]).unwrap_err(), "gather", "[]"),
        (v.linear(v, None).unwrap_err(), "linear", "[3]"),
    ];
    for (err, op, shape) in cases {
        assert!(matches!(err, Error::RankMismatch { .. }), "{err}");
        assert_names(&err, &[&format!("{op}:"), shape]);
    }
}

#[test]
fn index_out_of_range_names_the_op_the_index_and_the_shape() {
    let tape = Tape::<f64>::new();
    let x = tape.var(&Tensor::zeros(&[2, 3]).unwrap());
    assert_eq!(
        x.gather(&[0, 3]).unwrap_err().to_string(),
        "gather: index 3 is out of range 3 for shape [2, 3]"
    );
    assert_eq!(
        x.index_select(0, &[1, 2]).unwrap_err().to_string(),
        "index_select: index 2 is out of range 2 for shape [2, 3]"
    );
}

#[test]
fn a_wrong_number_of_gather_indices_names_both_shapes() {
    let tape = Tape::<f64>::new();
    let x = tape.var(&Tensor::zeros(&[2, 3]).unwrap());
    let err = x.gather(&[0]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "gather: shapes [2, 3] and [1] are not compatible: needs one index per row of the last axis"
    );
}

#[test]
fn empty_names_the_op_and_the_shape() {
    let tape = Tape::<f64>::new();
    let e = tape.var(&Tensor::zeros(&[0, 3]).unwrap());
    assert_eq!(
        e.mean().unwrap_err().to_string(),
        "mean: empty input of shape [0, 3]"
    );
    assert_eq!(
        e.mean_axis(0, false).unwrap_err().to_string(),
        "mean_axis: empty input of shape [0, 3]"
    );
    // Summing nothing is meaningful: 0.
    assert_eq!(e.sum().item().unwrap(), 0.0);
}

#[test]
fn non_scalar_root_names_the_shape() {
    let tape = Tape::<f64>::new();
    let x = tape.var(&Tensor::zeros(&[2, 2]).unwrap());
    let err = (x * x).backward().unwrap_err();
    assert!(matches!(err, Error::NonScalarRoot { .. }));
    assert_names(&err, &["backward:", "[2, 2]", "seed"]);
}

#[test]
fn invalid_argument_names_the_op_and_the_values() {
    let tape = Tape::<f64>::new();
    let x = tape.var(&Tensor::zeros(&[2, 3]).unwrap());
    let cases = [
        (x.clamp(1.0, -1.0).unwrap_err(), "clamp:", "lo = 1, hi = -1"),
        (x.slice(1, 2, 4).unwrap_err(), "slice:", "2..4"),
        (x.slice(0, 2, 1).unwrap_err(), "slice:", "[2, 3]"),
        (
            concat::<f64>(&[], 0).unwrap_err(),
            "concat:",
            "at least one",
        ),
        (
            x.reshape(&[1, 1, 2, 3, 1]).unwrap_err(),
            "reshape:",
            "[2, 3]",
        ),
        (
            Tensor::<f64>::rand_uniform(&[2], 1.0, 0.0, 0).unwrap_err(),
            "rand_uniform:",
            "[1, 0)",
        ),
    ];
    for (err, op, what) in cases {
        assert!(matches!(err, Error::OutOfDomain { .. }), "{err}");
        assert_names(&err, &[op, what]);
    }
}

#[test]
fn recording_more_than_three_inputs_is_an_error_not_a_wrong_node() {
    // Regression: a release build silently dropped the fourth input.
    fn nothing(_: &mut BackwardCtx<'_, f64>) {}
    let tape = Tape::<f64>::new();
    let x = tape.var(&Tensor::zeros(&[2]).unwrap());
    let err = tape
        .record(
            "sum4",
            &[x, x, x, x],
            Shape::vector(2),
            (),
            nothing,
            |_, _| {},
        )
        .unwrap_err();
    assert!(matches!(err, Error::OutOfDomain { .. }), "{err}");
    assert_names(
        &err,
        &["sum4:", "input count must be at most 3, got 4", "[2]"],
    );
}

#[test]
#[should_panic(expected = "twice: the backward rule asked for input 1 of an op with 1 input(s)")]
fn a_backward_rule_reading_a_missing_input_panics() {
    // Regression: input 1 of a one-input op silently read node 0.
    fn wrong(ctx: &mut BackwardCtx<'_, f64>) {
        let _ = ctx.input(1);
    }
    let tape = Tape::<f64>::new();
    let x = tape.var_scalar(1.0);
    let y = tape
        .record("twice", &[x], Shape::scalar(), (), wrong, |o, i| {
            o[0] = 2.0 * i.value(0)[0]
        })
        .unwrap();
    let _ = y.backward();
}

#[test]
fn a_custom_op_saves_typed_state_and_reads_it_back() {
    use gradsign::autodiff::{Saved, Slots};
    /// y = a·x + b with (a, b) saved under names.
    #[derive(Clone, Copy)]
    struct Affine {
        a: f64,
        b: f64,
    }
    impl Saved<f64> for Affine {
        fn pack(self) -> Slots<f64> {
            Slots {
                f: [self.a, self.b],
                ..Slots::default()
            }
        }
        fn unpack(s: &Slots<f64>) -> Self {
            Affine {
                a: s.f[0],
                b: s.f[1],
            }
        }
    }
    fn affine_backward(ctx: &mut BackwardCtx<'_, f64>) {
        let Affine { a, .. } = ctx.saved();
        let g = ctx.grad_out()[0];
        if let Some(gx) = ctx.grad_input(0) {
            gx[0] += a * g;
        }
    }
    let tape = Tape::<f64>::new();
    let x = tape.var_scalar(2.0);
    let s = Affine { a: 3.0, b: -1.0 };
    let y = tape
        .record(
            "affine",
            &[x],
            Shape::scalar(),
            s,
            affine_backward,
            |o, i| o[0] = s.a * i.value(0)[0] + s.b,
        )
        .unwrap();
    assert_eq!(y.item().unwrap(), 5.0);
    assert_eq!(y.backward().unwrap().get(x).unwrap(), &[3.0]);
}

#[cfg(debug_assertions)]
#[test]
#[should_panic(expected = "scale: the backward rule reads its saved state as ()")]
fn a_backward_rule_reading_another_state_type_panics_in_debug_builds() {
    fn wrong(ctx: &mut BackwardCtx<'_, f64>) {
        let () = ctx.saved();
    }
    let tape = Tape::<f64>::new();
    let x = tape.var_scalar(1.0);
    let y = tape
        .record("scale", &[x], Shape::scalar(), 2.0, wrong, |o, i| {
            o[0] = 2.0 * i.value(0)[0]
        })
        .unwrap();
    let _ = y.backward();
}

// ---------------------------------------------------------------- other regressions

#[test]
fn dividing_by_a_scalar_is_the_correctly_rounded_quotient() {
    // Regression: `x / c` was computed as x·(1/c), which differs from the
    // quotient in the last bit for most x (0.1·(1/7) ≠ 0.1/7).
    let tape = Tape::<f64>::new();
    let x = tape.var(&t(&[0.1, 0.2, 0.3], &[3]));
    let y = x / 7.0;
    assert_eq!(y.value().as_slice(), &[0.1 / 7.0, 0.2 / 7.0, 0.3 / 7.0]);
    assert_eq!(y.sum().backward().unwrap().get(x).unwrap(), &[1.0 / 7.0; 3]);
}

#[test]
fn powi_of_the_smallest_exponent_has_a_gradient() {
    // Regression: n − 1 overflowed for n = i32::MIN. d(xⁿ)/dx = n·xⁿ⁻¹ = n at x = 1.
    let tape = Tape::<f64>::new();
    let x = tape.var_scalar(1.0);
    let y = x.powi(i32::MIN);
    assert_eq!(y.item().unwrap(), 1.0);
    assert_eq!(
        y.backward().unwrap().get(x).unwrap(),
        &[f64::from(i32::MIN)]
    );
}

#[test]
fn an_f32_sum_of_many_small_terms_keeps_them() {
    // Regression: a running f32 total stops growing once the terms fall
    // below half an ulp of it: 1 + 10⁶ × 1e-8 summed left to right is 1.0.
    // Pairwise summation gives 1.01 within a few ulps.
    let mut data = vec![1e-8f32; 1_000_000];
    data[0] = 1.0;
    let tape = Tape::<f32>::new();
    let x = tape.var_from_slice(&data, &[data.len()]).unwrap();
    let s = x.sum().item().unwrap();
    let exact = 1.0 + 999_999.0 * f64::from(1e-8f32);
    assert!((f64::from(s) - exact).abs() < 1e-5, "{s} vs {exact}");
}

#[test]
fn f32_uniform_draws_stay_below_the_upper_bound() {
    // Regression: an f64 draw just below `high` rounded up to it in f32.
    // With high one ulp above low, half of all draws did.
    let high = 1.0 + f32::EPSILON;
    let t = Tensor::<f32>::rand_uniform(&[1000], 1.0, high, 0).unwrap();
    assert!(t.as_slice().iter().all(|&x| x == 1.0));
}

#[test]
fn a_shape_whose_size_overflows_is_an_error() {
    // Regression: the element count wrapped around in release builds.
    let err = Tensor::<f64>::zeros(&[1 << 40, 1 << 40]).unwrap_err();
    assert!(matches!(err, Error::TooLarge { .. }), "{err}");
    assert_names(&err, &["shape:", "[1099511627776, 1099511627776]"]);
    let tape = Tape::<f64>::new();
    let err = tape.var_scalar(1.0).reshape(&[usize::MAX, 2]).unwrap_err();
    assert_names(&err, &["reshape:", "[]", "more elements"]);
}

#[test]
fn a_cleared_tape_that_held_nan_computes_what_a_fresh_tape_does() {
    use gradsign::ops::conv::Window;
    // The values buffer keeps an earlier graph's numbers across `clear`;
    // ops that overwrite their output reuse them unzeroed, every other op
    // gets zeros. Fill it with NaN first, then compare with a fresh tape.
    let program = |tape: &Tape<f64>| -> Vec<u64> {
        let x = tape.var(&Tensor::rand_uniform(&[2, 3, 6, 6], -1.0, 1.0, 1).unwrap());
        let w = tape.var(&Tensor::rand_uniform(&[4, 3, 3, 3], -1.0, 1.0, 2).unwrap());
        let m = tape.var(&Tensor::rand_uniform(&[16, 5], -1.0, 1.0, 3).unwrap());
        let y = x.conv2d(w, None, &Window::default().padding(1)).unwrap();
        let y = y
            .tanh()
            .max_pool2d((2, 2), &Window::default().stride(2))
            .unwrap();
        let z = y.reshape(&[2, 36]).unwrap().sum_axis(1, false).unwrap();
        let f = y.flatten().unwrap().reshape(&[9, 8]).unwrap();
        let p = f.matmul(m.reshape(&[8, 10]).unwrap()).unwrap().sigmoid();
        let loss = z.sum() + p.mean().unwrap() + (p * p).sum();
        let grads = loss.backward().unwrap();
        let mut bits: Vec<u64> = loss
            .value()
            .as_slice()
            .iter()
            .map(|v| v.to_bits())
            .collect();
        for v in [x, w, m] {
            bits.extend(grads.get(v).unwrap().iter().map(|g| g.to_bits()));
        }
        bits
    };
    let fresh = program(&Tape::new());
    let mut tape = Tape::<f64>::new();
    let junk = tape.var(&Tensor::full(&[4096], f64::NAN).unwrap());
    let _ = (junk * junk).exp().sum();
    tape.clear();
    assert_eq!(program(&tape), fresh);
    tape.clear();
    assert_eq!(program(&tape), fresh, "and again, warm");
}
