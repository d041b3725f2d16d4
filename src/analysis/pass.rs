//! The fused single pass over a layer's `A` and `Δ` that fills every
//! diagnostic of its report at once (what makes the report cheap): shape
//! checks, the per-example categories from sign extremes, the batch rows,
//! δ's balance and the orthant counts.

use crate::dynamics::{try_filled, try_grow};
use crate::element::Element;
use crate::element::GemmArgs;
use crate::error::{Error, Result};
use crate::shape::Shape;
use std::ops::Range;

use crate::analysis::SignCategory;
use crate::analysis::diagnostics::coherence::{
    CategoryCounts, TallyPass, TheoremCheck, codes_of_example, moves,
};
use crate::analysis::diagnostics::delta_balance::DeltaBalance;
use crate::analysis::diagnostics::input_path::{InputPath, InputSource};
use crate::analysis::diagnostics::inputs::{InputRow, Precondition, summarize_rows};
use crate::analysis::diagnostics::orthants::{OrthantCounter, OrthantOccupancy};
use crate::analysis::report::{LayerReport, NeuronReport};
use crate::analysis::sign::{presence, row_presence};

/// A layer's matrices as borrowed slices (row-major), whatever they came from.
pub(crate) struct LayerData<'a, F> {
    pub(crate) inputs: &'a [F],
    pub(crate) deltas: &'a [F],
    pub(crate) batch: usize,
    pub(crate) fan_in: usize,
    pub(crate) fan_out: usize,
    pub(crate) bias: bool,
    /// The batch rows `G` (J×K) and the bias entries `Σ_n Δ_nj` when they are
    /// already known (a weight's gradient); `None` computes `Δᵀ·A`.
    pub(crate) known_batch_rows: Option<(&'a [F], Option<&'a [F]>)>,
    pub(crate) threads: usize,
}

/// Checks that `inputs` is B×K and `deltas` B×J with the same non-zero `B`,
/// returning `(B, K, J)`.
pub(crate) fn check_matrices(
    op: &'static str,
    inputs: Shape,
    deltas: Shape,
) -> Result<(usize, usize, usize)> {
    let (&[b, k], &[b2, j]) = (inputs.dims(), deltas.dims()) else {
        let (expected, shape) = if inputs.rank() == 2 {
            ("2 (batch × out) for the deltas", deltas)
        } else {
            ("2 (batch × in) for the inputs", inputs)
        };
        return Err(Error::RankMismatch {
            op,
            expected,
            shape,
        });
    };
    if b != b2 {
        return Err(Error::ShapeMismatch {
            op,
            lhs: inputs,
            rhs: deltas,
            reason: "inputs (batch × in) and deltas (batch × out) need the same batch size",
        });
    }
    if b == 0 {
        return Err(Error::Empty { op, shape: inputs });
    }
    // No neurons, nothing to analyse; and without this, two empty matrices
    // [2⁴⁰, 0] would make the analysis loop over, and allocate for, 2⁴⁰
    // examples (found by fuzzing).
    if j == 0 {
        return Err(Error::Empty { op, shape: deltas });
    }
    Ok((b, k, j))
}

/// How many entries of `G` are computed at once: a block of neurons' batch
/// rows at a time keeps the buffer at a few MB whatever `J×K` is (the whole
/// of `G` for `K = J = 10⁵` would be 40 GB in `f32`), and a block of
/// BENCH.md's W3 first layer (128×784) is still one product.
const BATCH_ROW_BLOCK: usize = 1 << 18;

/// The presence codes (see [`presence`]) of the weight part of every batch
/// row `G_j = Σ_n Δ_nj·a_n` (the bias entry not included), from products of
/// `Δᵀ·A` over blocks of neurons, reading both operands in place through
/// strides. Never holds more than [`BATCH_ROW_BLOCK`] entries (or one row)
/// of `G`.
///
/// # Errors
/// [`Error::TooLarge`] naming `op` if the codes or one block cannot be
/// allocated.
pub(crate) fn batch_row_codes<F: Element>(
    op: &'static str,
    d: &LayerData<'_, F>,
    tol: F,
) -> Result<Vec<u8>> {
    let (b, k, j) = (d.batch, d.fan_in, d.fan_out);
    let mut out = try_filled(op, "the batch-row codes", j, row_presence::<F>(&[], tol))?;
    if k == 0 {
        return Ok(out);
    }
    let block = (BATCH_ROW_BLOCK / k).clamp(1, j);
    let mut g = try_filled(op, "a block of batch rows", block * k, F::zero())?;
    for j0 in (0..j).step_by(block) {
        let m = block.min(j - j0);
        let c = &mut g[..m * k];
        F::gemm(GemmArgs {
            m,
            n: k,
            k: b,
            // Δᵀ's rows j0.. are Δ's columns: element (i, n) at (j0 + i) + n·J.
            a: &d.deltas[j0..],
            a_rs: 1,
            a_cs: j,
            b: d.inputs,
            b_rs: k,
            b_cs: 1,
            c,
            c_rs: k,
            accumulate: false,
            threads: d.threads,
        });
        rows_presence((c, k), tol, &mut out[j0..j0 + m], d.threads);
    }
    Ok(out)
}

/// Entries of `G` from which [`rows_presence`] splits its rows between two
/// threads (below it, handing work to the pool costs more than it saves).
const PARALLEL_PRESENCE: usize = 1 << 16;

/// `out[j] = row_presence(G_j)` for every `k`-long row of `g`, in two halves
/// on two threads when `threads > 1` and `G` is large; each half compiled
/// for the CPU's vector instructions. The codes do not depend on the split.
fn rows_presence<F: Element>((g, k): (&[F], usize), tol: F, out: &mut [u8], threads: usize) {
    struct Rows<'a, F>(&'a [F], usize, F, &'a mut [u8]);
    impl<F: Element> pulp::WithSimd for Rows<'_, F> {
        type Output = ();
        #[inline(always)]
        fn with_simd<S: pulp::Simd>(self, _: S) {
            let Rows(g, k, tol, out) = self;
            if k == 0 {
                out.fill(row_presence::<F>(&[], tol));
                return;
            }
            for (o, row) in out.iter_mut().zip(g.chunks_exact(k)) {
                *o = row_presence(row, tol);
            }
        }
    }
    let run = |g: &[F], out: &mut [u8]| pulp::Arch::new().dispatch(Rows(g, k, tol, out));
    if threads > 1 && out.len() >= 2 && g.len() >= PARALLEL_PRESENCE {
        let h = out.len() / 2;
        let (o0, o1) = out.split_at_mut(h);
        let (g0, g1) = g.split_at(h * k);
        rayon::join(|| run(g0, o0), || run(g1, o1));
    } else {
        run(g, out);
    }
}

/// The whole per-layer analysis. `tol` is the tolerance in `F`, `tol_f64`
/// the same for the report.
///
/// Memory beyond the report: the code bytes (`B×J`), `O(B + J + K)`
/// counters, and a block of at most [`BATCH_ROW_BLOCK`] entries of the batch
/// rows when they are not known (none at all for `B = 1`, where the batch
/// row is the one per-example row).
///
/// # Errors
/// [`Error::TooLarge`] naming `op` when one of those buffers cannot be
/// allocated.
pub(crate) fn analyze_data<F: Element>(
    op: &'static str,
    d: &LayerData<'_, F>,
    tol: F,
    tol_f64: f64,
) -> Result<LayerReport> {
    // Compiled for the CPU's vector instructions (detected at run time):
    // the sign and extreme scans below are plain loops over the rows, which
    // baseline x86-64 runs four lanes at a time.
    struct Pass<'a, 'd, F>(&'static str, &'a LayerData<'d, F>, F, f64);
    impl<F: Element> pulp::WithSimd for Pass<'_, '_, F> {
        type Output = Result<LayerReport>;
        #[inline(always)]
        fn with_simd<S: pulp::Simd>(self, _: S) -> Self::Output {
            analyze_data_body(self.0, self.1, self.2, self.3)
        }
    }
    pulp::Arch::new().dispatch(Pass(op, d, tol, tol_f64))
}

/// Layers with at least this many per-example codes (`B×J`) split their
/// neurons between two threads when `threads > 1`; below it, handing work
/// to the pool costs more than it saves.
const PARALLEL_CODES: usize = 1 << 14;

/// Input entries (`B×K`) from which the input rows are summarised on one
/// thread while the batch rows' codes are taken on the other.
const PARALLEL_SUMMARY: usize = 1 << 15;

#[inline(always)]
fn analyze_data_body<F: Element>(
    op: &'static str,
    d: &LayerData<'_, F>,
    tol: F,
    tol_f64: f64,
) -> Result<LayerReport> {
    let (b, k, j) = (d.batch, d.fan_in, d.fan_out);
    let entries = k + usize::from(d.bias);
    let two = d.threads > 1;
    let mut rows: Vec<InputRow<F>> = Vec::new();
    // The batch rows' weight codes: from the known rows (a weight's
    // gradient), from rows computed block by block, or none when the batch is
    // one example (the per-example row is then the batch row, `G_j =
    // Δ_1j·a_1`, classified exactly as the product would be).
    let weight_codes = |threads: usize| -> Result<Option<Vec<u8>>> {
        let d = LayerData { threads, ..*d };
        match d.known_batch_rows {
            Some((g, _)) => {
                let mut c = try_filled(op, "the batch-row codes", j, 0u8)?;
                rows_presence((g, k), tol, &mut c, threads);
                Ok(Some(c))
            }
            None if b > 1 => Ok(Some(batch_row_codes(op, &d, tol)?)),
            None => Ok(None),
        }
    };
    let (inputs, weight_codes) = if two && b * k >= PARALLEL_SUMMARY {
        // Each side on one thread: the summary on this one, the codes on
        // the other (each compiled for the CPU's vector instructions).
        let (i, w) = rayon::join(
            || pulp::Arch::new().dispatch(Summarize(op, d.inputs, (b, k, d.bias), tol, &mut rows)),
            || pulp::Arch::new().dispatch(Codes(&weight_codes)),
        );
        (i?, w?)
    } else {
        // Called in place: compiled into this pass (measured faster than
        // through its own dispatch, 155 against 215 µs on W5's layers).
        let i = summarize_rows(op, d.inputs, b, k, d.bias, tol, &mut rows)?;
        (i, weight_codes(d.threads)?)
    };
    let mut orthants = OrthantCounter::new(op, rows.iter().map(|r| (r.pattern, r.definite)))?;
    let known_bias = d.known_batch_rows.and_then(|(_, gb)| gb);
    let need_bias_sums = d.bias
        && match d.known_batch_rows {
            Some((_, g_bias)) => g_bias.is_none(),
            None => weight_codes.is_some(),
        };
    let part = Part {
        op,
        d,
        rows: &rows,
        tol,
        empty: entries == 0,
        weight_codes: weight_codes.as_deref(),
        known_bias,
        need_bias_sums,
    };
    let parts = if two && b * j >= PARALLEL_CODES && j >= 2 {
        // Neurons [0, J/2) here, [J/2, J) on the other thread: each neuron's
        // counters are its own, so the report is the one-thread report.
        let mut other = orthants.try_clone(op)?;
        let h = j / 2;
        let (p0, p1) = rayon::join(
            || pulp::Arch::new().dispatch(PartPass(&part, 0..h, &mut orthants)),
            || pulp::Arch::new().dispatch(PartPass(&part, h..j, &mut other)),
        );
        [p0?, p1?]
    } else {
        [part.run(0..j, &mut orthants)?, PartOut::default()]
    };

    let mut neurons = Vec::new();
    try_grow(op, "the neuron reports", &mut neurons, j)?;
    let mut per_example = CategoryCounts::default();
    let mut batch_cats = CategoryCounts::default();
    let mut delta_all = DeltaBalance::default();
    let mut theorem = TheoremCheck::default();
    let (mut cos_sum_all, mut cos_n_all) = (0.0f64, 0usize);
    for p in parts {
        per_example.merge(&p.per_example);
        batch_cats.merge(&p.batch_rows);
        delta_all.merge(&p.delta);
        theorem.rows_checked += p.theorem.rows_checked;
        theorem.violations += p.theorem.violations;
        cos_n_all += p.cos_n;
        // Added neuron by neuron in order, as one pass over all J would.
        for &c in &p.cos_sums {
            cos_sum_all += c;
        }
        neurons.extend(p.neurons);
    }

    let visited = neurons.iter().map(|n| n.orthants_visited);
    let occupancy = OrthantOccupancy {
        dimension: entries,
        min: visited.clone().min().unwrap_or(0),
        mean: if j == 0 {
            0.0
        } else {
            visited.clone().sum::<usize>() as f64 / j as f64
        },
        max: visited.max().unwrap_or(0),
    };
    Ok(LayerReport {
        layer: None,
        batch: b,
        fan_in: k,
        fan_out: j,
        bias: d.bias,
        sign_tolerance: tol_f64,
        activation: None,
        input_source: InputSource::Unknown,
        input_path: InputPath::default(),
        inputs,
        precondition: Precondition {
            examples: b,
            strictly_positive: rows.iter().filter(|r| r.strictly_positive).count(),
            non_negative: rows.iter().filter(|r| r.non_negative && r.finite).count(),
            one_pattern: orthants.modal_pattern_examples(),
        },
        theorem,
        per_example,
        batch_rows: batch_cats,
        delta: delta_all,
        orthants: occupancy,
        mean_abs_cos_ones: (cos_n_all > 0).then(|| cos_sum_all / cos_n_all as f64),
        dead_neurons: neurons.iter().filter(|n| n.per_example.zero == b).count(),
        saturation: None,
        curvature: None,
        constant_inputs: None,
        statistics: None,
        neurons,
        positions: 1,
        per_example_summed: None,
    })
}

/// [`summarize_rows`] compiled for the CPU's vector instructions.
struct Summarize<'a, 'r, F>(
    &'static str,
    &'a [F],
    (usize, usize, bool),
    F,
    &'r mut Vec<InputRow<F>>,
);

impl<F: Element> pulp::WithSimd for Summarize<'_, '_, F> {
    type Output = Result<crate::analysis::diagnostics::inputs::InputStats>;
    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) -> Self::Output {
        let Summarize(op, inputs, (b, k, bias), tol, rows) = self;
        summarize_rows(op, inputs, b, k, bias, tol, rows)
    }
}

/// The batch rows' codes on one thread, compiled for the CPU's vector
/// instructions.
struct Codes<'a, C>(&'a C);

impl<C: Fn(usize) -> Result<Option<Vec<u8>>>> pulp::WithSimd for Codes<'_, C> {
    type Output = Result<Option<Vec<u8>>>;
    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) -> Self::Output {
        (self.0)(1)
    }
}

/// What the per-neuron part of the pass reads: the layer, its input-row
/// summaries and the batch rows' codes.
struct Part<'a, 'd, F> {
    op: &'static str,
    d: &'a LayerData<'d, F>,
    rows: &'a [InputRow<F>],
    tol: F,
    /// The layer has no entries (no inputs, no bias).
    empty: bool,
    weight_codes: Option<&'a [u8]>,
    known_bias: Option<&'a [F]>,
    need_bias_sums: bool,
}

/// The per-neuron part's results for a range of neurons.
#[derive(Default)]
struct PartOut {
    neurons: Vec<NeuronReport>,
    /// `Σ |cos(g, 1)|` of each neuron, in order.
    cos_sums: Vec<f64>,
    cos_n: usize,
    per_example: CategoryCounts,
    batch_rows: CategoryCounts,
    delta: DeltaBalance,
    theorem: TheoremCheck,
}

/// [`Part::run`] compiled for the CPU's vector instructions.
struct PartPass<'p, 'a, 'd, 'o, F>(&'p Part<'a, 'd, F>, Range<usize>, &'o mut OrthantCounter);

impl<F: Element> pulp::WithSimd for PartPass<'_, '_, '_, '_, F> {
    type Output = Result<PartOut>;
    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) -> Self::Output {
        self.0.run(self.1, self.2)
    }
}

impl<F: Element> Part<'_, '_, F> {
    /// The reports of neurons `range`: example by example, the code bytes
    /// of those neurons and their counters (`Δ`'s rows are contiguous, so
    /// these are plain loops over `j`), then neuron by neuron, the orthants
    /// it visits and its report.
    #[inline(always)]
    fn run(&self, range: Range<usize>, orthants: &mut OrthantCounter) -> Result<PartOut> {
        let (op, d, tol) = (self.op, self.d, self.tol);
        let (j, w) = (d.fan_out, range.len());
        let j0 = range.start;
        let bias_sums_len = if self.need_bias_sums { w } else { 0 };
        let mut bias_sums = try_filled(op, "the bias sums", bias_sums_len, F::zero())?;
        let mut tally = TallyPass::new(op, w)?;
        // B×w ≤ the deltas' length: no overflow.
        let mut codes = try_filled(op, "the per-example codes", d.batch * w, 0u8)?;
        for (n, row) in self.rows.iter().enumerate() {
            let deltas = &d.deltas[n * j + j0..][..w];
            let out = &mut codes[n * w..(n + 1) * w];
            codes_of_example(row, deltas, tol, self.empty, out);
            tally.add_example(row, out);
            for (s, &x) in bias_sums.iter_mut().zip(deltas) {
                *s += x;
            }
        }
        let tallies = tally.finish();

        let mut out = PartOut::default();
        try_grow(op, "the neuron reports", &mut out.neurons, w)?;
        for i in 0..w {
            let jj = j0 + i;
            orthants.reset();
            orthants.visit_column(&codes, i, w, moves);
            let bias_sum = if self.need_bias_sums {
                bias_sums[i]
            } else {
                F::zero()
            };
            let at = |v: &Vec<u32>| v[i] as usize;
            let (cos_sum, cos_n) = (tallies.cos_sum[i], at(&tallies.cos_n));
            let (checked, violations) = (at(&tallies.checked), at(&tallies.violations));
            let code = match self.weight_codes {
                Some(weights) if d.bias => {
                    weights[jj] | presence(self.known_bias.map_or(bias_sum, |gb| gb[jj]), tol)
                }
                Some(weights) => weights[jj],
                // One example: its row's code, bias included (low four bits).
                None => codes[i] & 15,
            };
            let batch_row = SignCategory::from_code(code);
            let counts = CategoryCounts::from_array(tallies.categories.each_ref().map(at));
            let delta = DeltaBalance {
                positive: at(&tallies.deltas[0]),
                negative: at(&tallies.deltas[1]),
                zero: at(&tallies.deltas[2]),
                non_finite: at(&tallies.deltas[3]),
            };
            out.batch_rows.add(batch_row);
            out.per_example.merge(&counts);
            out.delta.merge(&delta);
            out.theorem.rows_checked += checked;
            out.theorem.violations += violations;
            out.cos_n += cos_n;
            out.neurons.push(NeuronReport {
                neuron: jj,
                per_example: counts,
                batch_row,
                delta,
                orthants_visited: orthants.visited(),
                mean_abs_cos_ones: (cos_n > 0).then(|| cos_sum / cos_n as f64),
                theorem_violations: violations,
            });
        }
        out.cos_sums = tallies.cos_sum;
        Ok(out)
    }
}

/// The categories of each example's own gradient rows for a layer applied
/// at `positions` consecutive rows per example (a convolution): row `j` of
/// example `n` is `G_nj = Σ_p Δ_{(n,p)j}·a_{(n,p)}`, with `Σ_p Δ_{(n,p)j}`
/// as its bias entry. One `J×K` block product per example (the weight
/// gradient's own work, split by example); never more than the codes of one
/// example and one block of its rows in memory.
///
/// # Errors
/// [`Error::Incompatible`] naming `op` if the rows do not split into
/// whole examples; [`Error::TooLarge`] if a buffer cannot be allocated.
pub(crate) fn grouped_row_counts<F: Element>(
    op: &'static str,
    d: &LayerData<'_, F>,
    positions: usize,
    tol: F,
) -> Result<CategoryCounts> {
    let (rows, k, j) = (d.batch, d.fan_in, d.fan_out);
    if positions == 0 || rows % positions != 0 {
        return Err(Error::incompatible(
            op,
            format!("{rows} rows do not split into examples of {positions} positions"),
        ));
    }
    let mut counts = CategoryCounts::default();
    for n in 0..rows / positions {
        let (r0, r1) = (n * positions, (n + 1) * positions);
        let example = LayerData {
            inputs: &d.inputs[r0 * k..r1 * k],
            deltas: &d.deltas[r0 * j..r1 * j],
            batch: positions,
            fan_in: k,
            fan_out: j,
            bias: d.bias,
            known_batch_rows: None,
            threads: d.threads,
        };
        let codes = batch_row_codes(op, &example, tol)?;
        for (jj, &code) in codes.iter().enumerate() {
            let mut code = code;
            if d.bias {
                let mut sum = F::zero();
                for p in 0..positions {
                    sum += example.deltas[p * j + jj];
                }
                code |= presence(sum, tol);
            }
            counts.add(SignCategory::from_code(code));
        }
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::GradientSignAnalyzer;
    use crate::tensor::Tensor;

    #[test]
    fn batch_row_categories_match_the_report() {
        let a = Tensor::rand_uniform(&[40, 3], 0.0, 1.0, 12).unwrap();
        let d = Tensor::rand_normal(&[40, 30], 0.0, 1.0, 13).unwrap();
        for bias in [false, true] {
            let an = GradientSignAnalyzer::default().with_bias(bias);
            let cats = an.batch_row_categories(&a, &d).unwrap();
            let r = an.analyze_layer(&a, &d).unwrap();
            let from_report: Vec<SignCategory> = r.neurons.iter().map(|n| n.batch_row).collect();
            assert_eq!(cats, from_report);
        }
    }

    fn t(data: &[f64], dims: &[usize]) -> Tensor<f64> {
        Tensor::from_slice(data, dims).unwrap()
    }

    #[test]
    fn batch_size_mismatch_names_both_shapes() {
        let err = GradientSignAnalyzer::default()
            .analyze_layer(&t(&[1.0; 6], &[3, 2]), &t(&[1.0; 2], &[2, 1]))
            .unwrap_err();
        assert!(matches!(err, Error::ShapeMismatch { .. }));
        let msg = err.to_string();
        assert!(msg.contains("[3, 2]") && msg.contains("[2, 1]"), "{msg}");
    }

    #[test]
    fn empty_batch_is_an_error() {
        let err = GradientSignAnalyzer::default()
            .analyze_layer(&t(&[], &[0, 2]), &t(&[], &[0, 3]))
            .unwrap_err();
        assert!(matches!(
            err,
            Error::Empty {
                op: "analyze_layer",
                ..
            }
        ));
    }

    #[test]
    fn vector_inputs_are_a_rank_error() {
        let err = GradientSignAnalyzer::default()
            .analyze_layer(&t(&[1.0; 2], &[2]), &t(&[1.0; 2], &[2, 1]))
            .unwrap_err();
        assert!(matches!(err, Error::RankMismatch { .. }));
    }

    #[test]
    fn negative_tolerance_is_rejected() {
        let err = GradientSignAnalyzer::default()
            .with_sign_tolerance(-1.0)
            .analyze_layer(&t(&[1.0], &[1, 1]), &t(&[1.0], &[1, 1]))
            .unwrap_err();
        assert!(matches!(err, Error::OutOfDomain { .. }));
    }

    #[test]
    fn nan_delta_is_counted_non_finite_not_classified() {
        let r = GradientSignAnalyzer::default()
            .analyze_layer(&t(&[1.0, 2.0], &[1, 2]), &t(&[f64::NAN, 1.0], &[1, 2]))
            .unwrap();
        assert_eq!(r.per_example.non_finite, 1);
        assert_eq!(r.per_example.positive, 1);
        assert_eq!(r.delta.non_finite, 1);
        assert_eq!(r.batch_rows.non_finite, 1);
        assert_eq!(r.theorem.rows_checked, 1);
    }

    #[test]
    fn batch_rows_match_the_explicit_sum() {
        // G_0 = 1·(1, 2) + (−3)·(0.5, 1) = (−0.5, −1); bias Σδ = −2.
        let r = GradientSignAnalyzer::default()
            .analyze_layer(
                &t(&[1.0, 2.0, 0.5, 1.0], &[2, 2]),
                &t(&[1.0, -3.0], &[2, 1]),
            )
            .unwrap();
        assert_eq!(r.neurons[0].batch_row, SignCategory::Negative);
    }

    #[test]
    fn bias_column_breaks_coherence_of_negative_inputs() {
        // a = (−1, −2) with the bias input +1: δ·(−1, −2, 1) is mixed.
        let a = t(&[-1.0, -2.0], &[1, 2]);
        let d = t(&[1.0], &[1, 1]);
        let with = GradientSignAnalyzer::default()
            .analyze_layer(&a, &d)
            .unwrap();
        let without = GradientSignAnalyzer::default()
            .without_bias()
            .analyze_layer(&a, &d)
            .unwrap();
        assert_eq!(with.per_example.mixed, 1);
        assert_eq!(without.per_example.negative, 1);
    }

    #[test]
    fn dead_neuron_has_only_zero_rows() {
        let r = GradientSignAnalyzer::default()
            .analyze_layer(
                &t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]),
                &t(&[0.0, 1.0, -0.0, 1.0], &[2, 2]),
            )
            .unwrap();
        assert_eq!(r.dead_neurons, 1);
        assert_eq!(r.neurons[0].per_example.zero, 2);
        assert_eq!(r.neurons[0].batch_row, SignCategory::Zero);
        assert_eq!(r.neurons[0].orthants_visited, 0);
    }

    #[test]
    fn orthants_of_positive_inputs_are_two_at_most() {
        // δ of both signs over positive inputs: the orthants (+,+,+) and (−,−,−).
        let a = Tensor::rand_uniform(&[64, 2], 0.1, 1.0, 3).unwrap();
        let d = Tensor::rand_normal(&[64, 5], 0.0, 1.0, 4).unwrap();
        let r = GradientSignAnalyzer::default()
            .analyze_layer(&a, &d)
            .unwrap();
        assert_eq!((r.orthants.min, r.orthants.max), (2, 2));
        assert_eq!(r.orthants.dimension, 3);
        assert_eq!(r.precondition.one_pattern, 64);
    }

    #[test]
    fn relu_like_inputs_stay_in_the_two_closed_orthants() {
        // Zeros lie on the boundary; every row δ·a with a ≥ 0 is in the closed
        // positive orthant (δ > 0) or the closed negative one (δ < 0).
        let a = Tensor::rand_uniform(&[64, 4], -1.0, 1.0, 5)
            .unwrap()
            .map(|x: f64| x.max(0.0));
        let d = Tensor::rand_normal(&[64, 3], 0.0, 1.0, 6).unwrap();
        let r = GradientSignAnalyzer::default()
            .analyze_layer(&a, &d)
            .unwrap();
        assert_eq!(r.orthants.max, 2);
        assert_eq!(r.per_example.mixed, 0);
    }

    #[test]
    fn zero_rows_do_not_count_against_coherence() {
        // One dead unit (δ = 0) and one live one: coherence is over moving rows.
        let r = GradientSignAnalyzer::default()
            .analyze_layer(&t(&[1.0, 2.0], &[1, 2]), &t(&[0.0, 1.0], &[1, 2]))
            .unwrap();
        assert_eq!(r.per_example.zero, 1);
        assert_eq!(r.per_example_coherence(), 1.0);
    }

    #[test]
    fn delta_balance_counts_both_signs() {
        let r = GradientSignAnalyzer::default()
            .analyze_layer(&t(&[1.0; 3], &[3, 1]), &t(&[1.0, -2.0, 3.0], &[3, 1]))
            .unwrap();
        assert_eq!(r.neurons[0].delta.positive, 2);
        assert_eq!(r.neurons[0].delta.negative, 1);
        assert!((r.neurons[0].delta.positive_share() - 2.0 / 3.0).abs() < 1e-15);
    }

    #[test]
    fn example_categories_match_the_report_counts() {
        let a = Tensor::rand_uniform(&[20, 4], -0.5, 0.5, 8).unwrap();
        let d = Tensor::rand_normal(&[20, 3], 0.0, 1.0, 9).unwrap();
        let an = GradientSignAnalyzer::default();
        let cats = an.example_categories(&a, &d).unwrap();
        let r = an.analyze_layer(&a, &d).unwrap();
        let mut counts = CategoryCounts::default();
        cats.iter().for_each(|&c| counts.add(c));
        assert_eq!(counts, r.per_example);
    }
}
