//! How layer and network reports and the curvature evidence print.

use std::fmt;

use crate::curvature::spectrum::InputCurvature;

use crate::analysis::diagnostics::coherence::CategoryCounts;
use crate::analysis::diagnostics::curvature::CurvatureEvidence;
use crate::analysis::diagnostics::input_path::InputSource;
use crate::analysis::present::{index_list, number, opt, pct};
use crate::analysis::report::{LayerReport, NetworkReport, NeuronTable};

fn source_name(s: InputSource) -> String {
    match s {
        InputSource::Data => "data".to_string(),
        InputSource::Activation(a) => a.to_string(),
        InputSource::Unknown => "?".to_string(),
    }
}

const CATEGORY_HEADER: &str = "                 positive   negative    weak +    weak -      zero     mixed  non-fin.  coherent";

fn category_line(f: &mut fmt::Formatter<'_>, label: &str, c: &CategoryCounts) -> fmt::Result {
    writeln!(
        f,
        "  {label:<14}{:>9}  {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        c.positive,
        c.negative,
        c.weakly_positive,
        c.weakly_negative,
        c.zero,
        c.mixed,
        c.non_finite,
        pct(c.coherent_share())
    )
}

impl fmt::Display for LayerReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: {} inputs{} from {} -> {} neurons, batch {}, sign tolerance {}",
            self.name(),
            self.fan_in,
            if self.bias { " (+ bias)" } else { "" },
            match self.input_path.describe() {
                Some(n) => format!("{} via {n}", source_name(self.input_source)),
                None => source_name(self.input_source),
            },
            self.fan_out,
            self.batch,
            number(self.sign_tolerance)
        )?;
        if self.positions > 1 {
            writeln!(
                f,
                "  convolution: {} examples × {} positions; each row below is one position's \
                 patch (filter = neuron), and an example's gradient sums its positions",
                self.batch / self.positions,
                self.positions
            )?;
        }
        let (lo, hi) = self.inputs.mean_range().unwrap_or((0.0, 0.0));
        writeln!(
            f,
            "  inputs: {} of examples strictly positive, {} non-negative, {} share one sign pattern; \
             feature means {} .. {}; {} of entries positive, {} exactly zero; {} non-finite",
            pct(self.precondition.strictly_positive_share()),
            pct(self.precondition.non_negative_share()),
            pct(self.precondition.one_pattern_share()),
            number(lo),
            number(hi),
            pct(self.inputs.overall_positive_share()),
            pct(self.inputs.overall_zero_share()),
            self.inputs.non_finite
        )?;
        writeln!(
            f,
            "  theorem (inputs >= 0 => no entry against the sign of δ): {} rows checked, {} violations{}",
            self.theorem.rows_checked,
            self.theorem.violations,
            if self.theorem.holds() {
                ""
            } else {
                "  <-- MUST BE 0"
            }
        )?;
        writeln!(f, "{CATEGORY_HEADER}")?;
        if let Some(summed) = &self.per_example_summed {
            category_line(f, "per-position", &self.per_example)?;
            category_line(f, "per-example", summed)?;
        } else {
            category_line(f, "per-example", &self.per_example)?;
        }
        category_line(f, "batch rows", &self.batch_rows)?;
        writeln!(
            f,
            "  gap per-example - batch: {:+.1} points",
            100.0 * self.coherence_gap()
        )?;
        let (dlo, dhi) = self.delta_positive_range().unwrap_or((0.0, 0.0));
        writeln!(
            f,
            "  δ > 0: {} of all deltas (per neuron {} .. {}); {} dead neurons; {} non-finite deltas",
            pct(self.delta.positive_share()),
            pct(dlo),
            pct(dhi),
            self.dead_neurons,
            self.delta.non_finite
        )?;
        writeln!(
            f,
            "  orthants visited per neuron: min {}, mean {}, max {} of 2^{}; mean |cos(g, 1)| {}",
            self.orthants.min,
            number(self.orthants.mean),
            self.orthants.max,
            self.orthants.dimension,
            opt(self.mean_abs_cos_ones)
        )?;
        if let Some(s) = &self.saturation {
            writeln!(
                f,
                "  saturation ({}): {} of outputs have f' < {} of its maximum",
                s.activation,
                pct(s.share),
                pct(s.threshold)
            )?;
        }
        if let Some(s) = &self.statistics {
            write!(f, "{s}")?;
        }
        if let Some(c) = &self.curvature {
            curvature_section(f, c)?;
        }
        if let Some(c) = &self.constant_inputs {
            writeln!(
                f,
                "  constant inputs (equal on every example): {} of {}: {}",
                c.columns.len(),
                self.fan_in,
                index_list(&c.columns)
            )?;
            if let Some(sub) = &c.curvature {
                writeln!(f, "  without them:")?;
                curvature_section(f, sub)?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for NeuronTable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:>6}  {:>9}  {:>6}  {:>6}  {:>6}  {:>15}  {:>8}  {:>9}  {:>10}",
            "neuron",
            "coherent",
            "mixed",
            "zero",
            "δ>0",
            "batch row",
            "orthants",
            "|cos|",
            "violations"
        )?;
        for n in &self.0.neurons {
            writeln!(
                f,
                "{:>6}  {:>9}  {:>6}  {:>6}  {:>6}  {:>15}  {:>8}  {:>9}  {:>10}",
                n.neuron,
                pct(n.per_example.coherent_share()),
                n.per_example.mixed,
                n.per_example.zero,
                pct(n.delta.positive_share()),
                n.batch_row,
                n.orthants_visited,
                opt(n.mean_abs_cos_ones),
                n.theorem_violations
            )?;
        }
        Ok(())
    }
}

impl fmt::Display for NetworkReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:>5}  {:>10}  {:>8}  {:>9}  {:>9}  {:>10}  {:>9}  {:>7}  {:>6}  {:>8}  {:>6}  {:>10}",
            "layer",
            "in -> out",
            "from",
            "inputs>0",
            "inputs≥0",
            "per-ex coh",
            "batch coh",
            "gap",
            "δ>0",
            "orthants",
            "|cos|",
            "violations"
        )?;
        for l in &self.layers {
            writeln!(
                f,
                "{:>5}  {:>10}  {:>8}  {:>9}  {:>9}  {:>10}  {:>9}  {:>+7.1}  {:>6}  {:>8}  {:>6}  {:>10}",
                l.layer.map_or_else(|| "-".to_string(), |i| i.to_string()),
                format!("{} -> {}", l.fan_in, l.fan_out),
                source_name(l.input_source),
                pct(l.precondition.strictly_positive_share()),
                pct(l.precondition.non_negative_share()),
                pct(l.per_example_coherence()),
                pct(l.batch_coherence()),
                100.0 * l.coherence_gap(),
                pct(l.delta.positive_share()),
                number(l.orthants.mean),
                opt(l.mean_abs_cos_ones),
                l.theorem.violations
            )?;
        }
        network_table(f, &self.layers)?;
        if let Some(s) = self.statistics() {
            write!(f, "{s}")?;
        }
        writeln!(f)?;
        write!(f, "{}", self.diagnosis)
    }
}

impl fmt::Display for CurvatureEvidence {
    /// The diagnosis sentence, with the measured numbers: the mean's
    /// eigenvalue is claimed only when `λmax` shows it (the mean dominates)
    /// and the raw matrix is the worse conditioned one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kappas = format!(
            "κ(E[aaᵀ]) = {} vs κ(Cov) = {}",
            number(self.kappa_second_moment),
            number(self.kappa_covariance)
        );
        let lambdas = format!(
            "λmax = {} vs {}",
            number(self.lambda_max_second_moment),
            number(self.lambda_max_covariance)
        );
        let improves = self.centring_improves_conditioning();
        match (self.mean_dominates(), improves) {
            (true, true) => write!(
                f,
                "a non-zero input mean adds one large eigenvalue along μ: {kappas}; {lambdas} \
                 (‖μ‖² = {}, top eigenvector at |cos| = {} with μ)",
                number(self.mean_norm_squared),
                number(self.top_alignment_with_mean)
            )?,
            (true, false) => write!(
                f,
                "the input mean raises λmax ({lambdas}, ‖μ‖² = {}, top eigenvector at |cos| = {} \
                 with μ), but centring does not improve conditioning here: {kappas}",
                number(self.mean_norm_squared),
                number(self.top_alignment_with_mean)
            )?,
            (false, true) => write!(
                f,
                "the input mean is small against the spread: {kappas}; {lambdas}"
            )?,
            (false, false) => write!(
                f,
                "the input mean is small against the spread and centring does not improve \
                 conditioning here: {kappas}; {lambdas}"
            )?,
        }
        write!(
            f,
            "; with the bias column κ = {} vs {}",
            number(self.kappa_second_moment_with_bias),
            number(self.kappa_covariance_with_bias)
        )?;
        // The bias column can reverse the comparison: say so rather than
        // let the two halves of the sentence seem to disagree.
        let improves_with_bias =
            self.kappa_second_moment_with_bias > self.kappa_covariance_with_bias;
        if improves_with_bias != improves {
            f.write_str(if improves_with_bias {
                " (with the bias, centring does improve conditioning)"
            } else {
                " (with the bias, centring does not improve conditioning)"
            })?;
        }
        if self.batch < self.features {
            write!(
                f,
                " (with {} examples for {} inputs both matrices are singular on this batch: \
                 compare λmax)",
                self.batch, self.features
            )?;
        }
        Ok(())
    }
}

/// The curvature section of a layer's report, in the one number format.
pub(crate) fn curvature_section(f: &mut fmt::Formatter<'_>, c: &InputCurvature) -> fmt::Result {
    let norm = c.mean.iter().map(|m| m * m).sum::<f64>().sqrt();
    writeln!(
        f,
        "  input curvature: {} examples × {} features, ‖μ‖ = {}",
        c.batch,
        c.features,
        number(norm)
    )?;
    writeln!(
        f,
        "    {:<22} {:>10} {:>10} {:>10} {:>10}",
        "matrix", "λmin", "λmax", "κ", "|cos(v,1)|"
    )?;
    let rows = [
        ("E[a aᵀ]", &c.raw),
        ("Cov(a)", &c.centred),
        ("E[a aᵀ] + bias", &c.raw_with_bias),
        ("Cov(a) + bias", &c.centred_with_bias),
    ];
    for (name, s) in rows {
        writeln!(
            f,
            "    {:<22} {:>10} {:>10} {:>10} {:>10}",
            name,
            number(s.eigenvalues.first().copied().unwrap_or(f64::NAN)),
            number(s.eigenvalues.last().copied().unwrap_or(f64::NAN)),
            number(s.condition_number),
            number(s.top_alignment_with_ones)
        )?;
    }
    Ok(())
}

/// The curvature columns of a network report, one line per layer that has
/// them (nothing when none has).
pub(crate) fn network_table(f: &mut fmt::Formatter<'_>, layers: &[LayerReport]) -> fmt::Result {
    if layers.iter().all(|l| l.curvature.is_none()) {
        return Ok(());
    }
    writeln!(f)?;
    writeln!(
        f,
        "{:>5}  {:>11}  {:>11}  {:>11}  {:>11}  {:>13}  {:>13}  {:>9}",
        "layer",
        "λmax E[aaᵀ]",
        "λmax Cov",
        "κ(E[aaᵀ])",
        "κ(Cov)",
        "κ(E) + bias",
        "κ(Cov) + bias",
        "|cos(v,μ)|"
    )?;
    for l in layers {
        let Some(c) = &l.curvature else { continue };
        let e = CurvatureEvidence::of(c);
        writeln!(
            f,
            "{:>5}  {:>11}  {:>11}  {:>11}  {:>11}  {:>13}  {:>13}  {:>9}",
            l.layer.map_or_else(|| "-".to_string(), |i| i.to_string()),
            number(e.lambda_max_second_moment),
            number(e.lambda_max_covariance),
            number(e.kappa_second_moment),
            number(e.kappa_covariance),
            number(e.kappa_second_moment_with_bias),
            number(e.kappa_covariance_with_bias),
            number(e.top_alignment_with_mean)
        )?;
    }
    Ok(())
}
