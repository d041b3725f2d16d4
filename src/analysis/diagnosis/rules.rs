//! The rules that turn a layer's report into a diagnosis: the verdict,
//! the cause, the fix, the caveats.

use super::{Cause, Caveat, Diagnosis, Evidence, Fix, LayerDiagnosis, Verdict};

use crate::analysis::config::OptimizerKind;
use crate::analysis::diagnostics::coherence::CategoryCounts;
use crate::analysis::diagnostics::curvature::CurvatureEvidence;
use crate::analysis::diagnostics::delta_balance::DeltaBalance;
use crate::analysis::diagnostics::input_path::InputSource;
use crate::analysis::report::LayerReport;

/// A layer's verdict from its measured signs alone.
fn verdict(r: &LayerReport) -> Verdict {
    let p = &r.precondition;
    if p.strictly_positive == p.examples {
        Verdict::AllPositive
    } else if p.non_negative == p.examples {
        Verdict::NonNegative
    } else if p.one_pattern == p.examples {
        Verdict::OneSignPattern
    } else if r.per_example_coherence() >= 0.5 {
        Verdict::MostlyCoherent
    } else {
        Verdict::Unrestricted
    }
}

impl LayerDiagnosis {
    /// Diagnoses one layer from its report.
    pub fn from_report(r: &LayerReport) -> Self {
        let verdict = verdict(r);
        let path = &r.input_path;
        let cause =
            verdict
                .is_restricted()
                .then_some(match (r.input_source, path.last_activation()) {
                    (InputSource::Activation(a), _) | (InputSource::Unknown, Some(a)) => {
                        Cause::ActivationBelow(a)
                    }
                    (InputSource::Data, _) => Cause::NonCentredData,
                    (InputSource::Unknown, None) => Cause::Unknown,
                });
        // Never a fix the model already has: no normalisation where one
        // already centres the inputs, no zero-centred activation where the
        // activation below is one. The normalisation is placed after the
        // activation: before it, it centres the pre-activation only.
        let centred = path.centred();
        let mut fixes = Vec::new();
        match cause {
            None => {}
            Some(Cause::NonCentredData | Cause::Unknown) if !centred => {
                fixes.extend([Fix::CentreData, Fix::Normalisation]);
            }
            Some(Cause::NonCentredData | Cause::Unknown) => {}
            Some(Cause::ActivationBelow(a)) => {
                if !a.is_zero_centred() {
                    fixes.push(Fix::CentredActivation);
                }
                if !centred {
                    fixes.push(Fix::NormaliseAfter(a));
                }
            }
        }
        let (constant_inputs, curvature_without_constant) = match &r.constant_inputs {
            Some(c) => (
                c.columns.clone(),
                c.curvature.as_ref().map(CurvatureEvidence::of),
            ),
            None => (Vec::new(), None),
        };
        LayerDiagnosis {
            constant_inputs,
            curvature_without_constant,
            layer: r.layer,
            size: (r.fan_in, r.fan_out),
            positions: r.positions,
            verdict,
            cause,
            fixes,
            normalised_by: path.describe(),
            inputs_centred_by_normalisation: centred,
            evidence: Evidence {
                strictly_positive: r.precondition.strictly_positive_share(),
                non_negative: r.precondition.non_negative_share(),
                per_example_coherence: r.per_example_coherence(),
                batch_coherence: r.batch_coherence(),
                mean_orthants: r.orthants.mean,
                orthant_dimension: r.orthants.dimension,
                mean_abs_cos_ones: r.mean_abs_cos_ones,
                input_mean_range: r.inputs.mean_range(),
                delta_positive: r.delta.positive_share(),
                curvature: r.curvature.as_ref().map(CurvatureEvidence::of),
            },
        }
    }
}

impl Diagnosis {
    /// Diagnoses the given layer reports together, for an optimiser that is
    /// not known (see [`for_optimizer`](Self::for_optimizer)).
    pub fn from_layers(layers: &[LayerReport]) -> Self {
        Diagnosis::for_optimizer(layers, OptimizerKind::Unknown)
    }

    /// Diagnoses the given layer reports together, for gradients that feed
    /// `optimizer`. Every caveat is given only when the numbers show it:
    /// batch mixing when batch coherence is below per-example coherence,
    /// `δ`'s two signs when both were measured, the optimiser's state when
    /// it has some (or that it is unknown).
    pub fn for_optimizer(layers: &[LayerReport], optimizer: OptimizerKind) -> Self {
        let diagnosed: Vec<LayerDiagnosis> =
            layers.iter().map(LayerDiagnosis::from_report).collect();
        let mut caveats = Vec::new();
        for r in layers {
            if r.theorem.violations > 0 {
                caveats.push(Caveat::TheoremViolated {
                    layer: r.layer,
                    rows: r.theorem.violations,
                });
            }
        }
        let restricted: Vec<&LayerReport> = layers
            .iter()
            .zip(&diagnosed)
            .filter(|(_, d)| d.verdict.is_restricted())
            .map(|(r, _)| r)
            .collect();
        if !restricted.is_empty() {
            let mut per_example = CategoryCounts::default();
            let mut batch = CategoryCounts::default();
            let mut delta = DeltaBalance::default();
            for r in &restricted {
                per_example.merge(&r.per_example);
                batch.merge(&r.batch_rows);
                delta.merge(&r.delta);
            }
            let (per_example, batch) = (per_example.coherent_share(), batch.coherent_share());
            if batch < per_example {
                caveats.push(Caveat::BatchMixing { per_example, batch });
            }
            if delta.positive > 0 && delta.negative > 0 {
                caveats.push(Caveat::DeltaTakesBothSigns {
                    positive_share: delta.positive_share(),
                });
            }
            match optimizer {
                OptimizerKind::Unknown => caveats.push(Caveat::OptimiserUnknown),
                OptimizerKind::WithState => caveats.push(Caveat::OptimiserState),
                OptimizerKind::PlainSgd => {}
            }
        }
        for r in layers {
            if let Some(summed) = &r.per_example_summed {
                caveats.push(Caveat::Convolution {
                    layer: r.layer,
                    positions: r.positions,
                    per_position: r.per_example.coherent_share(),
                    per_example: summed.coherent_share(),
                });
            }
        }
        caveats.push(Caveat::Saturation {
            measured: layers
                .iter()
                .filter_map(|r| r.saturation.map(|s| (r.layer, s.activation, s.share)))
                .collect(),
        });
        for r in layers {
            if r.per_example.non_finite > 0 {
                caveats.push(Caveat::NonFinite {
                    layer: r.layer,
                    rows: r.per_example.non_finite,
                });
            }
        }
        Diagnosis {
            layers: diagnosed,
            caveats,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Tensor;
    use crate::activation::Activation;
    use crate::analysis::GradientSignAnalyzer;

    fn report(a: &Tensor<f64>, source: InputSource) -> LayerReport {
        let d = Tensor::rand_normal(&[a.dims()[0], 4], 0.0, 1.0, 11).unwrap();
        let mut r = GradientSignAnalyzer::default()
            .analyze_layer(a, &d)
            .unwrap();
        r.input_source = source;
        r
    }

    #[test]
    fn positive_data_is_blamed_on_uncentred_data() {
        let a = Tensor::rand_uniform(&[32, 3], 0.0, 1.0, 1).unwrap();
        let d = LayerDiagnosis::from_report(&report(&a, InputSource::Data));
        assert_eq!(d.verdict, Verdict::AllPositive);
        assert_eq!(d.cause, Some(Cause::NonCentredData));
        assert_eq!(d.fixes, [Fix::CentreData, Fix::Normalisation]);
    }

    #[test]
    fn relu_below_gives_the_weak_verdict_and_a_centred_activation_fix() {
        let a = Tensor::rand_uniform(&[32, 3], -1.0, 1.0, 2)
            .unwrap()
            .map(|x: f64| x.max(0.0));
        let d = LayerDiagnosis::from_report(&report(&a, InputSource::Activation(Activation::Relu)));
        assert_eq!(d.verdict, Verdict::NonNegative);
        assert_eq!(d.fixes[0], Fix::CentredActivation);
    }

    #[test]
    fn verdict_comes_from_signs_not_from_the_activation() {
        // Centred inputs labelled as sigmoid outputs: the measured signs win.
        let a = Tensor::rand_uniform(&[64, 6], -1.0, 1.0, 3).unwrap();
        let d =
            LayerDiagnosis::from_report(&report(&a, InputSource::Activation(Activation::Sigmoid)));
        assert_eq!(d.verdict, Verdict::Unrestricted);
        assert_eq!(d.cause, None);
        assert!(d.fixes.is_empty());
    }

    #[test]
    fn causes_are_explained_from_the_activation_properties() {
        let text = |a| Cause::ActivationBelow(a).to_string();
        assert!(
            text(Activation::Sigmoid).contains("(0, 1): never negative"),
            "{}",
            text(Activation::Sigmoid)
        );
        assert!(text(Activation::Softplus(1.0)).contains("never negative"));
        assert!(text(Activation::Relu).contains("exactly 0"));
        assert!(text(Activation::Tanh).contains("zero-centred"));
        assert!(text(Activation::Gelu).contains("not zero-centred"));
    }

    #[test]
    fn diagnosis_text_names_cause_fix_and_caveats() {
        let a = Tensor::rand_uniform(&[32, 3], 0.0, 1.0, 4).unwrap();
        let text = Diagnosis::from_layers(&[report(&a, InputSource::Data)]).to_string();
        for needle in [
            "not centred",
            "centre the inputs",
            "batch",
            "Adam",
            "Saturation",
            "σ′",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
    }
}
