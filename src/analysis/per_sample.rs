//! Per-example weight gradients of a dense layer, materialised: the
//! `B×J×K` tensor `g_njk = Δ_nj·a_nk` and the bias part `Δ` (B×J), for
//! users who want them (what BackPACK's BatchGrad gives PyTorch users).
//!
//! The sign analysis never needs this tensor; it is here for inspection,
//! per-example clipping or variance estimates, and as a reference.

use crate::element::Element;
use crate::error::Result;
use crate::tensor::Tensor;

use super::analyzer::GradientSignAnalyzer;
use super::layer::check_matrices;

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

impl GradientSignAnalyzer {
    /// The per-example weight gradients of a dense layer from its inputs `A`
    /// (B×K) and deltas `Δ` (B×J): `g_njk = Δ_nj·a_nk` as a `B×J×K` tensor,
    /// and, with [`include_bias`](super::AnalyzerConfig::include_bias), the
    /// per-example bias gradients `Δ` (B×J).
    ///
    /// For these to be each example's own gradient, `Δ` must come from the
    /// sum of the per-example losses (a mean divides every row by `B`).
    /// The output is written once, in place; with
    /// [`threads`](super::AnalyzerConfig::threads) `> 1` the examples are
    /// split between threads.
    ///
    /// ```
    /// use gradsign::analysis::GradientSignAnalyzer;
    /// use gradsign::Tensor;
    /// let a = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2])?;
    /// let d = Tensor::from_vec(vec![10.0, -1.0], &[2, 1])?;
    /// let (w, b) = GradientSignAnalyzer::default().per_sample_gradients(&a, &d)?;
    /// assert_eq!(w.dims(), &[2, 1, 2]);
    /// assert_eq!(w.as_slice(), &[10.0, 20.0, -3.0, -4.0]);
    /// assert_eq!(b.unwrap().as_slice(), &[10.0, -1.0]);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`analyze_layer`](Self::analyze_layer), and
    /// [`Error::RankMismatch`](crate::Error::RankMismatch) if `B×J×K` needs
    /// more than the maximum rank (never for matrices).
    pub fn per_sample_gradients<F: Element>(
        &self,
        inputs: &Tensor<F>,
        deltas: &Tensor<F>,
    ) -> Result<(Tensor<F>, Option<Tensor<F>>)> {
        let (batch, fan_in, fan_out) =
            check_matrices("per_sample_gradients", inputs.shape(), deltas.shape())?;
        let (a, d) = (inputs.as_slice(), deltas.as_slice());
        let per_example = fan_in * fan_out;
        // Zeroed memory comes from the allocator (untouched pages); every
        // element is then written exactly once.
        let mut out = vec![F::zero(); batch * per_example];
        let threads = self.config().threads.clamp(1, batch);
        if threads == 1 || per_example == 0 {
            fill(&mut out, a, d, fan_in, fan_out);
        } else {
            let chunk = batch.div_ceil(threads);
            std::thread::scope(|s| {
                for (t, o) in out.chunks_mut(chunk * per_example).enumerate() {
                    let n0 = t * chunk;
                    let n1 = (n0 + chunk).min(batch);
                    let (a, d) = (&a[n0 * fan_in..n1 * fan_in], &d[n0 * fan_out..n1 * fan_out]);
                    s.spawn(move || fill(o, a, d, fan_in, fan_out));
                }
            });
        }
        let weights = Tensor::from_vec(out, &[batch, fan_out, fan_in])?;
        let bias = self.config().include_bias.then(|| deltas.clone());
        Ok((weights, bias))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Tape;

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
    fn without_bias_returns_no_bias_part() {
        let a = Tensor::<f32>::ones(&[2, 3]).unwrap();
        let (_, b) = GradientSignAnalyzer::default()
            .without_bias()
            .per_sample_gradients(&a, &a)
            .unwrap();
        assert!(b.is_none());
    }
}
