//! 01 — a first gradient, three ways.
//!
//! One sigmoid neuron `a = σ(w·x + b)` with the loss `½(a − y)²` on one
//! example whose inputs are outputs of sigmoid units (positive). Its
//! gradient by hand (the chain rule written out), by the tape, and by
//! central differences, side by side; then the crate's `gradcheck` on the
//! same function. Every weight's derivative is `δ·xᵢ`: with every `xᵢ > 0`
//! they all share the sign of `δ`.
//!
//! ```sh
//! cargo run --release --example 01_first_gradient
//! ```
//!
//! The computation is `gradsign_studies::first_gradient`.

mod common;

use common::{PALETTE, Res, plot_path, print_table};
use gradsign_studies::first_gradient::{FirstGradient, Neuron, first_gradient};
use plotters::prelude::*;

fn main() -> Res {
    let neuron = Neuron::default();
    let r = first_gradient(&neuron, 1.5, 121)?;
    let x: Vec<String> = neuron.inputs.iter().map(|v| format!("{v:.3}")).collect();
    println!(
        "x = ({}) (outputs of sigmoid units: all positive)",
        x.join(", ")
    );
    println!(
        "w = {:?}, b = {}, y = {}",
        neuron.weights, neuron.bias, neuron.target
    );
    println!(
        "z = w·x + b = {:.4}, a = σ(z) = {:.4}, L = ½(a − y)² = {:.5}",
        r.pre_activation, r.output, r.loss
    );
    println!("δ = ∂L/∂z = (a − y)·a·(1 − a) = {:.6}\n", r.delta);
    let rows: Vec<Vec<String>> = r
        .rows
        .iter()
        .map(|g| {
            let hand = if g.name == "b" {
                "δ".to_string()
            } else {
                format!("δ·x{}", &g.name[1..])
            };
            vec![
                g.name.clone(),
                hand,
                format!("{:+.9}", g.by_hand),
                format!("{:+.9}", g.by_tape),
                format!("{:+.9}", g.by_differences),
                format!("{:.1e}", (g.by_tape - g.by_differences).abs()),
            ]
        })
        .collect();
    print_table(
        &[
            "θ",
            "by hand",
            "value",
            "tape",
            "central difference",
            "|tape − difference|",
        ],
        &rows,
    );
    println!("\n{}", r.gradcheck);
    println!(
        "every ∂L/∂wᵢ has the sign of δ: {}",
        if r.weight_gradient_is_one_signed() {
            "yes"
        } else {
            "no"
        }
    );
    println!("so one plain SGD step on this example moves every weight the same way.");

    let path = plot_path("01_first_gradient.svg")?;
    draw(&r, &path)?;
    println!("\nplot: {}", path.display());
    Ok(())
}

/// The loss along each parameter, with the tangent the tape's derivative
/// predicts.
fn draw(r: &FirstGradient, path: &std::path::Path) -> Res {
    let root = SVGBackend::new(path, (820, 520)).into_drawing_area();
    root.fill(&WHITE)?;
    let lo = r
        .slices
        .iter()
        .flat_map(|s| s.curve.iter().map(|p| p.1))
        .fold(f64::INFINITY, f64::min);
    let hi = r
        .slices
        .iter()
        .flat_map(|s| s.curve.iter().map(|p| p.1))
        .fold(f64::NEG_INFINITY, f64::max);
    let span = r.slices[0].curve.last().map_or(1.0, |p| p.0);
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "L(θ + t·eᵢ) along each parameter, and the tangent of slope ∂L/∂θᵢ from the tape",
            ("sans-serif", 17),
        )
        .margin(14)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(-span..span, (lo - 0.02)..(hi + 0.02))?;
    chart
        .configure_mesh()
        .light_line_style(WHITE.mix(0.0))
        .x_desc("t (change of one parameter)")
        .y_desc("loss")
        .axis_desc_style(("sans-serif", 15))
        .label_style(("sans-serif", 13))
        .draw()?;
    for (i, s) in r.slices.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        chart
            .draw_series(LineSeries::new(s.curve.clone(), colour.stroke_width(2)))?
            .label(format!("{}: ∂L/∂{} = {:+.4}", s.name, s.name, s.slope))
            .legend(move |(a, b)| {
                PathElement::new(vec![(a, b), (a + 16, b)], colour.stroke_width(2))
            });
        // The tangent over the middle half, where it is a good guide.
        let t = span / 2.0;
        chart.draw_series(DashedLineSeries::new(
            [(-t, s.value - t * s.slope), (t, s.value + t * s.slope)],
            6,
            4,
            colour.stroke_width(2),
        ))?;
    }
    chart.draw_series(std::iter::once(Circle::new(
        (0.0, r.loss),
        4,
        BLACK.filled(),
    )))?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font(("sans-serif", 14))
        .draw()?;
    root.present()?;
    Ok(())
}
