//! The tape, its variables and the backward sweep.

mod context;
mod gradients;
mod saved;
mod tape;
mod var;

pub use context::{BackwardCtx, ForwardInputs};
pub(crate) use context::{Slot, reserve_scratch, scratch_slice};
pub use gradients::Gradients;
pub(crate) use saved::saved_dims;
pub use saved::{Saved, Slots};
pub use tape::{BackwardFn, Tape};
pub use var::Var;
