//! The crate's side of a real PyTorch capture: `tests/fixtures/pytorch_mlp/`
//! was written by `python/make_fixture.py` (a 6-16-8-1 sigmoid MLP after
//! five SGD steps) with `python/gradsign_hooks.py`; `reference.safetensors`
//! holds PyTorch's own per-example gradients (torch.func) of that step.
#![cfg(feature = "io")]

use std::path::{Path, PathBuf};

use gradsign::analysis::{GradientSignAnalyzer, SignCategory};
use gradsign::io::{Capture, SafetensorsFile};
use gradsign::{Element, Tensor};

trait AsF64 {
    fn as_f64(&self) -> f64;
}
impl<F: Element> AsF64 for F {
    fn as_f64(&self) -> f64 {
        Element::to_f64(*self)
    }
}

fn fixture(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/pytorch_mlp")
        .join(file)
}

#[test]
fn layers_load_in_network_order_with_pytorch_shapes() {
    let cap = Capture::<f32>::load(&[fixture("capture.safetensors")]).unwrap();
    assert_eq!(cap.names(), ["fc1", "fc2", "out"]);
    let dims: Vec<(Vec<usize>, Vec<usize>)> = cap
        .layers
        .iter()
        .map(|l| (l.input.dims().to_vec(), l.delta.dims().to_vec()))
        .collect();
    assert_eq!(
        dims,
        [
            (vec![32, 6], vec![32, 16]),
            (vec![32, 16], vec![32, 8]),
            (vec![32, 8], vec![32, 1])
        ]
    );
    for l in &cap.layers {
        assert!(l.weight.is_some() && l.weight_grad.is_some() && l.bias_grad.is_some());
    }
}

fn batch_gradient_matches_pytorch<F: Element>() {
    let cap = Capture::<F>::load(&[fixture("capture.safetensors")]).unwrap();
    for l in &cap.layers {
        let ours = l.batch_gradient().unwrap();
        let theirs = l.weight_grad.as_ref().unwrap();
        assert_eq!(ours.dims(), theirs.dims());
        for (i, (a, b)) in ours.as_slice().iter().zip(theirs.as_slice()).enumerate() {
            let (a, b) = (a.as_f64(), b.as_f64());
            assert!(
                (a - b).abs() <= 1e-6 * b.abs().max(1.0),
                "{}: Δᵀ·A[{i}] = {a} but PyTorch's weight.grad is {b}",
                l.name
            );
        }
        // The bias gradient is the column sums of Δ.
        let j = l.delta.dims()[1];
        for (jj, b) in l.bias_grad.as_ref().unwrap().as_slice().iter().enumerate() {
            let s: f64 = (0..l.delta.dims()[0])
                .map(|n| l.delta.as_slice()[n * j + jj].as_f64())
                .sum();
            let b = b.as_f64();
            assert!((s - b).abs() <= 1e-6 * b.abs().max(1.0));
        }
    }
}

#[test]
fn batch_gradient_matches_pytorch_in_f32() {
    batch_gradient_matches_pytorch::<f32>();
}

#[test]
fn batch_gradient_matches_pytorch_in_f64() {
    batch_gradient_matches_pytorch::<f64>();
}

/// The crate's per-example categories, from `A` and `Δ` alone, are the
/// categories of the rows PyTorch computed per example, `[∂L_n/∂W_j, ∂L_n/∂b_j]`.
fn categories_match_pytorch<F: Element>() {
    let cap = Capture::<F>::load(&[fixture("capture.safetensors")]).unwrap();
    let reference = SafetensorsFile::open(fixture("reference.safetensors")).unwrap();
    let analyzer = GradientSignAnalyzer::default();
    let mut seen = std::collections::HashSet::new();
    for l in &cap.layers {
        let ours = analyzer.example_categories(&l.input, &l.delta).unwrap();
        let w: Tensor<F> = reference
            .tensor(&format!("{}.per_example_weight_grad", l.name))
            .unwrap();
        let b: Tensor<F> = reference
            .tensor(&format!("{}.per_example_bias_grad", l.name))
            .unwrap();
        let (batch, j, k) = (w.dims()[0], w.dims()[1], w.dims()[2]);
        assert_eq!(ours.len(), batch * j);
        for n in 0..batch {
            for jj in 0..j {
                let start = (n * j + jj) * k;
                let mut row = w.as_slice()[start..start + k].to_vec();
                row.push(b.as_slice()[n * j + jj]);
                let theirs = SignCategory::of_row(&row, F::zero());
                assert_eq!(
                    ours[n * j + jj],
                    theirs,
                    "{} example {n} neuron {jj}",
                    l.name
                );
                seen.insert(theirs);
            }
        }
    }
    // Both signs occur: the comparison is not against one constant.
    assert!(seen.contains(&SignCategory::Positive) && seen.contains(&SignCategory::Negative));
}

#[test]
fn per_example_categories_match_pytorch_in_f32() {
    categories_match_pytorch::<f32>();
}

#[test]
fn per_example_categories_match_pytorch_in_f64() {
    categories_match_pytorch::<f64>();
}

#[test]
fn report_of_the_capture_sees_the_sigmoid_network() {
    let cap = Capture::<f32>::load(&[fixture("capture.safetensors")]).unwrap();
    let report = cap.analyze(&GradientSignAnalyzer::default()).unwrap();
    assert_eq!(report.layers.len(), 3);
    for (i, l) in report.layers.iter().enumerate() {
        assert_eq!(l.layer, Some(i));
        // Positive data, then sigmoid outputs: every per-example row is one-signed.
        assert_eq!(l.per_example_coherence(), 1.0, "layer {i}");
        assert_eq!(l.theorem.violations, 0);
    }
    assert!(report.to_string().contains("per-ex coh"));
}
