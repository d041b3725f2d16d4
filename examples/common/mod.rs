//! What the numbered examples share: where plots go, a plain-text table,
//! colours, and clipping of curves to a plot's box.
// Each example compiles this module on its own and uses part of it.
#![allow(dead_code)]

use std::path::PathBuf;

use plotters::style::RGBColor;

/// Errors of an example: the crate's or the plotting library's.
pub type Res<T = ()> = Result<T, Box<dyn std::error::Error>>;

/// `target/gradsign-plots/<file>` (under `CARGO_TARGET_DIR` when that is
/// set), creating the folder.
pub fn plot_path(file: &str) -> Res<PathBuf> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("gradsign-plots");
    std::fs::create_dir_all(&dir)?;
    Ok(dir.join(file))
}

/// Prints a table with columns padded to their widest cell: the first
/// column left-aligned, the others right-aligned.
pub fn print_table(headers: &[&str], rows: &[Vec<String>]) {
    let width = |c: usize| {
        rows.iter()
            .map(|r| r[c].chars().count())
            .chain([headers[c].chars().count()])
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..headers.len()).map(width).collect();
    let line = |cells: Vec<&str>| {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(c, (s, &w))| {
                let pad = w - s.chars().count();
                if c == 0 {
                    format!("{s}{}", " ".repeat(pad))
                } else {
                    format!("{}{s}", " ".repeat(pad))
                }
            })
            .collect();
        println!("  {}", parts.join("  "));
    };
    line(headers.to_vec());
    let rule: Vec<String> = widths.iter().map(|&w| "─".repeat(w)).collect();
    line(rule.iter().map(String::as_str).collect());
    for r in rows {
        line(r.iter().map(String::as_str).collect());
    }
}

/// A colour-blind-safe palette (Okabe–Ito).
pub const PALETTE: [RGBColor; 7] = [
    RGBColor(0, 114, 178),   // blue
    RGBColor(213, 94, 0),    // vermillion
    RGBColor(0, 158, 115),   // bluish green
    RGBColor(204, 121, 167), // reddish purple
    RGBColor(230, 159, 0),   // orange
    RGBColor(86, 180, 233),  // sky blue
    RGBColor(0, 0, 0),       // black
];

/// The pieces of a polyline that lie inside `[x0, x1] × [y0, y1]`: points
/// outside are dropped and the line is cut there, so a curve never spills
/// over the plot's frame.
pub fn clip(points: &[(f64, f64)], x: (f64, f64), y: (f64, f64)) -> Vec<Vec<(f64, f64)>> {
    let inside = |p: &(f64, f64)| p.0 >= x.0 && p.0 <= x.1 && p.1 >= y.0 && p.1 <= y.1;
    let mut pieces = vec![Vec::new()];
    for p in points {
        if inside(p) {
            pieces.last_mut().expect("never empty").push(*p);
        } else if !pieces.last().expect("never empty").is_empty() {
            pieces.push(Vec::new());
        }
    }
    pieces.retain(|p| p.len() > 1);
    pieces
}

/// Formats an optional step count: the number, or "—" with what happened.
pub fn steps_or(steps: Option<usize>, none: &str) -> String {
    steps.map_or_else(|| none.to_string(), |s| s.to_string())
}
