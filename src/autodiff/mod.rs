//! The tape, its variables and the backward sweep.

mod gradients;
mod tape;
mod var;

pub use gradients::Gradients;
pub use tape::{BackwardCtx, BackwardFn, ForwardInputs, Params, Tape};
pub use var::Var;
