//! Same seed, same bits: across runs in one process, across processes, in
//! f32 and f64; and the matrix products give the same bits at 1 and 2
//! threads (the reduction dimension is never split across threads).

use gradsign::activation::Activation;
use gradsign::data::{Playground, PlaygroundConfig};
use gradsign::loss::{self, Reduction};
use gradsign::nn::{Init, Mlp};
use gradsign::optim::{Adam, Optimizer, Sgd};
use gradsign::{Element, Gradients, Tape, Tensor};
use gradsign_studies::bench_data;

/// FNV-1a over the bit patterns of every parameter: equal hashes of equal
/// length inputs mean equal bits with overwhelming probability, and the
/// test also compares the values themselves where both are in hand.
fn bits_hash<F: gradsign::nn::ModelElement>(mlp: &gradsign::nn::Sequential<F>) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for (_, lin) in mlp.linears() {
        let bias = lin.bias.as_ref().map(|b| b.as_slice()).unwrap_or(&[]);
        for &v in lin.weight.as_slice().iter().chain(bias) {
            for byte in Element::to_f64(v).to_bits().to_le_bytes() {
                h = (h ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
            }
        }
    }
    h
}

/// Builds a model and data from `seed`, trains 50 Adam steps with softmax
/// cross-entropy on the spiral set, and returns the trained model.
fn train_from_seed<F: gradsign::nn::ModelElement>(
    seed: u64,
    threads: usize,
) -> gradsign::nn::Sequential<F> {
    let data = Playground::Spiral
        .generate::<F>(&PlaygroundConfig::default().seed(seed))
        .unwrap();
    let mut mlp = Mlp::builder(&[2, 16, 16, 2])
        .hidden(Activation::Tanh)
        .output(Activation::Identity)
        .init(Init::GlorotUniform)
        .seed(seed)
        .build::<F>()
        .unwrap();
    let mut opt = Adam::new(F::from_f64(0.01));
    let mut tape = Tape::new();
    tape.set_threads(threads);
    let mut grads = Gradients::new();
    for _ in 0..50 {
        tape.clear();
        let x = tape.constant(data.features());
        let (logits, trace) = gradsign::nn::forward(&mlp, &tape, x).unwrap();
        let l = loss::softmax_cross_entropy(logits, data.labels(), Reduction::Mean).unwrap();
        l.backward_into(&mut grads).unwrap();
        opt.step(&mut mlp, &trace, &grads).unwrap();
    }
    mlp
}

#[test]
fn the_same_seed_gives_the_same_bits_twice_in_f64() {
    let (a, b) = (train_from_seed::<f64>(11, 1), train_from_seed::<f64>(11, 1));
    assert_eq!(a, b);
    assert_eq!(bits_hash(&a), bits_hash(&b));
}

#[test]
fn the_same_seed_gives_the_same_bits_twice_in_f32() {
    let (a, b) = (train_from_seed::<f32>(11, 1), train_from_seed::<f32>(11, 1));
    assert_eq!(a, b);
    assert_eq!(bits_hash(&a), bits_hash(&b));
}

#[test]
fn a_different_seed_gives_different_bits() {
    // Guards the two tests above against a hash or a training that ignores
    // its input.
    assert_ne!(
        bits_hash(&train_from_seed::<f64>(11, 1)),
        bits_hash(&train_from_seed::<f64>(12, 1))
    );
}

/// Set in the child process of the cross-process test.
const CHILD: &str = "GRADSIGN_DETERMINISM_CHILD";

#[test]
fn the_same_seed_gives_the_same_bits_in_another_process() {
    if std::env::var_os(CHILD).is_some() {
        // The child: print the hashes for the parent to compare.
        println!(
            "\nhashes {} {}",
            bits_hash(&train_from_seed::<f64>(11, 1)),
            bits_hash(&train_from_seed::<f32>(11, 1))
        );
        return;
    }
    // A new process has new addresses (ASLR), a new heap and new hash-map
    // seeds: none of them may reach the numbers.
    // libtest names a test by its module path below the crate root.
    let module = module_path!()
        .split_once("::")
        .map(|(_, m)| format!("{m}::"))
        .unwrap_or_default();
    let name = format!("{module}the_same_seed_gives_the_same_bits_in_another_process");
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name.as_str(), "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    // libtest may print the test's name on the same line, before the output.
    let line = stdout
        .lines()
        .find_map(|l| l.find("hashes ").map(|i| &l[i..]))
        .unwrap_or_else(|| panic!("no hashes in the child's output: {stdout}"));
    let expected = format!(
        "hashes {} {}",
        bits_hash(&train_from_seed::<f64>(11, 1)),
        bits_hash(&train_from_seed::<f32>(11, 1))
    );
    assert_eq!(line, expected);
}

#[test]
fn training_gives_the_same_bits_at_one_and_two_threads() {
    assert_eq!(train_from_seed::<f64>(5, 1), train_from_seed::<f64>(5, 2));
    assert_eq!(train_from_seed::<f32>(5, 1), train_from_seed::<f32>(5, 2));
}

/// W3's first layer, forward and backward (`Y = X·Wᵀ + b`, `dW = Gᵀ·X`,
/// `dX = G·W`), at `threads`; returns `(Y, dW, dX)`.
fn w3_layer<F: gradsign::nn::ModelElement>(threads: usize) -> (Tensor<F>, Tensor<F>, Tensor<F>) {
    let w3 = bench_data::w3::<F>();
    let lin = &w3.mlp.linears().next().unwrap().1;
    let mut tape = Tape::new();
    tape.set_threads(threads);
    let x = tape.var(&w3.x);
    let w = tape.var(&lin.weight);
    let b = tape.var(lin.bias.as_ref().unwrap());
    let y = x.linear(w, Some(b)).unwrap();
    // A non-uniform upstream gradient, so that dW's reduction over the 128
    // examples adds values of both signs and many magnitudes.
    let g = Tensor::<F>::rand_normal(y.shape().dims(), F::zero(), F::one(), 9).unwrap();
    let grads = y.backward_with_seed(&g).unwrap();
    (
        y.value(),
        grads.tensor(w).unwrap(),
        grads.tensor(x).unwrap(),
    )
}

#[test]
fn a_w3_sized_product_is_bit_identical_at_one_and_two_threads_in_f32() {
    let (y1, dw1, dx1) = w3_layer::<f32>(1);
    let (y2, dw2, dx2) = w3_layer::<f32>(2);
    assert!(y1 == y2, "Y = X·Wᵀ + b differs");
    assert!(dw1 == dw2, "dW = Gᵀ·X differs");
    assert!(dx1 == dx2, "dX = G·W differs");
}

#[test]
fn a_w3_sized_product_is_bit_identical_at_one_and_two_threads_in_f64() {
    let (y1, dw1, dx1) = w3_layer::<f64>(1);
    let (y2, dw2, dx2) = w3_layer::<f64>(2);
    assert!(y1 == y2, "Y = X·Wᵀ + b differs");
    assert!(dw1 == dw2, "dW = Gᵀ·X differs");
    assert!(dx1 == dx2, "dX = G·W differs");
}

#[test]
fn sgd_on_w2_gives_the_same_bits_twice() {
    let run = || {
        let w2 = bench_data::w2::<f32>();
        let mut mlp = w2.mlp.clone();
        let mut sgd = Sgd::new(0.03f32);
        let mut tape = Tape::new();
        for _ in 0..100 {
            tape.clear();
            let x = tape.constant(&w2.x);
            let t = tape.constant(&w2.y);
            let (y, trace) = gradsign::nn::forward(&mlp, &tape, x).unwrap();
            let g = loss::mse(y, t, Reduction::Mean)
                .unwrap()
                .backward()
                .unwrap();
            sgd.step(&mut mlp, &trace, &g).unwrap();
        }
        mlp
    };
    assert_eq!(run(), run());
}
