//! How a diagnosis reads in words.

use std::fmt;

use crate::activation::{Activation, OutputSign};

use crate::analysis::diagnosis::{Cause, Caveat, Diagnosis, Fix, LayerDiagnosis, Verdict};
use crate::analysis::present::{index_list, number, pct};

fn layer_name(l: Option<usize>) -> String {
    l.map_or_else(|| "the layer".to_string(), |l| format!("layer {l}"))
}

/// Why an activation's outputs were one-signed, from its analytic
/// properties: an explanation of what was measured, never a verdict.
fn explain_activation(a: Activation) -> String {
    let range = a.output_range();
    match a.output_sign() {
        OutputSign::StrictlyPositive => {
            format!("{a}, whose outputs lie in {range}: never negative")
        }
        OutputSign::NonNegative => format!(
            "{a}, whose outputs lie in {range}: never negative, and exactly 0 where the unit is off"
        ),
        OutputSign::Any if a.is_zero_centred() => format!(
            "{a}, which is zero-centred (outputs in {range}); its outputs were measured one-signed \
             all the same, so its pre-activations sit far from zero (biases or inputs pushed them)"
        ),
        OutputSign::Any => format!(
            "{a}, whose outputs in {range} can be negative but are not zero-centred \
             (mean {:.2} for standard normal inputs); here they were measured one-signed",
            a.gaussian_moments().mean
        ),
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::NonCentredData => write!(f, "the input data is not centred"),
            Cause::ActivationBelow(a) => {
                write!(f, "the layer below applies {}", explain_activation(*a))
            }
            Cause::Unknown => write!(f, "the inputs are not centred (their source is unknown)"),
        }
    }
}

impl fmt::Display for Fix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fix::CentreData => f.write_str(
                "centre the inputs: subtract each feature's mean, fitted on the training data \
                 (gradsign::data::Centering), or standardise them (gradsign::data::Standardizer)",
            ),
            Fix::CentredActivation => {
                f.write_str("use tanh (Activation::Tanh) or another zero-centred activation below")
            }
            Fix::Normalisation => {
                f.write_str("normalise the layer's inputs (batch or layer normalisation)")
            }
            Fix::NormaliseAfter(a) => write!(
                f,
                "normalise the layer's inputs: BatchNorm (nn::BatchNorm) or LayerNorm after the \
                 {a}, not before it (before it, it centres the {a}'s pre-activation, and the \
                 {a}'s outputs reaching this layer keep their sign)"
            ),
        }
    }
}

impl fmt::Display for LayerDiagnosis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = &self.evidence;
        let name = layer_name(self.layer);
        let (k, j) = self.size;
        // A convolution's statement is about each output position's patch
        // and each filter.
        let (unit, inputs, neuron) = if self.positions > 1 {
            ("position", "patch", "filter")
        } else {
            ("example", "example's inputs", "neuron")
        };
        let what = match self.verdict {
            Verdict::AllPositive => format!(
                "every {inputs} is strictly positive, so on each {unit} every component of a \
                 {neuron}'s weight gradient has the sign of its δ"
            ),
            Verdict::NonNegative => format!(
                "every {inputs} is ≥ 0 with exact zeros ({} strictly positive), so each \
                 {unit}'s gradient row is weakly one-signed (never mixed)",
                pct(e.strictly_positive)
            ),
            Verdict::OneSignPattern => format!(
                "every {inputs} shares one sign pattern, so each {unit}'s gradient row lies in \
                 one of the same two opposite orthants"
            ),
            Verdict::MostlyCoherent => format!(
                "the inputs have mixed signs, yet most {unit}s' gradient rows are one-signed"
            ),
            Verdict::Unrestricted => format!(
                "the inputs take both signs; per-{unit} gradient rows are mostly mixed, so the \
                 sign restriction does not bind"
            ),
        };
        writeln!(f, "- {name} ({k} -> {j}): {what}.")?;
        write!(
            f,
            "  Measured: {} of per-{unit} rows one-signed, {} of batch rows; ",
            pct(e.per_example_coherence),
            pct(e.batch_coherence)
        )?;
        write!(
            f,
            "{} orthants visited per {neuron} out of 2^{}",
            number(e.mean_orthants),
            e.orthant_dimension
        )?;
        if let Some(c) = e.mean_abs_cos_ones {
            write!(f, "; mean |cos(g, 1)| = {}", number(c))?;
        }
        if let Some((lo, hi)) = e.input_mean_range {
            write!(f, "; input feature means {} .. {}", number(lo), number(hi))?;
        }
        writeln!(f, ".")?;
        if let Some(c) = &self.cause {
            writeln!(f, "  Cause: {c}.")?;
        }
        if let Some(n) = &self.normalised_by {
            if self.inputs_centred_by_normalisation {
                writeln!(f, "  Inputs: normalised by {n}, which centres them.")?;
            } else {
                writeln!(
                    f,
                    "  Inputs: {n}, which centres the pre-activation below, not this layer's inputs."
                )?;
            }
        }
        if let Some(c) = &e.curvature {
            if self.constant_inputs.is_empty() {
                writeln!(f, "  Curvature: {c}.")?;
            } else {
                let n = self.constant_inputs.len();
                write!(
                    f,
                    "  Curvature: input{} {} ({n} of {k}) {} constant over the batch, so Cov(a) \
                     is singular along {} (κ(Cov) = {} on all {k} inputs)",
                    if n == 1 { "" } else { "s" },
                    index_list(&self.constant_inputs),
                    if n == 1 { "is" } else { "are" },
                    if n == 1 { "it" } else { "them" },
                    number(c.kappa_covariance)
                )?;
                match &self.curvature_without_constant {
                    Some(sub) => writeln!(f, "; on the other {} inputs: {sub}.", k - n)?,
                    None => writeln!(
                        f,
                        "; no input varies, so there is no conditioning to report."
                    )?,
                }
            }
        }
        if !self.fixes.is_empty() {
            let fixes: Vec<String> = self.fixes.iter().map(Fix::to_string).collect();
            writeln!(f, "  Fix: {}.", fixes.join("; or "))?;
        }
        Ok(())
    }
}

impl fmt::Display for Caveat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Caveat::BatchMixing { per_example, batch } => write!(
                f,
                "Summing over the batch mixes signs: {} of batch rows are one-signed against {} of \
                 per-example rows in the affected layers. That does not remove the effect: each \
                 example's own step is still confined to two orthants, and the batch step is \
                 their sum.",
                pct(*batch),
                pct(*per_example)
            ),
            Caveat::Convolution {
                layer,
                positions,
                per_position,
                per_example,
            } => write!(
                f,
                "{} is a convolution: the statement holds per output position, where a filter's \
                 gradient is δ_p·patch_p ({} of position rows one-signed). An example's own \
                 gradient already sums its {positions} positions, so it is mixed like a batch \
                 ({} one-signed); one-signed patches still restrict every position's \
                 contribution, and the mean patch still adds an outlier to the curvature of \
                 E[patch patchᵀ].",
                layer.map_or_else(|| "The layer".to_owned(), |l| format!("Layer {l}")),
                pct(*per_position),
                pct(*per_example)
            ),
            Caveat::DeltaTakesBothSigns { positive_share } => write!(
                f,
                "δ takes both signs ({} positive in the affected layers): σ′ > 0 does not make δ \
                 positive. σ′ only scales δ; its sign comes from the weights and the error in the \
                 layer above.",
                pct(*positive_share)
            ),
            Caveat::OptimiserState => f.write_str(
                "The two-orthant statement is exact for a plain SGD step on one example; the \
                 optimiser here carries state (momentum, Adam, decoupled weight decay), so its \
                 steps leave these orthants.",
            ),
            Caveat::OptimiserUnknown => f.write_str(
                "The two-orthant statement is exact for a plain SGD step on one example; the \
                 optimiser was not given (GradientSignAnalyzer::with_optimizer), and one with \
                 state (momentum, Adam) steps outside these orthants.",
            ),
            Caveat::Saturation { measured } => {
                f.write_str(
                    "Saturation of squashing units (σ′ or tanh′ near 0) is a separate and often larger \
                     cause of slow training; do not blame everything on signs.",
                )?;
                for (l, a, s) in measured {
                    write!(
                        f,
                        " {} ({a}): {} of outputs saturated.",
                        layer_name(*l),
                        pct(*s)
                    )?;
                }
                Ok(())
            }
            Caveat::NonFinite { layer, rows } => write!(
                f,
                "{}: {rows} per-example rows contain NaN or infinity and were not classified.",
                layer_name(*layer)
            ),
            Caveat::TheoremViolated { layer, rows } => write!(
                f,
                "{}: {rows} rows with non-negative inputs had an entry against the sign of δ. \
                 This cannot happen in IEEE arithmetic: please report it as a bug.",
                layer_name(*layer)
            ),
        }
    }
}

impl fmt::Display for Diagnosis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Diagnosis")?;
        for l in &self.layers {
            write!(f, "{l}")?;
        }
        writeln!(f, "Caveats")?;
        for c in &self.caveats {
            writeln!(f, "- {c}")?;
        }
        Ok(())
    }
}
