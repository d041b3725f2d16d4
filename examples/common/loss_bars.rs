//! A figure two examples share (12 and 13): training curves of several
//! variants against a target loss beside grouped bars of shares per
//! variant.

use std::path::Path;

use plotters::prelude::*;

use super::{Key, PALETTE, Res, key_strip};

/// Okabe–Ito's seven and two of Tol's, so that nine curves differ.
const COLOURS: [RGBColor; 9] = [
    PALETTE[0],
    PALETTE[1],
    PALETTE[2],
    PALETTE[3],
    PALETTE[4],
    PALETTE[5],
    PALETTE[6],
    RGBColor(136, 34, 85),
    RGBColor(153, 153, 51),
];

/// The left panel's data: one training curve per variant.
pub struct Losses<'a> {
    /// The variants' names, the legend's and the bars' labels.
    pub names: Vec<String>,
    /// Each variant's loss per epoch.
    pub losses: Vec<Vec<f64>>,
    /// The target loss, drawn dashed.
    pub target: f64,
    /// The axes' descriptions.
    pub x_desc: &'a str,
    /// See `x_desc`.
    pub y_desc: &'a str,
}

/// The right panel's data: per variant, one bar per series, each a share.
pub struct Bars<'a> {
    /// The panel's title.
    pub title: &'a str,
    /// The share axis's description.
    pub x_desc: &'a str,
    /// The series' names (the bar legend), at most four.
    pub series: Vec<String>,
    /// `shares[variant][series]`, in `[0, 1]`.
    pub shares: Vec<Vec<f64>>,
}

/// Example 13's table row: variant, epochs to the target (`first` is the
/// index of the first epoch below it), test accuracy, and per conv layer
/// the per-position and per-example shares of one-signed filter rows (and
/// conv1's `κ(E[ppᵀ])`): `c = (per position, per example, κ)`.
pub fn cnn_row(
    name: &str,
    first: Option<usize>,
    acc: f64,
    c1: (f64, f64, f64),
    c2: (f64, f64, f64),
) -> Vec<String> {
    let epochs = first.map_or("never".to_owned(), |e| (e + 1).to_string());
    let p = |v: f64| format!("{:.1}%", 100.0 * v);
    vec![
        name.into(),
        epochs,
        p(acc),
        p(c1.0),
        p(c1.1),
        format!("{:.0}", c1.2),
        p(c2.0),
        p(c2.1),
    ]
}

/// Example 13's figure: cross-entropy per epoch of each variant, and the
/// shares of one-signed filter rows `[conv1 per position, conv1 per
/// example, conv2 per position, conv2 per example]` per variant.
pub fn draw_cnn(
    path: &Path,
    names: Vec<String>,
    losses: Vec<Vec<f64>>,
    target: f64,
    shares: Vec<Vec<f64>>,
) -> Res {
    let series = [
        "conv1 per position",
        "conv1 per example",
        "conv2 per position",
        "conv2 per example",
    ];
    draw(
        path,
        &Losses {
            names,
            losses,
            target,
            x_desc: "epoch, log scale",
            y_desc: "mean cross-entropy over the epoch, log scale",
        },
        &Bars {
            title: "one-signed filter rows, trained weights, 256 examples",
            x_desc: "share of filter rows (%)",
            series: series.map(String::from).to_vec(),
            shares,
        },
    )
}

/// Two panels: every variant's training loss per epoch (log–log) against
/// the target, titled with the first variant to reach it, and grouped
/// horizontal bars of shares per variant; the curves' legend below both.
pub fn draw(path: &Path, curves: &Losses<'_>, bars_data: &Bars<'_>) -> Res {
    let target = curves.target;
    let root = SVGBackend::new(path, (1280, 640)).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, key) = root.split_vertically(540);
    let (key, bar_key) = key.split_horizontally(700);
    let (left, right) = top.split_horizontally(700);
    let style = |i: usize| Key::Line(COLOURS[i % COLOURS.len()]);
    let reached = |l: &Vec<f64>| l.iter().position(|&l| l <= target);
    let fastest = (curves.losses.iter().zip(&curves.names))
        .filter_map(|(l, name)| reached(l).map(|e| (e + 1, name.as_str())))
        .min();
    let title = match fastest {
        Some((e, name)) => format!("training loss; first to {target}: {name} ({e})"),
        None => format!("training loss; none reached {target}"),
    };
    let last = curves.losses.iter().map(Vec::len).max().unwrap_or(1) as f64;
    let finite = curves
        .losses
        .iter()
        .flatten()
        .copied()
        .filter(|l| l.is_finite() && *l > 0.0);
    let (low, high) = finite.fold((target, target), |(lo, hi), l| (lo.min(l), hi.max(l)));
    let mut chart = ChartBuilder::on(&left)
        .caption(title, ("sans-serif", 17))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(64)
        .build_cartesian_2d(
            (1.0..last * 1.05).log_scale(),
            (low / 1.5..high * 1.5).log_scale(),
        )?;
    chart
        .configure_mesh()
        .light_line_style(WHITE)
        .x_desc(curves.x_desc)
        .y_desc(curves.y_desc)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| super::sig(*v, 1))
        .label_style(("sans-serif", 12))
        .axis_desc_style(("sans-serif", 14))
        .draw()?;
    let grey = RGBColor(110, 110, 110);
    chart.draw_series(DashedLineSeries::new(
        [(1.0, target), (last * 1.05, target)],
        6,
        4,
        grey.stroke_width(1),
    ))?;
    for (i, losses) in curves.losses.iter().enumerate() {
        let pts: Vec<(f64, f64)> = losses
            .iter()
            .enumerate()
            .map(|(e, &l)| ((e + 1) as f64, l))
            .collect();
        let colour = COLOURS[i % COLOURS.len()];
        chart.draw_series(LineSeries::new(pts, colour.stroke_width(2)))?;
    }

    let layers = bars_data.series.len();
    let rows = curves.names.len();
    let mut bars = ChartBuilder::on(&right)
        .caption(bars_data.title, ("sans-serif", 17))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(190)
        // Room right of 100 % for the values.
        .build_cartesian_2d(0.0..112.0, 0.0..rows as f64)?;
    // Variant i's group is centred at rows − i − ½, the first at the top.
    let name_at = |y: &f64| {
        let k = (rows as f64 - y - 0.5).round();
        let centred = (rows as f64 - y - 0.5 - k).abs() < 1e-9;
        match curves.names.get(k as usize) {
            Some(name) if centred && k >= 0.0 => name.clone(),
            _ => String::new(),
        }
    };
    bars.configure_mesh()
        .disable_y_mesh()
        .y_labels(2 * rows + 1)
        .y_label_formatter(&name_at)
        .light_line_style(WHITE)
        .x_label_formatter(&|v| {
            if *v <= 100.0 {
                format!("{v:.0}")
            } else {
                String::new()
            }
        })
        .x_desc(bars_data.x_desc)
        .label_style(("sans-serif", 12))
        .axis_desc_style(("sans-serif", 14))
        .draw()?;
    let h = 0.8 / layers.max(1) as f64;
    for l in 0..layers {
        let colour = [PALETTE[0], PALETTE[1], PALETTE[2], PALETTE[3]][l % 4];
        let rect = |i: usize, shares: &Vec<f64>| {
            let top = rows as f64 - i as f64 - 0.1 - h * l as f64;
            let share = 100.0 * shares[l];
            Rectangle::new(
                [(0.0, top - h + 0.02), (share.max(1.0), top)],
                colour.filled(),
            )
        };
        let groups = bars_data.shares.iter().enumerate();
        bars.draw_series(groups.clone().map(|(i, s)| rect(i, s)))?;
        let value = |i: usize, shares: &Vec<f64>| {
            let share = 100.0 * shares[l];
            let y = rows as f64 - i as f64 - 0.1 - h * l as f64 + 0.02;
            Text::new(
                format!("{share:.0}"),
                (share + 1.5, y),
                ("sans-serif", 10).into_font(),
            )
        };
        bars.draw_series(groups.map(|(i, s)| value(i, s)))?;
    }
    let entries: Vec<(String, Key)> = (curves.names.iter().enumerate())
        .map(|(i, name)| (name.clone(), style(i)))
        .chain([(format!("target loss {target}"), Key::Dashed(grey))])
        .collect();
    key_strip(&key, &entries, 3)?;
    let colours = [PALETTE[0], PALETTE[1], PALETTE[2], PALETTE[3]];
    let bar_entries: Vec<(String, Key)> = (bars_data.series.iter().zip(colours))
        .map(|(name, c)| (format!("bars: {name}"), Key::Block(c)))
        .collect();
    key_strip(&bar_key, &bar_entries, 2)?;
    root.present()?;
    Ok(())
}
