//! 02 — the zig-zag (CS231n's picture, measured).
//!
//! One linear neuron with two weights, inputs that are outputs of sigmoid
//! units (so positive), a target `w*` that needs one weight up and the
//! other down, plain per-example SGD. Every update is `−η(e·x)·x`: a
//! multiple of a positive vector, so it points into quadrant I or III around
//! the current point, and the path staircases. The same data centred goes
//! straight.
//!
//! ```sh
//! cargo run --release --example 02_zigzag
//! ```
//!
//! The computation is `gradsign_studies::zigzag`; this file prints and
//! plots it.

mod common;

use common::{PALETTE, Res, clip, plot_path, print_table, steps_or};
use gradsign_studies::zigzag::{ZigzagConfig, ZigzagRun, zigzag};
use plotters::prelude::*;

fn main() -> Res {
    let config = ZigzagConfig::default();
    let r = zigzag(&config)?;
    let tol = format!("steps to {}%", config.tolerance * 100.0);
    println!(
        "One neuron, two weights, {} examples x = σ(u), u ~ N(0, {}²); mean input ({:.3}, {:.3}).",
        config.examples, config.spread, r.input_mean[0], r.input_mean[1]
    );
    println!(
        "From w₀ = {:?} to w* = {:?} by plain per-example SGD, η = {} / mean‖x‖².\n",
        config.start, config.target, config.step_scale
    );
    let row = |name: &str, run: &ZigzagRun| {
        vec![
            name.to_string(),
            format!("{:.3}", run.learning_rate),
            format!("{:.1}", run.condition_number()),
            steps_or(run.steps_to_tolerance, "not reached"),
            format!("{:.2}", run.path_efficiency),
            format!("{:.0}%", 100.0 * run.quadrant_share),
            format!("{:+.2}", run.mean_cosine),
        ]
    };
    print_table(
        &[
            "inputs",
            "η",
            "κ(E[xxᵀ])",
            &tol,
            "path efficiency",
            "updates in I/III",
            "mean cos(uₜ, uₜ₊₁)",
        ],
        &[
            row("positive σ(u)", &r.positive),
            row("centred x − mean", &r.centred),
            row("centred, positive's η", &r.centred_same_rate),
        ],
    );
    println!(
        "\nSteps to {}% against the step scale c (η = c / mean‖x‖², median of {} example orders):\n",
        config.tolerance * 100.0,
        config.sweep_orders
    );
    let limit = format!("> {}", config.max_steps);
    let shown = |s: usize| {
        if s > config.max_steps {
            limit.clone()
        } else {
            s.to_string()
        }
    };
    let sweep: Vec<Vec<String>> = r
        .sweep
        .iter()
        .map(|s| {
            vec![
                format!("{}", s.step_scale),
                shown(s.positive),
                shown(s.centred),
            ]
        })
        .collect();
    print_table(&["c", "positive", "centred"], &sweep);
    println!(
        "\nWith positive inputs every update lies in quadrant I or III; w* − w₀ points into IV.\n\
         At one fixed η, centring straightens the path but does not shorten it: the speed comes\n\
         from the larger step that centred data (no large eigenvalue along the mean) allows."
    );

    let path = plot_path("02_zigzag.svg")?;
    draw(&r, &config, &path)?;
    println!("\nplot: {}", path.display());
    Ok(())
}

/// Two panels: positive inputs (contours, zig-zag, allowed quadrants) and
/// centred inputs (contours, direct path).
fn draw(
    r: &gradsign_studies::zigzag::Zigzag,
    config: &ZigzagConfig,
    path: &std::path::Path,
) -> Res {
    let root = SVGBackend::new(path, (1200, 620)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(600);
    let (s, t) = (config.start, config.target);
    let pad = 0.45;
    let x = (s[0].min(t[0]) - pad, s[0].max(t[0]) + pad);
    let y = (s[1].min(t[1]) - pad, s[1].max(t[1]) + pad);
    let panels = [
        (
            &left,
            &r.positive,
            format!(
                "positive inputs: {} steps, {:.0}% in quadrants I/III",
                steps_or(r.positive.steps_to_tolerance, "no convergence"),
                100.0 * r.positive.quadrant_share
            ),
            true,
        ),
        (
            &right,
            &r.centred,
            format!(
                "centred inputs: {} steps, {:.0}% in quadrants I/III",
                steps_or(r.centred.steps_to_tolerance, "no convergence"),
                100.0 * r.centred.quadrant_share
            ),
            false,
        ),
    ];
    for (area, run, caption, shade) in panels {
        let mut chart = ChartBuilder::on(area)
            .caption(caption, ("sans-serif", 19))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(48)
            .build_cartesian_2d(x.0..x.1, y.0..y.1)?;
        chart
            .configure_mesh()
            .light_line_style(WHITE.mix(0.0))
            .x_desc("w₁")
            .y_desc("w₂")
            .axis_desc_style(("sans-serif", 17))
            .label_style(("sans-serif", 13))
            .draw()?;

        // Loss contours: ellipses around w*, at levels doubling from the
        // start's loss downwards and upwards.
        let start_loss = run.loss[0];
        for k in -6..=4 {
            let level = start_loss * 2f64.powi(k);
            let ring: Vec<(f64, f64)> = run
                .contour(t, level, 400)
                .into_iter()
                .map(|p| (p[0], p[1]))
                .collect();
            for piece in clip(&ring, x, y) {
                chart.draw_series(LineSeries::new(
                    piece,
                    RGBColor(160, 160, 160).stroke_width(1),
                ))?;
            }
        }

        if shade {
            // Around each of the first points: the two quadrants a step may enter.
            let side = 0.22;
            for p in run.path.iter().take(4) {
                for (dx, dy) in [(side, side), (-side, -side)] {
                    chart.draw_series(std::iter::once(Rectangle::new(
                        [(p[0], p[1]), (p[0] + dx, p[1] + dy)],
                        PALETTE[2].mix(0.18).filled(),
                    )))?;
                }
            }
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(0.0, 0.0), (0.0, 0.0)],
                    PALETTE[2].mix(0.35).filled(),
                )))?
                .label("quadrants I and III around wₜ (where a step may go)")
                .legend(|(a, b)| {
                    Rectangle::new([(a, b - 6), (a + 16, b + 6)], PALETTE[2].mix(0.35).filled())
                });
        }

        chart
            .draw_series(DashedLineSeries::new(
                [(s[0], s[1]), (t[0], t[1])],
                6,
                4,
                BLACK.mix(0.6).stroke_width(1),
            ))?
            .label("the direct route")
            .legend(|(a, b)| PathElement::new(vec![(a, b), (a + 16, b)], BLACK.mix(0.6)));

        let colour = if shade { PALETTE[1] } else { PALETTE[0] };
        let points: Vec<(f64, f64)> = run.path.iter().map(|p| (p[0], p[1])).collect();
        for piece in clip(&points, x, y) {
            chart.draw_series(LineSeries::new(piece, colour.stroke_width(2)))?;
        }
        chart
            .draw_series(
                points
                    .iter()
                    .filter(|p| p.0 >= x.0 && p.0 <= x.1 && p.1 >= y.0 && p.1 <= y.1)
                    .map(|&p| Circle::new(p, 2, colour.filled())),
            )?
            .label(format!("SGD path, efficiency {:.2}", run.path_efficiency))
            .legend(move |(a, b)| {
                PathElement::new(vec![(a, b), (a + 16, b)], colour.stroke_width(2))
            });
        chart.draw_series([
            Circle::new((s[0], s[1]), 6, BLACK.filled()),
            Circle::new((t[0], t[1]), 7, PALETTE[4].filled()),
        ])?;
        chart.draw_series([
            Text::new("w₀", (s[0] + 0.05, s[1] + 0.08), ("sans-serif", 17)),
            Text::new("w*", (t[0] + 0.06, t[1] + 0.08), ("sans-serif", 17)),
        ])?;
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .label_font(("sans-serif", 14))
            .draw()?;
    }
    root.present()?;
    Ok(())
}
