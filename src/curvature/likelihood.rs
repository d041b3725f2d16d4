//! What a model's outputs mean: the [`Likelihood`], its loss and its output
//! Fisher.

use crate::activation::sigmoidal::logistic as sigmoid;
use crate::autodiff::Var;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// The output distribution a model's outputs parametrise; its negative
/// log-likelihood is the loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Likelihood {
    /// `y ~ N(f, I)`: loss `½‖f − y‖²`, output Fisher `I`.
    Gaussian,
    /// Independent `y_c ~ Bernoulli(σ(f_c))`, targets in `[0, 1]`: loss
    /// `softplus(f) − y·f`, output Fisher `diag(σ(f)(1 − σ(f)))`.
    Bernoulli,
    /// `y ~ Categorical(softmax(f))`, target rows are probabilities (one-hot
    /// or soft): loss `logsumexp(f) − yᵀf`, output Fisher `diag(p) − ppᵀ`.
    Categorical,
}

impl Likelihood {
    /// The mean negative log-likelihood of `outputs` (`B×C`) against
    /// `targets` (same shape), recorded on the tape from primitives.
    /// Bernoulli uses `softplus(f) = −ln σ(−f)` (finite for `|f| < 745`);
    /// categorical subtracts each row's maximum, held constant (the value is
    /// shift-invariant, so its derivatives of every order are unchanged).
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if the shapes differ.
    pub fn loss<'t, E: Element>(
        self,
        outputs: Var<'t, E>,
        targets: Var<'t, E>,
    ) -> Result<Var<'t, E>> {
        let (so, st) = (outputs.shape(), targets.shape());
        if so != st || so.rank() != 2 {
            return Err(Error::ShapeMismatch {
                op: "Likelihood::loss",
                lhs: so,
                rhs: st,
                reason: "outputs and targets must both be (batch, outputs)",
            });
        }
        let tape = outputs.tape();
        let (b, c) = (so.dims()[0], so.dims()[1]);
        let per_batch = E::from_f64(1.0 / b as f64);
        match self {
            Likelihood::Gaussian => {
                Ok((outputs - targets).square().try_sum()? * (per_batch * E::from_f64(0.5)))
            }
            Likelihood::Bernoulli => {
                let softplus = -((-outputs).sigmoid().try_ln()?);
                Ok((softplus - outputs * targets).try_sum()? * per_batch)
            }
            Likelihood::Categorical => {
                let shift: Vec<E> = outputs.with_value(|v| {
                    v.chunks_exact(c.max(1))
                        .map(|row| row.iter().fold(E::neg_infinity(), |m, &x| m.max(x)))
                        .collect()
                });
                let shift = tape.constant_from_slice(&shift, &[b, 1])?;
                let lse = (outputs - shift).try_exp()?.sum_axis(1, true)?.try_ln()? + shift;
                let picked = (outputs * targets).sum_axis(1, true)?;
                Ok((lse - picked).try_sum()? * per_batch)
            }
        }
    }

    /// Adds `Λ(f)` for one output row `f` into `out` (`C×C`, row-major).
    pub(crate) fn add_output_fisher(self, f: &[f64], out: &mut [f64]) {
        let c = f.len();
        match self {
            Likelihood::Gaussian => (0..c).for_each(|i| out[i * c + i] += 1.0),
            Likelihood::Bernoulli => {
                for (i, &z) in f.iter().enumerate() {
                    let s = sigmoid(z);
                    out[i * c + i] += s * (1.0 - s);
                }
            }
            Likelihood::Categorical => {
                let m = f.iter().fold(f64::NEG_INFINITY, |a, &x| a.max(x));
                let e: Vec<f64> = f.iter().map(|x| (x - m).exp()).collect();
                let total: f64 = e.iter().sum();
                for i in 0..c {
                    let pi = e[i] / total;
                    out[i * c + i] += pi;
                    for j in 0..c {
                        out[i * c + j] -= pi * e[j] / total;
                    }
                }
            }
        }
    }

    pub(crate) fn check_targets(self, targets: &Tensor<f64>) -> Result<()> {
        let op = "Objective::new";
        let c = targets.dims()[1];
        let bad = |what: String| Err(Error::incompatible(op, what));
        match self {
            Likelihood::Gaussian => Ok(()),
            Likelihood::Bernoulli => match targets
                .as_slice()
                .iter()
                .position(|y| !(0.0..=1.0).contains(y))
            {
                Some(i) => bad(format!(
                    "Bernoulli targets must lie in [0, 1]; element {i} is {}",
                    targets.as_slice()[i]
                )),
                None => Ok(()),
            },
            Likelihood::Categorical => {
                for (n, row) in targets.as_slice().chunks_exact(c.max(1)).enumerate() {
                    let sum: f64 = row.iter().sum();
                    if row.iter().any(|&y| y < 0.0) || (sum - 1.0).abs() > 1e-9 {
                        return bad(format!(
                            "categorical target rows must be probabilities; row {n} is {row:?} (sum {sum})"
                        ));
                    }
                }
                Ok(())
            }
        }
    }
}
