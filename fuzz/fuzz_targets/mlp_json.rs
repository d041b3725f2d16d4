//! Models from untrusted JSON: `Sequential::from_json` and
//! `nn::load_parameters` return an `Err` or a model that can run a forward
//! pass of its own input width.
#![no_main]

use gradsign::Tape;
use gradsign::nn::{self, Sequential};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(net) = Sequential::<f64>::from_json(text) {
        // Bounded memory: never more parameters than the text has bytes.
        let n = nn::num_parameters(&net).expect("the crate's layers visit without error");
        assert!(n <= text.len(), "{n}");
        if let Some((input, output)) = net.dense_widths() {
            // ...and no width (so no activation of a forward pass) larger either.
            assert!(input <= text.len() && output <= text.len());
            let tape = Tape::new();
            let x = tape
                .constant_from_slice(&vec![0.5; input], &[1, input])
                .unwrap();
            let (y, _) = nn::forward(&net, &tape, x).expect("a loaded model runs on its own width");
            assert_eq!(y.dims(), [1, output]);
        }
        let back = net.to_json().expect("a loaded model serialises");
        assert_eq!(Sequential::<f64>::from_json(&back).as_ref(), Ok(&net));
    }
    if let Ok(net) = Sequential::<f32>::from_json(text) {
        // f64 → f32 rounds; it must not overflow to infinity.
        for (_, lin) in net.linears() {
            assert!(lin.weight.all_finite());
            assert!(lin.bias.as_ref().is_none_or(|b| b.all_finite()));
        }
    }
    // Parameters by name into a fixed model: all or nothing.
    let mut model = gradsign::nn::Mlp::builder(&[2, 3, 1]).build::<f64>().unwrap();
    let before = nn::named_parameters(&model).unwrap();
    if nn::load_parameters(&mut model, text).is_err() {
        assert_eq!(nn::named_parameters(&model).unwrap(), before);
    }
});
