//! Proptest strategies and ready properties for sign claims (feature
//! `proptest`).
//!
//! Strategies generate the inputs sign claims are about — positive,
//! one-signed, zero-centred and ReLU-like batches, tensors away from kinks,
//! extreme logits, random network architectures — and the `assert_*`
//! functions are properties that return `Err(TestCaseError)` with a message
//! naming the example, the neuron and the values, so they compose with `?`
//! inside `proptest!` or a [`TestRunner`](proptest::test_runner::TestRunner).
//!
//! A downstream crate property-testing its own claim — "whatever the data,
//! a dense layer fed through my sigmoid gets sign-coherent weight gradients":
//!
//! ```
//! use gradsign::testing::{assert_per_example_coherent, zero_centred_batch};
//! use gradsign::{Tape, Tensor};
//! use proptest::prelude::*;
//! use proptest::test_runner::TestRunner;
//!
//! let mut runner = TestRunner::default();
//! runner
//!     .run(&(zero_centred_batch(2..=8, 1..=5), any::<u64>()), |(x, seed)| {
//!         let tape = Tape::<f64>::new();
//!         let h = tape.constant(&x).sigmoid();          // the crate's feature map
//!         let w = tape.var(&Tensor::rand_normal(&[3, x.dims()[1]], 0.0, 1.0, seed)?);
//!         let z = h.linear(w, None)?;
//!         let grads = (z.tanh() - 0.5).square().sum().backward()?;
//!         assert_per_example_coherent(&h.value(), &grads.tensor(z)?)
//!     })
//!     .unwrap();
//! ```
//!
//! Architectures are layer sizes and activations ([`MlpArchitecture`]);
//! [`random_mlp`] builds them into [`Sequential`] networks, and
//! [`MlpArchitecture::record`] runs a traced forward pass.

use proptest::collection::{SizeRange, vec};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use crate::activation::{Activation, OutputSign};
use crate::analysis::{GradientSignAnalyzer, SignCategory};
use crate::autodiff::{Tape, Var};
use crate::element::Element;
use crate::error::Result;
use crate::nn::{Init, Linear, Sequential, Trace};
use crate::tensor::Tensor;

/// The inclusive bounds of a size range, or a panic naming `what` for an
/// empty one (`3..3`, `5..2`): proptest would panic later, when the first
/// value is drawn, with a message that does not say which range.
fn bounds(what: &str, range: &SizeRange) -> (usize, usize) {
    // `end_incl` is `end_excl − 1`, which underflows for `0..0`.
    if range.end_excl() <= range.start() {
        panic!(
            "gradsign::testing: the {what} range {}..{} is empty",
            range.start(),
            range.end_excl()
        );
    }
    (range.start(), range.end_incl())
}

/// `(batch, width)` drawn from two size ranges.
fn dims(
    batch: impl Into<SizeRange>,
    width: impl Into<SizeRange>,
) -> impl Strategy<Value = (usize, usize)> {
    let (b, w) = (batch.into(), width.into());
    let ((b0, b1), (w0, w1)) = (bounds("batch", &b), bounds("width", &w));
    if b1.checked_mul(w1).is_none_or(|n| n > MAX_ELEMENTS) {
        panic!(
            "gradsign::testing: batches of up to {b1} × {w1} elements are more than {MAX_ELEMENTS}"
        );
    }
    (b0..=b1, w0..=w1)
}

/// The most elements a generated tensor may have: a strategy is for test
/// cases, and a larger one would exhaust memory when drawn.
pub const MAX_ELEMENTS: usize = 1 << 24;

/// The panics every batch strategy documents.
macro_rules! batch_panics {
    () => {
        "# Panics\nIf the batch or width range is empty (`3..3`, `5..2`), or if the largest \
         batch times the largest width exceeds [`MAX_ELEMENTS`]: at construction, with a \
         message naming the range, instead of when proptest draws the first value."
    };
}

/// A `batch × width` tensor whose entries come from `values`.
///
#[doc = batch_panics!()]
pub fn batch_from(
    batch: impl Into<SizeRange>,
    width: impl Into<SizeRange>,
    values: impl Strategy<Value = f64> + Clone,
) -> impl Strategy<Value = Tensor<f64>> {
    dims(batch, width).prop_flat_map(move |(b, w)| {
        vec(values.clone(), b * w)
            .prop_map(move |v| Tensor::from_vec(v, &[b, w]).expect("the length is batch × width"))
    })
}

/// A strictly positive magnitude in `[10⁻³, 10²)`, small and large values
/// equally often.
pub fn positive_value() -> impl Strategy<Value = f64> + Clone {
    prop_oneof![1e-3f64..1.0, 1.0f64..1e2]
}

/// A batch with every entry strictly positive (raw pixel data, sigmoid or
/// softplus outputs): the theorem's precondition.
///
/// ```
/// use gradsign::testing::positive_batch;
/// use proptest::strategy::{Strategy, ValueTree};
/// let mut runner = proptest::test_runner::TestRunner::default();
/// let x = positive_batch(1..=4, 3).new_tree(&mut runner).unwrap().current();
/// assert_eq!(x.dims()[1], 3);
/// assert!(x.as_slice().iter().all(|&v| v > 0.0));
/// ```
///
#[doc = batch_panics!()]
pub fn positive_batch(
    batch: impl Into<SizeRange>,
    width: impl Into<SizeRange>,
) -> impl Strategy<Value = Tensor<f64>> {
    batch_from(batch, width, positive_value())
}

/// A batch whose entries all share one sign, positive or negative (drawn
/// once per batch), none zero.
///
#[doc = batch_panics!()]
pub fn one_signed_batch(
    batch: impl Into<SizeRange>,
    width: impl Into<SizeRange>,
) -> impl Strategy<Value = Tensor<f64>> {
    (positive_batch(batch, width), any::<bool>())
        .prop_map(|(x, negative)| if negative { x.map(|v| -v) } else { x })
}

/// A batch whose examples all share one sign pattern: feature `k` has the
/// same (non-zero) sign in every example, drawn once per batch. Rows
/// `δ·a_n` then lie in the same two opposite orthants.
///
#[doc = batch_panics!()]
pub fn fixed_pattern_batch(
    batch: impl Into<SizeRange>,
    width: impl Into<SizeRange>,
) -> impl Strategy<Value = Tensor<f64>> {
    positive_batch(batch, width).prop_flat_map(|x| {
        let k = x.dims()[1];
        vec(any::<bool>(), k).prop_map(move |flip| {
            let mut x = x.clone();
            for (i, v) in x.as_mut_slice().iter_mut().enumerate() {
                if flip[i % k] {
                    *v = -*v;
                }
            }
            x
        })
    })
}

/// A batch whose every column has mean zero (entries in `[−1, 1]`, each
/// column centred), so it takes both signs. Needs at least 2 examples to be
/// non-trivial; a batch of 1 centres to zeros.
///
#[doc = batch_panics!()]
pub fn zero_centred_batch(
    batch: impl Into<SizeRange>,
    width: impl Into<SizeRange>,
) -> impl Strategy<Value = Tensor<f64>> {
    batch_from(batch, width, -1.0f64..1.0).prop_map(|x| {
        let (b, k) = (x.dims()[0], x.dims()[1]);
        let mut v = x.into_vec();
        for col in 0..k {
            let mean = (0..b).map(|n| v[n * k + col]).sum::<f64>() / b as f64;
            (0..b).for_each(|n| v[n * k + col] -= mean);
        }
        Tensor::from_vec(v, &[b, k]).expect("same shape")
    })
}

/// A batch like ReLU outputs: entries `≥ 0`, about half of them exactly 0.
///
#[doc = batch_panics!()]
pub fn relu_like_batch(
    batch: impl Into<SizeRange>,
    width: impl Into<SizeRange>,
) -> impl Strategy<Value = Tensor<f64>> {
    batch_from(batch, width, prop_oneof![Just(0.0), positive_value()])
}

/// Deltas `δ` of both signs, never zero: `±[10⁻³, 10²)`.
///
#[doc = batch_panics!()]
pub fn nonzero_deltas(
    batch: impl Into<SizeRange>,
    width: impl Into<SizeRange>,
) -> impl Strategy<Value = Tensor<f64>> {
    batch_from(
        batch,
        width,
        (positive_value(), any::<bool>()).prop_map(|(m, neg)| if neg { -m } else { m }),
    )
}

/// A tensor of the given shape whose entries lie in `[−4, 4]` at least
/// `margin` away from 0, where ReLU, `abs` and `max` have their kinks: a
/// finite-difference check with step `h < margin` never straddles one.
///
/// # Panics
/// If `margin` is not in `[0, 4)`, or `dims` is not a valid shape (rank
/// above [`MAX_RANK`](crate::shape::MAX_RANK)) or has more than
/// [`MAX_ELEMENTS`] elements.
pub fn kink_free_tensor(dims: &[usize], margin: f64) -> impl Strategy<Value = Tensor<f64>> {
    assert!(
        (0.0..4.0).contains(&margin),
        "kink_free_tensor: margin {margin} must lie in [0, 4)"
    );
    let n = match crate::Shape::new(dims) {
        Ok(shape) if shape.numel() <= MAX_ELEMENTS => shape.numel(),
        Ok(shape) => panic!(
            "kink_free_tensor: shape {shape} has {} elements, more than {MAX_ELEMENTS}",
            shape.numel()
        ),
        Err(e) => panic!("kink_free_tensor: {e}"),
    };
    let dims = dims.to_vec();
    vec(
        (margin..4.0, any::<bool>()).prop_map(|(m, neg)| if neg { -m } else { m }),
        n,
    )
    .prop_map(move |v| Tensor::from_vec(v, &dims).expect("n = product of dims"))
}

/// Logits (batch × classes) that stress a softmax: moderate values mixed
/// with huge ones (`±10⁴`, `±10³⁰`), values where `eˣ` overflows (710) or
/// underflows (−745), and ties. All finite.
///
#[doc = batch_panics!()]
pub fn extreme_logits(
    batch: impl Into<SizeRange>,
    classes: impl Into<SizeRange>,
) -> impl Strategy<Value = Tensor<f64>> {
    batch_from(
        batch,
        classes,
        prop_oneof![
            4 => -10.0f64..10.0,
            2 => -1e4f64..1e4,
            1 => prop::sample::select(vec![-1e30, 1e30, -745.0, 710.0, 0.0, 1.0]),
        ],
    )
}

/// Any of the crate's activations ([`Activation::ALL`]).
pub fn any_activation() -> impl Strategy<Value = Activation> + Clone {
    prop::sample::select(Activation::ALL.to_vec())
}

/// The activations whose outputs are strictly positive (sigmoid, softplus
/// with β from 0.5 to 4): the layer after one meets the precondition.
pub fn positive_activation() -> impl Strategy<Value = Activation> + Clone {
    let fixed: Vec<Activation> = Activation::ALL
        .into_iter()
        .filter(|a| a.output_sign() == OutputSign::StrictlyPositive)
        .collect();
    prop_oneof![
        prop::sample::select(fixed),
        (0.5f64..4.0).prop_map(Activation::Softplus),
    ]
}

/// The activations whose outputs are `≥ 0` with exact zeros (ReLU, hard
/// sigmoid, leaky ReLU with α = 0): the layer after one gets weakly
/// coherent rows.
pub fn non_negative_activation() -> impl Strategy<Value = Activation> + Clone {
    let mut v: Vec<Activation> = Activation::ALL
        .into_iter()
        .filter(|a| a.output_sign() == OutputSign::NonNegative)
        .collect();
    v.push(Activation::LeakyRelu(0.0));
    prop::sample::select(v)
}

/// A dense network's shape: `sizes[0]` inputs, then one layer per further
/// size with the matching activation.
#[derive(Clone, Debug, PartialEq)]
pub struct MlpArchitecture {
    /// Widths, inputs first: `sizes.len() = activations.len() + 1`.
    pub sizes: Vec<usize>,
    /// One activation per layer.
    pub activations: Vec<Activation>,
}

impl MlpArchitecture {
    /// The number of layers.
    pub fn depth(&self) -> usize {
        self.activations.len()
    }

    /// The network: layer `l` maps `sizes[l] → sizes[l+1]` with weights
    /// drawn by `init` from `seed + l`, zero biases, and `activations[l]`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) for a zero
    /// size or no layer.
    pub fn build<F: Element>(&self, init: Init, seed: u64) -> Result<Sequential<F>> {
        if self.activations.is_empty() || self.sizes.len() != self.activations.len() + 1 {
            return Err(crate::Error::incompatible(
                "MlpArchitecture::build",
                format!(
                    "{} sizes for {} layers (needs one more size than layers, and a layer)",
                    self.sizes.len(),
                    self.activations.len()
                ),
            ));
        }
        let mut net = Sequential::new();
        for (l, &act) in self.activations.iter().enumerate() {
            let s = seed.wrapping_add(l as u64);
            act.validate::<F>()?;
            net.add(Linear::init(
                self.sizes[l],
                self.sizes[l + 1],
                init,
                true,
                s,
            )?);
            net.add(act);
        }
        Ok(net)
    }

    /// Records a forward pass of `input` (batch × `sizes[0]`) on `tape`
    /// through [`build`](Self::build)`(Init::LecunNormal, seed)`, returning
    /// the trace the analyzer reads.
    ///
    /// ```
    /// use gradsign::activation::Activation;
    /// use gradsign::analysis::GradientSignAnalyzer;
    /// use gradsign::testing::MlpArchitecture;
    /// use gradsign::{Tape, Tensor};
    /// let arch = MlpArchitecture { sizes: vec![3, 5, 2],
    ///                              activations: vec![Activation::Sigmoid, Activation::Identity] };
    /// let tape = Tape::<f64>::new();
    /// let x = tape.constant(&Tensor::rand_uniform(&[8, 3], 0.0, 1.0, 1)?);
    /// let trace = arch.record(&tape, x, 7)?;
    /// let grads = trace.output().unwrap().square().sum().backward()?;
    /// let report = GradientSignAnalyzer::default().analyze(&trace, &grads)?;
    /// assert_eq!(report.layers[1].per_example_coherence(), 1.0); // sigmoid inputs
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`build`](Self::build), and
    /// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) if `input` does
    /// not have `sizes[0]` columns.
    pub fn record<'t, F: crate::nn::ModelElement>(
        &self,
        tape: &'t Tape<F>,
        input: Var<'t, F>,
        seed: u64,
    ) -> Result<Trace<'t, F>> {
        let mlp = self.build::<F>(Init::LecunNormal, seed)?;
        Ok(crate::nn::forward(&mlp, tape, input)?.1)
    }
}

/// Random architectures: `inputs` input features, `depth` layers of widths
/// in `width`, hidden activations from `hidden` and any output activation.
///
/// # Panics
/// If the `inputs`, `depth` or `width` range is empty (`3..3`, `5..2`).
/// A depth range reaching below 1 is raised to 1; widths of 0 are allowed
/// here (to test [`MlpArchitecture::build`]'s error), but not by
/// [`random_mlp`].
pub fn mlp_architecture(
    inputs: impl Into<SizeRange>,
    depth: impl Into<SizeRange>,
    width: impl Into<SizeRange>,
    hidden: impl Strategy<Value = Activation> + Clone,
) -> impl Strategy<Value = MlpArchitecture> {
    let (inputs, depth, width) = (inputs.into(), depth.into(), width.into());
    let ((i0, i1), (d0, d1)) = (bounds("inputs", &inputs), bounds("depth", &depth));
    let (w0, w1) = bounds("width", &width);
    let depth = d0.max(1)..=d1.max(1);
    (i0..=i1, depth).prop_flat_map(move |(k, d)| {
        (
            vec(w0..=w1, d),
            vec(hidden.clone(), d - 1),
            any_activation(),
        )
            .prop_map(move |(widths, mut activations, last)| {
                activations.push(last);
                let mut sizes = vec![k];
                sizes.extend(widths);
                MlpArchitecture { sizes, activations }
            })
    })
}

/// Random networks: [`mlp_architecture`] built with LeCun-normal weights
/// from a random seed.
///
/// # Panics
/// As [`mlp_architecture`], and if the `inputs` or `width` range admits 0
/// (a layer of width 0 cannot be built): at construction, not when the
/// first network is drawn.
pub fn random_mlp(
    inputs: impl Into<SizeRange>,
    depth: impl Into<SizeRange>,
    width: impl Into<SizeRange>,
    hidden: impl Strategy<Value = Activation> + Clone,
) -> impl Strategy<Value = Sequential<f64>> {
    let (inputs, width) = (inputs.into(), width.into());
    for (what, range) in [("inputs", &inputs), ("width", &width)] {
        if range.start() == 0 {
            panic!(
                "gradsign::testing::random_mlp: the {what} range {}..{} admits 0, and a layer of width 0 cannot be built",
                range.start(),
                range.end_excl()
            );
        }
    }
    (mlp_architecture(inputs, depth, width, hidden), any::<u64>()).prop_map(|(arch, seed)| {
        arch.build(Init::LecunNormal, seed)
            .expect("architectures have non-zero sizes")
    })
}

fn fail(message: String) -> TestCaseError {
    TestCaseError::fail(message)
}

/// Whether a per-example row's category agrees with the sign of its `δ`:
/// its non-zero entries carry `δ`'s sign. A zero row (`δ = 0`, or every
/// input zero) never contradicts it.
fn agrees(cat: SignCategory, delta: f64) -> bool {
    match cat {
        SignCategory::Positive | SignCategory::WeaklyPositive => delta > 0.0,
        SignCategory::Negative | SignCategory::WeaklyNegative => delta < 0.0,
        SignCategory::Zero => true,
        SignCategory::Mixed | SignCategory::NonFinite => false,
    }
}

fn check_rows<F: Element>(
    inputs: &Tensor<F>,
    deltas: &Tensor<F>,
    what: &str,
    ok: impl Fn(SignCategory, f64) -> bool,
) -> Result<(), TestCaseError> {
    let cats = GradientSignAnalyzer::default()
        .without_bias()
        .example_categories(inputs, deltas)?;
    let (k, j) = (inputs.dims()[1], deltas.dims()[1]);
    for (i, &cat) in cats.iter().enumerate() {
        let (n, jj) = (i / j.max(1), i % j.max(1));
        let delta = deltas.as_slice()[i].to_f64();
        if !ok(cat, delta) {
            let a = &inputs.as_slice()[n * k..(n + 1) * k];
            return Err(fail(format!(
                "{what}: example {n}, neuron {jj}: the row δ·a is {cat} with δ = {delta}, a = {a:?}"
            )));
        }
    }
    Ok(())
}

/// The property "every per-example weight row `Δ_nj·a_n` is coherent with
/// `sign(Δ_nj)`": no entry has the sign opposite to `δ`, so the row is
/// (weakly) positive for `δ > 0`, (weakly) negative for `δ < 0`, or zero
/// (always for `δ = 0`). It holds whenever the inputs are `≥ 0`.
///
/// ```
/// use gradsign::testing::assert_per_example_coherent;
/// use gradsign::Tensor;
/// let a = Tensor::from_vec(vec![0.5, 0.0, 2.0, 1.0], &[2, 2])?;
/// let d = Tensor::from_vec(vec![-1.0, 3.0], &[2, 1])?;
/// assert!(assert_per_example_coherent(&a, &d).is_ok());
/// let centred = Tensor::from_vec(vec![0.5, -0.5], &[1, 2])?;
/// let one = Tensor::from_vec(vec![1.0], &[1, 1])?;
/// assert!(assert_per_example_coherent(&centred, &one).is_err());
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// # Errors
/// A failed [`TestCaseError`] naming the first offending example and neuron,
/// or the analyzer's error (mismatched shapes, an empty batch).
pub fn assert_per_example_coherent<F: Element>(
    inputs: &Tensor<F>,
    deltas: &Tensor<F>,
) -> Result<(), TestCaseError> {
    check_rows(inputs, deltas, "not coherent with sign(δ)", agrees)
}

/// The strict form: every row is strictly positive (δ > 0) or strictly
/// negative (δ < 0), every `δ` non-zero. Holds for strictly positive inputs.
///
/// # Errors
/// As [`assert_per_example_coherent`].
pub fn assert_strictly_coherent<F: Element>(
    inputs: &Tensor<F>,
    deltas: &Tensor<F>,
) -> Result<(), TestCaseError> {
    check_rows(inputs, deltas, "not strictly coherent", |cat, d| {
        cat.is_strictly_coherent() && agrees(cat, d)
    })
}

/// The weakest form: no per-example row is mixed or non-finite.
///
/// # Errors
/// As [`assert_per_example_coherent`].
pub fn assert_never_mixed<F: Element>(
    inputs: &Tensor<F>,
    deltas: &Tensor<F>,
) -> Result<(), TestCaseError> {
    check_rows(inputs, deltas, "mixed or non-finite", |cat, _| {
        !matches!(cat, SignCategory::Mixed | SignCategory::NonFinite)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

        #[test]
        fn positive_batches_meet_the_strict_property(
            (a, d) in positive_batch(1..=6, 1..=5)
                .prop_flat_map(|a| { let b = a.dims()[0]; (Just(a), nonzero_deltas(b, 1..=3)) })
        ) {
            assert_strictly_coherent(&a, &d)?;
        }

        #[test]
        fn relu_like_batches_are_never_mixed(
            (a, d) in relu_like_batch(1..=6, 1..=5)
                .prop_flat_map(|a| { let b = a.dims()[0]; (Just(a), nonzero_deltas(b, 2)) })
        ) {
            prop_assert!(a.as_slice().iter().all(|&x| x >= 0.0));
            assert_per_example_coherent(&a, &d)?;
            assert_never_mixed(&a, &d)?;
        }

        #[test]
        fn one_signed_and_fixed_pattern_batches_keep_one_pattern(
            a in one_signed_batch(1..=5, 1..=4),
            p in fixed_pattern_batch(1..=5, 1..=4),
        ) {
            let first = a.as_slice()[0] > 0.0;
            prop_assert!(a.as_slice().iter().all(|&x| (x > 0.0) == first && x != 0.0));
            let k = p.dims()[1];
            for (i, &x) in p.as_slice().iter().enumerate() {
                prop_assert_eq!(x > 0.0, p.as_slice()[i % k] > 0.0);
            }
        }

        #[test]
        fn zero_centred_columns_have_mean_zero(a in zero_centred_batch(2..=6, 1..=4)) {
            let (b, k) = (a.dims()[0], a.dims()[1]);
            for col in 0..k {
                let mean: f64 = (0..b).map(|n| a.as_slice()[n * k + col]).sum::<f64>() / b as f64;
                prop_assert!(mean.abs() < 1e-12, "column {} mean {}", col, mean);
            }
        }

        #[test]
        fn kink_free_entries_keep_their_margin(t in kink_free_tensor(&[3, 4], 1e-3)) {
            prop_assert!(t.as_slice().iter().all(|x| x.abs() >= 1e-3 && x.abs() <= 4.0));
        }

        #[test]
        fn extreme_logits_are_finite(t in extreme_logits(1..=3, 2..=5)) {
            prop_assert!(t.all_finite());
        }

        #[test]
        fn activation_strategies_keep_their_output_sign(
            p in positive_activation(),
            n in non_negative_activation(),
        ) {
            prop_assert_eq!(p.output_sign(), OutputSign::StrictlyPositive);
            prop_assert_eq!(n.output_sign(), OutputSign::NonNegative);
            prop_assert!(p.validate::<f64>().is_ok() && n.validate::<f32>().is_ok());
        }

        #[test]
        fn random_networks_have_the_drawn_shape(mlp in random_mlp(2, 1..=3, 1..=4, any_activation())) {
            let first = mlp.linears().next().map(|(_, l)| l.fan_in());
            prop_assert_eq!(first, Some(2));
            prop_assert!((1..=3).contains(&mlp.linears().count()));
        }

        #[test]
        fn architectures_record_a_trace_the_analyzer_reads(
            arch in mlp_architecture(1..=4, 1..=3, 1..=5, any_activation()),
            seed in any::<u64>(),
        ) {
            prop_assert_eq!(arch.sizes.len(), arch.depth() + 1);
            let tape = Tape::<f64>::new();
            let x = tape.constant(&Tensor::rand_uniform(&[4, arch.sizes[0]], 0.0, 1.0, seed)?);
            let trace = arch.record(&tape, x, seed)?;
            let grads = trace.output().unwrap().square().sum().backward()?;
            let report = GradientSignAnalyzer::default().analyze(&trace, &grads)?;
            prop_assert_eq!(report.layers.len(), arch.depth());
            // The data layer: U(0,1) inputs are positive, so no violation and no mixed row.
            prop_assert_eq!(report.layers[0].per_example.mixed, 0);
        }
    }

    #[test]
    fn coherence_property_reports_the_offending_example() {
        let a = Tensor::from_vec(vec![1.0, 1.0, 1.0, -1.0], &[2, 2]).unwrap();
        let d = Tensor::from_vec(vec![1.0, 1.0], &[2, 1]).unwrap();
        let err = assert_per_example_coherent(&a, &d).unwrap_err();
        assert!(err.to_string().contains("example 1, neuron 0"), "{err}");
    }
}
