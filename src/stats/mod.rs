//! The gradient statistics of the literature for a dense layer, computed
//! from its inputs `A` and deltas `Δ` without forming per-example gradients.
//!
//! # The setting
//!
//! A dense layer `Z = A·Wᵀ + b` sees inputs `A` (B×K, row `a_n` per example)
//! and, after `backward` of the **sum** of per-example losses, deltas
//! `Δ = ∂L/∂Z` (B×J). Example `n`'s gradient of neuron `j`'s parameters is
//! the row `g_nj = Δ_nj·ã_n`, with `ã_n = (a_n, 1)` when the bias is
//! included (`K' = K + 1` parameters per neuron) and `ã_n = a_n` otherwise;
//! example `n`'s gradient of the whole layer is `g_n = Δ_n ⊗ ã_n` (J·K'
//! values). Everything below follows from `A` and `Δ` in
//! `O(B² + B·(K + J))` memory (plus the `J×K'` outputs of the
//! per-parameter functions): the `B×J×K'` tensor of per-example gradients
//! is never formed.
//!
//! - `‖g_nj‖ = |Δ_nj|·‖ã_n‖` and `‖g_n‖ = ‖Δ_n‖·‖ã_n‖`
//!   ([`per_example_norms`]);
//! - the per-example Gram `K_nm = ⟨g_n, g_m⟩ = (Δ_n·Δ_m)(ã_n·ã_m)`, i.e.
//!   `K = (ΔΔᵀ)∘(ÃÃᵀ)` ([`per_example_gram`]; the trick behind Opacus'
//!   ghost clipping), from which come the alignment `α` and m-coherence
//!   ([`alignment`]), the gradient noise scale ([`noise_scale`]) and the
//!   stiffness ([`stiffness`]);
//! - per parameter, `Σ_n g_njk = (ΔᵀÃ)_jk`, `Σ_n g_njk² = ((Δ∘Δ)ᵀ(Ã∘Ã))_jk`
//!   (the GSNR, [`gsnr`]): one matrix product each, on the crate's matrix
//!   kernel; and `Σ_n sign g_njk = Σ_n sign(Δ_nj)·sign(ã_nk)` (the
//!   GradSign score and the AND-mask, [`sign_agreement`]) in integers,
//!   from the signs of each column packed over the batch into bit masks
//!   and counted with population counts.
//!
//! # Precision and cost
//!
//! The products (the Gram and the per-parameter sums) run on the crate's
//! matrix kernel in the element type of `A` and `Δ`: an `f32` layer in
//! `f32`, an `f64` one in `f64`, as the step that produced them. Their
//! results are returned in `f64`; the norms are computed in `f64` from the
//! values as given, and the sign sums are exact in either type. In `f32`
//! the Gram carries a relative error of about `(K + J)·ε` of its
//! Cauchy–Schwarz scale, the GSNR's variance one of about `4Bε·(1 + r)`
//! (see [`gsnr`]), and products beyond `f32`'s range are refused with
//! [`Error::NonFinite`]; cast the layer to `f64` for more. A
//! [`StatisticsWorkspace`] keeps every buffer from call to call, so that a
//! warm call for a dense layer allocates nothing.
//!
//! What is computed is a choice ([`StatisticsConfig`]). By default, only
//! the statistics that need no more than the summed gradient, a pass over
//! `A` and `Δ` and the sign sums: the norms, `α` and m-coherence, `B_simple`, the GradSign
//! score and the AND-mask, per neuron, per layer and per network. They
//! need the summed gradient `ΔᵀÃ`, which the analyzer reads from the
//! weight's gradient (as it reads the batch rows) and the functions here
//! compute with one product. The per-example Gram (for the stiffness) and
//! the GSNR are opt-in ([`StatisticsConfig::gram`],
//! [`StatisticsConfig::gsnr`], both with [`StatisticsConfig::full`]):
//! each is a product as large as a good part of a training step, so no
//! implementation can make them cheap. On the W3 network (784-256-128-10,
//! batch 128, `f32`, one thread; `cargo bench --bench stats`, median of
//! one sitting):
//!
//! | what | cost | in W3 steps (1.63 ms) |
//! | --- | --- | --- |
//! | the analyzer's default statistics, on top of its report | 0.29 ms | 0.18 |
//! | the same from `A` and `Δ` alone (`ΔᵀÃ` computed) | 0.91 ms | 0.56 |
//! | the analyzer's full statistics, on top of its report | 2.2 ms | 1.35 |
//!
//! By multiply-adds: the step is about 64.5 M (forward, and both
//! backward products except the first layer's input gradient), the
//! GSNR's `(Δ∘Δ)ᵀ(Ã∘Ã)` 30 M (0.47 of a step), the Gram's `ÃÃᵀ` and
//! `ΔΔᵀ` 25.6 M (0.40), and `ΔᵀÃ`, when it must be computed, another 30
//! M: at the kernel's speed, each of the opt-in statistics alone costs
//! more than 0.3 of a step.
//!
//! [`layer_statistics`] computes all
//! of them at once into a [`LayerStatistics`] (per layer and per neuron),
//! [`network_statistics`] combines layers (the per-example gradient of a
//! network is the concatenation of its layers', so its Gram is the sum of
//! theirs), and
//! [`GradientSignAnalyzer::with_statistics`](crate::analysis::GradientSignAnalyzer::with_statistics)
//! adds them to the analyzer's report of every layer of any traced model.
//!
//! # Convolutions
//!
//! A convolution is recorded as the dense layer it is at each of its `P`
//! output positions (`A` and `Δ` have `B·P` rows,
//! [`LayerTrace::positions`](crate::nn::LayerTrace::positions)), and an
//! example's gradient is the sum over its positions,
//! `G_n = Σ_p Δ_npᵀ·ã_np`. Its Gram is `Σ_{p,q} (Δ_np·Δ_mq)(ã_np·ã_mq)`,
//! not the Hadamard product of two `B×B` matrices, and the sign of a
//! summed entry is not `sign(Δ)·sign(a)`. [`layer_statistics`] with
//! [`StatisticsConfig::with_positions`] (and the analyzer, which passes the
//! trace's positions) therefore **materialises** the `B×J×K'` summed
//! per-example gradients of a convolution (cheap for a convolution's few
//! filters of small patches, limited to [`MAX_SUMMED_GRADIENTS`] values)
//! and computes every statistic from them exactly: the statistics are the
//! examples', not the positions'. The single-statistic functions
//! ([`per_example_gram`], [`alignment`], …) take one row per example: given
//! a convolution's `B·P` rows they would treat each position as an
//! example.
//!
//! ```
//! use gradsign::stats::{self, StatisticsConfig};
//! use gradsign::Tensor;
//! let a = Tensor::<f64>::rand_uniform(&[128, 10], 0.0, 1.0, 1)?; // positive inputs
//! let d = Tensor::<f64>::rand_normal(&[128, 1], 1.0, 1.0, 2)?;   // δ mostly positive
//! let s = stats::layer_statistics(&a, &d, &StatisticsConfig::default().with_bias(false))?;
//! assert!(s.alignment.unwrap().alpha > 0.3);        // ≈ ½·¾ = 0.375
//! assert!(s.gradsign_per_parameter > 60.0);         // ≈ 128·(2Φ(1) − 1) = 87
//! println!("{s}");
//! # Ok::<(), gradsign::Error>(())
//! ```
//!
//! # Which statistic answers which question
//!
//! | statistic | question | blind to |
//! | --- | --- | --- |
//! | per-example norms | how large is each example's step; whom would clipping touch? | direction |
//! | Gram, stiffness (Fort et al. 2019) | does a step on example `n` lower example `m`'s loss (`K_nm > 0`)? Within and between classes? | which parameters |
//! | α, m-coherence (Chatterjee & Zielinski 2020) | do the examples' gradients point the same way, as a whole? | per-parameter structure |
//! | `B_simple` (McCandlish et al. 2018) | above which batch size does a larger batch stop paying? | direction of the noise |
//! | GSNR (Liu et al. 2020) | which parameters get a consistent signal rather than noise? | correlations between parameters |
//! | GradSign score (Zhang & Jia 2022), AND-mask (Parascandolo et al. 2021) | on which parameters do the examples agree in sign? | magnitudes |
//! | row coherence ([`analysis`](crate::analysis)) | is each example's own row `Δ_nj·a_n` one-signed (the two-orthant zig-zag)? | agreement between examples |
//!
//! What each one sees, on one neuron with 10 inputs, batch 128, without
//! bias (means over 2,000 batches; the GradSign score divided by the 10
//! weights). Example `10_what_each_statistic_sees` prints its own run (and
//! the same δ after a sigmoid and a tanh layer), which agrees within
//! Monte-Carlo error; `tests/figures/stats_figures.rs` checks the table against
//! fresh runs and against the exact expectations behind it:
//!
//! | inputs | δ | GradSign per weight | α | row coherence |
//! | --- | --- | --- | --- | --- |
//! | U(0,1) | N(0,1) | 9.07 | 0.0080 | 1.000 |
//! | U(−½,½) | N(0,1) | 8.99 | 0.0079 | 0.002 |
//! | U(0,1) | N(1,1) | 87.5 | 0.379 | 1.000 |
//! | U(−½,½) | N(1,1) | 8.93 | 0.0078 | 0.002 |
//!
//! With zero-mean `δ`, the sign-agreement score and `α` are blind to
//! centring: both sit at their pure-noise values (`√(2B/π) = 9.03` and
//! `1/B`), because the examples disagree whatever the inputs are. Row
//! coherence is not blind: positive inputs make every example's own row
//! one-signed, centred inputs almost never. With `δ` of one sign on
//! average, the examples agree, and the score and `α` see it, through the
//! mean inputs: `α → (Eδ)²/E[δ²] · |E a|²/E‖a‖² = ½·¾`, while centred
//! inputs bring it back to `1/B`.
//!
//! # GradSign, GradSigns, and this crate's sign coherence
//!
//! The names clash, so plainly:
//!
//! - **GradSign** (Zhang & Jia, ICLR 2022, "GradSign: model performance
//!   inference with theoretical insights") is a neural-architecture-search
//!   score of an untrained network: `Σ_k |Σ_i sign(∂ℓ_i/∂θ_k)|`, the
//!   sign agreement of per-example gradients summed over parameters
//!   ([`SignAgreement::gradsign_score`]).
//! - **GradSigns** (MLSys 2021) is an unrelated method that watermarks a
//!   model through its gradients' signs. This crate implements nothing of
//!   it.
//! - **This crate's sign coherence** ([`analysis`](crate::analysis), the
//!   crate's name) is a property of one example's row: whether the entries
//!   of `Δ_nj·a_n` share one sign, which is what confines a plain SGD step
//!   to two orthants and makes the zig-zag. It looks *within* an example
//!   across inputs; GradSign and the AND-mask look *across* examples
//!   within a parameter. The table above shows the two are independent:
//!   positive inputs with zero-mean `δ` give full row coherence and a
//!   pure-noise GradSign score.

use std::fmt;

use crate::analysis::format_number as number;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

use crate::dynamics::try_filled;

pub(crate) mod prepare;
mod workspace;

pub use prepare::{MAX_GRAM_BATCH, MAX_SUMMED_GRADIENTS};
use prepare::{checked, finite_products, fit, gemm, sign_of, sum_sq};
use workspace::Dense;
pub use workspace::StatisticsWorkspace;

/// The most classes [`stiffness`] accepts (its class tables are
/// `classes × classes`).
pub const MAX_CLASSES: usize = 1 << 12;

/// What [`layer_statistics`] computes, and how.
///
/// By default it computes every statistic that costs no more than a pass
/// over `A` and `Δ` and the sign sums: per-example norms, `α` and
/// m-coherence, `B_simple`, the GradSign score and the AND-mask, per
/// neuron and per layer. Two cost more and are opt-in:
///
/// - [`gram`](Self::gram): the per-example Gram `K = (ΔΔᵀ)∘(ÃÃᵀ)`
///   (`O(B²·(K + J))` time, `B²` memory) and the stiffness computed from
///   it;
/// - [`gsnr`](Self::gsnr): the GSNR of every parameter, one more product
///   `(Δ∘Δ)ᵀ(Ã∘Ã)` the size of the weight gradient (`O(B·J·K)`).
///
/// ```
/// use gradsign::stats::StatisticsConfig;
/// let c = StatisticsConfig::default();
/// assert!(c.bias);
/// assert_eq!(c.and_mask_threshold, 0.5);
/// assert!(!c.gram && !c.gsnr); // opt-in: each costs more than the sign pass
/// let c = c.with_bias(false).with_and_mask_threshold(1.0);
/// assert!(!c.bias);
/// let full = StatisticsConfig::full();
/// assert!(full.gram && full.gsnr);
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct StatisticsConfig {
    /// Treat the bias as one more input equal to 1 (each neuron then has
    /// `K + 1` parameters). Default `true`.
    pub bias: bool,
    /// The AND-mask keeps a parameter when `|mean_n sign g_n| ≥ τ`; this is
    /// `τ`, in `[0, 1]`. Default ½; 1 is the strict AND (every example
    /// agrees).
    pub and_mask_threshold: f64,
    /// Threads the matrix products may use, clamped to
    /// `1 ..= `[`max_threads`](crate::threads::max_threads)`()`. Default 1.
    pub threads: usize,
    /// Consecutive rows of `A` and `Δ` that make one example: 1 for a dense
    /// layer, the output positions `OH·OW` of a convolution recorded as
    /// the dense layer it is at every position
    /// ([`LayerTrace::positions`](crate::nn::LayerTrace::positions)).
    /// Default 1. See [`layer_statistics`] for how `positions > 1` is
    /// computed.
    pub positions: usize,
    /// Computes the per-example Gram and the stiffness between examples
    /// (and classes) from it. Default `false`: `O(B²·(K + J))` time per
    /// dense layer.
    pub gram: bool,
    /// Computes the GSNR of every parameter. Default `false`: one more
    /// product the size of the weight gradient, `O(B·J·K)`.
    pub gsnr: bool,
}

impl Default for StatisticsConfig {
    fn default() -> Self {
        StatisticsConfig {
            bias: true,
            and_mask_threshold: 0.5,
            threads: 1,
            positions: 1,
            gram: false,
            gsnr: false,
        }
    }
}

impl StatisticsConfig {
    /// The default configuration with the opt-in statistics on: every
    /// statistic of this module.
    pub fn full() -> Self {
        StatisticsConfig::default().with_gram(true).with_gsnr(true)
    }

    /// Computes the per-example Gram and the stiffness, or not.
    pub fn with_gram(mut self, gram: bool) -> Self {
        self.gram = gram;
        self
    }

    /// Computes the GSNR, or not.
    pub fn with_gsnr(mut self, gsnr: bool) -> Self {
        self.gsnr = gsnr;
        self
    }

    /// Includes the bias column, or not.
    pub fn with_bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }

    /// Sets the AND-mask's threshold `τ` (checked when used: finite, in
    /// `[0, 1]`).
    pub fn with_and_mask_threshold(mut self, tau: f64) -> Self {
        self.and_mask_threshold = tau;
        self
    }

    /// Sets the threads of the products.
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = crate::threads::clamp_threads(threads);
        self
    }

    /// Sets the rows per example (a convolution's output positions; checked
    /// when used: at least 1, dividing the rows).
    pub fn with_positions(mut self, positions: usize) -> Self {
        self.positions = positions;
        self
    }
}

fn check_tau(op: &'static str, tau: f64) -> Result<()> {
    if (0.0..=1.0).contains(&tau) {
        Ok(())
    } else {
        Err(Error::out_of_domain(
            op,
            "the AND-mask threshold τ",
            "in [0, 1]",
            tau,
        ))
    }
}

/// A fresh workspace with the layer `(a, d)` validated in it.
fn prepare<'d, F: Element>(
    op: &'static str,
    a: &Tensor<F>,
    d: &'d Tensor<F>,
    bias: bool,
) -> Result<(StatisticsWorkspace<F>, Dense<'d, F>)> {
    let mut ws = StatisticsWorkspace::new();
    let l = ws.prepare(
        op,
        (a.as_slice(), a.shape()),
        (d.as_slice(), d.shape()),
        (bias, 1),
        1,
    )?;
    Ok((ws, l))
}

fn too_small(op: &'static str, b: usize, what: &str) -> Error {
    Error::out_of_domain(
        op,
        format!("the batch size of {what}"),
        "at least 2 examples",
        b,
    )
}

// ---------------------------------------------------------------- norms

/// Per-example gradient norms of a layer (see [`per_example_norms`]).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ExampleNorms {
    /// Examples `B`.
    pub batch: usize,
    /// Neurons `J`.
    pub fan_out: usize,
    /// `‖g_nj‖ = |Δ_nj|·‖ã_n‖`, row-major B×J.
    pub rows: Vec<f64>,
    /// `‖g_n‖ = ‖Δ_n‖·‖ã_n‖`, one per example.
    pub examples: Vec<f64>,
}

/// Per-example gradient norms: per neuron row `‖g_nj‖ = |Δ_nj|·‖ã_n‖` and
/// per layer `‖g_n‖ = ‖Δ_n‖·‖ã_n‖`, where `ã_n = (a_n, 1)` with `bias` and
/// `a_n` without, in `O(B·(K + J))`.
///
/// ```
/// use gradsign::stats::per_example_norms;
/// use gradsign::Tensor;
/// let a = Tensor::from_vec(vec![3.0, 4.0], &[1, 2])?;   // ‖a‖ = 5
/// let d = Tensor::from_vec(vec![-2.0, 0.0], &[1, 2])?;
/// let n = per_example_norms(&a, &d, false)?;
/// assert_eq!(n.rows, vec![10.0, 0.0]);
/// assert_eq!(n.examples, vec![10.0]);
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// # Errors
/// [`Error::RankMismatch`] unless `a` (B×K) and `d` (B×J) are matrices,
/// [`Error::ShapeMismatch`] for different batch sizes, [`Error::Empty`] for
/// an empty batch, no neuron, or no parameter (`K = 0` without bias),
/// [`Error::NonFinite`] for a NaN or infinite entry (naming it) or a norm
/// that overflows `f64`, [`Error::TooLarge`] for a batch above
/// [`MAX_GRAM_BATCH`] or a buffer that cannot be allocated.
pub fn per_example_norms<F: Element>(
    a: &Tensor<F>,
    d: &Tensor<F>,
    bias: bool,
) -> Result<ExampleNorms> {
    let op = "per_example_norms";
    let (ws, l) = prepare(op, a, d, bias)?;
    let mut rows = try_filled(op, "the row norms", l.d.len(), 0.0)?;
    for ((r, dn), &an) in rows
        .chunks_exact_mut(l.j)
        .zip(l.d.chunks_exact(l.j))
        .zip(&ws.a_norm)
    {
        for (r, &dv) in r.iter_mut().zip(dn) {
            *r = dv.to_f64().abs() * an;
        }
    }
    let mut examples = Vec::new();
    example_norms(op, &ws, &l, &mut examples)?;
    finite_products(op, "the per-example norms", &rows)?;
    Ok(ExampleNorms {
        batch: l.b,
        fan_out: l.j,
        rows,
        examples,
    })
}

/// `‖g_n‖ = ‖Δ_n‖·‖ã_n‖` into `out`, in `f64`.
fn example_norms<F: Element>(
    op: &'static str,
    ws: &StatisticsWorkspace<F>,
    l: &Dense<'_, F>,
    out: &mut Vec<f64>,
) -> Result<()> {
    fit(op, "the example norms", out, l.b, 0.0)?;
    for ((o, dn), &an) in out.iter_mut().zip(l.d.chunks_exact(l.j)).zip(&ws.a_norm) {
        *o = sum_sq(dn).sqrt() * an;
    }
    finite_products(op, "the per-example norms", out)
}

// ---------------------------------------------------------------- Gram

/// The per-example Gram `K = (ΔΔᵀ)∘(ÃÃᵀ)` (B×B), `K_nm = ⟨g_n, g_m⟩` for
/// the layer gradients `g_n = Δ_n ⊗ ã_n`, by two products on the crate's
/// matrix kernel in the element type `F`, returned in `f64`:
/// `O(B²·(K + J))` time, `O(B² + B·(K + J))` memory.
///
/// ```
/// use gradsign::stats::per_example_gram;
/// use gradsign::Tensor;
/// let a = Tensor::from_vec(vec![1.0, 0.0, 1.0, 1.0], &[2, 2])?;
/// let d = Tensor::from_vec(vec![2.0, -1.0], &[2, 1])?;
/// let k = per_example_gram(&a, &d, false)?;
/// // g_0 = 2·(1, 0), g_1 = −1·(1, 1): ⟨g_0, g_1⟩ = −2.
/// assert_eq!(k.as_slice(), &[4.0, -2.0, -2.0, 2.0]);
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// # Errors
/// As [`per_example_norms`].
pub fn per_example_gram<F: Element>(
    a: &Tensor<F>,
    d: &Tensor<F>,
    bias: bool,
) -> Result<Tensor<f64>> {
    let op = "per_example_gram";
    let (b, gram) = gram(op, a, d, bias)?;
    Tensor::from_vec(gram, &[b, b])
}

/// The batch size and the Gram of a fresh layer.
fn gram<F: Element>(
    op: &'static str,
    a: &Tensor<F>,
    d: &Tensor<F>,
    bias: bool,
) -> Result<(usize, Vec<f64>)> {
    let (mut ws, l) = prepare(op, a, d, bias)?;
    let mut g = Vec::new();
    ws.gram(op, &l, &mut g)?;
    Ok((l.b, g))
}

/// A square, finite, non-empty Gram given by a caller: its size.
fn check_gram(op: &'static str, gram: &Tensor<f64>) -> Result<usize> {
    crate::curvature::spectrum::square_dims(op, gram)
}

// ---------------------------------------------------------------- alignment

/// Gradient alignment of a batch (see [`alignment`]).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Alignment {
    /// Examples `B` (the `m` of m-coherence).
    pub batch: usize,
    /// `α = |ḡ|² / mean_n |g_n|²`, in `[1/B, 1]` for gradients of equal
    /// norm, in `[0, 1]` always.
    pub alpha: f64,
    /// `B·α = Σ_nm K_nm / Σ_n K_nn`: the number of examples a step on one
    /// of them helps (1 for orthogonal gradients of equal norm, `B` for
    /// identical ones).
    pub m_coherence: f64,
}

/// `α` and m-coherence from the Gram's sum and trace.
fn alignment_of(batch: usize, sum: f64, trace: f64) -> Option<Alignment> {
    (trace > 0.0).then(|| {
        let m = (sum / trace).max(0.0);
        Alignment {
            batch,
            alpha: m / batch as f64,
            m_coherence: m,
        }
    })
}

/// Per-example gradient alignment and m-coherence (Chatterjee & Zielinski
/// 2020, "Making coherence out of nothing at all: measuring the evolution
/// of gradient alignment"):
///
/// `α = E_{n,m}[g_n·g_m] / E_n[g_n·g_n] = |ḡ|² / mean_n |g_n|² = Σ_nm K_nm / (B·Σ_n K_nn)`,
///
/// with `n, m` drawn independently from the batch (so `n = m` is included,
/// as in the paper), and the m-coherence `B·α`. Computed from the Gram
/// ([`per_example_gram`]). For `δ` symmetric about 0 and independent of
/// the inputs, `E[α] = 1/B` exactly (flipping the sign of one example's
/// `δ` cancels every cross term in expectation).
///
/// ```
/// use gradsign::stats::alignment;
/// use gradsign::Tensor;
/// // Identical gradients: α = 1, m-coherence = B.
/// let a = Tensor::from_vec(vec![1.0, 2.0, 1.0, 2.0, 1.0, 2.0], &[3, 2])?;
/// let d = Tensor::from_vec(vec![0.5, 0.5, 0.5], &[3, 1])?;
/// let al = alignment(&a, &d, true)?;
/// assert!((al.alpha - 1.0).abs() < 1e-15);
/// assert!((al.m_coherence - 3.0).abs() < 1e-14);
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// # Errors
/// As [`per_example_norms`], and [`Error::OutOfDomain`] when every
/// per-example gradient is zero: `α = 0/0` is undefined there (a dead or
/// saturated layer, a batch whose loss is flat), and no number would say
/// so: `α = 0` means non-zero gradients that cancel, and a NaN would
/// travel on unnoticed. Match on the variant to tell this case from bad
/// input; [`layer_statistics`] reports it as `alignment: None`.
///
/// ```
/// use gradsign::stats::alignment;
/// use gradsign::{Error, Tensor};
/// let a = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2])?;
/// let d = Tensor::<f64>::zeros(&[2, 3])?;
/// assert!(matches!(alignment(&a, &d, true), Err(Error::OutOfDomain { .. })));
/// # Ok::<(), gradsign::Error>(())
/// ```
pub fn alignment<F: Element>(a: &Tensor<F>, d: &Tensor<F>, bias: bool) -> Result<Alignment> {
    let op = "alignment";
    let (b, g) = gram(op, a, d, bias)?;
    alignment_checked(op, b, &g)
}

/// [`alignment`] from a per-example Gram (B×B), such as the sum of several
/// layers' Grams (the network's).
///
/// # Errors
/// [`Error::RankMismatch`], [`Error::ShapeMismatch`] or [`Error::Empty`]
/// unless `gram` is a non-empty square matrix, [`Error::NonFinite`] for a
/// non-finite entry, [`Error::OutOfDomain`] for a trace that is not
/// positive (all gradients zero: `α = 0/0`, see [`alignment`]).
pub fn alignment_from_gram(gram: &Tensor<f64>) -> Result<Alignment> {
    let op = "alignment_from_gram";
    let b = check_gram(op, gram)?;
    alignment_checked(op, b, gram.as_slice())
}

fn alignment_checked(op: &'static str, b: usize, g: &[f64]) -> Result<Alignment> {
    let (sum, trace) = sum_trace(b, g);
    alignment_of(b, sum, trace).ok_or_else(|| {
        Error::out_of_domain(
            op,
            "the per-example gradients",
            "not all zero (the alignment of zero gradients is 0/0)",
            format!("a Gram of trace {trace} over {b} examples"),
        )
    })
}

fn sum_trace(b: usize, g: &[f64]) -> (f64, f64) {
    (g.iter().sum(), (0..b).map(|n| g[n * b + n]).sum())
}

// ---------------------------------------------------------------- noise scale

/// The simple gradient noise scale and its two unbiased parts (see
/// [`noise_scale`] and [`noise_scale_two_batches`]).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct NoiseScale {
    /// The small batch size `B_small`.
    pub small_batch: usize,
    /// The big batch size `B_big`.
    pub big_batch: usize,
    /// `S = tr Σ`, unbiased: `(|G_small|² − |G_big|²) / (1/B_small − 1/B_big)`.
    pub trace_covariance: f64,
    /// `|G|²`, unbiased: `(B_big·|G_big|² − B_small·|G_small|²) / (B_big − B_small)`.
    pub gradient_norm_sq: f64,
    /// `B_simple = S / |G|²`, when `|G|² > 0` and `S ≥ 0` (a ratio of
    /// unbiased estimates, not itself unbiased: average `S` and `|G|²` over
    /// batches before dividing, as McCandlish et al. do).
    pub b_simple: Option<f64>,
}

/// The two-batch-size estimator of McCandlish et al. (2018, "An empirical
/// model of large-batch training", appendix A.1). With `E|G_B|² = |G|² +
/// tr Σ / B` for the mean gradient `G_B` of `B` examples,
///
/// `|G|²_est = (B_big·|G_big|² − B_small·|G_small|²) / (B_big − B_small)`,
/// `S_est = (|G_small|² − |G_big|²) / (1/B_small − 1/B_big)`,
///
/// both unbiased, and `B_simple = S_est / |G|²_est`. Here `norm_sq_small`
/// and `norm_sq_big` are the squared norms of the *mean* gradients of
/// `b_small` and `b_big` examples (or averages of such norms).
///
/// ```
/// use gradsign::stats::noise_scale_two_batches;
/// // |G|² = 1, tr Σ = 10: E|G_B|² = 1 + 10/B.
/// let s = noise_scale_two_batches(2, 6.0, 10, 2.0)?;
/// assert!((s.gradient_norm_sq - 1.0).abs() < 1e-12);
/// assert!((s.trace_covariance - 10.0).abs() < 1e-12);
/// assert!((s.b_simple.unwrap() - 10.0).abs() < 1e-12);
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// # Errors
/// [`Error::OutOfDomain`] unless `1 ≤ b_small < b_big` and both squared
/// norms are finite and `≥ 0`.
pub fn noise_scale_two_batches(
    b_small: usize,
    norm_sq_small: f64,
    b_big: usize,
    norm_sq_big: f64,
) -> Result<NoiseScale> {
    let op = "noise_scale_two_batches";
    if !(b_small >= 1 && b_small < b_big) {
        return Err(Error::out_of_domain(
            op,
            "(b_small, b_big)",
            "1 ≤ b_small < b_big",
            format!("({b_small}, {b_big})"),
        ));
    }
    for (name, v) in [
        ("norm_sq_small", norm_sq_small),
        ("norm_sq_big", norm_sq_big),
    ] {
        if !(v.is_finite() && v >= 0.0) {
            return Err(Error::out_of_domain(op, name, "finite and ≥ 0", v));
        }
    }
    Ok(two_batches(b_small, norm_sq_small, b_big, norm_sq_big))
}

fn two_batches(bs: usize, ss: f64, bb: usize, sb: f64) -> NoiseScale {
    let (fs, fb) = (bs as f64, bb as f64);
    let g2 = (fb * sb - fs * ss) / (fb - fs);
    let s = (ss - sb) / (1.0 / fs - 1.0 / fb);
    NoiseScale {
        small_batch: bs,
        big_batch: bb,
        trace_covariance: s,
        gradient_norm_sq: g2,
        b_simple: (g2 > 0.0 && s >= 0.0).then(|| s / g2),
    }
}

/// The noise scale from the Gram's sum and trace: `B_small = 1` (averaged
/// over the batch's examples), `B_big = B`.
fn noise_of(b: usize, sum: f64, trace: f64) -> Option<NoiseScale> {
    (b >= 2).then(|| {
        let bf = b as f64;
        let mut n = two_batches(1, trace / bf, b, (sum / (bf * bf)).max(0.0));
        // tr Σ ≥ 0 exactly (a sample variance); only rounding goes below.
        n.trace_covariance = n.trace_covariance.max(0.0);
        n.b_simple = (n.gradient_norm_sq > 0.0).then(|| n.trace_covariance / n.gradient_norm_sq);
        n
    })
}

/// The simple gradient noise scale `B_simple = tr Σ / |G|²` of McCandlish et
/// al. (2018) from one batch's per-example gradients, by their two-batch
/// estimator ([`noise_scale_two_batches`]) with `B_small = 1` averaged over
/// the batch's `B` examples and `B_big = B`:
///
/// `|G_small|² = mean_n |g_n|² = tr K / B`, `|G_big|² = |ḡ|² = Σ_nm K_nm / B²`,
///
/// which gives `S_est = (tr K − Σ K / B) / (B − 1)`, the trace of the unbiased
/// sample covariance, and `|G|²_est = Σ_{n≠m} K_nm / (B(B − 1))`, the
/// unbiased U-statistic of `|E g|²` (it may be negative when the mean
/// gradient is small; `b_simple` is then `None`).
///
/// ```
/// use gradsign::stats::noise_scale;
/// use gradsign::Tensor;
/// let a = Tensor::<f64>::rand_uniform(&[256, 4], 0.0, 1.0, 1)?;
/// let d = Tensor::<f64>::rand_normal(&[256, 1], 1.0, 1.0, 2)?;
/// let s = noise_scale(&a, &d, false)?;
/// // iid δ ~ N(1, 1), a ~ U(0, 1)⁴: tr Σ = 2·4/3 − 4/4 = 5/3, |G|² = 1: B_simple = 5/3.
/// assert!((s.b_simple.unwrap() - 5.0 / 3.0).abs() < 0.5);
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// # Errors
/// As [`per_example_norms`], and [`Error::OutOfDomain`] for a batch of
/// one (no variance).
pub fn noise_scale<F: Element>(a: &Tensor<F>, d: &Tensor<F>, bias: bool) -> Result<NoiseScale> {
    let op = "noise_scale";
    let (mut ws, l) = prepare(op, a, d, bias)?;
    if l.b < 2 {
        return Err(too_small(op, l.b, "the noise scale"));
    }
    let mut g = Vec::new();
    ws.gram(op, &l, &mut g)?;
    let (sum, trace) = sum_trace(l.b, &g);
    noise_of(l.b, sum, trace).ok_or_else(|| too_small(op, l.b, "the noise scale"))
}

/// [`noise_scale`] from a per-example Gram (B×B, `B ≥ 2`).
///
/// # Errors
/// As [`alignment_from_gram`] for the Gram, and [`Error::OutOfDomain`]
/// for `B = 1`.
pub fn noise_scale_from_gram(gram: &Tensor<f64>) -> Result<NoiseScale> {
    let op = "noise_scale_from_gram";
    let b = check_gram(op, gram)?;
    let (sum, trace) = sum_trace(b, gram.as_slice());
    noise_of(b, sum, trace).ok_or_else(|| too_small(op, b, "the noise scale"))
}

// ---------------------------------------------------------------- GSNR

/// Per-parameter gradient signal-to-noise ratios (see [`gsnr`]).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Gsnr {
    /// Neurons `J`.
    pub fan_out: usize,
    /// Parameters per neuron `K'` (the bias last, when included).
    pub params_per_neuron: usize,
    /// `mean_n g_njk`, row-major J×K'.
    pub mean: Vec<f64>,
    /// The unbiased sample variance of `g_njk` over examples, J×K'.
    pub variance: Vec<f64>,
    /// `mean² / variance`, J×K'; `None` where the variance is 0.
    pub ratio: Vec<Option<f64>>,
}

impl Gsnr {
    /// The mean ratio over the parameters where it is defined (`None` if
    /// nowhere).
    pub fn mean_ratio(&self) -> Option<f64> {
        let (s, n) = self
            .ratio
            .iter()
            .flatten()
            .fold((0.0, 0usize), |(s, n), &r| (s + r, n + 1));
        (n > 0).then(|| s / n as f64)
    }

    /// Parameters whose gradient does not vary over the batch (ratio
    /// undefined).
    pub fn undefined(&self) -> usize {
        self.ratio.iter().filter(|r| r.is_none()).count()
    }
}

/// Mean, variance and ratio of one parameter from `Σ g` and `Σ g²`
/// computed with machine epsilon `eps`.
#[inline]
fn gsnr_entry(b: usize, sum: f64, sum_sq: f64, eps: f64) -> (f64, f64, Option<f64>) {
    let bf = b as f64;
    // Reciprocals: loop-invariant where this is inlined, so a parameter
    // costs one division (the ratio's).
    let mean = sum * (1.0 / bf);
    let raw = sum_sq - sum * mean;
    // Rounding in Σg² − (Σg)²/B is up to about B·ε·Σg²: a variance below
    // that cannot be told from 0, and a ratio over it would be noise.
    let var = if raw <= 4.0 * bf * eps * sum_sq {
        0.0
    } else {
        raw * (1.0 / (bf - 1.0))
    };
    (mean, var, (var > 0.0).then(|| mean * mean / var))
}

/// The gradient signal-to-noise ratio of every parameter (Liu et al. 2020,
/// "Understanding why neural networks generalize well through GSNR of
/// parameters"): `r_jk = μ_jk² / σ_jk²`, with `μ_jk = mean_n g_njk` and
/// `σ_jk² = (Σ_n g_njk² − B·μ_jk²)/(B − 1)` the unbiased sample variance
/// over the batch, from two products:
///
/// `Σ_n g_njk = (ΔᵀÃ)_jk`, `Σ_n g_njk² = ((Δ∘Δ)ᵀ(Ã∘Ã))_jk`.
///
/// Both products run on the crate's matrix kernel in the element type
/// `F`, so `ε` is `F`'s machine epsilon: a variance below
/// `4Bε·Σ_n g_njk² / (B − 1)` is what rounding of the difference leaves
/// of a gradient that does not vary: it is taken as 0 and the ratio is
/// `None` (in `f32`, ratios above about `1/(4Bε)` are therefore `None`,
/// and below it carry a relative error of about `4Bε·(1 + r)`). Memory:
/// the `J×K'` outputs and `O(B·(K + J))`.
///
/// ```
/// use gradsign::stats::gsnr;
/// use gradsign::Tensor;
/// let a = Tensor::from_vec(vec![1.0, 1.0, 1.0, 3.0], &[2, 2])?;
/// let d = Tensor::from_vec(vec![1.0, 1.0], &[2, 1])?;
/// let r = gsnr(&a, &d, false)?;
/// // First input: gradients 1, 1 (no variance); second: 1, 3 (μ = 2, σ² = 2).
/// assert_eq!(r.ratio[0], None);
/// assert_eq!(r.ratio[1], Some(2.0));
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// # Errors
/// As [`per_example_norms`], [`Error::OutOfDomain`] for a batch of one (no
/// variance), and [`Error::TooLarge`] for `J×K'` outputs that cannot be
/// allocated.
pub fn gsnr<F: Element>(a: &Tensor<F>, d: &Tensor<F>, bias: bool) -> Result<Gsnr> {
    let op = "gsnr";
    let (mut ws, l) = prepare(op, a, d, bias)?;
    if l.b < 2 {
        return Err(too_small(op, l.b, "the GSNR"));
    }
    let n = checked(op, "the GSNR", l.j, l.k)?;
    let mut mean = try_filled(op, "the GSNR", n, 0.0)?;
    let mut variance = try_filled(op, "the GSNR", n, 0.0)?;
    let mut ratio = try_filled(op, "the GSNR", n, None)?;
    ws.squares(op, &l)?;
    ws.blocks(op, &l, l.j)?;
    ws.block(&l, (0, l.j), (true, true));
    finite_products(op, "the GSNR", &ws.ss)?;
    let eps = F::epsilon().to_f64();
    for i in 0..n {
        let (m, v, r) = gsnr_entry(l.b, ws.gs[i].to_f64(), ws.ss[i].to_f64(), eps);
        (mean[i], variance[i], ratio[i]) = (m, v, r);
    }
    Ok(Gsnr {
        fan_out: l.j,
        params_per_neuron: l.k,
        mean,
        variance,
        ratio,
    })
}

// ---------------------------------------------------------------- signs

/// Per-parameter sign sums over the batch (see [`sign_agreement`]).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SignAgreement {
    /// Examples `B`.
    pub batch: usize,
    /// Neurons `J`.
    pub fan_out: usize,
    /// Parameters per neuron `K'` (the bias last, when included).
    pub params_per_neuron: usize,
    /// `Σ_n sign g_njk = Σ_n sign(Δ_nj)·sign(ã_nk)`, row-major J×K'
    /// (exact: `|sum| ≤ B`).
    pub sums: Vec<i64>,
}

impl SignAgreement {
    /// The GradSign score of Zhang & Jia (2022): `Σ_jk |Σ_n sign g_njk|`.
    pub fn gradsign_score(&self) -> u64 {
        self.sums.iter().map(|s| s.unsigned_abs()).sum()
    }

    /// The score divided by the number of parameters: in `[0, B]`, about
    /// `√(2B/π)` for independent random signs.
    pub fn gradsign_per_parameter(&self) -> f64 {
        self.gradsign_score() as f64 / self.sums.len() as f64
    }

    /// The AND-mask of Parascandolo et al. (2021, "Learning explanations
    /// that are hard to vary"), with examples in the place of
    /// environments: parameter `jk` is kept when
    /// `|Σ_n sign g_njk| / B ≥ τ`. Row-major J×K'.
    ///
    /// # Errors
    /// [`Error::OutOfDomain`] unless `0 ≤ τ ≤ 1`.
    pub fn and_mask(&self, tau: f64) -> Result<Vec<bool>> {
        check_tau("and_mask", tau)?;
        let b = self.batch as f64;
        Ok(self
            .sums
            .iter()
            .map(|&s| s.unsigned_abs() as f64 >= tau * b)
            .collect())
    }

    /// The share of parameters the AND-mask keeps at `τ`.
    ///
    /// # Errors
    /// As [`and_mask`](Self::and_mask).
    pub fn and_mask_share(&self, tau: f64) -> Result<f64> {
        let kept = self.and_mask(tau)?.iter().filter(|&&m| m).count();
        Ok(kept as f64 / self.sums.len() as f64)
    }
}

/// Sign agreement of the per-example gradients, per parameter
/// (`sign(0) = 0`), in integers without a float product: the signs of each
/// column of `Δ` and `Ã` are packed over the batch into bit masks (a
/// non-zero and a negative bit per example), and
///
/// `Σ_n sign g_njk = Σ_n sign(Δ_nj)·sign(ã_nk) = popcount(nz_j & nz_k) − 2·popcount(nz_j & nz_k & (neg_j ^ neg_k))`
///
/// exactly, for every batch,
///
/// from which the GradSign score `Σ_jk |Σ_n sign g_njk|` (Zhang & Jia 2022)
/// and the AND-mask (Parascandolo et al. 2021) follow
/// ([`SignAgreement`]).
///
/// ```
/// use gradsign::stats::sign_agreement;
/// use gradsign::Tensor;
/// let a = Tensor::from_vec(vec![1.0, -1.0, 2.0, 1.0], &[2, 2])?;
/// let d = Tensor::from_vec(vec![1.0, 1.0], &[2, 1])?;
/// let s = sign_agreement(&a, &d, true)?;
/// assert_eq!(s.sums, vec![2, 0, 2]);          // inputs 0, 1, then the bias
/// assert_eq!(s.gradsign_score(), 4);
/// assert_eq!(s.and_mask(1.0)?, vec![true, false, true]);
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// # Errors
/// As [`per_example_norms`], and [`Error::TooLarge`] for `J×K'` sums that
/// cannot be allocated.
pub fn sign_agreement<F: Element>(
    a: &Tensor<F>,
    d: &Tensor<F>,
    bias: bool,
) -> Result<SignAgreement> {
    let op = "sign_agreement";
    let (mut ws, l) = prepare(op, a, d, bias)?;
    let n = checked(op, "the sign sums", l.j, l.k)?;
    ws.signs(op, &l)?;
    let mut sums = try_filled(op, "the sign sums", n, 0i64)?;
    for (jn, row) in sums.chunks_exact_mut(l.k).enumerate() {
        ws.sign_row(&l, jn, 0);
        for (s, &v) in row.iter_mut().zip(&ws.sg) {
            *s = i64::from(v);
        }
    }
    Ok(SignAgreement {
        batch: l.b,
        fan_out: l.j,
        params_per_neuron: l.k,
        sums,
    })
}

// ---------------------------------------------------------------- stiffness

/// Stiffness between the examples of a batch (see [`stiffness`]).
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Stiffness {
    /// Ordered pairs `(n, m)`, `n ≠ m`: `B(B − 1)`.
    pub pairs: usize,
    /// Sign stiffness `mean_{n≠m} sign(K_nm)` (`sign 0 = 0`), in `[−1, 1]`.
    pub sign: f64,
    /// Cosine stiffness `mean_{n≠m} K_nm/√(K_nn·K_mm)` over the pairs whose
    /// gradients are both non-zero (`None` if there is none).
    pub cosine: Option<f64>,
    /// Pairs that entered the cosine.
    pub cosine_pairs: usize,
    /// Between and within classes, when labels were given.
    pub classes: Option<ClassStiffness>,
}

/// Stiffness between classes: entry `(c, d)` averages over the pairs
/// `n ≠ m` with `label_n = c`, `label_m = d`.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct ClassStiffness {
    /// Classes `C`.
    pub classes: usize,
    /// Sign stiffness, row-major C×C (`None` for a pair of classes with no
    /// pair of examples).
    pub sign: Vec<Option<f64>>,
    /// Cosine stiffness, C×C (`None` where no pair has two non-zero
    /// gradients).
    pub cosine: Vec<Option<f64>>,
}

/// Stiffness (Fort et al. 2019, "Stiffness: a new perspective on
/// generalization in neural networks"): whether a gradient step on example
/// `n` lowers the loss of example `m`, read from the per-example Gram
/// ([`per_example_gram`]):
///
/// `sign stiffness = mean_{n≠m} sign(K_nm)`, `cosine stiffness = mean_{n≠m} K_nm / √(K_nn K_mm)`,
///
/// and, with `classes = Some((labels, C))`, the same means over the pairs
/// of each two classes ([`ClassStiffness`]; the diagonal is within-class).
/// The paper's stiffness is between the losses' gradients with respect to
/// every parameter; here it is a layer's share of them (sum layers' Grams
/// for the network: [`network_statistics`]).
///
/// ```
/// use gradsign::stats::stiffness;
/// use gradsign::Tensor;
/// let a = Tensor::from_vec(vec![1.0, 0.0, 1.0, 0.1, 0.0, 1.0], &[3, 2])?;
/// let d = Tensor::from_vec(vec![1.0, 1.0, 1.0], &[3, 1])?;
/// let s = stiffness(&a, &d, false, Some((&[0, 0, 1], 2)))?;
/// assert_eq!(s.pairs, 6);
/// let c = s.classes.unwrap();
/// assert_eq!(c.sign[0], Some(1.0));                        // within class 0
/// assert!((c.cosine[0].unwrap() - 1.0 / 1.01f64.sqrt()).abs() < 1e-15);
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// # Errors
/// As [`per_example_norms`]; [`Error::OutOfDomain`] for a batch of one (no
/// pair) or `C` above [`MAX_CLASSES`] or 0, [`Error::Incompatible`] for
/// labels whose count is not `B`, [`Error::IndexOutOfRange`] for a label
/// `≥ C`.
pub fn stiffness<F: Element>(
    a: &Tensor<F>,
    d: &Tensor<F>,
    bias: bool,
    classes: Option<(&[usize], usize)>,
) -> Result<Stiffness> {
    let op = "stiffness";
    let (mut ws, l) = prepare(op, a, d, bias)?;
    if l.b < 2 {
        return Err(too_small(op, l.b, "stiffness"));
    }
    check_labels(op, l.b, classes)?;
    let mut g = Vec::new();
    ws.gram(op, &l, &mut g)?;
    stiffness_checked(op, l.b, &g, classes, &mut ws.diag)
}

/// [`stiffness`] from a per-example Gram (B×B, `B ≥ 2`).
///
/// # Errors
/// As [`alignment_from_gram`] for the Gram, and as [`stiffness`] for the
/// batch size and labels.
pub fn stiffness_from_gram(
    gram: &Tensor<f64>,
    classes: Option<(&[usize], usize)>,
) -> Result<Stiffness> {
    let op = "stiffness_from_gram";
    let b = check_gram(op, gram)?;
    if b < 2 {
        return Err(too_small(op, b, "stiffness"));
    }
    check_labels(op, b, classes)?;
    stiffness_checked(op, b, gram.as_slice(), classes, &mut Vec::new())
}

fn check_labels(op: &'static str, b: usize, classes: Option<(&[usize], usize)>) -> Result<()> {
    let Some((labels, c)) = classes else {
        return Ok(());
    };
    if labels.len() != b {
        return Err(Error::Incompatible {
            op,
            what: format!("{} labels for a batch of {b} examples", labels.len()),
        });
    }
    if c == 0 || c > MAX_CLASSES {
        return Err(Error::out_of_domain(
            op,
            "the number of classes",
            format!("in 1..={MAX_CLASSES}"),
            c,
        ));
    }
    if let Some(&l) = labels.iter().find(|&&l| l >= c) {
        return Err(Error::IndexOutOfRange {
            op,
            index: l,
            bound: c,
            shape: crate::shape::Shape::vector(b),
        });
    }
    Ok(())
}

/// Stiffness without labels from a Gram whose diagonal's square roots are
/// `norm`: the same means as [`stiffness_checked`], with the pairs of a
/// row taken in four lanes, without a branch, and the divisions by the
/// norms as multiplications by their reciprocals.
fn stiffness_unlabelled(b: usize, g: &[f64], norm: &mut [f64]) -> Stiffness {
    // 1/‖g_n‖, or 0 for a zero gradient (whose pairs have no cosine).
    for x in norm.iter_mut() {
        *x = if *x > 0.0 { 1.0 / *x } else { 0.0 };
    }
    let inv: &[f64] = norm;
    const L: usize = 4;
    let (mut sign, mut cos, mut cos_n) = ([0i64; L], [0.0f64; L], [0usize; L]);
    for (n, row) in g.chunks_exact(b).enumerate() {
        let inv_n = inv[n];
        // The pairs (n, m), m ≠ n: the row without its diagonal.
        for (row, inv_m) in [(&row[..n], &inv[..n]), (&row[n + 1..], &inv[n + 1..])] {
            let mut pair = |i: usize, x: f64, inv_m: f64| {
                sign[i] += i64::from(x > 0.0) - i64::from(x < 0.0);
                let both = inv_n > 0.0 && inv_m > 0.0;
                let c = (x * inv_n * inv_m).clamp(-1.0, 1.0);
                cos[i] += if both { c } else { 0.0 };
                cos_n[i] += usize::from(both);
            };
            let split = row.len() - row.len() % L;
            for (x, im) in row[..split]
                .chunks_exact(L)
                .zip(inv_m[..split].chunks_exact(L))
            {
                for i in 0..L {
                    pair(i, x[i], im[i]);
                }
            }
            for (i, (&x, &im)) in row[split..].iter().zip(&inv_m[split..]).enumerate() {
                pair(i, x, im);
            }
        }
    }
    let pairs = b * (b - 1);
    let cos_n: usize = cos_n.iter().sum();
    Stiffness {
        pairs,
        sign: sign.iter().sum::<i64>() as f64 / pairs as f64,
        cosine: (cos_n > 0).then(|| cos.iter().sum::<f64>() / cos_n as f64),
        cosine_pairs: cos_n,
        classes: None,
    }
}

/// Stiffness from a checked Gram, with `norm` a buffer for the square
/// roots of its diagonal.
fn stiffness_checked(
    op: &'static str,
    b: usize,
    g: &[f64],
    classes: Option<(&[usize], usize)>,
    norm: &mut Vec<f64>,
) -> Result<Stiffness> {
    fit(op, "the gradient norms", norm, b, 0.0)?;
    for (n, x) in norm.iter_mut().enumerate() {
        *x = g[n * b + n].max(0.0).sqrt();
    }
    let Some((labels, nc)) = classes else {
        return Ok(stiffness_unlabelled(b, g, norm));
    };
    let cells = checked(op, "the class stiffness", nc, nc)?;
    // Per class pair: sign sum, pairs, cosine sum, cosine pairs.
    let mut acc = try_filled(op, "the class stiffness", cells, (0.0, 0usize, 0.0, 0usize))?;
    let (mut sign_sum, mut cos_sum, mut cos_n) = (0.0, 0.0, 0usize);
    for n in 0..b {
        for m in 0..b {
            if n == m {
                continue;
            }
            let s = sign_of(g[n * b + m]);
            let cos = (norm[n] > 0.0 && norm[m] > 0.0)
                .then(|| (g[n * b + m] / norm[n] / norm[m]).clamp(-1.0, 1.0));
            sign_sum += s;
            if let Some(c) = cos {
                cos_sum += c;
                cos_n += 1;
            }
            let cell = &mut acc[labels[n] * nc + labels[m]];
            cell.0 += s;
            cell.1 += 1;
            if let Some(c) = cos {
                cell.2 += c;
                cell.3 += 1;
            }
        }
    }
    let pairs = b * (b - 1);
    let classes = Some(ClassStiffness {
        classes: nc,
        sign: acc
            .iter()
            .map(|x| (x.1 > 0).then(|| x.0 / x.1 as f64))
            .collect(),
        cosine: acc
            .iter()
            .map(|x| (x.3 > 0).then(|| x.2 / x.3 as f64))
            .collect(),
    });
    Ok(Stiffness {
        pairs,
        sign: sign_sum / pairs as f64,
        cosine: (cos_n > 0).then(|| cos_sum / cos_n as f64),
        cosine_pairs: cos_n,
        classes,
    })
}

// ---------------------------------------------------------------- all at once

/// One neuron's statistics (see [`LayerStatistics`]).
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct NeuronStatistics {
    /// The neuron's index `j`.
    pub neuron: usize,
    /// `mean_n ‖g_nj‖ = mean_n |Δ_nj|·‖ã_n‖`.
    pub mean_row_norm: f64,
    /// Alignment of its rows `g_nj` (`None` when all are zero).
    pub alignment: Option<Alignment>,
    /// Noise scale of its rows (`None` for `B = 1`).
    pub noise: Option<NoiseScale>,
    /// Mean GSNR over its parameters where defined (`None` for `B = 1`,
    /// nowhere defined, or not computed: [`StatisticsConfig::gsnr`]).
    pub gsnr_mean: Option<f64>,
    /// Of its parameters, those with an undefined GSNR (no variance); 0
    /// when the GSNR is not computed.
    pub gsnr_undefined: usize,
    /// Its GradSign score `Σ_k |Σ_n sign g_njk|`.
    pub gradsign_score: u64,
    /// The share of its parameters the AND-mask keeps.
    pub and_mask_share: f64,
}

/// Every statistic of one dense layer, per layer and per neuron (see
/// [`layer_statistics`]). The default is an empty value for
/// [`StatisticsWorkspace::layer_statistics_into`] to fill.
#[derive(Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct LayerStatistics {
    /// Examples `B`.
    pub batch: usize,
    /// Rows of `A` and `Δ` per example: 1 for a dense layer, a
    /// convolution's output positions (whose per-example gradients sum
    /// them).
    pub positions: usize,
    /// Inputs `K` (the bias not counted).
    pub fan_in: usize,
    /// Neurons `J`.
    pub fan_out: usize,
    /// Whether the bias is one of each neuron's parameters.
    pub bias: bool,
    /// Parameters `J·K'`.
    pub parameters: usize,
    /// `‖g_n‖ = ‖Δ_n‖·‖ã_n‖`, per example.
    pub example_norms: Vec<f64>,
    /// `|Σ_n g_n|² = Σ_nm K_nm`, the sum of the per-example Gram, from the
    /// summed gradient (without forming the Gram).
    pub gram_sum: f64,
    /// `Σ_n ‖g_n‖² = Σ_n K_nn`, the Gram's trace.
    pub gram_trace: f64,
    /// Alignment and m-coherence of the layer's gradients (`None` when all
    /// are zero).
    pub alignment: Option<Alignment>,
    /// `B_simple` (`None` for `B = 1`).
    pub noise: Option<NoiseScale>,
    /// Stiffness between examples (`None` for `B = 1` or when the Gram is
    /// not computed: [`StatisticsConfig::gram`]).
    pub stiffness: Option<Stiffness>,
    /// Whether the GSNR was computed ([`StatisticsConfig::gsnr`]).
    pub gsnr_computed: bool,
    /// Mean GSNR over the parameters where defined (`None` when nowhere
    /// defined or not computed).
    pub gsnr_mean: Option<f64>,
    /// Parameters with a defined GSNR.
    pub gsnr_defined: usize,
    /// The GradSign score `Σ_jk |Σ_n sign g_njk|`.
    pub gradsign_score: u64,
    /// The score per parameter.
    pub gradsign_per_parameter: f64,
    /// The AND-mask's `τ`.
    pub and_mask_threshold: f64,
    /// Parameters the AND-mask keeps.
    pub and_mask_kept: usize,
    /// The per-example Gram `K` (B×B, row-major) when computed
    /// ([`StatisticsConfig::gram`]; empty otherwise), kept so that layers
    /// can be combined ([`network_statistics`]).
    #[cfg_attr(feature = "serde", serde(skip))]
    pub gram: Vec<f64>,
    /// One entry per neuron.
    pub neurons: Vec<NeuronStatistics>,
}

impl LayerStatistics {
    /// The share of parameters the AND-mask keeps.
    pub fn and_mask_share(&self) -> f64 {
        self.and_mask_kept as f64 / self.parameters as f64
    }

    /// The mean per-example gradient norm.
    pub fn mean_example_norm(&self) -> f64 {
        self.example_norms.iter().sum::<f64>() / self.batch as f64
    }
}

/// The statistics of this module that `config` selects for one dense
/// layer at once, on the crate's matrix kernel in the element type `F` (an
/// `f32` layer in `f32`, an `f64` one in `f64`): the summed gradient
/// `ΔᵀÃ` in blocks of neurons with each neuron's sign sums from bit masks
/// ([`sign_agreement`]), reduced per neuron as they come so that no
/// `J×K'` matrix is held whole; with [`gsnr`](StatisticsConfig::gsnr) the
/// product `(Δ∘Δ)ᵀ(Ã∘Ã)` alongside, and with
/// [`gram`](StatisticsConfig::gram) the Gram (two `B×B` products). A
/// neuron's alignment and noise scale come from `q_j = |Σ_n g_nj|² = Σ_k
/// (ΔᵀÃ)_jk²` and `t_j = Σ_n |g_nj|² = Σ_n Δ_nj²·‖ã_n‖²`, `α_j = q_j/(B·t_j)`,
/// the layer's from `Σ_j q_j` and `Σ_j t_j` (the sum and trace of its
/// Gram, without forming it). Norms and `t_j` are computed in `f64` from
/// the values as given, and the sign sums are exact. Each statistic is as its own function documents
/// ([`per_example_norms`], [`alignment`], [`noise_scale`], [`stiffness`],
/// [`gsnr`], [`sign_agreement`]); the ones undefined for this batch
/// (`B = 1`, all gradients zero) are `None`.
///
/// Memory `O(B² + B·(K + J))` (see [`StatisticsWorkspace`], which keeps
/// the buffers between calls: [`StatisticsWorkspace::layer_statistics_into`]
/// allocates nothing once warm).
///
/// With [`positions`](StatisticsConfig::positions) `P > 1` (a
/// convolution: `A` is `(B·P)×K`, `Δ` is `(B·P)×J`, example `n`'s rows
/// `n·P .. (n + 1)·P`), each example's gradient `G_n = Σ_p Δ_npᵀ·ã_np` is
/// materialised in `F` on the workspace's buffers (`B·J·K'` values,
/// `O(B·P·J·K')` time; no allocation once warm) and every
/// statistic is computed from the `G_n` (see [the module
/// docs](self#convolutions)).
///
/// ```
/// use gradsign::stats::{layer_statistics, StatisticsConfig};
/// use gradsign::Tensor;
/// let a = Tensor::<f32>::rand_uniform(&[64, 5], -0.5, 0.5, 3)?;
/// let d = Tensor::<f32>::rand_normal(&[64, 3], 0.0, 1.0, 4)?;
/// let s = layer_statistics(&a, &d, &StatisticsConfig::default())?;
/// assert_eq!(s.neurons.len(), 3);
/// assert_eq!(s.parameters, 3 * 6);
/// assert!(s.stiffness.is_none() && !s.gsnr_computed); // opt-in
/// let s = layer_statistics(&a, &d, &StatisticsConfig::full())?;
/// assert!(s.stiffness.unwrap().sign.abs() < 0.2); // unrelated examples
/// assert!(s.gsnr_mean.is_some());
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// # Errors
/// As [`per_example_norms`] (the batch limit on the examples `B`, not the
/// rows `B·P`); [`Error::OutOfDomain`] for an AND-mask threshold outside
/// `[0, 1]` or `positions = 0`, [`Error::Incompatible`] for rows that do
/// not split into examples of `positions` rows, [`Error::TooLarge`] for a
/// convolution's `B·J·K'` per-example gradients above
/// [`MAX_SUMMED_GRADIENTS`], [`Error::NonFinite`] for products that
/// overflow `F`.
pub fn layer_statistics<F: Element>(
    a: &Tensor<F>,
    d: &Tensor<F>,
    config: &StatisticsConfig,
) -> Result<LayerStatistics> {
    layer_statistics_slices(
        "layer_statistics",
        (a.as_slice(), a.shape()),
        (d.as_slice(), d.shape()),
        None,
        config,
        &mut StatisticsWorkspace::new(),
    )
}

/// [`layer_statistics`] on slices with their shapes (the analyzer reads a
/// trace's values in place), on the buffers of `ws`.
pub(crate) fn layer_statistics_slices<F: Element>(
    op: &'static str,
    a: (&[F], crate::shape::Shape),
    d: (&[F], crate::shape::Shape),
    known: Option<(&[F], Option<&[F]>)>,
    config: &StatisticsConfig,
    ws: &mut StatisticsWorkspace<F>,
) -> Result<LayerStatistics> {
    let mut out = LayerStatistics::default();
    ws.layer_into(op, a, d, known, config, &mut out)?;
    Ok(out)
}

impl<F: Element> StatisticsWorkspace<F> {
    /// [`layer_statistics`] into `out`, on this workspace's buffers: once
    /// the workspace and `out` have seen a layer at least as large, a call
    /// allocates nothing of its own, for a dense layer and a convolution
    /// (`positions > 1`, whose per-example gradients are kept here too).
    ///
    /// ```
    /// use gradsign::stats::{layer_statistics, LayerStatistics, StatisticsConfig, StatisticsWorkspace};
    /// use gradsign::Tensor;
    /// let a = Tensor::<f64>::rand_normal(&[16, 3], 0.0, 1.0, 1)?;
    /// let d = Tensor::<f64>::rand_normal(&[16, 2], 0.0, 1.0, 2)?;
    /// let cfg = StatisticsConfig::default();
    /// let mut ws = StatisticsWorkspace::new();
    /// let mut out = LayerStatistics::default();
    /// ws.layer_statistics_into(&a, &d, &cfg, &mut out)?;
    /// assert_eq!(out, layer_statistics(&a, &d, &cfg)?);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`layer_statistics`]; `out` is then unspecified.
    pub fn layer_statistics_into(
        &mut self,
        a: &Tensor<F>,
        d: &Tensor<F>,
        config: &StatisticsConfig,
        out: &mut LayerStatistics,
    ) -> Result<()> {
        self.layer_into(
            "layer_statistics",
            (a.as_slice(), a.shape()),
            (d.as_slice(), d.shape()),
            None,
            config,
            out,
        )
    }

    /// The statistics of one layer into `out`. `known` is the layer's
    /// summed gradient when the caller has it (a weight's gradient `ΔᵀA`,
    /// J×K, and the bias's `Σ_n Δ_n`, J, if any): without the GSNR, it
    /// stands for the product `ΔᵀÃ`.
    pub(crate) fn layer_into(
        &mut self,
        op: &'static str,
        a: (&[F], crate::shape::Shape),
        d: (&[F], crate::shape::Shape),
        known: Option<(&[F], Option<&[F]>)>,
        config: &StatisticsConfig,
        out: &mut LayerStatistics,
    ) -> Result<()> {
        check_tau(op, config.and_mask_threshold)?;
        let l = self.prepare(op, a, d, (config.bias, config.positions), config.threads)?;
        if config.positions != 1 {
            return self.summed_into(op, &l, config, out);
        }
        let (b, k, j) = (l.b, l.k, l.j);
        let parameters = checked(op, "the parameters", j, k)?;
        let mut gram = std::mem::take(&mut out.gram);
        if config.gram {
            self.gram(op, &l, &mut gram)?;
        } else {
            gram.clear();
        }
        let mut norms = std::mem::take(&mut out.example_norms);
        example_norms(op, self, &l, &mut norms)?;
        // Per neuron, Σ_n ‖g_nj‖ = Σ_n |Δ_nj|·‖ã_n‖ and
        // t_j = Σ_n ‖g_nj‖² = Σ_n Δ_nj²·‖ã_n‖².
        fit(op, "the row norms", &mut self.row_norm, j, 0.0)?;
        fit(op, "the row norms", &mut self.row_sq, j, 0.0)?;
        for (dn, &an) in l.d.chunks_exact(j).zip(&self.a_norm) {
            let an2 = an * an;
            for ((r, r2), &dv) in self.row_norm.iter_mut().zip(&mut self.row_sq).zip(dn) {
                let dv = dv.to_f64();
                *r += dv.abs() * an;
                *r2 += dv * dv * an2;
            }
        }
        finite_products(op, "the per-example norms", &self.row_sq)?;

        self.signs(op, &l)?;
        let bf = b as f64;
        let mut tally = Tally::new(
            op,
            (b, k, j),
            config.and_mask_threshold,
            std::mem::take(&mut out.neurons),
        )?;
        let known = known.filter(|(w, bg)| {
            !config.gsnr
                && w.len() == j * (k - usize::from(config.bias))
                && bg.is_none_or(|bg| bg.len() == j)
        });
        if let Some((w, bias_grad)) = known {
            // q_j = |Σ_n g_nj|² from the summed gradient as given.
            finite_products(op, "the layer's gradient", w)?;
            let k_in = k - usize::from(config.bias);
            for jn in 0..j {
                let mut q = if k_in > 0 {
                    sum_sq(&w[jn * k_in..(jn + 1) * k_in])
                } else {
                    0.0
                };
                if config.bias {
                    let s = match bias_grad {
                        Some(bg) => bg[jn].to_f64(),
                        None => l.d[jn..]
                            .iter()
                            .step_by(j)
                            .map(|&x| Element::to_f64(x))
                            .sum(),
                    };
                    q += s * s;
                }
                if !q.is_finite() {
                    return Err(Error::NonFinite {
                        op,
                        what: format!("the squared norm of neuron {jn}'s summed gradient"),
                    });
                }
                let signs = self.sign_row(&l, jn, tally.kept_at);
                let t = self.row_sq[jn];
                tally.neuron(jn, (q, t), None, signs, self.row_norm[jn] / bf);
            }
        } else {
            if config.gsnr {
                self.squares(op, &l)?;
            }
            let nb = Self::block_size(&l, false);
            self.blocks(op, &l, nb)?;
            let mut j0 = 0;
            while j0 < j {
                let nbj = nb.min(j - j0);
                self.block(&l, (j0, nbj), (true, config.gsnr));
                finite_products(op, "the summed gradients", &self.gs[..nbj * k])?;
                if config.gsnr {
                    finite_products(op, "the squared gradients", &self.ss[..nbj * k])?;
                }
                for jj in 0..nbj {
                    let jn = j0 + jj;
                    let signs = self.sign_row(&l, jn, tally.kept_at);
                    let r = jj * k..(jj + 1) * k;
                    let t = self.row_sq[jn];
                    let (q, gsnr) =
                        tally.sums(&self.gs[r.clone()], config.gsnr.then(|| &self.ss[r]));
                    tally.neuron(jn, (q, t), gsnr, signs, self.row_norm[jn] / bf);
                }
                j0 += nbj;
            }
        }
        *out = tally.finish(op, config, parameters, gram, norms, &mut self.diag)?;
        Ok(())
    }
}

impl<F: Element> StatisticsWorkspace<F> {
    /// A convolution's statistics (`positions > 1`, `l.b` rows): example
    /// `n`'s gradient is `G_n = Σ_p Δ_npᵀ·ã_np` (J×K'), whose Gram
    /// `Σ_{p,q} (Δ_np·Δ_mq)(ã_np·ã_mq)` is no Hadamard product of two
    /// `B×B` matrices. Materialising the `G_n` (one product per example,
    /// in `F`, on this workspace's buffers) costs `B·J·K'` values, which
    /// for a convolution (few filters of small patches) is less than the
    /// `(B·P)²` of the position-level Grams; the statistics then follow
    /// from the `G_n` directly: their Gram by one more product, the sums,
    /// squares and signs per parameter by one pass.
    fn summed_into(
        &mut self,
        op: &'static str,
        l: &Dense<'_, F>,
        config: &StatisticsConfig,
        out: &mut LayerStatistics,
    ) -> Result<()> {
        let pos = config.positions;
        let (b, k, j) = (l.b / pos, l.k, l.j);
        let per = checked(op, "the parameters", j, k)?;
        let total = checked(op, "the per-example gradients", b, per)?;
        if total > MAX_SUMMED_GRADIENTS {
            return Err(Error::TooLarge {
                op,
                what: format!(
                    "the per-example gradients of {b} examples × {j} filters × {k} parameters \
                     ({total} values)"
                ),
                reason: format!("they exceed MAX_SUMMED_GRADIENTS = {MAX_SUMMED_GRADIENTS}"),
            });
        }
        fit(
            op,
            "the per-example gradients",
            &mut self.per,
            total,
            F::zero(),
        )?;
        for (n, gn) in self.per.chunks_exact_mut(per).enumerate() {
            let rows = n * pos..(n + 1) * pos;
            gemm(
                (j, k, pos),
                (&l.d[rows.start * j..rows.end * j], 1, j),
                (&self.a[rows.start * k..rows.end * k], k, 1),
                gn,
                l.threads,
            );
        }
        finite_products(op, "the per-example gradients", &self.per)?;
        let mut gram = std::mem::take(&mut out.gram);
        gram.clear();
        if config.gram {
            let nn = checked(op, "the per-example Gram", b, b)?;
            fit(op, "the per-example Gram", &mut self.g, nn, F::zero())?;
            gemm(
                (b, b, per),
                (&self.per, per, 1),
                (&self.per, 1, per),
                &mut self.g,
                l.threads,
            );
            finite_products(op, "the per-example Gram", &self.g)?;
            fit(op, "the per-example Gram", &mut gram, nn, 0.0)?;
            for (o, &x) in gram.iter_mut().zip(&self.g) {
                *o = x.to_f64();
            }
        }

        let mut example_norms = std::mem::take(&mut out.example_norms);
        fit(op, "the example norms", &mut example_norms, b, 0.0)?;
        fit(op, "the row norms", &mut self.row_norm, j, 0.0)?;
        fit(op, "the row norms", &mut self.row_sq, j, 0.0)?;
        fit(op, "the parameters' sums", &mut self.gs, per, F::zero())?;
        let squares = if config.gsnr { per } else { 0 };
        fit(op, "the parameters' sums", &mut self.ss, squares, F::zero())?;
        fit(op, "the parameters' sign sums", &mut self.sg, per, 0)?;
        for (gn, norm) in self.per.chunks_exact(per).zip(&mut example_norms) {
            for ((gs, sg), x) in self.gs.iter_mut().zip(&mut self.sg).zip(gn) {
                *gs += *x;
                *sg += i32::from(*x > F::zero()) - i32::from(*x < F::zero());
            }
            for (ss, x) in self.ss.iter_mut().zip(gn) {
                *ss += *x * *x;
            }
            for ((row, rn), r2) in gn
                .chunks_exact(k)
                .zip(&mut self.row_norm)
                .zip(&mut self.row_sq)
            {
                let sq = sum_sq(row);
                *rn += sq.sqrt();
                *r2 += sq;
                *norm += sq;
            }
            *norm = norm.sqrt();
        }
        finite_products(op, "the summed gradients", &self.gs)?;
        finite_products(op, "the squared gradients", &self.ss)?;
        let bf = b as f64;
        let mut tally = Tally::new(
            op,
            (b, k, j),
            config.and_mask_threshold,
            std::mem::take(&mut out.neurons),
        )?;
        for (jn, &row_norm) in self.row_norm.iter().enumerate() {
            let r = jn * k..(jn + 1) * k;
            let signs = crate::kernels::bits::score(&self.sg[r.clone()], tally.kept_at);
            let t = self.row_sq[jn];
            let (q, gsnr) = tally.sums(&self.gs[r.clone()], config.gsnr.then(|| &self.ss[r]));
            tally.neuron(jn, (q, t), gsnr, signs, row_norm / bf);
        }
        *out = tally.finish(op, config, per, gram, example_norms, &mut self.diag)?;
        Ok(())
    }
}

/// The per-neuron reduction both paths share, and the layer's totals.
struct Tally {
    b: usize,
    k: usize,
    j: usize,
    /// The least `|Σ_n sign g|` the AND-mask keeps: `⌈τB⌉` (an integer
    /// `≥ τB` exactly when it is `≥ ⌈τB⌉`).
    kept_at: u32,
    /// `Σ_j q_j = |Σ_n g_n|²` and `Σ_j t_j = Σ_n ‖g_n‖²`: the sum and
    /// trace of the layer's Gram.
    sum: f64,
    trace: f64,
    gsnr_sum: f64,
    gsnr_defined: usize,
    score: u64,
    kept: usize,
    neurons: Vec<NeuronStatistics>,
}

impl Tally {
    /// A tally that pushes its neurons into `neurons` (cleared; its
    /// capacity kept).
    fn new(
        op: &'static str,
        (b, k, j): (usize, usize, usize),
        tau: f64,
        mut neurons: Vec<NeuronStatistics>,
    ) -> Result<Tally> {
        neurons.clear();
        crate::dynamics::try_grow(op, "the neurons' statistics", &mut neurons, j)?;
        Ok(Tally {
            b,
            k,
            j,
            // τ ∈ [0, 1] (checked): 0 ≤ ⌈τB⌉ ≤ B ≤ MAX_GRAM_BATCH.
            kept_at: (tau * b as f64).ceil() as u32,
            sum: 0.0,
            trace: 0.0,
            gsnr_sum: 0.0,
            gsnr_defined: 0,
            score: 0,
            kept: 0,
            neurons,
        })
    }

    /// One neuron's `q = |Σ_n g_nj|²` from its parameters' sums `gs`, and
    /// with their squares' sums `ss` (the GSNR computed) the sum and count
    /// of its parameters' GSNR, as [`gsnr_entry`] defines them.
    fn sums<F: Element>(&self, gs: &[F], ss: Option<&[F]>) -> (f64, Option<(f64, usize)>) {
        match ss {
            Some(ss) => {
                let floor = 4.0 * self.b as f64 * F::epsilon().to_f64();
                let g = crate::kernels::reduce::gsnr_sums(gs, ss, self.b, floor);
                (g.sum_sq, Some((g.ratio_sum, g.defined)))
            }
            None => (sum_sq(gs), None),
        }
    }

    /// Neuron `jn` from `q = |Σ_n g_nj|²` and `t = Σ_n ‖g_nj‖²` (the sum
    /// and trace of its Gram), its parameters' GSNR sum and count when
    /// computed, their sign sums' score, and its mean row norm.
    fn neuron(
        &mut self,
        jn: usize,
        (q, t): (f64, f64),
        gsnr: Option<(f64, usize)>,
        signs: crate::kernels::bits::SignScore,
        mean_row_norm: f64,
    ) {
        let (b, k) = (self.b, self.k);
        let (score, nkept) = (signs.score, signs.kept);
        self.sum += q;
        self.trace += t;
        if let Some((nsum, ndef)) = gsnr {
            self.gsnr_sum += nsum;
            self.gsnr_defined += ndef;
        }
        self.score += score;
        self.kept += nkept;
        self.neurons.push(NeuronStatistics {
            neuron: jn,
            mean_row_norm,
            alignment: alignment_of(b, q, t),
            noise: noise_of(b, q, t),
            gsnr_mean: gsnr.and_then(|(nsum, ndef)| (ndef > 0).then(|| nsum / ndef as f64)),
            gsnr_undefined: match gsnr {
                Some((_, ndef)) if b >= 2 => k - ndef,
                Some(_) => k,
                None => 0,
            },
            gradsign_score: score,
            and_mask_share: nkept as f64 / k as f64,
        });
    }

    fn finish(
        self,
        op: &'static str,
        config: &StatisticsConfig,
        parameters: usize,
        gram: Vec<f64>,
        example_norms: Vec<f64>,
        diag: &mut Vec<f64>,
    ) -> Result<LayerStatistics> {
        let b = self.b;
        let (sum, trace) = (self.sum, self.trace);
        Ok(LayerStatistics {
            batch: b,
            positions: config.positions,
            fan_in: self.k - usize::from(config.bias),
            fan_out: self.j,
            bias: config.bias,
            parameters,
            example_norms,
            gram_sum: sum,
            gram_trace: trace,
            alignment: alignment_of(b, sum, trace),
            noise: noise_of(b, sum, trace),
            stiffness: if b >= 2 && config.gram {
                Some(stiffness_checked(op, b, &gram, None, diag)?)
            } else {
                None
            },
            gsnr_computed: config.gsnr,
            gsnr_mean: (self.gsnr_defined > 0).then(|| self.gsnr_sum / self.gsnr_defined as f64),
            gsnr_defined: self.gsnr_defined,
            gradsign_score: self.score,
            gradsign_per_parameter: self.score as f64 / parameters as f64,
            and_mask_threshold: config.and_mask_threshold,
            and_mask_kept: self.kept,
            gram,
            neurons: self.neurons,
        })
    }
}

/// The statistics of several layers taken together (see
/// [`network_statistics`]). The default is an empty value for
/// [`StatisticsWorkspace::network_statistics_into`] to fill.
#[derive(Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct NetworkStatistics {
    /// Examples `B`.
    pub batch: usize,
    /// Layers combined.
    pub layers: usize,
    /// Parameters of those layers.
    pub parameters: usize,
    /// `‖g_n‖` over all their parameters, per example.
    pub example_norms: Vec<f64>,
    /// Alignment of the concatenated gradients.
    pub alignment: Option<Alignment>,
    /// Their noise scale.
    pub noise: Option<NoiseScale>,
    /// Their stiffness (`None` for `B = 1` or unless every layer's Gram
    /// was computed).
    pub stiffness: Option<Stiffness>,
    /// Whether any layer's GSNR was computed.
    pub gsnr_computed: bool,
    /// Mean GSNR over every parameter where defined (`None` when nowhere
    /// defined or not computed).
    pub gsnr_mean: Option<f64>,
    /// The GradSign score summed over the layers.
    pub gradsign_score: u64,
    /// The score per parameter.
    pub gradsign_per_parameter: f64,
    /// The share of all parameters the AND-mask keeps.
    pub and_mask_share: f64,
}

/// Combines layers measured on the same batch: the per-example gradient of
/// the network (of the layers given) is the concatenation of the layers',
/// so its Gram is `Σ_l K^l`: `α` and `B_simple` follow from the sums and
/// traces of the layers' Grams, the stiffness (when every layer's Gram was
/// computed) from their sum; norms add in squares; the GradSign score and
/// the AND-mask's kept parameters add; the GSNR mean is over all defined
/// parameters.
///
/// ```
/// use gradsign::stats::{layer_statistics, network_statistics, StatisticsConfig};
/// use gradsign::Tensor;
/// let cfg = StatisticsConfig::default();
/// let l0 = layer_statistics(&Tensor::<f64>::rand_normal(&[8, 3], 0.0, 1.0, 1)?, &Tensor::rand_normal(&[8, 4], 0.0, 1.0, 2)?, &cfg)?;
/// let l1 = layer_statistics(&Tensor::<f64>::rand_normal(&[8, 4], 0.0, 1.0, 3)?, &Tensor::rand_normal(&[8, 2], 0.0, 1.0, 4)?, &cfg)?;
/// let net = network_statistics(&[&l0, &l1])?;
/// assert_eq!(net.parameters, 16 + 10);
/// assert_eq!(net.gradsign_score, l0.gradsign_score + l1.gradsign_score);
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// # Errors
/// [`Error::Empty`] for no layer, [`Error::Incompatible`] when their
/// batch sizes differ (naming them), [`Error::NonFinite`] if the summed
/// Gram overflows.
pub fn network_statistics(layers: &[&LayerStatistics]) -> Result<NetworkStatistics> {
    let mut out = NetworkStatistics::default();
    network_into(layers, &mut Vec::new(), &mut Vec::new(), &mut out)?;
    Ok(out)
}

impl<F: Element> StatisticsWorkspace<F> {
    /// [`network_statistics`] into `out`, with the summed Gram on this
    /// workspace's buffers: no allocation once they and `out` have seen a
    /// batch as large.
    ///
    /// ```
    /// use gradsign::stats::{network_statistics, LayerStatistics, NetworkStatistics, StatisticsConfig, StatisticsWorkspace};
    /// use gradsign::Tensor;
    /// let cfg = StatisticsConfig::default();
    /// let mut ws = StatisticsWorkspace::new();
    /// let (mut l0, mut l1) = (LayerStatistics::default(), LayerStatistics::default());
    /// ws.layer_statistics_into(&Tensor::<f64>::rand_normal(&[8, 3], 0.0, 1.0, 1)?, &Tensor::rand_normal(&[8, 4], 0.0, 1.0, 2)?, &cfg, &mut l0)?;
    /// ws.layer_statistics_into(&Tensor::<f64>::rand_normal(&[8, 4], 0.0, 1.0, 3)?, &Tensor::rand_normal(&[8, 2], 0.0, 1.0, 4)?, &cfg, &mut l1)?;
    /// let mut net = NetworkStatistics::default();
    /// ws.network_statistics_into(&[&l0, &l1], &mut net)?;
    /// assert_eq!(net, network_statistics(&[&l0, &l1])?);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`network_statistics`].
    pub fn network_statistics_into(
        &mut self,
        layers: &[&LayerStatistics],
        out: &mut NetworkStatistics,
    ) -> Result<()> {
        network_into(layers, &mut self.net, &mut self.diag, out)
    }
}

/// [`network_statistics`] on the buffers `gram` and `diag`, into `out`.
fn network_into(
    layers: &[&LayerStatistics],
    gram: &mut Vec<f64>,
    diag: &mut Vec<f64>,
    out: &mut NetworkStatistics,
) -> Result<()> {
    let op = "network_statistics";
    let Some(first) = layers.first() else {
        return Err(Error::Empty {
            op,
            shape: crate::shape::Shape::vector(0),
        });
    };
    let b = first.batch;
    if let Some((l, s)) = layers.iter().enumerate().find(|(_, s)| s.batch != b) {
        return Err(Error::Incompatible {
            op,
            what: format!(
                "layer {l} was measured on {} examples, layer 0 on {b}",
                s.batch
            ),
        });
    }
    let with_gram = layers.iter().all(|s| s.gram.len() == b * b);
    let nn = if with_gram {
        checked(op, "the network's Gram", b, b)?
    } else {
        0
    };
    fit(op, "the network's Gram", gram, nn, 0.0)?;
    let mut example_norms = std::mem::take(&mut out.example_norms);
    fit(op, "the example norms", &mut example_norms, b, 0.0)?;
    let (mut params, mut score, mut kept, mut gsnr_sum, mut gsnr_n) = (0, 0, 0, 0.0, 0);
    let (mut sum, mut trace, mut gsnr_computed) = (0.0, 0.0, false);
    for s in layers {
        for (x, &y) in gram.iter_mut().zip(&s.gram) {
            *x += y;
        }
        for (x, &y) in example_norms.iter_mut().zip(&s.example_norms) {
            *x += y * y;
        }
        sum += s.gram_sum;
        trace += s.gram_trace;
        params += s.parameters;
        score += s.gradsign_score;
        kept += s.and_mask_kept;
        gsnr_computed |= s.gsnr_computed;
        if let Some(g) = s.gsnr_mean {
            gsnr_sum += g * s.gsnr_defined as f64;
            gsnr_n += s.gsnr_defined;
        }
    }
    finite_products(op, "the network's Gram", gram)?;
    finite_products(op, "the network's per-example norms", &example_norms)?;
    if !(sum.is_finite() && trace.is_finite()) {
        return Err(Error::NonFinite {
            op,
            what: "the sum or trace of the network's Gram".to_string(),
        });
    }
    for x in &mut example_norms {
        *x = x.sqrt();
    }
    *out = NetworkStatistics {
        batch: b,
        layers: layers.len(),
        parameters: params,
        example_norms,
        alignment: alignment_of(b, sum, trace),
        noise: noise_of(b, sum, trace),
        stiffness: if b >= 2 && with_gram {
            Some(stiffness_checked(op, b, gram, None, diag)?)
        } else {
            None
        },
        gsnr_computed,
        gsnr_mean: (gsnr_n > 0).then(|| gsnr_sum / gsnr_n as f64),
        gradsign_score: score,
        gradsign_per_parameter: score as f64 / params as f64,
        and_mask_share: kept as f64 / params as f64,
    };
    Ok(())
}

// ---------------------------------------------------------------- display

fn opt(x: Option<f64>) -> String {
    x.map_or_else(|| "-".to_string(), number)
}

/// `x`, `-` when undefined, or "not computed".
fn opt_computed(computed: bool, x: Option<f64>) -> String {
    if computed {
        opt(x)
    } else {
        "not computed".to_string()
    }
}

/// One line of the common statistics; `gsnr` and `stiffness` are `None`
/// when not computed.
fn summary_line(
    f: &mut fmt::Formatter<'_>,
    alignment: Option<Alignment>,
    noise: Option<NoiseScale>,
    stiffness: Option<Option<&Stiffness>>,
    (gsnr, score, and_share, tau): (Option<Option<f64>>, f64, f64, Option<f64>),
) -> fmt::Result {
    let stiff = match stiffness {
        Some(s) => format!(
            "sign {} cos {}",
            opt(s.map(|s| s.sign)),
            opt(s.and_then(|s| s.cosine))
        ),
        None => "not computed".to_string(),
    };
    writeln!(
        f,
        "  statistics: α {} (m-coherence {}), B_simple {}, GSNR mean {}, GradSign {} per parameter, \
         AND-mask{} keeps {:.1}%, stiffness {stiff}",
        opt(alignment.map(|a| a.alpha)),
        opt(alignment.map(|a| a.m_coherence)),
        opt(noise.and_then(|n| n.b_simple)),
        opt_computed(gsnr.is_some(), gsnr.flatten()),
        number(score),
        tau.map_or_else(String::new, |t| format!(" (τ {})", number(t))),
        100.0 * and_share,
    )
}

impl fmt::Display for LayerStatistics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        summary_line(
            f,
            self.alignment,
            self.noise,
            (self.batch < 2 || !self.gram.is_empty()).then_some(self.stiffness.as_ref()),
            (
                self.gsnr_computed.then_some(self.gsnr_mean),
                self.gradsign_per_parameter,
                self.and_mask_share(),
                Some(self.and_mask_threshold),
            ),
        )?;
        writeln!(
            f,
            "  per-example gradient norm: mean {}; {}{}",
            number(self.mean_example_norm()),
            if self.gsnr_computed {
                format!(
                    "{} of {} parameters with a defined GSNR",
                    self.gsnr_defined, self.parameters
                )
            } else {
                format!("{} parameters", self.parameters)
            },
            if self.positions > 1 {
                format!(
                    " (each example's gradient sums its {} positions)",
                    self.positions
                )
            } else {
                String::new()
            }
        )
    }
}

impl fmt::Display for NetworkStatistics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "network ({} layers, {} parameters)",
            self.layers, self.parameters
        )?;
        summary_line(
            f,
            self.alignment,
            self.noise,
            (self.batch < 2 || self.stiffness.is_some()).then_some(self.stiffness.as_ref()),
            (
                self.gsnr_computed.then_some(self.gsnr_mean),
                self.gradsign_per_parameter,
                self.and_mask_share,
                None,
            ),
        )
    }
}
