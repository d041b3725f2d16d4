//! `gradsign_studies::batch_size`, the computation of `examples/06_batch_size.rs`.

use gradsign_studies::batch_size::{BatchSizeConfig, batch_size, two_orthant_probability};

#[test]
fn two_orthant_probability_matches_the_closed_form_for_two_components() {
    // For K = 2: P = ½ + arcsin(ρ)/π (Sheppard's formula, both orthants).
    for rho in [0.0, 0.25, 0.5, 0.75, 0.9] {
        let exact = 0.5 + f64::asin(rho) / std::f64::consts::PI;
        assert!(
            (two_orthant_probability(2, rho) - exact).abs() < 1e-9,
            "ρ = {rho}"
        );
    }
    // One component always lies in one of the two half-lines.
    assert!((two_orthant_probability(1, 0.3) - 1.0).abs() < 1e-9);
    // Independent components: 2·2^−K.
    assert!((two_orthant_probability(10, 0.0) - 2f64.powi(-9)).abs() < 1e-12);
}

#[test]
fn batch_size_per_example_rows_of_positive_inputs_are_always_one_signed() {
    let cfg = BatchSizeConfig {
        widths: vec![2, 10],
        batch_sizes: vec![1, 16, 256],
        neurons: 256,
        trials: 4,
        seed: 3,
    };
    let r = batch_size(&cfg).unwrap();
    assert_eq!(r.rows_per_point, 1024);
    for c in &r.curves {
        for p in &c.points {
            assert_eq!(p.positive_per_example, 1.0);
        }
        // B = 1: the batch row is the example's row.
        assert_eq!(c.points[0].positive_batch, 1.0);
        assert_eq!(c.points[0].centred_batch, c.points[0].centred_per_example);
    }
}

#[test]
fn batch_size_coherence_levels_off_at_the_equicorrelated_limit() {
    let cfg = BatchSizeConfig {
        widths: vec![2],
        batch_sizes: vec![256],
        neurons: 256,
        trials: 4,
        seed: 4,
    };
    let r = batch_size(&cfg).unwrap();
    let c = &r.curves[0];
    // 1024 rows: SE = √(0.77·0.23/1024) = 0.013; ±0.066 is 5 SE.
    assert!(
        (c.points[0].positive_batch - c.positive_limit).abs() < 0.066,
        "{:?}",
        c.points[0]
    );
    // Centred, per example: 2^(1−K) = ½. A row's sign pattern depends on its
    // example only, so there are 256·4 = 1024 independent draws: SE = 0.016,
    // and ±0.08 is 5 SE.
    assert!((c.points[0].centred_per_example - 0.5).abs() < 0.08);
}
