//! Per-example weight gradients of a dense layer, materialised: the
//! `B×J×K` tensor `g_njk = Δ_nj·a_nk` and the bias part `Δ` (B×J), for
//! users who want them (what BackPACK's BatchGrad gives PyTorch users).
//!
//! The sign analysis never needs this tensor; it is here for inspection,
//! per-example clipping or variance estimates, and as a reference.

use crate::autodiff::Gradients;
use crate::dynamics::try_grow;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::kernels::matmul::GemmArgs;
use crate::nn::Trace;
use crate::tensor::Tensor;

use crate::analysis::pass::check_matrices;

/// Writes `out[n][j][k] = Δ_nj·a_nk` for the examples whose rows `inputs` and
/// `deltas` hold (`out` holds exactly those examples).
fn fill<F: Element>(out: &mut [F], inputs: &[F], deltas: &[F], fan_in: usize, fan_out: usize) {
    if fan_in == 0 || fan_out == 0 {
        return;
    }
    let per_example = fan_in * fan_out;
    for ((o, a), d) in out
        .chunks_exact_mut(per_example)
        .zip(inputs.chunks_exact(fan_in))
        .zip(deltas.chunks_exact(fan_out))
    {
        for (row, &dj) in o.chunks_exact_mut(fan_in).zip(d) {
            for (g, &x) in row.iter_mut().zip(a) {
                *g = dj * x;
            }
        }
    }
}

/// Fills `out` (B×J×K, row-major) from all examples, splitting them between
/// up to `threads` threads.
pub(crate) fn fill_threaded<F: Element>(
    out: &mut [F],
    inputs: &[F],
    deltas: &[F],
    (batch, fan_in, fan_out): (usize, usize, usize),
    threads: usize,
) {
    let per_example = fan_in * fan_out;
    let threads = threads.clamp(1, batch.max(1));
    if threads == 1 || per_example == 0 {
        fill(out, inputs, deltas, fan_in, fan_out);
        return;
    }
    let chunk = batch.div_ceil(threads);
    // On rayon's pool, whose threads outlive the call: spawning fresh
    // threads cost tens of µs per layer and per batch.
    rayon::scope(|s| {
        for (t, o) in out.chunks_mut(chunk * per_example).enumerate() {
            let n0 = t * chunk;
            let n1 = (n0 + chunk).min(batch);
            let a = &inputs[n0 * fan_in..n1 * fan_in];
            let d = &deltas[n0 * fan_out..n1 * fan_out];
            s.spawn(move |_| fill(o, a, d, fan_in, fan_out));
        }
    });
}

/// `out[n] = Σ_p Δ_{(n,p)}ᵀ·a_{(n,p)}` (each `J×K`) for examples of
/// `positions` consecutive rows: a convolution's per-example gradients.
fn fill_summed<F: Element>(
    out: &mut [F],
    inputs: &[F],
    deltas: &[F],
    (positions, fan_in, fan_out): (usize, usize, usize),
    threads: usize,
) {
    let per_example = fan_in * fan_out;
    if per_example == 0 {
        return;
    }
    for (n, o) in out.chunks_exact_mut(per_example).enumerate() {
        let (r0, r1) = (n * positions, (n + 1) * positions);
        F::gemm(GemmArgs {
            m: fan_out,
            n: fan_in,
            k: positions,
            // Δᵀ: element (j, p) of this example at p·J + j.
            a: &deltas[r0 * fan_out..r1 * fan_out],
            a_rs: 1,
            a_cs: fan_out,
            b: &inputs[r0 * fan_in..r1 * fan_in],
            b_rs: fan_in,
            b_cs: 1,
            c: o,
            c_rs: fan_in,
            accumulate: false,
            threads,
        });
    }
}

/// The element count of a `B×J×K` tensor, or an error naming `op` and the
/// sizes when it overflows `usize`.
pub(crate) fn per_sample_len(op: &'static str, (b, k, j): (usize, usize, usize)) -> Result<usize> {
    b.checked_mul(j)
        .and_then(|n| n.checked_mul(k))
        .ok_or_else(|| Error::TooLarge {
            op,
            what: format!("the per-example gradients of {b} examples × {j} neurons × {k} inputs"),
            reason: "they have more elements than a usize can count".into(),
        })
}

/// `t` reshaped to `B×J×K`, reusing its buffer when the size is unchanged;
/// an error naming `op` and the sizes when it cannot be allocated (`t` is
/// then left as it was).
fn reuse<F: Element>(
    op: &'static str,
    t: &mut Tensor<F>,
    sizes: (usize, usize, usize),
) -> Result<()> {
    let (b, k, j) = sizes;
    let dims = [b, j, k];
    if t.dims() != dims {
        let n = per_sample_len(op, sizes)?;
        let what = format!("the {b}×{j}×{k} per-example gradients");
        let more = n.saturating_sub(t.numel());
        let mut fresh = Vec::new();
        // Checked before the buffer is taken out of `t`.
        try_grow(op, &what, &mut fresh, if more > 0 { n } else { 0 })?;
        let mut data = std::mem::replace(t, Tensor::scalar(F::zero())).into_vec();
        if more > 0 {
            // Every element is rewritten by the fill: the old values need
            // no copy.
            data = fresh;
        }
        data.resize(n, F::zero());
        *t = Tensor::from_vec(data, &dims)?;
    }
    Ok(())
}

/// The per-example gradients of every layer of a traced network, in
/// buffers that are kept and refilled in place from one batch to the next:
/// once warm, nothing is allocated and no memory page is touched for the
/// first time, so the cost is the writes alone.
///
/// ```
/// use gradsign::activation::Activation;
/// use gradsign::analysis::PerSampleGradients;
/// use gradsign::nn::{self, Init, Mlp};
/// use gradsign::{Tape, Tensor};
/// let mlp = Mlp::builder(&[3, 4, 2]).hidden(Activation::Tanh).output(Activation::Identity).init(Init::LecunNormal).seed(1).build::<f64>()?;
/// let tape = Tape::new();
/// let x = tape.constant(&Tensor::rand_normal(&[5, 3], 0.0, 1.0, 2)?);
/// let (y, trace) = nn::forward(&mlp, &tape, x)?;
/// // The sum of per-example losses: each example's Δ is its own gradient.
/// let grads = y.square().sum().backward()?;
/// let mut per_sample = PerSampleGradients::new();
/// per_sample.compute(&trace, &grads)?;
/// assert_eq!(per_sample.weights(1).dims(), &[5, 2, 4]);        // B × J × K
/// assert_eq!(per_sample.bias(1).unwrap().dims(), &[5, 2]);      // B × J
/// // Summed over examples, they are the batch gradient.
/// let batch: f64 = (0..5).map(|n| per_sample.weights(1).get(&[n, 0, 0]).unwrap()).sum();
/// assert!((batch - grads.get(trace.layers()[1].weight)?[0]).abs() < 1e-12);
/// # Ok::<(), gradsign::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct PerSampleGradients<F: Element> {
    layers: Vec<(Tensor<F>, Option<Tensor<F>>)>,
    threads: usize,
}

impl<F: Element> PerSampleGradients<F> {
    /// Empty buffers, one thread.
    pub fn new() -> Self {
        PerSampleGradients {
            layers: Vec::new(),
            threads: 1,
        }
    }

    /// Lets the fill use up to `threads` threads (examples are split),
    /// clamped to `1 ..= `[`max_threads`](crate::kernels::max_threads)`()`
    /// (the crate's rule for every thread count, see
    /// [`kernels`](crate::kernels#thread-counts)).
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = crate::kernels::clamp_threads(threads);
        self
    }

    /// Fills the buffers from every layer of `trace` after `backward`:
    /// `g_njk = Δ_nj·a_nk` (B×J×K) and, for a layer with a bias, `Δ` (B×J).
    /// For a convolution (a layer with several positions per example) each
    /// example's gradient sums its positions: `g_n = Σ_p Δ_npᵀ·a_np` and
    /// `Σ_p Δ_np`.
    /// `Δ` must come from the sum of the per-example losses for these to be
    /// each example's own gradients.
    ///
    /// # Errors
    /// [`Error::Layer`] wrapping a layer's error: a pre-activation without a
    /// gradient ([`Error::NoGradient`]), an input and pre-activation that
    /// are not B×K and B×J, rows that do not split into examples of the
    /// layer's positions ([`Error::Incompatible`]), or (as
    /// [`Error::TooLarge`] naming the sizes) `B×J×K` values that cannot be
    /// allocated.
    pub fn compute(&mut self, trace: &Trace<'_, F>, grads: &Gradients<F>) -> Result<()> {
        self.layers.truncate(trace.len());
        for (l, lt) in trace.layers().iter().enumerate() {
            let wrap = |e| Error::Layer {
                layer: l,
                source: Box::new(e),
            };
            let (a_shape, z_shape) = lt.dense_shapes().map_err(wrap)?;
            let (b, k, j) =
                check_matrices("per_sample_gradients", a_shape, z_shape).map_err(wrap)?;
            let deltas = lt.deltas(grads).map_err(wrap)?;
            let deltas = &*deltas;
            if self.layers.len() <= l {
                self.layers.push((Tensor::scalar(F::zero()), None));
            }
            let (w, bias) = &mut self.layers[l];
            let p = lt.positions.max(1);
            if b % p != 0 {
                return Err(wrap(Error::incompatible(
                    "per_sample_gradients",
                    format!("{b} rows do not split into examples of {p} positions"),
                )));
            }
            let examples = b / p;
            reuse("per_sample_gradients", w, (examples, k, j)).map_err(wrap)?;
            if p == 1 {
                lt.with_inputs(|a| {
                    fill_threaded(w.as_mut_slice(), a, deltas, (b, k, j), self.threads)
                })
                .map_err(wrap)?;
            } else {
                // A convolution: example n's gradient is Σ_p Δ_npᵀ·a_np,
                // one product over its positions.
                lt.with_inputs(|a| {
                    fill_summed(w.as_mut_slice(), a, deltas, (p, k, j), self.threads)
                })
                .map_err(wrap)?;
            }
            let bias_rows = |out: &mut [F]| {
                for (n, o) in out.chunks_exact_mut(j.max(1)).enumerate() {
                    o.fill(F::zero());
                    for row in deltas[n * p * j..(n + 1) * p * j].chunks_exact(j.max(1)) {
                        for (s, &d) in o.iter_mut().zip(row) {
                            *s += d;
                        }
                    }
                }
            };
            match (lt.bias, bias.as_mut()) {
                (None, _) => *bias = None,
                (Some(_), Some(t)) if t.dims() == [examples, j] => bias_rows(t.as_mut_slice()),
                (Some(_), _) => {
                    let mut t = Tensor::zeros(&[examples, j])?;
                    bias_rows(t.as_mut_slice());
                    *bias = Some(t);
                }
            }
        }
        Ok(())
    }

    /// The number of layers filled.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// Whether nothing was computed yet.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// Layer `l`'s per-example weight gradients (B×J×K).
    ///
    /// # Panics
    /// If `l` is not below [`len`](Self::len).
    pub fn weights(&self, l: usize) -> &Tensor<F> {
        &self.layers[l].0
    }

    /// Layer `l`'s per-example bias gradients (B×J), if it has a bias.
    ///
    /// # Panics
    /// If `l` is not below [`len`](Self::len).
    pub fn bias(&self, l: usize) -> Option<&Tensor<F>> {
        self.layers[l].1.as_ref()
    }

    /// `√(Σ g²)` over every per-example gradient value, accumulated in `f64`.
    pub fn frobenius_norm(&self) -> f64 {
        let sq = |t: &Tensor<F>| {
            t.as_slice()
                .iter()
                .map(|&x| x.to_f64() * x.to_f64())
                .sum::<f64>()
        };
        self.layers
            .iter()
            .map(|(w, b)| sq(w) + b.as_ref().map_or(0.0, sq))
            .sum::<f64>()
            .sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Tape;
    use crate::analysis::GradientSignAnalyzer;

    /// A two-layer net `tanh(x·W1ᵀ + b1)·W2ᵀ + b2` with per-example losses
    /// `ℓ_n = Σ_j (out_nj − 0.3)²`; checks layer 1's per-example gradients
    /// against B backward passes, each seeded with one example's loss only.
    fn check_against_backward_passes(threads: usize) {
        let (bsz, k, h, j) = (5, 3, 4, 2);
        let tape = Tape::<f64>::new();
        let x = tape.constant(&Tensor::rand_normal(&[bsz, k], 0.0, 1.0, 1).unwrap());
        let w1 = tape.var(&Tensor::rand_normal(&[h, k], 0.0, 1.0, 2).unwrap());
        let b1 = tape.var(&Tensor::rand_normal(&[h], 0.0, 1.0, 3).unwrap());
        let w2 = tape.var(&Tensor::rand_normal(&[j, h], 0.0, 1.0, 4).unwrap());
        let b2 = tape.var(&Tensor::rand_normal(&[j], 0.0, 1.0, 5).unwrap());
        let a2 = x.linear(w1, Some(b1)).unwrap().tanh();
        let z2 = a2.linear(w2, Some(b2)).unwrap();
        let losses = (z2 - 0.3).square().sum_axis(1, false).unwrap();
        let total = losses.sum().backward().unwrap();
        let analyzer = GradientSignAnalyzer::default().with_threads(threads);
        let (pw, pb) = analyzer
            .per_sample_gradients(&a2.value(), &total.tensor(z2).unwrap())
            .unwrap();
        let pb = pb.unwrap();
        for n in 0..bsz {
            let seed = Tensor::from_fn(&[bsz], |i| if i[0] == n { 1.0 } else { 0.0 }).unwrap();
            let g = losses.backward_with_seed(&seed).unwrap();
            let gw = g.get(w2).unwrap();
            let gb = g.get(b2).unwrap();
            assert_eq!(
                &pw.as_slice()[n * j * h..(n + 1) * j * h],
                gw,
                "example {n}"
            );
            assert_eq!(&pb.as_slice()[n * j..(n + 1) * j], gb, "example {n}");
        }
    }

    #[test]
    fn per_sample_gradients_equal_separate_backward_passes() {
        check_against_backward_passes(1);
    }

    #[test]
    fn threads_split_examples_without_changing_results() {
        check_against_backward_passes(2);
        check_against_backward_passes(8);
    }

    #[test]
    fn buffers_are_refilled_in_place_across_batches() {
        use crate::activation::Activation;
        use crate::nn::{Init, Mlp};
        let mlp = Mlp::builder(&[3, 2])
            .hidden(Activation::Tanh)
            .output(Activation::Identity)
            .init(Init::LecunNormal)
            .seed(4)
            .build::<f64>()
            .unwrap();
        let mut ps = PerSampleGradients::new().with_threads(2);
        let mut first_ptr = None;
        for seed in 0..3 {
            let tape = Tape::new();
            let x = tape.constant(&Tensor::rand_normal(&[4, 3], 0.0, 1.0, seed).unwrap());
            let (y, trace) = crate::nn::forward(&mlp, &tape, x).unwrap();
            let grads = y.square().sum().backward().unwrap();
            ps.compute(&trace, &grads).unwrap();
            let expected = GradientSignAnalyzer::default()
                .per_sample_gradients(
                    &x.value(),
                    &grads.tensor(trace.layers()[0].pre_activation).unwrap(),
                )
                .unwrap();
            assert_eq!(ps.weights(0), &expected.0);
            assert_eq!(ps.bias(0), expected.1.as_ref());
            let ptr = ps.weights(0).as_slice().as_ptr();
            assert_eq!(*first_ptr.get_or_insert(ptr), ptr);
        }
    }

    #[test]
    fn frobenius_norm_sums_weights_and_biases() {
        // One example, a = (3), Δ = (4): weight gradient 12, bias gradient 4; √(144 + 16).
        let tape = Tape::<f64>::new();
        let x = tape.constant(&Tensor::from_vec(vec![3.0], &[1, 1]).unwrap());
        let w = tape.var(&Tensor::from_vec(vec![2.0], &[1, 1]).unwrap());
        let b = tape.var(&Tensor::from_vec(vec![-4.0], &[1]).unwrap());
        let z = x.linear(w, Some(b)).unwrap();
        let grads = z.square().sum().backward().unwrap(); // Δ = 2z = 2·(6 − 4) = 4
        let mut trace = crate::nn::Trace::new();
        trace.push(crate::nn::LayerTrace {
            input: x,
            pre_activation: z,
            output: z,
            weight: w,
            bias: Some(b),
            activation: crate::activation::Activation::Identity,
            positions: 1,
            conv: None,
        });
        let mut ps = PerSampleGradients::new();
        ps.compute(&trace, &grads).unwrap();
        assert_eq!(ps.frobenius_norm(), 160f64.sqrt());
    }

    #[test]
    fn without_bias_returns_no_bias_part() {
        let a = Tensor::<f32>::ones(&[2, 3]).unwrap();
        let (_, b) = GradientSignAnalyzer::default()
            .without_bias()
            .per_sample_gradients(&a, &a)
            .unwrap();
        assert!(b.is_none());
    }
}
