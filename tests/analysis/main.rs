//! The analysis: sign categories and their theorem, the gradient
//! statistics, conv and normalisation analysis, dynamics, curvature, the
//! reports, and their hostile inputs.
//!
//! One test binary per area, one module per topic: every test binary links
//! the whole crate, so a few binaries keep a build small on disk and quick
//! to link.

#[path = "../support/counting_alloc.rs"]
mod counting_alloc;
mod sign_nets;

mod analysis_non_finite;
mod conv_analysis;
mod curvature;
mod dynamics;
mod hostile_analysis;
mod hostile_analysis_diagnosis;
mod hostile_data_curvature;
mod lanczos_alloc_free;
mod norm_analysis;
mod report_curvature;
mod report_json;
mod sign_categories;
mod sign_properties;
mod stats_alloc_free;
mod stats_properties;
