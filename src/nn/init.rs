//! Weight initialisers, seeded so that every run is reproducible bit for bit.

use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal, Uniform};

use crate::element::Element;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// How to draw the initial values of a weight matrix `(out, in)`, from its
/// fan-in `n_in` and fan-out `n_out`.
///
/// | variant | distribution |
/// | --- | --- |
/// | `GlorotUniform` | `U(−a, a)`, `a = √(6 / (n_in + n_out))` (Glorot & Bengio 2010) |
/// | `GlorotNormal` | `N(0, σ²)`, `σ = √(2 / (n_in + n_out))` |
/// | `HeUniform` | `U(−a, a)`, `a = √(6 / n_in)` (He et al. 2015) |
/// | `HeNormal` | `N(0, σ²)`, `σ = √(2 / n_in)` |
/// | `LecunNormal` | `N(0, σ²)`, `σ = 1/√n_in` (LeCun et al., "Efficient BackProp" 1998, eq. 16) |
/// | `Zeros` | every value 0 |
/// | `Constant(c)` | every value `c` |
///
/// Draws come from ChaCha8 seeded with a `u64` (through `rand_chacha`), so
/// the same seed gives the same tensor on every platform.
///
/// ```
/// use gradsign::nn::Init;
/// let w = Init::LecunNormal.tensor::<f64>(16, 4, 7)?;   // (out, in) = (16, 4)
/// assert_eq!(w.dims(), &[16, 4]);
/// assert_eq!(w, Init::LecunNormal.tensor::<f64>(16, 4, 7)?); // reproducible
/// let a = (6.0f64 / 20.0).sqrt();
/// let g = Init::GlorotUniform.tensor::<f64>(16, 4, 1)?;
/// assert!(g.as_slice().iter().all(|x| x.abs() <= a));
/// # Ok::<(), gradsign::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Init {
    /// Glorot/Xavier uniform.
    GlorotUniform,
    /// Glorot/Xavier normal.
    GlorotNormal,
    /// He/Kaiming uniform (for ReLU layers).
    HeUniform,
    /// He/Kaiming normal (for ReLU layers).
    HeNormal,
    /// LeCun normal, `σ = fan_in^−½`.
    LecunNormal,
    /// All zeros.
    Zeros,
    /// All equal to the constant.
    Constant(f64),
}

enum Draw {
    Uniform(f64),
    Normal(f64),
    Fill(f64),
}

impl Init {
    fn draw(self, fan_in: usize, fan_out: usize) -> Draw {
        let (i, o) = (fan_in as f64, fan_out as f64);
        match self {
            Init::GlorotUniform => Draw::Uniform((6.0 / (i + o)).sqrt()),
            Init::GlorotNormal => Draw::Normal((2.0 / (i + o)).sqrt()),
            Init::HeUniform => Draw::Uniform((6.0 / i).sqrt()),
            Init::HeNormal => Draw::Normal((2.0 / i).sqrt()),
            Init::LecunNormal => Draw::Normal(1.0 / i.sqrt()),
            Init::Zeros => Draw::Fill(0.0),
            Init::Constant(c) => Draw::Fill(c),
        }
    }

    /// A `(fan_out, fan_in)` weight matrix drawn from `seed`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `fan_in` or `fan_out` is zero, a
    /// constant is not finite, or `fan_out × fan_in` values cannot be
    /// allocated.
    pub fn tensor<F: Element>(self, fan_out: usize, fan_in: usize, seed: u64) -> Result<Tensor<F>> {
        self.sample(fan_out, fan_in, &mut ChaCha8Rng::seed_from_u64(seed))
    }

    /// A `(fan_out, fan_in)` weight matrix drawn from `rng` (so that the
    /// layers of a network can share one stream).
    ///
    /// # Errors
    /// As [`tensor`](Self::tensor).
    pub fn sample<F: Element>(
        self,
        fan_out: usize,
        fan_in: usize,
        rng: &mut impl Rng,
    ) -> Result<Tensor<F>> {
        if fan_in == 0 || fan_out == 0 {
            return Err(Error::out_of_domain(
                "init",
                "the weight matrix's (fan-out, fan-in)",
                "at least (1, 1)",
                format_args!("({fan_out}, {fan_in})"),
            ));
        }
        // Checks the size (overflow, allocation) before any draw.
        let mut out = Tensor::<F>::zeros(&[fan_out, fan_in])?;
        let data = out.as_mut_slice();
        match self.draw(fan_in, fan_out) {
            Draw::Uniform(a) => {
                let d = Uniform::new_inclusive(-a, a).map_err(|e| {
                    Error::out_of_domain("init", "the uniform bound", format!("valid ({e})"), a)
                })?;
                data.iter_mut()
                    .for_each(|v| *v = F::from_f64(d.sample(rng)));
            }
            Draw::Normal(s) => {
                let d = Normal::new(0.0, s).map_err(|e| {
                    Error::out_of_domain("init", "the normal σ", format!("valid ({e})"), s)
                })?;
                data.iter_mut()
                    .for_each(|v| *v = F::from_f64(d.sample(rng)));
            }
            Draw::Fill(c) => {
                if !c.is_finite() {
                    return Err(Error::out_of_domain("init", "the constant", "finite", c));
                }
                data.fill(F::from_f64(c));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moments(t: &Tensor<f64>) -> (f64, f64) {
        let n = t.numel() as f64;
        let mean = t.as_slice().iter().sum::<f64>() / n;
        let var = t.as_slice().iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
        (mean, var)
    }

    #[test]
    fn lecun_normal_has_variance_one_over_fan_in() {
        // σ² = 1/fan_in = 1/50; with 20 000 draws the sample variance is
        // within a few percent (its standard error is σ²·√(2/n) ≈ 1%).
        let t = Init::LecunNormal.tensor::<f64>(400, 50, 3).unwrap();
        let (mean, var) = moments(&t);
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var / (1.0 / 50.0) - 1.0).abs() < 0.05, "var {var}");
    }

    #[test]
    fn he_uniform_has_variance_two_over_fan_in() {
        // U(−a, a) has variance a²/3 = (6/fan_in)/3 = 2/fan_in.
        let t = Init::HeUniform.tensor::<f64>(400, 50, 4).unwrap();
        let (_, var) = moments(&t);
        assert!((var / (2.0 / 50.0) - 1.0).abs() < 0.05, "var {var}");
    }

    #[test]
    fn glorot_normal_has_variance_two_over_fan_sum() {
        let t = Init::GlorotNormal.tensor::<f64>(300, 100, 5).unwrap();
        let (_, var) = moments(&t);
        assert!((var / (2.0 / 400.0) - 1.0).abs() < 0.05, "var {var}");
    }

    #[test]
    fn he_normal_and_glorot_uniform_have_their_variances() {
        let (_, v) = moments(&Init::HeNormal.tensor::<f64>(400, 50, 6).unwrap());
        assert!((v / (2.0 / 50.0) - 1.0).abs() < 0.05, "He normal var {v}");
        // (6/(n_in + n_out))/3 = 2/450
        let (_, v) = moments(&Init::GlorotUniform.tensor::<f64>(400, 50, 6).unwrap());
        assert!(
            (v / (2.0 / 450.0) - 1.0).abs() < 0.05,
            "Glorot uniform var {v}"
        );
    }

    #[test]
    fn the_same_seed_gives_the_same_bits_in_f32() {
        let a = Init::HeNormal.tensor::<f32>(8, 3, 11).unwrap();
        let b = Init::HeNormal.tensor::<f32>(8, 3, 11).unwrap();
        let c = Init::HeNormal.tensor::<f32>(8, 3, 12).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn zeros_and_constant_fill() {
        assert!(
            Init::Zeros
                .tensor::<f64>(2, 3, 0)
                .unwrap()
                .as_slice()
                .iter()
                .all(|&x| x == 0.0)
        );
        assert!(
            Init::Constant(0.25)
                .tensor::<f32>(2, 3, 0)
                .unwrap()
                .as_slice()
                .iter()
                .all(|&x| x == 0.25)
        );
        assert!(Init::Constant(f64::NAN).tensor::<f32>(2, 3, 0).is_err());
    }

    #[test]
    fn a_zero_fan_is_an_error() {
        let e = Init::GlorotUniform.tensor::<f64>(0, 3, 0).unwrap_err();
        assert!(matches!(e, Error::OutOfDomain { op: "init", .. }), "{e}");
    }
}
