//! The dense-layer engine: validation, the products every statistic is
//! built from, in the element type of `A` and `Δ`, on buffers that a
//! [`StatisticsWorkspace`] keeps from call to call.

use crate::element::Element;
use crate::error::Result;
use crate::shape::Shape;

use super::prepare::{check_layer, checked, finite_products, fit, gemm, sign_of};

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
/// `J` neurons: `ÃÃᵀ` and `ΔΔᵀ` (B×B), `Ã`, `Ã∘Ã`, `sign Ã`, `Δ∘Δ`,
/// `sign Δ` (B×K' and B×J), and three blocks of at most
/// `max(B, ⌈4096/K'⌉)` neurons' parameters.
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
    /// `sign Ã`.
    pub(super) sa: Vec<F>,
    /// `Δ∘Δ` (B×J).
    pub(super) d2: Vec<F>,
    /// `sign Δ`.
    pub(super) sd: Vec<F>,
    /// `ÃÃᵀ` (B×B).
    pub(super) m: Vec<F>,
    /// `ΔΔᵀ`, then the Gram `(ΔΔᵀ)∘(ÃÃᵀ)` in place.
    pub(super) g: Vec<F>,
    /// A block of `Σ_n g`, `Σ_n g²`, `Σ_n sign g`.
    pub(super) gs: Vec<F>,
    pub(super) ss: Vec<F>,
    pub(super) sg: Vec<F>,
    /// `‖ã_n‖` (B).
    pub(super) a_norm: Vec<f64>,
    /// Per-neuron sums of row norms (J).
    pub(super) row_norm: Vec<f64>,
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
            sa: Vec::new(),
            d2: Vec::new(),
            sd: Vec::new(),
            m: Vec::new(),
            g: Vec::new(),
            gs: Vec::new(),
            ss: Vec::new(),
            sg: Vec::new(),
            a_norm: Vec::new(),
            row_norm: Vec::new(),
            diag: Vec::new(),
            net: Vec::new(),
        }
    }

    /// Checks a dense layer (ranks, batch sizes, an empty batch or layer,
    /// non-finite values, the batch limit, the buffers' sizes) and writes
    /// `Ã` and the row norms `‖ã_n‖`.
    pub(super) fn prepare<'d>(
        &mut self,
        op: &'static str,
        (a, a_shape): (&[F], Shape),
        (d, d_shape): (&'d [F], Shape),
        bias: bool,
        threads: usize,
    ) -> Result<Dense<'d, F>> {
        let (b, k_in, k, j) = check_layer(op, (a, a_shape), (d, d_shape), bias, 1)?;
        let na = checked(op, "the inputs", b, k)?;
        checked(op, "the deltas", b, j)?;
        fit(op, "the inputs", &mut self.a, na, F::one())?;
        fit(op, "the input norms", &mut self.a_norm, b, 0.0)?;
        if k_in > 0 {
            for ((row, src), norm) in self
                .a
                .chunks_exact_mut(k)
                .zip(a.chunks_exact(k_in))
                .zip(&mut self.a_norm)
            {
                row[..k_in].copy_from_slice(src);
                *norm = src
                    .iter()
                    .map(|&x| Element::to_f64(x) * Element::to_f64(x))
                    .sum::<f64>();
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

    /// `sign Ã` and `sign Δ`.
    pub(super) fn signs(&mut self, op: &'static str, l: &Dense<'_, F>) -> Result<()> {
        fit(op, "the input signs", &mut self.sa, self.a.len(), F::zero())?;
        for (o, &x) in self.sa.iter_mut().zip(&self.a) {
            *o = sign_of(x);
        }
        fit(op, "the delta signs", &mut self.sd, l.d.len(), F::zero())?;
        for (o, &x) in self.sd.iter_mut().zip(l.d) {
            *o = sign_of(x);
        }
        Ok(())
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

    /// Sizes the three block buffers for blocks of `nb` neurons.
    pub(super) fn blocks(&mut self, op: &'static str, l: &Dense<'_, F>, nb: usize) -> Result<()> {
        let len = checked(op, "a block of parameters", nb, l.k)?;
        fit(op, "a block of parameters", &mut self.gs, len, F::zero())?;
        fit(op, "a block of parameters", &mut self.ss, len, F::zero())?;
        fit(op, "a block of parameters", &mut self.sg, len, F::zero())?;
        Ok(())
    }

    /// For neurons `j0..j0 + nb`: `Σ_n g = Δᵀ Ã` into `gs`, `Σ_n g² =
    /// (Δ∘Δ)ᵀ(Ã∘Ã)` into `ss` (with `squares`), `Σ_n sign g = (sign
    /// Δ)ᵀ(sign Ã)` into `sg` (with `signs`): one product each.
    pub(super) fn block(
        &mut self,
        l: &Dense<'_, F>,
        (j0, nb): (usize, usize),
        (sums, squares, signs): (bool, bool, bool),
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
        if signs {
            product(&self.sd, &self.sa, &mut self.sg);
        }
    }
}
