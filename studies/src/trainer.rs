//! One training step of a workload (W2, W3, W6): forward through a
//! `Sequential`, the mean loss, backward into kept gradients, SGD. Shared
//! by the criterion benches and the `workloads` runner, so that both time
//! the same step.

use gradsign::loss::{self, Reduction};
use gradsign::nn::{ModelElement, Sequential, Trace};
use gradsign::optim::{Optimizer, Sgd};
use gradsign::{Element, Gradients, Tape, Tensor};

/// What a workload's loss compares the network's output with.
#[derive(Clone, Copy, Debug)]
pub enum Target<'a, F: Element> {
    /// Mean squared error against these values (W2).
    Values(&'a Tensor<F>),
    /// Mean softmax cross-entropy against these labels (W3, W6).
    Classes(&'a [usize]),
}

/// A network, its optimiser and the buffers a training step reuses.
pub struct Trainer<F: ModelElement> {
    mlp: Sequential<F>,
    sgd: Sgd<F>,
    tape: Tape<F>,
    grads: Gradients<F>,
}

impl<F: ModelElement> Trainer<F> {
    /// A trainer of `mlp` with SGD at `lr` on a tape of `threads` threads.
    pub fn new(mlp: Sequential<F>, lr: f64, threads: usize) -> Self {
        let mut tape = Tape::new();
        tape.set_threads(threads);
        Trainer {
            mlp,
            sgd: Sgd::new(F::from_f64(lr)).threads(threads),
            tape,
            grads: Gradients::new(),
        }
    }

    /// One step: forward, the loss, backward, SGD; returns the loss before
    /// the update.
    pub fn step(&mut self, x: &Tensor<F>, target: Target<'_, F>) -> F {
        self.step_with(x, target, |_, _| {})
    }

    /// [`step`](Self::step), calling `between` after backward and before
    /// the update (where the analyzer or the statistics read the trace).
    ///
    /// # Panics
    /// If the workload's shapes do not fit the network, or SGD refuses the
    /// update (a diverged workload is a broken benchmark).
    pub fn step_with(
        &mut self,
        x: &Tensor<F>,
        target: Target<'_, F>,
        between: impl FnOnce(&Trace<'_, F>, &Gradients<F>),
    ) -> F {
        self.tape.clear();
        let tape = &self.tape;
        let (out, trace) =
            gradsign::nn::forward(&self.mlp, tape, tape.constant(x)).expect("workload shapes");
        let l = match target {
            Target::Values(y) => loss::mse(out, tape.constant(y), Reduction::Mean),
            Target::Classes(labels) => loss::softmax_cross_entropy(out, labels, Reduction::Mean),
        }
        .expect("workload loss");
        let value = l.item().expect("scalar loss");
        l.backward_into(&mut self.grads).expect("scalar loss");
        between(&trace, &self.grads);
        self.sgd
            .step(&mut self.mlp, &trace, &self.grads)
            .expect("valid SGD");
        value
    }
}
