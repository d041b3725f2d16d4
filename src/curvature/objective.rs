//! [`Objective`]: a model, a likelihood and a data set — the loss `L(θ)` of
//! any [`Module`], its gradient, exact Hessian-vector products, Hessian,
//! Gauss–Newton and Fisher matrices, over all parameters or one layer's.
//!
//! For outputs `f(x; θ)` (`C` per example), a likelihood `p(y | f)` and
//! `J_n = ∂f(x_n)/∂θ` (`C×P`):
//! - the **Hessian** `∇²L`, column by column from Hessian-vector products
//!   computed exactly by forward-over-reverse: the model runs on a tape of
//!   [`Dual`] numbers whose tangents carry the direction, and backward gives
//!   `∇L(θ + εv) = ∇L + ε·∇²L·v`;
//! - the **Fisher** matrix `F = (1/B) Σ_n J_nᵀ Λ(f_n) J_n`, where `Λ` is the
//!   Fisher of the output distribution: `I` (Gaussian, unit variance),
//!   `σ(f)(1 − σ(f))` (Bernoulli on a logit), `diag(p) − ppᵀ` with
//!   `p = softmax(f)` (categorical on logits);
//! - the **empirical Fisher** `(1/B) Σ_n g_n g_nᵀ` with the per-example
//!   loss gradients `g_n`: cheaper, but not the same matrix away from the
//!   optimum;
//! - the **Gauss–Newton** matrix `(1/B) Σ_n J_nᵀ ∇²_f ℓ(f_n, y_n) J_n`, with
//!   the output Hessian of the loss computed exactly. For these three
//!   likelihoods (canonical links) it equals the Fisher; computing it
//!   independently is a check.
//!
//! The dense matrices are `P×P` and cost `P` HVPs or `B·C` backward
//! passes: for models with up to a few hundred parameters (per layer, with
//! [`Objective::only`]).

use crate::autodiff::{Tape, Var};
use crate::dual::Dual;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::nn::{Forward, Module, Trace, Visitor};
use crate::tensor::Tensor;

use super::likelihood::Likelihood;

/// The loss of a model on a data set under a likelihood, with the
/// curvature tools at the model's current parameters.
///
/// The model's parameters may be `f32` or `f64`; everything here is
/// computed in `f64` (the conversion is exact) and returned flattened in
/// the model's parameter order ([`Module::visit`]), restricted to the
/// selected parameters.
///
/// ```
/// use gradsign::curvature::{Likelihood, Objective};
/// use gradsign::nn::Linear;
/// use gradsign::Tensor;
/// // A linear model is one dense layer.
/// let model = Linear::new(Tensor::<f64>::zeros(&[1, 2])?, None)?;
/// let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2])?;
/// let y = Tensor::from_vec(vec![1.0, 0.0], &[2, 1])?;
/// let objective = Objective::new(&model, Likelihood::Gaussian, &x, &y)?;
/// // Linear-Gaussian: the Hessian, the Fisher and E[x xᵀ] agree.
/// assert_eq!(objective.hessian()?.as_slice(), &[5.0, 7.0, 7.0, 10.0]);
/// assert_eq!(objective.fisher()?.as_slice(), &[5.0, 7.0, 7.0, 10.0]);
/// # Ok::<(), gradsign::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Objective<'a, F: Element, M: ?Sized> {
    model: &'a M,
    likelihood: Likelihood,
    inputs: &'a Tensor<f64>,
    targets: &'a Tensor<f64>,
    /// Only parameters under this name (`"0"` selects `0.weight`, `0.bias`).
    prefix: Option<String>,
    _element: std::marker::PhantomData<F>,
}

impl<'a, F: Element, M: Module<F> + ?Sized> Objective<'a, F, M> {
    /// The objective `L(θ) = likelihood loss of model(inputs) against
    /// targets`, averaged over the batch, over all parameters. The inputs
    /// have the batch on their first axis: `(B, features)` for a dense
    /// model, `(B, C, H, W)` for a convolutional one; the targets are
    /// `(B, outputs)`.
    ///
    /// # Errors
    /// [`Error::RankMismatch`] for inputs of rank below 2 or targets that
    /// are not a matrix;
    /// [`Error::ShapeMismatch`] if their row counts differ; [`Error::Empty`]
    /// for no rows; [`Error::NonFinite`] for a non-finite input, target or
    /// parameter; [`Error::Incompatible`] for targets the likelihood cannot
    /// take; [`Error::OutOfDomain`] for a model without parameters.
    pub fn new(
        model: &'a M,
        likelihood: Likelihood,
        inputs: &'a Tensor<f64>,
        targets: &'a Tensor<f64>,
    ) -> Result<Self> {
        let op = "Objective::new";
        if inputs.rank() < 2 {
            return Err(Error::RankMismatch {
                op,
                expected: "at least 2 for the inputs (batch, features…)",
                shape: inputs.shape(),
            });
        }
        if targets.rank() != 2 {
            return Err(Error::RankMismatch {
                op,
                expected: "2 (batch, outputs) for the targets",
                shape: targets.shape(),
            });
        }
        for t in [inputs, targets] {
            if let Some(i) = t.as_slice().iter().position(|x| !x.is_finite()) {
                return Err(Error::NonFinite {
                    op,
                    what: format!(
                        "{} at element {i} of the {} data",
                        t.as_slice()[i],
                        t.shape()
                    ),
                });
            }
        }
        if inputs.dims()[0] != targets.dims()[0] {
            return Err(Error::ShapeMismatch {
                op,
                lhs: inputs.shape(),
                rhs: targets.shape(),
                reason: "inputs and targets need the same number of rows",
            });
        }
        if inputs.dims()[0] == 0 {
            return Err(Error::Empty {
                op,
                shape: inputs.shape(),
            });
        }
        likelihood.check_targets(targets)?;
        let objective = Objective {
            model,
            likelihood,
            inputs,
            targets,
            prefix: None,
            _element: std::marker::PhantomData,
        };
        let mut count = 0usize;
        model.visit(&mut Visitor::new(&mut |name, t| {
            count += t.numel();
            match t.as_slice().iter().position(|x| !x.is_finite()) {
                Some(i) => Err(Error::NonFinite {
                    op,
                    what: format!("{} at element {i} of parameter {name}", t.as_slice()[i]),
                }),
                None => Ok(()),
            }
        }))?;
        if count == 0 {
            return Err(Error::out_of_domain(
                op,
                "the model",
                "a model with at least one parameter",
                "a model without parameters",
            ));
        }
        Ok(objective)
    }

    /// The same objective as a function of the parameters under `prefix`
    /// only (one layer's: `"0"` selects `0.weight` and `0.bias`), the
    /// others held fixed.
    ///
    /// # Errors
    /// [`Error::OutOfDomain`] if no parameter has that prefix.
    pub fn only(mut self, prefix: &str) -> Result<Self> {
        self.prefix = Some(prefix.to_owned());
        if self.dim()? == 0 {
            return Err(Error::out_of_domain(
                "Objective::only",
                "the prefix",
                "the name of a parameter or the part of it before a '.'",
                format!("{prefix:?}, which names no parameter"),
            ));
        }
        Ok(self)
    }

    fn selected(&self, name: &str) -> bool {
        match &self.prefix {
            None => true,
            Some(p) => {
                name == p
                    || (name.len() > p.len()
                        && name.starts_with(p.as_str())
                        && name.as_bytes()[p.len()] == b'.')
            }
        }
    }

    /// The selected parameters' names and sizes, in order.
    ///
    /// # Errors
    /// Whatever a custom module's visitor returns.
    pub fn parameters(&self) -> Result<Vec<(String, usize)>> {
        let mut out = Vec::new();
        self.model.visit(&mut Visitor::new(&mut |name, t| {
            if self.selected(name) {
                out.push((name.to_owned(), t.numel()));
            }
            Ok(())
        }))?;
        Ok(out)
    }

    /// The number of selected scalar parameters, `P`.
    ///
    /// # Errors
    /// As [`parameters`](Self::parameters).
    pub fn dim(&self) -> Result<usize> {
        // Counted without collecting the names: every HVP asks.
        let mut p = 0;
        self.model.visit(&mut Visitor::new(&mut |name, t| {
            if self.selected(name) {
                p += t.numel();
            }
            Ok(())
        }))?;
        Ok(p)
    }

    /// The model's forward pass on an `f64` tape (whatever the parameters'
    /// element type).
    fn run<'t>(
        &self,
        tape: &'t Tape<f64>,
        x: Var<'t, f64>,
    ) -> Result<(Var<'t, f64>, Trace<'t, f64>)> {
        let mut ctx = Forward::new(tape);
        let y = self.model.forward(x, &mut ctx)?;
        Ok((y, ctx.finish()))
    }

    fn batch(&self) -> usize {
        self.inputs.dims()[0]
    }

    /// The inputs and targets of example `n` (or all) as constants.
    fn rows<'t, E: Element>(
        &self,
        tape: &'t Tape<E>,
        n: Option<usize>,
    ) -> Result<(Var<'t, E>, Var<'t, E>)> {
        // One example is everything after the batch axis (a feature row,
        // or a C×H×W image).
        let k = self.inputs.numel() / self.batch();
        let c = self.targets.dims()[1];
        let (range, rows) = match n {
            Some(n) => (n..n + 1, 1),
            None => (0..self.batch(), self.batch()),
        };
        let cast = |s: &[f64]| s.iter().map(|&v| E::from_f64(v)).collect::<Vec<_>>();
        let x = cast(&self.inputs.as_slice()[range.start * k..range.end * k]);
        let y = cast(&self.targets.as_slice()[range.start * c..range.end * c]);
        let mut dims = [0usize; crate::shape::MAX_RANK];
        let rank = self.inputs.rank();
        dims[..rank].copy_from_slice(self.inputs.dims());
        dims[0] = rows;
        Ok((
            tape.constant_from_slice(&x, &dims[..rank])?,
            tape.constant_from_slice(&y, &[rows, c])?,
        ))
    }

    /// The gradient of each selected parameter, flattened, read from
    /// `grads` through `trace`; `part` maps a gradient element to `f64`.
    fn flatten<E: Element>(
        &self,
        trace: &Trace<'_, E>,
        grads: &crate::autodiff::Gradients<E>,
        op: &'static str,
        part: impl Fn(E) -> f64,
        out: &mut Vec<f64>,
    ) -> Result<()> {
        let mut i = 0;
        self.model.visit(&mut Visitor::new(&mut |name, t| {
            let index = i;
            i += 1;
            if !self.selected(name) {
                return Ok(());
            }
            let var = trace.param_var(index, t, name)?;
            for (e, &g) in grads.get(var)?.iter().enumerate() {
                let v = part(g);
                if !v.is_finite() {
                    return Err(Error::NonFinite {
                        op,
                        what: format!("{v} at element {e} of the result for {name}"),
                    });
                }
                out.push(v);
            }
            Ok(())
        }))
    }

    /// The model's outputs on the whole batch.
    ///
    /// # Errors
    /// Whatever the model's forward pass returns.
    pub fn outputs(&self) -> Result<Tensor<f64>> {
        let tape = Tape::<f64>::new();
        let (x, _) = self.rows(&tape, None)?;
        Ok(self.run(&tape, x)?.0.value())
    }

    /// `L(θ)`.
    ///
    /// # Errors
    /// Whatever the forward pass or the likelihood returns.
    pub fn loss(&self) -> Result<f64> {
        let tape = Tape::<f64>::new();
        let (x, y) = self.rows(&tape, None)?;
        let (out, _) = self.run(&tape, x)?;
        self.likelihood.loss(out, y)?.item()
    }

    /// `∇L(θ)` over the selected parameters.
    ///
    /// # Errors
    /// As [`loss`](Self::loss); [`Error::NonFinite`] for a non-finite
    /// gradient.
    pub fn gradient(&self) -> Result<Vec<f64>> {
        let tape = Tape::<f64>::new();
        let (x, y) = self.rows(&tape, None)?;
        let (out, trace) = self.run(&tape, x)?;
        let grads = self.likelihood.loss(out, y)?.backward()?;
        let mut g = Vec::new();
        self.flatten(&trace, &grads, "Objective::gradient", |v| v, &mut g)?;
        Ok(g)
    }

    /// The exact Hessian-vector product `∇²L(θ)·v` over the selected
    /// parameters (forward-over-reverse on [`Dual`] numbers).
    ///
    /// ```
    /// use gradsign::curvature::{Likelihood, Objective};
    /// use gradsign::nn::Mlp;
    /// use gradsign::Tensor;
    /// let net = Mlp::builder(&[2, 3, 1]).seed(4).build::<f64>()?;
    /// let x = Tensor::rand_uniform(&[8, 2], 0.0, 1.0, 1)?;
    /// let y = Tensor::rand_uniform(&[8, 1], 0.0, 1.0, 2)?;
    /// let objective = Objective::new(&net, Likelihood::Gaussian, &x, &y)?;
    /// let p = objective.dim()?;
    /// let mut e0 = vec![0.0; p];
    /// e0[0] = 1.0;
    /// // H·e₀ is the Hessian's first column.
    /// let h = objective.hessian()?;
    /// let hv = objective.hvp(&e0)?;
    /// for (i, v) in hv.iter().enumerate() {
    ///     assert!((v - h.as_slice()[i * p]).abs() < 1e-12);
    /// }
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if `v` does not have one entry per selected
    /// parameter; [`Error::NonFinite`] for a non-finite direction or result;
    /// whatever the forward pass returns.
    pub fn hvp(&self, v: &[f64]) -> Result<Vec<f64>> {
        let mut out = Vec::new();
        self.hvp_into(&mut Tape::new(), v, &mut out)?;
        Ok(out)
    }

    pub(crate) fn hvp_into(
        &self,
        tape: &mut Tape<Dual<f64>>,
        v: &[f64],
        out: &mut Vec<f64>,
    ) -> Result<()> {
        let op = "Objective::hvp";
        let tangents = self.tangents(op, v)?;
        tape.clear();
        let tape = &*tape;
        let (x, y) = self.rows(tape, None)?;
        let mut ctx = Forward::with_tangents(tape, &tangents);
        let out_var = self.model.forward(x, &mut ctx)?;
        let trace = ctx.finish();
        let grads = self.likelihood.loss(out_var, y)?.backward()?;
        out.clear();
        self.flatten(&trace, &grads, op, |g| g.tangent, out)
    }

    /// Checks a direction `v` and pairs each selected parameter's address
    /// with its slice of `v`.
    fn tangents<'v>(&self, op: &'static str, v: &'v [f64]) -> Result<Vec<(usize, &'v [f64])>> {
        let p = self.dim()?;
        if v.len() != p {
            return Err(Error::ShapeMismatch {
                op,
                lhs: crate::shape::Shape::vector(p),
                rhs: crate::shape::Shape::vector(v.len()),
                reason: "the direction needs one entry per selected parameter",
            });
        }
        if let Some(i) = v.iter().position(|x| !x.is_finite()) {
            return Err(Error::NonFinite {
                op,
                what: format!("{} at element {i} of the direction", v[i]),
            });
        }
        // Each selected parameter's slice of `v`, found by its address.
        let mut tangents = Vec::new();
        let mut off = 0;
        self.model.visit(&mut Visitor::new(&mut |name, t| {
            if self.selected(name) {
                let n = t.numel();
                tangents.push((std::ptr::from_ref(t) as usize, &v[off..off + n]));
                off += n;
            }
            Ok(())
        }))?;
        Ok(tangents)
    }

    /// The generalised Gauss–Newton matrix times `v`, matrix-free:
    /// `G·v = (1/B) Σ_n J_nᵀ ∇²_f ℓ(f_n, y_n) (J_n v)`.
    ///
    /// `J v` is the tangent of the outputs of one forward pass on [`Dual`]
    /// numbers seeded with `v`; the output Hessian times `J v` is the
    /// tangent of the loss gradient with respect to the outputs (taken as
    /// a fresh leaf carrying that tangent, so forward-over-reverse on the
    /// loss alone); `Jᵀ u` is the value part of one reverse pass from the
    /// outputs seeded with `u`. Cost: about one HVP, no `P×P` storage.
    ///
    /// # Errors
    /// As [`hvp`](Self::hvp).
    pub fn ggn_vp(&self, v: &[f64]) -> Result<Vec<f64>> {
        let mut out = Vec::new();
        self.sandwich_vp_into(Sandwich::GaussNewton, &mut Tape::new(), v, &mut out)?;
        Ok(out)
    }

    /// The Fisher matrix times `v`, matrix-free:
    /// `F·v = (1/B) Σ_n J_nᵀ Λ(f_n) (J_n v)` with the output Fisher `Λ`
    /// applied in closed form — `u` (Gaussian), `σ(f)(1 − σ(f))⊙u`
    /// (Bernoulli), `p⊙u − p (pᵀu)` with `p = softmax(f)` (categorical) —
    /// and the same `J v` / `Jᵀ u` passes as [`ggn_vp`](Self::ggn_vp).
    ///
    /// # Errors
    /// As [`hvp`](Self::hvp); [`Error::ShapeMismatch`] if the model's
    /// outputs do not have the targets' shape.
    pub fn fisher_vp(&self, v: &[f64]) -> Result<Vec<f64>> {
        let mut out = Vec::new();
        self.sandwich_vp_into(Sandwich::Fisher, &mut Tape::new(), v, &mut out)?;
        Ok(out)
    }

    /// The empirical Fisher times `v`, matrix-free:
    /// `(1/B) Σ_n g_n (g_nᵀ v)` with `g_n = J_nᵀ r_n` and
    /// `r_n = ∇_{f_n} ℓ(f_n, y_n)`, so `g_nᵀ v = r_n·(J_n v)` and the whole
    /// product is `Jᵀ u` with `u_n = r_n (r_n·(J_n v)) / B`. Works on any
    /// layer (not only dense ones, unlike
    /// [`per_sample_gradients`](Self::per_sample_gradients)); it assumes,
    /// as the empirical Fisher itself does, that example `n`'s outputs
    /// depend on example `n` alone (not true of batch normalisation in
    /// training mode).
    ///
    /// # Errors
    /// As [`hvp`](Self::hvp).
    pub fn empirical_fisher_vp(&self, v: &[f64]) -> Result<Vec<f64>> {
        let mut out = Vec::new();
        self.sandwich_vp_into(Sandwich::EmpiricalFisher, &mut Tape::new(), v, &mut out)?;
        Ok(out)
    }

    /// `Jᵀ u(f, J v)` for one of the matrix-free sandwiches, on a reused
    /// tape.
    pub(crate) fn sandwich_vp_into(
        &self,
        kind: Sandwich,
        tape: &mut Tape<Dual<f64>>,
        v: &[f64],
        out: &mut Vec<f64>,
    ) -> Result<()> {
        let op = kind.op();
        let tangents = self.tangents(op, v)?;
        tape.clear();
        let tape = &*tape;
        let (x, y) = self.rows(tape, None)?;
        let mut ctx = Forward::with_tangents(tape, &tangents);
        let f = self.model.forward(x, &mut ctx)?;
        let trace = ctx.finish();
        if f.shape() != self.targets.shape() {
            return Err(Error::ShapeMismatch {
                op,
                lhs: f.shape(),
                rhs: self.targets.shape(),
                reason: "the model's outputs need the targets' shape",
            });
        }
        let (b, c) = (self.batch(), self.targets.dims()[1]);
        let inv_b = 1.0 / b as f64;
        let mut seed: Vec<Dual<f64>> = f.with_value(|s| s.to_vec());
        match kind {
            Sandwich::GaussNewton | Sandwich::EmpiricalFisher => {
                // The outputs again, as a leaf: the reverse pass of the loss
                // then stops there, giving ∇_f L (values) and ∇²_f L·Jv
                // (tangents, as the leaf carries Jv).
                let leaf = tape.var_from_slice(&seed, &f.dims())?;
                let grads = self.likelihood.loss(leaf, y)?.backward()?;
                let g = grads.get(leaf)?;
                if kind == Sandwich::GaussNewton {
                    for (s, d) in seed.iter_mut().zip(g) {
                        *s = Dual::constant(d.tangent);
                    }
                } else {
                    for (srow, grow) in seed.chunks_exact_mut(c).zip(g.chunks_exact(c)) {
                        // r_n = B·g_n, so u_n = r_n (r_n·Jv_n)/B = B g_n (g_n·Jv_n).
                        let dot: f64 = srow
                            .iter()
                            .zip(grow)
                            .map(|(s, d)| s.tangent * d.value)
                            .sum();
                        for (s, d) in srow.iter_mut().zip(grow) {
                            *s = Dual::constant(b as f64 * d.value * dot);
                        }
                    }
                }
            }
            Sandwich::Fisher => {
                for row in seed.chunks_exact_mut(c) {
                    fisher_row(self.likelihood, row, inv_b);
                }
            }
        }
        let seed = Tensor::from_vec(seed, &f.dims())?;
        let grads = f.backward_with_seed(&seed)?;
        out.clear();
        self.flatten(&trace, &grads, op, |g| g.value, out)
    }

    /// The Hessian `∇²L(θ)` over the selected parameters, `P×P`: column
    /// `i` is the HVP with the `i`-th basis vector (`P` HVPs on one reused
    /// tape), **symmetrised** `(H + Hᵀ)/2` (the columns are exact up to
    /// rounding, and so is their asymmetry, which this removes so the
    /// result can go straight into a symmetric eigen-solver).
    ///
    /// # Errors
    /// As [`hvp`](Self::hvp); [`Error::TooLarge`] if `P×P` values cannot be
    /// allocated.
    pub fn hessian(&self) -> Result<Tensor<f64>> {
        let p = self.dim()?;
        let mut h = square_buffer("Objective::hessian", p)?;
        let mut tape = Tape::new();
        let mut basis = vec![0.0; p];
        let mut column = Vec::with_capacity(p);
        for i in 0..p {
            basis[i] = 1.0;
            self.hvp_into(&mut tape, &basis, &mut column)?;
            h[i * p..(i + 1) * p].copy_from_slice(&column);
            basis[i] = 0.0;
        }
        for r in 0..p {
            for c in r + 1..p {
                let s = 0.5 * (h[r * p + c] + h[c * p + r]);
                h[r * p + c] = s;
                h[c * p + r] = s;
            }
        }
        Tensor::from_vec(h, &[p, p])
    }

    /// Each example's own loss gradient over the selected parameters,
    /// `B×P`, from one backward pass of the summed loss: a dense layer's
    /// per-example gradients are `Δ_nj·a_n` (and `Δ_nj` for the bias), read
    /// by [`PerSampleGradients`](crate::analysis::PerSampleGradients).
    ///
    /// # Errors
    /// As [`gradient`](Self::gradient); [`Error::Incompatible`] for a
    /// selected parameter outside a dense layer (one the forward pass did
    /// not report with [`Forward::record_dense`]); [`Error::TooLarge`] if
    /// the `B×P` values cannot be allocated.
    pub fn per_sample_gradients(&self) -> Result<Tensor<f64>> {
        let op = "Objective::per_sample_gradients";
        let p = self.dim()?;
        let b = self.batch();
        let mut rows = square_or_rect(op, b, p)?;
        let tape = Tape::<f64>::new();
        let (x, y) = self.rows(&tape, None)?;
        let (out, trace) = self.run(&tape, x)?;
        // The sum of the examples' own losses, so that Δ is per example.
        let total = self.likelihood.loss(out, y)? * (b as f64);
        let grads = total.backward()?;
        let mut per = crate::analysis::PerSampleGradients::new();
        per.compute(&trace, &grads)?;
        let (mut index, mut col) = (0, 0);
        self.model.visit(&mut Visitor::new(&mut |name, t| {
            let i = index;
            index += 1;
            if !self.selected(name) {
                return Ok(());
            }
            let var = trace.param_var(i, t, name)?;
            let n = t.numel();
            let source = trace.layers().iter().enumerate().find_map(|(l, lt)| {
                if lt.weight.id() == var.id() {
                    Some(per.weights(l))
                } else if lt.bias.is_some_and(|v| v.id() == var.id()) {
                    per.bias(l)
                } else {
                    None
                }
            });
            let Some(g) = source else {
                return Err(Error::incompatible(
                    op,
                    format!(
                        "per-sample gradients of {name}: only parameters of dense layers \
                         (reported with Forward::record_dense) are supported"
                    ),
                ));
            };
            for (r, src) in g.as_slice().chunks_exact(n).enumerate() {
                rows[r * p + col..r * p + col + n].copy_from_slice(src);
            }
            col += n;
            Ok(())
        }))?;
        if let Some(i) = rows.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                op,
                what: format!("{} at row {}, column {}", rows[i], i / p, i % p),
            });
        }
        Tensor::from_vec(rows, &[b, p])
    }

    /// The empirical Fisher `(1/B) Σ_n g_n g_nᵀ`, `P×P`.
    ///
    /// # Errors
    /// As [`per_sample_gradients`](Self::per_sample_gradients).
    pub fn empirical_fisher(&self) -> Result<Tensor<f64>> {
        let g = self.per_sample_gradients()?;
        let p = g.dims()[1];
        let mut m = square_buffer("Objective::empirical_fisher", p)?;
        for row in g.as_slice().chunks_exact(p.max(1)) {
            add_outer(&mut m, row, row, 1.0);
        }
        scaled(m, p, 1.0 / self.batch() as f64)
    }

    /// `(1/B) Σ_n J_nᵀ A_n J_n` with `A_n = output_matrix(n, f_n)` (`C×C`).
    fn sandwich(
        &self,
        op: &'static str,
        mut output_matrix: impl FnMut(usize, &[f64]) -> Result<Vec<f64>>,
    ) -> Result<Tensor<f64>> {
        let p = self.dim()?;
        let mut result = square_buffer(op, p)?;
        let mut tape = Tape::<f64>::new();
        let mut jac = Vec::new();
        for n in 0..self.batch() {
            tape.clear();
            let (x, _) = self.rows(&tape, Some(n))?;
            let (out, trace) = self.run(&tape, x)?;
            let f = out.value().into_vec();
            let c = f.len();
            // Row i of the Jacobian: the gradient of output i.
            jac.clear();
            for i in 0..c {
                let seed = Tensor::from_fn(&[1, c], |ix| f64::from(ix[1] == i))?;
                let grads = out.backward_with_seed(&seed)?;
                self.flatten(&trace, &grads, op, |v| v, &mut jac)?;
            }
            let a = output_matrix(n, &f)?;
            for i in 0..c {
                for j in 0..c {
                    let aij = a[i * c + j];
                    if aij != 0.0 {
                        add_outer(
                            &mut result,
                            &jac[i * p..(i + 1) * p],
                            &jac[j * p..(j + 1) * p],
                            aij,
                        );
                    }
                }
            }
        }
        scaled(result, p, 1.0 / self.batch() as f64)
    }

    /// The Fisher `(1/B) Σ_n J_nᵀ Λ(f_n) J_n`, `P×P`.
    ///
    /// # Errors
    /// As [`gradient`](Self::gradient).
    pub fn fisher(&self) -> Result<Tensor<f64>> {
        let lik = self.likelihood;
        self.sandwich("Objective::fisher", |_, f| {
            let mut out = vec![0.0; f.len() * f.len()];
            lik.add_output_fisher(f, &mut out);
            Ok(out)
        })
    }

    /// The Gauss–Newton matrix `(1/B) Σ_n J_nᵀ ∇²_f ℓ(f_n, y_n) J_n`,
    /// `P×P`, with the output Hessian by forward-over-reverse.
    ///
    /// # Errors
    /// As [`gradient`](Self::gradient).
    pub fn gauss_newton(&self) -> Result<Tensor<f64>> {
        let c = self.targets.dims()[1];
        self.sandwich("Objective::gauss_newton", |n, f| {
            let target = Tensor::from_slice(&self.targets.as_slice()[n * c..(n + 1) * c], &[1, c])?;
            let outputs = Tensor::from_slice(f, &[1, f.len()])?;
            // The loss of one example as a function of its outputs: the
            // objective of a constant "model" whose parameter is f.
            let model = OutputsAsParameter(outputs);
            let ones = Tensor::from_vec(vec![0.0; 1], &[1, 1])?;
            Objective::new(&model, self.likelihood, &ones, &target)?
                .hessian()
                .map(Tensor::into_vec)
        })
    }
}

/// Which `Jᵀ A J v` product [`Objective::sandwich_vp_into`] computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sandwich {
    GaussNewton,
    Fisher,
    EmpiricalFisher,
}

impl Sandwich {
    fn op(self) -> &'static str {
        match self {
            Sandwich::GaussNewton => "Objective::ggn_vp",
            Sandwich::Fisher => "Objective::fisher_vp",
            Sandwich::EmpiricalFisher => "Objective::empirical_fisher_vp",
        }
    }
}

/// Replaces one output row (values `f`, tangents `u = J_n v`) by the
/// constant `Λ(f)·u·scale`.
fn fisher_row(likelihood: Likelihood, row: &mut [Dual<f64>], scale: f64) {
    match likelihood {
        Likelihood::Gaussian => {
            for d in row.iter_mut() {
                *d = Dual::constant(d.tangent * scale);
            }
        }
        Likelihood::Bernoulli => {
            for d in row.iter_mut() {
                let s = crate::activation::sigmoidal::logistic(d.value);
                *d = Dual::constant(s * (1.0 - s) * d.tangent * scale);
            }
        }
        Likelihood::Categorical => {
            let m = row.iter().fold(f64::NEG_INFINITY, |a, d| a.max(d.value));
            let total: f64 = row.iter().map(|d| (d.value - m).exp()).sum();
            let pu: f64 = row
                .iter()
                .map(|d| (d.value - m).exp() / total * d.tangent)
                .sum();
            for d in row.iter_mut() {
                let p = (d.value - m).exp() / total;
                *d = Dual::constant(p * (d.tangent - pu) * scale);
            }
        }
    }
}

/// The per-example output vector as a model's only parameter, so that
/// the loss's Hessian with respect to the outputs is an [`Objective`]'s.
#[derive(Clone, Debug)]
struct OutputsAsParameter(Tensor<f64>);

impl Module<f64> for OutputsAsParameter {
    fn forward<'t, E: crate::nn::ModelElement>(
        &self,
        _: Var<'t, E>,
        ctx: &mut Forward<'t, '_, f64, E>,
    ) -> Result<Var<'t, E>> {
        ctx.param(&self.0)
    }
    fn visit(&self, v: &mut Visitor<'_, f64>) -> Result<()> {
        v.param("outputs", &self.0)
    }
    fn visit_mut(&mut self, v: &mut crate::nn::VisitorMut<'_, f64>) -> Result<()> {
        v.param("outputs", &mut self.0)
    }
}

use super::square_buffer;

fn square_or_rect(op: &'static str, r: usize, c: usize) -> Result<Vec<f64>> {
    let too_big = |reason: String| Error::TooLarge {
        op,
        what: format!("a {r} × {c} matrix"),
        reason,
    };
    let n = r
        .checked_mul(c)
        .ok_or_else(|| too_big("more entries than a usize counts".into()))?;
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|e| too_big(e.to_string()))?;
    v.resize(n, 0.0);
    Ok(v)
}

pub(crate) fn add_outer(m: &mut [f64], a: &[f64], b: &[f64], s: f64) {
    let p = b.len();
    for (i, &ai) in a.iter().enumerate() {
        let f = s * ai;
        for (mij, &bj) in m[i * p..(i + 1) * p].iter_mut().zip(b) {
            *mij += f * bj;
        }
    }
}

pub(crate) fn scaled(mut m: Vec<f64>, p: usize, s: f64) -> Result<Tensor<f64>> {
    m.iter_mut().for_each(|x| *x *= s);
    Tensor::from_vec(m, &[p, p])
}
