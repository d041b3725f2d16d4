//! The dense-layer engine: validation, the products every statistic is
//! built from, in the element type of `A` and `Δ`, on buffers that a
//! [`StatisticsWorkspace`] keeps from call to call.

use crate::element::Element;
use crate::error::Result;
use crate::shape::Shape;

use super::prepare::{check_layer, checked, finite_products, fit, gemm, sum_sq};

/// Reusable buffers for the statistics of dense layers, so that a warm call
/// of [`layer_statistics_into`](Self::layer_statistics_into) (and
/// [`network_statistics_into`](Self::network_statistics_into)) allocates
/// nothing of its own: every buffer keeps its capacity from the largest
/// layer it has seen, and the results are written into a
/// [`LayerStatistics`](super::LayerStatistics) that keeps its own. (The
/// matrix kernel's packing buffers are its own business: see
/// [`Element::gemm`](crate::Element::gemm).)
///
/// Memory `O(B² + B·(K + J))` for a layer of `B` examples, `K` inputs and
/// `J` neurons: `ÃÃᵀ` and `ΔΔᵀ` (B×B), `Ã`, `Ã∘Ã` and `Δ∘Δ` (B×K' and
/// B×J), the signs of `Ã` and `Δ` as bit masks (`2⌈B/64⌉·(K' + J)`
/// words), and two blocks of at most `max(B, ⌈4096/K'⌉)` neurons'
/// parameters.
///
/// ```
/// use gradsign::stats::{LayerStatistics, StatisticsConfig, StatisticsWorkspace};
/// use gradsign::Tensor;
/// let a = Tensor::<f32>::rand_uniform(&[32, 6], 0.0, 1.0, 1)?;
/// let d = Tensor::<f32>::rand_normal(&[32, 4], 0.0, 1.0, 2)?;
/// let mut ws = StatisticsWorkspace::new();
/// let mut out = LayerStatistics::default();
/// for _ in 0..3 {
///     // After the first call, no buffer grows.
///     ws.layer_statistics_into(&a, &d, &StatisticsConfig::default(), &mut out)?;
/// }
/// assert_eq!(out.parameters, 4 * 7);
/// # Ok::<(), gradsign::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct StatisticsWorkspace<F: Element> {
    /// `Ã` (B×K').
    pub(super) a: Vec<F>,
    /// `Ã∘Ã`.
    pub(super) a2: Vec<F>,
    /// The signs of `Ã`'s columns as bit masks over the batch: the
    /// non-zero masks (`W = ⌈B/64⌉` words per column, word-major: word `w`
    /// of column `k` at `w·K' + k`), then the negative ones.
    pub(super) mask_a: Vec<u64>,
    /// `Δ∘Δ` (B×J).
    pub(super) d2: Vec<F>,
    /// The signs of `Δ`'s columns, laid out as `mask_a`'s.
    pub(super) mask_d: Vec<u64>,
    /// One column of `mask_d`: its `W` non-zero words, then its negative
    /// ones.
    pub(super) mask_u: Vec<u64>,
    /// A convolution's per-example gradients `G_n = Σ_p Δ_npᵀ·ã_np`
    /// (B×J×K').
    pub(super) per: Vec<F>,
    /// `ÃÃᵀ` (B×B).
    pub(super) m: Vec<F>,
    /// `ΔΔᵀ`, then the Gram `(ΔΔᵀ)∘(ÃÃᵀ)` in place.
    pub(super) g: Vec<F>,
    /// A block of `Σ_n g` and `Σ_n g²`.
    pub(super) gs: Vec<F>,
    pub(super) ss: Vec<F>,
    /// One neuron's `Σ_n sign g` (K').
    pub(super) sg: Vec<i32>,
    /// `‖ã_n‖` (B).
    pub(super) a_norm: Vec<f64>,
    /// Per-neuron sums of row norms (J).
    pub(super) row_norm: Vec<f64>,
    /// Per-neuron sums of squared row norms (J).
    pub(super) row_sq: Vec<f64>,
    /// The square roots of a Gram's diagonal (B), for stiffness.
    pub(super) diag: Vec<f64>,
    /// A network's Gram (B×B, f64).
    pub(super) net: Vec<f64>,
}

/// A validated dense layer: its sizes and its deltas as given.
#[derive(Clone, Copy)]
pub(super) struct Dense<'d, F> {
    /// Examples.
    pub b: usize,
    /// Parameters per neuron (inputs, plus one for the bias).
    pub k: usize,
    /// Neurons.
    pub j: usize,
    /// `Δ` (B×J, row-major), the caller's.
    pub d: &'d [F],
    /// Threads of the products.
    pub threads: usize,
}

impl<F: Element> StatisticsWorkspace<F> {
    /// An empty workspace: its buffers grow on first use.
    pub fn new() -> Self {
        StatisticsWorkspace {
            a: Vec::new(),
            a2: Vec::new(),
            mask_a: Vec::new(),
            d2: Vec::new(),
            mask_d: Vec::new(),
            mask_u: Vec::new(),
            per: Vec::new(),
            m: Vec::new(),
            g: Vec::new(),
            gs: Vec::new(),
            ss: Vec::new(),
            sg: Vec::new(),
            a_norm: Vec::new(),
            row_norm: Vec::new(),
            row_sq: Vec::new(),
            diag: Vec::new(),
            net: Vec::new(),
        }
    }

    /// Checks a layer of `positions` rows per example (ranks, batch sizes,
    /// an empty batch or layer, rows that do not split into examples,
    /// non-finite values, the batch limit, the buffers' sizes) and writes
    /// `Ã` and, for a dense layer (`positions = 1`), the row norms
    /// `‖ã_n‖`. The returned `b` counts rows.
    pub(super) fn prepare<'d>(
        &mut self,
        op: &'static str,
        (a, a_shape): (&[F], Shape),
        (d, d_shape): (&'d [F], Shape),
        (bias, positions): (bool, usize),
        threads: usize,
    ) -> Result<Dense<'d, F>> {
        let (b, k_in, k, j) = check_layer(op, (a, a_shape), (d, d_shape), bias, positions)?;
        let na = checked(op, "the inputs", b, k)?;
        checked(op, "the deltas", b, j)?;
        fit(op, "the inputs", &mut self.a, na, F::one())?;
        let norms = if positions == 1 { b } else { 0 };
        fit(op, "the input norms", &mut self.a_norm, norms, 0.0)?;
        if k_in > 0 {
            for (row, src) in self.a.chunks_exact_mut(k).zip(a.chunks_exact(k_in)) {
                row[..k_in].copy_from_slice(src);
            }
            for (norm, src) in self.a_norm.iter_mut().zip(a.chunks_exact(k_in)) {
                *norm = sum_sq(src);
            }
        }
        for n in &mut self.a_norm {
            *n = (*n + if bias { 1.0 } else { 0.0 }).sqrt();
        }
        Ok(Dense {
            b,
            k,
            j,
            d,
            threads: crate::threads::clamp_threads(threads),
        })
    }

    /// `Ã∘Ã` and `Δ∘Δ`.
    pub(super) fn squares(&mut self, op: &'static str, l: &Dense<'_, F>) -> Result<()> {
        fit(
            op,
            "the squared inputs",
            &mut self.a2,
            self.a.len(),
            F::zero(),
        )?;
        for (o, &x) in self.a2.iter_mut().zip(&self.a) {
            *o = x * x;
        }
        fit(op, "the squared deltas", &mut self.d2, l.d.len(), F::zero())?;
        for (o, &x) in self.d2.iter_mut().zip(l.d) {
            *o = x * x;
        }
        Ok(())
    }

    /// The sign masks of `Ã`'s and `Δ`'s columns, and the buffer of one
    /// neuron's sign sums.
    pub(super) fn signs(&mut self, op: &'static str, l: &Dense<'_, F>) -> Result<()> {
        let (b, k, j) = (l.b, l.k, l.j);
        let w = b.div_ceil(64);
        let na = checked(op, "the input signs", 2 * w, k)?;
        fit(op, "the input signs", &mut self.mask_a, na, 0)?;
        let nd = checked(op, "the delta signs", 2 * w, j)?;
        fit(op, "the delta signs", &mut self.mask_d, nd, 0)?;
        fit(op, "the sign sums", &mut self.sg, k, 0)?;
        fit(op, "the delta signs", &mut self.mask_u, 2 * w, 0)?;
        crate::kernels::bits::pack_signs(&self.a, k, &mut self.mask_a);
        crate::kernels::bits::pack_signs(l.d, j, &mut self.mask_d);
        Ok(())
    }

    /// `Σ_n sign g_njk = Σ_n sign(Δ_nj)·sign(ã_nk)` for neuron `jn` into
    /// `self.sg` (with `signs`), exactly, by population counts; returns
    /// their score and how many reach `kept_at`.
    pub(super) fn sign_row(
        &mut self,
        l: &Dense<'_, F>,
        jn: usize,
        kept_at: u32,
    ) -> crate::kernels::bits::SignScore {
        let (k, j) = (l.k, l.j);
        let w = l.b.div_ceil(64);
        let (nz_a, neg_a) = self.mask_a.split_at(w * k);
        let (nz_u, neg_u) = self.mask_u.split_at_mut(w);
        for (word, (z, s)) in nz_u.iter_mut().zip(neg_u.iter_mut()).enumerate() {
            *z = self.mask_d[word * j + jn];
            *s = self.mask_d[(w + word) * j + jn];
        }
        crate::kernels::bits::sign_sums(
            crate::kernels::bits::SignMasks {
                nonzero: nz_u,
                negative: neg_u,
            },
            (nz_a, neg_a),
            &mut self.sg[..k],
            kept_at,
        )
    }

    /// The per-example Gram `(ΔΔᵀ)∘(ÃÃᵀ)` into `self.g` (and `ÃÃᵀ` into
    /// `self.m`), then into `out` in `f64`.
    pub(super) fn gram(
        &mut self,
        op: &'static str,
        l: &Dense<'_, F>,
        out: &mut Vec<f64>,
    ) -> Result<()> {
        let (b, k, j) = (l.b, l.k, l.j);
        let n = checked(op, "the per-example Gram", b, b)?;
        fit(op, "the per-example Gram", &mut self.m, n, F::zero())?;
        fit(op, "the per-example Gram", &mut self.g, n, F::zero())?;
        fit(op, "the per-example Gram", out, n, 0.0)?;
        gemm(
            (b, b, k),
            (&self.a, k, 1),
            (&self.a, 1, k),
            &mut self.m,
            l.threads,
        );
        gemm((b, b, j), (l.d, j, 1), (l.d, 1, j), &mut self.g, l.threads);
        for ((o, x), &y) in out.iter_mut().zip(&mut self.g).zip(&self.m) {
            *x *= y;
            *o = x.to_f64();
        }
        finite_products(op, "the per-example Gram", &self.g)
    }

    /// The block size of the per-parameter products: at most `max(B,
    /// ⌈4096/K'⌉)` neurons (and all of them for `whole`).
    pub(super) fn block_size(l: &Dense<'_, F>, whole: bool) -> usize {
        if whole {
            l.j
        } else {
            l.b.max(4096usize.div_ceil(l.k)).min(l.j)
        }
    }

    /// Sizes the two block buffers for blocks of `nb` neurons.
    pub(super) fn blocks(&mut self, op: &'static str, l: &Dense<'_, F>, nb: usize) -> Result<()> {
        let len = checked(op, "a block of parameters", nb, l.k)?;
        fit(op, "a block of parameters", &mut self.gs, len, F::zero())?;
        fit(op, "a block of parameters", &mut self.ss, len, F::zero())?;
        Ok(())
    }

    /// For neurons `j0..j0 + nb`: `Σ_n g = Δᵀ Ã` into `gs` and `Σ_n g² =
    /// (Δ∘Δ)ᵀ(Ã∘Ã)` into `ss` (with `squares`): one product each.
    pub(super) fn block(
        &mut self,
        l: &Dense<'_, F>,
        (j0, nb): (usize, usize),
        (sums, squares): (bool, bool),
    ) {
        let (b, k, j) = (l.b, l.k, l.j);
        let len = nb * k;
        let product = |x: &[F], y: &[F], c: &mut [F]| {
            gemm(
                (nb, k, b),
                (&x[j0..], 1, j),
                (y, k, 1),
                &mut c[..len],
                l.threads,
            );
        };
        if sums {
            product(l.d, &self.a, &mut self.gs);
        }
        if squares {
            product(&self.d2, &self.a2, &mut self.ss);
        }
    }
}
