//! Differentiable ops. Each op's forward and its vector-Jacobian product sit
//! side by side in the file of its family.
//!
//! Element-wise ops are written once as a zero-sized type implementing
//! [`UnaryOp`] or [`BinaryOp`] (value and derivative together); the shared
//! recording and broadcasting machinery lives here.
//!
//! # The ops and their derivatives
//!
//! `g` is the gradient arriving at the output, `y` the output; every rule
//! **adds** into the input's gradient. Broadcast operands sum `g` back over
//! the broadcast axes. Activations ([`activation`](crate::activation)) and
//! losses ([`loss`](crate::loss)) list theirs in their own modules.
//!
//! | op | value | vector-Jacobian product |
//! | --- | --- | --- |
//! | `a + b`, `a − b` | broadcast sum, difference | `da += g`, `db += ±g` |
//! | `a * b` | product | `da += g·b`, `db += g·a` |
//! | `a / b` | quotient | `da += g/b`, `db −= g·a/b²` |
//! | [`maximum`](crate::Var::maximum), [`minimum`](crate::Var::minimum) | larger / smaller | `g` to the chosen operand; a tie splits it in halves |
//! | `add_scalar`, `mul_scalar`, `div_scalar`, `rsub_scalar`, `rdiv_scalar`, `−x` | `x + c`, `c·x`, `x/c`, `c − x`, `c/x`, `−x` | `g`, `c·g`, `g/c`, `−g`, `−g·y/x`, `−g` |
//! | [`exp`](crate::Var::exp), [`ln`](crate::Var::ln), [`sqrt`](crate::Var::sqrt) | `eˣ`, `ln x`, `√x` | `g·y`, `g/x`, `g/(2y)` |
//! | [`powi`](crate::Var::powi), [`powf`](crate::Var::powf) | `xⁿ`, `xᵃ` | `g·n·xⁿ⁻¹`, `g·a·xᵃ⁻¹` (0 for `a = 0`) |
//! | [`abs`](crate::Var::abs), [`square`](crate::Var::square), [`recip`](crate::Var::recip), [`tanh`](crate::Var::tanh) | `\|x\|`, `x²`, `1/x`, `tanh x` | `g·sign x` (0 at 0), `2g·x`, `−g·y²`, `g·(1 − y²)` |
//! | [`clamp`](crate::Var::clamp) | `min(max(x, lo), hi)` | `g` inside `[lo, hi]`, else 0 |
//! | [`sum`](crate::Var::sum), [`mean`](crate::Var::mean) (and `_axis`) | `Σx`, `Σx/n` | `g` (or `g/n`) to every summed element |
//! | [`matmul`](crate::Var::matmul) | `C = A·B` (batched) | `dA += G·Bᵀ`, `dB += Aᵀ·G` |
//! | [`linear`](crate::Var::linear) | `Y = X·Wᵀ + b` | `dX += G·W`, `dW += Gᵀ·X`, `db += Σ_rows G` |
//! | [`reshape`](crate::Var::reshape), [`transpose`](crate::Var::transpose), [`flatten`](crate::Var::flatten) | a view in another shape | `g` moved back |
//! | [`slice`](crate::Var::slice), [`concat()`] | a window; a join | `g` into the window; each part's block of `g` |
//! | [`gather`](crate::Var::gather), [`index_select`](crate::Var::index_select) | picked elements / slices | `g` added at the picked places (repeats accumulate) |
//! | [`select`] (condition from [`mask`](crate::Var::mask), a constant) | `c ≠ 0 ? a : b` | `g` to the chosen branch; none to the condition |
//! | [`softmax`](crate::Var::softmax), [`log_softmax`](crate::Var::log_softmax) | along an axis | `y ⊙ (g − Σ g·y)`; `g − eʸ·Σ g` |
//! | [`unfold2d`](crate::Var::unfold2d) | im2col patches | each patch entry's `g` into the pixel it copied |
//! | [`conv2d`](crate::Var::conv2d) | `Y = W ⋆ X + b` (NCHW, OIHW) | `dX` = col2im of `Wᵀ·G`, `dW += G·patchesᵀ`, `db += Σ G` |
//! | [`max_pool2d`](crate::Var::max_pool2d), [`avg_pool2d`](crate::Var::avg_pool2d) | window max / mean | `g` to the first maximal element; `g/count` to each averaged one |
//! | [`norm_moments`](crate::Var::norm_moments) | per-group mean and biased variance | `g_μ/M + 2 g_σ²·(x − μ)/M` |
//! | [`norm_coeffs`](crate::Var::norm_coeffs) | `s = γ/√(σ² + ε)`, shift | `∂s/∂σ² = −½γ(σ² + ε)^(−3/2)`, `∂s/∂γ = 1/√(σ² + ε)` |
//! | [`group_affine`](crate::Var::group_affine), [`feature_affine`](crate::Var::feature_affine) | `s·(x − μ) + β` per group; `γ·x + β` per feature | product rule in `x`, `μ`, `s`, `γ`, `β` |
//! | [`weight_norm`](crate::Var::weight_norm) | `w = g·v/‖v‖` per row | `dv += (g/‖v‖)(G − ŵ(ŵ·G))`, `dg += ŵ·G` |
//!
//! Every rule is gradchecked in `tests/engine/ops_gradcheck.rs` (and the conv,
//! norm and loss test files); the conv and norm ops are also compared
//! with PyTorch.

pub mod arith;
pub mod conv;
pub mod index;
pub mod matmul;
pub mod norm;
pub mod reduce;
pub mod shape_ops;
pub mod unary;

pub use index::select;
pub use norm::GroupLayout;
pub use shape_ops::concat;

use crate::autodiff::{BackwardCtx, Saved, Var};
use crate::element::Element;
use crate::error::Result;
use crate::shape::{broadcast_shapes, broadcast_strides, for_each_broadcast2};

/// An element-wise function of one variable, with its derivative.
///
/// `df` receives the input `x`, the output `y = f(x)` and the op's state, so
/// a derivative that is cheaper from the output (`tanh`, `sigmoid`, `exp`)
/// uses `y`. The state is what the op is parameterised by (`()` for
/// nothing, the element type for one constant such as a leaky ReLU's slope,
/// or a [`Saved`] struct of the op's own); it is
/// given to [`Var::unary`] and stored in the node.
///
/// ```
/// use gradsign::{ops::UnaryOp, Tape};
/// /// x³; d/dx = 3x².
/// struct Cube;
/// impl UnaryOp<f64> for Cube {
///     const NAME: &'static str = "cube";
///     type State = ();
///     fn f(x: f64, _: ()) -> f64 { x * x * x }
///     fn df(x: f64, _y: f64, _: ()) -> f64 { 3.0 * x * x }
/// }
/// /// a·x for a constant a; d/dx = a.
/// struct Scale;
/// impl UnaryOp<f64> for Scale {
///     const NAME: &'static str = "scale";
///     type State = f64;
///     fn f(x: f64, a: f64) -> f64 { a * x }
///     fn df(_: f64, _y: f64, a: f64) -> f64 { a }
/// }
/// let tape = Tape::<f64>::new();
/// let x = tape.var_scalar(2.0);
/// let y = x.unary::<Cube>(());
/// assert_eq!(y.item()?, 8.0);
/// assert_eq!(y.backward()?.get(x)?, &[12.0]);
/// let z = x.unary::<Scale>(0.5);
/// assert_eq!(z.backward()?.get(x)?, &[0.5]);
/// # Ok::<(), gradsign::Error>(())
/// ```
pub trait UnaryOp<F: Element> {
    /// The op's name, used in errors.
    const NAME: &'static str;
    /// What the op is parameterised by, saved in its node.
    type State: Saved<F>;
    /// The value.
    fn f(x: F, s: Self::State) -> F;
    /// The derivative `dy/dx`, given `x` and `y = f(x)`.
    fn df(x: F, y: F, s: Self::State) -> F;
    /// The number of elements from which the value and the VJP are
    /// computed by the tape's threads together (when it has more than one:
    /// [`Tape::set_threads`](crate::Tape::set_threads)). The default, 65,536,
    /// suits a map of a few arithmetic operations per element, whose split
    /// costs more than it saves below it; the crate's maps with an
    /// exponential, a logarithm or `tanh` (about 1 ns per `f32` element
    /// even vectorised) use 16,384. The results do not depend on it.
    const SPLIT_FROM: usize = PARALLEL_MAP;
}

/// An element-wise function of two broadcast variables, with its partial
/// derivatives.
pub trait BinaryOp<F: Element> {
    /// The op's name, used in errors.
    const NAME: &'static str;
    /// The value.
    fn f(a: F, b: F) -> F;
    /// `∂y/∂a` given `a`, `b` and `y = f(a, b)`.
    fn da(a: F, b: F, y: F) -> F;
    /// `∂y/∂b` given `a`, `b` and `y = f(a, b)`.
    fn db(a: F, b: F, y: F) -> F;
}

/// Below this many elements an element-wise map runs as a plain loop.
const DISPATCH_MIN: usize = 256;

/// `out[i] = f(x[i])`. Long slices run inside a function compiled for the
/// processor's AVX2/FMA instructions when it has them (detected at run
/// time), so that a branch-free `f` (the crate's `exp`, `tanh`, sigmoid)
/// vectorises eight `f32` wide instead of SSE2's four. Each element is
/// computed by the same operations either way: results are identical.
fn map_into<F: Element>(out: &mut [F], x: &[F], f: impl Fn(F) -> F) {
    if out.len() < DISPATCH_MIN {
        for (o, &xi) in out.iter_mut().zip(x) {
            *o = f(xi);
        }
    } else {
        // A struct rather than a closure: `dispatch` inlines a
        // `WithSimd::with_simd` marked `inline(always)` into its
        // vectorised copy, which it does not reliably do for a closure.
        struct Map<'a, F, G>(&'a mut [F], &'a [F], G);
        impl<F: Element, G: Fn(F) -> F> pulp::WithSimd for Map<'_, F, G> {
            type Output = ();
            #[inline(always)]
            fn with_simd<S: pulp::Simd>(self, _: S) {
                let Map(out, x, f) = self;
                for (o, &xi) in out.iter_mut().zip(x) {
                    *o = f(xi);
                }
            }
        }
        pulp::Arch::new().dispatch(Map(out, x, f));
    }
}

/// Element-wise work from this many elements up is split over two threads
/// when the tape has them (below it, the hand-off costs more).
const PARALLEL_MAP: usize = 1 << 16;

/// [`UnaryOp::SPLIT_FROM`] of the maps with an exponential, a logarithm or
/// `tanh`: a split of 16,384 `f32` sigmoids saves about 10 µs of a 20 µs
/// map (W3's two sigmoid layers at two threads: 0.070 → 0.039–0.045 ms
/// forward).
pub(crate) const SPLIT_COSTLY: usize = 1 << 14;

/// Runs `work(items, out, space)` over `threads` contiguous groups of
/// the `n` items (examples, planes, elements), each with its share of
/// `out` (`out_per` values per item) and its own `space_per` values of
/// working space; inline for one group. The groups are split in halves by `rayon::join`, which
/// allocates nothing.
pub(crate) fn in_groups<F: Element>(
    n: usize,
    threads: usize,
    (out, out_per): (&mut [F], usize),
    (space, space_per): (&mut [F], usize),
    work: impl Fn(std::ops::Range<usize>, &mut [F], &mut [F]) + Sync,
) {
    fn split<F: Element>(
        items: std::ops::Range<usize>,
        groups: usize,
        (out, out_per): (&mut [F], usize),
        (space, space_per): (&mut [F], usize),
        work: &(impl Fn(std::ops::Range<usize>, &mut [F], &mut [F]) + Sync),
    ) {
        if groups <= 1 {
            work(items, out, &mut space[..space_per]);
            return;
        }
        let left = groups / 2;
        let mid = items.start + items.len() * left / groups;
        let (lo, hi) = out.split_at_mut((mid - items.start) * out_per);
        let (slo, shi) = space.split_at_mut(left * space_per);
        rayon::join(
            || {
                split(
                    items.start..mid,
                    left,
                    (lo, out_per),
                    (slo, space_per),
                    work,
                )
            },
            || {
                split(
                    mid..items.end,
                    groups - left,
                    (hi, out_per),
                    (shi, space_per),
                    work,
                )
            },
        );
    }
    let groups = threads.clamp(1, n.max(1));
    split(0..n, groups, (out, out_per), (space, space_per), &work);
}

/// Runs `work(range, out[range])` over `out` split between the threads
/// ([`in_groups`]) when `threads > 1` and `out` is large; otherwise once,
/// inline.
pub(crate) fn in_halves<F: Element>(
    threads: usize,
    out: &mut [F],
    work: &(impl Fn(std::ops::Range<usize>, &mut [F]) + Sync),
) {
    in_halves_from(PARALLEL_MAP, threads, out, work);
}

/// [`in_halves`] with the threshold `from`: `out` is split when it holds
/// at least `from` values, and at least two.
pub(crate) fn in_halves_from<F: Element>(
    from: usize,
    threads: usize,
    out: &mut [F],
    work: &(impl Fn(std::ops::Range<usize>, &mut [F]) + Sync),
) {
    let pieces = if out.len() >= from.max(2) { threads } else { 1 };
    if pieces <= 1 {
        // Inline: no call into the splitting (small slices come here).
        work(0..out.len(), out);
        return;
    }
    in_groups(out.len(), pieces, (out, 1), (&mut [], 0), |r, o, _| {
        work(r, o)
    });
}

/// The backward rule shared by every [`UnaryOp`]: `dx += df(x, y)·grad_out`
/// (or `=`, into a slot no other rule has written).
fn unary_backward<F: Element, U: UnaryOp<F>>(ctx: &mut BackwardCtx<'_, F>) {
    let s: U::State = ctx.saved();
    if let [g] = *ctx.grad_out() {
        // One element (W1's scalar chains): no slices, no loop set-up;
        // added or written as the loops below do it.
        let (x, y) = (ctx.input_first(0), ctx.output()[0]);
        if let Some((d, accumulate)) = ctx.grad_first(0) {
            let v = U::df(x, y, s) * g;
            *d = if accumulate { *d + v } else { v };
        }
        return;
    }
    let x = ctx.input(0);
    let threads = ctx.threads();
    let (g, y) = (ctx.grad_out(), ctx.output());
    if let Some(gx) = ctx.grad_slot(0) {
        let accumulate = gx.accumulate;
        in_halves_from(U::SPLIT_FROM, threads, gx.data, &|r, gx| {
            let (x, y, g) = (&x[r.clone()], &y[r.clone()], &g[r]);
            vjp_into(gx, (x, y, g), accumulate, |x, y| U::df(x, y, s));
        });
    }
}

/// `gx[i] (+)= df(x[i], y[i])·g[i]`, added when `accumulate`, written
/// otherwise. Long slices run compiled for the processor's vector
/// instructions, as in [`map_into`] (the same operations, so the same
/// results): the crate's derivatives (the sigmoid's recomputes `e^{-|x|}`)
/// are branch-free and vectorise there.
fn vjp_into<F: Element>(
    gx: &mut [F],
    (x, y, g): (&[F], &[F], &[F]),
    accumulate: bool,
    df: impl Fn(F, F) -> F,
) {
    struct Vjp<'a, F, D>(&'a mut [F], (&'a [F], &'a [F], &'a [F]), bool, D);
    impl<F: Element, D: Fn(F, F) -> F> pulp::WithSimd for Vjp<'_, F, D> {
        type Output = ();
        #[inline(always)]
        fn with_simd<S: pulp::Simd>(self, _: S) {
            let Vjp(gx, (x, y, g), accumulate, df) = self;
            let (x, y, g) = (&x[..gx.len()], &y[..gx.len()], &g[..gx.len()]);
            // The test outside the loops, so that each loop vectorises.
            if accumulate {
                for i in 0..gx.len() {
                    gx[i] += df(x[i], y[i]) * g[i];
                }
            } else {
                for i in 0..gx.len() {
                    gx[i] = df(x[i], y[i]) * g[i];
                }
            }
        }
    }
    let run = Vjp(gx, (x, y, g), accumulate, df);
    if run.0.len() < DISPATCH_MIN {
        pulp::WithSimd::with_simd(run, pulp::Scalar);
    } else {
        pulp::Arch::new().dispatch(run);
    }
}

/// The backward rule shared by every [`BinaryOp`]: each input's partial
/// times `grad_out`, summed back over broadcast axes.
fn binary_backward<F: Element, B: BinaryOp<F>>(ctx: &mut BackwardCtx<'_, F>) {
    if let [g] = *ctx.grad_out() {
        // One element (so one in each input): no slices, no loop set-up,
        // no strides, and no zero-fill of an unwritten slot. For `x ∘ x`
        // the second slot is the first, then written, so it adds.
        let (a, b, y) = (ctx.input_first(0), ctx.input_first(1), ctx.output()[0]);
        // Added as a zeroed slot then `+=` would: an unwritten slot gets
        // `0 + v`, the bits of the loops below.
        let add = |(d, accumulate): (&mut F, bool), v: F| {
            *d = if accumulate { *d } else { F::zero() } + v;
        };
        if let Some(slot) = ctx.grad_first(0) {
            add(slot, B::da(a, b, y) * g);
        }
        if let Some(slot) = ctx.grad_first(1) {
            add(slot, B::db(a, b, y) * g);
        }
        return;
    }
    let (a, b) = (ctx.input(0), ctx.input(1));
    let (g, y) = (ctx.grad_out(), ctx.output());
    let (sa, sb, so) = (ctx.input_shape(0), ctx.input_shape(1), ctx.output_shape());
    if sa == so && sb == so {
        if let Some(ga) = ctx.grad_input(0) {
            for i in 0..ga.len() {
                ga[i] += B::da(a[i], b[i], y[i]) * g[i];
            }
        }
        if let Some(gb) = ctx.grad_input(1) {
            for i in 0..gb.len() {
                gb[i] += B::db(a[i], b[i], y[i]) * g[i];
            }
        }
        return;
    }
    let (stra, strb) = (broadcast_strides(sa, so), broadcast_strides(sb, so));
    if let Some(ga) = ctx.grad_input(0) {
        for_each_broadcast2(so, &stra, &strb, |o, ia, ib| {
            ga[ia] += B::da(a[ia], b[ib], y[o]) * g[o];
        });
    }
    if let Some(gb) = ctx.grad_input(1) {
        for_each_broadcast2(so, &stra, &strb, |o, ia, ib| {
            gb[ib] += B::db(a[ia], b[ib], y[o]) * g[o];
        });
    }
}

impl<'t, F: Element> Var<'t, F> {
    /// Applies an element-wise [`UnaryOp`] (the building block of every
    /// activation; also the way to add your own).
    ///
    /// # Panics
    /// In checked mode (see [`Tape::set_checked`](crate::Tape::set_checked))
    /// when the output is not finite; use [`try_unary`](Self::try_unary).
    #[track_caller]
    pub fn unary<U: UnaryOp<F>>(self, state: U::State) -> Var<'t, F> {
        crate::error::or_panic(self.try_unary::<U>(state))
    }

    /// Applies an element-wise [`UnaryOp`], returning errors.
    ///
    /// # Errors
    /// [`Error::NonFinite`](crate::Error::NonFinite) in checked mode.
    pub fn try_unary<U: UnaryOp<F>>(self, state: U::State) -> Result<Var<'t, F>> {
        let backward = unary_backward::<F, U>;
        if let Some(done) = self
            .tape()
            .record_scalar(U::NAME, [self], state, backward, |[x]| U::f(x, state))
        {
            return done;
        }
        let shape = self.shape();
        self.tape()
            .record_overwriting(U::NAME, &[self], shape, state, backward, |out, inp| {
                let x = inp.value(0);
                in_halves_from(U::SPLIT_FROM, inp.threads(), out, &|r, out| {
                    map_into(out, &x[r], |x| U::f(x, state))
                });
            })
    }

    /// Applies an element-wise [`BinaryOp`] with NumPy broadcasting.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) if the shapes do
    /// not broadcast; [`Error::ForeignVar`](crate::Error::ForeignVar) if
    /// `rhs` is from another tape.
    pub fn try_binary<B: BinaryOp<F>>(self, rhs: Var<'t, F>) -> Result<Var<'t, F>> {
        let backward = binary_backward::<F, B>;
        if let Some(done) =
            self.tape()
                .record_scalar(B::NAME, [self, rhs], (), backward, |[x, y]| B::f(x, y))
        {
            return done;
        }
        let (sa, sb) = (self.shape(), rhs.shape());
        let so = if sa == sb {
            sa
        } else {
            broadcast_shapes(B::NAME, sa, sb)?
        };
        // Every branch below writes every output element, so the slot is
        // not zeroed first.
        self.tape()
            .record_overwriting(B::NAME, &[self, rhs], so, (), backward, |out, inp| {
                let (a, b) = (inp.value(0), inp.value(1));
                if sa == so && sb == so {
                    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
                        *o = B::f(x, y);
                    }
                } else if sb.numel() == 1 && sa == so {
                    let y = b[0];
                    for (o, &x) in out.iter_mut().zip(a) {
                        *o = B::f(x, y);
                    }
                } else {
                    let (stra, strb) = (broadcast_strides(sa, so), broadcast_strides(sb, so));
                    for_each_broadcast2(so, &stra, &strb, |o, ia, ib| {
                        out[o] = B::f(a[ia], b[ib]);
                    });
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::SigmoidOp;
    use crate::ops::unary::{ExpOp, TanhOp};
    use crate::{Tape, Tensor};

    /// The dispatched (AVX2) map and the plain loop compute each element by
    /// the same operations: a long slice equals element-by-element calls.
    fn long_map_equals_scalar_calls<U: UnaryOp<f32, State = ()>>() {
        let x = Tensor::<f32>::rand_uniform(&[4 * DISPATCH_MIN + 3], -30.0, 30.0, 7).unwrap();
        let tape = Tape::<f32>::new();
        let y = tape.constant(&x).unary::<U>(()).value();
        for (&xi, &yi) in x.as_slice().iter().zip(y.as_slice()) {
            assert_eq!(yi.to_bits(), U::f(xi, ()).to_bits(), "{} at {xi}", U::NAME);
        }
    }

    /// The one-element paths of the element-wise ops and their backward
    /// rules (W1's scalars) give the bits the loops give: each value is
    /// computed once as a scalar and once as element 0 of a slice of three.
    #[test]
    fn one_element_paths_give_the_loops_bits() {
        let values = [
            -0.0,
            0.0,
            1.5,
            -2.25,
            f64::MIN_POSITIVE / 4.0,
            f64::NAN,
            f64::INFINITY,
        ];
        let bits = |v: f64| {
            if v.is_nan() {
                f64::NAN.to_bits()
            } else {
                v.to_bits()
            }
        };
        for &a in &values {
            for &b in &values {
                // (value, gradient of a, gradient of b) of a·b + tanh(a) + a·a.
                let run = |n: usize| {
                    let tape = Tape::<f64>::new();
                    let x = tape.var(&Tensor::from_vec(vec![a; n], &[n]).unwrap());
                    let y = tape.var(&Tensor::from_vec(vec![b; n], &[n]).unwrap());
                    let z = x * y + x.tanh() + x * x;
                    let g = z.sum().backward().unwrap();
                    // A NaN's sign and payload are not specified by IEEE 754
                    // arithmetic: any NaN is the same result.
                    let first = |v: Vec<f64>| bits(v[0]);
                    (
                        first(z.value().into_vec()),
                        first(g.get(x).unwrap().to_vec()),
                        first(g.get(y).unwrap().to_vec()),
                    )
                };
                assert_eq!(run(1), run(3), "a = {a}, b = {b}");
                // A gradient of −0 into an unwritten slot: a constant zero
                // times a negative input.
                let tape = Tape::<f64>::new();
                let x = tape.var(&Tensor::from_vec(vec![a], &[1]).unwrap());
                let x3 = tape.var(&Tensor::from_vec(vec![a; 3], &[3]).unwrap());
                let c = tape.constant_scalar(b);
                let g1 = (x * c).tanh().sum().backward().unwrap();
                let g3 = (x3 * c).tanh().sum().backward().unwrap();
                assert_eq!(
                    bits(g1.get(x).unwrap()[0]),
                    bits(g3.get(x3).unwrap()[0]),
                    "a = {a}, b = {b}"
                );
            }
        }
    }

    #[test]
    fn dispatched_maps_match_element_by_element_calls() {
        long_map_equals_scalar_calls::<SigmoidOp>();
        long_map_equals_scalar_calls::<TanhOp>();
        long_map_equals_scalar_calls::<ExpOp>();
    }
}
