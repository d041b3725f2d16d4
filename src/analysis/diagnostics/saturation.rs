//! Saturation of a layer's activation: the share of outputs in its flat
//! regions.

use crate::activation::Activation;
use crate::element::Element;
use crate::nn::LayerTrace;

use crate::analysis::config::SATURATION_THRESHOLD;

/// The share of a sigmoid or tanh layer's units that are saturated: the
/// activation's derivative is below `threshold` times its maximum.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Saturation {
    /// The layer's activation.
    pub activation: Activation,
    /// Saturated outputs over all `B·J` outputs.
    pub share: f64,
    /// The derivative ratio below which an output counts as saturated.
    pub threshold: f64,
}

/// The saturated share of a sigmoid or tanh layer's outputs: `f′(z)` below
/// [`SATURATION_THRESHOLD`] times its maximum, read from the output `y`
/// (`σ′ = y(1 − y)`, max ¼; `tanh′ = 1 − y²`, max 1).
pub(crate) fn saturation<F: Element>(lt: &LayerTrace<'_, F>) -> Option<Saturation> {
    let sigmoid = if lt.activation == Activation::Sigmoid {
        true
    } else if lt.activation == Activation::Tanh {
        false
    } else {
        return None;
    };
    // Thresholds on the output itself, so the loop is a comparison per
    // element: 4y(1 − y) < t  ⇔  |y − ½| > ½√(1 − t);  1 − y² < t  ⇔  |y| > √(1 − t).
    let (centre, radius) = if sigmoid {
        (0.5, 0.5 * (1.0 - SATURATION_THRESHOLD).sqrt())
    } else {
        (0.0, (1.0 - SATURATION_THRESHOLD).sqrt())
    };
    let (centre, radius) = (F::from_f64(centre), F::from_f64(radius));
    let (saturated, total) = lt.output.with_value(|y| {
        let s: usize = y
            .iter()
            .map(|&v| usize::from((v - centre).abs() > radius && v.is_finite()))
            .sum();
        (s, y.len())
    });
    Some(Saturation {
        activation: lt.activation,
        share: crate::analysis::diagnostics::share(saturated, total),
        threshold: SATURATION_THRESHOLD,
    })
}
