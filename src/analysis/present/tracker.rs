//! How the trajectories over training print.

use std::fmt;

use crate::dynamics::Tracked;

use crate::analysis::config::UpdateSource;
use crate::analysis::present::{number, opt};
use crate::analysis::tracker_report::{LayerTrajectory, TrackerReport};

fn pct_or_dash(x: Option<f64>) -> String {
    x.map_or_else(|| "-".to_string(), |v| format!("{:.1}%", 100.0 * v))
}

impl fmt::Display for TrackerReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let updates = match self.updates {
            None => "nothing yet",
            Some(UpdateSource::NegativeGradient) => "u = −∇L (the plain SGD step without η)",
            Some(UpdateSource::WeightChange) => "u = W_t − W_{t−1} (the optimiser's step)",
        };
        let span = match (self.first_step, self.last_step) {
            (Some(a), Some(b)) => format!(", steps {a}..={b}"),
            _ => String::new(),
        };
        writeln!(
            f,
            "training trajectory: {} observations{span}; {updates}",
            self.steps
        )?;
        if self.skipped_delta_steps > 0 {
            writeln!(
                f,
                "  δ not compared on {} steps (batch size changed)",
                self.skipped_delta_steps
            )?;
        }
        writeln!(
            f,
            "{:>5}  {:>10}  {:>10}  {:>10}  {:>9}  {:>9}  {:>8}  {:>11}  {:>9}  {:>9}",
            "layer",
            "in -> out",
            "one-signed",
            "min/neuron",
            "mean cos",
            "path eff",
            "δ flips",
            "λmax E[aaᵀ]",
            "top ratio",
            "top flips"
        )?;
        for l in &self.layers {
            let dir = l.trajectory.direction.as_ref();
            // Sign changes per neuron and step of the top component.
            let flips = dir.and_then(|d| {
                let flips: usize = d.sign_flips.iter().sum();
                let pairs = d.components.len() * d.steps.saturating_sub(1);
                (pairs > 0).then(|| flips as f64 / pairs as f64)
            });
            writeln!(
                f,
                "{:>5}  {:>10}  {:>10}  {:>10}  {:>9}  {:>9}  {:>8}  {:>11}  {:>9}  {:>9}",
                l.layer,
                format!("{} -> {}", l.fan_in, l.fan_out),
                pct_or_dash(l.one_signed_share()),
                pct_or_dash(l.min_one_signed_share()),
                opt(l.mean_cosine()),
                opt(l.mean_path_efficiency()),
                pct_or_dash(l.mean_delta_flip_rate()),
                l.top_eigenvalue.map_or_else(|| "-".to_string(), number),
                opt(dir.and_then(|d| d.layer_ratio)),
                pct_or_dash(flips)
            )?;
        }
        if self.layers.iter().any(|l| l.trajectory.direction.is_some()) {
            let what = match self
                .layers
                .iter()
                .find_map(|l| l.trajectory.direction.as_ref())
            {
                Some(d) if d.tracked == Tracked::Error => "weight error",
                _ => "update",
            };
            writeln!(
                f,
                "  top ratio: ‖c_t‖/‖c_{{t−1}}‖ over the neurons' {what} components c along the \
                 top eigenvector of E[ã ãᵀ], |1 − ηλmax| under gradient descent on a quadratic; \
                 top flips: how often c changed sign between steps (every step iff η > 1/λmax)"
            )?;
        }
        for l in &self.layers {
            write!(f, "{l}")?;
        }
        Ok(())
    }
}

impl fmt::Display for LayerTrajectory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "layer {} ({} -> {}{}):",
            self.layer,
            self.fan_in,
            self.fan_out,
            if self.bias {
                ", rows with the bias"
            } else {
                ""
            }
        )?;
        match (self.top_eigenvalue, self.top_eigenvector_step) {
            (Some(l), Some(s)) => writeln!(
                f,
                " top eigenvector of E[ã ãᵀ] from step {s}'s batch, λmax = {}",
                number(l)
            )?,
            _ => writeln!(f)?,
        }
        write!(f, "{}", self.trajectory)
    }
}
