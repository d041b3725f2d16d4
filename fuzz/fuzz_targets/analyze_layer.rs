//! The analyzer's raw-matrix entry point on arbitrary shapes and values:
//! `analyze_layer`, `example_categories` and `batch_row_categories` return an
//! `Err` or a report whose counts add up, and a per-example row touched by a
//! NaN or an infinity is counted as non-finite, never given a sign.
#![no_main]

use arbitrary::{Result, Unstructured};
use gradsign::Tensor;
use gradsign::analysis::{GradientSignAnalyzer, SignCategory};
use libfuzzer_sys::fuzz_target;

const MAX_NUMEL: usize = 1 << 12;

fn dim(u: &mut Unstructured<'_>) -> Result<usize> {
    Ok(match u.int_in_range(0u8..=15)? {
        0 => 1 << 40,
        1 => 0,
        _ => u.int_in_range(1usize..=6)?,
    })
}

fn value(u: &mut Unstructured<'_>) -> Result<f64> {
    Ok(match u.int_in_range(0u8..=11)? {
        0 => f64::NAN,
        1 => f64::INFINITY,
        2 => f64::NEG_INFINITY,
        3 => -0.0,
        4 => 0.0,
        5 => f64::from_bits(u.arbitrary()?),
        6 => 1e-310,
        _ => f64::from(u.int_in_range(-4i8..=4)?) / 2.0,
    })
}

fn matrix(u: &mut Unstructured<'_>, rows: usize) -> Result<Option<Tensor<f64>>> {
    let rank2 = u.int_in_range(0u8..=7)? != 0;
    let cols = dim(u)?;
    let dims: Vec<usize> = if rank2 { vec![rows, cols] } else { vec![rows] };
    let Some(n) = rows.checked_mul(cols).filter(|&n| n <= MAX_NUMEL) else {
        return Ok(None);
    };
    let n = if rank2 { n } else { rows.min(MAX_NUMEL) };
    if !rank2 && rows > MAX_NUMEL {
        return Ok(None);
    }
    let data = (0..n).map(|_| value(u)).collect::<Result<Vec<_>>>()?;
    Ok(Tensor::from_vec(data, &dims).ok())
}

fn run(u: &mut Unstructured<'_>) -> Result<()> {
    let b1 = dim(u)?;
    let b2 = if u.arbitrary()? { b1 } else { dim(u)? };
    let (Some(a), Some(d)) = (matrix(u, b1)?, matrix(u, b2)?) else {
        return Ok(());
    };
    let mut analyzer = GradientSignAnalyzer::default();
    if u.arbitrary()? {
        analyzer = analyzer.without_bias();
    }
    if u.arbitrary()? {
        analyzer = analyzer.with_sign_tolerance(value(u)?.abs());
    }
    if u.arbitrary()? {
        analyzer = analyzer.with_threads(2);
    }
    let report = analyzer.analyze_layer(&a, &d);
    let cats = analyzer.example_categories(&a, &d);
    let batch = analyzer.batch_row_categories(&a, &d);
    assert_eq!(report.is_ok(), cats.is_ok());
    assert_eq!(report.is_ok(), batch.is_ok());
    let (Ok(report), Ok(cats)) = (report, cats) else {
        return Ok(());
    };
    let (bsz, k, j) = (a.dims()[0], a.dims()[1], d.dims()[1]);
    assert_eq!(cats.len(), bsz * j);
    assert_eq!(report.per_example.total(), bsz * j);
    // The oracle: the category of each materialised row g_nj = Δ_nj·a_n
    // (with the bias entry Δ_nj), computed in F as a user's own per-example
    // gradients would be. A product that overflows is +-inf in such a row,
    // so the row is non-finite even though every input is finite.
    let bias = analyzer.config().include_bias;
    let tol = analyzer.config().sign_tolerance;
    let mut row = Vec::with_capacity(k + 1);
    for n in 0..bsz {
        let a_n = &a.as_slice()[n * k..(n + 1) * k];
        for jj in 0..j {
            let delta = d.as_slice()[n * j + jj];
            row.clear();
            row.extend(a_n.iter().map(|&x| delta * x));
            if bias {
                row.push(delta);
            }
            let want = SignCategory::of_row(&row, tol);
            let got = cats[n * j + jj];
            assert_eq!(
                got,
                want,
                "example {n}, neuron {jj}: row {row:?}; inputs {a:?}, deltas {d:?}, {:?}",
                analyzer.config()
            );
            // Non-finite data never gets a sign.
            let bad_input = a_n.iter().any(|x| !x.is_finite());
            let bad_delta = !delta.is_finite() && !row.is_empty();
            if bad_input || bad_delta {
                assert_eq!(got, SignCategory::NonFinite);
            }
        }
    }
    let non_finite = cats
        .iter()
        .filter(|&&c| c == SignCategory::NonFinite)
        .count();
    assert_eq!(report.per_example.non_finite, non_finite);
    let _ = report.to_string();
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let _ = run(&mut u);
});
