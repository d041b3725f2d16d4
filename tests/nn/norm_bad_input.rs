//! Hostile input to the normalisation layers: each a clear `Err` naming the
//! layer and the offending shape or value, never a panic or a silent NaN.

use gradsign::nn::{self, BatchNorm, Init, LayerNorm, Linear, MeanOnlyBatchNorm, WeightNormLinear};
use gradsign::{Error, Tape, Tensor};

fn x64(dims: &[usize]) -> Tensor<f64> {
    Tensor::rand_uniform(dims, -1.0, 1.0, 1).unwrap()
}

fn err_text<T: std::fmt::Debug>(r: gradsign::Result<T>) -> (Error, String) {
    let e = r.unwrap_err();
    let s = e.to_string();
    (e, s)
}

#[test]
fn a_batch_of_one_in_training_mode_is_refused_as_pytorch_does() {
    let bn = BatchNorm::<f64>::new(3).unwrap();
    for dims in [vec![1, 3], vec![1, 3, 1], vec![1, 3, 1, 1]] {
        let (e, s) = err_text(nn::predict(&bn, &x64(&dims)));
        assert!(
            matches!(
                e,
                Error::OutOfDomain {
                    op: "BatchNorm::forward",
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(
            s.contains("values per channel in training mode must be more than one")
                && s.contains(&format!("{dims:?}")),
            "{s}"
        );
    }
    // One example with several values per channel is a valid batch (PyTorch agrees).
    assert!(nn::predict(&bn, &x64(&[1, 3, 2, 2])).is_ok());
    let m = MeanOnlyBatchNorm::<f32>::new(2).unwrap();
    let (e, _) = err_text(nn::predict(&m, &Tensor::zeros(&[1, 2]).unwrap()));
    assert!(matches!(
        e,
        Error::OutOfDomain {
            op: "MeanOnlyBatchNorm::forward",
            ..
        }
    ));
    // Evaluation mode needs no batch statistics.
    let mut bn = bn;
    nn::Module::<f64>::set_training(&mut bn, false);
    assert!(nn::predict(&bn, &x64(&[1, 3])).is_ok());
}

#[test]
fn zero_variance_channels_stay_finite_thanks_to_eps() {
    for value in [0.0, 1.0, -3.5e7, 1e-300] {
        let bn = BatchNorm::<f64>::new(2).unwrap();
        let x = Tensor::from_vec(vec![value, 1.0, value, 2.0, value, 3.0], &[3, 2]).unwrap();
        let tape = Tape::<f64>::new();
        let xv = tape.var(&x);
        let (y, _) = nn::forward(&bn, &tape, xv).unwrap();
        let up = tape
            .constant(&Tensor::from_vec(vec![1.0, 0.5, -2.0, 1.0, 0.25, -1.0], &[3, 2]).unwrap());
        let g = (y * up).sum().backward().unwrap();
        let y = y.value();
        for b in 0..3 {
            let yi = y.as_slice()[2 * b];
            assert!(
                yi.is_finite() && yi.abs() < 1e-6 * (1.0 + value.abs()),
                "{value}: {yi}"
            );
        }
        assert!(g.get(xv).unwrap().iter().all(|d| d.is_finite()));
    }
    // f32, and LayerNorm on a constant example.
    let bn = BatchNorm::<f32>::new(1).unwrap();
    let y = nn::predict(&bn, &Tensor::full(&[4, 1], 7.0f32).unwrap()).unwrap();
    assert!(
        y.as_slice().iter().all(|v| v.is_finite() && v.abs() < 1e-3),
        "{y:?}"
    );
    let ln = LayerNorm::<f32>::new(&[3]).unwrap();
    let y = nn::predict(&ln, &Tensor::full(&[2, 3], -1e30f32).unwrap()).unwrap();
    assert!(y.as_slice().iter().all(|v| v.is_finite()), "{y:?}");
}

#[test]
fn a_channel_axis_that_does_not_match_is_refused_naming_both() {
    let bn = BatchNorm::<f64>::new(3).unwrap();
    for dims in [vec![4, 2], vec![4, 4, 2, 2], vec![3, 4]] {
        let (e, s) = err_text(nn::predict(&bn, &x64(&dims)));
        assert!(
            matches!(
                e,
                Error::ShapeMismatch {
                    op: "BatchNorm::forward",
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(s.contains(&format!("{dims:?}")) && s.contains("[3]"), "{s}");
    }
    let m = MeanOnlyBatchNorm::<f64>::new(3).unwrap();
    assert!(matches!(
        nn::predict(&m, &x64(&[4, 2])),
        Err(Error::ShapeMismatch { .. })
    ));
    let ln = LayerNorm::<f64>::new(&[2, 3]).unwrap();
    let (e, s) = err_text(nn::predict(&ln, &x64(&[4, 3, 2])));
    assert!(
        matches!(
            e,
            Error::ShapeMismatch {
                op: "LayerNorm::forward",
                ..
            }
        ) && s.contains("[4, 3, 2]"),
        "{s}"
    );
}

#[test]
fn wrong_ranks_are_refused() {
    let bn = BatchNorm::<f64>::new(2).unwrap();
    for dims in [vec![2], vec![]] {
        let (e, _) = err_text(nn::predict(&bn, &x64(&dims)));
        assert!(
            matches!(
                e,
                Error::RankMismatch {
                    op: "BatchNorm::forward",
                    ..
                }
            ),
            "{dims:?}: {e:?}"
        );
    }
    // LayerNorm needs a batch dimension before the normalised ones.
    let ln = LayerNorm::<f64>::new(&[2]).unwrap();
    assert!(matches!(
        nn::predict(&ln, &x64(&[2])),
        Err(Error::RankMismatch { .. })
    ));
    let wn = WeightNormLinear::<f64>::init(2, 2, Init::LecunNormal, true, 1).unwrap();
    assert!(matches!(
        nn::predict(&wn, &x64(&[2])),
        Err(Error::RankMismatch { .. })
    ));
    assert!(matches!(
        nn::predict(&wn, &x64(&[3, 4])),
        Err(Error::ShapeMismatch { .. })
    ));
}

#[test]
fn empty_batches_are_refused() {
    let bn = BatchNorm::<f64>::new(2).unwrap();
    for dims in [vec![0, 2], vec![3, 2, 0, 4]] {
        assert!(
            matches!(nn::predict(&bn, &x64(&dims)), Err(Error::Empty { .. })),
            "{dims:?}"
        );
    }
    let mut eval = bn.clone();
    nn::Module::<f64>::set_training(&mut eval, false);
    assert!(matches!(
        nn::predict(&eval, &x64(&[0, 2])),
        Err(Error::Empty { .. })
    ));
    let ln = LayerNorm::<f64>::new(&[2]).unwrap();
    assert!(matches!(
        nn::predict(&ln, &x64(&[0, 2])),
        Err(Error::Empty { .. })
    ));
    let wn = WeightNormLinear::<f64>::init(2, 2, Init::LecunNormal, true, 1).unwrap();
    assert!(matches!(
        nn::predict(&wn, &x64(&[0, 2])),
        Err(Error::Empty { .. })
    ));
    let m = MeanOnlyBatchNorm::<f64>::new(2).unwrap();
    assert!(matches!(
        nn::predict(&m, &x64(&[0, 2])),
        Err(Error::Empty { .. })
    ));
}

#[test]
fn non_finite_batches_are_refused_not_propagated() {
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let x = Tensor::from_vec(vec![1.0, bad, 2.0, 0.0], &[2, 2]).unwrap();
        let (e, s) = err_text(nn::predict(&BatchNorm::<f64>::new(2).unwrap(), &x));
        assert!(
            matches!(
                e,
                Error::NonFinite {
                    op: "BatchNorm::forward",
                    ..
                }
            ) && s.contains("group 1"),
            "{s}"
        );
        assert!(matches!(
            nn::predict(&LayerNorm::<f64>::new(&[2]).unwrap(), &x),
            Err(Error::NonFinite {
                op: "LayerNorm::forward",
                ..
            })
        ));
        assert!(matches!(
            nn::predict(&MeanOnlyBatchNorm::<f64>::new(2).unwrap(), &x),
            Err(Error::NonFinite { .. })
        ));
    }
    // Finite f32 values whose spread squared overflows f32.
    let x = Tensor::from_vec(vec![3e19f32, -3e19], &[2, 1]).unwrap();
    let (e, s) = err_text(nn::predict(&BatchNorm::<f32>::new(1).unwrap(), &x));
    assert!(
        matches!(e, Error::NonFinite { .. }) && s.contains("variance"),
        "{s}"
    );
    // A failed forward pass leaves the running statistics untouched.
    let bn = BatchNorm::<f64>::new(1).unwrap();
    let _ = nn::predict(
        &bn,
        &Tensor::from_vec(vec![1.0, f64::NAN], &[2, 1]).unwrap(),
    );
    assert_eq!(
        (bn.running_mean(), bn.running_var()),
        (vec![0.0], vec![1.0])
    );
}

#[test]
fn eps_and_momentum_are_validated_in_the_element_type() {
    for eps in [0.0, -1e-5, f64::NAN, f64::INFINITY, 1e-50] {
        let (e, s) = err_text(BatchNorm::<f32>::new(2).unwrap().with_eps(eps));
        assert!(
            matches!(
                e,
                Error::OutOfDomain {
                    op: "BatchNorm::with_eps",
                    ..
                }
            ) && s.contains("f32"),
            "{s}"
        );
        assert!(LayerNorm::<f32>::new(&[2]).unwrap().with_eps(eps).is_err());
    }
    // 1e-50 is a fine f64; the subnormal 1e-40 is positive in f32.
    assert!(BatchNorm::<f64>::new(2).unwrap().with_eps(1e-50).is_ok());
    let tiny = BatchNorm::<f32>::new(1).unwrap().with_eps(1e-40).unwrap();
    let y = nn::predict(&tiny, &Tensor::full(&[3, 1], 2.0f32).unwrap()).unwrap();
    assert!(y.as_slice().iter().all(|v| v.is_finite()));
    // An f64 model whose eps is 0 in f32 refuses an f32 pass.
    let bn = BatchNorm::<f64>::new(1).unwrap().with_eps(1e-50).unwrap();
    let tape = Tape::<f32>::new();
    let x = tape.constant(&Tensor::from_vec(vec![1.0f32, 2.0], &[2, 1]).unwrap());
    let e = nn::Module::forward(&bn, x, &mut nn::Forward::new(&tape)).unwrap_err();
    assert!(
        matches!(
            e,
            Error::OutOfDomain {
                op: "BatchNorm::forward",
                ..
            }
        ),
        "{e}"
    );
    // -1e-300 is negative in f64 but rounds to -0 in f32, a valid momentum.
    assert!(
        BatchNorm::<f64>::new(2)
            .unwrap()
            .with_momentum(-1e-300)
            .is_err()
    );
    assert!(
        BatchNorm::<f32>::new(2)
            .unwrap()
            .with_momentum(-1e-300)
            .is_ok()
    );
    for m in [
        -0.1,
        1.1,
        1.0 + 1e-6,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
    ] {
        let (e, _) = err_text(BatchNorm::<f64>::new(2).unwrap().with_momentum(m));
        assert!(
            matches!(
                e,
                Error::OutOfDomain {
                    op: "BatchNorm::with_momentum",
                    ..
                }
            ),
            "{m}"
        );
        assert!(
            MeanOnlyBatchNorm::<f32>::new(2)
                .unwrap()
                .with_momentum(m)
                .is_err()
        );
    }
    assert!(BatchNorm::<f32>::new(2).unwrap().with_momentum(0.0).is_ok());
    assert!(BatchNorm::<f32>::new(2).unwrap().with_momentum(1.0).is_ok());
}

#[test]
fn constructors_and_setters_refuse_degenerate_settings() {
    assert!(matches!(
        BatchNorm::<f64>::new(0),
        Err(Error::OutOfDomain { .. })
    ));
    assert!(matches!(
        MeanOnlyBatchNorm::<f64>::new(0),
        Err(Error::OutOfDomain { .. })
    ));
    assert!(LayerNorm::<f64>::new(&[]).is_err());
    assert!(LayerNorm::<f64>::new(&[3, 0]).is_err());
    assert!(LayerNorm::<f64>::new(&[usize::MAX, 4]).is_err());
    let mut bn = BatchNorm::<f64>::new(2).unwrap();
    let (e, _) = err_text(bn.set_running_stats(&[0.0, f64::NAN], &[1.0, 1.0]));
    assert!(matches!(e, Error::NonFinite { .. }));
    assert!(
        bn.set_running_stats(&[0.0, 0.0], &[1.0, f64::INFINITY])
            .is_err()
    );
    assert!(bn.set_running_stats(&[0.0, 0.0], &[1.0, -1e-9]).is_err());
    assert!(bn.set_running_stats(&[0.0], &[1.0, 1.0]).is_err());
    assert_eq!(
        (bn.running_mean(), bn.running_var()),
        (vec![0.0; 2], vec![1.0; 2])
    );
    let mut m = MeanOnlyBatchNorm::<f32>::new(2).unwrap();
    assert!(m.set_running_mean(&[f32::NAN, 0.0]).is_err());
    assert!(m.set_running_mean(&[0.0, 0.0, 0.0]).is_err());
}

#[test]
fn weight_norm_refuses_directions_that_are_zero_or_not_finite() {
    let g = Tensor::ones(&[2]).unwrap();
    for row in [[0.0, 0.0], [f64::NAN, 1.0], [f64::INFINITY, 0.0]] {
        let v = Tensor::from_vec(vec![1.0, 2.0, row[0], row[1]], &[2, 2]).unwrap();
        let (e, s) = err_text(WeightNormLinear::new(v, g.clone(), None));
        assert!(
            matches!(e, Error::OutOfDomain { .. }) && s.contains("row 1"),
            "{s}"
        );
    }
    assert!(WeightNormLinear::<f64>::init(2, 2, Init::Zeros, true, 0).is_err());
    assert!(
        WeightNormLinear::from_linear(&Linear::<f64>::init(2, 2, Init::Zeros, true, 0).unwrap())
            .is_err()
    );
    let v = Tensor::from_vec(vec![1.0, 2.0], &[1, 2]).unwrap();
    assert!(matches!(
        WeightNormLinear::new(v, g.clone(), None),
        Err(Error::ShapeMismatch { .. })
    ));
    // A row that is 0 once in f32: the f32 pass refuses it.
    let wn = WeightNormLinear::new(
        Tensor::from_vec(vec![1.0, 2.0, 1e-50, -1e-50], &[2, 2]).unwrap(),
        g,
        None,
    )
    .unwrap();
    assert!(nn::predict(&wn, &x64(&[2, 2])).is_ok());
    let tape = Tape::<f32>::new();
    let x = tape.constant(&Tensor::zeros(&[2, 2]).unwrap());
    let e = nn::Module::forward(&wn, x, &mut nn::Forward::new(&tape)).unwrap_err();
    assert!(
        e.to_string()
            .contains("the norm of row 1 of v in f32 must be finite and > 0"),
        "{e}"
    );
    // A row zeroed through the public field after construction.
    let mut wn = wn;
    wn.v.as_mut_slice()[..2].fill(0.0);
    assert!(wn.weight().is_err());
    assert!(nn::predict(&wn, &x64(&[2, 2])).is_err());
}
