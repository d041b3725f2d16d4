//! 07 — natural gradient needs no centring.
//!
//! Logistic regression with a bias on inputs that are outputs of sigmoid
//! units. Centring the inputs is an affine change of parameters; gradient
//! descent is not invariant under it (so centring speeds it up), natural
//! gradient is (so it takes the same steps either way, and few of them).
//!
//! ```sh
//! cargo run --release --example 07_natural_gradient
//! ```
//!
//! The computation is `gradsign_studies::natural_gradient`.

mod common;

use common::{PALETTE, Res, plot_path, print_table, steps_or};
use gradsign_studies::natural_gradient::{
    NaturalGradientComparison, NaturalGradientConfig, Trajectory, natural_gradient,
};
use plotters::prelude::*;

fn main() -> Res {
    let config = NaturalGradientConfig::default();
    let c = natural_gradient(&config)?;
    println!(
        "Logistic regression, {} examples, {} features x = σ(u), u ~ N(0, {}²), plus a bias; labels drawn\n\
         from a logistic teacher. Both runs start at θ = 0 (every prediction ½); L* = {:.6}.\n",
        config.examples, config.features, config.spread, c.optimum
    );
    let row = |name: &str, t: &Trajectory| {
        vec![
            name.to_string(),
            format!("{:.3}", t.learning_rate),
            format!("{:.1}", t.fisher_kappa),
            steps_or(t.steps_to_tolerance, "not reached"),
            format!(
                "{:.2e}",
                t.losses.last().copied().unwrap_or(f64::NAN) - c.optimum
            ),
        ]
    };
    print_table(
        &[
            "method, inputs",
            "η",
            "κ(Fisher at 0)",
            &format!("steps to L − L* ≤ {:e}·(L₀ − L*)", config.tolerance),
            "final L − L*",
        ],
        &[
            row("gradient descent, raw", &c.gd_raw),
            row("gradient descent, centred", &c.gd_centred),
            row("natural gradient, raw", &c.ng_raw),
            row("natural gradient, centred", &c.ng_centred),
        ],
    );
    let max = |v: Vec<f64>| v.into_iter().fold(0.0f64, f64::max);
    println!(
        "\nLargest difference of predicted probabilities between the raw and centred runs, over all steps:\n\
         gradient descent {:.2e}; natural gradient {:.2e} (rounding: it is invariant).",
        max(c.invariance_gap(false)),
        max(c.invariance_gap(true))
    );
    println!(
        "Gradient descent at η = 1/λmax crawls along the Fisher's small eigenvalues; centring shrinks κ,\n\
         natural gradient removes it. Each natural step forms and solves a {0}×{0} Fisher: fine here,\n\
         out of reach for a large network (hence centring, normalisation and diagonal approximations).",
        config.features + 1
    );

    let path = plot_path("07_natural_gradient.svg")?;
    draw(&c, &path)?;
    println!("\nplot: {}", path.display());
    Ok(())
}

/// Excess loss per step for the four runs, and the raw–centred prediction gap.
fn draw(c: &NaturalGradientComparison, path: &std::path::Path) -> Res {
    let root = SVGBackend::new(path, (1150, 470)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(640);
    let shown = c
        .gd_raw
        .steps_to_tolerance
        .map_or(c.config.gd_steps, |s| (s * 5 / 4).min(c.config.gd_steps)) as f64;
    let floor = 1e-12;
    let mut chart = ChartBuilder::on(&left)
        .caption("excess loss L − L* per step", ("sans-serif", 17))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..shown, (floor..1.0).log_scale())?;
    chart
        .configure_mesh()
        .light_line_style(WHITE.mix(0.0))
        .x_desc("step")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .label_style(("sans-serif", 12))
        .axis_desc_style(("sans-serif", 14))
        .draw()?;
    // Natural gradient draws its two runs on top of each other: large
    // hollow marks for raw, small filled ones for centred.
    let runs = [
        (&c.gd_raw, "gradient descent, raw", PALETTE[1], 0),
        (&c.gd_centred, "gradient descent, centred", PALETTE[0], 0),
        (&c.ng_raw, "natural gradient, raw", PALETTE[2], 7),
        (&c.ng_centred, "natural gradient, centred", PALETTE[3], 3),
    ];
    for (t, name, colour, mark) in runs {
        let pts: Vec<(f64, f64)> = t
            .losses
            .iter()
            .enumerate()
            .map(|(s, &l)| (s as f64, (l - c.optimum).max(floor)))
            .take_while(|p| p.0 <= shown)
            .collect();
        chart.draw_series(LineSeries::new(pts.clone(), colour.stroke_width(2)))?;
        let anno = if mark > 0 {
            let style = if mark > 4 {
                colour.stroke_width(2)
            } else {
                colour.filled()
            };
            chart.draw_series(pts.into_iter().map(move |p| Circle::new(p, mark, style)))?
        } else {
            chart.draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
        };
        anno.label(name).legend(move |(a, b)| {
            PathElement::new(vec![(a, b), (a + 16, b)], colour.stroke_width(2))
        });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font(("sans-serif", 13))
        .draw()?;

    let (gd, ng) = (c.invariance_gap(false), c.invariance_gap(true));
    let shown = (4 * c.config.ng_steps) as f64;
    let mut chart = ChartBuilder::on(&right)
        .caption("max |p_raw − p_centred| per step", ("sans-serif", 17))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..shown, (1e-17..1.0).log_scale())?;
    chart
        .configure_mesh()
        .light_line_style(WHITE.mix(0.0))
        .x_desc("step")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .label_style(("sans-serif", 12))
        .axis_desc_style(("sans-serif", 14))
        .draw()?;
    for (gap, name, colour) in [
        (&gd, "gradient descent", PALETTE[1]),
        (&ng, "natural gradient", PALETTE[2]),
    ] {
        chart
            .draw_series(LineSeries::new(
                gap.iter()
                    .enumerate()
                    .map(|(s, &g)| (s as f64, g.max(1e-17)))
                    .take_while(|p| p.0 <= shown),
                colour.stroke_width(2),
            ))?
            .label(name)
            .legend(move |(a, b)| {
                PathElement::new(vec![(a, b), (a + 16, b)], colour.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font(("sans-serif", 13))
        .draw()?;
    root.present()?;
    Ok(())
}
