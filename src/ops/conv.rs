//! Convolution and pooling over NCHW batches: `unfold2d` (im2col), `conv2d`,
//! `max_pool2d`, `avg_pool2d` and `flatten`.
//!
//! A convolution is one op. Per example, it builds the patch matrix (one
//! column per output position, one row per weight of a filter) in the
//! tape's working space and multiplies the filters flattened to
//! `(O, C·kh·kw)` by it, straight into the NCHW output; the backward sweep
//! rebuilds the patches for `dW = Σ_n δ_n·patchesₙᵀ` and folds `Wᵀ·δ_n`
//! back onto the input. The tape keeps no patch matrix, and one example's
//! patches (per thread) stay in cache. In `f32` on a CPU with AVX2, a
//! stride-1, undilated layer with channels in sixteens and small enough
//! planes (W6's two) takes its three products as direct correlations of
//! zero-padded planes instead (the crate's own AVX2 kernel), with no
//! patch matrix at all; the input gradient is then the output gradient
//! correlated with the filters turned half round. The sign analysis reads a
//! convolution as the dense layer it is at every position (a filter's
//! gradient on one position is `δ_p·patch_p`: one-signed when the patch
//! is); its [`LayerTrace`](crate::nn::LayerTrace) builds the patch rows
//! ([`Var::unfold2d`]'s value) when asked.
//!
//! The geometry of each op is stored in the tape's index buffer (fourteen
//! integers), so recording allocates nothing once the tape is warm. Max
//! pooling's backward finds each window's arg-max again as the first tap
//! equal to the saved maximum, without a branch per tap. Pooling and
//! convolution share their examples or planes out over the tape's threads.

use super::in_groups;
use crate::autodiff::{BackwardCtx, Slot, Var, reserve_scratch, saved_dims, scratch_slice};
use crate::element::Element;
use crate::element::GemmArgs;
use crate::error::{Error, Result};
use crate::kernels;
use crate::shape::Shape;

/// Stride, zero padding and dilation of a 2-D convolution or pooling window,
/// each given as `(along height, along width)`.
///
/// ```
/// use gradsign::ops::conv::Window;
/// let w = Window::default().stride(2).padding(1);
/// assert_eq!((w.stride, w.padding, w.dilation), ((2, 2), (1, 1), (1, 1)));
/// // 28 × 28 input, 5 × 5 kernel, stride 2, padding 1: 13 × 13 positions.
/// assert_eq!(w.output_size("conv2d", (28, 28), (5, 5))?, (13, 13));
/// # Ok::<(), gradsign::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Window {
    /// Step between window positions (≥ 1).
    pub stride: (usize, usize),
    /// Zeros added on each side of the input.
    pub padding: (usize, usize),
    /// Spacing between the window's taps (≥ 1; 1 is a dense window).
    pub dilation: (usize, usize),
}

impl Default for Window {
    /// Stride 1, no padding, no dilation.
    fn default() -> Self {
        Window {
            stride: (1, 1),
            padding: (0, 0),
            dilation: (1, 1),
        }
    }
}

impl Window {
    /// The same stride along both axes.
    #[must_use]
    pub fn stride(mut self, s: usize) -> Self {
        self.stride = (s, s);
        self
    }

    /// The same padding on both axes.
    #[must_use]
    pub fn padding(mut self, p: usize) -> Self {
        self.padding = (p, p);
        self
    }

    /// The same dilation along both axes.
    #[must_use]
    pub fn dilation(mut self, d: usize) -> Self {
        self.dilation = (d, d);
        self
    }

    /// The output size `⌊(H + 2p − d·(k − 1) − 1)/s⌋ + 1` along each axis
    /// for an input of `(H, W)` and a kernel of `(kh, kw)`.
    ///
    /// # Errors
    /// [`Error::OutOfDomain`], naming `op`, for a zero stride, dilation or
    /// kernel size, or a dilated kernel larger than the padded input (no
    /// output position); [`Error::TooLarge`] if the sizes overflow a
    /// `usize`.
    pub fn output_size(
        &self,
        op: &'static str,
        input: (usize, usize),
        kernel: (usize, usize),
    ) -> Result<(usize, usize)> {
        let axis = |name: &str, n: usize, k: usize, s: usize, p: usize, d: usize| {
            let bad = |why: String| {
                Error::out_of_domain(
                    op,
                    format!("the {name} window"),
                    why,
                    format_args!("input {n}, kernel {k}, stride {s}, padding {p}, dilation {d}"),
                )
            };
            let too_large = |what: &str| Error::TooLarge {
                op,
                what: format!(
                    "{what} along the {name} (input {n}, kernel {k}, stride {s}, padding {p}, \
                     dilation {d})"
                ),
                reason: "it overflows a usize".into(),
            };
            if s == 0 || d == 0 || k == 0 {
                return Err(bad("one with stride, dilation and kernel size ≥ 1".into()));
            }
            let span = (k - 1)
                .checked_mul(d)
                .and_then(|v| v.checked_add(1))
                .ok_or_else(|| too_large("the dilated kernel's extent"))?;
            let padded = p
                .checked_mul(2)
                .and_then(|v| v.checked_add(n))
                .ok_or_else(|| too_large("the padded extent"))?;
            if span > padded {
                return Err(bad(format!(
                    "one whose kernel (spanning {span}) fits the padded input ({padded})"
                )));
            }
            Ok((padded - span) / s + 1)
        };
        let oh = axis(
            "height",
            input.0,
            kernel.0,
            self.stride.0,
            self.padding.0,
            self.dilation.0,
        )?;
        let ow = axis(
            "width",
            input.1,
            kernel.1,
            self.stride.1,
            self.padding.1,
            self.dilation.1,
        )?;
        Ok((oh, ow))
    }
}

/// The geometry of one window op, as stored in the tape's index buffer.
#[derive(Clone, Copy, Debug)]
struct Geometry {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    kh: usize,
    kw: usize,
    sh: usize,
    sw: usize,
    ph: usize,
    pw: usize,
    dh: usize,
    dw: usize,
    oh: usize,
    ow: usize,
}

impl Geometry {
    const LEN: usize = 14;

    fn new(
        op: &'static str,
        x: Shape,
        kernel: (usize, usize),
        window: &Window,
    ) -> Result<Geometry> {
        let &[n, c, h, w] = x.dims() else {
            return Err(Error::RankMismatch {
                op,
                expected: "4 (batch, channels, height, width)",
                shape: x,
            });
        };
        let (oh, ow) = window.output_size(op, (h, w), kernel)?;
        let g = Geometry {
            n,
            c,
            h,
            w,
            kh: kernel.0,
            kw: kernel.1,
            sh: window.stride.0,
            sw: window.stride.1,
            ph: window.padding.0,
            pw: window.padding.1,
            dh: window.dilation.0,
            dw: window.dilation.1,
            oh,
            ow,
        };
        // Every size the ops index with must fit a usize.
        let dims = [n, oh, ow, c, g.kh, g.kw];
        if dims
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .is_none()
        {
            return Err(Error::TooLarge {
                op,
                what: format!(
                    "{n} × {c} × {}×{} windows over {oh}×{ow} positions",
                    g.kh, g.kw
                ),
                reason: "their count overflows a usize".into(),
            });
        }
        Ok(g)
    }

    fn to_indices(self) -> [usize; Self::LEN] {
        [
            self.n, self.c, self.h, self.w, self.kh, self.kw, self.sh, self.sw, self.ph, self.pw,
            self.dh, self.dw, self.oh, self.ow,
        ]
    }

    fn from_indices(i: &[usize]) -> Geometry {
        Geometry {
            n: i[0],
            c: i[1],
            h: i[2],
            w: i[3],
            kh: i[4],
            kw: i[5],
            sh: i[6],
            sw: i[7],
            ph: i[8],
            pw: i[9],
            dh: i[10],
            dw: i[11],
            oh: i[12],
            ow: i[13],
        }
    }

    fn positions(&self) -> usize {
        self.oh * self.ow
    }

    fn patch_len(&self) -> usize {
        self.c * self.kh * self.kw
    }
}

/// The taps `k` of a window starting at `base` (which may be negative:
/// padding) with spacing `d` that land inside `0..n`: `lo..hi` with
/// `0 ≤ base + k·d < n` exactly for `k` in it (empty when none do).
#[inline]
fn inside(base: isize, d: usize, taps: usize, n: usize) -> (usize, usize) {
    if d == 1 {
        // No dilation (the common case): no division.
        let lo = (-base).clamp(0, taps as isize) as usize;
        let hi = (n as isize - base).clamp(0, taps as isize) as usize;
        return (lo, hi.max(lo));
    }
    let d = d as isize;
    // Smallest k with base + k·d ≥ 0.
    let lo = if base >= 0 { 0 } else { ((-base) + d - 1) / d };
    // Smallest k with base + k·d ≥ n.
    let rest = n as isize - base;
    let hi = if rest <= 0 { 0 } else { (rest + d - 1) / d };
    let (lo, hi) = (
        lo.min(taps as isize) as usize,
        hi.min(taps as isize) as usize,
    );
    (lo, hi.max(lo))
}

impl Geometry {
    /// The first input row of output row `oy`'s window (negative in the
    /// padding).
    #[inline]
    fn y0(&self, oy: usize) -> isize {
        (oy * self.sh) as isize - self.ph as isize
    }

    /// The first input column of output column `ox`'s window.
    #[inline]
    fn x0(&self, ox: usize) -> isize {
        (ox * self.sw) as isize - self.pw as isize
    }
}

/// `dst.copy_from_slice(src)` for the short runs of a window row (a 3×3 or
/// 5×5 kernel copies 3 or 5 values at a time): lengths up to 8 are copied
/// with a fixed size, inline, where a general copy would call `memcpy` once
/// per run.
#[inline(always)]
fn copy_run<F: Copy>(dst: &mut [F], src: &[F]) {
    macro_rules! fixed {
        ($($n:literal)*) => {
            match dst.len() {
                $($n => dst[..$n].copy_from_slice(&src[..$n]),)*
                _ => dst.copy_from_slice(src),
            }
        };
    }
    fixed!(1 2 3 4 5 6 7 8)
}

/// `dst.fill(zero)` for the short runs a window's padding leaves, inline.
#[inline(always)]
fn zero_run<F: Element>(dst: &mut [F]) {
    for v in dst {
        *v = F::zero();
    }
}

/// `im2col`: fills the patch matrix (see [`Var::unfold2d`]) row by row,
/// each window's in-bounds taps copied and the rest zeroed, with the
/// bounds worked out once per window row rather than per element.
fn unfold_into<F: Element>(g: &Geometry, x: &[F], y: &mut [F]) {
    let (plen, hw) = (g.patch_len(), g.h * g.w);
    let mut rows = y.chunks_exact_mut(plen.max(1));
    for n in 0..g.n {
        for oy in 0..g.oh {
            let y0 = g.y0(oy);
            let (ilo, ihi) = inside(y0, g.dh, g.kh, g.h);
            for ox in 0..g.ow {
                let Some(row) = rows.next() else { return };
                let x0 = g.x0(ox);
                let (jlo, jhi) = inside(x0, g.dw, g.kw, g.w);
                for c in 0..g.c {
                    let plane = &x[(n * g.c + c) * hw..][..hw];
                    let patch = &mut row[c * g.kh * g.kw..][..g.kh * g.kw];
                    for i in 0..g.kh {
                        let out = &mut patch[i * g.kw..][..g.kw];
                        if i < ilo || i >= ihi || jlo == jhi {
                            out.fill(F::zero());
                            continue;
                        }
                        let yy = (y0 + (i * g.dh) as isize) as usize;
                        let src = &plane[yy * g.w..][..g.w];
                        out[..jlo].fill(F::zero());
                        out[jhi..].fill(F::zero());
                        let first = (x0 + (jlo * g.dw) as isize) as usize;
                        if g.dw == 1 {
                            copy_run(&mut out[jlo..jhi], &src[first..first + (jhi - jlo)]);
                        } else {
                            for (k, o) in out[jlo..jhi].iter_mut().enumerate() {
                                *o = src[first + k * g.dw];
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The patch matrix of an NCHW input (the value of
/// [`Var::unfold2d`]) outside the tape, for readers of a convolution's
/// trace.
pub(crate) fn patch_rows<F: Element>(
    x: &[F],
    shape: Shape,
    kernel: (usize, usize),
    window: &Window,
) -> Result<Vec<F>> {
    const OP: &str = "unfold2d";
    let g = Geometry::new(OP, shape, kernel, window)?;
    let len = (g.n * g.positions())
        .checked_mul(g.patch_len())
        .ok_or_else(|| Error::TooLarge {
            op: OP,
            what: format!(
                "{} patches of {} values",
                g.n * g.positions(),
                g.patch_len()
            ),
            reason: "they overflow a usize".into(),
        })?;
    let mut out = crate::dynamics::try_filled(OP, "the patch matrix", len, F::zero())?;
    unfold_into(&g, x, &mut out);
    Ok(out)
}

fn geometry_of(indices: &[usize], off: usize) -> Geometry {
    Geometry::from_indices(&indices[off..off + Geometry::LEN])
}

saved_dims! {
    /// The saved state of `unfold2d`: its geometry at `off` in the tape's
    /// index buffer.
    struct Unfold {
        off,
    }
}

saved_dims! {
    /// The saved state of the pooling ops: the geometry at `off` in the
    /// index buffer and the `mode` (max or average).
    struct Pool {
        off,
        mode,
    }
}

/// Backward of `unfold2d`: every patch entry's gradient adds into the input
/// element it copied (overlapping windows accumulate; padding gets none).
fn unfold2d_backward<F: Element>(ctx: &mut BackwardCtx<'_, F>) {
    let Unfold { off } = ctx.saved();
    let g = geometry_of(ctx.indices(), off);
    let grad = ctx.grad_out();
    let Some(gx) = ctx.grad_input(0) else {
        return;
    };
    let (plen, hw) = (g.patch_len(), g.h * g.w);
    let mut rows = grad.chunks_exact(plen.max(1));
    for n in 0..g.n {
        for oy in 0..g.oh {
            let y0 = g.y0(oy);
            let (ilo, ihi) = inside(y0, g.dh, g.kh, g.h);
            for ox in 0..g.ow {
                let Some(row) = rows.next() else { return };
                let x0 = g.x0(ox);
                let (jlo, jhi) = inside(x0, g.dw, g.kw, g.w);
                if jlo == jhi {
                    continue;
                }
                let first = (x0 + (jlo * g.dw) as isize) as usize;
                for c in 0..g.c {
                    let plane = &mut gx[(n * g.c + c) * hw..][..hw];
                    let patch = &row[c * g.kh * g.kw..][..g.kh * g.kw];
                    for i in ilo..ihi {
                        let yy = (y0 + (i * g.dh) as isize) as usize;
                        let dst = &mut plane[yy * g.w..][..g.w];
                        let src = &patch[i * g.kw + jlo..i * g.kw + jhi];
                        if g.dw == 1 {
                            for (d, &v) in dst[first..first + src.len()].iter_mut().zip(src) {
                                *d += v;
                            }
                        } else {
                            for (k, &v) in src.iter().enumerate() {
                                dst[first + k * g.dw] += v;
                            }
                        }
                    }
                }
            }
        }
    }
}

saved_dims! {
    /// The saved state of `conv2d`: the geometry at `off` in the index
    /// buffer, `o` filters, and the `threads` its working space was sized
    /// for.
    struct Conv {
        off,
        o,
        threads,
    }
}

/// Example `x`'s patch matrix, transposed: `cols[(c·kh + i)·kw + j][oy·OW + ox]`
/// is the input under tap `(i, j)` of channel `c` at output position
/// `(oy, ox)`, zero in the padding. Each row is a strided copy of input
/// rows, with the in-bounds output range of each tap worked out once.
///
/// `plane` is working space of at least [`plane_len`] elements: dense
/// windows (stride 1, no dilation) copy each channel into it with its
/// padding, so that every tap row becomes plain runs of `OW` values with no
/// bounds to work out.
fn unfold_example<F: Element>(g: &Geometry, x: &[F], cols: &mut [F], plane: &mut [F]) {
    // Compiled for the CPU's vector instructions (detected at run time):
    // the runs are short (a window row), so plain loops beat calls to
    // `memcpy` and `memset`.
    struct Unfold<'a, F>(&'a Geometry, &'a [F], &'a mut [F], &'a mut [F]);
    impl<F: Element> pulp::WithSimd for Unfold<'_, F> {
        type Output = ();
        #[inline(always)]
        fn with_simd<S: pulp::Simd>(self, _: S) {
            if dense_taps(self.0) {
                unfold_dense_body(self.0, self.1, self.2, self.3)
            } else {
                unfold_example_body(self.0, self.1, self.2)
            }
        }
    }
    pulp::Arch::new().dispatch(Unfold(g, x, cols, plane));
}

/// Whether every window is dense (stride 1, no dilation) over a non-empty
/// input and output: then a padded copy of a plane holds every tap row as
/// `OH` runs of `OW` consecutive values.
fn dense_taps(g: &Geometry) -> bool {
    (g.sh, g.sw, g.dh, g.dw) == (1, 1, 1, 1) && g.w > 0 && g.ow > 0
}

/// The working space one plane of the input takes with its padding, for
/// the dense path of [`unfold_example`] and [`fold_example`] (none for
/// other windows); `None` when it overflows a usize.
fn plane_len(g: &Geometry) -> Option<usize> {
    if !dense_taps(g) {
        return Some(0);
    }
    let h = g.ph.checked_mul(2)?.checked_add(g.h)?;
    let w = g.pw.checked_mul(2)?.checked_add(g.w)?;
    h.checked_mul(w)
}

/// `dst.copy_from_slice(src)` for runs of a few to a few dozen values:
/// blocks of eight, the last one overlapping the one before, so that a run
/// of 14 is two fixed-size moves rather than a call to `memcpy` or a
/// vector loop with a scalar tail.
#[inline(always)]
fn copy_span<F: Copy>(dst: &mut [F], src: &[F]) {
    const B: usize = 8;
    let n = dst.len();
    let src = &src[..n];
    if n < B {
        copy_run(dst, src);
        return;
    }
    let mut i = 0;
    while i + B <= n {
        dst[i..i + B].copy_from_slice(&src[i..i + B]);
        i += B;
    }
    if i < n {
        dst[n - B..].copy_from_slice(&src[n - B..]);
    }
}

/// `dst += src` for runs of a few to a few dozen values: blocks of eight,
/// then at most one of four, one of two and one single element, each a
/// fixed-size add (a run of 14 is three vector adds, not one and a scalar
/// loop of six).
#[inline(always)]
fn add_span<F: Element>(dst: &mut [F], src: &[F]) {
    #[inline(always)]
    fn block<F: Element, const B: usize>(dst: &mut [F], src: &[F], i: &mut usize) {
        let (d, v) = (&mut dst[*i..*i + B], &src[*i..*i + B]);
        for l in 0..B {
            d[l] += v[l];
        }
        *i += B;
    }
    let n = dst.len();
    let src = &src[..n];
    let mut i = 0;
    while i + 8 <= n {
        block::<F, 8>(dst, src, &mut i);
    }
    if i + 4 <= n {
        block::<F, 4>(dst, src, &mut i);
    }
    if i + 2 <= n {
        block::<F, 2>(dst, src, &mut i);
    }
    if i < n {
        dst[i] += src[i];
    }
}

/// [`unfold_example`] for dense windows: each channel is copied into
/// `plane` with its zero padding, and row `(c, i, j)` of `cols` is then
/// `OH` runs of `OW` values read from rows `i..i + OH` of the padded plane
/// at column `j`.
#[inline(always)]
fn unfold_dense_body<F: Element>(g: &Geometry, x: &[F], cols: &mut [F], plane: &mut [F]) {
    let (p, hw) = (g.positions(), g.h * g.w);
    let pw = g.w + 2 * g.pw;
    let padded = &mut plane[..(g.h + 2 * g.ph) * pw];
    // The padding stays zero: each channel overwrites only the interior.
    padded.fill(F::zero());
    let mut rows = cols.chunks_exact_mut(p.max(1));
    for c in 0..g.c {
        for (y, src) in x[c * hw..][..hw].chunks_exact(g.w).enumerate() {
            padded[(y + g.ph) * pw + g.pw..][..g.w].copy_from_slice(src);
        }
        for i in 0..g.kh {
            for j in 0..g.kw {
                let Some(row) = rows.next() else { return };
                for (oy, out) in row.chunks_exact_mut(g.ow).enumerate() {
                    copy_span(out, &padded[(oy + i) * pw + j..]);
                }
            }
        }
    }
}

#[inline(always)]
fn unfold_example_body<F: Element>(g: &Geometry, x: &[F], cols: &mut [F]) {
    let (p, hw) = (g.positions(), g.h * g.w);
    let mut rows = cols.chunks_exact_mut(p.max(1));
    for c in 0..g.c {
        let plane = &x[c * hw..][..hw];
        for i in 0..g.kh {
            let yoff = (i * g.dh) as isize - g.ph as isize;
            let (ylo, yhi) = inside(yoff, g.sh, g.oh, g.h);
            for j in 0..g.kw {
                let Some(row) = rows.next() else { return };
                let xoff = (j * g.dw) as isize - g.pw as isize;
                let (xlo, xhi) = inside(xoff, g.sw, g.ow, g.w);
                zero_run(&mut row[..ylo * g.ow]);
                zero_run(&mut row[yhi * g.ow..]);
                for oy in ylo..yhi {
                    let yy = ((oy * g.sh) as isize + yoff) as usize;
                    let src = &plane[yy * g.w..][..g.w];
                    let out = &mut row[oy * g.ow..][..g.ow];
                    zero_run(&mut out[..xlo]);
                    zero_run(&mut out[xhi..]);
                    let first = ((xlo * g.sw) as isize + xoff) as usize;
                    if g.sw == 1 {
                        for (v, &s) in out[xlo..xhi].iter_mut().zip(&src[first..]) {
                            *v = s;
                        }
                    } else {
                        for (k, v) in out[xlo..xhi].iter_mut().enumerate() {
                            *v = src[first + k * g.sw];
                        }
                    }
                }
            }
        }
    }
}

/// The adjoint of [`unfold_example`]: every entry of `cols` adds into the
/// input element it was copied from (into `gx` as it is when `accumulate`,
/// into zeros otherwise: `gx`'s contents are then never read).
/// `plane` is working space as for [`unfold_example`].
fn fold_example<F: Element>(
    g: &Geometry,
    cols: &[F],
    (gx, accumulate): (&mut [F], bool),
    plane: &mut [F],
) {
    // As `unfold_example`, on the CPU's vector instructions.
    struct Fold<'a, F>(&'a Geometry, &'a [F], (&'a mut [F], bool), &'a mut [F]);
    impl<F: Element> pulp::WithSimd for Fold<'_, F> {
        type Output = ();
        #[inline(always)]
        fn with_simd<S: pulp::Simd>(self, _: S) {
            let Fold(g, cols, (gx, accumulate), plane) = self;
            if dense_taps(g) {
                fold_dense_body(g, cols, (gx, accumulate), plane)
            } else {
                if !accumulate {
                    gx.fill(F::zero());
                }
                fold_example_body(g, cols, gx)
            }
        }
    }
    pulp::Arch::new().dispatch(Fold(g, cols, (gx, accumulate), plane));
}

/// [`fold_example`] for dense windows: each channel's tap rows add into a
/// zeroed padded plane as plain runs, whose interior then adds into `gx`.
#[inline(always)]
fn fold_dense_body<F: Element>(
    g: &Geometry,
    cols: &[F],
    (gx, accumulate): (&mut [F], bool),
    plane: &mut [F],
) {
    let (p, hw) = (g.positions(), g.h * g.w);
    let pw = g.w + 2 * g.pw;
    let padded = &mut plane[..(g.h + 2 * g.ph) * pw];
    let taps = g.kh * g.kw;
    for (c, rows) in cols.chunks_exact((taps * p).max(1)).take(g.c).enumerate() {
        padded.fill(F::zero());
        // Tap column `j` outermost: tap `(i + 1, j)` then adds its runs at
        // the very addresses tap `(i, j)` wrote one output row earlier,
        // which the CPU forwards from its store queue. In row order, tap
        // `(i, j + 1)` would read one element off the runs `(i, j)` had
        // just stored, and a load that only partly overlaps a store still
        // in flight waits for it to reach the cache: 1.52 → 1.27 ms for a
        // W6 step's 64 folds at one thread.
        for j in 0..g.kw {
            for i in 0..g.kh {
                let row = &rows[(i * g.kw + j) * p..][..p];
                for (oy, src) in row.chunks_exact(g.ow).enumerate() {
                    add_span(&mut padded[(oy + i) * pw + j..][..g.ow], src);
                }
            }
        }
        for (y, dst) in gx[c * hw..][..hw].chunks_exact_mut(g.w).enumerate() {
            let src = &padded[(y + g.ph) * pw + g.pw..][..g.w];
            if accumulate {
                for (d, &v) in dst.iter_mut().zip(src) {
                    *d += v;
                }
            } else {
                dst.copy_from_slice(src);
            }
        }
    }
}

#[inline(always)]
fn fold_example_body<F: Element>(g: &Geometry, cols: &[F], gx: &mut [F]) {
    let (p, hw) = (g.positions(), g.h * g.w);
    let mut rows = cols.chunks_exact(p.max(1));
    for c in 0..g.c {
        let plane = &mut gx[c * hw..][..hw];
        for i in 0..g.kh {
            let yoff = (i * g.dh) as isize - g.ph as isize;
            let (ylo, yhi) = inside(yoff, g.sh, g.oh, g.h);
            for j in 0..g.kw {
                let Some(row) = rows.next() else { return };
                let xoff = (j * g.dw) as isize - g.pw as isize;
                let (xlo, xhi) = inside(xoff, g.sw, g.ow, g.w);
                if xlo == xhi {
                    continue;
                }
                for oy in ylo..yhi {
                    let yy = ((oy * g.sh) as isize + yoff) as usize;
                    let dst = &mut plane[yy * g.w..][..g.w];
                    let src = &row[oy * g.ow + xlo..oy * g.ow + xhi];
                    let first = ((xlo * g.sw) as isize + xoff) as usize;
                    if g.sw == 1 {
                        for (d, &v) in dst[first..first + src.len()].iter_mut().zip(src) {
                            *d += v;
                        }
                    } else {
                        for (k, &v) in src.iter().enumerate() {
                            dst[first + k * g.sw] += v;
                        }
                    }
                }
            }
        }
    }
}

/// The forward of `conv2d`: per example, its patches into the working
/// space and one product with the filters into the NCHW output.
#[allow(clippy::too_many_arguments)]
fn conv_forward<F: Element>(
    g: &Geometry,
    o: usize,
    x: &[F],
    w: &[F],
    b: Option<&[F]>,
    y: &mut [F],
    scratch: &mut Vec<F>,
    threads: usize,
) {
    let (p, k, chw) = (g.positions(), g.patch_len(), g.c * g.h * g.w);
    if let Some(planes) = direct_plan::<F>(g, o).forward {
        // The filters tap-major, shared by the threads; each thread's
        // padded planes, whose border every example leaves zero.
        let per = planes.len().unwrap_or(0);
        let space = scratch_slice(scratch, o * k + threads * per);
        let (wt, space) = space.split_at_mut(o * k);
        kernels::conv::block_rows(w, (o, k), wt);
        let wt = &*wt;
        in_groups(g.n, threads, (y, o * p), (space, per), |range, y, xp| {
            xp.fill(F::zero());
            for (e, y_e) in range.zip(y.chunks_exact_mut((o * p).max(1))) {
                pad_into(
                    &x[e * chw..][..chw],
                    (g.c, g.h, g.w),
                    (xp, planes),
                    (g.ph, g.pw),
                );
                let done =
                    kernels::conv::correlate((xp, planes), (wt, o, (g.kh, g.kw)), b, (y_e, false));
                assert!(done, "conv2d: the direct forward was planned but declined");
            }
        });
        return;
    }
    let per = k * p + plane_len(g).unwrap_or(0);
    let space = scratch_slice(scratch, threads * per);
    in_groups(g.n, threads, (y, o * p), (space, per), |range, y, mine| {
        let (cols, plane) = mine.split_at_mut(k * p);
        for (e, y_e) in range.zip(y.chunks_exact_mut((o * p).max(1))) {
            unfold_example(g, &x[e * chw..][..chw], cols, plane);
            if let Some(b) = b {
                for (row, &bias) in y_e.chunks_exact_mut(p.max(1)).zip(b) {
                    row.fill(bias);
                }
            }
            F::gemm(GemmArgs {
                m: o,
                n: p,
                k,
                a: w,
                a_rs: k,
                a_cs: 1,
                b: cols,
                b_rs: p,
                b_cs: 1,
                c: y_e,
                c_rs: p,
                accumulate: b.is_some(),
                threads: 1,
            });
        }
    });
}

/// Which of `conv2d`'s three products run as direct correlations
/// ([`kernels::conv`]) instead of through the patch matrix, each with the
/// padded planes it reads (`None`: the patch matrix).
#[derive(Clone, Copy, Debug, Default)]
struct Direct {
    forward: Option<kernels::conv::Planes>,
    input: Option<kernels::conv::Planes>,
    weight: Option<kernels::conv::Planes>,
}

/// The most values of padded planes, or of filters, a direct product
/// takes: it reads the planes once per 16 filters and the filters once
/// per four positions, so both must stay in the core's cache (256 KiB of
/// `f32` each). W6's layers take at most 12,800 filter weights and 10,368
/// plane values; larger layers keep the patch matrix and the matrix kernel.
const DIRECT_LIMIT: usize = 1 << 16;

/// The direct products `conv2d` runs for geometry `g` with `o` filters:
/// `f32` on a CPU with AVX2 and FMA, a non-empty batch, input and output,
/// stride 1 and no dilation, filters
/// (for the forward and the weight gradient) or input channels (for the
/// input gradient, a correlation of the padded `δ` with the flipped
/// filters, which needs padding below the kernel) in multiples of 16, and
/// planes and filters within [`DIRECT_LIMIT`].
fn direct_plan<F: Element>(g: &Geometry, o: usize) -> Direct {
    let dense = (g.sh, g.sw, g.dh, g.dw) == (1, 1, 1, 1);
    let empty = [g.n, g.c, g.h, g.w, g.positions()].contains(&0);
    if !dense || empty || !kernels::conv::available::<F>() {
        return Direct::default();
    }
    let small = |n: Option<usize>| n.is_some_and(|n| n <= DIRECT_LIMIT);
    if !small(o.checked_mul(g.patch_len())) {
        return Direct::default();
    }
    let whole = |n: usize| n > 0 && n.is_multiple_of(kernels::conv::FILTERS);
    let inputs = input_planes(g).filter(|pl| whole(o) && small(pl.len()));
    // The weight gradient also holds the output gradient, position-major.
    let with_grads = |pl: &kernels::conv::Planes| {
        small(
            pl.len()
                .and_then(|n| n.checked_add(g.positions().checked_mul(o)?)),
        )
    };
    Direct {
        forward: inputs,
        input: grad_planes(g, o)
            .filter(|pl| whole(g.c) && g.ph < g.kh && g.pw < g.kw && small(pl.len())),
        weight: inputs.filter(with_grads),
    }
}

/// The input's planes with their zero padding, for the direct products.
fn input_planes(g: &Geometry) -> Option<kernels::conv::Planes> {
    Some(kernels::conv::Planes {
        c: g.c,
        h: g.h.checked_add(g.ph.checked_mul(2)?)?,
        w: g.w.checked_add(g.pw.checked_mul(2)?)?,
    })
}

/// The output gradient's planes padded for the input gradient's
/// correlation with the flipped filters: `kh − 1 − ph` rows above and
/// below (and as many columns), which makes its output `h × w`.
fn grad_planes(g: &Geometry, o: usize) -> Option<kernels::conv::Planes> {
    Some(kernels::conv::Planes {
        c: o,
        h: g.h.checked_add(g.kh)?.checked_sub(1)?,
        w: g.w.checked_add(g.kw)?.checked_sub(1)?,
    })
}

/// The working space the direct products of `plan` take on `threads`
/// threads (`None` if it overflows a usize; nothing for a layer that takes
/// none of them).
fn direct_space(g: &Geometry, o: usize, threads: usize, plan: Direct) -> Option<usize> {
    let filters = o.checked_mul(g.patch_len())?;
    let shared_plus = |per: usize| threads.checked_mul(per)?.checked_add(filters);
    let mut space = 0;
    if let Some(planes) = plan.forward {
        space = space.max(shared_plus(planes.len()?)?);
    }
    if let Some(planes) = plan.input {
        space = space.max(shared_plus(planes.len()?)?);
    }
    if let Some(planes) = plan.weight {
        let per = planes
            .len()?
            .checked_add(filters)?
            .checked_add(g.positions().checked_mul(o)?)?;
        space = space.max(threads.checked_mul(per)?);
    }
    Some(space)
}

/// `c` planes of `h × w` from `src` into the interior of `planes` at row
/// `top` and column `left` (the border is left as it is).
fn pad_into<F: Copy>(
    src: &[F],
    (c, h, w): (usize, usize, usize),
    (dst, planes): (&mut [F], kernels::conv::Planes),
    (top, left): (usize, usize),
) {
    for (ch, plane) in src.chunks_exact((h * w).max(1)).take(c).enumerate() {
        for (y, row) in plane.chunks_exact(w.max(1)).enumerate() {
            copy_span(
                &mut dst[(ch * planes.h + y + top) * planes.w + left..][..w],
                row,
            );
        }
    }
}

/// Backward of `conv2d`: `dx` (if the input needs it) folds `Wᵀ·δ_n`
/// back, `dW` sums `δ_n·patchesₙᵀ` over the examples (one partial sum per
/// thread, added in order), `db` sums `δ` over examples and positions.
fn conv2d_backward<F: Element>(ctx: &mut BackwardCtx<'_, F>) {
    let Conv { off, o, threads } = ctx.saved();
    let g = geometry_of(ctx.indices(), off);
    let (p, k, chw) = (g.positions(), g.patch_len(), g.c * g.h * g.w);
    let (x, w, dy) = (ctx.input(0), ctx.input(1), ctx.grad_out());
    // Checked when the op was recorded.
    let plane = plane_len(&g).unwrap_or(0);
    let plan = direct_plan::<F>(&g, o);
    let mut scratch = ctx.scratch();
    // The plan first: taking the slot marks it written. The correlation
    // also multiplies the output gradient's zero padding by the filters,
    // which the definition leaves out: with an infinite weight that would
    // be a NaN where the patch matrix gives ±∞, so non-finite filters take
    // the patch matrix.
    if let Some(planes) = plan.input.filter(|_| kernels::all_finite(w))
        && let Some(Slot {
            data: gx,
            accumulate,
        }) = ctx.grad_slot(0)
    {
        // `dx = Σ_o δ_o ⋆ flip(W_o)`: the output gradient padded by
        // `kh − 1 − ph` (and `kw − 1 − pw`), correlated with the filters
        // turned half round, their in- and out-channels swapped.
        let per = planes.len().unwrap_or(0);
        let space = scratch_slice(&mut scratch, o * k + threads * per);
        let (wt, space) = space.split_at_mut(o * k);
        let (c, kh, kw) = (g.c, g.kh, g.kw);
        for (f, filter) in w.chunks_exact(k.max(1)).take(o).enumerate() {
            for (ch, taps) in filter.chunks_exact((kh * kw).max(1)).enumerate() {
                for (t, &v) in taps.iter().enumerate() {
                    let (i, j) = (kh - 1 - t / kw, kw - 1 - t % kw);
                    wt[kernels::conv::blocked((f * kh + i) * kw + j, ch, o * kh * kw)] = v;
                }
            }
        }
        let wt = &*wt;
        let pad = (kh - 1 - g.ph, kw - 1 - g.pw);
        in_groups(g.n, threads, (gx, chw), (space, per), |range, gx, dp| {
            dp.fill(F::zero());
            for (e, gx_e) in range.zip(gx.chunks_exact_mut(chw.max(1))) {
                pad_into(
                    &dy[e * o * p..][..o * p],
                    (o, g.oh, g.ow),
                    (dp, planes),
                    pad,
                );
                let done = kernels::conv::correlate(
                    (dp, planes),
                    (wt, c, (kh, kw)),
                    None,
                    (gx_e, accumulate),
                );
                assert!(
                    done,
                    "conv2d: the direct input gradient was planned but declined"
                );
            }
        });
    } else if let Some(Slot {
        data: gx,
        accumulate,
    }) = ctx.grad_slot(0)
    {
        let per = k * p + plane;
        let space = scratch_slice(&mut scratch, threads * per);
        in_groups(g.n, threads, (gx, chw), (space, per), |range, gx, mine| {
            let (dcols, plane) = mine.split_at_mut(k * p);
            for (e, gx_e) in range.zip(gx.chunks_exact_mut(chw.max(1))) {
                F::gemm(GemmArgs {
                    m: k,
                    n: p,
                    k: o,
                    a: w,
                    a_rs: 1,
                    a_cs: k,
                    b: &dy[e * o * p..][..o * p],
                    b_rs: p,
                    b_cs: 1,
                    c: dcols,
                    c_rs: p,
                    accumulate: false,
                    threads: 1,
                });
                fold_example(&g, dcols, (gx_e, accumulate), plane);
            }
        });
    }
    if let Some(Slot {
        data: gw,
        accumulate,
    }) = ctx.grad_slot(1)
    {
        // Each group's partial dW after its patches; one group of long
        // patches adds straight into the gradient slot (or overwrites an
        // unwritten one).
        // A short patch (a first layer's one or two channels) takes the
        // product the other way round, dWᵀ = patches·δᵀ, into the partial
        // and then transposed: W6's first layer (16 filters × 25 taps over
        // 784 positions) measured 0.82 → 0.56 ms per batch that way, while
        // its second (32 × 400) is as fast either way.
        let groups = threads.clamp(1, g.n.max(1));
        if let Some(planes) = plan.weight {
            // Per group: its partial `dW` and the output gradient, both
            // blocked (`kernels::conv::blocked`), and the padded input.
            let inputs = planes.len().unwrap_or(0);
            let per = o * k + inputs + p * o;
            let space = scratch_slice(&mut scratch, groups * per);
            in_groups(g.n, groups, (&mut [], 0), (space, per), |range, _, mine| {
                let (part, rest) = mine.split_at_mut(o * k);
                let (xp, dyt) = rest.split_at_mut(inputs);
                xp.fill(F::zero());
                for (i, e) in range.enumerate() {
                    pad_into(
                        &x[e * chw..][..chw],
                        (g.c, g.h, g.w),
                        (xp, planes),
                        (g.ph, g.pw),
                    );
                    kernels::conv::block_rows(&dy[e * o * p..][..o * p], (o, p), dyt);
                    let done = kernels::conv::correlate_weights(
                        (xp, planes),
                        (dyt, o),
                        (g.kh, g.kw),
                        (part, i > 0),
                    );
                    assert!(
                        done,
                        "conv2d: the direct weight gradient was planned but declined"
                    );
                }
            });
            for (i, chunk) in space.chunks_exact(per).enumerate() {
                let part = &chunk[..o * k];
                into_filters(gw, (o, k), i > 0 || accumulate, |t, f| {
                    part[kernels::conv::blocked(t, f, k)]
                });
            }
        } else {
            let transposed = k < SHORT_PATCH;
            let per = k * p + o * k + plane;
            let space = scratch_slice(&mut scratch, groups * per);
            let weight_grad = |range: std::ops::Range<usize>,
                               part: &mut [F],
                               cols: &mut [F],
                               plane: &mut [F],
                               add: bool| {
                for (i, e) in range.enumerate() {
                    unfold_example(&g, &x[e * chw..][..chw], cols, plane);
                    let dy_e = &dy[e * o * p..][..o * p];
                    let accumulate = add || i > 0;
                    F::gemm(if transposed {
                        GemmArgs {
                            m: k,
                            n: o,
                            k: p,
                            a: cols,
                            a_rs: p,
                            a_cs: 1,
                            b: dy_e,
                            b_rs: 1,
                            b_cs: p,
                            c: part,
                            c_rs: o,
                            accumulate,
                            threads: 1,
                        }
                    } else {
                        GemmArgs {
                            m: o,
                            n: k,
                            k: p,
                            a: dy_e,
                            a_rs: p,
                            a_cs: 1,
                            b: cols,
                            b_rs: 1,
                            b_cs: p,
                            c: part,
                            c_rs: k,
                            accumulate,
                            threads: 1,
                        }
                    });
                }
            };
            if groups == 1 && !transposed {
                let (cols, rest) = space.split_at_mut(k * p);
                weight_grad(0..g.n, gw, cols, &mut rest[o * k..], accumulate);
            } else {
                in_groups(g.n, groups, (&mut [], 0), (space, per), |range, _, mine| {
                    let (cols, rest) = mine.split_at_mut(k * p);
                    let (part, plane) = rest.split_at_mut(o * k);
                    weight_grad(range, part, cols, plane, false);
                });
                // The partials in order, into the slot (the first overwrites
                // an unwritten one); a transposed partial is read column-wise.
                for (i, chunk) in space.chunks_exact(per).enumerate() {
                    let part = &chunk[k * p..][..o * k];
                    let add = i > 0 || accumulate;
                    if transposed {
                        into_filters(gw, (o, k), add, |t, f| part[t * o + f]);
                    } else if add {
                        for (d, &v) in gw.iter_mut().zip(part) {
                            *d += v;
                        }
                    } else {
                        gw.copy_from_slice(part);
                    }
                }
            }
        }
    }
    drop(scratch);
    if ctx.node.n_parents == 3
        && let Some(gb) = ctx.grad_input(2)
    {
        // Eight running sums per filter, so that the additions vectorise.
        for (c, d) in gb.iter_mut().enumerate() {
            let mut lanes = [F::zero(); 8];
            for dy_e in dy.chunks_exact((o * p).max(1)) {
                let row = &dy_e[c * p..][..p];
                let chunks = row.chunks_exact(8);
                let rest = chunks.remainder();
                for ch in chunks {
                    for (l, &v) in lanes.iter_mut().zip(ch) {
                        *l += v;
                    }
                }
                for (l, &v) in lanes.iter_mut().zip(rest) {
                    *l += v;
                }
            }
            *d += lanes.iter().fold(F::zero(), |s, &l| s + l);
        }
    }
}

/// `gw[f][t] (+)= part(t, f)`: a partial weight gradient held in another
/// layout (tap-major, or blocked) into the filter-major slot of `o`
/// filters of `k` taps; adding with `add`, overwriting otherwise.
fn into_filters<F: Element>(
    gw: &mut [F],
    (o, k): (usize, usize),
    add: bool,
    part: impl Fn(usize, usize) -> F,
) {
    for (f, row) in gw.chunks_exact_mut(k.max(1)).take(o).enumerate() {
        for (t, d) in row.iter_mut().enumerate() {
            let v = part(t, f);
            *d = if add { *d + v } else { v };
        }
    }
}

/// Patches shorter than this take `conv2d`'s weight gradient as
/// `dWᵀ = patches·δᵀ` (see [`conv2d_backward`]).
const SHORT_PATCH: usize = 64;

/// Inputs from this many elements up share pooling's planes out over the
/// tape's threads (below it, handing work to the pool costs more).
const PARALLEL_POOL: usize = 1 << 15;

/// Which window reduction a pooling node computes.
const POOL_MAX: usize = 0;
const POOL_AVG_WITH_PAD: usize = 1;
const POOL_AVG_WITHOUT_PAD: usize = 2;

/// The first position (in row-major window order) of the window's maximum,
/// a NaN winning (as PyTorch propagates NaN), or `None` for a window that
/// lies wholly in the padding.
#[inline]
fn window_argmax<F: Element>(
    g: &Geometry,
    plane: &[F],
    oy: usize,
    ox: usize,
) -> Option<(usize, F)> {
    let (y0, x0) = (g.y0(oy), g.x0(ox));
    let (ilo, ihi) = inside(y0, g.dh, g.kh, g.h);
    let (jlo, jhi) = inside(x0, g.dw, g.kw, g.w);
    let mut best: Option<(usize, F)> = None;
    for i in ilo..ihi {
        let row = (y0 + (i * g.dh) as isize) as usize * g.w;
        for j in jlo..jhi {
            let at = row + (x0 + (j * g.dw) as isize) as usize;
            let v = plane[at];
            match best {
                Some((_, b)) if b.is_nan() || !(v > b || v.is_nan()) => {}
                _ => best = Some((at, v)),
            }
        }
    }
    best
}

/// Whether every pooling window lies wholly inside the input (no padding,
/// no dilation: the output size keeps the last window inside), so that
/// the pooling loops need no bounds arithmetic.
#[inline]
fn dense_windows(g: &Geometry) -> bool {
    g.ph == 0 && g.pw == 0 && g.dh == 1 && g.dw == 1
}

/// [`window_argmax`] for a window wholly inside the plane, starting at
/// `base`: the same order and the same tie and NaN rules.
#[inline]
fn dense_argmax<F: Element>(plane: &[F], g: &Geometry, base: usize) -> (usize, F) {
    let (mut at, mut best) = (base, plane[base]);
    for i in 0..g.kh {
        let row = base + i * g.w;
        for (j, &v) in plane[row..row + g.kw].iter().enumerate() {
            // Without short-circuits, so that the choice compiles to
            // conditional moves: on data without structure a branch per
            // tap is mispredicted about half the time.
            let take = !best.is_nan() & ((v > best) | v.is_nan());
            at = if take { row + j } else { at };
            best = if take { v } else { best };
        }
    }
    (at, best)
}

/// The tap (row-major number in the window) of the position
/// [`dense_argmax`] finds, from the window's maximum `m` (the forward's
/// output): the first tap equal to it, or the first NaN when it is NaN. Every tap before the first maximum is strictly below it, so the
/// first equal tap is that maximum; a bit mask over the taps (at most 64)
/// finds it without a branch per tap.
#[inline]
fn first_equal<F: Element>(plane: &[F], g: &Geometry, base: usize, m: F) -> usize {
    let nan = m.is_nan();
    let (mut mask, mut t) = (0u64, 0u32);
    for i in 0..g.kh {
        let row = base + i * g.w;
        for &v in &plane[row..row + g.kw] {
            mask |= u64::from((v == m) | (nan & v.is_nan())) << t;
            t += 1;
        }
    }
    // The maximum is one of the taps, so the mask is never empty.
    mask.trailing_zeros() as usize
}

/// [`first_equal`] for a `KH × KW` window known at compile time (the
/// common 2 × 2 and 3 × 3 pools), so that its loops unroll.
#[inline(always)]
fn first_equal_fixed<F: Element, const KH: usize, const KW: usize>(
    plane: &[F],
    w: usize,
    base: usize,
    m: F,
) -> usize {
    let nan = m.is_nan();
    let mut mask = 0u64;
    for i in 0..KH {
        let row = &plane[base + i * w..][..KW];
        for (j, &v) in row.iter().enumerate() {
            mask |= u64::from((v == m) | (nan & v.is_nan())) << (i * KW + j);
        }
    }
    mask.trailing_zeros() as usize
}

/// The sum of a window wholly inside the plane, starting at `base`.
#[inline]
fn dense_sum<F: Element>(plane: &[F], g: &Geometry, base: usize) -> F {
    let mut s = F::zero();
    for i in 0..g.kh {
        let row = base + i * g.w;
        for &v in &plane[row..row + g.kw] {
            s += v;
        }
    }
    s
}

/// The number of taps of window `(oy, ox)` that are inside the input.
#[inline]
fn inside_taps(g: &Geometry, oy: usize, ox: usize) -> usize {
    let (ilo, ihi) = inside(g.y0(oy), g.dh, g.kh, g.h);
    let (jlo, jhi) = inside(g.x0(ox), g.dw, g.kw, g.w);
    (ihi - ilo) * (jhi - jlo)
}

fn pool_divisor(g: &Geometry, mode: usize, oy: usize, ox: usize) -> usize {
    if mode == POOL_AVG_WITH_PAD {
        // PyTorch's count_include_pad: the window clipped to the padded
        // input (not beyond it).
        let y0 = oy * g.sh;
        let x0 = ox * g.sw;
        let y1 = (y0 + g.kh).min(g.h + 2 * g.ph);
        let x1 = (x0 + g.kw).min(g.w + 2 * g.pw);
        (y1 - y0) * (x1 - x0)
    } else {
        inside_taps(g, oy, ox)
    }
}

/// Whether a pooling is the common 2 × 2 max-pool of stride 2 with every
/// window inside the plane, which has its own loops.
#[inline]
fn max_pool_2x2(g: &Geometry, mode: usize) -> bool {
    mode == POOL_MAX && dense_windows(g) && (g.kh, g.kw, g.sh, g.sw) == (2, 2, 2, 2)
}

/// The larger of `x` and then `y` by [`dense_argmax`]'s rule: `y` only
/// when it is strictly larger, or a NaN after a number (the first NaN
/// wins, a tie keeps `x`).
#[inline(always)]
fn first_max<F: Element>(x: F, y: F) -> F {
    if (y > x) | (y.is_nan() & !x.is_nan()) {
        y
    } else {
        x
    }
}

/// The 2 × 2, stride-2 max-pool of a `w`-wide plane into `yp` (`oh × ow`):
/// the same values as [`dense_argmax`] (the first maximum in row-major
/// order, or the first NaN), from two input rows at a time, compiled for
/// the CPU's vector instructions (detected at run time).
fn max_pool_2x2_plane<F: Element>(plane: &[F], w: usize, (oh, ow): (usize, usize), yp: &mut [F]) {
    struct Pool<'a, F>(&'a [F], usize, (usize, usize), &'a mut [F]);
    impl<F: Element> pulp::WithSimd for Pool<'_, F> {
        type Output = ();
        #[inline(always)]
        fn with_simd<S: pulp::Simd>(self, _: S) {
            let Pool(plane, w, (oh, ow), yp) = self;
            for (oy, out) in yp.chunks_exact_mut(ow.max(1)).take(oh).enumerate() {
                let r0 = &plane[2 * oy * w..][..2 * ow];
                let r1 = &plane[(2 * oy + 1) * w..][..2 * ow];
                for ((o, a), b) in out
                    .iter_mut()
                    .zip(r0.chunks_exact(2))
                    .zip(r1.chunks_exact(2))
                {
                    *o = first_max(first_max(a[0], a[1]), first_max(b[0], b[1]));
                }
            }
        }
    }
    pulp::Arch::new().dispatch(Pool(plane, w, (oh, ow), yp));
}

/// The backward of [`max_pool_2x2_plane`] into a `w`-wide gradient plane:
/// each window's gradient `go` goes to its first tap equal to the saved
/// maximum `m` (or the first NaN when `m` is NaN), as [`first_equal`]
/// chooses it, branch-free. With `accumulate` the taps are added into;
/// without it every element of `gplane` is written (the three taps that
/// are not the maximum, and the row or column a stride-2 window leaves
/// over at an odd size, get zero), so the plane needs no fill first.
/// `f32` on a CPU with AVX2 routes the windows in
/// [`kernels::pool::max_pool_2x2_plane_backward`], eight at a time (W6's
/// two pools: 2.0 → 1.3–1.5 ms of a step at one thread).
fn max_pool_2x2_plane_backward<F: Element>(
    (plane, w): (&[F], usize),
    (yout, gout): (&[F], &[F]),
    (oh, ow): (usize, usize),
    (gplane, accumulate): (&mut [F], bool),
) {
    struct Back<'a, F>(
        (&'a [F], usize),
        (&'a [F], &'a [F]),
        (usize, usize),
        (&'a mut [F], bool),
    );
    /// One row pair of windows: `go` (or zero) at the chosen tap of each.
    #[inline(always)]
    fn rows<F: Element, const ADD: bool>(
        (r0, r1): (&[F], &[F]),
        (m, go): (&[F], &[F]),
        (g0, g1): (&mut [F], &mut [F]),
    ) {
        let ow = m.len();
        let (r0, r1) = (&r0[..2 * ow], &r1[..2 * ow]);
        let (g0, g1) = (&mut g0[..2 * ow], &mut g1[..2 * ow]);
        let go = &go[..ow];
        for x in 0..ow {
            let (m, go) = (m[x], go[x]);
            let t = [r0[2 * x], r0[2 * x + 1], r1[2 * x], r1[2 * x + 1]];
            // The first tap that hits as a bit index, the last tap when
            // none of the first three does (the saved maximum is one of
            // the four): no branch, which a random winner would mispredict.
            let nan = m.is_nan();
            let hit = |v: F| u32::from((v == m) | (nan & v.is_nan()));
            let at = (hit(t[0]) | hit(t[1]) << 1 | hit(t[2]) << 2 | 8).trailing_zeros();
            // The bits of a zeroed plane then `+=`, as the general path
            // writes them: overwriting, `+0` at the losing taps and `0 + go`
            // at the winner; adding, `-0` at the losing taps (`d + -0` is
            // `d` for every `d`, a negative zero included).
            let v = if ADD {
                [-F::zero(), go]
            } else {
                [F::zero(), F::zero() + go]
            };
            let (c0, c1, c2, c3) = (
                usize::from(at == 0),
                usize::from(at == 1),
                usize::from(at == 2),
                usize::from(at == 3),
            );
            if ADD {
                g0[2 * x] += v[c0];
                g0[2 * x + 1] += v[c1];
                g1[2 * x] += v[c2];
                g1[2 * x + 1] += v[c3];
            } else {
                g0[2 * x] = v[c0];
                g0[2 * x + 1] = v[c1];
                g1[2 * x] = v[c2];
                g1[2 * x + 1] = v[c3];
            }
        }
    }
    impl<F: Element> pulp::WithSimd for Back<'_, F> {
        type Output = ();
        #[inline(always)]
        fn with_simd<S: pulp::Simd>(self, _: S) {
            let Back((plane, w), (yout, gout), (oh, ow), (gplane, accumulate)) = self;
            let vectorised = kernels::pool::max_pool_2x2_plane_backward(
                (plane, w),
                (yout, gout),
                (oh, ow),
                (&mut *gplane, accumulate),
            );
            for oy in 0..oh {
                let r0 = &plane[2 * oy * w..][..w];
                let r1 = &plane[(2 * oy + 1) * w..][..w];
                let (top, bottom) = gplane[2 * oy * w..].split_at_mut(w);
                let (g0, g1) = (top, &mut bottom[..w]);
                let (m, go) = (&yout[oy * ow..][..ow], &gout[oy * ow..][..ow]);
                if !vectorised {
                    if accumulate {
                        rows::<F, true>((r0, r1), (m, go), (&mut *g0, &mut *g1));
                    } else {
                        rows::<F, false>((r0, r1), (m, go), (&mut *g0, &mut *g1));
                    }
                }
                if !accumulate {
                    // An odd width leaves a column no window covers.
                    g0[2 * ow..].fill(F::zero());
                    g1[2 * ow..].fill(F::zero());
                }
            }
            if !accumulate {
                // And an odd height a row.
                gplane[2 * oh * w..].fill(F::zero());
            }
        }
    }
    pulp::Arch::new().dispatch(Back(
        (plane, w),
        (yout, gout),
        (oh, ow),
        (gplane, accumulate),
    ));
}

/// Backward of the pooling ops: a max window routes its gradient to the
/// first maximal element; an average window spreads it evenly over the
/// elements it averaged.
fn pool2d_backward<F: Element>(ctx: &mut BackwardCtx<'_, F>) {
    let Pool { off, mode } = ctx.saved();
    let g = geometry_of(ctx.indices(), off);
    let (x, grad, y) = (ctx.input(0), ctx.grad_out(), ctx.output());
    let threads = if x.len() >= PARALLEL_POOL {
        ctx.threads()
    } else {
        1
    };
    let Some(Slot {
        data: gx,
        accumulate,
    }) = ctx.grad_slot(0)
    else {
        return;
    };
    let hw = g.h * g.w;
    let dense = dense_windows(&g);
    let masked = g.kh * g.kw <= 64;
    // Tap t's offset from the window's first element, for `first_equal`.
    let mut offsets = [0usize; 64];
    if masked {
        for (t, o) in offsets.iter_mut().take(g.kh * g.kw).enumerate() {
            *o = (t / g.kw.max(1)) * g.w + t % g.kw.max(1);
        }
    }
    let taps = F::from_f64((g.kh * g.kw).max(1) as f64);
    // Planes are independent: large inputs share them out over the threads.
    in_groups(
        g.n * g.c,
        threads,
        (gx, hw),
        (&mut [], 0),
        |planes, gx, _| {
            for (plane_index, gplane) in planes.zip(gx.chunks_exact_mut(hw.max(1))) {
                let plane = &x[plane_index * hw..][..hw];
                let gout = &grad[plane_index * g.positions()..][..g.positions()];
                let yout = &y[plane_index * g.positions()..][..g.positions()];
                if max_pool_2x2(&g, mode) {
                    max_pool_2x2_plane_backward(
                        (plane, g.w),
                        (yout, gout),
                        (g.oh, g.ow),
                        (gplane, accumulate),
                    );
                    continue;
                }
                if !accumulate {
                    // Zeroed plane by plane, just before the adds.
                    gplane.fill(F::zero());
                }
                if dense {
                    for oy in 0..g.oh {
                        for ox in 0..g.ow {
                            let go = gout[oy * g.ow + ox];
                            let base = oy * g.sh * g.w + ox * g.sw;
                            if mode == POOL_MAX {
                                let m = yout[oy * g.ow + ox];
                                let at = if masked {
                                    base + offsets[match (g.kh, g.kw) {
                                        (2, 2) => first_equal_fixed::<F, 2, 2>(plane, g.w, base, m),
                                        (3, 3) => first_equal_fixed::<F, 3, 3>(plane, g.w, base, m),
                                        _ => first_equal(plane, &g, base, m),
                                    }]
                                } else {
                                    dense_argmax(plane, &g, base).0
                                };
                                gplane[at] += go;
                            } else {
                                let share = go / taps;
                                for i in 0..g.kh {
                                    let row = base + i * g.w;
                                    for v in &mut gplane[row..row + g.kw] {
                                        *v += share;
                                    }
                                }
                            }
                        }
                    }
                    continue;
                }
                for oy in 0..g.oh {
                    for ox in 0..g.ow {
                        let go = gout[oy * g.ow + ox];
                        if mode == POOL_MAX {
                            if let Some((at, _)) = window_argmax(&g, plane, oy, ox) {
                                gplane[at] += go;
                            }
                        } else {
                            let share =
                                go / F::from_f64(pool_divisor(&g, mode, oy, ox).max(1) as f64);
                            let (y0, x0) = (g.y0(oy), g.x0(ox));
                            let (ilo, ihi) = inside(y0, 1, g.kh, g.h);
                            let (jlo, jhi) = inside(x0, 1, g.kw, g.w);
                            for i in ilo..ihi {
                                let row = (y0 + i as isize) as usize * g.w;
                                let (a, b) =
                                    ((x0 + jlo as isize) as usize, (x0 + jhi as isize) as usize);
                                for v in &mut gplane[row + a..row + b] {
                                    *v += share;
                                }
                            }
                        }
                    }
                }
            }
        },
    );
}

impl<'t, F: Element> Var<'t, F> {
    /// The patch matrix of a 2-D convolution (im2col): for an NCHW input
    /// `(N, C, H, W)` and a kernel `(kh, kw)`, a `(N·OH·OW, C·kh·kw)`
    /// matrix whose row `(n·OH + oy)·OW + ox` is the window at output
    /// position `(oy, ox)` of example `n`, laid out channel-major
    /// (`(c·kh + i)·kw + j`, the order of a PyTorch `OIHW` filter), with
    /// zeros where the window overlaps the padding. VJP: each entry's
    /// gradient adds into the input element it copied.
    ///
    /// ```
    /// use gradsign::{ops::conv::Window, Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// // One 3 × 3 image 1..9; 2 × 2 windows, stride 1: four patches.
    /// let x = tape.var(&Tensor::from_vec((1..=9).map(f64::from).collect(), &[1, 1, 3, 3])?);
    /// let p = x.unfold2d((2, 2), &Window::default())?;
    /// assert_eq!(p.value().dims(), &[4, 4]);
    /// assert_eq!(&p.value().as_slice()[..4], &[1.0, 2.0, 4.0, 5.0]);
    /// // The centre pixel is in every window.
    /// let g = p.sum().backward()?;
    /// assert_eq!(g.get(x)?[4], 4.0);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::RankMismatch`] unless the input has rank 4; as
    /// [`Window::output_size`] for a window that does not fit.
    pub fn unfold2d(self, kernel: (usize, usize), window: &Window) -> Result<Var<'t, F>> {
        let g = Geometry::new("unfold2d", self.shape(), kernel, window)?;
        let out =
            Shape::new(&[g.n * g.positions(), g.patch_len()]).map_err(|_| Error::TooLarge {
                op: "unfold2d",
                what: format!(
                    "{} patches of {} values",
                    g.n * g.positions(),
                    g.patch_len()
                ),
                reason: "they overflow a usize".into(),
            })?;
        let off = self.tape().push_indices(&g.to_indices());
        self.tape().record(
            "unfold2d",
            &[self],
            out,
            Unfold { off },
            unfold2d_backward,
            |y, inp| unfold_into(&g, inp.value(0), y),
        )
    }

    /// A 2-D convolution (cross-correlation, as in PyTorch) of an NCHW
    /// input `(N, C, H, W)` with filters `weight` `(O, C, kh, kw)` and an
    /// optional `bias` `(O)`: output `(N, O, OH, OW)`,
    /// `y[n,o,oy,ox] = b[o] + Σ_{c,i,j} w[o,c,i,j]·x[n, c, oy·s + i·d − p, ox·s + j·d − p]`.
    ///
    /// One op on the tape. Each example's patch matrix (`C·kh·kw` ×
    /// `OH·OW`, the transpose of its rows of [`unfold2d`](Self::unfold2d))
    /// is built in the tape's working space, multiplied by the filters
    /// flattened to `(O, C·kh·kw)` straight into the NCHW output, and
    /// rebuilt in the backward sweep for `dW = Σ_n δ_n·patchesₙᵀ`; so the
    /// tape keeps no patch matrix, and the working space (one example's
    /// patches per thread) stays in cache. With more than one thread
    /// ([`Tape::set_threads`](crate::Tape::set_threads)) the examples are
    /// shared out. VJP: `dx` folds `Wᵀ·δ_n` back onto the input positions
    /// each patch entry copied; `db[o] = Σ δ[·,o,·,·]`.
    ///
    /// ```
    /// use gradsign::{ops::conv::Window, Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(&Tensor::from_vec((1..=9).map(f64::from).collect(), &[1, 1, 3, 3])?);
    /// // One 2 × 2 filter that sums its window, bias 0.5.
    /// let w = tape.var(&Tensor::full(&[1, 1, 2, 2], 1.0)?);
    /// let b = tape.var(&Tensor::from_vec(vec![0.5], &[1])?);
    /// let y = x.conv2d(w, Some(b), &Window::default())?;
    /// assert_eq!(y.value().dims(), &[1, 1, 2, 2]);
    /// assert_eq!(y.value().as_slice(), &[12.5, 16.5, 24.5, 28.5]);
    /// let g = y.sum().backward()?;
    /// assert_eq!(g.get(w)?, &[12.0, 16.0, 24.0, 28.0]); // Σ over positions of each tap
    /// assert_eq!(g.get(x)?[4], 4.0); // the centre pixel is in every window
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::RankMismatch`] unless input and weight have rank 4;
    /// [`Error::ShapeMismatch`] if the weight's channels differ from the
    /// input's or the bias is not `(O)`; as [`Window::output_size`];
    /// [`Error::TooLarge`] if the output or the working space cannot be
    /// allocated.
    pub fn conv2d(
        self,
        weight: Var<'t, F>,
        bias: Option<Var<'t, F>>,
        window: &Window,
    ) -> Result<Var<'t, F>> {
        const OP: &str = "conv2d";
        let (xs, ws) = (self.shape(), weight.shape());
        let &[o, wc, kh, kw] = ws.dims() else {
            return Err(Error::RankMismatch {
                op: OP,
                expected: "4 (out channels, in channels, kernel height, kernel width)",
                shape: ws,
            });
        };
        let g = Geometry::new(OP, xs, (kh, kw), window)?;
        if wc != g.c {
            return Err(Error::ShapeMismatch {
                op: OP,
                lhs: xs,
                rhs: ws,
                reason: "the weight's in-channels (axis 1) must equal the input's channels (axis 1)",
            });
        }
        if let Some(b) = bias
            && b.shape().dims() != [o]
        {
            return Err(Error::ShapeMismatch {
                op: OP,
                lhs: ws,
                rhs: b.shape(),
                reason: "the bias needs one value per out-channel (axis 0 of the weight)",
            });
        }
        let out = Shape::new(&[g.n, o, g.oh, g.ow])?;
        let tape = self.tape();
        let threads = tape.threads().min(g.n.max(1));
        // The working space of the forward and of the backward, sized now
        // so that the backward sweep (which cannot fail) never grows it.
        let (patch, filters) = (g.patch_len(), o * g.patch_len());
        let per_thread = patch
            .checked_mul(g.positions())
            .and_then(|p| p.checked_add(filters))
            .and_then(|p| p.checked_add(plane_len(&g)?))
            .and_then(|p| p.checked_mul(threads));
        let direct = direct_space(&g, o, threads, direct_plan::<F>(&g, o));
        let Some(space) = per_thread.zip(direct).map(|(a, b)| a.max(b)) else {
            return Err(Error::TooLarge {
                op: OP,
                what: format!(
                    "{threads} × ({patch} × {} patch entries + {filters} filter weights \
                     + a padded plane of {}×{})",
                    g.positions(),
                    g.h.saturating_add(g.ph.saturating_mul(2)),
                    g.w.saturating_add(g.pw.saturating_mul(2))
                ),
                reason: "the working space overflows a usize".into(),
            });
        };
        reserve_scratch(&mut tape.scratch.borrow_mut(), OP, space)?;
        let off = tape.push_indices(&g.to_indices());
        let saved = Conv { off, o, threads };
        let inputs = [self, weight, bias.unwrap_or(weight)];
        let with_bias = bias.is_some();
        tape.record_overwriting(
            OP,
            &inputs[..2 + usize::from(with_bias)],
            out,
            saved,
            conv2d_backward,
            |y, inp| {
                let b = with_bias.then(|| inp.value(2));
                let mut scratch = inp.scratch();
                conv_forward(
                    &g,
                    o,
                    inp.value(0),
                    inp.value(1),
                    b,
                    y,
                    &mut scratch,
                    threads,
                );
            },
        )
    }

    /// Max pooling over `kernel` windows of each channel of an NCHW input.
    /// Padding counts as `−∞` (never the maximum); a NaN in a window is its
    /// maximum. VJP: each window's gradient goes to its *first* maximal
    /// element in row-major order (ties are not split; PyTorch also routes
    /// the gradient to a single element).
    ///
    /// ```
    /// use gradsign::{ops::conv::Window, Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(&Tensor::from_vec(vec![1.0, 5.0, 3.0, 5.0], &[1, 1, 2, 2])?);
    /// let y = x.max_pool2d((2, 2), &Window::default().stride(2))?;
    /// assert_eq!(y.value().as_slice(), &[5.0]);
    /// assert_eq!(y.sum().backward()?.get(x)?, &[0.0, 1.0, 0.0, 0.0]); // the first 5
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::RankMismatch`] unless the input has rank 4; as
    /// [`Window::output_size`]; [`Error::OutOfDomain`] if the padding
    /// exceeds half the kernel (a window could then lie wholly in the
    /// padding; PyTorch refuses it too).
    pub fn max_pool2d(self, kernel: (usize, usize), window: &Window) -> Result<Var<'t, F>> {
        self.pool2d("max_pool2d", kernel, window, POOL_MAX)
    }

    /// Average pooling over `kernel` windows of each channel of an NCHW
    /// input. With `count_include_pad` (PyTorch's default) a window's sum
    /// is divided by its size clipped to the padded input; without it, by
    /// the number of input elements it covers. Dilation must be 1.
    ///
    /// ```
    /// use gradsign::{ops::conv::Window, Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(&Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[1, 1, 2, 2])?);
    /// let y = x.avg_pool2d((2, 2), &Window::default(), true)?;
    /// assert_eq!(y.value().as_slice(), &[2.5]);
    /// assert_eq!(y.sum().backward()?.get(x)?, &[0.25; 4]);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`max_pool2d`](Self::max_pool2d), and [`Error::OutOfDomain`]
    /// for a dilation other than 1.
    pub fn avg_pool2d(
        self,
        kernel: (usize, usize),
        window: &Window,
        count_include_pad: bool,
    ) -> Result<Var<'t, F>> {
        if window.dilation != (1, 1) {
            return Err(Error::out_of_domain(
                "avg_pool2d",
                "the dilation",
                "(1, 1) (average pooling has no dilation)",
                format_args!("{:?}", window.dilation),
            ));
        }
        let mode = if count_include_pad {
            POOL_AVG_WITH_PAD
        } else {
            POOL_AVG_WITHOUT_PAD
        };
        self.pool2d("avg_pool2d", kernel, window, mode)
    }

    fn pool2d(
        self,
        op: &'static str,
        kernel: (usize, usize),
        window: &Window,
        mode: usize,
    ) -> Result<Var<'t, F>> {
        let g = Geometry::new(op, self.shape(), kernel, window)?;
        if 2 * window.padding.0 > kernel.0 || 2 * window.padding.1 > kernel.1 {
            return Err(Error::out_of_domain(
                op,
                "the padding",
                format!("at most half the kernel {kernel:?}"),
                format_args!("{:?}", window.padding),
            ));
        }
        let out = Shape::new(&[g.n, g.c, g.oh, g.ow])?;
        let off = self.tape().push_indices(&g.to_indices());
        self.tape().record_overwriting(
            op,
            &[self],
            out,
            Pool { off, mode },
            pool2d_backward,
            |y, inp| {
                let x = inp.value(0);
                let hw = g.h * g.w;
                let dense = dense_windows(&g);
                let taps = F::from_f64((g.kh * g.kw).max(1) as f64);
                let threads = if x.len() >= PARALLEL_POOL { inp.threads() } else { 1 };
                let per = g.positions();
                in_groups(g.n * g.c, threads, (y, per), (&mut [], 0), |planes, y, _| {
                for (p, yp) in planes.zip(y.chunks_exact_mut(per.max(1))) {
                    let plane = &x[p * hw..][..hw];
                    if max_pool_2x2(&g, mode) {
                        max_pool_2x2_plane(plane, g.w, (g.oh, g.ow), yp);
                        continue;
                    }
                    if dense {
                        for oy in 0..g.oh {
                            for ox in 0..g.ow {
                                let base = oy * g.sh * g.w + ox * g.sw;
                                yp[oy * g.ow + ox] = if mode == POOL_MAX {
                                    dense_argmax(plane, &g, base).1
                                } else {
                                    dense_sum(plane, &g, base) / taps
                                };
                            }
                        }
                        continue;
                    }
                    for oy in 0..g.oh {
                        for ox in 0..g.ow {
                            yp[oy * g.ow + ox] = if mode == POOL_MAX {
                                window_argmax(&g, plane, oy, ox).map_or(F::zero(), |(_, v)| v)
                            } else {
                                let mut s = F::zero();
                                let (y0, x0) = (g.y0(oy), g.x0(ox));
                                let (ilo, ihi) = inside(y0, 1, g.kh, g.h);
                                let (jlo, jhi) = inside(x0, 1, g.kw, g.w);
                                for i in ilo..ihi {
                                    let row = (y0 + i as isize) as usize * g.w;
                                    let a = (x0 + jlo as isize) as usize;
                                    let b = (x0 + jhi as isize) as usize;
                                    for &v in &plane[row + a..row + b] {
                                        s += v;
                                    }
                                }
                                s / F::from_f64(pool_divisor(&g, mode, oy, ox).max(1) as f64)
                            };
                        }
                    }
                }
                });
            },
        )
    }

    /// Every axis after the first flattened into one: `(N, …)` becomes
    /// `(N, product of the rest)`, the input of a dense layer after
    /// convolutions.
    ///
    /// ```
    /// use gradsign::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(&Tensor::zeros(&[2, 3, 4, 5])?);
    /// assert_eq!(x.flatten()?.value().dims(), &[2, 60]);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::RankMismatch`] for a scalar.
    pub fn flatten(self) -> Result<Var<'t, F>> {
        let s = self.shape();
        let Some((&n, rest)) = s.dims().split_first() else {
            return Err(Error::RankMismatch {
                op: "flatten",
                expected: "at least 1",
                shape: s,
            });
        };
        self.reshape(&[n, rest.iter().product()])
    }
}

#[cfg(test)]
mod tests {
    use super::add_span;

    #[test]
    fn add_span_adds_each_element_once_at_every_length() {
        // Every combination of the blocks of 8, 4, 2 and 1, at offsets that
        // are not a multiple of a vector.
        for n in 0..=41 {
            for off in 0..3 {
                let src: Vec<f32> = (0..n + off).map(|i| 0.5 + i as f32).collect();
                let mut dst: Vec<f32> = (0..n + off).map(|i| 1000.0 * i as f32).collect();
                let mut want = dst.clone();
                for (d, &v) in want[off..].iter_mut().zip(&src[off..]) {
                    *d += v;
                }
                add_span(&mut dst[off..], &src[off..]);
                assert_eq!(dst, want, "length {n} at offset {off}");
            }
        }
    }
}
