//! The TensorFlow playground's two-dimensional classification data sets
//! (circle, xor, gauss, spiral), reproduced from the definitions in its
//! `dataset.ts` (Apache-2.0), with a seeded generator in place of
//! `Math.random`.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::element::Element;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

use super::Dataset;

/// One of the playground's classification data sets. Points are `(x, y)`
/// in roughly `[−6, 6]²`; the playground labels them `+1` or `−1`.
///
/// | variant | definition (`U(a, b)` uniform, `ν` the noise) |
/// | --- | --- |
/// | `Circle` | half the points at radius `U(0, 2.5)`, half at `U(3.5, 5)`, angle `U(0, 2π)`, `(x, y) = r(sin θ, cos θ)`; label `+1` iff `(x + U(−5, 5)ν, y + U(−5, 5)ν)` lies within radius 2.5 |
/// | `Xor` | `x, y = U(−5, 5)`, each pushed 0.3 away from 0; label `+1` iff `(x + U(−5, 5)ν)(y + U(−5, 5)ν) ≥ 0` |
/// | `Gauss` | half the points `N((2, 2), s²I)` labelled `+1`, half `N((−2, −2), s²I)` labelled `−1`, variance `s² = 0.5 + 7ν` (the playground's map of ν ∈ [0, 0.5] onto [0.5, 4]) |
/// | `Spiral` | two arms of `m = n/2` points: `r = 5i/m`, `t = 1.75·2π·i/m + φ`, `(x, y) = (r sin t, r cos t) + U(−1, 1)ν`, `φ = 0` for `+1` and `π` for `−1` |
///
/// Points come class `+1` first. As in the playground, the per-class loops
/// run while `i < n/2` (real division), so an odd `n` gives `n + 1` points
/// for circle, gauss and spiral. The one deviation: the polar method behind
/// `Gauss` also rejects the point `s = 0` (where the playground would
/// produce NaN).
///
/// ```
/// use gradsign::data::{LabelEncoding, Playground, PlaygroundConfig};
/// let cfg = PlaygroundConfig { samples: 200, noise: 0.0, encoding: LabelEncoding::PlusMinusOne, seed: 1 };
/// let d = Playground::Circle.generate::<f64>(&cfg)?;
/// assert_eq!((d.len(), d.width()), (200, 2));
/// assert_eq!(d.targets().as_slice()[0], 1.0);   // inside the circle
/// assert_eq!(d.labels()[0], 1);                 // class 1 is the +1 label
/// # Ok::<(), gradsign::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Playground {
    /// A disc inside a ring.
    Circle,
    /// The four quadrants, opposite ones alike.
    Xor,
    /// Two Gaussian blobs.
    Gauss,
    /// Two interleaved spirals.
    Spiral,
}

/// How a two-class label is written as a number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LabelEncoding {
    /// Class 1 ↦ 1, class 0 ↦ 0 (for a sigmoid output).
    #[default]
    ZeroOne,
    /// Class 1 ↦ +1, class 0 ↦ −1 (the playground's own labels; for a tanh
    /// output).
    PlusMinusOne,
}

/// Settings of a playground generator.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlaygroundConfig {
    /// The number of points (see [`Playground`] for odd counts).
    pub samples: usize,
    /// The noise `ν ≥ 0`; the playground's slider covers `[0, 0.5]`.
    pub noise: f64,
    /// How the targets are written.
    pub encoding: LabelEncoding,
    /// The seed of the ChaCha8 stream standing in for `Math.random`.
    pub seed: u64,
}

impl Default for PlaygroundConfig {
    fn default() -> Self {
        PlaygroundConfig {
            samples: 500,
            noise: 0.0,
            encoding: LabelEncoding::ZeroOne,
            seed: 0,
        }
    }
}

struct Gen {
    rng: ChaCha8Rng,
    points: Vec<f64>,
    labels: Vec<usize>,
}

impl Gen {
    /// `randUniform(a, b)`: `U[0, 1)·(b − a) + a`.
    fn uniform(&mut self, a: f64, b: f64) -> f64 {
        self.rng.random::<f64>() * (b - a) + a
    }

    /// `normalRandom(mean, variance)`: the Marsaglia polar method.
    fn normal(&mut self, mean: f64, variance: f64) -> f64 {
        loop {
            let v1 = 2.0 * self.rng.random::<f64>() - 1.0;
            let v2 = 2.0 * self.rng.random::<f64>() - 1.0;
            let s = v1 * v1 + v2 * v2;
            if s <= 1.0 && s > 0.0 {
                return mean + variance.sqrt() * (-2.0 * s.ln() / s).sqrt() * v1;
            }
        }
    }

    /// Records a point with the playground's label (`±1`).
    fn push(&mut self, x: f64, y: f64, label: f64) {
        self.points.extend_from_slice(&[x, y]);
        self.labels.push(usize::from(label > 0.0));
    }
}

/// `for (i = 0; i < n / 2; i++)` with JavaScript's real division.
fn half(n: usize) -> impl Iterator<Item = usize> {
    (0..).take_while(move |&i| (i as f64) < n as f64 / 2.0)
}

impl Playground {
    /// Generates the data set.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for zero samples, a negative or
    /// non-finite noise, a noise so large that a point overflows `F`, or
    /// more samples than can be allocated.
    pub fn generate<F: Element>(self, config: &PlaygroundConfig) -> Result<Dataset<F>> {
        let (n, noise) = (config.samples, config.noise);
        if n == 0 || !(noise >= 0.0 && noise.is_finite()) {
            return Err(Error::out_of_domain(
                "Playground::generate",
                "the samples and noise",
                "samples ≥ 1 and a finite noise ≥ 0",
                format_args!("{n} samples, noise {noise}"),
            ));
        }
        let too_many = || Error::TooLarge {
            op: "Playground::generate",
            what: format!("a set of {n} samples"),
            reason: "it cannot be allocated".into(),
        };
        let mut points = Vec::new();
        let mut labels = Vec::new();
        let len = n.checked_mul(2).and_then(|m| m.checked_add(2));
        points
            .try_reserve_exact(len.ok_or_else(too_many)?)
            .map_err(|_| too_many())?;
        labels.try_reserve_exact(n + 1).map_err(|_| too_many())?;
        let mut g = Gen {
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            points,
            labels,
        };
        match self {
            Playground::Circle => circle(&mut g, n, noise),
            Playground::Xor => xor(&mut g, n, noise),
            Playground::Gauss => gauss(&mut g, n, noise),
            Playground::Spiral => spiral(&mut g, n, noise),
        }
        let rows = g.labels.len();
        let targets = g
            .labels
            .iter()
            .map(|&c| match (config.encoding, c) {
                (_, 1) => F::one(),
                (LabelEncoding::ZeroOne, _) => F::zero(),
                (LabelEncoding::PlusMinusOne, _) => -F::one(),
            })
            .collect();
        let features: Vec<F> = g.points.into_iter().map(F::from_f64).collect();
        // A finite noise can still be large enough that a point overflows
        // (in f64, or only in a narrower F).
        if let Some(i) = features.iter().position(|x| !x.is_finite()) {
            return Err(Error::NonFinite {
                op: "Playground::generate",
                what: format!(
                    "from noise {noise:?}: coordinate {} of point {} overflows {}",
                    i % 2,
                    i / 2,
                    F::NAME
                ),
            });
        }
        let d = Dataset::with_targets(
            Tensor::from_vec(features, &[rows, 2])?,
            g.labels,
            Tensor::from_vec(targets, &[rows, 1])?,
        )?;
        // Both classes exist even if noise or a tiny n left one empty.
        d.with_classes(2)?
            .with_feature_names(vec!["x".into(), "y".into()])
    }
}

fn circle(g: &mut Gen, n: usize, noise: f64) {
    let radius = 5.0;
    let label = |x: f64, y: f64| {
        if (x * x + y * y).sqrt() < radius * 0.5 {
            1.0
        } else {
            -1.0
        }
    };
    for (lo, hi) in [(0.0, radius * 0.5), (radius * 0.7, radius)] {
        for _ in half(n) {
            let r = g.uniform(lo, hi);
            let angle = g.uniform(0.0, 2.0 * std::f64::consts::PI);
            let (x, y) = (r * angle.sin(), r * angle.cos());
            let nx = g.uniform(-radius, radius) * noise;
            let ny = g.uniform(-radius, radius) * noise;
            g.push(x, y, label(x + nx, y + ny));
        }
    }
}

fn xor(g: &mut Gen, n: usize, noise: f64) {
    let padding = 0.3;
    for _ in 0..n {
        let mut x = g.uniform(-5.0, 5.0);
        x += if x > 0.0 { padding } else { -padding };
        let mut y = g.uniform(-5.0, 5.0);
        y += if y > 0.0 { padding } else { -padding };
        let nx = g.uniform(-5.0, 5.0) * noise;
        let ny = g.uniform(-5.0, 5.0) * noise;
        let label = if (x + nx) * (y + ny) >= 0.0 {
            1.0
        } else {
            -1.0
        };
        g.push(x, y, label);
    }
}

fn gauss(g: &mut Gen, n: usize, noise: f64) {
    // d3.scale.linear().domain([0, .5]).range([0.5, 4])
    let variance = 0.5 + noise * (4.0 - 0.5) / 0.5;
    for (c, label) in [(2.0, 1.0), (-2.0, -1.0)] {
        for _ in half(n) {
            let x = g.normal(c, variance);
            let y = g.normal(c, variance);
            g.push(x, y, label);
        }
    }
}

fn spiral(g: &mut Gen, n: usize, noise: f64) {
    let m = n as f64 / 2.0;
    for (delta, label) in [(0.0, 1.0), (std::f64::consts::PI, -1.0)] {
        for i in half(n) {
            let i = i as f64;
            let r = i / m * 5.0;
            let t = 1.75 * i / m * 2.0 * std::f64::consts::PI + delta;
            let x = r * t.sin() + g.uniform(-1.0, 1.0) * noise;
            let y = r * t.cos() + g.uniform(-1.0, 1.0) * noise;
            g.push(x, y, label);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(samples: usize, noise: f64) -> PlaygroundConfig {
        PlaygroundConfig {
            samples,
            noise,
            encoding: LabelEncoding::PlusMinusOne,
            seed: 3,
        }
    }

    #[test]
    fn noiseless_circle_labels_follow_the_radius() {
        let d = Playground::Circle.generate::<f64>(&cfg(300, 0.0)).unwrap();
        for (p, &l) in d.features().as_slice().chunks(2).zip(d.labels()) {
            let r = (p[0] * p[0] + p[1] * p[1]).sqrt();
            assert_eq!(l == 1, r < 2.5, "r = {r}");
            assert!(r < 2.5 || (3.5..=5.0).contains(&r), "r = {r}");
        }
    }

    #[test]
    fn noiseless_xor_labels_follow_the_quadrant_and_avoid_the_axes() {
        let d = Playground::Xor.generate::<f64>(&cfg(300, 0.0)).unwrap();
        for (p, &l) in d.features().as_slice().chunks(2).zip(d.labels()) {
            assert!(p[0].abs() >= 0.3 && p[1].abs() >= 0.3);
            assert_eq!(l == 1, p[0] * p[1] >= 0.0);
        }
    }

    #[test]
    fn gauss_blobs_are_centred_at_plus_and_minus_two() {
        let d = Playground::Gauss.generate::<f64>(&cfg(2000, 0.0)).unwrap();
        let x = d.features().as_slice();
        // The first 1000 points are the +1 blob at (2, 2), variance 0.5:
        // the sample mean's standard error is √(0.5/1000) ≈ 0.022.
        let mean = x[..2000].iter().sum::<f64>() / 2000.0;
        assert!((mean - 2.0).abs() < 0.1, "{mean}");
        let mean = x[2000..].iter().sum::<f64>() / 2000.0;
        assert!((mean + 2.0).abs() < 0.1, "{mean}");
    }

    #[test]
    fn noiseless_spiral_radii_grow_linearly() {
        // Point i of an arm sits at r = 5i/m, m = n/2 = 50.
        let d = Playground::Spiral.generate::<f64>(&cfg(100, 0.0)).unwrap();
        let p = &d.features().as_slice()[2 * 10..2 * 10 + 2];
        assert!(((p[0] * p[0] + p[1] * p[1]).sqrt() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn odd_counts_give_one_extra_point_as_in_the_playground() {
        assert_eq!(
            Playground::Circle
                .generate::<f64>(&cfg(5, 0.0))
                .unwrap()
                .len(),
            6
        );
        assert_eq!(
            Playground::Xor.generate::<f64>(&cfg(5, 0.0)).unwrap().len(),
            5
        );
    }

    #[test]
    fn zero_one_encoding_writes_zero_for_the_minus_class() {
        let c = PlaygroundConfig {
            encoding: LabelEncoding::ZeroOne,
            ..cfg(10, 0.0)
        };
        let d = Playground::Gauss.generate::<f32>(&c).unwrap();
        for (&t, &l) in d.targets().as_slice().iter().zip(d.labels()) {
            assert_eq!(t, l as f32);
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_points() {
        let a = Playground::Spiral.generate::<f64>(&cfg(50, 0.3)).unwrap();
        let b = Playground::Spiral.generate::<f64>(&cfg(50, 0.3)).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn negative_noise_is_rejected() {
        assert!(Playground::Xor.generate::<f64>(&cfg(10, -0.1)).is_err());
    }
}
