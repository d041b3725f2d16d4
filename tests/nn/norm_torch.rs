//! The normalisation layers against PyTorch: `tests/fixtures/norm/reference.json`
//! was written by `python/make_norm_fixture.py` (torch, float64). Outputs,
//! gradients of `Σ y ⊙ upstream` and running statistics agree to 1e-12.
#![cfg(feature = "serde")]

use gradsign::nn::{
    self, BatchNorm, LayerNorm, MeanOnlyBatchNorm, Module, WeightNormConv2d, WeightNormLinear,
    named_gradients,
};
use gradsign::ops::conv::Window;
use gradsign::{Tape, Tensor};
use serde_json::Value;

const TOL: f64 = 1e-12;

fn fixture() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/norm/reference.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn vec(v: &Value, key: &str) -> Vec<f64> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("{key} missing"))
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn dims(v: &Value, key: &str) -> Vec<usize> {
    v[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

fn close(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        assert!(
            (a - b).abs() <= TOL * (1.0 + b.abs()),
            "{what}[{i}]: gradsign {a} vs torch {b} (difference {:e})",
            (a - b).abs()
        );
    }
}

/// Output, input gradient, parameter gradients by name.
type Run = (Vec<f64>, Vec<f64>, Vec<(String, Vec<f64>)>);

/// Runs `layer` on `x`, backpropagates `Σ y ⊙ upstream`, and returns the
/// output, the input's gradient and the parameters' gradients by name.
fn run<M: Module<f64>>(layer: &M, shape: &[usize], x: &[f64], upstream: &[f64]) -> Run {
    let tape = Tape::<f64>::new();
    let xv = tape.var(&Tensor::from_vec(x.to_vec(), shape).unwrap());
    let (y, trace) = nn::forward(layer, &tape, xv).unwrap();
    let up = tape.constant(&Tensor::from_vec(upstream.to_vec(), &y.dims()).unwrap());
    let grads = (y * up).sum().backward().unwrap();
    let named = named_gradients(layer, &trace, &grads).unwrap();
    (
        y.value().as_slice().to_vec(),
        grads.get(xv).unwrap().to_vec(),
        named,
    )
}

fn grad<'a>(named: &'a [(String, Vec<f64>)], name: &str) -> &'a [f64] {
    &named.iter().find(|(n, _)| n == name).unwrap().1
}

fn cases(kind: &str) -> Vec<Value> {
    let f = fixture();
    let out: Vec<Value> = f["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == kind)
        .cloned()
        .collect();
    assert!(!out.is_empty(), "no {kind} case in the fixture");
    out
}

#[test]
fn batch_norm_matches_torch_in_both_modes_with_running_statistics() {
    for case in cases("batch_norm") {
        let name = case["name"].as_str().unwrap();
        let shape = dims(&case, "shape");
        let c = shape[1];
        let affine = case["affine"].as_bool().unwrap();
        let mut bn = BatchNorm::<f64>::new(c).unwrap();
        if affine {
            bn.weight = Some(Tensor::from_vec(vec(&case, "weight"), &[c]).unwrap());
            bn.bias = Some(Tensor::from_vec(vec(&case, "bias"), &[c]).unwrap());
        } else {
            bn = bn.without_affine();
        }
        bn.set_running_stats(
            &vec(&case, "running_mean_before"),
            &vec(&case, "running_var_before"),
        )
        .unwrap();
        for mode in ["train", "eval"] {
            bn.set_training(mode == "train");
            let m = &case[mode];
            let (y, dx, named) = run(&bn, &shape, &vec(m, "x"), &vec(m, "upstream"));
            close(&format!("{name} {mode} y"), &y, &vec(m, "y"));
            close(&format!("{name} {mode} dx"), &dx, &vec(m, "dx"));
            if affine {
                close(
                    &format!("{name} {mode} dweight"),
                    grad(&named, "weight"),
                    &vec(m, "dweight"),
                );
                close(
                    &format!("{name} {mode} dbias"),
                    grad(&named, "bias"),
                    &vec(m, "dbias"),
                );
            }
            close(
                &format!("{name} {mode} running mean"),
                &bn.running_mean(),
                &vec(m, "running_mean_after"),
            );
            close(
                &format!("{name} {mode} running var"),
                &bn.running_var(),
                &vec(m, "running_var_after"),
            );
        }
    }
}

#[test]
fn layer_norm_matches_torch() {
    for case in cases("layer_norm") {
        let name = case["name"].as_str().unwrap();
        let shape = dims(&case, "shape");
        let ns = dims(&case, "normalized_shape");
        let mut ln = LayerNorm::<f64>::new(&ns).unwrap();
        let affine = case["affine"].as_bool().unwrap();
        if affine {
            ln.weight = Some(Tensor::from_vec(vec(&case, "weight"), &ns).unwrap());
            ln.bias = Some(Tensor::from_vec(vec(&case, "bias"), &ns).unwrap());
        } else {
            ln = ln.without_affine();
        }
        let (y, dx, named) = run(&ln, &shape, &vec(&case, "x"), &vec(&case, "upstream"));
        close(&format!("{name} y"), &y, &vec(&case, "y"));
        close(&format!("{name} dx"), &dx, &vec(&case, "dx"));
        if affine {
            close(
                &format!("{name} dweight"),
                grad(&named, "weight"),
                &vec(&case, "dweight"),
            );
            close(
                &format!("{name} dbias"),
                grad(&named, "bias"),
                &vec(&case, "dbias"),
            );
        } else {
            assert!(named.is_empty());
        }
    }
}

#[test]
fn mean_only_batch_norm_matches_torch_autograd() {
    for case in cases("mean_only_batch_norm") {
        let name = case["name"].as_str().unwrap();
        let shape = dims(&case, "shape");
        let c = shape[1];
        let mut m = MeanOnlyBatchNorm::<f64>::new(c).unwrap();
        m.bias = Tensor::from_vec(vec(&case, "bias"), &[c]).unwrap();
        let (y, dx, named) = run(&m, &shape, &vec(&case, "x"), &vec(&case, "upstream"));
        close(&format!("{name} y"), &y, &vec(&case, "y"));
        close(&format!("{name} dx"), &dx, &vec(&case, "dx"));
        close(
            &format!("{name} dbias"),
            grad(&named, "bias"),
            &vec(&case, "dbias"),
        );
        // One step from a zero running mean: 0.1 · batch mean.
        let want: Vec<f64> = vec(&case, "batch_mean").iter().map(|v| 0.1 * v).collect();
        close(&format!("{name} running mean"), &m.running_mean(), &want);
    }
}

#[test]
fn weight_norm_matches_torch_parametrization() {
    for case in cases("weight_norm") {
        let name = case["name"].as_str().unwrap();
        let (fi, fo, b) = (
            case["fan_in"].as_u64().unwrap() as usize,
            case["fan_out"].as_u64().unwrap() as usize,
            case["batch"].as_u64().unwrap() as usize,
        );
        let wn = WeightNormLinear::new(
            Tensor::from_vec(vec(&case, "v"), &[fo, fi]).unwrap(),
            Tensor::from_vec(vec(&case, "g"), &[fo]).unwrap(),
            Some(Tensor::from_vec(vec(&case, "bias"), &[fo]).unwrap()),
        )
        .unwrap();
        let (y, dx, named) = run(&wn, &[b, fi], &vec(&case, "x"), &vec(&case, "upstream"));
        close(&format!("{name} y"), &y, &vec(&case, "y"));
        close(&format!("{name} dx"), &dx, &vec(&case, "dx"));
        close(
            &format!("{name} dv"),
            grad(&named, "weight_v"),
            &vec(&case, "dv"),
        );
        close(
            &format!("{name} dg"),
            grad(&named, "weight_g"),
            &vec(&case, "dg"),
        );
        close(
            &format!("{name} dbias"),
            grad(&named, "bias"),
            &vec(&case, "dbias"),
        );
    }
}

#[test]
fn weight_norm_conv_matches_torch_parametrization() {
    let all = cases("weight_norm_conv");
    assert_eq!(all.len(), 2);
    for case in all {
        let name = case["name"].as_str().unwrap();
        let shape = dims(&case, "shape");
        let (o, c) = (case["out_channels"].as_u64().unwrap() as usize, shape[1]);
        let (k, st, pad, dil) = (
            dims(&case, "kernel"),
            dims(&case, "stride"),
            dims(&case, "padding"),
            dims(&case, "dilation"),
        );
        let wn = WeightNormConv2d::new(
            Tensor::from_vec(vec(&case, "v"), &[o, c, k[0], k[1]]).unwrap(),
            Tensor::from_vec(vec(&case, "g"), &[o]).unwrap(),
            Some(Tensor::from_vec(vec(&case, "bias"), &[o]).unwrap()),
        )
        .unwrap()
        .with_window(Window {
            stride: (st[0], st[1]),
            padding: (pad[0], pad[1]),
            dilation: (dil[0], dil[1]),
        });
        let (y, dx, named) = run(&wn, &shape, &vec(&case, "x"), &vec(&case, "upstream"));
        close(&format!("{name} y"), &y, &vec(&case, "y"));
        close(&format!("{name} dx"), &dx, &vec(&case, "dx"));
        for (ours, theirs) in [("weight_v", "dv"), ("weight_g", "dg"), ("bias", "dbias")] {
            close(
                &format!("{name} {theirs}"),
                grad(&named, ours),
                &vec(&case, theirs),
            );
        }
    }
}
