//! Hostile input to the engine's public API, in `f32` and `f64`: every call
//! returns an `Err` naming the function and the values, or a documented
//! finite answer, never a panic, an abort, a hang or a silent NaN/∞.

use gradsign::activation::Activation;
use gradsign::data::Dataset;
use gradsign::gradcheck::{GradcheckConfig, gradcheck};
use gradsign::loss::{Reduction, bce_with_logits, huber, mae, mse, nll, softmax_cross_entropy};
use gradsign::metrics::{ConfusionMatrix, accuracy};
use gradsign::nn::{Init, Mlp, Param};
use gradsign::ops::concat;
use gradsign::optim::{Adam, AdamW, LrSchedule, Optimizer, Sgd};
use gradsign::train::{TrainConfig, train};
use gradsign::{Element, Error, Gradients, Tape, Tensor};
use proptest::prelude::*;

const W: &str = "layers.0.weight";

fn one_step<F: Element>(
    opt: &mut impl Optimizer<F>,
    theta: &mut [F],
    grad: &[F],
) -> gradsign::Result<()> {
    opt.step_params([Param {
        name: W,
        value: theta,
        grad,
    }])
}

// ---------------------------------------------------------------- optimisers

fn non_finite_gradients_are_refused_and_leave_the_parameter<F: Element>() {
    for bad in [F::nan(), F::infinity(), F::neg_infinity()] {
        let mut sgd = Sgd::new(F::from_f64(0.1)).momentum(F::from_f64(0.9));
        let mut adam = Adam::new(F::from_f64(0.1));
        let mut adamw = AdamW::new(F::from_f64(0.1), F::from_f64(0.01));
        let grad = [F::one(), bad];
        for (name, r, theta) in [
            ("Sgd", {
                let mut t = [F::one(); 2];
                let r = one_step(&mut sgd, &mut t, &grad);
                (r, t)
            }),
            ("Adam", {
                let mut t = [F::one(); 2];
                let r = one_step(&mut adam, &mut t, &grad);
                (r, t)
            }),
            ("AdamW", {
                let mut t = [F::one(); 2];
                let r = one_step(&mut adamw, &mut t, &grad);
                (r, t)
            }),
        ]
        .map(|(n, (r, t))| (n, r, t))
        {
            let e = r.unwrap_err();
            assert!(
                matches!(e, Error::NonFinite { op, .. } if op == name),
                "{e}"
            );
            assert!(
                e.to_string().contains("layers.0.weight at element 1"),
                "{e}"
            );
            // Nothing of the parameter was written, not even element 0.
            assert_eq!(theta, [F::one(); 2], "{name}");
        }
        assert_eq!(
            sgd.steps_taken() + adam.steps_taken() + adamw.steps_taken(),
            0
        );
        // A non-finite value is refused the same way.
        let mut t = [bad];
        let e = one_step(&mut Sgd::new(F::from_f64(0.1)), &mut t, &[F::one()]).unwrap_err();
        assert!(
            e.to_string().contains("the values of layers.0.weight"),
            "{e}"
        );
    }
}

#[test]
fn optimisers_refuse_non_finite_gradients_and_values() {
    non_finite_gradients_are_refused_and_leave_the_parameter::<f32>();
    non_finite_gradients_are_refused_and_leave_the_parameter::<f64>();
}

#[test]
fn an_update_that_overflows_is_refused_before_anything_is_written() {
    // f32: θ − η·g = 1 − 1e30·1e30 overflows to −∞.
    let mut t = [1.0f32, 1.0];
    let e = one_step(&mut Sgd::new(1e30f32), &mut t, &[0.0, 1e30]).unwrap_err();
    assert!(
        e.to_string()
            .contains("the updated values of layers.0.weight at element 1"),
        "{e}"
    );
    assert_eq!(t, [1.0, 1.0]);
    // Adam's second moment (1 − β₂)·g² overflows f32 at g = 1e30, which
    // would leave v = ∞ and freeze the weight (update m̂/√∞ = 0).
    let mut t = [1.0f32];
    let mut adam = Adam::new(0.1f32);
    let e = one_step(&mut adam, &mut t, &[1e30]).unwrap_err();
    assert!(e.to_string().contains("the second moment"), "{e}");
    assert_eq!(t, [1.0]);
    // The same gradient in f64 is fine: the update is ≈ η.
    let mut t = [1.0f64];
    one_step(&mut Adam::new(0.1f64), &mut t, &[1e30]).unwrap();
    assert!((t[0] - 0.9).abs() < 1e-6, "{}", t[0]);
}

fn bad_hyper_parameters<F: Element>() {
    let f = F::from_f64;
    let nan = F::nan();
    let cases: Vec<(&str, gradsign::Result<()>)> = vec![
        (
            "lr NaN",
            one_step(&mut Sgd::new(nan), &mut [F::one()], &[F::one()]),
        ),
        (
            "lr ∞",
            one_step(&mut Sgd::new(F::infinity()), &mut [F::one()], &[F::one()]),
        ),
        (
            "lr < 0",
            one_step(&mut Sgd::new(f(-0.1)), &mut [F::one()], &[F::one()]),
        ),
        (
            "μ = 1",
            one_step(
                &mut Sgd::new(f(0.1)).momentum(F::one()),
                &mut [F::one()],
                &[F::one()],
            ),
        ),
        (
            "μ NaN",
            one_step(
                &mut Sgd::new(f(0.1)).momentum(nan),
                &mut [F::one()],
                &[F::one()],
            ),
        ),
        (
            "λ NaN",
            one_step(
                &mut Sgd::new(f(0.1)).weight_decay(nan),
                &mut [F::one()],
                &[F::one()],
            ),
        ),
        (
            "λ < 0",
            one_step(
                &mut Sgd::new(f(0.1)).weight_decay(f(-1.0)),
                &mut [F::one()],
                &[F::one()],
            ),
        ),
        (
            "β₁ = 1",
            one_step(
                &mut Adam::new(f(0.1)).betas(F::one(), f(0.9)),
                &mut [F::one()],
                &[F::one()],
            ),
        ),
        (
            "β₂ < 0",
            one_step(
                &mut Adam::new(f(0.1)).betas(f(0.9), f(-0.1)),
                &mut [F::one()],
                &[F::one()],
            ),
        ),
        (
            "β NaN",
            one_step(
                &mut Adam::new(f(0.1)).betas(nan, f(0.9)),
                &mut [F::one()],
                &[F::one()],
            ),
        ),
        (
            "ε = 0",
            one_step(
                &mut Adam::new(f(0.1)).eps(F::zero()),
                &mut [F::one()],
                &[F::one()],
            ),
        ),
        (
            "ε NaN",
            one_step(
                &mut Adam::new(f(0.1)).eps(nan),
                &mut [F::one()],
                &[F::one()],
            ),
        ),
        (
            "AdamW λ NaN",
            one_step(&mut AdamW::new(f(0.1), nan), &mut [F::one()], &[F::one()]),
        ),
        (
            "AdamW ηλ > 1",
            one_step(
                &mut AdamW::new(f(0.5), f(4.0)),
                &mut [F::one()],
                &[F::one()],
            ),
        ),
        (
            "Step γ NaN",
            one_step(
                &mut Sgd::new(f(0.1)).schedule(LrSchedule::Step {
                    every: 1,
                    gamma: f64::NAN,
                }),
                &mut [F::one()],
                &[F::one()],
            ),
        ),
        (
            "Step every 0",
            one_step(
                &mut Sgd::new(f(0.1)).schedule(LrSchedule::Step {
                    every: 0,
                    gamma: 0.5,
                }),
                &mut [F::one()],
                &[F::one()],
            ),
        ),
        (
            "Cosine total 0",
            one_step(
                &mut Adam::new(f(0.1)).schedule(LrSchedule::Cosine {
                    total: 0,
                    min_factor: 0.0,
                }),
                &mut [F::one()],
                &[F::one()],
            ),
        ),
        (
            "Cosine min NaN",
            one_step(
                &mut Adam::new(f(0.1)).schedule(LrSchedule::Cosine {
                    total: 5,
                    min_factor: f64::NAN,
                }),
                &mut [F::one()],
                &[F::one()],
            ),
        ),
    ];
    for (what, r) in cases {
        let e = r.expect_err(what);
        assert!(matches!(e, Error::OutOfDomain { .. }), "{what}: {e}");
    }
}

#[test]
fn out_of_range_hyper_parameters_are_refused() {
    bad_hyper_parameters::<f32>();
    bad_hyper_parameters::<f64>();
    // 1e39 is no f32: the learning rate arrives as ∞ and is refused.
    let e = one_step(&mut Sgd::new(1e39f64 as f32), &mut [1.0], &[1.0]).unwrap_err();
    assert!(e.to_string().contains("learning rate"), "{e}");
}

#[test]
fn a_growing_schedule_that_overflows_the_element_type_is_refused() {
    // γ = 10 every step: the rate 10ᵗ leaves f32 at t = 39, f64 at t = 309.
    let grow = LrSchedule::Step {
        every: 1,
        gamma: 10.0,
    };
    let mut opt = Sgd::new(1.0f32).schedule(grow);
    let mut theta = [0.0f32];
    let mut steps = 0;
    let e = loop {
        match one_step(&mut opt, &mut theta, &[0.0]) {
            Ok(()) => steps += 1,
            Err(e) => break e,
        }
        assert!(steps < 400);
    };
    assert_eq!(steps, 39);
    assert!(e.to_string().contains("must be a finite f32 ≥ 0"), "{e}");
    assert!(theta[0].is_finite());
    let mut opt = Adam::new(1.0f64).schedule(grow);
    let mut steps = 0;
    while one_step(&mut opt, &mut [0.0], &[0.0]).is_ok() {
        steps += 1;
    }
    assert_eq!(steps, 309);
}

#[test]
fn parameters_that_change_name_or_size_between_steps_are_refused() {
    let mut opt = Adam::new(0.1f64);
    one_step(&mut opt, &mut [0.0; 2], &[1.0; 2]).unwrap();
    let other = "layers.3.bias";
    let e = opt
        .step_params([Param {
            name: other,
            value: &mut [0.0; 2],
            grad: &[1.0; 2],
        }])
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("layers.3.bias but was layers.0.weight"),
        "{e}"
    );
    let e = one_step(&mut opt, &mut [0.0; 3], &[1.0; 3]).unwrap_err();
    assert!(e.to_string().contains("3 values but had 2"), "{e}");
    let e = one_step(&mut opt, &mut [0.0; 2], &[1.0; 3]).unwrap_err();
    assert!(e.to_string().contains("but its gradient 3"), "{e}");
}

#[test]
fn adam_bias_correction_is_finite_for_betas_next_to_one() {
    // The largest f32 below 1: 1 − β₂ᵗ is tiny but never 0.
    let b = 1.0f32 - f32::EPSILON / 2.0;
    let mut opt = Adam::new(0.1f32).betas(b, b);
    let mut t = [1.0f32];
    for _ in 0..10 {
        one_step(&mut opt, &mut t, &[2.0]).unwrap();
    }
    assert!(t[0].is_finite() && t[0] < 1.0, "{}", t[0]);
}

// ---------------------------------------------------------------- train

fn tiny_data<F: Element>() -> Dataset<F> {
    let x = Tensor::from_fn(&[4, 2], |i| F::from_f64((i[0] * 2 + i[1]) as f64 / 8.0)).unwrap();
    Dataset::new(x, vec![0, 1, 0, 1]).unwrap()
}

fn mse_loss<'t, F: Element>(
    out: gradsign::Var<'t, F>,
    b: &gradsign::train::Batch<'_, F>,
) -> gradsign::Result<gradsign::Var<'t, F>> {
    mse(out, b.targets_on(out.tape())?, Reduction::Mean)
}

fn train_hostile<F: Element + gradsign::nn::ModelElement>() {
    let data = tiny_data::<F>();
    let mlp = || {
        Mlp::builder(&[2, 3, 1])
            .hidden(Activation::Tanh)
            .output(Activation::Identity)
            .init(Init::LecunNormal)
            .seed(1)
            .build::<F>()
            .unwrap()
    };
    // usize::MAX epochs with early stopping: no capacity-overflow abort,
    // and it stops.
    let cfg = TrainConfig::default()
        .epochs(usize::MAX)
        .batch_size(usize::MAX)
        .stop_below(f64::INFINITY);
    let r = train(
        &mut mlp(),
        &mut Sgd::new(F::from_f64(0.1)),
        &data,
        &cfg,
        mse_loss,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(
        (r.steps, r.epoch_losses.len(), r.stopped_early),
        (1, 1, true)
    );
    // NaN stop_below would be ignored for ever.
    let cfg = TrainConfig::default().epochs(3).stop_below(f64::NAN);
    let e = train(
        &mut mlp(),
        &mut Sgd::new(F::from_f64(0.1)),
        &data,
        &cfg,
        mse_loss,
        &mut |_| {},
    )
    .unwrap_err();
    assert!(e.to_string().contains("stop_below must be a number"), "{e}");
    // A loss closure returning a vector.
    let cfg = TrainConfig::default().epochs(1);
    let e = train(
        &mut mlp(),
        &mut Sgd::new(F::from_f64(0.1)),
        &data,
        &cfg,
        |o, _| Ok(o),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            Error::RankMismatch {
                op: "train (the loss closure's result)",
                ..
            }
        ),
        "{e}"
    );
    // Zero batch size, a model of the wrong width, a NaN learning rate.
    let cfg0 = cfg.clone().batch_size(0);
    assert!(
        train(
            &mut mlp(),
            &mut Sgd::new(F::one()),
            &data,
            &cfg0,
            mse_loss,
            &mut |_| {}
        )
        .is_err()
    );
    let mut wide = Mlp::builder(&[5, 1])
        .hidden(Activation::Tanh)
        .output(Activation::Identity)
        .init(Init::LecunNormal)
        .seed(1)
        .build::<F>()
        .unwrap();
    assert!(
        train(
            &mut wide,
            &mut Sgd::new(F::one()),
            &data,
            &cfg,
            mse_loss,
            &mut |_| {}
        )
        .is_err()
    );
    let e = train(
        &mut mlp(),
        &mut Sgd::new(F::nan()),
        &data,
        &cfg,
        mse_loss,
        &mut |_| {},
    )
    .unwrap_err();
    assert!(e.to_string().contains("learning rate"), "{e}");
    // Zero epochs: nothing run, an empty report.
    let cfg = cfg.epochs(0);
    let r = train(
        &mut mlp(),
        &mut Sgd::new(F::one()),
        &data,
        &cfg,
        mse_loss,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!((r.steps, r.epoch_losses.len()), (0, 0));
}

#[test]
fn train_survives_hostile_configurations() {
    train_hostile::<f32>();
    train_hostile::<f64>();
}

// ---------------------------------------------------------------- ops

#[test]
fn powi_uses_the_exact_exponent_in_f32() {
    // 2²⁴ + 1 is not an f32: stored as one, it became 2²⁴ and (−1)ⁿ = +1.
    let n = (1 << 24) + 1;
    let tape = Tape::<f32>::new();
    let x = tape.var_scalar(-1.0);
    let y = x.powi(n);
    assert_eq!(y.item().unwrap(), -1.0);
    // d/dx xⁿ = n·xⁿ⁻¹ = n at x = −1 (n − 1 even).
    assert_eq!(y.backward().unwrap().get(x).unwrap(), &[n as f32]);
    for n in [i32::MIN, i32::MAX, -1, 0, 1] {
        let tape = Tape::<f64>::new();
        let x = tape.var_scalar(1.0);
        let y = x.try_powi(n).unwrap();
        assert_eq!(y.item().unwrap(), 1.0, "{n}");
        assert_eq!(
            y.backward().unwrap().get(x).unwrap(),
            &[f64::from(n)],
            "{n}"
        );
    }
}

fn means_of_finite_values_stay_finite<F: Element>() {
    let big = F::max_value();
    let tape = Tape::<F>::new();
    let x = tape.var(&Tensor::full(&[3, 2], big).unwrap());
    let m = x.mean().unwrap();
    // Six terms of MAX/6 (rounded) sum to MAX within a few ulps.
    let close = |v: F| (v - big).abs() <= big * F::from_f64(1e-6);
    assert!(close(m.item().unwrap()), "{}", m.item().unwrap());
    assert_eq!(
        m.backward().unwrap().get(x).unwrap()[0],
        F::from_f64(1.0 / 6.0)
    );
    let ma = x.mean_axis(0, false).unwrap();
    assert!(
        ma.value().as_slice().iter().all(|&v| close(v)),
        "{:?}",
        ma.value()
    );
    // The sum does overflow: that is its value.
    assert!(x.sum().item().unwrap().is_infinite());
    // An infinite or NaN element keeps the mean non-finite.
    let y = tape.var(&Tensor::from_vec(vec![big, F::infinity()], &[2]).unwrap());
    assert!(y.mean().unwrap().item().unwrap().is_infinite());
    let z = tape.var(&Tensor::from_vec(vec![big, F::nan()], &[2]).unwrap());
    assert!(z.mean().unwrap().item().unwrap().is_nan());
    // Losses with Mean reduction: the mean of finite terms is finite.
    let p = tape.var(&Tensor::full(&[4, 1], big / F::from_f64(2.0)).unwrap());
    let t = tape.constant(&Tensor::full(&[4, 1], -big / F::from_f64(2.0)).unwrap());
    let l = mae(p, t, Reduction::Mean).unwrap();
    assert_eq!(l.item().unwrap(), big);
    let lp = tape.var(&Tensor::full(&[4, 2], -big).unwrap());
    let l = nll(lp, &[0, 1, 0, 1], Reduction::Mean).unwrap();
    assert_eq!(l.item().unwrap(), big);
    // Cross-entropy rows of loss ≈ 2·10³⁸ (f32) or 10³⁰⁸ (f64) each.
    let h = big / F::from_f64(2.5);
    let logits = tape.var(&Tensor::from_vec(vec![-h, h, -h, h], &[2, 2]).unwrap());
    let l = softmax_cross_entropy(logits, &[0, 0], Reduction::Mean).unwrap();
    let v = l.item().unwrap();
    assert!(v.is_finite() && v > h, "{v}");
    let g = l.backward().unwrap();
    assert!(g.get(logits).unwrap().iter().all(|x| x.is_finite()));
}

#[test]
fn the_mean_of_finite_values_does_not_overflow() {
    means_of_finite_values_stay_finite::<f32>();
    means_of_finite_values_stay_finite::<f64>();
}

proptest! {
    #[test]
    fn a_mean_lies_between_the_extremes(
        xs in prop::collection::vec(prop_oneof![-1e38f32..1e38, -3.4e38f32..3.4e38, -1.0f32..1.0], 1..40),
    ) {
        let tape = Tape::<f32>::new();
        let x = tape.var(&Tensor::from_slice(&xs, &[xs.len()]).unwrap());
        let m = x.mean().unwrap().item().unwrap();
        let (lo, hi) = xs.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
        let slack = (hi - lo).abs().max(hi.abs()) * 1e-5;
        prop_assert!(m.is_finite(), "{m} from {xs:?}");
        prop_assert!(m >= lo - slack && m <= hi + slack, "{m} not in [{lo}, {hi}]");
    }
}

fn engine_edges<F: Element>() {
    let tape = Tape::<F>::new();
    let x = tape.var(&Tensor::<F>::ones(&[2, 3]).unwrap());
    // Shapes and axes.
    assert!(matches!(
        x.reshape(&[usize::MAX, 2]),
        Err(Error::TooLarge { op: "reshape", .. })
    ));
    assert!(matches!(
        x.reshape(&[1, 1, 1, 2, 3]),
        Err(Error::OutOfDomain { op: "reshape", .. })
    ));
    assert!(matches!(
        x.reshape(&[0, usize::MAX]),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        x.sum_axis(usize::MAX, false),
        Err(Error::AxisOutOfRange { .. })
    ));
    assert!(matches!(
        x.mean_axis(2, true),
        Err(Error::AxisOutOfRange { .. })
    ));
    assert!(matches!(
        x.slice(usize::MAX, 0, 1),
        Err(Error::AxisOutOfRange { .. })
    ));
    assert!(matches!(
        x.slice(1, 2, 1),
        Err(Error::OutOfDomain { op: "slice", .. })
    ));
    assert!(matches!(
        x.slice(1, 0, usize::MAX),
        Err(Error::OutOfDomain { op: "slice", .. })
    ));
    assert!(matches!(
        concat::<F>(&[], 0),
        Err(Error::OutOfDomain { op: "concat", .. })
    ));
    assert!(matches!(
        concat(&[x, x], usize::MAX),
        Err(Error::AxisOutOfRange { .. })
    ));
    assert!(matches!(
        x.gather(&[0, 3]),
        Err(Error::IndexOutOfRange { index: 3, .. })
    ));
    assert!(matches!(
        x.gather(&[0, usize::MAX]),
        Err(Error::IndexOutOfRange { .. })
    ));
    assert!(matches!(x.gather(&[0]), Err(Error::ShapeMismatch { .. })));
    assert!(matches!(
        x.index_select(0, &[usize::MAX]),
        Err(Error::IndexOutOfRange { .. })
    ));
    assert!(matches!(
        x.clamp(F::one(), F::zero()),
        Err(Error::OutOfDomain { op: "clamp", .. })
    ));
    assert!(matches!(
        x.clamp(F::nan(), F::one()),
        Err(Error::OutOfDomain { op: "clamp", .. })
    ));
    assert!(x.clamp(F::neg_infinity(), F::infinity()).is_ok());
    assert!(matches!(
        tape.var_scalar(F::one()).transpose(),
        Err(Error::RankMismatch { .. })
    ));
    assert!(x.mean_axis(0, false).unwrap().sum().backward().is_ok());
    // Empty reductions: the mean of nothing is an error, the sum is 0.
    let e = tape.var(&Tensor::<F>::zeros(&[0, 3]).unwrap());
    assert!(matches!(e.mean(), Err(Error::Empty { op: "mean", .. })));
    assert!(matches!(e.mean_axis(0, false), Err(Error::Empty { .. })));
    assert_eq!(e.sum().item().unwrap(), F::zero());
    // Products of empty matrices.
    let a = tape.var(&Tensor::<F>::zeros(&[0, 4]).unwrap());
    let b = tape.var(&Tensor::<F>::zeros(&[4, 0]).unwrap());
    assert_eq!(a.matmul(b).unwrap().dims(), vec![0, 0]);
    assert_eq!(b.matmul(a).unwrap().value().as_slice(), &[F::zero(); 16]);
    let r5 = Tensor::<F>::zeros(&[1, 1, 1, 1, 1]);
    assert!(matches!(r5, Err(Error::RankMismatch { .. })));
    assert!(matches!(
        Tensor::<F>::zeros(&[1 << 40, 1 << 40]),
        Err(Error::TooLarge { .. })
    ));
    assert!(matches!(
        Tensor::<F>::zeros(&[1 << 62]),
        Err(Error::TooLarge { .. })
    ));
    assert!(matches!(x.matmul(x), Err(Error::ShapeMismatch { .. })));
    let huge = tape.var(&Tensor::<F>::zeros(&[1 << 40, 0]).unwrap());
    let huge_r = tape.var(&Tensor::<F>::zeros(&[0, 1 << 40]).unwrap());
    assert!(huge.matmul(huge_r).is_err());
    // Leaves and backward.
    assert!(matches!(
        tape.constant_from_slice(&[F::one(); 3], &[2, 2]),
        Err(Error::DataLength { .. })
    ));
    assert!(
        tape.var_from_slice(&[F::one(); 3], &[usize::MAX, 2])
            .is_err()
    );
    assert!(matches!(x.backward(), Err(Error::NonScalarRoot { .. })));
    assert!(matches!(
        x.backward_with_seed(&Tensor::<F>::ones(&[3, 2]).unwrap()),
        Err(Error::ShapeMismatch { .. })
    ));
    let other = Tape::<F>::new();
    let y = other.var_scalar(F::one());
    assert!(matches!(x.try_add(y), Err(Error::ForeignVar { .. })));
    assert!(matches!(
        concat(
            &[
                tape.var_scalar(F::one()).reshape(&[1]).unwrap(),
                y.reshape(&[1]).unwrap()
            ],
            0
        ),
        Err(Error::ForeignVar { .. })
    ));
    let g = x.sum().backward().unwrap();
    assert!(matches!(g.get(y), Err(Error::ForeignVar { .. })));
    assert!(matches!(
        Gradients::<F>::new().get(x),
        Err(Error::ForeignVar { .. })
    ));
    let later = tape.var_scalar(F::one());
    assert!(matches!(g.get(later), Err(Error::NoGradient { .. })));
}

#[test]
fn engine_edges_are_errors() {
    engine_edges::<f32>();
    engine_edges::<f64>();
}

#[test]
fn a_chain_of_a_million_nodes_runs_backward_without_recursion() {
    let tape = Tape::<f32>::new();
    let x = tape.var_scalar(1.0);
    let mut y = x;
    for _ in 0..1_000_000 {
        y = y * 1.0;
    }
    assert_eq!(y.backward().unwrap().get(x).unwrap(), &[1.0]);
}

// ---------------------------------------------------------------- losses

fn loss_edges<F: Element>() {
    let tape = Tape::<F>::new();
    let logits = tape.var(&Tensor::<F>::zeros(&[2, 3]).unwrap());
    for labels in [&[0, 3][..], &[usize::MAX, 0], &[0], &[0, 0, 0]] {
        assert!(
            softmax_cross_entropy(logits, labels, Reduction::Mean).is_err(),
            "{labels:?}"
        );
        assert!(nll(logits, labels, Reduction::Mean).is_err(), "{labels:?}");
    }
    let empty = tape.var(&Tensor::<F>::zeros(&[0, 3]).unwrap());
    assert!(matches!(
        softmax_cross_entropy(empty, &[], Reduction::Mean),
        Err(Error::Empty { .. })
    ));
    assert_eq!(
        softmax_cross_entropy(empty, &[], Reduction::Sum)
            .unwrap()
            .item()
            .unwrap(),
        F::zero()
    );
    let no_class = tape.var(&Tensor::<F>::zeros(&[1, 0]).unwrap());
    assert!(softmax_cross_entropy(no_class, &[0], Reduction::Sum).is_err());
    let p = tape.var(&Tensor::<F>::zeros(&[3]).unwrap());
    let t = tape.constant(&Tensor::<F>::zeros(&[4]).unwrap());
    assert!(matches!(
        mse(p, t, Reduction::Mean),
        Err(Error::ShapeMismatch { .. })
    ));
    let none = tape.var(&Tensor::<F>::zeros(&[0]).unwrap());
    assert!(matches!(
        mse(none, none, Reduction::Mean),
        Err(Error::Empty { .. })
    ));
    for delta in [F::nan(), F::zero(), -F::one(), F::infinity()] {
        assert!(
            matches!(
                huber(p, p, delta, Reduction::Mean),
                Err(Error::OutOfDomain { op: "huber", .. })
            ),
            "{delta}"
        );
    }
    for bad in [F::nan(), F::from_f64(1.5), -F::min_positive_value()] {
        let t = tape.constant(&Tensor::full(&[3], bad).unwrap());
        assert!(
            matches!(
                bce_with_logits(p, t, Reduction::Mean),
                Err(Error::OutOfDomain { .. })
            ),
            "{bad}"
        );
    }
    // Huge finite logits: finite loss, finite gradient.
    let big = F::from_f64(1e38);
    let l = tape.var(&Tensor::from_vec(vec![big, -big, big, -big], &[2, 2]).unwrap());
    let ce = softmax_cross_entropy(l, &[0, 0], Reduction::Mean).unwrap();
    assert_eq!(ce.item().unwrap(), F::zero());
    let ce = softmax_cross_entropy(l, &[1, 1], Reduction::Mean).unwrap();
    assert_eq!(ce.item().unwrap(), big + big);
    assert!(
        ce.backward()
            .unwrap()
            .get(l)
            .unwrap()
            .iter()
            .all(|g| g.is_finite())
    );
    // NaN logits propagate (documented), and checked mode names them.
    let nan = tape.var(&Tensor::full(&[1, 2], F::nan()).unwrap());
    assert!(
        softmax_cross_entropy(nan, &[0], Reduction::Mean)
            .unwrap()
            .item()
            .unwrap()
            .is_nan()
    );
    let mut checked = Tape::<F>::new();
    checked.set_checked(true);
    let nan = checked.var(&Tensor::full(&[1, 2], F::nan()).unwrap());
    assert!(matches!(
        softmax_cross_entropy(nan, &[0], Reduction::Mean),
        Err(Error::NonFinite { .. })
    ));
}

#[test]
fn loss_edges_are_errors_or_documented_values() {
    loss_edges::<f32>();
    loss_edges::<f64>();
}

// ---------------------------------------------------------------- gradcheck

fn sq<'t>(
    _: &'t Tape<f64>,
    v: &[gradsign::Var<'t, f64>],
) -> gradsign::Result<gradsign::Var<'t, f64>> {
    Ok(v[0].square().sum())
}

#[test]
fn gradcheck_refuses_configurations_that_check_nothing() {
    let x = [Tensor::from_vec(vec![0.5, 1.0], &[2]).unwrap()];
    let cfg = GradcheckConfig::default();
    for step in [
        0.0,
        -1e-6,
        f64::NAN,
        f64::INFINITY,
        5e-324,
        f64::MIN_POSITIVE,
    ] {
        let c = cfg.clone().step(step);
        let e = gradcheck(sq, &x, &c).unwrap_err();
        assert!(
            matches!(
                e,
                Error::OutOfDomain {
                    op: "gradcheck",
                    ..
                }
            ),
            "{step}: {e}"
        );
    }
    // A step that vanishes next to the input: x ± h/2 = x for x = 10¹⁰.
    let big = [Tensor::from_vec(vec![1e10], &[1]).unwrap()];
    let e = gradcheck(sq, &big, &cfg.clone().step(1e-7)).unwrap_err();
    assert!(e.to_string().contains("x ± h/2 ≠ x"), "{e}");
    for (atol, rtol) in [
        (f64::NAN, 0.0),
        (0.0, f64::NAN),
        (-1.0, 0.0),
        (f64::INFINITY, 0.0),
        (0.0, -1e-5),
    ] {
        let c = cfg.clone().atol(atol).rtol(rtol);
        let e = gradcheck(sq, &x, &c).unwrap_err();
        assert!(
            e.to_string().contains("must be finite and ≥ 0"),
            "{atol} {rtol}: {e}"
        );
    }
    // Nothing to check.
    assert!(matches!(
        gradcheck(|t, _| Ok(t.constant_scalar(1.0)), &[], &cfg),
        Err(Error::Empty { .. })
    ));
    let empty = [Tensor::<f64>::zeros(&[0]).unwrap()];
    assert!(matches!(
        gradcheck(|_, v| Ok(v[0].sum()), &empty, &cfg),
        Err(Error::Empty { .. })
    ));
    let dirs = cfg.clone().directions(0);
    assert!(matches!(gradcheck(sq, &x, &dirs), Err(Error::Empty { .. })));
    // A function that is NaN, or not a scalar.
    let e = gradcheck(|_, v| Ok(v[0].sum() * f64::NAN), &x, &cfg).unwrap_err();
    assert!(
        matches!(
            e,
            Error::NonFinite {
                op: "gradcheck",
                ..
            }
        ),
        "{e}"
    );
    assert!(matches!(
        gradcheck(|_, v| Ok(v[0]), &x, &cfg),
        Err(Error::NonScalarRoot { .. })
    ));
    // Still fine: a large step, a correct gradient.
    let r = gradcheck(sq, &x, &cfg.step(1e-3)).unwrap();
    assert!(r.passed(), "{r}");
}

// ---------------------------------------------------------------- metrics

#[test]
fn metrics_edges() {
    assert!(ConfusionMatrix::from_predictions(&[], &[], usize::MAX).is_err());
    assert!(ConfusionMatrix::from_predictions(&[], &[], 1 << 40).is_err());
    assert!(ConfusionMatrix::from_predictions(&[0], &[0, 1], 2).is_err());
    assert!(ConfusionMatrix::from_predictions(&[usize::MAX], &[0], 2).is_err());
    let m = ConfusionMatrix::from_predictions(&[], &[], 3).unwrap();
    assert_eq!(
        (m.accuracy(), m.recall(0), m.precision(0), m.total()),
        (0.0, None, None, 0)
    );
    let out = Tensor::<f32>::zeros(&[0, 2]).unwrap();
    assert!(matches!(accuracy(&out, &[], 0.0), Err(Error::Empty { .. })));
    let out = Tensor::<f64>::zeros(&[2, 2, 1]).unwrap();
    assert!(matches!(
        accuracy(&out, &[0, 0], 0.0),
        Err(Error::RankMismatch { .. })
    ));
    let out = Tensor::<f64>::zeros(&[2, 2]).unwrap();
    assert!(ConfusionMatrix::from_outputs(&out, &[0, 5], 2, 0.0).is_err());
    assert!(ConfusionMatrix::from_outputs(&out, &[0], 2, 0.0).is_err());
}

#[cfg(target_os = "linux")]
#[test]
fn a_large_but_sparse_confusion_matrix_commits_only_the_cells_it_uses() {
    // 40 000 classes: 1.6·10⁹ counts, 12.8 GB. Writing every zero would
    // commit them all (the old code grew the resident set by 12.8 GB).
    let rss = || {
        let s = std::fs::read_to_string("/proc/self/statm").unwrap();
        let pages: u64 = s.split_whitespace().nth(1).unwrap().parse().unwrap();
        pages * 4096
    };
    let before = rss();
    match ConfusionMatrix::from_predictions(&[0, 39_999], &[39_999, 0], 40_000) {
        Ok(m) => {
            assert_eq!(m.count(39_999, 0), 1);
            assert!(
                // Other tests of this binary run alongside: their memory
                // may come or go, but not 12.8 GB of it.
                rss().saturating_sub(before) < 1 << 30,
                "{} bytes committed",
                rss().saturating_sub(before)
            );
        }
        // A machine that cannot reserve 12.8 GB refuses it: also fine.
        Err(e) => assert!(matches!(e, Error::TooLarge { .. }), "{e}"),
    }
}

// ---------------------------------------------------------------- testing

#[cfg(feature = "proptest")]
#[test]
fn invalid_strategy_ranges_panic_at_construction_naming_the_range() {
    use gradsign::testing::{kink_free_tensor, positive_batch, random_mlp};
    let msg = |f: fn()| {
        let e = std::panic::catch_unwind(f).unwrap_err();
        e.downcast_ref::<String>().cloned().unwrap_or_default()
    };
    assert!(msg(|| drop(positive_batch(0..0, 3))).contains("batch range 0..0 is empty"));
    assert!(
        msg(|| drop(positive_batch(2, std::ops::Range { start: 5, end: 2 })))
            .contains("width range 5..2 is empty")
    );
    assert!(msg(|| drop(positive_batch(1 << 40, 1 << 40))).contains("more than"));
    assert!(msg(|| drop(kink_free_tensor(&[1 << 40, 1 << 40], 0.1))).contains("kink_free_tensor"));
    assert!(msg(|| drop(kink_free_tensor(&[1; 5], 0.1))).contains("kink_free_tensor"));
    assert!(msg(|| drop(random_mlp(2, 1..=2, 0..=3, Just(Activation::Tanh)))).contains("admits 0"));
}

// ---------------------------------------------------------------- dual

#[test]
fn dual_numbers_propagate_nan_by_ieee_rules() {
    use gradsign::dual::Dual;
    use num_traits::Float;
    let x = Dual::new(f64::NAN, 1.0);
    assert!((x * x).value.is_nan());
    assert!(x.exp().tangent.is_nan());
    let y = Dual::new(2.0f32, f32::NAN);
    assert_eq!((y * y).value, 4.0);
    assert!((y * y).tangent.is_nan());
    assert!(Dual::new(0.0f64, 1.0).sqrt().tangent.is_infinite());
}
