//! SplitMix64, the generator BENCH.md specifies for bit-identical benchmark
//! data across implementations.

use gradsign::nn::Linear;
use gradsign::{Element, Result, Tensor};

/// The SplitMix64 generator (Steele, Lea, Flood 2014), exactly as BENCH.md
/// and the peers' `common.py` define it, so that weights and batches drawn
/// here are bit-identical to theirs.
///
/// Each step: `state += 0x9E3779B97F4A7C15; z = state;
/// z = (z ^ z>>30)·0xBF58476D1CE4E5B9; z = (z ^ z>>27)·0x94D049BB133111EB;
/// z ^= z>>31` (wrapping `u64` arithmetic).
///
/// ```
/// use gradsign_studies::SplitMix64;
/// let mut rng = SplitMix64::new(0);
/// // The published first output for seed 0.
/// assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
/// let u = rng.uniform01();
/// assert!((0.0..1.0).contains(&u));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator whose state starts at `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)` from the top 53 bits: `u = (z >> 11)·2⁻⁵³`.
    pub fn uniform01(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0)
    }

    /// Uniform in `[−1, 1)`: `pm1 = 2u − 1`.
    pub fn pm1(&mut self) -> f64 {
        2.0 * self.uniform01() - 1.0
    }
}

/// A dense-layer maker for [`Mlp::build_with`](gradsign::nn::Mlp::build_with)
/// that draws every weight and bias from `rng` as the benchmark workloads
/// specify: per layer `W[in][out]` row-major, then `b[out]`, each
/// `pm1/√in`, drawn in `f64` and cast to `F`; `W` is transposed to the
/// crate's `(out, in)`. The generator is left just after the last bias.
///
/// ```
/// use gradsign::nn::{self, Mlp};
/// use gradsign_studies::{splitmix, SplitMix64};
/// let net = Mlp::builder(&[2, 8, 8, 1])
///     .build_with(splitmix::dense::<f32>(&mut SplitMix64::new(2)))?;
/// assert_eq!(nn::num_parameters(&net)?, 2 * 8 + 8 + 8 * 8 + 8 + 8 + 1);
/// # Ok::<(), gradsign::Error>(())
/// ```
pub fn dense<F: Element>(
    rng: &mut SplitMix64,
) -> impl FnMut(usize, usize) -> Result<Linear<F>> + '_ {
    move |fan_in, fan_out| {
        let scale = 1.0 / (fan_in as f64).sqrt();
        // Checks the size (overflow, allocation) before any draw.
        let mut weight = Tensor::zeros(&[fan_out, fan_in])?;
        let w = weight.as_mut_slice();
        for i in 0..fan_in {
            for o in 0..fan_out {
                w[o * fan_in + i] = F::from_f64(rng.pm1() * scale);
            }
        }
        let mut bias = Tensor::zeros(&[fan_out])?;
        for b in bias.as_mut_slice() {
            *b = F::from_f64(rng.pm1() * scale);
        }
        Linear::new(weight, Some(bias))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform01_uses_the_top_53_bits() {
        let mut a = SplitMix64::new(42);
        let mut b = a.clone();
        let z = a.next_u64();
        assert_eq!(b.uniform01(), (z >> 11) as f64 / (1u64 << 53) as f64);
    }

    #[test]
    fn pm1_is_two_u_minus_one() {
        let mut a = SplitMix64::new(7);
        let mut b = a.clone();
        assert_eq!(a.pm1(), 2.0 * b.uniform01() - 1.0);
    }

    #[test]
    fn dense_transposes_w_in_out_to_out_in() {
        // The workloads draw W[in][out] row-major: for a 2-3 layer the draws
        // are w00 w01 w02 w10 w11 w12, then b0 b1 b2, each pm1/√2.
        let mut rng = SplitMix64::new(9);
        let s = 1.0 / 2f64.sqrt();
        let d: Vec<f64> = (0..9).map(|_| rng.pm1() * s).collect();
        let net = gradsign::nn::Mlp::builder(&[2, 3])
            .build_with(dense::<f64>(&mut SplitMix64::new(9)))
            .unwrap();
        let lin: &Linear<f64> = net.layer(0).unwrap();
        assert_eq!(lin.weight.as_slice(), &[d[0], d[3], d[1], d[4], d[2], d[5]]);
        assert_eq!(lin.bias.as_ref().unwrap().as_slice(), &d[6..9]);
    }
}
