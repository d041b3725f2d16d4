//! Example 04: sigmoid against tanh on the TensorFlow playground's data
//! sets, with the causes of the difference taken apart.
//!
//! `tanh(x) = 2σ(2x) − 1`: tanh is a sigmoid that is (1) centred, (2)
//! twice as tall and (3) twice as steep, so its slope at 0 is 1 against
//! sigmoid's ¼. The hidden units of [`Hidden`] fill the two-by-three grid
//! *centred or not* × *slope ¼, ½ or 1 at the origin*, so that each cause
//! can be switched on alone:
//!
//! | slope at 0 | not centred | centred |
//! | --- | --- | --- |
//! | ¼ | `σ(x)` | `σ(x) − ½` |
//! | ½ | `2σ(x)` | `2σ(x) − 1 = tanh(x/2)` |
//! | 1 | `2σ(2x) = 1 + tanh x` | `2σ(2x) − 1 = tanh x` |
//!
//! A centred unit and its uncentred twin differ by a constant shift of the
//! layer's output, which the next layer's bias absorbs: both networks
//! represent exactly the same functions, and only the gradient dynamics
//! differ. Label coding (`0/1`, `±½`, `±1`) is compared with a linear output
//! unit, and the loss is normalised by the targets' variance so that codings
//! are comparable.

mod comparison;
mod train;
mod units;

pub use comparison::{Cell, CodingCell, Comparison, ComparisonConfig, Tally, TunedCell, compare};
pub use train::{Run, TrainingConfig, median_epochs, run_all, train_run};
pub use units::{Coding, Hidden, Output, Setting};
