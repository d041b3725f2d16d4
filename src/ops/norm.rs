//! The fused ops of the normalisation layers ([`BatchNorm`](crate::nn::BatchNorm),
//! [`LayerNorm`](crate::nn::LayerNorm),
//! [`MeanOnlyBatchNorm`](crate::nn::MeanOnlyBatchNorm),
//! [`WeightNormLinear`](crate::nn::WeightNormLinear)).
//!
//! A normalisation is split into three small ops, each one pass over the
//! data forward and one backward, writing into the tape's buffers (nothing
//! is allocated once the tape is warm):
//!
//! 1. [`norm_moments`](Var::norm_moments): the per-group mean `μ` and biased
//!    variance `σ²` of `x`, a `(2, C)` variable;
//! 2. [`norm_coeffs`](Var::norm_coeffs): `(μ, σ²)`, an optional gain `γ` and
//!    shift `β` into `(3, C)` coefficients `[μ; γ/√(σ²+ε); β]` (only `C`
//!    values: negligible);
//! 3. [`group_affine`](Var::group_affine): `y = (x − μ_c)·s_c + β_c`.
//!
//! Keeping the moments a variable of their own is what lets evaluation mode
//! feed running statistics through the same two last ops, and lets the
//! running statistics be read without another pass over the data. Each op
//! is generic over the element type, so the layers run on dual numbers for
//! exact Hessian-vector products.
//!
//! The data is seen as `x[a, c, s]` with `a < outer`, `c < groups`,
//! `s < inner` ([`GroupLayout`]); group `c` is normalised over its
//! `outer·inner` values. BatchNorm on `(N, C, H, W)` is `(N, C, H·W)`;
//! LayerNorm over the trailing `D` values of `R` rows is `(1, R, D)`.

use crate::autodiff::{BackwardCtx, Saved, Slots, Var, saved_dims};
use crate::element::Element;
use crate::error::{Error, Result};
use crate::shape::Shape;

/// How a tensor splits into normalisation groups: element
/// `(a·groups + c)·inner + s` belongs to group `c`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupLayout {
    /// The number of blocks before the group axis (the batch, for BatchNorm).
    pub outer: usize,
    /// The number of groups (channels for BatchNorm, rows for LayerNorm).
    pub groups: usize,
    /// The number of contiguous values per block and group (`H·W` for
    /// BatchNorm, the normalised size for LayerNorm).
    pub inner: usize,
}

impl GroupLayout {
    /// The number of values in each group, `outer·inner`.
    pub fn group_len(&self) -> usize {
        self.outer * self.inner
    }

    fn check(&self, op: &'static str, shape: Shape) -> Result<()> {
        let n = self
            .outer
            .checked_mul(self.groups)
            .and_then(|v| v.checked_mul(self.inner));
        if n != Some(shape.numel()) {
            return Err(Error::incompatible(
                op,
                format!(
                    "the layout ({} outer × {} groups × {} inner) does not cover the input {shape}",
                    self.outer, self.groups, self.inner
                ),
            ));
        }
        if shape.numel() == 0 {
            return Err(Error::Empty { op, shape });
        }
        Ok(())
    }
}

const MEAN_ONLY: usize = 1;
const HAS_GAMMA: usize = 2;
const HAS_BETA: usize = 4;

/// The saved state of `norm_group_affine`: the layout alone.
impl<F: Element> Saved<F> for GroupLayout {
    fn pack(self) -> Slots<F> {
        Slots {
            f: [F::zero(); 2],
            u: [self.outer, self.groups, self.inner, 0],
        }
    }
    fn unpack(s: &Slots<F>) -> Self {
        GroupLayout {
            outer: s.u[0],
            groups: s.u[1],
            inner: s.u[2],
        }
    }
}

/// The saved state of `norm_moments`.
#[derive(Clone, Copy, Debug)]
struct Moments {
    layout: GroupLayout,
    mean_only: bool,
}

impl<F: Element> Saved<F> for Moments {
    fn pack(self) -> Slots<F> {
        let mut s: Slots<F> = self.layout.pack();
        s.u[3] = usize::from(self.mean_only) * MEAN_ONLY;
        s
    }
    fn unpack(s: &Slots<F>) -> Self {
        Moments {
            layout: GroupLayout::unpack(s),
            mean_only: s.u[3] & MEAN_ONLY != 0,
        }
    }
}

/// The saved state of `norm_coefficients`: `groups` channels, which of
/// mean-only / γ / β apply (`MEAN_ONLY | HAS_GAMMA | HAS_BETA`), and `ε`.
#[derive(Clone, Copy, Debug)]
struct Coefficients<F> {
    groups: usize,
    flags: usize,
    eps: F,
}

impl<F: Element> Saved<F> for Coefficients<F> {
    fn pack(self) -> Slots<F> {
        Slots {
            f: [self.eps, F::zero()],
            u: [self.groups, self.flags, 0, 0],
        }
    }
    fn unpack(s: &Slots<F>) -> Self {
        Coefficients {
            groups: s.u[0],
            flags: s.u[1],
            eps: s.f[0],
        }
    }
}

saved_dims! {
    /// The saved state of `norm_feature_affine`: `d` features, `has_beta`
    /// 1 when a shift was added.
    struct FeatureAffine {
        d,
        has_beta,
    }
}

saved_dims! {
    /// The saved state of `weight_norm`: rows of `cols` entries.
    struct WeightNormDims {
        cols,
    }
}

/// Calls `f(c, block)` for every contiguous block of `inner` values of
/// group `c`, in memory order.
#[inline]
fn for_blocks<T>(data: &[T], l: GroupLayout, mut f: impl FnMut(usize, &[T])) {
    for (k, block) in data.chunks_exact(l.inner).enumerate() {
        f(k % l.groups, block);
    }
}

fn moments_backward<F: Element>(ctx: &mut BackwardCtx<'_, F>) {
    let Moments {
        layout: l,
        mean_only,
    } = ctx.saved();
    let x = ctx.input(0);
    let (stats, g) = (ctx.output(), ctx.grad_out());
    let inv_m = F::from_f64(l.group_len() as f64).recip();
    let c = l.groups;
    if let Some(gx) = ctx.grad_input(0) {
        if l.inner == 1 && !mean_only {
            let (mu, g_mean, g_var) = (&stats[..c], &g[..c], &g[c..2 * c]);
            for (drow, xrow) in gx.chunks_exact_mut(c).zip(x.chunks_exact(c)) {
                for ch in 0..c {
                    let gv = (g_var[ch] + g_var[ch]) * inv_m;
                    drow[ch] += g_mean[ch] * inv_m + gv * (xrow[ch] - mu[ch]);
                }
            }
            return;
        }
        for (k, (gblock, xblock)) in gx
            .chunks_exact_mut(l.inner)
            .zip(x.chunks_exact(l.inner))
            .enumerate()
        {
            let ch = k % c;
            let gm = g[ch] * inv_m;
            if mean_only {
                gblock.iter_mut().for_each(|d| *d += gm);
            } else {
                // ∂σ²/∂x = 2(x − μ)/M.
                let mu = stats[ch];
                let gv = (g[c + ch] + g[c + ch]) * inv_m;
                for (d, &xi) in gblock.iter_mut().zip(xblock) {
                    *d += gm + gv * (xi - mu);
                }
            }
        }
    }
}

fn coeffs_backward<F: Element>(ctx: &mut BackwardCtx<'_, F>) {
    let Coefficients {
        groups: c,
        flags,
        eps,
    } = ctx.saved();
    let mean_only = flags & MEAN_ONLY != 0;
    let stats = ctx.input(0);
    let gamma = (flags & HAS_GAMMA != 0).then(|| ctx.input(1));
    let g = ctx.grad_out();
    let half = F::from_f64(0.5);
    if let Some(gs) = ctx.grad_input(0) {
        for ch in 0..c {
            gs[ch] += g[ch];
            if !mean_only {
                // s = γ·(σ² + ε)^(−1/2): ∂s/∂σ² = −½·γ·(σ² + ε)^(−3/2).
                let istd = (stats[c + ch] + eps).sqrt().recip();
                let gam = gamma.map_or(F::one(), |gm| gm[ch]);
                gs[c + ch] -= g[c + ch] * gam * half * istd * istd * istd;
            }
        }
    }
    if gamma.is_some()
        && let Some(gg) = ctx.grad_input(1)
    {
        for ch in 0..c {
            let istd = if mean_only {
                F::one()
            } else {
                (stats[c + ch] + eps).sqrt().recip()
            };
            gg[ch] += g[c + ch] * istd;
        }
    }
    if flags & HAS_BETA != 0 {
        let bi = 1 + usize::from(flags & HAS_GAMMA != 0);
        if let Some(gb) = ctx.grad_input(bi) {
            for ch in 0..c {
                gb[ch] += g[2 * c + ch];
            }
        }
    }
}

fn group_affine_backward<F: Element>(ctx: &mut BackwardCtx<'_, F>) {
    let l: GroupLayout = ctx.saved();
    let c = l.groups;
    let (x, coeffs, g) = (ctx.input(0), ctx.input(1), ctx.grad_out());
    let (mu, scale) = (&coeffs[..c], &coeffs[c..2 * c]);
    let Some((gx, gc)) = ctx.two_grad_inputs(0, 1) else {
        // x and the coefficients are distinct variables of different
        // shapes, so their gradient slots never coincide.
        return;
    };
    match (gx, gc) {
        (Some(gx), Some(gc)) if l.inner == 1 => {
            let (gmu, rest) = gc.split_at_mut(c);
            let (gscale, gshift) = rest.split_at_mut(c);
            for ((drow, xrow), grow) in gx
                .chunks_exact_mut(c)
                .zip(x.chunks_exact(c))
                .zip(g.chunks_exact(c))
            {
                for ch in 0..c {
                    let gi = grow[ch];
                    drow[ch] += scale[ch] * gi;
                    gmu[ch] -= scale[ch] * gi;
                    gscale[ch] += gi * (xrow[ch] - mu[ch]);
                    gshift[ch] += gi;
                }
            }
        }
        (Some(gx), Some(gc)) => {
            let (gmu, rest) = gc.split_at_mut(c);
            let (gscale, gshift) = rest.split_at_mut(c);
            for (k, ((dblock, xblock), gblock)) in gx
                .chunks_exact_mut(l.inner)
                .zip(x.chunks_exact(l.inner))
                .zip(g.chunks_exact(l.inner))
                .enumerate()
            {
                let ch = k % c;
                let (m, s) = (mu[ch], scale[ch]);
                let (mut sg, mut sgx) = (F::zero(), F::zero());
                for ((d, &xi), &gi) in dblock.iter_mut().zip(xblock).zip(gblock) {
                    *d += s * gi;
                    sg += gi;
                    sgx += gi * (xi - m);
                }
                gmu[ch] -= s * sg;
                gscale[ch] += sgx;
                gshift[ch] += sg;
            }
        }
        (Some(gx), None) => {
            for (k, (dblock, gblock)) in gx
                .chunks_exact_mut(l.inner)
                .zip(g.chunks_exact(l.inner))
                .enumerate()
            {
                let s = scale[k % c];
                for (d, &gi) in dblock.iter_mut().zip(gblock) {
                    *d += s * gi;
                }
            }
        }
        (None, Some(gc)) => {
            let (gmu, rest) = gc.split_at_mut(c);
            let (gscale, gshift) = rest.split_at_mut(c);
            for (k, (xblock, gblock)) in x
                .chunks_exact(l.inner)
                .zip(g.chunks_exact(l.inner))
                .enumerate()
            {
                let ch = k % c;
                let (mut sg, mut sgx) = (F::zero(), F::zero());
                for (&xi, &gi) in xblock.iter().zip(gblock) {
                    sg += gi;
                    sgx += gi * (xi - mu[ch]);
                }
                gmu[ch] -= scale[ch] * sg;
                gscale[ch] += sgx;
                gshift[ch] += sg;
            }
        }
        (None, None) => {}
    }
}

fn feature_affine_backward<F: Element>(ctx: &mut BackwardCtx<'_, F>) {
    let FeatureAffine { d, has_beta } = ctx.saved();
    let has_beta = has_beta != 0;
    let (x, gamma, g) = (ctx.input(0), ctx.input(1), ctx.grad_out());
    if let Some((gx, gg)) = ctx.two_grad_inputs(0, 1) {
        match (gx, gg) {
            (Some(gx), Some(gg)) => {
                for ((dr, xr), gr) in gx
                    .chunks_exact_mut(d)
                    .zip(x.chunks_exact(d))
                    .zip(g.chunks_exact(d))
                {
                    for j in 0..d {
                        dr[j] += gamma[j] * gr[j];
                        gg[j] += gr[j] * xr[j];
                    }
                }
            }
            (Some(gx), None) => {
                for (dr, gr) in gx.chunks_exact_mut(d).zip(g.chunks_exact(d)) {
                    for j in 0..d {
                        dr[j] += gamma[j] * gr[j];
                    }
                }
            }
            (None, Some(gg)) => {
                for (xr, gr) in x.chunks_exact(d).zip(g.chunks_exact(d)) {
                    for j in 0..d {
                        gg[j] += gr[j] * xr[j];
                    }
                }
            }
            (None, None) => {}
        }
    }
    if has_beta && let Some(gb) = ctx.grad_input(2) {
        for gr in g.chunks_exact(d) {
            for (b, &gi) in gb.iter_mut().zip(gr) {
                *b += gi;
            }
        }
    }
}

/// `‖v‖` without overflow or underflow of the squares: scaled by the
/// largest magnitude, `m·√Σ(v/m)²` (an identity wherever `m ≠ 0`, so the
/// derivative carried by dual numbers is exact too).
fn row_norm<F: Element>(v: &[F]) -> F {
    let m = v.iter().fold(F::zero(), |a, &x| a.max(x.abs()));
    if m == F::zero() {
        return F::zero();
    }
    let r = m.recip();
    m * v
        .iter()
        .fold(F::zero(), |a, &x| {
            let t = x * r;
            a + t * t
        })
        .sqrt()
}

fn weight_norm_backward<F: Element>(ctx: &mut BackwardCtx<'_, F>) {
    let WeightNormDims { cols } = ctx.saved();
    let (v, gain, gw) = (ctx.input(0), ctx.input(1), ctx.grad_out());
    let Some((dv, dg)) = ctx.two_grad_inputs(0, 1) else {
        return;
    };
    let mut dv = dv;
    let mut dg = dg;
    for (j, (vr, gr)) in v.chunks_exact(cols).zip(gw.chunks_exact(cols)).enumerate() {
        let n = row_norm(vr);
        let inv = n.recip();
        // t = Σ_i G_ji·v_ji/‖v_j‖ = ∂L/∂g_j.
        let t = vr
            .iter()
            .zip(gr)
            .fold(F::zero(), |a, (&vi, &gi)| a + vi * gi)
            * inv;
        if let Some(dg) = dg.as_deref_mut() {
            dg[j] += t;
        }
        if let Some(dv) = dv.as_deref_mut() {
            let s = gain[j] * inv;
            let row = &mut dv[j * cols..(j + 1) * cols];
            for ((d, &vi), &gi) in row.iter_mut().zip(vr).zip(gr) {
                *d += s * (gi - vi * inv * t);
            }
        }
    }
}

impl<'t, F: Element> Var<'t, F> {
    /// The per-group mean and biased variance of `self`, as a `(2, groups)`
    /// variable `[μ; σ²]`:
    /// `μ_c = (1/M)·Σ x[a,c,s]`, `σ²_c = (1/M)·Σ (x[a,c,s] − μ_c)²`, with
    /// `M = outer·inner` (two passes: the mean as `x₀ + (1/M)·Σ(x − x₀)`
    /// about the group's first value `x₀`, exact for a constant group, then
    /// the variance about that mean, so it is never negative). Values
    /// whose deviations overflow when squared give an infinite variance,
    /// which the layers refuse. With `mean_only` the variance row is zero
    /// and carries no gradient.
    ///
    /// VJP: `∂L/∂x[a,c,s] = ḡ_μc/M + 2·ḡ_σ²c·(x[a,c,s] − μ_c)/M`.
    ///
    /// # Errors
    /// [`Error::Incompatible`] if `layout` does not cover `self`'s
    /// elements; [`Error::Empty`] for an empty input;
    /// [`Error::NonFinite`] in checked mode.
    pub fn norm_moments(self, layout: GroupLayout, mean_only: bool) -> Result<Var<'t, F>> {
        let op = "norm_moments";
        layout.check(op, self.shape())?;
        let l = layout;
        let c = l.groups;
        let p = Moments {
            layout: l,
            mean_only,
        };
        self.tape().record(
            op,
            &[self],
            Shape::new(&[2, c])?,
            p,
            moments_backward,
            |out, inp| {
                let x = inp.value(0);
                let inv_m = F::from_f64(l.group_len() as f64).recip();
                let (mean, var) = out.split_at_mut(c);
                // Each group's sum is taken about its first value x₀, so
                // that a constant group has exactly its value as mean (and
                // variance 0, even for 1e30 in f32, where the rounded plain
                // mean would leave deviations whose squares overflow), and
                // |μ| ≫ σ loses less: μ = x₀ + (1/M)·Σ(x − x₀).
                let pivot = |ch: usize| x[ch * l.inner];
                if l.inner == 1 {
                    // (N, C): rows of channels, per-channel loops that
                    // vectorise (no per-element block set-up).
                    let (p, rows) = (&x[..c], x.chunks_exact(c));
                    for row in rows.clone() {
                        for ((m, &v), &p) in mean.iter_mut().zip(row).zip(p) {
                            *m += v - p;
                        }
                    }
                    for (m, &p) in mean.iter_mut().zip(p) {
                        *m = p + *m * inv_m;
                    }
                    if !mean_only {
                        for row in rows {
                            for ((s, &v), &m) in var.iter_mut().zip(row).zip(&*mean) {
                                let d = v - m;
                                *s += d * d;
                            }
                        }
                        var.iter_mut().for_each(|v| *v *= inv_m);
                    }
                    return;
                }
                for_blocks(x, l, |ch, b| {
                    let p = pivot(ch);
                    mean[ch] += b.iter().fold(F::zero(), |a, &v| a + (v - p));
                });
                for (ch, m) in mean.iter_mut().enumerate() {
                    *m = pivot(ch) + *m * inv_m;
                }
                if !mean_only {
                    for_blocks(x, l, |ch, b| {
                        let m = mean[ch];
                        var[ch] += b.iter().fold(F::zero(), |a, &v| {
                            let d = v - m;
                            a + d * d
                        });
                    });
                    var.iter_mut().for_each(|v| *v *= inv_m);
                }
            },
        )
    }

    /// Per-group coefficients `[μ; s; β]`, a `(3, groups)` variable, from
    /// moments `[μ; σ²]` (`self`, `(2, groups)`), an optional gain `γ` and
    /// shift `β` (each `(groups)`; absent means 1 and 0):
    /// `s_c = γ_c/√(σ²_c + ε)`, or `s_c = 1` with `mean_only`.
    ///
    /// VJP: `∂L/∂μ = ḡ_μ`, `∂L/∂σ² = −½·ḡ_s·γ·(σ² + ε)^(−3/2)`,
    /// `∂L/∂γ = ḡ_s/√(σ² + ε)`, `∂L/∂β = ḡ_β`.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if `self` is not `(2, C)` or `γ`, `β` are
    /// not `(C)`; [`Error::OutOfDomain`] for `eps` not finite and
    /// positive (unless `mean_only`, where it is unused);
    /// [`Error::ForeignVar`] for a variable of another tape.
    pub fn norm_coeffs(
        self,
        gamma: Option<Var<'t, F>>,
        beta: Option<Var<'t, F>>,
        eps: F,
        mean_only: bool,
    ) -> Result<Var<'t, F>> {
        let op = "norm_coeffs";
        let s = self.shape();
        let &[2, c] = s.dims() else {
            return Err(Error::ShapeMismatch {
                op,
                lhs: s,
                rhs: s,
                reason: "the moments must be (2, C): [mean; variance]",
            });
        };
        for v in [gamma, beta].into_iter().flatten() {
            if v.shape() != Shape::vector(c) {
                return Err(Error::ShapeMismatch {
                    op,
                    lhs: s,
                    rhs: v.shape(),
                    reason: "the gain and shift must have one value per group (C)",
                });
            }
        }
        let eps_ok = eps.is_finite() && eps > F::zero();
        if !mean_only && !eps_ok {
            return Err(Error::out_of_domain(
                op,
                "eps",
                format!("finite and > 0 in {}", F::NAME),
                eps,
            ));
        }
        let flags = (usize::from(mean_only) * MEAN_ONLY)
            | (usize::from(gamma.is_some()) * HAS_GAMMA)
            | (usize::from(beta.is_some()) * HAS_BETA);
        let mut inputs: smallvec::SmallVec<[Var<'t, F>; 3]> = smallvec::smallvec![self];
        inputs.extend(gamma);
        inputs.extend(beta);
        let p = Coefficients {
            groups: c,
            flags,
            eps,
        };
        self.tape().record(
            op,
            &inputs,
            Shape::new(&[3, c])?,
            p,
            coeffs_backward,
            |out, inp| {
                let stats = inp.value(0);
                let gam = gamma.is_some().then(|| inp.value(1));
                let bet = beta
                    .is_some()
                    .then(|| inp.value(1 + usize::from(gamma.is_some())));
                for ch in 0..c {
                    out[ch] = stats[ch];
                    let g = gam.map_or(F::one(), |g| g[ch]);
                    out[c + ch] = if mean_only {
                        g
                    } else {
                        g / (stats[c + ch] + eps).sqrt()
                    };
                    out[2 * c + ch] = bet.map_or(F::zero(), |b| b[ch]);
                }
            },
        )
    }

    /// `y[a,c,s] = (x[a,c,s] − μ_c)·s_c + β_c` with coefficients
    /// `[μ; s; β]` (`(3, groups)`, from [`norm_coeffs`](Self::norm_coeffs)).
    /// Centring before scaling keeps the result accurate when `|μ| ≫ σ`.
    ///
    /// VJP: `∂L/∂x = s_c·ḡ`, `∂L/∂μ_c = −s_c·Σḡ`, `∂L/∂s_c = Σḡ·(x − μ_c)`,
    /// `∂L/∂β_c = Σḡ` (sums over group `c`), in one pass.
    ///
    /// # Errors
    /// [`Error::Incompatible`] if `layout` does not cover `self`;
    /// [`Error::Empty`] for an empty input; [`Error::ShapeMismatch`] if the
    /// coefficients are not `(3, groups)`; [`Error::ForeignVar`];
    /// [`Error::NonFinite`] in checked mode.
    pub fn group_affine(self, coeffs: Var<'t, F>, layout: GroupLayout) -> Result<Var<'t, F>> {
        let op = "group_affine";
        let shape = self.shape();
        layout.check(op, shape)?;
        let c = layout.groups;
        if coeffs.shape().dims() != [3, c] {
            return Err(Error::ShapeMismatch {
                op,
                lhs: shape,
                rhs: coeffs.shape(),
                reason: "the coefficients must be (3, groups): [mean; scale; shift]",
            });
        }
        let l = layout;
        self.tape().record(
            op,
            &[self, coeffs],
            shape,
            l,
            group_affine_backward,
            |out, inp| {
                let (x, k) = (inp.value(0), inp.value(1));
                if l.inner == 1 {
                    let (m, s, b) = (&k[..c], &k[c..2 * c], &k[2 * c..3 * c]);
                    for (orow, xrow) in out.chunks_exact_mut(c).zip(x.chunks_exact(c)) {
                        for ch in 0..c {
                            orow[ch] = (xrow[ch] - m[ch]) * s[ch] + b[ch];
                        }
                    }
                    return;
                }
                for (i, (oblock, xblock)) in out
                    .chunks_exact_mut(l.inner)
                    .zip(x.chunks_exact(l.inner))
                    .enumerate()
                {
                    let ch = i % c;
                    let (m, s, b) = (k[ch], k[c + ch], k[2 * c + ch]);
                    for (o, &xi) in oblock.iter_mut().zip(xblock) {
                        *o = (xi - m) * s + b;
                    }
                }
            },
        )
    }

    /// `y[r, j] = x[r, j]·γ_j + β_j` for the rows of `self` seen as
    /// `(numel/D, D)` with `D = γ.numel()` (LayerNorm's element-wise
    /// affine over the normalised shape).
    ///
    /// VJP: `∂L/∂x = γ·ḡ`, `∂L/∂γ_j = Σ_r ḡ[r,j]·x[r,j]`, `∂L/∂β_j = Σ_r ḡ[r,j]`.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if `β`'s shape differs from `γ`'s, or the
    /// trailing dimensions of `self` do not hold a multiple of `γ`'s
    /// elements; [`Error::Empty`] for an empty `γ`; [`Error::ForeignVar`].
    pub fn feature_affine(self, gamma: Var<'t, F>, beta: Option<Var<'t, F>>) -> Result<Var<'t, F>> {
        let op = "feature_affine";
        let (shape, gs) = (self.shape(), gamma.shape());
        let d = gs.numel();
        if d == 0 {
            return Err(Error::Empty { op, shape: gs });
        }
        let dims = shape.dims();
        let gd = gs.dims();
        if gd.len() > dims.len() || dims[dims.len() - gd.len()..] != *gd {
            return Err(Error::ShapeMismatch {
                op,
                lhs: shape,
                rhs: gs,
                reason: "the input's trailing dimensions must equal the gain's shape",
            });
        }
        if let Some(b) = beta
            && b.shape() != gs
        {
            return Err(Error::ShapeMismatch {
                op,
                lhs: gs,
                rhs: b.shape(),
                reason: "the shift must have the gain's shape",
            });
        }
        let mut inputs: smallvec::SmallVec<[Var<'t, F>; 3]> = smallvec::smallvec![self, gamma];
        inputs.extend(beta);
        let has_beta = beta.is_some();
        self.tape().record(
            op,
            &inputs,
            shape,
            FeatureAffine {
                d,
                has_beta: usize::from(has_beta),
            },
            feature_affine_backward,
            |out, inp| {
                let (x, g) = (inp.value(0), inp.value(1));
                let b = has_beta.then(|| inp.value(2));
                for (orow, xrow) in out.chunks_exact_mut(d).zip(x.chunks_exact(d)) {
                    match b {
                        Some(b) => {
                            for j in 0..d {
                                orow[j] = xrow[j] * g[j] + b[j];
                            }
                        }
                        None => {
                            for j in 0..d {
                                orow[j] = xrow[j] * g[j];
                            }
                        }
                    }
                }
            },
        )
    }

    /// Weight normalisation (Salimans & Kingma 2016): `w_j = g_j·v_j/‖v_j‖`
    /// for each row `j` of `v` (`(out, in)`, `self`) and gain `g` (`(out)`).
    /// The norm is computed scaled by the row's largest magnitude, so tiny
    /// or huge rows neither underflow nor overflow.
    ///
    /// VJP, with `t_j = Σ_i ḡ_ji·v_ji/‖v_j‖`: `∂L/∂g_j = t_j`,
    /// `∂L/∂v_ji = (g_j/‖v_j‖)·(ḡ_ji − t_j·v_ji/‖v_j‖)`.
    ///
    /// # Errors
    /// [`Error::RankMismatch`] if `v` is not a matrix; [`Error::ShapeMismatch`]
    /// if `g` is not `(out)`; [`Error::Empty`] for an empty `v`;
    /// [`Error::OutOfDomain`] if a row of `v` is zero (its direction is
    /// undefined) or not finite; [`Error::ForeignVar`].
    pub fn weight_norm(self, gain: Var<'t, F>) -> Result<Var<'t, F>> {
        let op = "weight_norm";
        let s = self.shape();
        let &[rows, cols] = s.dims() else {
            return Err(Error::RankMismatch {
                op,
                expected: "2 (out, in) for v",
                shape: s,
            });
        };
        if gain.shape() != Shape::vector(rows) {
            return Err(Error::ShapeMismatch {
                op,
                lhs: s,
                rhs: gain.shape(),
                reason: "the gain must have one value per row of v (out)",
            });
        }
        if rows == 0 || cols == 0 {
            return Err(Error::Empty { op, shape: s });
        }
        let bad_row = self.with_value(|v| {
            v.chunks_exact(cols).enumerate().find_map(|(j, r)| {
                let n = row_norm(r);
                (!(n.is_finite() && n > F::zero())).then_some((j, n))
            })
        });
        if let Some((j, n)) = bad_row {
            return Err(Error::out_of_domain(
                op,
                format!("the norm of row {j} of v in {}", F::NAME),
                "finite and > 0 (else its direction is undefined)",
                n,
            ));
        }
        self.tape().record(
            op,
            &[self, gain],
            s,
            WeightNormDims { cols },
            weight_norm_backward,
            |out, inp| {
                let (v, g) = (inp.value(0), inp.value(1));
                for (j, (orow, vrow)) in out
                    .chunks_exact_mut(cols)
                    .zip(v.chunks_exact(cols))
                    .enumerate()
                {
                    let s = g[j] / row_norm(vrow);
                    for (o, &vi) in orow.iter_mut().zip(vrow) {
                        *o = s * vi;
                    }
                }
            },
        )
    }
}
