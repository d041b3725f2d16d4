//! BENCH.md's W1 check values: a chain of 10⁴ `x = tanh(x·wᵢ + bᵢ)` on
//! scalar leaves drawn from SplitMix64 (seed 1).

use gradsign::Tape;
use gradsign_studies::SplitMix64;

#[test]
fn w1_scalar_chain_matches_the_peers_check_values() {
    const N: usize = 10_000;
    let mut rng = SplitMix64::new(1);
    let w: Vec<f64> = (0..N).map(|_| rng.pm1()).collect();
    let b: Vec<f64> = (0..N).map(|_| rng.pm1()).collect();
    let tape = Tape::<f64>::new();
    let ws: Vec<_> = w.iter().map(|&v| tape.var_scalar(v)).collect();
    let bs: Vec<_> = b.iter().map(|&v| tape.var_scalar(v)).collect();
    let x0 = tape.var_scalar(0.5);
    let mut x = x0;
    for i in 0..N {
        x = (x * ws[i] + bs[i]).tanh();
    }
    let grads = x.backward().unwrap();
    let sum_dw: f64 = ws.iter().map(|&v| grads.get(v).unwrap()[0]).sum();
    let sum_db: f64 = bs.iter().map(|&v| grads.get(v).unwrap()[0]).sum();
    // The peers print 6 significant digits; compare at that precision.
    assert!(
        (x.item().unwrap() - 0.0834251).abs() < 5e-7,
        "x = {}",
        x.item().unwrap()
    );
    assert!((sum_dw - 0.176372).abs() < 5e-6, "sum dw = {sum_dw}");
    assert!((sum_db - 1.35012).abs() < 5e-5, "sum db = {sum_db}");
    // dx0 underflows to exactly zero after 10⁴ contracting steps.
    assert_eq!(grads.get(x0).unwrap(), &[0.0]);
}
