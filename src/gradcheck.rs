//! Finite-difference gradient checking for any composition of ops.
//!
//! [`gradcheck`] compares the tape's gradient of a scalar function with
//! central differences in `f64`, element by element or (for large inputs)
//! along random directions, and reports the worst absolute and relative
//! error and where it occurred. It recognises a kink (ReLU, `abs`, `max`,
//! `clamp` crossed within ±h): there the one-sided differences disagree with
//! each other, and an analytic value between them is a valid one-sided
//! derivative, so the element is reported as a kink instead of a failure.

use std::fmt;

use rand::{Rng, SeedableRng};

use crate::autodiff::{Tape, Var};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Settings of a [`gradcheck`] run.
///
/// ```
/// let cfg = gradsign::gradcheck::GradcheckConfig::default();
/// assert_eq!(cfg.step, 1e-6);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct GradcheckConfig {
    /// The finite-difference step `h`.
    pub step: f64,
    /// An element passes if `|analytic − numeric| ≤ atol + rtol·|numeric|`.
    pub atol: f64,
    /// See [`atol`](Self::atol).
    pub rtol: f64,
    /// `Some(k)`: check `k` random unit directions instead of every element
    /// (for large inputs); `None`: every element.
    pub directions: Option<usize>,
    /// Seed of the random directions.
    pub seed: u64,
}

impl Default for GradcheckConfig {
    fn default() -> Self {
        GradcheckConfig {
            step: 1e-6,
            atol: 1e-6,
            rtol: 1e-5,
            directions: None,
            seed: 0,
        }
    }
}

/// Where a gradcheck comparison happened.
#[derive(Clone, Debug, PartialEq)]
pub enum Location {
    /// Element `index` (flat, row-major) of input `input`.
    Element {
        /// Which input.
        input: usize,
        /// The flat index into it.
        index: usize,
    },
    /// Random direction number `direction` (over all inputs at once).
    Direction {
        /// Which direction.
        direction: usize,
    },
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Element { input, index } => write!(f, "input {input}, element {index}"),
            Location::Direction { direction } => write!(f, "random direction {direction}"),
        }
    }
}

/// One comparison of the analytic and numeric derivative.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// Where.
    pub location: Location,
    /// The tape's value.
    pub analytic: f64,
    /// The central difference.
    pub numeric: f64,
    /// The one-sided differences `(f(x+h) − f(x))/h` and `(f(x) − f(x−h))/h`.
    pub one_sided: (f64, f64),
}

impl Comparison {
    /// `|analytic − numeric|`.
    pub fn abs_error(&self) -> f64 {
        (self.analytic - self.numeric).abs()
    }

    /// `|analytic − numeric| / max(|numeric|, |analytic|, tiny)`.
    pub fn rel_error(&self) -> f64 {
        let scale = self.numeric.abs().max(self.analytic.abs()).max(1e-300);
        self.abs_error() / scale
    }
}

/// The outcome of a [`gradcheck`] run.
#[derive(Clone, Debug, PartialEq)]
pub struct GradcheckReport {
    /// Comparisons made (elements or directions).
    pub checked: usize,
    /// The comparison with the largest absolute error (kinks excluded).
    pub worst_abs: Option<Comparison>,
    /// The comparison with the largest relative error (kinks excluded).
    pub worst_rel: Option<Comparison>,
    /// Comparisons that failed the tolerance and are not kinks.
    pub failures: Vec<Comparison>,
    /// Elements where a kink lies within ±h: the one-sided differences
    /// disagree and the analytic value lies between them (or equals one).
    pub kinks: Vec<Comparison>,
}

impl GradcheckReport {
    /// Whether every comparison passed or was a recognised kink.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

impl fmt::Display for GradcheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "gradcheck: {} checked, {} failed, {} kinks",
            self.checked,
            self.failures.len(),
            self.kinks.len()
        )?;
        if let Some(c) = &self.worst_abs {
            writeln!(
                f,
                "  worst absolute error {:.3e} at {} (analytic {:.9e}, numeric {:.9e})",
                c.abs_error(),
                c.location,
                c.analytic,
                c.numeric
            )?;
        }
        if let Some(c) = &self.worst_rel {
            writeln!(
                f,
                "  worst relative error {:.3e} at {} (analytic {:.9e}, numeric {:.9e})",
                c.rel_error(),
                c.location,
                c.analytic,
                c.numeric
            )?;
        }
        for c in self.failures.iter().take(5) {
            writeln!(
                f,
                "  FAILED at {}: analytic {:.9e}, numeric {:.9e}",
                c.location, c.analytic, c.numeric
            )?;
        }
        Ok(())
    }
}

/// Evaluates `f` on fresh copies of `inputs` and returns the scalar value.
fn eval<Fun>(tape: &mut Tape<f64>, f: &Fun, inputs: &[Tensor<f64>]) -> Result<f64>
where
    Fun: for<'t> Fn(&'t Tape<f64>, &[Var<'t, f64>]) -> Result<Var<'t, f64>>,
{
    tape.clear();
    let vars: Vec<_> = inputs.iter().map(|t| tape.var(t)).collect();
    let out = f(tape, &vars)?;
    out.item()
}

/// Compares the tape's gradient of the scalar function `f` at `inputs` with
/// central finite differences (`f64`).
///
/// `f` receives the tape and one differentiable variable per input, and
/// returns a scalar variable.
///
/// ```
/// use gradsign::gradcheck::{gradcheck, GradcheckConfig};
/// use gradsign::Tensor;
/// let x = Tensor::from_vec(vec![0.3, -1.2, 2.0], &[3])?;
/// let report = gradcheck(
///     |_, v| Ok((v[0] * v[0]).tanh().sum()),
///     &[x],
///     &GradcheckConfig::default(),
/// )?;
/// assert!(report.passed(), "{report}");
///
/// // |x| at x = 0 is a kink: reported as such, not as a failure.
/// let at_kink = Tensor::from_vec(vec![0.0], &[1])?;
/// let report = gradcheck(|_, v| Ok(v[0].abs().sum()), &[at_kink], &GradcheckConfig::default())?;
/// assert!(report.passed());
/// assert_eq!(report.kinks.len(), 1);
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// # Errors
/// Any error `f` returns; [`Error::NonScalarRoot`] if `f` does not return a
/// single value; [`Error::InvalidArgument`] for a step that is not finite
/// or below `2·f64::MIN_POSITIVE`, or (element by element) so small that
/// `x ± h/2` rounds to `x` for some input element, and for a tolerance that
/// is NaN, infinite or negative; [`Error::Empty`] if the inputs have no
/// element or `directions` is `Some(0)` (nothing would be checked);
/// [`Error::NonFinite`] if `f`'s value at the inputs is NaN or infinite.
pub fn gradcheck<Fun>(
    f: Fun,
    inputs: &[Tensor<f64>],
    config: &GradcheckConfig,
) -> Result<GradcheckReport>
where
    Fun: for<'t> Fn(&'t Tape<f64>, &[Var<'t, f64>]) -> Result<Var<'t, f64>>,
{
    let h = config.step;
    let invalid = |param: String, domain: String, value: String| {
        Err(Error::out_of_domain("gradcheck", param, domain, value))
    };
    // The re-measurement divides by h/2: it must be a normal number, or the
    // differences are 0/0 or lose every digit.
    if !(h.is_finite() && h / 2.0 >= f64::MIN_POSITIVE) {
        return invalid(
            "the step".into(),
            format!(
                "finite and at least {:e} (twice the smallest normal f64)",
                2.0 * f64::MIN_POSITIVE
            ),
            h.to_string(),
        );
    }
    for (name, tol) in [("atol", config.atol), ("rtol", config.rtol)] {
        // NaN fails every element, ∞ passes every one: neither checks.
        if !(tol.is_finite() && tol >= 0.0) {
            return invalid(name.into(), "finite and ≥ 0".into(), tol.to_string());
        }
    }
    let total: usize = inputs.iter().map(Tensor::numel).sum();
    if total == 0 || config.directions == Some(0) {
        // A report of nothing checked would say "passed".
        return Err(Error::Empty {
            op: "gradcheck",
            shape: crate::Shape::vector(if config.directions == Some(0) {
                0
            } else {
                total
            }),
        });
    }
    if config.directions.is_none() {
        for (i, input) in inputs.iter().enumerate() {
            if let Some((j, &x)) = input
                .as_slice()
                .iter()
                .enumerate()
                .find(|&(_, &x)| x + h / 2.0 == x || x - h / 2.0 == x)
            {
                return invalid(
                    "the step".into(),
                    format!("large enough that x ± h/2 ≠ x at input {i}, element {j} = {x}"),
                    h.to_string(),
                );
            }
        }
    }
    // Analytic gradients.
    let analytic: Vec<Vec<f64>> = {
        let tape = Tape::<f64>::new();
        let vars: Vec<_> = inputs.iter().map(|t| tape.var(t)).collect();
        let out = f(&tape, &vars)?;
        let grads = out.backward()?;
        vars.iter()
            .map(|&v| match grads.get(v) {
                Ok(g) => g.to_vec(),
                // An input the output does not depend on has gradient zero.
                Err(_) => vec![0.0; v.shape().numel()],
            })
            .collect()
    };
    let mut tape = Tape::<f64>::new();
    let f0 = eval(&mut tape, &f, inputs)?;
    if !f0.is_finite() {
        // Every difference would be NaN or ∞: nothing can be compared.
        return Err(Error::NonFinite {
            op: "gradcheck",
            what: format!("{f0}: the function's value at the inputs"),
        });
    }
    let mut comparisons = Vec::new();
    let mut work: Vec<Tensor<f64>> = inputs.to_vec();
    match config.directions {
        None => {
            for (i, input) in inputs.iter().enumerate() {
                for (j, (&x, &a)) in input.as_slice().iter().zip(&analytic[i]).enumerate() {
                    let location = Location::Element { input: i, index: j };
                    let c = measure(location, a, f0, config, |step| {
                        work[i].as_mut_slice()[j] = x + step;
                        let fp = eval(&mut tape, &f, &work);
                        work[i].as_mut_slice()[j] = x - step;
                        let fm = eval(&mut tape, &f, &work);
                        work[i].as_mut_slice()[j] = x;
                        Ok((fp?, fm?))
                    })?;
                    comparisons.push(c);
                }
            }
        }
        Some(k) => {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(config.seed);
            for d in 0..k {
                let mut dir: Vec<f64> = (0..total).map(|_| rng.random::<f64>() - 0.5).collect();
                let norm = dir.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-300);
                dir.iter_mut().for_each(|v| *v /= norm);
                let directional: f64 = analytic
                    .iter()
                    .flatten()
                    .zip(&dir)
                    .map(|(g, v)| g * v)
                    .sum();
                let shifted = |step: f64| -> Vec<Tensor<f64>> {
                    let mut off = 0;
                    inputs
                        .iter()
                        .map(|t| {
                            let n = t.numel();
                            let mut t2 = t.clone();
                            for (x, v) in t2.as_mut_slice().iter_mut().zip(&dir[off..off + n]) {
                                *x += step * v;
                            }
                            off += n;
                            t2
                        })
                        .collect()
                };
                let location = Location::Direction { direction: d };
                let c = measure(location, directional, f0, config, |step| {
                    let fp = eval(&mut tape, &f, &shifted(step))?;
                    let fm = eval(&mut tape, &f, &shifted(-step))?;
                    Ok((fp, fm))
                })?;
                comparisons.push(c);
            }
        }
    }
    Ok(classify(comparisons, config))
}

/// Whether `a` matches `b` within the configured tolerance.
fn within(a: f64, b: f64, config: &GradcheckConfig) -> bool {
    (a - b).abs() <= config.atol + config.rtol * b.abs()
}

/// One comparison, and whether a kink is suspected. `probe(s)` returns
/// `(f(x + s·d), f(x − s·d))`.
///
/// Large curvature also makes the one-sided differences disagree (by
/// `h·f''`), so a disagreement is re-measured at `h/2`: for a smooth function
/// the gap halves; at a kink within ±h/2 it stays. If it does not persist,
/// the finer central difference is used instead.
fn measure(
    location: Location,
    analytic: f64,
    f0: f64,
    config: &GradcheckConfig,
    mut probe: impl FnMut(f64) -> Result<(f64, f64)>,
) -> Result<(Comparison, bool)> {
    let h = config.step;
    let (fp, fm) = probe(h)?;
    let mut c = Comparison {
        location,
        analytic,
        numeric: (fp - fm) / (2.0 * h),
        one_sided: ((fp - f0) / h, (f0 - fm) / h),
    };
    let (right, left) = c.one_sided;
    if within(right, left, config) {
        return Ok((c, false));
    }
    let half = h / 2.0;
    let (fp2, fm2) = probe(half)?;
    let fine = ((fp2 - f0) / half, (f0 - fm2) / half);
    let (gap, fine_gap) = ((right - left).abs(), (fine.0 - fine.1).abs());
    if fine_gap > 0.75 * gap {
        Ok((c, true))
    } else {
        c.numeric = (fp2 - fm2) / h;
        c.one_sided = fine;
        Ok((c, false))
    }
}

/// Sorts comparisons into passes, kinks and failures. The flag says whether
/// the one-sided differences disagree at both `h` and `h/2` (a kink).
fn classify(comparisons: Vec<(Comparison, bool)>, config: &GradcheckConfig) -> GradcheckReport {
    let mut report = GradcheckReport {
        checked: comparisons.len(),
        worst_abs: None,
        worst_rel: None,
        failures: Vec::new(),
        kinks: Vec::new(),
    };
    for (c, suspected) in comparisons {
        let ok = within(c.analytic, c.numeric, config);
        let (right, left) = c.one_sided;
        // At a kink a correct one-sided derivative lies between the two
        // one-sided differences.
        let kink = suspected && {
            let (lo, hi) = (right.min(left), right.max(left));
            let slack = config.atol + config.rtol * hi.abs().max(lo.abs());
            c.analytic >= lo - slack && c.analytic <= hi + slack
        };
        if kink {
            report.kinks.push(c);
            continue;
        }
        if report
            .worst_abs
            .as_ref()
            .is_none_or(|w| c.abs_error() > w.abs_error())
        {
            report.worst_abs = Some(c.clone());
        }
        if report
            .worst_rel
            .as_ref()
            .is_none_or(|w| c.rel_error() > w.rel_error())
        {
            report.worst_rel = Some(c.clone());
        }
        if !ok || c.analytic.is_nan() != c.numeric.is_nan() {
            report.failures.push(c);
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrong_gradient_is_reported_with_its_location() {
        // d/dx of x·detach(x) is x by the tape but 2x numerically.
        let x = Tensor::from_vec(vec![1.0, 2.0], &[2]).unwrap();
        let r = gradcheck(
            |_, v| Ok((v[0] * v[0].detach()).sum()),
            &[x],
            &GradcheckConfig::default(),
        )
        .unwrap();
        assert!(!r.passed());
        assert_eq!(r.failures.len(), 2);
        let worst = r.worst_abs.unwrap();
        assert_eq!(worst.location, Location::Element { input: 0, index: 1 });
        assert!((worst.analytic - 2.0).abs() < 1e-12);
        assert!((worst.numeric - 4.0).abs() < 1e-6);
    }

    #[test]
    fn random_directions_check_large_inputs() {
        let x = Tensor::rand_uniform(&[50], -1.0, 1.0, 1).unwrap();
        let cfg = GradcheckConfig {
            directions: Some(4),
            ..Default::default()
        };
        let r = gradcheck(|_, v| Ok(v[0].tanh().square().sum()), &[x], &cfg).unwrap();
        assert_eq!(r.checked, 4);
        assert!(r.passed(), "{r}");
    }

    #[test]
    fn large_curvature_with_a_small_gradient_is_not_a_kink() {
        // f(x) = 1e6·x² at x = 1e-7: f' = 0.2, f'' = 2e6, so the one-sided
        // differences at h = 1e-6 differ by h·f'' = 2 — but the gap halves
        // with h, so it is checked as a smooth point, and passes.
        let x = Tensor::from_vec(vec![1e-7], &[1]).unwrap();
        let r = gradcheck(
            |_, v| Ok((v[0].square() * 1e6).sum()),
            &[x],
            &GradcheckConfig::default(),
        )
        .unwrap();
        assert!(r.kinks.is_empty(), "{r}");
        assert!(r.passed(), "{r}");
        assert_eq!(r.checked, 1);
    }

    #[test]
    fn a_kink_with_a_wrong_value_still_fails() {
        // The analytic value 5 lies outside the one-sided derivatives {−1, 1}.
        let c = Comparison {
            location: Location::Element { input: 0, index: 0 },
            analytic: 5.0,
            numeric: 0.0,
            one_sided: (1.0, -1.0),
        };
        let r = classify(vec![(c, true)], &GradcheckConfig::default());
        assert!(!r.passed());
        assert!(r.kinks.is_empty());
    }
}
