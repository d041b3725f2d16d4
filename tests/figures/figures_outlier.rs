//! The claims example 11 (the outlier in the whole network) rests on,
//! checked through the library's dense Hessians (the example uses the
//! matrix-free operators and Lanczos): on raw iris a sigmoid network's
//! Hessian has a top eigenvalue several times the centred network's, and
//! its first layer's top curvature lies along the mean input; centred, it
//! does not; BatchNorm after the first Linear makes raw and centred inputs
//! give the same spectrum, with the outlier gone.

use gradsign::activation::Activation::{self, Sigmoid};
use gradsign::curvature::Likelihood;
use gradsign::curvature::Objective;
use gradsign::curvature::spectrum::{Spectrum, feature_mean};
use gradsign::data::{Dataset, iris};
use gradsign::nn::{BatchNorm, Init, Linear, Sequential};
use gradsign::optim::Sgd;
use gradsign::train::{Batch, TrainConfig, train};
use gradsign::{Tensor, Var};

const HIDDEN: usize = 16;

fn cross_entropy<'t>(out: Var<'t, f64>, b: &Batch<'_, f64>) -> gradsign::Result<Var<'t, f64>> {
    Likelihood::Categorical.loss(out, b.targets_on(out.tape())?)
}

/// The example's network and training (4-16-3, 300 epochs of full-batch
/// SGD at η = 0.5), on raw or centred iris.
fn trained(act: Activation, bn: bool, centre: bool) -> (Sequential<f64>, Dataset<f64>) {
    let raw = iris::<f64>();
    let means = feature_mean(raw.features()).unwrap();
    let data = if centre {
        raw.map_features(|x| {
            Tensor::from_fn(x.dims(), |ix| {
                x.as_slice()[ix[0] * 4 + ix[1]] - means[ix[1]]
            })
        })
        .unwrap()
    } else {
        raw
    };
    let data = Dataset::with_targets(
        data.features().clone(),
        data.labels().to_vec(),
        data.one_hot().unwrap(),
    )
    .unwrap();
    let mut net =
        Sequential::new().push(Linear::init(4, HIDDEN, Init::LecunNormal, true, 1).unwrap());
    if bn {
        net.add(BatchNorm::new(HIDDEN).unwrap());
    }
    net.add(act);
    net.add(Linear::init(HIDDEN, 3, Init::LecunNormal, true, 2).unwrap());
    let mut config = TrainConfig::default();
    (config.epochs, config.batch_size, config.seed) = (300, 150, 3);
    train(
        &mut net,
        &mut Sgd::new(0.5),
        &data,
        &config,
        cross_entropy,
        &mut |_| {},
    )
    .unwrap();
    (net, data)
}

/// The whole Hessian's eigenvalues (ascending); the first layer's block's
/// largest eigenvalue; and its largest curvature along `{u ⊗ m̂}`, `m̂` the
/// unit mean of `[x, 1]`, from the dense block: `λmax(Eᵀ H₀ E)` with `E`'s
/// orthonormal columns `eⱼ ⊗ m̂`.
fn curvature(net: &Sequential<f64>, data: &Dataset<f64>) -> (Vec<f64>, f64, f64) {
    let objective = Objective::new(
        net,
        Likelihood::Categorical,
        data.features(),
        data.targets(),
    )
    .unwrap();
    let whole = Spectrum::of(&objective.hessian().unwrap()).unwrap();
    let h0 = objective.only("0").unwrap().hessian().unwrap();
    let p = h0.dims()[0];
    assert_eq!(p, HIDDEN * 5);
    let mut m = feature_mean(data.features()).unwrap();
    m.push(1.0);
    let norm = m.iter().map(|a| a * a).sum::<f64>().sqrt();
    m.iter_mut().for_each(|a| *a /= norm);
    // Column j of E: neuron j's weights m̂[..4] and bias m̂[4].
    let e = |row: usize, j: usize| {
        if row < HIDDEN * 4 {
            if row / 4 == j { m[row % 4] } else { 0.0 }
        } else if row - HIDDEN * 4 == j {
            m[4]
        } else {
            0.0
        }
    };
    let h = h0.as_slice();
    let compressed = Tensor::from_fn(&[HIDDEN, HIDDEN], |ix| {
        let mut s = 0.0;
        for r in 0..p {
            let er = e(r, ix[0]);
            if er != 0.0 {
                for c in 0..p {
                    s += er * h[r * p + c] * e(c, ix[1]);
                }
            }
        }
        s
    })
    .unwrap();
    let block = Spectrum::of(&h0).unwrap().largest();
    let along = Spectrum::of(&compressed).unwrap().largest();
    (whole.eigenvalues.clone(), block, along)
}

#[test]
fn the_mean_puts_an_outlier_in_the_sigmoid_networks_hessian_and_centring_removes_it() {
    let (raw_net, raw) = trained(Sigmoid, false, false);
    let (centred_net, centred) = trained(Sigmoid, false, true);
    let (raw_l, raw_block, raw_along) = curvature(&raw_net, &raw);
    let (cen_l, cen_block, cen_along) = curvature(&centred_net, &centred);
    let (raw_max, cen_max) = (raw_l[raw_l.len() - 1], cen_l[cen_l.len() - 1]);
    // The example prints 3.45 against 0.82.
    assert!(
        raw_max > 3.0 * cen_max,
        "λmax raw {raw_max} vs centred {cen_max}"
    );
    // Raw, the first layer's top curvature is the mean direction's (0.997).
    assert!(
        raw_along > 0.95 * raw_block,
        "along {raw_along} of {raw_block}"
    );
    // Centred, the mean direction is the bias alone and carries little (0.38).
    assert!(
        cen_along < 0.5 * cen_block,
        "along {cen_along} of {cen_block}"
    );
}

#[test]
fn batchnorm_gives_raw_and_centred_inputs_one_spectrum_without_the_outlier() {
    let (bn_raw_net, raw) = trained(Sigmoid, true, false);
    let (bn_cen_net, centred) = trained(Sigmoid, true, true);
    let (raw_l, _, _) = curvature(&bn_raw_net, &raw);
    let (cen_l, _, cen_along) = curvature(&bn_cen_net, &centred);
    for (a, b) in raw_l.iter().zip(&cen_l) {
        assert!((a - b).abs() <= 1e-8 * raw_l[raw_l.len() - 1], "{a} vs {b}");
    }
    // Centred, m̂ is the bias, to which BatchNorm makes the loss flat.
    assert!(cen_along.abs() < 1e-10, "bias curvature {cen_along}");
    let (plain_net, _) = trained(Sigmoid, false, false);
    let plain = curvature(&plain_net, &raw).0;
    let (bn_max, plain_max) = (raw_l[raw_l.len() - 1], plain[plain.len() - 1]);
    // The example prints 0.76 against 3.45.
    assert!(
        bn_max < 0.5 * plain_max,
        "λmax with BatchNorm {bn_max} vs without {plain_max}"
    );
}
