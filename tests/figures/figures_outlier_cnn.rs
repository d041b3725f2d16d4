//! The claims example 11b (the outlier in a CNN) rests on, on the
//! example's own network, data and training (`examples/common/outlier.rs`),
//! checked through dense Hessians and a mean patch computed here pixel by
//! pixel (the example uses the matrix-free operators, Lanczos and
//! `unfold2d`): on raw digits the convolution's top curvature moves every
//! filter along the mean patch and the network's λmax is well above the
//! centred network's, for sigmoid and tanh; centred, the mean-patch
//! direction carries almost none; BatchNorm after the convolution makes
//! the loss flat along the bias, which is all the mean-patch direction is
//! once the pixels are centred; and η = 0.1 is below 2/λmax everywhere.

use crate::common;

use common::outlier::{self, EXAMPLES, FILTERS};
use gradsign::Tensor;
use gradsign::activation::Activation::{self, Sigmoid, Tanh};
use gradsign::curvature::spectrum::Spectrum;
use gradsign::curvature::{Likelihood, Objective};

/// The example's η and budget.
const RATE: f64 = 0.1;
const EPOCHS: usize = 300;

struct Found {
    /// λmax of the whole dense Hessian.
    whole: f64,
    /// λmax of the convolution's dense block.
    block: f64,
    /// λmax of that block compressed onto `{u ⊗ m̂}`.
    along: f64,
}

/// `m̂ = [p̄, 1]/‖[p̄, 1]‖`, `p̄` the mean 3×3 patch over every image and
/// every one of the 6×6 valid positions, from the pixels themselves.
fn mean_patch(x: &Tensor<f64>) -> Vec<f64> {
    let mut m = vec![0.0; 10];
    let n = x.dims()[0];
    for img in x.as_slice().chunks_exact(64) {
        for (oy, ox) in (0..6).flat_map(|oy| (0..6).map(move |ox| (oy, ox))) {
            for (i, j) in (0..3).flat_map(|i| (0..3).map(move |j| (i, j))) {
                m[i * 3 + j] += img[(oy + i) * 8 + ox + j];
            }
        }
    }
    m[..9].iter_mut().for_each(|a| *a /= (n * 36) as f64);
    m[9] = 1.0;
    let norm = m.iter().map(|a| a * a).sum::<f64>().sqrt();
    m.into_iter().map(|a| a / norm).collect()
}

fn measure(act: Activation, bn: bool, centre: bool) -> Found {
    let data = outlier::digits_subset(EXAMPLES, centre).unwrap();
    let mut net = outlier::cnn(act, bn).unwrap();
    outlier::train_full_batch(&mut net, &data, RATE, EPOCHS).unwrap();
    let (x, y) = (data.features(), data.targets());
    let objective = Objective::new(&net, Likelihood::Categorical, x, y).unwrap();
    let whole = Spectrum::of(&objective.hessian().unwrap())
        .unwrap()
        .largest();
    let h1 = objective.only("1").unwrap().hessian().unwrap();
    let p = h1.dims()[0];
    assert_eq!(p, FILTERS * 10, "four 3×3 filters and their biases");
    let m = mean_patch(x);
    // Column j of E: filter j's weights m̂[..9] and its bias m̂[9].
    let e = |row: usize, j: usize| match row < FILTERS * 9 {
        true if row / 9 == j => m[row % 9],
        false if row - FILTERS * 9 == j => m[9],
        _ => 0.0,
    };
    let h = h1.as_slice();
    let compressed = Tensor::from_fn(&[FILTERS, FILTERS], |ix| {
        let mut s = 0.0;
        for r in 0..p {
            for c in 0..p {
                s += e(r, ix[0]) * h[r * p + c] * e(c, ix[1]);
            }
        }
        s
    })
    .unwrap();
    Found {
        whole,
        block: Spectrum::of(&h1).unwrap().largest(),
        along: Spectrum::of(&compressed).unwrap().largest(),
    }
}

// Two dense 410×410 Hessians (410 HVPs each on 300 images) per net: a few
// seconds optimised, minutes unoptimised, so they run under
// `cargo test --release` only.
#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "run with `cargo test --release --test figures`"
)]
fn the_mean_patch_puts_an_outlier_in_the_cnns_hessian_and_centring_removes_it() {
    // The example prints λmax 4.18 against 2.29 (sigmoid), 7.57 against
    // 2.77 (tanh); along the mean patch 99% and 86% of the block raw, 1%
    // centred.
    for (act, ratio) in [(Sigmoid, 1.5), (Tanh, 2.0)] {
        let raw = measure(act, false, false);
        let cen = measure(act, false, true);
        assert!(
            raw.whole > ratio * cen.whole,
            "{act:?}: λmax raw {} vs centred {}",
            raw.whole,
            cen.whole
        );
        // Raw, the network's top curvature is the convolution's, and that
        // is the mean patch's.
        assert!(
            raw.block > 0.9 * raw.whole,
            "{act:?}: block {} of {}",
            raw.block,
            raw.whole
        );
        assert!(
            raw.along > 0.8 * raw.block,
            "{act:?}: along {} of {}",
            raw.along,
            raw.block
        );
        assert!(
            cen.along < 0.05 * cen.block,
            "{act:?}: along {} of {}",
            cen.along,
            cen.block
        );
        for f in [&raw, &cen] {
            assert!(
                RATE < 2.0 / f.whole,
                "{act:?}: η {RATE} vs 2/λmax {}",
                2.0 / f.whole
            );
        }
    }
}

#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "run with `cargo test --release --test figures`"
)]
fn batchnorm_after_the_convolution_is_flat_along_the_bias_and_lowers_the_top() {
    let bn_cen = measure(Sigmoid, true, true);
    // Centred, m̂ is the bias (to 1e-15: the pixel means cancel), to which
    // BatchNorm makes the loss invariant.
    assert!(
        bn_cen.along.abs() < 1e-10,
        "bias curvature {}",
        bn_cen.along
    );
    // The example prints 2.11 (BatchNorm, raw) against 4.18 (sigmoid, raw).
    let bn_raw = measure(Sigmoid, true, false);
    let plain = measure(Sigmoid, false, false);
    assert!(
        bn_raw.whole < 0.6 * plain.whole,
        "λmax with BatchNorm {} vs without {}",
        bn_raw.whole,
        plain.whole
    );
}
