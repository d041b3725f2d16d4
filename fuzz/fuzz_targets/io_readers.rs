//! The `.npy` and safetensors readers and the capture pairing on arbitrary
//! bytes: an `Err` or tensors whose sizes the bytes can hold.
#![no_main]

use gradsign::io::{CapturedLayer, SafetensorsFile, npy_from_bytes};
use gradsign::{Element, Error, Tensor};
use libfuzzer_sys::fuzz_target;

fn npy<F: Element>(data: &[u8]) {
    match npy_from_bytes::<F>(data, "fuzz.npy") {
        // Never more values than the file has bytes (each is ≥ 4 bytes).
        Ok(t) => assert!(t.numel() * 4 <= data.len()),
        Err(
            e @ (Error::Format { op: "read_npy", .. } | Error::TooLarge { op: "read_npy", .. }),
        ) => assert!(e.to_string().starts_with("read_npy: fuzz.npy"), "{e}"),
        Err(e) => panic!("unexpected error kind: {e}"),
    }
}

fn safetensors<F: Element>(data: &[u8]) {
    let file = match SafetensorsFile::from_bytes(data, "fuzz.safetensors") {
        Ok(f) => f,
        Err(e @ Error::Format { op: "read_safetensors", .. }) => {
            assert!(e.to_string().starts_with("read_safetensors: fuzz.safetensors"), "{e}");
            return;
        }
        Err(e) => panic!("unexpected error kind: {e}"),
    };
    let mut tensors: Vec<(String, Tensor<F>)> = Vec::new();
    for name in file.names() {
        match file.tensor::<F>(name) {
            Ok(t) => {
                assert!(t.numel() * 4 <= data.len());
                assert_eq!(Some(t.dims()), file.shape(name));
                tensors.push((name.clone(), t));
            }
            Err(Error::Format { .. } | Error::TooLarge { .. }) => {}
            Err(e) => panic!("unexpected error kind: {e}"),
        }
    }
    // Pair the first two as a layer: either consistent shapes or an Err.
    if let [(_, a), (_, d), ..] = tensors.as_slice() {
        match CapturedLayer::new("fuzz", a.clone(), d.clone(), None, None, None) {
            Ok(l) => {
                assert_eq!(l.input.dims()[0], l.delta.dims()[0]);
                assert!(l.input.as_slice().iter().all(|x| x.is_finite()));
                let g = l.batch_gradient().unwrap();
                assert_eq!(g.dims(), &[l.delta.dims()[1], l.input.dims()[1]]);
            }
            Err(Error::Format { .. } | Error::NonFinite { .. }) => {}
            Err(e) => panic!("unexpected error kind: {e}"),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    match flags & 3 {
        0 => npy::<f32>(rest),
        1 => npy::<f64>(rest),
        2 => safetensors::<f32>(rest),
        _ => safetensors::<f64>(rest),
    }
});
