//! Example 04's printed tables and figure, read from a [`Comparison`].

use plotters::element::DashedPathElement;
use plotters::prelude::*;

use super::Coding;
use super::Hidden;
use super::comparison::{Comparison, Tally};
use crate::common::{PALETTE, Res, print_table};
use gradsign::data::Playground;

fn epochs(e: Option<usize>) -> String {
    e.map_or_else(|| "—".into(), |e| e.to_string())
}

/// Prints the four tables and the tallies of what they show.
pub fn print(c: &Comparison) {
    let config = &c.config;
    let t = &config.training;
    let sizes: Vec<String> = t.hidden_sizes.iter().map(|s| s.to_string()).collect();
    println!(
        "Network 2-{}-1, {:?} init, plain SGD, batch {}, {} epochs, {} points per set (half for testing), seeds {:?}.",
        sizes.join("-"),
        t.init,
        t.batch_size,
        t.epochs,
        t.samples,
        t.seeds
    );
    println!(
        "Cells: median epochs until the normalised training loss mean(f − y)²/Var(y) ≤ {} (— : not reached);",
        t.threshold
    );
    println!("accuracy is on the held-out half after the last epoch, mean over seeds.\n");

    let names: Vec<String> = config.datasets.iter().map(|d| format!("{d:?}")).collect();
    let mut headers = vec!["1. as in the playground (tanh output, ±1, η = 0.03)".to_string()];
    headers.extend(names.iter().cloned());
    let rows: Vec<Vec<String>> = [
        Hidden::Sigmoid,
        Hidden::CentredSigmoid,
        Hidden::Tanh,
        Hidden::Relu,
    ]
    .iter()
    .map(|&h| {
        let mut row = vec![h.formula().to_string()];
        for &d in &config.datasets {
            let cell = c.cell(d, h).expect("every unit ran");
            row.push(format!(
                "{} ep, {:.0}%",
                epochs(cell.median_epochs),
                100.0 * cell.mean_accuracy
            ));
        }
        row
    })
    .collect();
    print_table(
        &headers.iter().map(String::as_str).collect::<Vec<_>>(),
        &rows,
    );

    let layers = c
        .playground
        .first()
        .map_or(0, |cell| cell.mean_coherence.len());
    println!(
        "\nPer-layer share of one-signed per-example gradient rows after training (analyzer; mean over seeds and data sets):\n"
    );
    let mut headers = vec!["unit".to_string()];
    headers.extend((0..layers).map(|l| {
        if l == 0 {
            "layer 0 (the data)".to_string()
        } else {
            format!("layer {l}")
        }
    }));
    let rows: Vec<Vec<String>> = config
        .units
        .iter()
        .map(|&h| {
            let cells: Vec<_> = c
                .playground
                .iter()
                .filter(|cell| cell.hidden == h)
                .collect();
            let mut row = vec![h.formula().to_string()];
            for l in 0..layers {
                let mean = cells.iter().map(|cell| cell.mean_coherence[l]).sum::<f64>()
                    / cells.len() as f64;
                row.push(format!("{mean:.2}"));
            }
            row
        })
        .collect();
    print_table(
        &headers.iter().map(String::as_str).collect::<Vec<_>>(),
        &rows,
    );

    println!(
        "\n2. The causes one at a time (same setting): across a row only centring changes, down a column only the slope.\n"
    );
    let mut headers = vec!["slope at 0".to_string()];
    for n in &names {
        headers.push(format!("{n}: plain"));
        headers.push("centred".into());
    }
    let grid = [
        (
            "¼  σ(x) | σ(x) − ½",
            Hidden::Sigmoid,
            Hidden::CentredSigmoid,
        ),
        (
            "½  2σ(x) | tanh(x/2)",
            Hidden::TwiceSigmoid,
            Hidden::HalfTanh,
        ),
        ("1  1 + tanh x | tanh x", Hidden::ShiftedTanh, Hidden::Tanh),
    ];
    let rows: Vec<Vec<String>> = grid
        .iter()
        .map(|&(label, plain, centred)| {
            let mut row = vec![label.to_string()];
            for &d in &config.datasets {
                for h in [plain, centred] {
                    row.push(epochs(c.cell(d, h).expect("every unit ran").median_epochs));
                }
            }
            row
        })
        .collect();
    print_table(
        &headers.iter().map(String::as_str).collect::<Vec<_>>(),
        &rows,
    );

    let quick_sets: Vec<Playground> = config
        .datasets
        .iter()
        .copied()
        .filter(|&d| c.tuned.iter().any(|t| t.dataset == d))
        .collect();
    let rates: Vec<String> = config
        .learning_rates
        .iter()
        .map(|r| r.to_string())
        .collect();
    println!(
        "\n3. Each unit at its own best learning rate (of {}; seeds {:?}): epochs @ rate.\n",
        rates.join(", "),
        config.quick_seeds
    );
    let mut headers = vec!["unit".to_string()];
    headers.extend(quick_sets.iter().map(|d| format!("{d:?}")));
    let rows: Vec<Vec<String>> = config
        .tuned_units
        .iter()
        .map(|&h| {
            let mut row = vec![h.formula().to_string()];
            for &d in &quick_sets {
                let cell = c.tuned_cell(d, h).expect("every tuned unit ran");
                row.push(match (cell.best_epochs, cell.best_rate) {
                    (Some(e), Some(r)) => format!("{e} @ {r}"),
                    _ => "—".into(),
                });
            }
            row
        })
        .collect();
    print_table(
        &headers.iter().map(String::as_str).collect::<Vec<_>>(),
        &rows,
    );

    println!(
        "\n4. Label coding, linear output, η = 0.03 (0/1 and ±½ differ only by centring, ±½ and ±1 only by scale).\n"
    );
    let mut headers = vec!["unit, targets".to_string()];
    headers.extend(quick_sets.iter().map(|d| format!("{d:?}")));
    let mut rows = Vec::new();
    for &h in &config.coding_units {
        for coding in [Coding::ZeroOne, Coding::PlusMinusHalf, Coding::PlusMinusOne] {
            let mut row = vec![format!("{}, {}", h.formula(), coding.name())];
            for &d in &quick_sets {
                row.push(epochs(
                    c.coding_cell(d, h, coding)
                        .expect("every coding ran")
                        .median_epochs,
                ));
            }
            rows.push(row);
        }
    }
    print_table(
        &headers.iter().map(String::as_str).collect::<Vec<_>>(),
        &rows,
    );
    let skipped: Vec<String> = config
        .datasets
        .iter()
        .filter(|d| !quick_sets.contains(d))
        .map(|d| format!("{d:?}"))
        .collect();
    if !skipped.is_empty() {
        println!(
            "\n(Tables 3 and 4 skip {}: no unit reached the threshold there in table 1.)",
            skipped.join(", ")
        );
    }

    println!("\nWhat the numbers show (each line counts data-set comparisons of median epochs):");
    let say = |what: &str, t: Tally| {
        let ratio = t.mean_ratio().map_or_else(
            || "no pair where both reached".into(),
            |r| format!("epochs ×{r:.2} where both reached"),
        );
        println!(
            "  {what}: faster {}, slower {}, same {}, neither reached {} of {}; {ratio}",
            t.faster,
            t.slower,
            t.same,
            t.undecided,
            t.total()
        );
    };
    let mut tanh_vs_sigmoid = Tally::default();
    for &d in &config.datasets {
        if let (Some(s), Some(t)) = (c.cell(d, Hidden::Sigmoid), c.cell(d, Hidden::Tanh)) {
            tanh_vs_sigmoid.add(s.median_epochs, t.median_epochs);
        }
    }
    say("tanh instead of σ (table 1)", tanh_vs_sigmoid);
    say(
        "centring alone, same slope and η (table 2, across)",
        c.centring(),
    );
    say(
        "doubling the slope of a centred unit (table 2, down)",
        c.steeper(),
    );
    say(
        "centring alone, each at its best η (table 3)",
        c.centring_at_best_rate(),
    );
    say(
        "targets ±½ instead of 0/1: centring the labels (table 4)",
        c.recoding(Coding::ZeroOne, Coding::PlusMinusHalf),
    );
    say(
        "targets ±1 instead of ±½: scaling the labels (table 4)",
        c.recoding(Coding::PlusMinusHalf, Coding::PlusMinusOne),
    );
    println!(
        "A centred unit and its uncentred twin represent the same functions (the next bias absorbs the shift):\n\
         what differs is only how gradient descent moves through them. The inputs here are the playground's\n\
         raw coordinates, already centred, so one-signed inputs reach only the layers after a hidden layer."
    );
}

/// One panel per data set: the median normalised training loss per epoch.
pub fn draw(c: &Comparison, path: &std::path::Path) -> Res {
    let root = SVGBackend::new(path, (1100, 760)).into_drawing_area();
    root.fill(&WHITE)?;
    let (title, body) = root.split_vertically(40);
    title.titled(
        "Median normalised training loss per epoch (playground setting: tanh output, ±1 labels, η = 0.03)",
        ("sans-serif", 18),
    )?;
    let units = [
        (Hidden::Sigmoid, PALETTE[1], false),
        (Hidden::CentredSigmoid, PALETTE[3], false),
        (Hidden::ShiftedTanh, PALETTE[0], true),
        (Hidden::Tanh, PALETTE[0], false),
        (Hidden::Relu, PALETTE[2], false),
    ];
    let threshold = c.config.training.threshold;
    let epochs = c.config.training.epochs as f64;
    let panels = body.split_evenly((2, 2));
    let shown = c.config.datasets.len().min(panels.len());
    for (k, (area, &dataset)) in panels.iter().zip(&c.config.datasets).enumerate() {
        let mut chart = ChartBuilder::on(area)
            .caption(format!("{dataset:?}"), ("sans-serif", 17))
            .margin(10)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..epochs, (1e-4..2.0).log_scale())?;
        chart
            .configure_mesh()
            .light_line_style(WHITE.mix(0.0))
            .x_desc("epoch")
            .y_desc("loss / Var(y)")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .label_style(("sans-serif", 12))
            .axis_desc_style(("sans-serif", 14))
            .draw()?;
        chart
            .draw_series(DashedLineSeries::new(
                [(0.0, threshold), (epochs, threshold)],
                4,
                4,
                BLACK.mix(0.5).stroke_width(1),
            ))?
            .label(format!("threshold {threshold} (epochs counted to here)"))
            .legend(|(a, b)| {
                DashedPathElement::new(
                    vec![(a, b), (a + 22, b)],
                    4,
                    4,
                    BLACK.mix(0.5).stroke_width(1),
                )
            });
        for &(h, colour, dashed) in &units {
            let Some(cell) = c.cell(dataset, h) else {
                continue;
            };
            let points: Vec<(f64, f64)> = cell
                .median_curve
                .iter()
                .enumerate()
                .map(|(e, &l)| (e as f64, l.clamp(1e-4, 2.0)))
                .collect();
            let style = colour.stroke_width(2);
            if dashed {
                chart
                    .draw_series(DashedLineSeries::new(points, 7, 4, style))?
                    .label(h.formula())
                    .legend(move |(a, b)| {
                        DashedPathElement::new(
                            vec![(a, b), (a + 22, b)],
                            6,
                            3,
                            colour.stroke_width(2),
                        )
                    });
            } else {
                chart
                    .draw_series(LineSeries::new(points, style))?
                    .label(h.formula())
                    .legend(move |(a, b)| {
                        PathElement::new(vec![(a, b), (a + 22, b)], colour.stroke_width(2))
                    });
            }
        }
        // One legend, in the last panel's empty lower-left corner.
        if k + 1 == shown {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::LowerLeft)
                .background_style(WHITE.mix(0.9))
                .border_style(BLACK.mix(0.4))
                .label_font(("sans-serif", 14))
                .draw()?;
        }
    }
    root.present()?;
    Ok(())
}
