//! Sign coherence of weight gradients: the claim made measurable.
//!
//! For a dense layer with inputs `A` (B×K, row `a_n` per example) and deltas
//! `Δ = ∂L/∂Z` (B×J), neuron `j`'s weight gradient on example `n` is the row
//! `g_nj = Δ_nj·a_n` (the bias is one more input equal to 1). If `a_n > 0`
//! entrywise, every entry of that row has the sign of `Δ_nj`: one SGD step on
//! one example moves the neuron's weights within two of the `2^K` orthants.
//! [`GradientSignAnalyzer`] measures this, per layer and per neuron:
//!
//! - the category of every per-example row ([`SignCategory`]: positive,
//!   negative, weakly positive/negative when zeros are present, zero, mixed,
//!   non-finite), from sign patterns in `O(B·(K+J))` — the `B×J×K` tensor is
//!   never formed;
//! - the theorem's precondition (inputs strictly positive; `≥ 0`; one sign
//!   pattern) and its conclusion, checked row by row (violations must be 0);
//! - the batch rows `G_j = Σ_n Δ_nj·a_n` and how far summing mixed their signs;
//! - `δ`'s sign balance (it takes both signs), orthant occupancy,
//!   `|cos(g, 1)|`, input statistics, non-finite counts, saturation;
//! - a [`Diagnosis`] in words: cause, fix, caveats.
//!
//! Two entry points: [`GradientSignAnalyzer::analyze`] reads every layer of
//! a traced forward pass after `backward`; [`GradientSignAnalyzer::analyze_layer`]
//! takes raw matrices, so gradients computed anywhere can be analysed. With
//! [`AnalyzerConfig::curvature`] (off by default: it costs full
//! eigendecompositions) each layer's report also carries the spectra of its
//! inputs' `E[a aᵀ]` and `Cov(a)`, and the diagnosis quotes their condition
//! numbers.
//!
//! Over training, [`GradientSignAnalyzer::observe`] (once per step, cheap
//! and allocation-free once warm) follows each neuron's updates: their
//! orthants, the cosine between consecutive updates, the path efficiency,
//! `δ`'s sign flips, and the component along the top eigenvector of each
//! layer's `E[ã ãᵀ]`; [`GradientSignAnalyzer::trajectories`] reports them.
//!
//! ```
//! use gradsign::analysis::GradientSignAnalyzer;
//! use gradsign::Tensor;
//! let a = Tensor::<f64>::rand_uniform(&[256, 10], 0.0, 1.0, 1)?; // non-centred inputs
//! let d = Tensor::<f64>::rand_normal(&[256, 32], 0.0, 1.0, 2)?;  // δ of both signs
//! let r = GradientSignAnalyzer::default().analyze_layer(&a, &d)?;
//! assert_eq!(r.per_example_coherence(), 1.0);  // every example's row is one-signed
//! assert!(r.batch_coherence() < 1.0);          // the batch sum mixes some of them
//! assert_eq!(r.orthants.max, 2);               // two orthants out of 2^11
//! println!("{r}");
//! # Ok::<(), gradsign::Error>(())
//! ```
//!
//! Signs are classified against a tolerance (default exactly 0; `±0.0` are
//! zero, NaN and infinities are non-finite), never with `signum`.

// How the module is cut: `config` holds every setting, `analyzer` every
// public method of `GradientSignAnalyzer`, `diagnostics/` one file per
// measurement (its report type and its part of the computation), `pass` the
// fused single pass that fills them all at once, `report` the reports that
// gather them, `diagnosis` the verdict in words, and `present/` every
// `Display`. A new diagnostic is a file in `diagnostics/` and a field in
// `report`; the pass calls it.
mod analyzer;
mod config;
mod diagnosis;
mod diagnostics;
pub(crate) mod pass;
mod per_sample;
mod present;
mod report;
mod sign;
mod top_direction;
mod tracker;
mod tracker_report;

pub use analyzer::GradientSignAnalyzer;
pub use config::{
    AnalyzerConfig, LayerSelection, OptimizerKind, SATURATION_THRESHOLD, TopEigenvector,
    TrackingConfig, UpdateSource,
};
pub use diagnosis::{Cause, Caveat, Diagnosis, Evidence, Fix, LayerDiagnosis, Verdict};
pub use diagnostics::coherence::{CategoryCounts, TheoremCheck};
pub use diagnostics::curvature::{ConstantInputs, CurvatureEvidence, MAX_CURVATURE_INPUTS};
pub use diagnostics::delta_balance::DeltaBalance;
pub use diagnostics::input_path::{InputPath, InputSource, InputStep};
pub use diagnostics::inputs::{InputStats, Precondition};
pub use diagnostics::orthants::OrthantOccupancy;
pub use diagnostics::saturation::Saturation;
pub use per_sample::PerSampleGradients;
pub use present::format_number;
pub use report::{LayerReport, NetworkReport, NeuronReport, NeuronTable};
pub use sign::{Sign, SignCategory, SignCounts};
pub use tracker::SignTracker;
pub use tracker_report::{LayerTrajectory, TrackerReport};
