//! The tape, its variables and the backward sweep.

mod context;
mod gradients;
mod tape;
mod var;

pub use context::{BackwardCtx, ForwardInputs};
pub use gradients::Gradients;
pub use tape::{BackwardFn, Params, Tape};
pub use var::Var;
