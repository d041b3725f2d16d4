//! Thread safety: which types cross threads (checked at compile time), and
//! training on two threads gives the bits of training one after the other.
//!
//! `Tape` is `Send` but not `Sync`: recording takes `&Tape` (a `Var` is a
//! `Copy` handle borrowing it, so that `x * x + x` reads naturally) and
//! appends through a `RefCell`. Sharing `&Tape` between threads would let
//! two threads append at once, so the compiler forbids it; moving a whole
//! tape to another thread, with no `Var` borrowing it, is fine.

use gradsign::activation::Activation;
use gradsign::analysis::{
    Diagnosis, GradientSignAnalyzer, LayerReport, NetworkReport, NeuronReport, PerSampleGradients,
};
use gradsign::curvature::natural::NaturalGradient;
use gradsign::curvature::spectrum::{InputCurvature, Spectrum};
use gradsign::data::{Dataset, Playground, PlaygroundConfig, Standardizer, Table};
use gradsign::dynamics::{TrajectoryRecorder, TrajectoryReport};
use gradsign::gradcheck::GradcheckReport;
use gradsign::loss::{self, Reduction};
use gradsign::metrics::ConfusionMatrix;
use gradsign::nn::{Init, Linear, Mlp};
use gradsign::optim::{Adam, AdamW, LrSchedule, Optimizer, Sgd};
use gradsign::train::{TrainConfig, TrainReport};
use gradsign::{Error, Gradients, Shape, Tape, Tensor};

const fn assert_send_sync<T: Send + Sync>() {}
const fn assert_send<T: Send>() {}

// Values, models, optimisers, gradient stores, reports and errors cross
// threads freely, in both element types.
const _: () = {
    assert_send_sync::<Tensor<f32>>();
    assert_send_sync::<Tensor<f64>>();
    assert_send_sync::<Shape>();
    assert_send_sync::<gradsign::nn::Sequential<f32>>();
    assert_send_sync::<gradsign::nn::Sequential<f64>>();
    assert_send_sync::<Linear<f64>>();
    assert_send_sync::<Sgd<f32>>();
    assert_send_sync::<Sgd<f64>>();
    assert_send_sync::<Adam<f32>>();
    assert_send_sync::<Adam<f64>>();
    assert_send_sync::<AdamW<f64>>();
    assert_send_sync::<LrSchedule>();
    assert_send_sync::<Gradients<f32>>();
    assert_send_sync::<Gradients<f64>>();
    assert_send_sync::<Activation>();
    assert_send_sync::<Init>();
    assert_send_sync::<Error>();
    assert_send_sync::<Dataset<f64>>();
    assert_send_sync::<Table<f64>>();
    assert_send_sync::<Standardizer<f64>>();
    assert_send_sync::<TrainConfig>();
    assert_send_sync::<TrainReport>();
    assert_send_sync::<GradcheckReport>();
    assert_send_sync::<ConfusionMatrix>();
    assert_send_sync::<TrajectoryRecorder>();
    assert_send_sync::<TrajectoryReport>();
    assert_send_sync::<Spectrum>();
    assert_send_sync::<InputCurvature>();
    assert_send_sync::<NaturalGradient>();
    assert_send_sync::<GradientSignAnalyzer>();
    assert_send_sync::<LayerReport>();
    assert_send_sync::<NeuronReport>();
    assert_send_sync::<NetworkReport>();
    assert_send_sync::<Diagnosis>();
    assert_send_sync::<PerSampleGradients<f32>>();
    assert_send_sync::<PerSampleGradients<f64>>();
    // The tape moves between threads...
    assert_send::<Tape<f32>>();
    assert_send::<Tape<f64>>();
};

/// ...but is not `Sync` (see the module doc): this trait has two blanket
/// impls, one for every type and one for `Sync` types, so naming its item
/// for a `Sync` type is ambiguous and does not compile.
trait AmbiguousIfSync<A> {
    fn item() {}
}
impl<T: ?Sized> AmbiguousIfSync<()> for T {}
struct IsSync;
impl<T: ?Sized + Sync> AmbiguousIfSync<IsSync> for T {}
const _: fn() = <Tape<f64> as AmbiguousIfSync<_>>::item;
const _: fn() = <Tape<f32> as AmbiguousIfSync<_>>::item;

/// 200 Adam steps of a 2-16-1 tanh network on one playground set.
fn train<F: gradsign::nn::ModelElement>(set: Playground, seed: u64) -> gradsign::nn::Sequential<F> {
    let data = set
        .generate::<F>(&PlaygroundConfig::default().samples(200).seed(seed))
        .unwrap();
    let mut mlp = Mlp::builder(&[2, 16, 2])
        .hidden(Activation::Tanh)
        .output(Activation::Identity)
        .init(Init::GlorotUniform)
        .seed(seed)
        .build::<F>()
        .unwrap();
    let mut opt = Adam::new(F::from_f64(0.01));
    let mut tape = Tape::new();
    let mut grads = Gradients::new();
    for _ in 0..200 {
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
fn two_models_trained_on_two_threads_match_sequential_training_bit_for_bit() {
    let sequential = (
        train::<f64>(Playground::Circle, 1),
        train::<f64>(Playground::Xor, 2),
    );
    let parallel = std::thread::scope(|s| {
        let a = s.spawn(|| train::<f64>(Playground::Circle, 1));
        let b = s.spawn(|| train::<f64>(Playground::Xor, 2));
        (a.join().unwrap(), b.join().unwrap())
    });
    // `Mlp`'s equality compares every parameter exactly.
    assert_eq!(parallel, sequential);
    // The two models differ, so each thread trained its own.
    assert_ne!(parallel.0, parallel.1);
}

#[test]
fn f32_models_trained_on_two_threads_match_sequential_training_bit_for_bit() {
    let sequential = (
        train::<f32>(Playground::Spiral, 3),
        train::<f32>(Playground::Gauss, 4),
    );
    let parallel = std::thread::scope(|s| {
        let a = s.spawn(|| train::<f32>(Playground::Spiral, 3));
        let b = s.spawn(|| train::<f32>(Playground::Gauss, 4));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_eq!(parallel, sequential);
}

#[test]
fn a_tape_moved_to_another_thread_keeps_working() {
    let mut tape = Tape::<f64>::new();
    tape.set_threads(2);
    let tape = std::thread::spawn(move || {
        {
            let x = tape.var_scalar(3.0);
            let g = (x * x).backward().unwrap();
            // d(x²)/dx = 2x = 6
            assert_eq!(g.get(x).unwrap(), &[6.0]);
        }
        tape
    })
    .join()
    .unwrap();
    assert_eq!(tape.len(), 2); // x and x·x
}

#[test]
fn an_optimiser_and_its_model_move_to_a_worker_and_back() {
    let mlp = Mlp::builder(&[2, 3, 1])
        .hidden(Activation::Tanh)
        .output(Activation::Identity)
        .build_with(gradsign_studies::splitmix::dense::<f64>(
            &mut gradsign_studies::SplitMix64::new(1),
        ))
        .unwrap();
    let sgd = Sgd::new(0.1);
    let (mlp2, sgd2) = std::thread::spawn(move || {
        let mut mlp = mlp;
        let mut sgd = sgd;
        let tape = Tape::new();
        let x = tape.constant(&Tensor::from_vec(vec![0.5, -0.5], &[1, 2]).unwrap());
        let (y, trace) = gradsign::nn::forward(&mlp, &tape, x).unwrap();
        let g = y.sum().backward().unwrap();
        sgd.step(&mut mlp, &trace, &g).unwrap();
        (mlp, sgd)
    })
    .join()
    .unwrap();
    assert_eq!(sgd2.steps_taken(), 1);
    assert_eq!(
        gradsign::nn::num_parameters(&mlp2).unwrap(),
        3 * 2 + 3 + 3 + 1
    );
}

#[test]
fn large_element_wise_ops_give_the_same_bits_on_two_kernel_threads() {
    // 100,000 elements: above the size from which every element-wise map
    // splits over the tape's threads; 20,000: only the maps with an
    // exponential or tanh split. Values and gradients must not depend on it.
    for rows in [20, 100] {
        large_maps_give_the_same_bits(rows);
    }
}

fn large_maps_give_the_same_bits(rows: usize) {
    let x = Tensor::<f32>::rand_uniform(&[rows, 1000], -6.0, 6.0, 3).unwrap();
    let r = Tensor::<f32>::rand_uniform(&[rows, 1000], -1.0, 1.0, 4).unwrap();
    let run = |threads: usize| {
        let mut tape = Tape::<f32>::new();
        tape.set_threads(threads);
        let xv = tape.var(&x);
        let y = xv.sigmoid().tanh().relu().exp();
        let g = (y * tape.constant(&r)).sum().backward().unwrap();
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        (bits(y.value().as_slice()), bits(g.get(xv).unwrap()))
    };
    assert_eq!(run(1), run(2));
}

#[test]
fn large_leaves_copied_by_two_threads_hold_their_values() {
    // 100,000 values: a tape re-recording after `clear` copies a leaf this
    // large with its threads. Each leaf must hold exactly its own values.
    let a = Tensor::<f32>::rand_uniform(&[100, 1000], -1.0, 1.0, 5).unwrap();
    let b = Tensor::<f32>::rand_uniform(&[1000, 100], -1.0, 1.0, 6).unwrap();
    let mut tape = Tape::<f32>::new();
    tape.set_threads(2);
    for (first, second) in [(&a, &b), (&b, &a), (&a, &a)] {
        tape.clear();
        let (v, c) = (tape.var(first), tape.constant(second));
        assert_eq!(v.value().as_slice(), first.as_slice());
        assert_eq!(c.value().as_slice(), second.as_slice());
        assert_eq!(v.value().shape().dims(), first.shape().dims());
    }
}

/// One W3-like step (a sigmoid MLP layer pair, products large enough to
/// split) at `threads` kernel threads: the loss and every gradient's bits.
fn mlp_step_bits(threads: usize) -> Vec<u32> {
    let x = Tensor::<f32>::rand_uniform(&[128, 784], 0.0, 1.0, 11).unwrap();
    let w1 = Tensor::<f32>::rand_uniform(&[256, 784], -0.05, 0.05, 12).unwrap();
    let w2 = Tensor::<f32>::rand_uniform(&[10, 256], -0.05, 0.05, 13).unwrap();
    let mut tape = Tape::<f32>::new();
    tape.set_threads(threads);
    let (xv, w1v, w2v) = (tape.constant(&x), tape.var(&w1), tape.var(&w2));
    let h = xv.matmul(w1v.transpose().unwrap()).unwrap().sigmoid();
    let y = h.matmul(w2v.transpose().unwrap()).unwrap();
    let l = (y * y).sum();
    let g = l.backward().unwrap();
    let mut bits = vec![l.value().as_slice()[0].to_bits()];
    for v in [w1v, w2v] {
        bits.extend(g.get(v).unwrap().iter().map(|x| x.to_bits()));
    }
    bits
}

#[test]
fn workers_run_a_step_with_the_bits_of_a_plain_rayon_pool() {
    use gradsign::threads::Workers;
    let plain = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap()
        .install(|| mlp_step_bits(2));
    let spinning = Workers::new(2).unwrap();
    let quiet = Workers::new(2).unwrap().spinning(false);
    for _ in 0..3 {
        assert_eq!(spinning.run(|| mlp_step_bits(2)), plain);
        assert_eq!(quiet.run(|| mlp_step_bits(2)), plain);
    }
}

#[test]
fn workers_run_the_closure_on_their_own_pool_and_the_splits_on_both_threads() {
    use gradsign::threads::Workers;
    use std::sync::Mutex;
    let workers = Workers::new(2).unwrap();
    if workers.threads() < 2 {
        return; // a one-core machine has no second worker to show
    }
    let seen = Mutex::new(std::collections::BTreeSet::new());
    workers.run(|| {
        assert!(rayon::current_thread_index().is_some());
        assert_eq!(rayon::current_num_threads(), 2);
        // Joins until the second half of one has run on each worker, each
        // half waiting long enough for the polling worker to take it. The
        // test runner keeps both cores busy with other tests, so the OS may
        // not schedule the second worker for a while: the bound is a
        // deadline, not a count of joins that would usually suffice.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while seen.lock().unwrap().len() < 2 && std::time::Instant::now() < deadline {
            rayon::join(
                || std::thread::sleep(std::time::Duration::from_micros(200)),
                || {
                    seen.lock().unwrap().insert(rayon::current_thread_index());
                    std::thread::sleep(std::time::Duration::from_micros(200));
                },
            );
        }
    });
    assert_eq!(seen.into_inner().unwrap().len(), 2);
}

#[test]
fn a_panic_inside_workers_run_reaches_the_caller_and_stops_the_polling() {
    use gradsign::threads::Workers;
    let workers = Workers::new(2).unwrap();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        workers.run(|| -> () { panic!("inside the closure") })
    }));
    // Had the panic not stopped the pollers, the `run` above would never
    // have returned (its scope waits for them).
    let message = caught.unwrap_err();
    assert_eq!(message.downcast_ref::<&str>(), Some(&"inside the closure"));
    assert_eq!(workers.run(|| rayon::join(|| 1, || 2)), (1, 2));
}
