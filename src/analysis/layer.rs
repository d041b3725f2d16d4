//! The analysis of one dense layer from its inputs `A` (B×K) and deltas
//! `Δ = ∂L/∂Z` (B×J): `O(B·(K+J))` for everything per example, plus the one
//! product `G = Δᵀ·A` for the batch rows.

use crate::element::Element;
use crate::error::{Error, Result};
use crate::kernels::matmul::GemmArgs;
use crate::shape::Shape;
use crate::tensor::Tensor;

use super::analyzer::GradientSignAnalyzer;
use super::curvature::input_curvature;
use super::input_rows::{InputRow, summarize_rows};
use super::orthants::OrthantCounter;
use super::report::{
    CategoryCounts, DeltaBalance, InputSource, LayerReport, NeuronReport, OrthantOccupancy,
    Precondition, TheoremCheck,
};
use super::sign::{SignCategory, presence, row_presence};
use super::tally::{Tallies, codes_of_example, moves};

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

/// The batch rows `G = Δᵀ·A` (J×K) with one product, reading both operands
/// in place through strides.
fn batch_rows<F: Element>(d: &LayerData<'_, F>) -> Vec<F> {
    let mut g = vec![F::zero(); d.fan_out * d.fan_in];
    F::gemm(GemmArgs {
        m: d.fan_out,
        n: d.fan_in,
        k: d.batch,
        a: d.deltas,
        a_rs: 1,
        a_cs: d.fan_out,
        b: d.inputs,
        b_rs: d.fan_in,
        b_cs: 1,
        c: &mut g,
        c_rs: d.fan_in,
        accumulate: false,
        threads: d.threads,
    });
    g
}

/// The whole per-layer analysis. `tol` is the tolerance in `F`, `tol_f64`
/// the same for the report.
pub(crate) fn analyze_data<F: Element>(d: &LayerData<'_, F>, tol: F, tol_f64: f64) -> LayerReport {
    let (b, k, j) = (d.batch, d.fan_in, d.fan_out);
    let entries = k + usize::from(d.bias);
    let mut rows: Vec<InputRow<F>> = Vec::new();
    let inputs = summarize_rows(d.inputs, b, k, d.bias, tol, &mut rows);
    let mut orthants = OrthantCounter::new(rows.iter().map(|r| (r.pattern, r.definite)));
    let computed;
    let (g, g_bias) = match d.known_batch_rows {
        Some(known) => known,
        None => {
            computed = batch_rows(d);
            (&computed[..], None)
        }
    };

    let mut neurons = Vec::with_capacity(j);
    let mut per_example = CategoryCounts::default();
    let mut batch_cats = CategoryCounts::default();
    let mut delta_all = DeltaBalance::default();
    let mut theorem = TheoremCheck::default();
    let (mut cos_sum_all, mut cos_n_all) = (0.0f64, 0usize);

    // Example by example: Δ's rows are contiguous, so the codes of all J
    // neurons and their counters are plain loops over j.
    let need_bias_sums = d.bias && g_bias.is_none();
    let mut bias_sums = vec![F::zero(); if need_bias_sums { j } else { 0 }];
    let mut tallies = Tallies::new(j);
    let mut codes = vec![0u8; b * j];
    for (n, row) in rows.iter().enumerate() {
        let deltas = &d.deltas[n * j..(n + 1) * j];
        let out = &mut codes[n * j..(n + 1) * j];
        codes_of_example(row, deltas, tol, entries == 0, out);
        tallies.add_example(row, out);
        for (s, &x) in bias_sums.iter_mut().zip(deltas) {
            *s += x;
        }
    }

    for jj in 0..j {
        orthants.reset();
        orthants.visit_column(&codes, jj, j, moves);
        let bias_sum = if need_bias_sums {
            bias_sums[jj]
        } else {
            F::zero()
        };
        let at = |v: &Vec<u32>| v[jj] as usize;
        let (cos_sum, cos_n) = (tallies.cos_sum[jj], at(&tallies.cos_n));
        let (checked, violations) = (at(&tallies.checked), at(&tallies.violations));
        let mut code = row_presence(&g[jj * k..(jj + 1) * k], tol);
        if d.bias {
            code |= presence(g_bias.map_or(bias_sum, |gb| gb[jj]), tol);
        }
        let batch_row = SignCategory::from_code(code);
        let counts = CategoryCounts::from_array(tallies.categories.each_ref().map(at));
        let delta = DeltaBalance {
            positive: at(&tallies.deltas[0]),
            negative: at(&tallies.deltas[1]),
            zero: at(&tallies.deltas[2]),
            non_finite: at(&tallies.deltas[3]),
        };
        batch_cats.add(batch_row);
        per_example.merge(&counts);
        delta_all.merge(&delta);
        theorem.rows_checked += checked;
        theorem.violations += violations;
        cos_sum_all += cos_sum;
        cos_n_all += cos_n;
        neurons.push(NeuronReport {
            neuron: jj,
            per_example: counts,
            batch_row,
            delta,
            orthants_visited: orthants.visited(),
            mean_abs_cos_ones: (cos_n > 0).then(|| cos_sum / cos_n as f64),
            theorem_violations: violations,
        });
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
    LayerReport {
        layer: None,
        batch: b,
        fan_in: k,
        fan_out: j,
        bias: d.bias,
        sign_tolerance: tol_f64,
        activation: None,
        input_source: InputSource::Unknown,
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
        neurons,
    }
}

impl GradientSignAnalyzer {
    /// Analyses one dense layer from raw matrices: its inputs `A` (B×K, row
    /// `a_n` per example) and the deltas `Δ = ∂L/∂Z` (B×J) of its
    /// pre-activations, however they were computed (this engine, PyTorch,
    /// JAX). With [`include_bias`](super::AnalyzerConfig::include_bias) each
    /// row gets an extra input equal to 1.
    ///
    /// The per-example gradient row of neuron `j` on example `n` is
    /// `g_nj = Δ_nj·a_n`; its category follows from `a_n`'s extremes and
    /// `Δ_nj` in `O(1)`, so the whole per-example analysis is `O(B·(K+J))` and
    /// the `B×J×K` tensor is never formed. The batch rows are
    /// `G = Δᵀ·A` (one product) and `G_j,bias = Σ_n Δ_nj`. With
    /// [`curvature`](super::AnalyzerConfig::curvature) on, the report also
    /// carries the inputs' [`InputCurvature`](crate::curvature::spectrum::InputCurvature).
    ///
    /// ```
    /// use gradsign::analysis::GradientSignAnalyzer;
    /// use gradsign::Tensor;
    /// // Two examples with positive inputs; δ of both signs.
    /// let a = Tensor::from_vec(vec![1.0, 0.1, 0.1, 1.0], &[2, 2])?;
    /// let d = Tensor::from_vec(vec![1.0, -1.0], &[2, 1])?;
    /// let report = GradientSignAnalyzer::default().without_bias().analyze_layer(&a, &d)?;
    /// assert_eq!(report.per_example.positive, 1);  // δ = 1:  (1, 0.1)
    /// assert_eq!(report.per_example.negative, 1);  // δ = −1: (−0.1, −1)
    /// assert_eq!(report.theorem.violations, 0);
    /// // The batch row (0.9, −0.9) is mixed although no example's row is.
    /// assert_eq!(report.batch_rows.mixed, 1);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::RankMismatch`] unless both are matrices;
    /// [`Error::ShapeMismatch`] if their batch sizes differ; [`Error::Empty`]
    /// for an empty batch or a layer with no neurons (`deltas` with no
    /// column); [`Error::InvalidArgument`] for a negative or
    /// non-finite tolerance. NaN and infinities are not errors: the rows they
    /// touch are counted as non-finite.
    pub fn analyze_layer<F: Element>(
        &self,
        inputs: &Tensor<F>,
        deltas: &Tensor<F>,
    ) -> Result<LayerReport> {
        let (batch, fan_in, fan_out) =
            check_matrices("analyze_layer", inputs.shape(), deltas.shape())?;
        let tol = self.tolerance::<F>("analyze_layer")?;
        let data = LayerData {
            inputs: inputs.as_slice(),
            deltas: deltas.as_slice(),
            batch,
            fan_in,
            fan_out,
            bias: self.config().include_bias,
            known_batch_rows: None,
            threads: self.config().threads.max(1),
        };
        let mut report = analyze_data(&data, tol, self.config().sign_tolerance);
        if self.config().curvature {
            report.curvature = input_curvature(inputs.as_slice(), batch, fan_in);
        }
        Ok(report)
    }

    /// The category of every per-example row `g_nj = Δ_nj·a_n`, as a B×J
    /// row-major list, in `O(B·(K+J))`: exactly the categories of the
    /// materialised rows (under the same tolerance and bias setting), without
    /// forming them.
    ///
    /// ```
    /// use gradsign::analysis::{GradientSignAnalyzer, SignCategory};
    /// use gradsign::Tensor;
    /// let a = Tensor::from_vec(vec![0.5, 0.0], &[1, 2])?;   // a ReLU-like input
    /// let d = Tensor::from_vec(vec![-2.0, 0.0], &[1, 2])?;  // the second unit is dead
    /// let cats = GradientSignAnalyzer::default().without_bias().example_categories(&a, &d)?;
    /// assert_eq!(cats, [SignCategory::WeaklyNegative, SignCategory::Zero]);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`analyze_layer`](Self::analyze_layer).
    pub fn example_categories<F: Element>(
        &self,
        inputs: &Tensor<F>,
        deltas: &Tensor<F>,
    ) -> Result<Vec<SignCategory>> {
        let (batch, fan_in, fan_out) =
            check_matrices("example_categories", inputs.shape(), deltas.shape())?;
        let tol = self.tolerance::<F>("example_categories")?;
        let bias = self.config().include_bias;
        let mut rows = Vec::new();
        summarize_rows(inputs.as_slice(), batch, fan_in, bias, tol, &mut rows);
        let entries = fan_in + usize::from(bias);
        let mut out = Vec::with_capacity(batch * fan_out);
        for (r, drow) in rows
            .iter()
            .zip(deltas.as_slice().chunks_exact(fan_out.max(1)))
        {
            out.extend(drow.iter().map(|&dv| r.category_times(dv, tol, entries)));
        }
        Ok(out)
    }
}

impl GradientSignAnalyzer {
    /// The category of each batch row `G_j = Σ_n Δ_nj·a_n` (with the bias
    /// entry `Σ_n Δ_nj` when the bias is included), from one product and
    /// nothing else: the cheap way to follow batch coherence step by step.
    ///
    /// ```
    /// use gradsign::analysis::{GradientSignAnalyzer, SignCategory};
    /// use gradsign::Tensor;
    /// let a = Tensor::from_vec(vec![1.0, 0.1, 0.1, 1.0], &[2, 2])?;
    /// let d = Tensor::from_vec(vec![1.0, -1.0], &[2, 1])?;
    /// // G = (1, 0.1) − (0.1, 1) = (0.9, −0.9)
    /// let cats = GradientSignAnalyzer::default().without_bias().batch_row_categories(&a, &d)?;
    /// assert_eq!(cats, [SignCategory::Mixed]);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`analyze_layer`](Self::analyze_layer).
    pub fn batch_row_categories<F: Element>(
        &self,
        inputs: &Tensor<F>,
        deltas: &Tensor<F>,
    ) -> Result<Vec<SignCategory>> {
        let (batch, fan_in, fan_out) =
            check_matrices("batch_row_categories", inputs.shape(), deltas.shape())?;
        let tol = self.tolerance::<F>("batch_row_categories")?;
        let data = LayerData {
            inputs: inputs.as_slice(),
            deltas: deltas.as_slice(),
            batch,
            fan_in,
            fan_out,
            bias: self.config().include_bias,
            known_batch_rows: None,
            threads: self.config().threads.max(1),
        };
        let g = batch_rows(&data);
        let mut bias_sums = vec![F::zero(); fan_out];
        for row in deltas.as_slice().chunks_exact(fan_out.max(1)) {
            for (s, &x) in bias_sums.iter_mut().zip(row) {
                *s += x;
            }
        }
        Ok((0..fan_out)
            .map(|j| {
                let mut code = row_presence(&g[j * fan_in..(j + 1) * fan_in], tol);
                if data.bias {
                    code |= presence(bias_sums[j], tol);
                }
                SignCategory::from_code(code)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(matches!(err, Error::InvalidArgument { .. }));
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
