//! Stochastic gradient descent with momentum, Nesterov momentum and weight
//! decay.

use crate::element::Element;
use crate::error::{Error, Result};
use crate::kernels::nan_unless_finite;

use super::{
    LrSchedule, Optimizer, PARALLEL_UPDATE, StateBuffer, check, check_finite_inputs, check_lengths,
    effective_rate, in_pieces, non_finite,
};

/// Stochastic gradient descent. With learning rate `η_t` (the base rate
/// times the [schedule](LrSchedule)), momentum `μ`, weight decay `λ` and
/// velocity `b` (zero before the first step), each step computes, per
/// parameter value `θ` with gradient `∇`:
///
/// ```text
/// g ← ∇ + λ·θ
/// b ← μ·b + g                       (when μ > 0)
/// g ← g + μ·b  (Nesterov)   or   g ← b  (classical momentum)
/// θ ← θ − η_t·g
/// ```
///
/// These are PyTorch's equations (no dampening). Decay applies to every
/// parameter, biases included.
/// Plain SGD (`μ = λ = 0`)
/// is `θ ← θ − η∇`: the only case where a one-example step keeps a neuron's
/// weight change within the two orthants of its input's sign pattern.
///
/// ```
/// use gradsign::optim::{LrSchedule, Optimizer, Sgd};
/// use gradsign::nn::Param;
/// let mut opt = Sgd::new(0.1).momentum(0.9).nesterov(true).weight_decay(0.0);
/// let mut theta = [1.0f64];
/// opt.step_params([Param { name: "theta", value: &mut theta, grad: &[2.0] }])?;
/// // b = 2, g = 2 + 0.9·2 = 3.8, θ = 1 − 0.38
/// assert!((theta[0] - 0.62).abs() < 1e-15);
/// # Ok::<(), gradsign::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Sgd<F: Element> {
    lr: F,
    momentum: F,
    nesterov: bool,
    weight_decay: F,
    schedule: LrSchedule,
    pub(crate) steps: usize,
    /// The rate of the step under way (fixed by `begin_step`).
    rate: F,
    pub(crate) velocity: StateBuffer<F>,
    /// The threads a large parameter's update is split between.
    threads: usize,
}

impl<F: Element> Sgd<F> {
    /// Plain SGD with learning rate `lr`.
    pub fn new(lr: F) -> Self {
        Sgd {
            lr,
            momentum: F::zero(),
            nesterov: false,
            weight_decay: F::zero(),
            schedule: LrSchedule::Constant,
            steps: 0,
            rate: F::zero(),
            velocity: StateBuffer::default(),
            threads: 1,
        }
    }

    /// Sets the momentum `μ ∈ [0, 1)`.
    pub fn momentum(mut self, momentum: F) -> Self {
        self.momentum = momentum;
        self
    }

    /// Uses Nesterov momentum (needs `μ > 0`).
    pub fn nesterov(mut self, nesterov: bool) -> Self {
        self.nesterov = nesterov;
        self
    }

    /// Sets the L2 weight decay `λ ≥ 0` (added to the gradient).
    pub fn weight_decay(mut self, weight_decay: F) -> Self {
        self.weight_decay = weight_decay;
        self
    }

    /// Splits the update of each parameter of at least 32,768 values
    /// between `threads` threads (one by default), under the crate's
    /// [rule for thread counts](crate::threads#thread-counts). The results
    /// are the same at every thread count: each value's update is computed
    /// by the same operations.
    ///
    /// ```
    /// use gradsign::optim::{Optimizer, Sgd};
    /// use gradsign::nn::Param;
    /// let mut theta = vec![1.0f32; 1 << 16];
    /// let grad = vec![2.0f32; 1 << 16];
    /// let mut opt = Sgd::new(0.25).threads(2);
    /// opt.step_params([Param { name: "w", value: &mut theta, grad: &grad }])?;
    /// assert!(theta.iter().all(|&t| t == 0.5));
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = crate::threads::clamp_threads(threads);
        self
    }

    /// Sets the learning-rate schedule.
    pub fn schedule(mut self, schedule: LrSchedule) -> Self {
        self.schedule = schedule;
        self
    }

    fn validate(&self) -> Result<()> {
        let (lr, mu, wd) = (
            self.lr.to_f64(),
            self.momentum.to_f64(),
            self.weight_decay.to_f64(),
        );
        check("Sgd", "the learning rate", "finite and ≥ 0", lr, lr >= 0.0)?;
        check(
            "Sgd",
            "the momentum",
            "in [0, 1)",
            mu,
            (0.0..1.0).contains(&mu),
        )?;
        check("Sgd", "the weight decay", "finite and ≥ 0", wd, wd >= 0.0)?;
        if self.nesterov && mu == 0.0 {
            return Err(Error::out_of_domain(
                "Sgd",
                "the momentum with Nesterov on",
                "> 0",
                mu,
            ));
        }
        self.schedule.validate()
    }
}

impl<F: Element> Optimizer<F> for Sgd<F> {
    fn begin_step(&mut self) -> Result<()> {
        self.validate()?;
        self.rate = effective_rate("Sgd", self.lr, &self.schedule, self.steps)?;
        Ok(())
    }

    fn update(&mut self, index: usize, name: &str, value: &mut [F], grad: &[F]) -> Result<()> {
        check_lengths(name, value.len(), grad.len())?;
        let rule = Rule {
            lr: self.rate,
            mu: self.momentum,
            wd: self.weight_decay,
            nesterov: self.nesterov,
        };
        let b: &mut [F] = if rule.mu > F::zero() {
            self.velocity.slot(index, name, value.len(), 1)?
        } else {
            &mut []
        };
        let pieces = if value.len() >= PARALLEL_UPDATE {
            self.threads
        } else {
            1
        };
        // Every new value and velocity checked before any is written, so a
        // refused step leaves the parameters as they were; only a failure
        // looks for the first bad element. A non-finite value or gradient
        // always makes its update non-finite, so the inputs are examined
        // (and named in the error) only then.
        if !in_pieces(pieces, (value, grad, b, &mut []), &|(v, g, b, _)| {
            rule.sound(v, g, b)
        }) {
            check_finite_inputs("Sgd", name, value, grad)?;
            let velocity = |j: usize| b.get(j).copied().unwrap_or_else(F::zero);
            for (j, (&theta, &g)) in value.iter().zip(grad).enumerate() {
                let (t, v) = rule.apply(theta, g, velocity(j));
                if !t.is_finite() {
                    return Err(non_finite("Sgd", name, "the updated values", j, t));
                }
                if !v.is_finite() {
                    return Err(non_finite("Sgd", name, "the updated velocity", j, v));
                }
            }
        }
        in_pieces(pieces, (value, grad, b, &mut []), &|(v, g, b, _)| {
            rule.write(v, g, b);
            true
        });
        Ok(())
    }

    fn check_param(&self, index: usize, name: &str, len: usize) -> Result<()> {
        self.velocity.check(index, name, len)
    }

    fn end_step(&mut self) {
        self.steps += 1;
    }

    fn learning_rate(&self) -> F {
        self.lr * F::from_f64(self.schedule.factor(self.steps))
    }

    fn steps_taken(&self) -> usize {
        self.steps
    }
}

/// One step's update rule, per element.
#[derive(Clone, Copy)]
struct Rule<F> {
    lr: F,
    mu: F,
    wd: F,
    nesterov: bool,
}

impl<F: Element> Rule<F> {
    /// The new value and velocity of one element (the velocity is passed
    /// through unchanged without momentum).
    #[inline(always)]
    fn apply(self, theta: F, grad: F, b: F) -> (F, F) {
        let g = grad + self.wd * theta;
        if self.mu > F::zero() {
            let b = self.mu * b + g;
            let step = if self.nesterov { g + self.mu * b } else { b };
            (theta - self.lr * step, b)
        } else {
            (theta - self.lr * g, b)
        }
    }

    /// Whether every new value (and velocity, when `b` is not empty) is
    /// finite: a branch-free sum of `t − t` (NaN for a non-finite `t`).
    /// Whole chunks of eight with fixed-length inner loops (which
    /// vectorise; `chunks(8)`'s variable-length ones did not: 90% of the
    /// optimiser's instructions in W3 under callgrind), then the rest.
    fn sound(self, value: &[F], grad: &[F], b: &[F]) -> bool {
        let mut lanes = [F::zero(); 8];
        let (th, gr) = (value.chunks_exact(8), grad.chunks_exact(8));
        let rest = th.remainder().iter().zip(gr.remainder());
        if b.is_empty() {
            for (th, gr) in th.zip(gr) {
                for i in 0..8 {
                    lanes[i] += nan_unless_finite(self.apply(th[i], gr[i], F::zero()).0);
                }
            }
            for (l, (&theta, &g)) in lanes.iter_mut().zip(rest) {
                *l += nan_unless_finite(self.apply(theta, g, F::zero()).0);
            }
        } else {
            let bs = b.chunks_exact(8);
            let rest = rest.zip(bs.remainder());
            for ((th, gr), bs) in th.zip(gr).zip(bs) {
                for i in 0..8 {
                    let (t, v) = self.apply(th[i], gr[i], bs[i]);
                    lanes[i] += nan_unless_finite(t) + nan_unless_finite(v);
                }
            }
            for (l, ((&theta, &g), &v)) in lanes.iter_mut().zip(rest) {
                let (t, v) = self.apply(theta, g, v);
                *l += nan_unless_finite(t) + nan_unless_finite(v);
            }
        }
        lanes.iter().all(|&l| l == F::zero())
    }

    /// Writes the new values (and velocities, when `b` is not empty).
    fn write(self, value: &mut [F], grad: &[F], b: &mut [F]) {
        if b.is_empty() {
            for (theta, &g) in value.iter_mut().zip(grad) {
                *theta = self.apply(*theta, g, F::zero()).0;
            }
        } else {
            for ((theta, &g), b) in value.iter_mut().zip(grad).zip(b.iter_mut()) {
                (*theta, *b) = self.apply(*theta, g, *b);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::Param;

    const NAME: &str = "0.weight";

    fn run(opt: &mut Sgd<f64>, theta: &mut [f64], grads: &[&[f64]]) {
        for g in grads {
            opt.step_params([Param {
                name: NAME,
                value: theta,
                grad: g,
            }])
            .unwrap();
        }
    }

    /// The finiteness check runs in whole chunks of eight and a
    /// remainder: an update that overflows, or a NaN gradient, at any
    /// position of any length is refused, and the parameter keeps its
    /// values.
    #[test]
    fn a_non_finite_update_anywhere_is_refused_and_changes_nothing() {
        for momentum in [0.0, 0.5] {
            for len in 1..20 {
                for bad in 0..len {
                    for (theta_bad, g_bad) in [(f64::MAX, -f64::MAX), (1.0, f64::NAN)] {
                        let mut opt = Sgd::new(1.0).momentum(momentum);
                        let mut theta = vec![1.0; len];
                        theta[bad] = theta_bad;
                        let before = theta.clone();
                        let mut g = vec![0.5; len];
                        g[bad] = g_bad;
                        let e = opt
                            .step_params([Param {
                                name: NAME,
                                value: &mut theta,
                                grad: &g,
                            }])
                            .unwrap_err();
                        assert!(e.to_string().contains(&format!("element {bad}")), "{e}");
                        assert_eq!(theta, before, "len {len}, bad {bad}, μ {momentum}");
                    }
                }
            }
        }
    }

    /// A parameter split between threads gets, bit for bit, the values and
    /// velocities of the one-thread update, at lengths around the split's
    /// threshold, with every rule (plain, decay, momentum, Nesterov).
    #[test]
    fn a_split_update_equals_the_one_thread_update() {
        fn case<F: Element>(len: usize, momentum: f64, nesterov: bool, wd: f64) {
            let make = |threads| {
                let mut opt = Sgd::new(F::from_f64(0.05))
                    .momentum(F::from_f64(momentum))
                    .nesterov(nesterov)
                    .weight_decay(F::from_f64(wd));
                // Set directly: the split is tested on a one-core machine too.
                opt.threads = threads;
                opt
            };
            let (mut one, mut two, mut three) = (make(1), make(2), make(3));
            let start: Vec<F> = (0..len)
                .map(|j| F::from_f64((j as f64 * 0.37).sin()))
                .collect();
            let (mut a, mut b, mut c) = (start.clone(), start.clone(), start);
            for step in 0..3 {
                let g: Vec<F> = (0..len)
                    .map(|j| F::from_f64((j as f64 * 0.11 + step as f64).cos()))
                    .collect();
                for (opt, theta) in [(&mut one, &mut a), (&mut two, &mut b), (&mut three, &mut c)] {
                    opt.step_params([Param {
                        name: NAME,
                        value: theta,
                        grad: &g,
                    }])
                    .unwrap();
                }
                let bits = |v: &[F]| {
                    v.iter()
                        .map(|&x| Element::to_f64(x).to_bits())
                        .collect::<Vec<_>>()
                };
                assert_eq!(bits(&a), bits(&b), "len {len}, μ {momentum}, step {step}");
                assert_eq!(bits(&a), bits(&c), "len {len}, μ {momentum}, step {step}");
                assert_eq!(bits(&one.velocity.data), bits(&two.velocity.data));
                assert_eq!(bits(&one.velocity.data), bits(&three.velocity.data));
            }
        }
        for len in [PARALLEL_UPDATE - 1, PARALLEL_UPDATE, PARALLEL_UPDATE + 13] {
            for (momentum, nesterov, wd) in [
                (0.0, false, 0.0),
                (0.0, false, 0.01),
                (0.9, false, 0.0),
                (0.9, true, 0.01),
            ] {
                case::<f32>(len, momentum, nesterov, wd);
                case::<f64>(len, momentum, nesterov, wd);
            }
        }
    }

    /// A split update refuses a non-finite result in either part, at the
    /// split point too, and writes nothing of the parameter.
    #[test]
    fn a_split_update_refuses_a_bad_element_in_either_part() {
        let len = PARALLEL_UPDATE + 5;
        let mid = len / 2;
        for momentum in [0.0, 0.5] {
            for bad in [0, mid - 1, mid, len - 1] {
                let mut opt = Sgd::new(1.0f32).momentum(momentum);
                opt.threads = 2;
                let mut theta = vec![1.0f32; len];
                let mut g = vec![0.5f32; len];
                g[bad] = f32::INFINITY;
                let e = opt
                    .step_params([Param {
                        name: NAME,
                        value: &mut theta,
                        grad: &g,
                    }])
                    .unwrap_err();
                assert!(e.to_string().contains(&format!("element {bad}")), "{e}");
                assert!(theta.iter().all(|&t| t == 1.0), "bad {bad}, μ {momentum}");
                assert!(opt.velocity.data.iter().all(|&v| v == 0.0));
            }
        }
    }

    #[test]
    fn classical_momentum_accumulates_velocity() {
        // b1 = 1, θ1 = 0 − 0.1·1; b2 = 0.5·1 + 1 = 1.5, θ2 = −0.1 − 0.15.
        let mut opt = Sgd::new(0.1).momentum(0.5);
        let mut theta = [0.0];
        run(&mut opt, &mut theta, &[&[1.0], &[1.0]]);
        assert!((theta[0] + 0.25).abs() < 1e-15, "{}", theta[0]);
    }

    #[test]
    fn weight_decay_adds_lambda_theta_to_the_gradient() {
        // g = 0 + 0.5·2 = 1, θ = 2 − 0.1
        let mut opt = Sgd::new(0.1).weight_decay(0.5);
        let mut theta = [2.0];
        run(&mut opt, &mut theta, &[&[0.0]]);
        assert!((theta[0] - 1.9).abs() < 1e-15);
    }

    #[test]
    fn nesterov_without_momentum_is_rejected() {
        let mut opt = Sgd::new(0.1).nesterov(true);
        let mut theta = [0.0];
        let e = opt
            .step_params([Param {
                name: NAME,
                value: &mut theta,
                grad: &[1.0],
            }])
            .unwrap_err();
        assert!(e.to_string().contains("Nesterov"), "{e}");
    }

    #[test]
    fn a_parameter_that_changes_size_is_an_error() {
        let mut opt = Sgd::new(0.1).momentum(0.9);
        let mut a = [0.0; 2];
        run(&mut opt, &mut a, &[&[1.0, 1.0]]);
        let mut b = [0.0; 3];
        let e = opt
            .step_params([Param {
                name: NAME,
                value: &mut b,
                grad: &[1.0; 3],
            }])
            .unwrap_err();
        assert!(e.to_string().contains("0.weight"), "{e}");
    }

    #[test]
    fn the_schedule_scales_the_rate() {
        let mut opt = Sgd::new(1.0).schedule(LrSchedule::Step {
            every: 1,
            gamma: 0.5,
        });
        let mut theta = [0.0];
        // steps use rates 1, 0.5, 0.25 on gradient 1
        run(&mut opt, &mut theta, &[&[1.0], &[1.0], &[1.0]]);
        assert_eq!(theta[0], -1.75);
        assert_eq!(opt.steps_taken(), 3);
        assert_eq!(opt.learning_rate(), 0.125);
    }
}
