//! Convolution and pooling over NCHW batches: `unfold2d` (im2col), `conv2d`,
//! `max_pool2d`, `avg_pool2d` and `flatten`.
//!
//! A convolution is recorded as three ops the tape already differentiates:
//! the patch matrix `P = unfold2d(x)` (one row per output position, one
//! column per weight of a filter), the dense product `Z = P·Wᵀ + b` with the
//! filters flattened to `(O, C·kh·kw)`, and a transpose back to NCHW. So the
//! weight gradient is `dW = Σ_positions δ_p ⊗ patch_p`, computed by the same
//! matrix kernel as a dense layer's, and the patch rows are what the sign
//! analysis of a convolutional layer reads (a filter's gradient on one
//! position is `δ_p·patch_p`: one-signed when the patch is).
//!
//! The geometry of each op is stored in the tape's index buffer (fourteen
//! integers), so recording allocates nothing once the tape is warm. Pooling
//! backward recomputes each window's maximum from the saved input rather
//! than storing arg-max indices.

use crate::autodiff::{BackwardCtx, Var, saved_dims};
use crate::element::Element;
use crate::error::{Error, Result};
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
                            out[jlo..jhi].copy_from_slice(&src[first..first + (jhi - jlo)]);
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

saved_dims! {
    /// The saved state of the rows-to-NCHW transpose of `conv2d`: `n`
    /// examples of `p` positions and `o` channels.
    struct RowsToNchw {
        n,
        p,
        o,
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

/// Backward of the rows-to-NCHW transpose of `conv2d`.
fn rows_to_nchw_backward<F: Element>(ctx: &mut BackwardCtx<'_, F>) {
    let RowsToNchw { n, p, o } = ctx.saved();
    let g = ctx.grad_out();
    let Some(grows) = ctx.grad_input(0) else {
        return;
    };
    for e in 0..n {
        let (src, dst) = (&g[e * o * p..][..o * p], &mut grows[e * p * o..][..p * o]);
        for (pos, row) in dst.chunks_exact_mut(o.max(1)).enumerate() {
            for (c, r) in row.iter_mut().enumerate() {
                *r += src[c * p + pos];
            }
        }
    }
}

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

/// Backward of the pooling ops: a max window routes its gradient to the
/// first maximal element; an average window spreads it evenly over the
/// elements it averaged.
fn pool2d_backward<F: Element>(ctx: &mut BackwardCtx<'_, F>) {
    let Pool { off, mode } = ctx.saved();
    let g = geometry_of(ctx.indices(), off);
    let (x, grad) = (ctx.input(0), ctx.grad_out());
    let Some(gx) = ctx.grad_input(0) else {
        return;
    };
    let hw = g.h * g.w;
    for plane_index in 0..g.n * g.c {
        let plane = &x[plane_index * hw..][..hw];
        let gplane = &mut gx[plane_index * hw..][..hw];
        let gout = &grad[plane_index * g.positions()..][..g.positions()];
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                let go = gout[oy * g.ow + ox];
                if mode == POOL_MAX {
                    if let Some((at, _)) = window_argmax(&g, plane, oy, ox) {
                        gplane[at] += go;
                    }
                } else {
                    let share = go / F::from_f64(pool_divisor(&g, mode, oy, ox).max(1) as f64);
                    let (y0, x0) = (g.y0(oy), g.x0(ox));
                    let (ilo, ihi) = inside(y0, 1, g.kh, g.h);
                    let (jlo, jhi) = inside(x0, 1, g.kw, g.w);
                    for i in ilo..ihi {
                        let row = (y0 + i as isize) as usize * g.w;
                        let (a, b) = ((x0 + jlo as isize) as usize, (x0 + jhi as isize) as usize);
                        for v in &mut gplane[row + a..row + b] {
                            *v += share;
                        }
                    }
                }
            }
        }
    }
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
    /// Recorded as [`unfold2d`](Self::unfold2d), a dense product with the
    /// filters flattened to `(O, C·kh·kw)`, and one transpose to NCHW; use
    /// [`conv2d_parts`](Self::conv2d_parts) to also get the patch matrix
    /// and the pre-transpose output (what a sign analysis reads).
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
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::RankMismatch`] unless input and weight have rank 4;
    /// [`Error::ShapeMismatch`] if the weight's channels differ from the
    /// input's or the bias is not `(O)`; as [`Window::output_size`].
    pub fn conv2d(
        self,
        weight: Var<'t, F>,
        bias: Option<Var<'t, F>>,
        window: &Window,
    ) -> Result<Var<'t, F>> {
        Ok(self.conv2d_parts(weight, bias, window)?.output)
    }

    /// [`conv2d`](Self::conv2d), returning its intermediate variables too.
    ///
    /// # Errors
    /// As [`conv2d`](Self::conv2d).
    pub fn conv2d_parts(
        self,
        weight: Var<'t, F>,
        bias: Option<Var<'t, F>>,
        window: &Window,
    ) -> Result<ConvParts<'t, F>> {
        const OP: &str = "conv2d";
        let (xs, ws) = (self.shape(), weight.shape());
        let &[n, c, _, _] = xs.dims() else {
            return Err(Error::RankMismatch {
                op: OP,
                expected: "4 (batch, channels, height, width)",
                shape: xs,
            });
        };
        let &[o, wc, kh, kw] = ws.dims() else {
            return Err(Error::RankMismatch {
                op: OP,
                expected: "4 (out channels, in channels, kernel height, kernel width)",
                shape: ws,
            });
        };
        if wc != c {
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
        let (oh, ow) = window.output_size(OP, (xs.dims()[2], xs.dims()[3]), (kh, kw))?;
        let patches = self.unfold2d((kh, kw), window)?;
        let filters = weight.reshape(&[o, c * kh * kw])?;
        let rows = patches.linear(filters, bias)?;
        let output = rows.rows_to_nchw(n, o, (oh, ow))?;
        Ok(ConvParts {
            patches,
            filters,
            rows,
            output,
        })
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
        self.tape().record(
            op,
            &[self],
            out,
            Pool { off, mode },
            pool2d_backward,
            |y, inp| {
                let x = inp.value(0);
                let hw = g.h * g.w;
                for p in 0..g.n * g.c {
                    let plane = &x[p * hw..][..hw];
                    let yp = &mut y[p * g.positions()..][..g.positions()];
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
            },
        )
    }

    /// `(N·P, O)` rows, one per example and position, as the NCHW tensor
    /// `(N, O, OH, OW)` (`P = OH·OW`): one pass, where a reshape, a
    /// transpose and a reshape would copy three times.
    fn rows_to_nchw(self, n: usize, o: usize, (oh, ow): (usize, usize)) -> Result<Var<'t, F>> {
        let p = oh * ow;
        let out = Shape::new(&[n, o, oh, ow])?;
        self.tape().record(
            "conv2d",
            &[self],
            out,
            RowsToNchw { n, p, o },
            rows_to_nchw_backward,
            |y, inp| {
                let rows = inp.value(0);
                for e in 0..n {
                    let (src, dst) = (&rows[e * p * o..][..p * o], &mut y[e * o * p..][..o * p]);
                    for (pos, row) in src.chunks_exact(o.max(1)).enumerate() {
                        for (c, &v) in row.iter().enumerate() {
                            dst[c * p + pos] = v;
                        }
                    }
                }
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

/// The variables a [`conv2d_parts`](Var::conv2d_parts) call recorded.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct ConvParts<'t, F: Element> {
    /// The patch matrix `(N·OH·OW, C·kh·kw)` ([`Var::unfold2d`]).
    pub patches: Var<'t, F>,
    /// The filters flattened to `(O, C·kh·kw)`.
    pub filters: Var<'t, F>,
    /// `patches · filtersᵀ + b`, `(N·OH·OW, O)`: one row per output
    /// position, the dense layer the convolution is.
    pub rows: Var<'t, F>,
    /// The output `(N, O, OH, OW)`.
    pub output: Var<'t, F>,
}
