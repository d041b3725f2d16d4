//! Learning-rate schedules: the rate of step `t` as a factor of the base rate.

use crate::error::{Error, Result};

/// A learning-rate schedule: step `t` (counting from 0) uses
/// `η_t = η · factor(t)`.
///
/// | variant | `factor(t)` |
/// | --- | --- |
/// | `Constant` | `1` |
/// | `Step { every, gamma }` | `gamma^⌊t / every⌋` |
/// | `Cosine { total, min_factor }` | `m + (1 − m)·(1 + cos(π·min(t, T)/T))/2` with `m = min_factor`, `T = total` (Loshchilov & Hutter 2017, without restarts): from 1 down to `m` at `t = T`, then flat |
///
/// ```
/// use gradsign::optim::LrSchedule;
/// let s = LrSchedule::Step { every: 10, gamma: 0.5 };
/// assert_eq!(s.factor(9), 1.0);
/// assert_eq!(s.factor(10), 0.5);
/// let c = LrSchedule::Cosine { total: 100, min_factor: 0.0 };
/// assert_eq!(c.factor(0), 1.0);
/// assert!((c.factor(50) - 0.5).abs() < 1e-15);
/// assert_eq!(c.factor(200), 0.0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[non_exhaustive]
pub enum LrSchedule {
    /// The base rate at every step.
    #[default]
    Constant,
    /// Multiply by `gamma` every `every` steps.
    Step {
        /// Steps between decays (≥ 1).
        every: usize,
        /// The decay factor (> 0).
        gamma: f64,
    },
    /// Cosine annealing from the base rate to `min_factor` times it over
    /// `total` steps.
    Cosine {
        /// Steps to reach the minimum (≥ 1).
        total: usize,
        /// The final rate as a fraction of the base rate, in `[0, 1]`.
        min_factor: f64,
    },
}

impl LrSchedule {
    /// The factor applied to the base rate at step `t` (0-based).
    pub fn factor(&self, t: usize) -> f64 {
        match *self {
            LrSchedule::Constant => 1.0,
            LrSchedule::Step { every, gamma } => {
                let k = t / every.max(1);
                gamma.powf(k as f64)
            }
            LrSchedule::Cosine { total, min_factor } => {
                let total = total.max(1);
                let progress = t.min(total) as f64 / total as f64;
                min_factor
                    + (1.0 - min_factor) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
            }
        }
    }

    /// Checks the schedule's parameters.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the bad parameter.
    pub fn validate(&self) -> Result<()> {
        let bad = |param: &str, domain: &str, value: String| {
            Err(Error::out_of_domain("LrSchedule", param, domain, value))
        };
        match *self {
            LrSchedule::Constant => Ok(()),
            LrSchedule::Step { every, gamma } => {
                if every == 0 {
                    return bad("Step's every", "≥ 1", "0".into());
                }
                if !(gamma > 0.0 && gamma.is_finite()) {
                    return bad("Step's gamma", "finite and > 0", gamma.to_string());
                }
                Ok(())
            }
            LrSchedule::Cosine { total, min_factor } => {
                if total == 0 {
                    return bad("Cosine's total", "≥ 1", "0".into());
                }
                if !(0.0..=1.0).contains(&min_factor) {
                    return bad("Cosine's min_factor", "in [0, 1]", min_factor.to_string());
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_reaches_its_minimum_at_total_and_stays() {
        let c = LrSchedule::Cosine {
            total: 10,
            min_factor: 0.1,
        };
        assert!((c.factor(10) - 0.1).abs() < 1e-15);
        assert!((c.factor(11) - 0.1).abs() < 1e-15);
        // Half way: 0.1 + 0.9·(1 + cos(π/2))/2 = 0.55.
        assert!((c.factor(5) - 0.55).abs() < 1e-15);
    }

    #[test]
    fn step_decays_geometrically() {
        let s = LrSchedule::Step {
            every: 3,
            gamma: 0.1,
        };
        assert_eq!(s.factor(2), 1.0);
        // ⌊7/3⌋ = 2; 0.1² to within an ulp
        assert!((s.factor(7) / 0.01 - 1.0).abs() < 1e-15);
    }

    #[test]
    fn invalid_parameters_are_reported() {
        assert!(
            LrSchedule::Step {
                every: 0,
                gamma: 0.5
            }
            .validate()
            .is_err()
        );
        assert!(
            LrSchedule::Step {
                every: 1,
                gamma: -1.0
            }
            .validate()
            .is_err()
        );
        assert!(
            LrSchedule::Cosine {
                total: 5,
                min_factor: 2.0
            }
            .validate()
            .is_err()
        );
        assert!(LrSchedule::Constant.validate().is_ok());
    }
}
