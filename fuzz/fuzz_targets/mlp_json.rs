//! Model parameters from untrusted JSON: `Mlp::from_json` returns an `Err`
//! or a model that can run a forward pass of its own input width.
#![no_main]

use gradsign::Tape;
use gradsign::nn::Mlp;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(mlp) = Mlp::<f64>::from_json(text) {
        // Bounded memory: never more parameters than the text has bytes.
        assert!(
            mlp.num_parameters() <= text.len(),
            "{}",
            mlp.num_parameters()
        );
        // ...and no width (so no activation of a forward pass) larger either.
        assert!(
            mlp.sizes().iter().all(|&s| s <= text.len()),
            "{:?}",
            mlp.sizes()
        );
        let tape = Tape::new();
        let x = tape
            .constant_from_slice(&vec![0.5; mlp.input_width()], &[1, mlp.input_width()])
            .unwrap();
        let (y, _) = mlp
            .forward(&tape, x)
            .expect("a loaded model runs on its own width");
        assert_eq!(y.dims(), [1, mlp.output_width()]);
        let back = mlp.to_json().expect("a loaded model serialises");
        assert_eq!(Mlp::<f64>::from_json(&back).as_ref(), Ok(&mlp));
    }
    if let Ok(mlp) = Mlp::<f32>::from_json(text) {
        // f64 → f32 rounds; it must not overflow to infinity.
        for layer in mlp.layers() {
            assert!(layer.linear.weight.all_finite());
            assert!(layer.linear.bias.as_ref().is_none_or(|b| b.all_finite()));
        }
    }
});
