//! `gradsign_studies::sign_report`, the computation of `examples/03_sign_report.rs`.

use gradsign::analysis::{Cause, Verdict};
use gradsign_studies::sign_report::{SignReportConfig, sign_report};

#[test]
fn iris_raw_first_layer_is_diagnosed_one_signed_and_standardised_is_not() {
    let r = sign_report(&SignReportConfig {
        epochs: 3,
        ..SignReportConfig::default()
    })
    .unwrap();
    let raw = &r.raw.report;
    // Every iris measurement is a positive length: the theorem's precondition
    // holds on all 150 examples, and so does its conclusion.
    assert_eq!(raw.layers[0].precondition.strictly_positive_share(), 1.0);
    assert_eq!(raw.layers[0].per_example_coherence(), 1.0);
    assert_eq!(raw.layers[0].theorem.violations, 0);
    assert_eq!(raw.diagnosis.layers[0].verdict, Verdict::AllPositive);
    assert_eq!(raw.diagnosis.layers[0].cause, Some(Cause::NonCentredData));
    let std = &r.standardised.report;
    assert!(std.layers[0].precondition.strictly_positive_share() < 1.0);
    assert!(std.layers[0].per_example_coherence() < 1.0);
    assert_ne!(std.diagnosis.layers[0].verdict, Verdict::AllPositive);
    assert_eq!(r.raw.epoch_losses.len(), 3);
}
