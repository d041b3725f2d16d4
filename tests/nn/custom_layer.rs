//! A layer defined only here, outside the crate, plugs into everything:
//! a `Sequential`, training, the sign analyzer and exact Hessian-vector
//! products, with no change to the crate.

use gradsign::activation::Activation;
use gradsign::analysis::GradientSignAnalyzer;
use gradsign::curvature::{Likelihood, Objective};
use gradsign::data::{LabelEncoding, Playground, PlaygroundConfig};
use gradsign::nn::{
    self, Forward, Init, Linear, ModelElement, Module, Sequential, Visitor, VisitorMut,
};
use gradsign::optim::Sgd;
use gradsign::train::{TrainConfig, train};
use gradsign::{Element, Result, Tape, Tensor, Var};

/// `y = x ⊙ g + s`: a learned gain and shift per feature.
#[derive(Clone, Debug)]
struct Affine<F: Element> {
    gain: Tensor<F>,
    shift: Tensor<F>,
}

impl<F: Element> Module<F> for Affine<F> {
    fn forward<'t, E: ModelElement>(
        &self,
        x: Var<'t, E>,
        ctx: &mut Forward<'t, '_, F, E>,
    ) -> Result<Var<'t, E>> {
        let g = ctx.param(&self.gain)?;
        let s = ctx.param(&self.shift)?;
        let y = x.try_mul(g)?.try_add(s)?;
        ctx.record_layer("affine", x, y); // not dense: say what it is
        Ok(y)
    }
    fn visit(&self, v: &mut Visitor<'_, F>) -> Result<()> {
        v.param("gain", &self.gain)?;
        v.param("shift", &self.shift)
    }
    fn visit_mut(&mut self, v: &mut VisitorMut<'_, F>) -> Result<()> {
        v.param("gain", &mut self.gain)?;
        v.param("shift", &mut self.shift)
    }
}

fn network() -> Sequential<f64> {
    Sequential::new()
        .push(Affine {
            gain: Tensor::from_vec(vec![1.0, 1.0], &[2]).unwrap(),
            shift: Tensor::zeros(&[2]).unwrap(),
        })
        .push(Linear::init(2, 6, Init::LecunNormal, true, 1).unwrap())
        .push(Activation::Tanh)
        .push(Linear::init(6, 1, Init::LecunNormal, true, 2).unwrap())
}

fn data() -> gradsign::data::Dataset<f64> {
    let cfg = PlaygroundConfig::default()
        .samples(100)
        .noise(0.0)
        .encoding(LabelEncoding::PlusMinusOne)
        .seed(2);
    Playground::Gauss.generate(&cfg).unwrap()
}

#[test]
fn a_custom_layer_is_named_trained_analysed_and_differentiated_twice() {
    let mut net = network();
    let names: Vec<String> = nn::named_parameters(&net)
        .unwrap()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(
        names,
        [
            "0.gain", "0.shift", "1.weight", "1.bias", "3.weight", "3.bias"
        ]
    );
    let data = data();
    let before = nn::named_parameters(&net).unwrap()[0].1.clone();
    let config = TrainConfig::default()
        .epochs(60)
        .batch_size(20)
        .stop_below(0.05);
    let report = train(
        &mut net,
        &mut Sgd::new(0.05).momentum(0.9),
        &data,
        &config,
        |out, b| (out - b.targets_on(out.tape())?).square().mean(),
        &mut |_| {},
    )
    .unwrap();
    assert!(report.epoch_losses.last().unwrap() < &0.05, "{report:?}");
    // The custom layer's own parameters were trained too.
    assert_ne!(nn::named_parameters(&net).unwrap()[0].1, before);

    // The analyzer sees the two dense layers; the first one's inputs come
    // from the custom layer (not an activation), so they are of both signs.
    let tape = Tape::new();
    let x = tape.constant(data.features());
    let (out, trace) = gradsign::nn::forward(&net, &tape, x).unwrap();
    let y = tape.constant(data.targets());
    let grads = (out - y).square().sum().backward().unwrap();
    let analysis = GradientSignAnalyzer::default()
        .analyze(&trace, &grads)
        .unwrap();
    assert_eq!(analysis.layers.len(), 2);
    assert_eq!(
        analysis.layers[1].input_source,
        gradsign::analysis::InputSource::Activation(Activation::Tanh)
    );

    // An exact HVP over every parameter, the custom ones included, is the
    // Hessian's column: compare with central differences of the gradient.
    let o = Objective::new(&net, Likelihood::Gaussian, data.features(), data.targets()).unwrap();
    let p = o.dim().unwrap();
    assert_eq!(p, 2 + 2 + 12 + 6 + 6 + 1);
    let mut e = vec![0.0; p];
    e[0] = 1.0; // along 0.gain[0]
    let hv = o.hvp(&e).unwrap();
    let h = 1e-5;
    let grad_at = |delta: f64| {
        let mut moved = net.clone();
        moved
            .visit_mut(&mut VisitorMut::new(&mut |name, t| {
                if name == "0.gain" {
                    t.as_mut_slice()[0] += delta;
                }
                Ok(())
            }))
            .unwrap();
        Objective::new(
            &moved,
            Likelihood::Gaussian,
            data.features(),
            data.targets(),
        )
        .unwrap()
        .gradient()
        .unwrap()
    };
    let (gp, gm) = (grad_at(h), grad_at(-h));
    for i in 0..p {
        let fd = (gp[i] - gm[i]) / (2.0 * h);
        assert!(
            (fd - hv[i]).abs() < 1e-6 * (1.0 + hv[i].abs()),
            "{i}: {fd} vs {}",
            hv[i]
        );
    }
}
