//! Adam and AdamW.

use crate::element::Element;
use crate::error::Result;

use super::{
    LrSchedule, Optimizer, StateBuffer, check, check_finite_inputs, check_lengths, effective_rate,
    non_finite,
};
use crate::error::Error;

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
        check_finite_inputs(op, name, value, grad)?;
        let [lr, c1, c2, shrink] = self.current;
        let (b1, b2, eps, wd) = (self.beta1, self.beta2, self.eps, self.weight_decay);
        let one = F::one();
        // The new value and moments of one element.
        let update = |theta: F, grad: F, m: F, v: F| {
            let g = grad + wd * theta;
            let m = b1 * m + (one - b1) * g;
            let v = b2 * v + (one - b2) * g * g;
            let (m_hat, v_hat) = (m / c1, v / c2);
            (theta * shrink - lr * m_hat / (v_hat.sqrt() + eps), m, v)
        };
        let n = value.len();
        let (m, v) = self.moments.slot(index, name, n, 2)?.split_at_mut(n);
        for (j, ((&theta, &g), (&mj, &vj))) in value
            .iter()
            .zip(grad)
            .zip(m.iter().zip(v.iter()))
            .enumerate()
        {
            let (t, m, v) = update(theta, g, mj, vj);
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
        for (((theta, &g), m), v) in value.iter_mut().zip(grad).zip(m).zip(v) {
            (*theta, *m, *v) = update(*theta, g, *m, *v);
        }
        Ok(())
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
