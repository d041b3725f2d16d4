//! Hostile and malformed files for the `io` readers and the capture loader:
//! each is an `Err` naming the file (and the tensor), never a panic, an
//! abort or an allocation sized by an unchecked header.
#![cfg(feature = "io")]

use std::path::PathBuf;

use gradsign::io::{
    Capture, CapturedLayer, SafetensorsFile, npy_from_bytes, read_npy, write_npy, write_safetensors,
};
use gradsign::{Error, Tensor};

fn dir(test: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gradsign-io-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A `.npy` file of format 1.0 with the given header dict and data.
fn npy(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut header = dict.to_string();
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

/// A safetensors file from a raw header text and data.
fn st(header: &str, data: &[u8]) -> Vec<u8> {
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

fn f64_bytes(v: &[f64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn msg(e: impl std::borrow::Borrow<Error>) -> String {
    e.borrow().to_string()
}

// ---------------------------------------------------------------- .npy

#[test]
fn npy_empty_and_garbage_are_format_errors_naming_the_file() {
    for bytes in [
        &b""[..],
        b"hello",
        b"\x93NUMPY",
        b"\x93NUMPY\x09\x00\x10\x00",
    ] {
        let e = npy_from_bytes::<f32>(bytes, "x.npy").unwrap_err();
        assert!(matches!(e, Error::Format { op: "read_npy", .. }), "{e}");
        assert!(msg(e).contains("x.npy"));
    }
}

#[test]
fn npy_header_length_past_the_end_is_refused_before_allocating() {
    // Format 2.0 declares a 4 GiB header in a 12-byte file.
    let bytes = b"\x93NUMPY\x02\x00\xff\xff\xff\xff";
    let e = npy_from_bytes::<f64>(bytes, "big.npy").unwrap_err();
    assert!(msg(e).contains("truncated header"));
    // Format 1.0: 65535 declared, 3 present.
    let e = npy_from_bytes::<f64>(b"\x93NUMPY\x01\x00\xff\xff{'d", "h.npy").unwrap_err();
    assert!(msg(e).contains("truncated header"));
}

#[test]
fn npy_shape_whose_count_overflows_is_refused() {
    for shape in [
        "(1099511627776, 1099511627776)",
        "(1099511627776, 1099511627776, 0)",
        "(18446744073709551615, 2)",
    ] {
        let b = npy(
            &format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}"),
            &[],
        );
        let e = npy_from_bytes::<f32>(&b, "huge.npy").unwrap_err();
        assert!(matches!(e, Error::Format { .. }), "{shape}: {e}");
        assert!(msg(e).contains("huge.npy"));
    }
}

#[test]
fn npy_shape_overflow_is_refused_whatever_the_quoting() {
    for dict in [
        r#"{"descr": "<f4", "fortran_order": False, "shape": (4294967296, 4294967296), }"#,
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'shape': (4294967296, 4294967296, 8), }",
    ] {
        // Either a clean refusal or npyz's own error, never a panic.
        let e = npy_from_bytes::<f32>(&npy(dict, &[]), "q.npy").unwrap_err();
        assert!(matches!(e, Error::Format { .. }), "{dict}: {e}");
    }
}

#[test]
fn npy_huge_declared_shape_with_no_data_is_truncated_not_allocated() {
    let b = npy(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776,), }",
        &[],
    );
    let e = npy_from_bytes::<f64>(&b, "t.npy").unwrap_err();
    assert!(msg(&e).contains("truncated data"), "{e}");
}

#[test]
fn npy_data_one_byte_short_is_truncated() {
    let mut data = f64_bytes(&[1.0, 2.0, 3.0, 4.0]);
    data.pop();
    let b = npy(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }",
        &data,
    );
    let e = npy_from_bytes::<f64>(&b, "short.npy").unwrap_err();
    assert!(msg(&e).contains("needs 32 bytes, the file has 31"), "{e}");
}

#[test]
fn npy_dtypes_other_than_f4_f8_are_refused_by_name() {
    for descr in ["<f2", "<i4", "<u1", "|b1", "<c8"] {
        let b = npy(
            &format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': (2,), }}"),
            &[0; 32],
        );
        let e = npy_from_bytes::<f32>(&b, "d.npy").unwrap_err();
        assert!(
            matches!(e, Error::Format { op: "read_npy", .. }),
            "{descr}: {e}"
        );
        let m = msg(e);
        assert!(m.contains("neither f32") && m.contains("d.npy"), "{m}");
    }
}

#[test]
fn npy_fortran_order_is_read_as_the_same_array() {
    // a = [[1, 2, 3], [4, 5, 6]] stored column by column.
    let b = npy(
        "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }",
        &f64_bytes(&[1.0, 4.0, 2.0, 5.0, 3.0, 6.0]),
    );
    let t = npy_from_bytes::<f64>(&b, "f.npy").unwrap();
    assert_eq!(
        t,
        Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap()
    );
    // Rank 3: a[i, j, k] = 100i + 10j + k, Fortran order (i fastest).
    let mut data = Vec::new();
    for k in 0..4 {
        for j in 0..3 {
            for i in 0..2 {
                data.push(f64::from(100 * i + 10 * j + k));
            }
        }
    }
    let b = npy(
        "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3, 4), }",
        &f64_bytes(&data),
    );
    let t = npy_from_bytes::<f32>(&b, "f3.npy").unwrap();
    for i in 0..2 {
        for j in 0..3 {
            for k in 0..4 {
                assert_eq!(
                    t.as_slice()[i * 12 + j * 4 + k],
                    (100 * i + 10 * j + k) as f32
                );
            }
        }
    }
}

#[test]
fn npy_big_endian_is_read() {
    let data: Vec<u8> = [1.5f32, -2.0]
        .iter()
        .flat_map(|x| x.to_be_bytes())
        .collect();
    let b = npy(
        "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }",
        &data,
    );
    assert_eq!(
        npy_from_bytes::<f64>(&b, "be.npy").unwrap().as_slice(),
        &[1.5, -2.0]
    );
}

#[test]
fn npy_f64_beyond_f32_is_an_error_not_infinity() {
    let b = npy(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }",
        &f64_bytes(&[1.0, 1e300, 2.0]),
    );
    let e = npy_from_bytes::<f32>(&b, "o.npy").unwrap_err();
    assert!(msg(e).contains("element 1 = 1e300"));
    // In f64 it is fine, and f32's subnormals survive.
    assert_eq!(
        npy_from_bytes::<f64>(&b, "o.npy").unwrap().as_slice()[1],
        1e300
    );
    let b = npy(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }",
        &f64_bytes(&[1e-40]),
    );
    assert_eq!(
        npy_from_bytes::<f32>(&b, "s.npy").unwrap().as_slice()[0],
        1e-40f32
    );
}

#[test]
fn npy_missing_file_names_it() {
    let e = read_npy::<f32>("/nonexistent/dir/a.npy").unwrap_err();
    assert!(matches!(e, Error::Io { op: "read_npy", .. }));
    assert!(msg(e).contains("/nonexistent/dir/a.npy"));
}

// ---------------------------------------------------------- safetensors

fn open_err(bytes: &[u8]) -> String {
    let e = SafetensorsFile::from_bytes(bytes, "m.safetensors").unwrap_err();
    assert!(
        matches!(
            e,
            Error::Format {
                op: "read_safetensors",
                ..
            }
        ),
        "{e}"
    );
    let m = msg(e);
    assert!(m.contains("m.safetensors"), "{m}");
    m
}

#[test]
fn safetensors_short_and_lying_headers_are_refused() {
    open_err(b"");
    open_err(b"\x01\x00\x00");
    open_err(&u64::MAX.to_le_bytes());
    open_err(&(1u64 << 40).to_le_bytes());
    let mut b = 1000u64.to_le_bytes().to_vec();
    b.extend_from_slice(b"{}");
    open_err(&b);
    open_err(&st("{not json", &[]));
    open_err(&st("[1, 2]", &[]));
}

#[test]
fn safetensors_offsets_past_the_end_overlapping_or_gapped_are_refused() {
    let data = f64_bytes(&[1.0, 2.0]);
    // Past the end.
    open_err(&st(
        r#"{"a":{"dtype":"F64","shape":[4],"data_offsets":[0,32]}}"#,
        &data,
    ));
    // Overlapping.
    open_err(&st(
        r#"{"a":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},"b":{"dtype":"F64","shape":[1],"data_offsets":[8,16]}}"#,
        &data,
    ));
    // A gap, and an end before the start.
    open_err(&st(
        r#"{"a":{"dtype":"F64","shape":[1],"data_offsets":[8,16]}}"#,
        &data,
    ));
    open_err(&st(
        r#"{"a":{"dtype":"F64","shape":[1],"data_offsets":[16,8]}}"#,
        &data,
    ));
    // Trailing bytes no tensor accounts for.
    open_err(&st(
        r#"{"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}"#,
        &data,
    ));
}

#[test]
fn safetensors_huge_declared_shapes_are_refused_before_allocating() {
    let data = f64_bytes(&[1.0, 2.0]);
    for shape in [
        "[1099511627776,1099511627776]",
        "[18446744073709551615,2]",
        "[1099511627776]",
    ] {
        let h = format!(r#"{{"a":{{"dtype":"F64","shape":{shape},"data_offsets":[0,16]}}}}"#);
        open_err(&st(&h, &data));
    }
}

#[test]
fn safetensors_duplicate_tensor_names_are_refused() {
    let data = f64_bytes(&[1.0, 2.0]);
    let m = open_err(&st(
        r#"{"a":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},"a":{"dtype":"F64","shape":[2],"data_offsets":[0,16]}}"#,
        &data,
    ));
    assert!(m.contains("'a' appears twice"), "{m}");
}

#[test]
fn safetensors_half_and_integer_dtypes_are_refused_by_name() {
    for (dtype, bytes) in [("F16", 4), ("BF16", 4), ("I32", 8), ("U8", 2), ("BOOL", 2)] {
        let h = format!(r#"{{"w":{{"dtype":"{dtype}","shape":[2],"data_offsets":[0,{bytes}]}}}}"#);
        let f = SafetensorsFile::from_bytes(&st(&h, &vec![0; bytes]), "h.safetensors").unwrap();
        let e = f.tensor::<f32>("w").unwrap_err();
        assert!(matches!(
            e,
            Error::Format {
                op: "read_safetensors",
                ..
            }
        ));
        let m = msg(e);
        assert!(
            m.contains("h.safetensors") && m.contains("'w'") && m.contains(dtype),
            "{m}"
        );
    }
}

#[test]
fn safetensors_unknown_tensor_and_f32_overflow() {
    let h = r#"{"a":{"dtype":"F64","shape":[2],"data_offsets":[0,16]}}"#;
    let f =
        SafetensorsFile::from_bytes(&st(h, &f64_bytes(&[1.0, -1e39])), "o.safetensors").unwrap();
    assert!(msg(f.tensor::<f32>("b").unwrap_err()).contains("no tensor named 'b'"));
    let m = msg(f.tensor::<f32>("a").unwrap_err());
    assert!(
        m.contains("'a'") && m.contains("-1e39") && m.contains("f32"),
        "{m}"
    );
    assert_eq!(f.tensor::<f64>("a").unwrap().as_slice(), &[1.0, -1e39]);
}

#[test]
fn safetensors_empty_tensor_and_scalar_are_read() {
    let h = r#"{"e":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]},"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}"#;
    let f = SafetensorsFile::from_bytes(&st(h, &2.5f32.to_le_bytes()), "e.safetensors").unwrap();
    assert_eq!(f.tensor::<f32>("e").unwrap().dims(), &[0, 3]);
    assert_eq!(f.tensor::<f64>("s").unwrap().as_slice(), &[2.5]);
}

#[test]
fn writer_refuses_duplicate_and_reserved_names() {
    let d = dir("wdup");
    let t = Tensor::<f32>::zeros(&[2]).unwrap();
    for names in [["a", "a"], ["__metadata__", "b"]] {
        let e = write_safetensors(
            d.join("x.safetensors"),
            &[(names[0], &t), (names[1], &t)],
            &[],
        )
        .unwrap_err();
        assert!(matches!(e, Error::OutOfDomain { .. }), "{e}");
    }
    std::fs::remove_dir_all(d).ok();
}

// -------------------------------------------------------------- capture

fn t(rows: usize, cols: usize, v: f32) -> Tensor<f32> {
    Tensor::from_vec(vec![v; rows * cols], &[rows, cols]).unwrap()
}

fn load_err(paths: &[PathBuf]) -> String {
    let e = Capture::<f32>::load(paths).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Format {
                op: "load_capture",
                ..
            } | Error::NonFinite {
                op: "load_capture",
                ..
            }
        ),
        "{e}"
    );
    msg(e)
}

#[test]
fn capture_missing_half_is_refused_by_name() {
    let d = dir("half");
    write_npy(d.join("fc1.input.npy"), &t(4, 3, 0.5)).unwrap();
    let m = load_err(std::slice::from_ref(&d));
    assert!(
        m.contains("layer 'fc1'") && m.contains("no fc1.delta"),
        "{m}"
    );
    std::fs::remove_file(d.join("fc1.input.npy")).unwrap();
    write_npy(d.join("fc1.delta.npy"), &t(4, 2, 0.5)).unwrap();
    let m = load_err(std::slice::from_ref(&d));
    assert!(m.contains("no fc1.input"), "{m}");
    std::fs::remove_dir_all(d).ok();
}

#[test]
fn capture_from_npy_files_pairs_them() {
    let d = dir("npy");
    write_npy(d.join("fc1.input.npy"), &t(4, 3, 0.5)).unwrap();
    write_npy(d.join("fc1.delta.npy"), &t(4, 2, -1.0)).unwrap();
    write_npy(d.join("fc1.weight.npy"), &t(2, 3, 0.1)).unwrap();
    let c = Capture::<f64>::load(std::slice::from_ref(&d)).unwrap();
    assert_eq!(c.names(), ["fc1"]);
    assert_eq!(c.layers[0].weight.as_ref().unwrap().dims(), &[2, 3]);
    std::fs::remove_dir_all(d).ok();
}

#[test]
fn capture_mismatched_batches_are_refused() {
    let e = CapturedLayer::new("fc1", t(4, 3, 0.5), t(5, 2, 0.5), None, None, None).unwrap_err();
    assert!(msg(e).contains("fc1.input has 4 examples but fc1.delta has 5"));
    let e = CapturedLayer::new("fc1", t(0, 3, 0.5), t(0, 2, 0.5), None, None, None).unwrap_err();
    assert!(msg(e).contains("empty"));
}

#[test]
fn capture_swapped_input_and_delta_are_caught_by_the_weight() {
    // The real layer: K = 3 inputs, J = 2 outputs, weight 2×3; files swapped.
    let e = CapturedLayer::new(
        "fc1",
        t(4, 2, 0.5),
        t(4, 3, 0.5),
        Some(t(2, 3, 0.1)),
        None,
        None,
    )
    .unwrap_err();
    let m = msg(e);
    assert!(
        m.contains("fc1.weight has shape [2, 3]") && m.contains("swapped"),
        "{m}"
    );
    let e = CapturedLayer::new(
        "fc1",
        t(4, 3, 0.5),
        t(4, 2, 0.5),
        None,
        Some(t(3, 2, 0.1)),
        None,
    )
    .unwrap_err();
    assert!(msg(e).contains("fc1.weight_grad"));
    let bias = Tensor::<f32>::zeros(&[3]).unwrap();
    let e =
        CapturedLayer::new("fc1", t(4, 3, 0.5), t(4, 2, 0.5), None, None, Some(bias)).unwrap_err();
    assert!(msg(e).contains("fc1.bias_grad"));
}

#[test]
fn capture_rank_other_than_two_is_refused() {
    let v = Tensor::<f32>::zeros(&[4]).unwrap();
    let e = CapturedLayer::new("fc1", v, t(4, 2, 0.5), None, None, None).unwrap_err();
    assert!(msg(e).contains("fc1.input has shape [4]"));
}

#[test]
fn capture_non_finite_values_are_refused_with_their_position() {
    for (bad, pos) in [
        (f32::NAN, "NaN"),
        (f32::INFINITY, "inf"),
        (f32::NEG_INFINITY, "-inf"),
    ] {
        let mut d = t(4, 2, 0.5).into_vec();
        d[5] = bad;
        let d = Tensor::from_vec(d, &[4, 2]).unwrap();
        let e = CapturedLayer::new("fc2", t(4, 3, 0.5), d, None, None, None).unwrap_err();
        assert!(matches!(e, Error::NonFinite { .. }));
        assert_eq!(
            msg(e),
            format!("load_capture: non-finite value fc2.delta[2, 1] = {pos}")
        );
    }
    // NaN read from a file reaches the same check.
    let dd = dir("nan");
    let mut a = t(4, 3, 0.5).into_vec();
    a[0] = f32::NAN;
    write_npy(
        dd.join("l.input.npy"),
        &Tensor::from_vec(a, &[4, 3]).unwrap(),
    )
    .unwrap();
    write_npy(dd.join("l.delta.npy"), &t(4, 2, 0.5)).unwrap();
    assert!(read_npy::<f32>(dd.join("l.input.npy")).unwrap().as_slice()[0].is_nan());
    assert!(load_err(std::slice::from_ref(&dd)).contains("l.input[0, 0] = NaN"));
    std::fs::remove_dir_all(dd).ok();
}

#[test]
fn capture_same_tensor_twice_is_refused() {
    let d = dir("twice");
    write_npy(d.join("fc1.input.npy"), &t(4, 3, 0.5)).unwrap();
    let a = t(4, 3, 0.5);
    let dl = t(4, 2, 0.5);
    write_safetensors(
        d.join("c.safetensors"),
        &[("fc1.input", &a), ("fc1.delta", &dl)],
        &[],
    )
    .unwrap();
    let m = load_err(&[d.join("fc1.input.npy"), d.join("c.safetensors")]);
    assert!(m.contains("'fc1.input' appears twice"), "{m}");
    // The same file given twice.
    let m = load_err(&[d.join("c.safetensors"), d.join("c.safetensors")]);
    assert!(m.contains("appears twice"), "{m}");
    std::fs::remove_dir_all(d).ok();
}

#[test]
fn capture_names_outside_the_convention_are_refused() {
    let d = dir("names");
    let a = t(4, 3, 0.5);
    for bad in ["fc1.bias", "fc1", ".input"] {
        write_safetensors(d.join("n.safetensors"), &[(bad, &a)], &[]).unwrap();
        let m = load_err(&[d.join("n.safetensors")]);
        assert!(m.contains(&format!("'{bad}'")), "{m}");
    }
    std::fs::remove_dir_all(d).ok();
}

#[test]
fn capture_metadata_listing_a_missing_layer_is_refused() {
    let d = dir("meta");
    let (a, dl) = (t(4, 3, 0.5), t(4, 2, 0.5));
    write_safetensors(
        d.join("m.safetensors"),
        &[("fc1.input", &a), ("fc1.delta", &dl)],
        &[("gradsign.layers", "fc0,fc1")],
    )
    .unwrap();
    assert!(load_err(&[d.join("m.safetensors")]).contains("layer 'fc0'"));
    std::fs::remove_dir_all(d).ok();
}

#[test]
fn capture_no_files_and_missing_files() {
    assert!(load_err(&[]).contains("no capture files"));
    let e = Capture::<f32>::load(&["/nonexistent/c.safetensors"]).unwrap_err();
    assert!(matches!(e, Error::Io { .. }) && msg(e).contains("/nonexistent/c.safetensors"));
}

#[test]
fn capture_round_trips_in_layer_order() {
    let d = dir("round");
    // Names chosen so that alphabetical order differs from network order.
    let layers: Vec<CapturedLayer<f64>> = ["z_first", "b_second", "m_third"]
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let a = Tensor::rand_uniform(&[5, 3 + i], 0.0, 1.0, i as u64).unwrap();
            let dl = Tensor::rand_normal(&[5, 2], 0.0, 1.0, 9 + i as u64).unwrap();
            CapturedLayer::new(n, a, dl, None, None, None).unwrap()
        })
        .collect();
    let c = Capture { layers };
    c.save(d.join("c.safetensors")).unwrap();
    let back = Capture::<f64>::load(&[d.join("c.safetensors")]).unwrap();
    assert_eq!(back, c);
    std::fs::remove_dir_all(d).ok();
}

#[test]
fn empty_tensors_with_huge_extents_are_read_or_refused_by_the_reader() {
    for shape in [
        "[0,4611686018427387904]",
        "[4611686018427387904,0]",
        "[0,0,0,0,0,0,0,0,0]",
    ] {
        let h = format!(r#"{{"e":{{"dtype":"F32","shape":{shape},"data_offsets":[0,0]}}}}"#);
        let f = SafetensorsFile::from_bytes(&st(&h, &[]), "z.safetensors").unwrap();
        match f.tensor::<f32>("e") {
            Ok(t) => assert_eq!(t.numel(), 0),
            Err(e) => {
                assert!(
                    matches!(
                        e,
                        Error::Format {
                            op: "read_safetensors",
                            ..
                        }
                    ),
                    "{shape}: {e}"
                );
                assert!(msg(e).contains("z.safetensors"));
            }
        }
        let dict = format!(
            "{{'descr': '<f4', 'fortran_order': False, 'shape': ({}), }}",
            shape.trim_matches(['[', ']']).to_string() + ","
        );
        match npy_from_bytes::<f32>(&npy(&dict, &[]), "z.npy") {
            Ok(t) => assert_eq!(t.numel(), 0),
            Err(e) => {
                assert!(
                    matches!(e, Error::Format { op: "read_npy", .. }),
                    "{shape}: {e}"
                );
                assert!(msg(e).contains("z.npy"));
            }
        }
    }
}

#[test]
fn npy_deeply_nested_header_is_refused_quickly() {
    // Found by fuzzing (io_readers): npyz's literal parser backtracks
    // exponentially on nested brackets; this hung it for over 10 s.
    let mut b = b"\x93NUMPY\x01\x001\x00{'pe': (1,".to_vec();
    b.extend_from_slice(&[b'['; 42]);
    b.extend_from_slice(
        b" \xeb3+    0        +0   $  <f4'\n\x00\r\x00\x10@\x00\x00\x00\x00\x00\x14\xee",
    );
    let start = std::time::Instant::now();
    let e = npy_from_bytes::<f32>(&b, "deep.npy").unwrap_err();
    assert!(start.elapsed().as_secs() < 2);
    assert!(matches!(e, Error::Format { op: "read_npy", .. }), "{e}");
    // The same nesting inside a well-formed header.
    let dict = format!(
        "{{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': {}{} }}",
        "[".repeat(40),
        "]".repeat(40)
    );
    let m = msg(npy_from_bytes::<f32>(&npy(&dict, &[0; 4]), "deep.npy").unwrap_err());
    assert!(m.contains("nests brackets 41 deep"), "{m}");
    // An over-long header.
    let dict = format!(
        "{{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': '{}' }}",
        "a".repeat(70_000)
    );
    let mut b = b"\x93NUMPY\x02\x00".to_vec();
    b.extend_from_slice(&(dict.len() as u32).to_le_bytes());
    b.extend_from_slice(dict.as_bytes());
    assert!(
        msg(npy_from_bytes::<f32>(&b, "long.npy").unwrap_err()).contains("the header declares")
    );
}
