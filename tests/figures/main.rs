//! The figures the examples and the README quote, reproduced from the
//! library's API. Two need a release build to run in reasonable time
//! (`cargo test --release --test figures`).
//!
//! One test binary per area, one module per topic: every test binary links
//! the whole crate, so a few binaries keep a build small on disk and quick
//! to link.

#[path = "../../examples/common/mod.rs"]
mod common;

mod figures_batch_size;
mod figures_conditioning;
mod figures_first_gradient;
mod figures_foreign;
mod figures_natural_gradient;
mod figures_outlier;
mod figures_outlier_cnn;
mod figures_sign_report;
mod figures_which_fix;
mod figures_zigzag;
mod sign_figures;
mod stats_figures;
