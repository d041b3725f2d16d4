//! `gradsign_studies::foreign`, the computation of `examples/08_foreign_gradients.rs`.

use gradsign::Tensor;
use gradsign::analysis::Verdict;
use gradsign_studies::foreign::{analyze_foreign, example_matrices};

fn read_shipped(name: &str) -> Tensor<f32> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/data")
        .join(name);
    let bytes = std::fs::read(&path).unwrap();
    let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    Tensor::from_vec(npy.into_vec::<f32>().unwrap(), &shape).unwrap()
}

#[test]
fn the_shipped_npy_files_are_what_example_matrices_makes() {
    // Provenance: the files were written by `08_foreign_gradients --write-data`.
    // Bit for bit on the machine that wrote them; another platform's `exp`
    // may round differently in the last place, which 20 epochs of training
    // can grow to a few ulps, hence a relative 1e-4 rather than equality.
    let (a, d) = example_matrices().unwrap();
    for (made, name) in [(&a, "foreign_A.npy"), (&d, "foreign_delta.npy")] {
        let shipped = read_shipped(name);
        assert_eq!(shipped.dims(), made.dims());
        for (x, y) in shipped.as_slice().iter().zip(made.as_slice()) {
            assert!(
                (x - y).abs() <= 1e-4 * y.abs().max(1e-6),
                "{name}: {x} vs {y}"
            );
        }
    }
    assert_eq!((a.dims(), d.dims()), (&[64, 8][..], &[64, 4][..]));
}

#[test]
fn foreign_sigmoid_inputs_are_diagnosed_one_signed() {
    let r = analyze_foreign(
        &read_shipped("foreign_A.npy"),
        &read_shipped("foreign_delta.npy"),
    )
    .unwrap();
    // Sigmoid outputs are strictly positive: every row of every example is
    // one-signed, and the analyzer finds no violation.
    assert_eq!(r.report.precondition.strictly_positive_share(), 1.0);
    assert_eq!(r.report.per_example_coherence(), 1.0);
    assert_eq!(r.report.theorem.violations, 0);
    assert_eq!(r.diagnosis.layers[0].verdict, Verdict::AllPositive);
    assert!(r.curvature.raw.top_alignment_with_ones > 0.9);
}
