//! The trace's Δ_l = ∂L/∂Z_l, read from one backward pass, equals the
//! gradient of the loss with respect to Z_l found by gradcheck when Z_l is
//! made a leaf of a second graph.

use gradsign::activation::Activation;
use gradsign::gradcheck::{GradcheckConfig, gradcheck};
use gradsign::nn::{Init, Mlp};
use gradsign::{Result, Tape, Tensor, Var};

const LABELS: [usize; 5] = [0, 2, 1, 1, 0];

fn network() -> gradsign::nn::Sequential<f64> {
    Mlp::builder(&[3, 5, 4, 3])
        .hidden(Activation::Sigmoid)
        .output(Activation::Identity)
        .init(Init::LecunNormal)
        .seed(11)
        .build()
        .unwrap()
}

/// The loss as a function of layer `l`'s pre-activation: the layer's
/// activation, then the layers above it, then the cross-entropy.
fn loss_from_z<'t>(
    mlp: &gradsign::nn::Sequential<f64>,
    l: usize,
    tape: &'t Tape<f64>,
    z: Var<'t, f64>,
) -> Result<Var<'t, f64>> {
    let acts = mlp.dense_activations();
    let linears: Vec<_> = mlp.linears().map(|(_, lin)| lin.clone()).collect();
    let mut a = acts[l].apply(z)?;
    for (lin, act) in linears.iter().zip(&acts).skip(l + 1) {
        let (z, _) = gradsign::nn::forward(lin, tape, a)?;
        a = act.apply(z)?;
    }
    gradsign::loss::softmax_cross_entropy(a, &LABELS, gradsign::loss::Reduction::Mean)
}

#[test]
fn trace_deltas_equal_gradcheck_gradients_of_the_pre_activations() {
    let mlp = network();
    let x = Tensor::<f64>::rand_uniform(&[5, 3], 0.0, 1.0, 5).unwrap();
    let tape = Tape::new();
    let (out, trace) = gradsign::nn::forward(&mlp, &tape, tape.constant(&x)).unwrap();
    let grads =
        gradsign::loss::softmax_cross_entropy(out, &LABELS, gradsign::loss::Reduction::Mean)
            .unwrap()
            .backward()
            .unwrap();
    for (l, lt) in trace.layers().iter().enumerate() {
        let delta = grads.get(lt.pre_activation).unwrap();
        let z = lt.pre_activation.value();
        // Second graph: Z_l is a leaf; gradcheck confirms its gradient against
        // central differences, and that gradient must be the trace's Δ_l.
        let report = gradcheck(
            |tape, v| loss_from_z(&mlp, l, tape, v[0]),
            std::slice::from_ref(&z),
            &GradcheckConfig::default(),
        )
        .unwrap();
        assert!(report.passed(), "layer {l}: {report}");
        let tape2 = Tape::new();
        let zleaf = tape2.var(&z);
        let g2 = loss_from_z(&mlp, l, &tape2, zleaf)
            .unwrap()
            .backward()
            .unwrap();
        let dz = g2.get(zleaf).unwrap();
        for (i, (a, b)) in delta.iter().zip(dz).enumerate() {
            assert!(
                (a - b).abs() < 1e-14,
                "layer {l} element {i}: Δ {a} vs ∂L/∂Z {b}"
            );
        }
        // And against a central difference directly, as a check independent of
        // the tape: element 0.
        let h = 1e-6;
        let shifted = |s: f64| {
            let mut zs = z.clone();
            zs.as_mut_slice()[0] += s;
            let t = Tape::new();
            let v = t.constant(&zs);
            loss_from_z(&mlp, l, &t, v).unwrap().item().unwrap()
        };
        let numeric = (shifted(h) - shifted(-h)) / (2.0 * h);
        assert!(
            (delta[0] - numeric).abs() < 1e-8,
            "layer {l}: {} vs {numeric}",
            delta[0]
        );
    }
}

#[test]
fn trace_records_every_layers_input_and_weights() {
    let mlp = network();
    let x = Tensor::<f64>::rand_uniform(&[5, 3], 0.0, 1.0, 6).unwrap();
    let tape = Tape::new();
    let (out, trace) = gradsign::nn::forward(&mlp, &tape, tape.constant(&x)).unwrap();
    assert_eq!(trace.len(), 3);
    assert_eq!(trace.layers()[0].input.value(), x);
    for (l, lt) in trace.layers().iter().enumerate() {
        assert_eq!(lt.weight.value(), mlp.linears().nth(l).unwrap().1.weight);
        assert_eq!(lt.activation, mlp.dense_activations()[l]);
        if l > 0 {
            // A_l is the previous layer's output.
            assert_eq!(lt.input.id(), trace.layers()[l - 1].output.id());
        }
    }
    assert_eq!(trace.output().unwrap().id(), out.id());
}
