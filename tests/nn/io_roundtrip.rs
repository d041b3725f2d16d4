//! Write then read, for `.npy` and safetensors, in f32 and f64, over wide
//! magnitude ranges (subnormals, ±0, huge), and across element types.
#![cfg(feature = "io")]

use gradsign::io::{SafetensorsFile, read_npy, write_npy, write_safetensors};
use gradsign::{Element, Tensor};
use proptest::prelude::*;

fn values<F: Element>(raw: Vec<(f64, i32)>) -> Vec<F> {
    // Mantissa × 2^e over the type's whole exponent range, subnormals included.
    let max_exp = if F::NAME == "f32" { 127 } else { 1023 };
    let min_exp = if F::NAME == "f32" { -149 } else { -1074 };
    raw.into_iter()
        .map(|(m, e)| F::from_f64(m * 2f64.powi(e.clamp(min_exp, max_exp - 1))))
        .collect()
}

fn round_trip<F: Element>(rows: usize, cols: usize, raw: Vec<(f64, i32)>, tag: &str) {
    let data = values::<F>(raw)[..rows * cols].to_vec();
    let t = Tensor::from_vec(data, &[rows, cols]).unwrap();
    let dir = std::env::temp_dir().join(format!(
        "gradsign-io-rt-{}-{tag}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    write_npy(dir.join("t.npy"), &t).unwrap();
    let back: Tensor<F> = read_npy(dir.join("t.npy")).unwrap();
    assert_eq!(
        back.as_slice()
            .iter()
            .map(|x| Element::to_f64(*x).to_bits())
            .collect::<Vec<_>>(),
        t.as_slice()
            .iter()
            .map(|x| Element::to_f64(*x).to_bits())
            .collect::<Vec<_>>()
    );
    write_safetensors(dir.join("t.safetensors"), &[("x", &t)], &[("k", "v")]).unwrap();
    let f = SafetensorsFile::open(dir.join("t.safetensors")).unwrap();
    assert_eq!(f.metadata().unwrap()["k"], "v");
    let back: Tensor<F> = f.tensor("x").unwrap();
    assert_eq!(
        back.as_slice()
            .iter()
            .map(|x| Element::to_f64(*x).to_bits())
            .collect::<Vec<_>>(),
        t.as_slice()
            .iter()
            .map(|x| Element::to_f64(*x).to_bits())
            .collect::<Vec<_>>()
    );
    // f32 files read as f64 are exact.
    let wide: Tensor<f64> = f.tensor("x").unwrap();
    for (a, b) in wide.as_slice().iter().zip(t.as_slice()) {
        assert_eq!(a.to_bits(), Element::to_f64(*b).to_bits());
    }
    std::fs::remove_dir_all(dir).ok();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn f32_round_trips_bit_for_bit(rows in 1usize..6, cols in 1usize..6,
        raw in proptest::collection::vec((-2.0f64..2.0, -160i32..140), 36)) {
        round_trip::<f32>(rows, cols, raw, "f32");
    }

    #[test]
    fn f64_round_trips_bit_for_bit(rows in 1usize..6, cols in 1usize..6,
        raw in proptest::collection::vec((-2.0f64..2.0, -1100i32..1030), 36)) {
        round_trip::<f64>(rows, cols, raw, "f64");
    }
}

#[test]
fn negative_zero_and_empty_tensors_round_trip() {
    let t = Tensor::<f64>::from_vec(vec![-0.0, 0.0, f64::MIN_POSITIVE / 4.0], &[1, 3]).unwrap();
    let dir = std::env::temp_dir().join(format!("gradsign-io-rt0-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    write_npy(dir.join("z.npy"), &t).unwrap();
    let back: Tensor<f64> = read_npy(dir.join("z.npy")).unwrap();
    assert!(back.as_slice()[0].is_sign_negative() && back.as_slice()[0] == 0.0);
    assert_eq!(back.as_slice()[2], f64::MIN_POSITIVE / 4.0);
    let e = Tensor::<f32>::zeros(&[0, 7]).unwrap();
    write_safetensors(dir.join("e.safetensors"), &[("e", &e)], &[]).unwrap();
    let f = SafetensorsFile::open(dir.join("e.safetensors")).unwrap();
    assert_eq!(f.tensor::<f32>("e").unwrap().dims(), &[0, 7]);
    std::fs::remove_dir_all(dir).ok();
}
