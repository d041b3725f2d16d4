//! The examples' computations at small sizes, checked against what the
//! maths fixes: exact sign statements, eigenvalue inequalities, bounds and
//! limits, and reproducibility. One module per example, in
//! `tests/experiments/`.

#[path = "experiments/sigmoid_vs_tanh.rs"]
mod sigmoid_vs_tanh;
