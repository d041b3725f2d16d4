//! Losses: finite-difference checks (proptest, f64) with points on the
//! kinks, closed forms at logits of ±10⁴ in f32 and f64, the limits at ±∞,
//! agreement between the fused and the composed forms,
//! no allocation in a warm step, and every error path.

use gradsign::gradcheck::{GradcheckConfig, gradcheck};
use gradsign::loss::{self, Reduction};

use gradsign::{Element, Error, Gradients, Tape, Tensor, Var};
use proptest::prelude::*;

use crate::counting_alloc::allocations;

const REDUCTIONS: [Reduction; 2] = [Reduction::Mean, Reduction::Sum];

fn vector(xs: &[f64]) -> Tensor<f64> {
    Tensor::from_vec(xs.to_vec(), &[xs.len()]).unwrap()
}

/// `1.7L + L²`: the seed reaching the loss is `1.7 + 2L`, neither 1 nor 0
/// (a plain `L²` would hide a kink where `L = 0`).
fn seeded<'t>(l: Var<'t, f64>) -> gradsign::Result<Var<'t, f64>> {
    Ok(l * 1.7 + l * l)
}

/// `g` on pred/target pairs with both differentiated.
type RegressionLoss =
    for<'t> fn(Var<'t, f64>, Var<'t, f64>, Reduction) -> gradsign::Result<Var<'t, f64>>;

fn huber_1<'t>(p: Var<'t, f64>, t: Var<'t, f64>, r: Reduction) -> gradsign::Result<Var<'t, f64>> {
    loss::huber(p, t, 1.0, r)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn regression_losses_match_finite_differences(
        pairs in prop::collection::vec((-4.0f64..4.0, -4.0f64..4.0), 1..6),
        on_kink in 0usize..6,
    ) {
        let (mut p, t): (Vec<f64>, Vec<f64>) = pairs.into_iter().unzip();
        // One prediction exactly on its target: MAE's kink.
        let k = on_kink % p.len();
        p[k] = t[k];
        let losses: [(&str, RegressionLoss); 3] =
            [("mse", loss::mse), ("mae", loss::mae), ("huber", huber_1)];
        for (name, f) in losses {
            for red in REDUCTIONS {
                let report = gradcheck(
                    |_, v| seeded(f(v[0], v[1], red)?),
                    &[vector(&p), vector(&t)],
                    &GradcheckConfig::default(),
                )
                .unwrap();
                prop_assert!(report.passed(), "{name} {red:?}: {report}");
                if name == "mae" {
                    prop_assert!(!report.kinks.is_empty(), "mae kink not seen: {report}");
                }
            }
        }
    }

    #[test]
    fn bce_with_logits_matches_finite_differences(
        pairs in prop::collection::vec((-8.0f64..8.0, 0.05f64..0.95), 1..6),
    ) {
        let (x, y): (Vec<f64>, Vec<f64>) = pairs.into_iter().unzip();
        for red in REDUCTIONS {
            let report = gradcheck(
                |_, v| seeded(loss::bce_with_logits(v[0], v[1], red)?),
                &[vector(&x), vector(&y)],
                &GradcheckConfig::default(),
            )
            .unwrap();
            prop_assert!(report.passed(), "{red:?}: {report}");
        }
    }

    #[test]
    fn hinge_matches_finite_differences(
        pairs in prop::collection::vec((-3.0f64..3.0, any::<bool>()), 1..6),
    ) {
        let (mut x, y): (Vec<f64>, Vec<f64>) =
            pairs.into_iter().map(|(x, pos)| (x, if pos { 1.0 } else { -1.0 })).unzip();
        // The first score on its margin, y·x = 1: the hinge's kink.
        x[0] = y[0];
        for red in REDUCTIONS {
            let report = gradcheck(
                |tape, v| seeded(loss::hinge(v[0], tape.constant(&vector(&y)), red)?),
                &[vector(&x)],
                &GradcheckConfig::default(),
            )
            .unwrap();
            prop_assert!(report.passed(), "{red:?}: {report}");
            prop_assert!(!report.kinks.is_empty(), "hinge kink not seen: {report}");
        }
    }

    #[test]
    fn class_losses_match_finite_differences(
        batch in 1usize..4,
        classes in 1usize..5,
        vals in prop::collection::vec(-5.0f64..5.0, 16),
        picks in prop::collection::vec(0usize..16, 4),
    ) {
        let x = Tensor::from_vec(vals[..batch * classes].to_vec(), &[batch, classes]).unwrap();
        let labels: Vec<usize> = picks[..batch].iter().map(|p| p % classes).collect();
        for red in REDUCTIONS {
            let cfg = GradcheckConfig::default();
            let report = gradcheck(
                |_, v| seeded(loss::softmax_cross_entropy(v[0], &labels, red)?),
                std::slice::from_ref(&x),
                &cfg,
            )
            .unwrap();
            prop_assert!(report.passed(), "softmax_cross_entropy {red:?}: {report}");
            let report = gradcheck(|_, v| seeded(loss::nll(v[0], &labels, red)?), std::slice::from_ref(&x), &cfg)
                .unwrap();
            prop_assert!(report.passed(), "nll {red:?}: {report}");
        }
    }

    #[test]
    fn softmax_cross_entropy_equals_nll_of_log_softmax(
        vals in prop::collection::vec(-30.0f64..30.0, 12),
        picks in prop::collection::vec(0usize..4, 3),
    ) {
        let tape = Tape::<f64>::new();
        let x = tape.var(&Tensor::from_vec(vals, &[3, 4]).unwrap());
        let fused = loss::softmax_cross_entropy(x, &picks, Reduction::Mean).unwrap();
        let composed = loss::nll(x.log_softmax(1).unwrap(), &picks, Reduction::Mean).unwrap();
        let (a, b) = (fused.item().unwrap(), composed.item().unwrap());
        prop_assert!((a - b).abs() <= 1e-13 * a.abs().max(1.0), "{a} vs {b}");
        let (ga, gb) = (fused.backward().unwrap(), composed.backward().unwrap());
        for (u, v) in ga.get(x).unwrap().iter().zip(gb.get(x).unwrap()) {
            prop_assert!((u - v).abs() <= 1e-15, "{u} vs {v}");
        }
    }
}

/// Loss value and gradient of `f` in `F` at `xs`.
fn eval<F: Element>(
    xs: &[f64],
    f: impl for<'t> Fn(Var<'t, F>) -> gradsign::Result<Var<'t, F>>,
) -> (f64, Vec<f64>) {
    let tape = Tape::<F>::new();
    let data: Vec<F> = xs.iter().map(|&v| F::from_f64(v)).collect();
    let x = tape.var(&Tensor::from_vec(data, &[xs.len()]).unwrap());
    let l = f(x).unwrap();
    let g = l.backward().unwrap();
    let grad = g.get(x).unwrap().iter().map(|&v| v.to_f64()).collect();
    (l.item().unwrap().to_f64(), grad)
}

fn constant<'t, F: Element>(like: Var<'t, F>, xs: &[f64]) -> Var<'t, F> {
    let data: Vec<F> = xs.iter().map(|&v| F::from_f64(v)).collect();
    like.tape().constant_from_slice(&data, &[xs.len()]).unwrap()
}

fn bce_at_ten_thousand<F: Element>() {
    // Per element max(x, 0) − x·y + ln(1 + e^{−|x|}) with e^{−10⁴} = 0:
    // (1e4, 1) → 0, (1e4, 0) → 1e4, (−1e4, 0) → 0, (−1e4, 1) → 1e4,
    // (1e4, ½) → 5e3; gradient σ(x) − y = 0, 1, 0, −1, ½.
    let x = [1e4, 1e4, -1e4, -1e4, 1e4];
    let y = [1.0, 0.0, 0.0, 1.0, 0.5];
    let (l, g) = eval::<F>(&x, |v| {
        loss::bce_with_logits(v, constant(v, &y), Reduction::Sum)
    });
    assert_eq!(l, 2e4 + 5e3, "{}", F::NAME);
    assert_eq!(g, [0.0, 1.0, 0.0, -1.0, 0.5], "{}", F::NAME);
}

#[test]
fn bce_with_logits_at_ten_thousand_gives_the_exact_loss_and_gradient() {
    bce_at_ten_thousand::<f32>();
    bce_at_ten_thousand::<f64>();
}

fn every_loss_at_ten_thousand<F: Element>() {
    let n = F::NAME;
    // mse: (1e4 − (−1e4))² = 4e8, d = 2·2e4; mae: 2e4, d = 1; huber δ = 1:
    // 1·(2e4 − ½), d = 1 (all Sum over one element).
    let (p, t) = ([1e4], [-1e4]);
    assert_eq!(
        eval::<F>(&p, |v| loss::mse(v, constant(v, &t), Reduction::Sum)),
        (4e8, vec![4e4]),
        "{n}"
    );
    assert_eq!(
        eval::<F>(&p, |v| loss::mae(v, constant(v, &t), Reduction::Sum)),
        (2e4, vec![1.0]),
        "{n}"
    );
    let one = F::one();
    let huber = eval::<F>(&p, |v| loss::huber(v, constant(v, &t), one, Reduction::Sum));
    assert_eq!(huber, (2e4 - 0.5, vec![1.0]), "{n}");
    // hinge: max(0, 1 − y·x): (−1e4, +1) → 1 + 1e4, d = −1; (1e4, +1) → 0, d = 0.
    let h = eval::<F>(&[-1e4, 1e4], |v| {
        loss::hinge(v, constant(v, &[1.0, 1.0]), Reduction::Sum)
    });
    assert_eq!(h, (1e4 + 1.0, vec![-1.0, 0.0]), "{n}");
    // softmax CE of the row [1e4, −1e4, 0]: label 0 → 0, grad 0; label 1 →
    // 1e4 − (−1e4) = 2e4, grad onehot(0) − onehot(1); label 2 → 1e4.
    let row = [1e4, -1e4, 0.0];
    for (label, loss_value, grad) in [
        (0, 0.0, [0.0, 0.0, 0.0]),
        (1, 2e4, [1.0, -1.0, 0.0]),
        (2, 1e4, [1.0, 0.0, -1.0]),
    ] {
        let ce = eval::<F>(&row, |v| {
            loss::softmax_cross_entropy(v.reshape(&[1, 3])?, &[label], Reduction::Mean)
        });
        assert_eq!(ce, (loss_value, grad.to_vec()), "{n} label {label}");
    }
    // nll of log-probability −1e4: 1e4, d = −1.
    let nll = eval::<F>(&[0.0, -1e4], |v| {
        loss::nll(v.reshape(&[1, 2])?, &[1], Reduction::Sum)
    });
    assert_eq!(nll, (1e4, vec![0.0, -1.0]), "{n}");
}

#[test]
fn every_loss_at_ten_thousand_is_finite_and_matches_its_closed_form() {
    every_loss_at_ten_thousand::<f32>();
    every_loss_at_ten_thousand::<f64>();
}

#[test]
fn bce_with_logits_at_infinite_logits_takes_its_limit() {
    // +∞ with y = 1 and −∞ with y = 0 agree: loss 0; otherwise +∞.
    // Gradient σ(x) − y stays finite: 0, 1 − ½, 0, −1.
    let inf = f64::INFINITY;
    let x = [inf, inf, -inf, -inf];
    let (l, g) = eval::<f64>(&x, |v| {
        loss::bce_with_logits(v, constant(v, &[1.0, 0.5, 0.0, 1.0]), Reduction::Sum)
    });
    assert_eq!(l, inf);
    assert_eq!(g, [0.0, 0.5, 0.0, -1.0]);
    let (l, _) = eval::<f64>(&[inf, -inf], |v| {
        loss::bce_with_logits(v, constant(v, &[1.0, 0.0]), Reduction::Sum)
    });
    assert_eq!(l, 0.0);
}

#[test]
fn softmax_cross_entropy_at_infinite_logits_takes_its_limit() {
    let inf = f64::INFINITY;
    // A lone +∞ at the label: loss 0, gradient 0. Another logit at +∞, or
    // the label at −∞: loss +∞, gradient softmax − onehot, finite.
    let ce = |xs: &[f64], label: usize| {
        eval::<f64>(xs, |v| {
            loss::softmax_cross_entropy(v.reshape(&[1, 3])?, &[label], Reduction::Sum)
        })
    };
    assert_eq!(ce(&[inf, 0.0, -inf], 0), (0.0, vec![0.0, 0.0, 0.0]));
    assert_eq!(ce(&[inf, 0.0, -inf], 1), (inf, vec![1.0, -1.0, 0.0]));
    assert_eq!(ce(&[0.0, -inf, -inf], 2), (inf, vec![1.0, 0.0, -1.0]));
}

#[test]
fn hinge_and_nll_at_infinite_scores_take_their_limits() {
    let inf = f64::INFINITY;
    // hinge: (+∞, +1) → 0, d = 0; (−∞, +1) → +∞, d = −1.
    let h = eval::<f64>(&[inf, -inf], |v| {
        loss::hinge(v, constant(v, &[1.0, 1.0]), Reduction::Sum)
    });
    assert_eq!(h, (inf, vec![0.0, -1.0]));
    // nll of a −∞ log-probability: +∞, d = −1.
    let n = eval::<f64>(&[-inf, 0.0], |v| {
        loss::nll(v.reshape(&[1, 2])?, &[0], Reduction::Sum)
    });
    assert_eq!(n, (inf, vec![-1.0, 0.0]));
}

#[test]
fn bce_with_logits_equals_two_class_cross_entropy() {
    // σ(x) = softmax([0, x])₁, so BCE(x, 1) = CE([0, x], 1) and BCE(x, 0) = CE([0, x], 0).
    for x in [-7.5, -0.3, 0.0, 2.0, 40.0] {
        for y in [0usize, 1] {
            let b = eval::<f64>(&[x], |v| {
                loss::bce_with_logits(v, constant(v, &[y as f64]), Reduction::Sum)
            });
            let c = eval::<f64>(&[0.0, x], |v| {
                loss::softmax_cross_entropy(v.reshape(&[1, 2])?, &[y], Reduction::Sum)
            });
            assert!(
                (b.0 - c.0).abs() <= 1e-15 * b.0.max(1.0),
                "x = {x}, y = {y}: {b:?} vs {c:?}"
            );
            assert!(
                (b.1[0] - c.1[1]).abs() <= 1e-15,
                "x = {x}, y = {y}: {b:?} vs {c:?}"
            );
        }
    }
}

#[test]
fn the_mean_is_the_sum_divided_by_the_count() {
    // Element-wise losses divide by every element; class losses by the batch.
    let p = [0.5, -1.0, 2.0, 3.0];
    let t = [0.0, 0.0, 1.0, 1.0];
    let sum = eval::<f64>(&p, |v| loss::mse(v, constant(v, &t), Reduction::Sum));
    let mean = eval::<f64>(&p, |v| loss::mse(v, constant(v, &t), Reduction::Mean));
    assert_eq!(mean.0, sum.0 / 4.0);
    let sum = eval::<f64>(&p, |v| {
        loss::softmax_cross_entropy(v.reshape(&[2, 2])?, &[0, 1], Reduction::Sum)
    });
    let mean = eval::<f64>(&p, |v| {
        loss::softmax_cross_entropy(v.reshape(&[2, 2])?, &[0, 1], Reduction::Mean)
    });
    assert_eq!(mean.0, sum.0 / 2.0);
    assert_eq!(mean.1, sum.1.iter().map(|g| g / 2.0).collect::<Vec<_>>());
}

#[test]
fn shape_mismatches_are_errors_naming_the_loss_and_both_shapes() {
    let tape = Tape::<f64>::new();
    let p = tape.var(&Tensor::zeros(&[2, 1]).unwrap());
    let t = tape.constant(&Tensor::zeros(&[2]).unwrap());
    let tail = "shapes [2, 1] and [2] are not compatible: the prediction and the target must have the same shape";
    let ones = tape.constant(&Tensor::ones(&[2]).unwrap());
    let errors = [
        ("mse", loss::mse(p, t, Reduction::Mean)),
        ("mae", loss::mae(p, t, Reduction::Mean)),
        ("huber", loss::huber(p, t, 1.0, Reduction::Mean)),
        (
            "bce_with_logits",
            loss::bce_with_logits(p, t, Reduction::Mean),
        ),
        ("hinge", loss::hinge(p, ones, Reduction::Mean)),
    ];
    for (name, e) in errors {
        assert_eq!(e.unwrap_err().to_string(), format!("{name}: {tail}"));
    }
}

#[test]
fn the_mean_of_nothing_is_an_error_and_the_sum_is_zero() {
    let tape = Tape::<f64>::new();
    let e = tape.var(&Tensor::zeros(&[0]).unwrap());
    assert_eq!(
        loss::mse(e, e, Reduction::Mean).unwrap_err().to_string(),
        "mse: empty input of shape [0]"
    );
    assert_eq!(
        loss::mse(e, e, Reduction::Sum).unwrap().item().unwrap(),
        0.0
    );
    let x = tape.var(&Tensor::zeros(&[0, 3]).unwrap());
    let err = loss::softmax_cross_entropy(x, &[], Reduction::Mean).unwrap_err();
    assert_eq!(
        err.to_string(),
        "softmax_cross_entropy: empty input of shape [0, 3]"
    );
    assert_eq!(
        loss::nll(x, &[], Reduction::Sum).unwrap().item().unwrap(),
        0.0
    );
    assert_eq!(
        loss::softmax_cross_entropy(x, &[], Reduction::Sum)
            .unwrap()
            .item()
            .unwrap(),
        0.0
    );
}

#[test]
fn invalid_parameters_and_targets_are_errors_naming_the_value() {
    let tape = Tape::<f64>::new();
    let p = tape.var(&vector(&[0.0, 1.0, 2.0]));
    let t = tape.constant(&vector(&[0.0, 1.5, 1.0]));
    let msg = |r: gradsign::Result<Var<'_, f64>>| r.unwrap_err().to_string();
    assert_eq!(
        msg(loss::huber(p, p, 0.0, Reduction::Sum)),
        "huber: δ must be finite and > 0, got 0"
    );
    assert_eq!(
        msg(loss::huber(p, p, f64::NAN, Reduction::Sum)),
        "huber: δ must be finite and > 0, got NaN"
    );
    assert_eq!(
        msg(loss::bce_with_logits(p, t, Reduction::Sum)),
        "bce_with_logits: the targets (element 1 of shape [3]) must be in [0, 1], got 1.5"
    );
    assert_eq!(
        msg(loss::hinge(p, t, Reduction::Sum)),
        "hinge: the labels (element 0 of shape [3]) must be −1 or +1, got 0"
    );
}

#[test]
fn class_loss_inputs_are_checked_with_messages_naming_the_shapes_and_labels() {
    let tape = Tape::<f64>::new();
    let flat = tape.var(&Tensor::zeros(&[4]).unwrap());
    let x = tape.var(&Tensor::zeros(&[2, 3]).unwrap());
    for name in ["softmax_cross_entropy", "nll"] {
        let f = |v, labels: &[usize]| match name {
            "nll" => loss::nll(v, labels, Reduction::Mean),
            _ => loss::softmax_cross_entropy(v, labels, Reduction::Mean),
        };
        let msg = |r: gradsign::Result<Var<'_, f64>>| r.unwrap_err().to_string();
        assert_eq!(
            msg(f(flat, &[0, 0, 0, 0])),
            format!("{name}: expected a tensor of rank 2 (batch, classes), got shape [4]")
        );
        assert_eq!(
            msg(f(x, &[0, 1, 2])),
            format!(
                "{name}: shapes [2, 3] and [3] are not compatible: there must be one label per row of the input"
            )
        );
        assert_eq!(
            msg(f(x, &[0, 3])),
            format!("{name}: index 3 is out of range 3 for shape [2, 3]")
        );
        assert!(matches!(
            f(x, &[0, 3]),
            Err(Error::IndexOutOfRange {
                index: 3,
                bound: 3,
                ..
            })
        ));
    }
}

#[test]
fn a_target_from_another_tape_is_an_error() {
    let (a, b) = (Tape::<f64>::new(), Tape::<f64>::new());
    let p = a.var_scalar(1.0);
    let t = b.constant_scalar(0.0);
    let e = loss::mse(p, t, Reduction::Mean).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "mse: a variable from tape #{} was used with tape #{}",
            b.id(),
            a.id()
        )
    );
}

#[test]
fn checked_mode_reports_an_infinite_loss() {
    // BCE at x = +∞ with y = ½ is +∞: in checked mode, an error naming the loss.
    let mut tape = Tape::<f64>::new();
    tape.set_checked(true);
    let x = tape.var_scalar(f64::INFINITY);
    let y = tape.constant_scalar(0.5);
    let e = loss::bce_with_logits(x, y, Reduction::Mean).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("bce_with_logits: non-finite value inf at element 0"),
        "{e}"
    );
}

#[test]
fn a_warm_loss_step_allocates_nothing() {
    // W3's loss (128 × 10 logits, mean softmax cross-entropy, labels pushed
    // to the tape's index buffer) and W2's (32 × 1, mean squared error):
    // after one warm-up, recording and backward reuse the tape's and the
    // gradients' buffers.
    let logits = Tensor::<f32>::rand_normal(&[128, 10], 0.0, 1.0, 3).unwrap();
    let labels: Vec<usize> = (0..128).map(|i| (i * 7) % 10).collect();
    let pred = Tensor::<f32>::rand_normal(&[32, 1], 0.0, 1.0, 4).unwrap();
    let target = Tensor::<f32>::rand_normal(&[32, 1], 0.0, 1.0, 5).unwrap();
    let mut tape = Tape::<f32>::new();
    let mut grads = Gradients::new();
    let step = |tape: &mut Tape<f32>, grads: &mut Gradients<f32>| {
        tape.clear();
        let x = tape.var(&logits);
        let l = loss::softmax_cross_entropy(x, &labels, Reduction::Mean).unwrap();
        l.backward_into(grads).unwrap();
        tape.clear();
        let (p, t) = (tape.var(&pred), tape.constant(&target));
        let l = loss::mse(p, t, Reduction::Mean).unwrap();
        l.backward_into(grads).unwrap();
    };
    step(&mut tape, &mut grads);
    let before = allocations();
    for _ in 0..3 {
        step(&mut tape, &mut grads);
    }
    assert_eq!(allocations() - before, 0);
}
