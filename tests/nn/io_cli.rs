//! The `gradsign report` binary on the committed PyTorch capture and on bad
//! input.
#![cfg(feature = "cli")]

use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pytorch_mlp/capture.safetensors")
}

fn gradsign(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gradsign"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn report_names_every_layer_and_diagnoses() {
    let f = fixture();
    let (ok, out, err) = gradsign(&["report", f.to_str().unwrap()]);
    assert!(ok, "{err}");
    for needle in [
        "layer 0 = fc1: A 32×6, Δ 32×16",
        "layer 2 = out: A 32×8, Δ 32×1",
        "per-ex coh",
        "Diagnosis",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in\n{out}");
    }
    assert!(!out.contains("λmax"), "curvature is off by default");
    let (ok, out, _) = gradsign(&["report", "--curvature", f.to_str().unwrap()]);
    assert!(ok && out.contains("λmax E[aaᵀ]"), "{out}");
}

#[test]
fn json_is_the_serde_report_with_names() {
    let f = fixture();
    let (ok, out, err) = gradsign(&["report", "--json", f.to_str().unwrap()]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["layers"][1]["name"], "fc2");
    assert_eq!(v["layers"][1]["fan_in"], 16);
    assert_eq!(v["report"]["layers"].as_array().unwrap().len(), 3);
    assert_eq!(v["report"]["layers"][0]["batch"], 32);
}

#[test]
fn plot_writes_an_svg_titled_from_the_data() {
    let dir = std::env::temp_dir().join(format!("gradsign-cli-plot-{}", std::process::id()));
    let f = fixture();
    let (ok, _, err) = gradsign(&[
        "report",
        f.to_str().unwrap(),
        "--plot",
        dir.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let svg = std::fs::read_to_string(dir.join("coherence.svg")).unwrap();
    for needle in [
        "capture.safetensors (batch 32)",
        "fc1",
        "fc2",
        "per-example rows one-signed",
        "62%",
    ] {
        assert!(svg.contains(needle), "missing {needle:?}");
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn bad_input_exits_non_zero_with_the_reason() {
    let (ok, _, err) = gradsign(&["report", "/nonexistent/x.safetensors"]);
    assert!(
        !ok && err.contains("gradsign: error:") && err.contains("/nonexistent/x.safetensors"),
        "{err}"
    );
    let dir = std::env::temp_dir().join(format!("gradsign-cli-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.safetensors");
    std::fs::write(&bad, b"\xff\xff\xff\xff\xff\xff\xff\xff{}").unwrap();
    let (ok, _, err) = gradsign(&["report", bad.to_str().unwrap()]);
    assert!(!ok && err.contains("invalid safetensors header"), "{err}");
    let (ok, _, _) = gradsign(&["report"]);
    assert!(!ok, "files are required");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_closed_stdout_is_not_a_panic() {
    use std::io::Read;
    use std::process::Stdio;
    let f = fixture();
    let mut child = Command::new(env!("CARGO_BIN_EXE_gradsign"))
        .args(["report", f.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader went away, as with `| head -0`
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(!err.contains("panicked"), "{err}");
    assert!(status.success(), "{err}");
}
