//! Adam and AdamW.

use crate::element::Element;
use crate::error::Result;

use super::{
    LrSchedule, Optimizer, PARALLEL_UPDATE, StateBuffer, check, check_finite_inputs, check_lengths,
    effective_rate, in_pieces, non_finite,
};
use crate::error::Error;
use crate::kernels::nan_unless_finite;

/// Adam (Kingma & Ba, "Adam: A Method for Stochastic Optimization", ICLR
/// 2015, Algorithm 1). At step `t = 1, 2, …`, with learning rate `η_t`
/// (base rate times the [schedule](LrSchedule)), moment estimates `m`, `v`
/// (zero before the first step) and optional L2 weight decay `λ`:
///
/// ```text
/// g ← ∇ + λ·θ
/// m ← β₁·m + (1 − β₁)·g
/// v ← β₂·v + (1 − β₂)·g²
/// m̂ = m / (1 − β₁ᵗ),   v̂ = v / (1 − β₂ᵗ)
/// θ ← θ − η_t · m̂ / (√v̂ + ε)
/// ```
///
/// Defaults: `β₁ = 0.9`, `β₂ = 0.999`, `ε = 1e-8`, `λ = 0`. For decay
/// decoupled from the gradient, use [`AdamW`]. Decay applies to every
/// parameter, biases included.
///
/// ```
/// use gradsign::optim::{Adam, Optimizer};
/// use gradsign::nn::Param;
/// let mut opt = Adam::new(0.1);
/// let mut theta = [1.0f64];
/// opt.step_params([Param { name: "theta", value: &mut theta, grad: &[5.0] }])?;
/// // The first step moves by ≈ η whatever the gradient's scale: m̂ = g, v̂ = g².
/// assert!((theta[0] - 0.9).abs() < 1e-8);
/// # Ok::<(), gradsign::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Adam<F: Element> {
    lr: F,
    beta1: F,
    beta2: F,
    eps: F,
    weight_decay: F,
    /// AdamW's decoupled decay (zero for Adam).
    decoupled_decay: F,
    schedule: LrSchedule,
    pub(crate) steps: usize,
    /// This step's rate, bias corrections and decoupled shrink factor
    /// (fixed by `begin_step`).
    current: [F; 4],
    /// The name of the step under way (`Adam` or `AdamW`), for errors.
    op: &'static str,
    /// `m` then `v` for each parameter.
    pub(crate) moments: StateBuffer<F>,
    /// The threads a large parameter's update is split between.
    threads: usize,
}

impl<F: Element> Adam<F> {
    /// Adam with learning rate `lr` and the default `β₁, β₂, ε`.
    pub fn new(lr: F) -> Self {
        Adam {
            lr,
            beta1: F::from_f64(0.9),
            beta2: F::from_f64(0.999),
            eps: F::from_f64(1e-8),
            weight_decay: F::zero(),
            decoupled_decay: F::zero(),
            schedule: LrSchedule::Constant,
            steps: 0,
            current: [F::zero(); 4],
            op: "Adam",
            moments: StateBuffer::default(),
            threads: 1,
        }
    }

    /// Sets `β₁` and `β₂`, each in `[0, 1)`.
    pub fn betas(mut self, beta1: F, beta2: F) -> Self {
        self.beta1 = beta1;
        self.beta2 = beta2;
        self
    }

    /// Sets `ε > 0`.
    pub fn eps(mut self, eps: F) -> Self {
        self.eps = eps;
        self
    }

    /// Sets the L2 weight decay `λ ≥ 0` (added to the gradient, so it is
    /// rescaled by the adaptive step; see [`AdamW`] for the decoupled form).
    pub fn weight_decay(mut self, weight_decay: F) -> Self {
        self.weight_decay = weight_decay;
        self
    }

    /// Sets the learning-rate schedule.
    pub fn schedule(mut self, schedule: LrSchedule) -> Self {
        self.schedule = schedule;
        self
    }

    /// Splits the update of each parameter of at least 32,768 values
    /// between `threads` threads (one by default), under the crate's
    /// [rule for thread counts](crate::threads#thread-counts), as
    /// [`Sgd::threads`](crate::optim::Sgd::threads) does: the results are
    /// the same at every thread count.
    ///
    /// ```
    /// use gradsign::optim::{Adam, Optimizer};
    /// use gradsign::nn::Param;
    /// let mut theta = vec![1.0f32; 1 << 16];
    /// let grad = vec![3.0f32; 1 << 16];
    /// let mut opt = Adam::new(0.1).threads(2);
    /// opt.step_params([Param { name: "w", value: &mut theta, grad: &grad }])?;
    /// assert!(theta.iter().all(|&t| (t - 0.9).abs() < 1e-6));
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = crate::threads::clamp_threads(threads);
        self
    }

    fn validate(&self, op: &'static str) -> Result<()> {
        let f = |x: F| x.to_f64();
        let (lr, b1, b2, eps) = (f(self.lr), f(self.beta1), f(self.beta2), f(self.eps));
        check(op, "the learning rate", "finite and ≥ 0", lr, lr >= 0.0)?;
        check(op, "β₁", "in [0, 1)", b1, (0.0..1.0).contains(&b1))?;
        check(op, "β₂", "in [0, 1)", b2, (0.0..1.0).contains(&b2))?;
        check(op, "ε", "finite and > 0", eps, eps > 0.0)?;
        let (wd, dd) = (f(self.weight_decay), f(self.decoupled_decay));
        check(op, "the weight decay", "finite and ≥ 0", wd, wd >= 0.0)?;
        check(
            op,
            "the decoupled weight decay",
            "finite and ≥ 0",
            dd,
            dd >= 0.0,
        )?;
        self.schedule.validate()
    }

    fn begin(&mut self, op: &'static str) -> Result<()> {
        self.validate(op)?;
        let lr = effective_rate(op, self.lr, &self.schedule, self.steps)?;
        let t = F::from_f64((self.steps + 1) as f64);
        let one = F::one();
        let (c1, c2) = (one - self.beta1.powf(t), one - self.beta2.powf(t));
        let decay = lr * self.decoupled_decay;
        if decay.is_nan() || decay > one {
            // θ·(1 − ηλ) with ηλ > 1 flips every weight's sign each step.
            return Err(Error::out_of_domain(
                op,
                "the decoupled decay η·λ",
                "at most 1",
                format_args!("{} × {} = {decay}", lr, self.decoupled_decay),
            ));
        }
        self.current = [lr, c1, c2, one - decay];
        self.op = op;
        Ok(())
    }

    fn update_one(&mut self, index: usize, name: &str, value: &mut [F], grad: &[F]) -> Result<()> {
        let op = self.op;
        check_lengths(name, value.len(), grad.len())?;
        let [lr, c1, c2, shrink] = self.current;
        let rule = Rule {
            lr,
            c1,
            c2,
            shrink,
            b1: self.beta1,
            b2: self.beta2,
            eps: self.eps,
            wd: self.weight_decay,
        };
        let n = value.len();
        let pieces = if n >= PARALLEL_UPDATE {
            self.threads
        } else {
            1
        };
        let (m, v) = self.moments.slot(index, name, n, 2)?.split_at_mut(n);
        // Every new value and moment checked before any is written. A
        // non-finite value or gradient always makes its update non-finite,
        // so the inputs are examined (and named in the error) only when the
        // check fails.
        if !in_pieces(pieces, (value, grad, m, v), &|(t, g, m, v)| {
            rule.sound(t, g, m, v)
        }) {
            check_finite_inputs(op, name, value, grad)?;
            for (j, ((&theta, &g), (&mj, &vj))) in value
                .iter()
                .zip(grad)
                .zip(m.iter().zip(v.iter()))
                .enumerate()
            {
                let (t, m, v) = rule.apply(theta, g, mj, vj);
                for (what, x) in [
                    ("the updated values", t),
                    ("the first moment", m),
                    ("the second moment", v),
                ] {
                    if !x.is_finite() {
                        return Err(non_finite(op, name, what, j, x));
                    }
                }
            }
        }
        in_pieces(pieces, (value, grad, m, v), &|(t, g, m, v)| {
            for (((theta, &g), m), v) in t.iter_mut().zip(g).zip(m).zip(v) {
                (*theta, *m, *v) = rule.apply(*theta, g, *m, *v);
            }
            true
        });
        Ok(())
    }
}

/// One step's update rule, per element.
#[derive(Clone, Copy)]
struct Rule<F> {
    lr: F,
    c1: F,
    c2: F,
    shrink: F,
    b1: F,
    b2: F,
    eps: F,
    wd: F,
}

impl<F: Element> Rule<F> {
    /// The new value and moments of one element.
    #[inline(always)]
    fn apply(self, theta: F, grad: F, m: F, v: F) -> (F, F, F) {
        let one = F::one();
        let g = grad + self.wd * theta;
        let m = self.b1 * m + (one - self.b1) * g;
        let v = self.b2 * v + (one - self.b2) * g * g;
        let (m_hat, v_hat) = (m / self.c1, v / self.c2);
        (
            theta * self.shrink - self.lr * m_hat / (v_hat.sqrt() + self.eps),
            m,
            v,
        )
    }

    /// Whether every new value and moment is finite: a branch-free sum of
    /// `t − t` (NaN for a non-finite `t`) in whole chunks of eight, then
    /// the rest.
    fn sound(self, value: &[F], grad: &[F], m: &[F], v: &[F]) -> bool {
        let mut lanes = [F::zero(); 8];
        let sound = |theta, g, m, v| {
            let (t, m, v) = self.apply(theta, g, m, v);
            nan_unless_finite(t) + nan_unless_finite(m) + nan_unless_finite(v)
        };
        let chunks = value
            .chunks_exact(8)
            .zip(grad.chunks_exact(8))
            .zip(m.chunks_exact(8).zip(v.chunks_exact(8)));
        for ((th, gr), (ms, vs)) in chunks {
            for i in 0..8 {
                lanes[i] += sound(th[i], gr[i], ms[i], vs[i]);
            }
        }
        let rest = value.len() - value.len() % 8;
        for (l, j) in lanes.iter_mut().zip(rest..value.len()) {
            *l += sound(value[j], grad[j], m[j], v[j]);
        }
        lanes.iter().all(|&l| l == F::zero())
    }
}

impl<F: Element> Optimizer<F> for Adam<F> {
    fn begin_step(&mut self) -> Result<()> {
        self.begin("Adam")
    }

    fn update(&mut self, index: usize, name: &str, value: &mut [F], grad: &[F]) -> Result<()> {
        self.update_one(index, name, value, grad)
    }

    fn check_param(&self, index: usize, name: &str, len: usize) -> Result<()> {
        self.moments.check(index, name, len)
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

/// AdamW (Loshchilov & Hutter, "Decoupled Weight Decay Regularization",
/// ICLR 2019): Adam whose weight decay shrinks the parameters directly
/// instead of entering the gradient. With the symbols of [`Adam`] and
/// decay `λ`:
///
/// ```text
/// m ← β₁·m + (1 − β₁)·∇,   v ← β₂·v + (1 − β₂)·∇²
/// θ ← θ·(1 − η_t·λ) − η_t · m̂ / (√v̂ + ε)
/// ```
///
/// (PyTorch's form, where the decay is scaled by the learning rate.)
///
/// ```
/// use gradsign::optim::{AdamW, Optimizer};
/// use gradsign::nn::Param;
/// let mut opt = AdamW::new(0.1, 0.5);
/// let mut theta = [2.0f64];
/// opt.step_params([Param { name: "theta", value: &mut theta, grad: &[0.0] }])?;
/// // zero gradient: only the decay acts, θ = 2·(1 − 0.1·0.5)
/// assert_eq!(theta[0], 1.9);
/// # Ok::<(), gradsign::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct AdamW<F: Element> {
    pub(crate) inner: Adam<F>,
}

impl<F: Element> AdamW<F> {
    /// AdamW with learning rate `lr`, decoupled decay `weight_decay` and the
    /// default `β₁ = 0.9, β₂ = 0.999, ε = 1e-8`.
    pub fn new(lr: F, weight_decay: F) -> Self {
        let mut inner = Adam::new(lr);
        inner.decoupled_decay = weight_decay;
        AdamW { inner }
    }

    /// Sets `β₁` and `β₂`, each in `[0, 1)`.
    pub fn betas(mut self, beta1: F, beta2: F) -> Self {
        self.inner = self.inner.betas(beta1, beta2);
        self
    }

    /// Sets `ε > 0`.
    pub fn eps(mut self, eps: F) -> Self {
        self.inner = self.inner.eps(eps);
        self
    }

    /// Sets the learning-rate schedule.
    pub fn schedule(mut self, schedule: LrSchedule) -> Self {
        self.inner = self.inner.schedule(schedule);
        self
    }

    /// Splits the update of each parameter of at least 32,768 values
    /// between `threads` threads, as [`Adam::threads`] does.
    ///
    /// ```
    /// use gradsign::optim::{AdamW, Optimizer};
    /// use gradsign::nn::Param;
    /// let mut theta = vec![2.0f64; 1 << 16];
    /// let grad = vec![0.0f64; 1 << 16];
    /// let mut opt = AdamW::new(0.1, 0.5).threads(2);
    /// opt.step_params([Param { name: "w", value: &mut theta, grad: &grad }])?;
    /// assert!(theta.iter().all(|&t| t == 1.9));
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    pub fn threads(mut self, threads: usize) -> Self {
        self.inner = self.inner.threads(threads);
        self
    }
}

impl<F: Element> Optimizer<F> for AdamW<F> {
    fn begin_step(&mut self) -> Result<()> {
        self.inner.begin("AdamW")
    }

    fn update(&mut self, index: usize, name: &str, value: &mut [F], grad: &[F]) -> Result<()> {
        self.inner.update_one(index, name, value, grad)
    }

    fn check_param(&self, index: usize, name: &str, len: usize) -> Result<()> {
        self.inner.moments.check(index, name, len)
    }

    fn end_step(&mut self) {
        self.inner.steps += 1;
    }

    fn learning_rate(&self) -> F {
        self.inner.learning_rate()
    }

    fn steps_taken(&self) -> usize {
        self.inner.steps
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::Param;

    const SPLIT: usize = PARALLEL_UPDATE;

    /// A parameter split between threads gets, bit for bit, the values and
    /// moments of the one-thread update (Adam with and without L2 decay,
    /// AdamW), at lengths around the split's threshold, over three steps.
    #[test]
    fn a_split_update_equals_the_one_thread_update() {
        fn case<F: Element>(len: usize, wd: f64, decoupled: f64) {
            let make = |threads| {
                let mut opt = Adam::new(F::from_f64(0.01)).weight_decay(F::from_f64(wd));
                opt.decoupled_decay = F::from_f64(decoupled);
                // Set directly: the split is tested on a one-core machine too.
                opt.threads = threads;
                opt
            };
            let (mut one, mut two, mut three) = (make(1), make(2), make(3));
            let start: Vec<F> = (0..len)
                .map(|j| F::from_f64((j as f64 * 0.37).sin()))
                .collect();
            let (mut a, mut b, mut c) = (start.clone(), start.clone(), start);
            let bits = |v: &[F]| {
                v.iter()
                    .map(|&x| Element::to_f64(x).to_bits())
                    .collect::<Vec<_>>()
            };
            for step in 0..3 {
                let g: Vec<F> = (0..len)
                    .map(|j| F::from_f64((j as f64 * 0.11 + step as f64).cos()))
                    .collect();
                for (opt, theta) in [(&mut one, &mut a), (&mut two, &mut b), (&mut three, &mut c)] {
                    opt.step_params([Param {
                        name: "w",
                        value: theta,
                        grad: &g,
                    }])
                    .unwrap();
                }
                assert_eq!(bits(&a), bits(&b), "len {len}, step {step}");
                assert_eq!(bits(&a), bits(&c), "len {len}, step {step}");
                assert_eq!(bits(&one.moments.data), bits(&two.moments.data));
                assert_eq!(bits(&one.moments.data), bits(&three.moments.data));
            }
        }
        for len in [SPLIT - 1, SPLIT, SPLIT + 13] {
            for (wd, decoupled) in [(0.0, 0.0), (0.01, 0.0), (0.0, 0.1)] {
                case::<f32>(len, wd, decoupled);
                case::<f64>(len, wd, decoupled);
            }
        }
    }

    /// A split update refuses a non-finite value, gradient or result in
    /// either part, at the split point too, names the element, and writes
    /// nothing of the parameter or its moments.
    #[test]
    fn a_split_update_refuses_a_bad_element_in_either_part() {
        let len = SPLIT + 5;
        let mid = len / 2;
        for bad in [0, mid - 1, mid, len - 1] {
            for (theta_bad, g_bad, what) in [
                (1.0, f32::NAN, "gradient"),
                (f32::INFINITY, 0.5, "value"),
                (1.0, f32::MAX, "second moment"),
            ] {
                let mut opt = Adam::new(0.1f32);
                opt.threads = 2;
                let mut theta = vec![1.0f32; len];
                theta[bad] = theta_bad;
                let before = theta.clone();
                let mut g = vec![0.5f32; len];
                g[bad] = g_bad;
                let e = opt
                    .step_params([Param {
                        name: "w",
                        value: &mut theta,
                        grad: &g,
                    }])
                    .unwrap_err()
                    .to_string();
                assert!(e.contains(&format!("element {bad}")), "{e}");
                assert!(e.contains(what), "{e}");
                let same = theta
                    .iter()
                    .zip(&before)
                    .all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(same, "bad {bad}: {e}");
                assert!(opt.moments.data.iter().all(|&m| m == 0.0));
            }
        }
    }

    #[test]
    fn invalid_betas_are_rejected() {
        let mut opt = Adam::new(0.1).betas(1.0, 0.999);
        let mut theta = [0.0f64];
        let e = opt
            .step_params([Param {
                name: "w",
                value: &mut theta,
                grad: &[1.0],
            }])
            .unwrap_err();
        assert!(e.to_string().contains("β₁"), "{e}");
    }
}
