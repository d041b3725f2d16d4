//! A warm training step through BatchNorm, mean-only BatchNorm, LayerNorm
//! and a weight-normalised layer allocates nothing: the fused ops write into
//! the tape's buffers and the running statistics update in place. Counted by
//! the global allocator of `support/counting_alloc.rs`, per thread.

use gradsign::activation::Activation;
use gradsign::nn::{
    BatchNorm, Init, LayerNorm, Linear, MeanOnlyBatchNorm, Sequential, WeightNormLinear,
};
use gradsign::optim::{Optimizer, Sgd};
use gradsign::{Gradients, Tape, Tensor};

use crate::counting_alloc::{allocations, counted_in};

#[test]
fn a_warm_training_step_through_normalisation_layers_allocates_nothing() {
    let mut net = Sequential::<f32>::new()
        .push(Linear::init(4, 8, Init::LecunNormal, true, 1).unwrap())
        .push(BatchNorm::new(8).unwrap())
        .push(Activation::Sigmoid)
        .push(WeightNormLinear::init(8, 8, Init::LecunNormal, false, 2).unwrap())
        .push(MeanOnlyBatchNorm::new(8).unwrap())
        .push(Activation::Tanh)
        .push(LayerNorm::new(&[8]).unwrap())
        .push(Linear::init(8, 1, Init::LecunNormal, true, 3).unwrap());
    let x = Tensor::<f32>::rand_uniform(&[16, 4], 0.0, 1.0, 4).unwrap();
    let y = Tensor::<f32>::rand_uniform(&[16, 1], -1.0, 1.0, 5).unwrap();
    let mut opt = Sgd::new(0.05f32);
    let mut tape = Tape::new();
    let mut grads = Gradients::new();
    let mut first = None;
    let mut last = f32::NAN;
    let n = counted_in(allocations, (3, 100), || {
        tape.clear();
        let (out, trace) = gradsign::nn::forward(&net, &tape, tape.constant(&x)).unwrap();
        let loss = (out - tape.constant(&y)).square().mean().unwrap();
        last = loss.item().unwrap();
        first.get_or_insert(last);
        loss.backward_into(&mut grads).unwrap();
        opt.step(&mut net, &trace, &grads).unwrap();
    });
    let first = first.expect("the first step ran");
    assert_eq!(n, 0, "{n} allocations in 100 warm steps");
    assert!(last < first, "training made progress: {first} -> {last}");
    let bn = net.layer::<BatchNorm<f32>>(1).unwrap();
    assert!(bn.running_mean().iter().all(|m| *m != 0.0));
}
