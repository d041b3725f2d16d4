//! Presentation: the `Display` of every report, apart from the code that
//! computes it, and the number formatting they share.

mod diagnosis;
pub(crate) mod report;
mod tracker;

/// Every number the reports and the diagnosis print (condition numbers,
/// eigenvalues, means, cosines, tolerances), in one format: four
/// significant digits, in plain decimals for magnitudes in `[10⁻³, 10⁴)` and
/// in scientific notation outside (so `16842.48` and `604 012` read
/// `1.684e4` and `6.040e5`, never side by side in two styles); `0`, `∞`,
/// `-∞` and `NaN` as such. Shares are printed as percentages instead.
///
/// ```
/// use gradsign::analysis::format_number;
/// assert_eq!(format_number(16842.4832), "1.684e4");
/// assert_eq!(format_number(604_012.0), "6.040e5");
/// assert_eq!(format_number(57.2791), "57.28");
/// assert_eq!(format_number(0.123456), "0.1235");
/// assert_eq!(format_number(1234.6), "1235");
/// assert_eq!(format_number(-2.5e-7), "-2.500e-7");
/// assert_eq!(format_number(0.99996), "1.000");
/// assert_eq!(format_number(9999.7), "1.000e4");
/// assert_eq!(format_number(0.0), "0");
/// assert_eq!(format_number(f64::INFINITY), "∞");
/// ```
pub fn format_number(x: f64) -> String {
    if x.is_nan() {
        return "NaN".to_string();
    }
    if x.is_infinite() {
        return if x > 0.0 { "∞" } else { "-∞" }.to_string();
    }
    if x == 0.0 {
        return "0".to_string();
    }
    let scientific = || format!("{x:.3e}");
    if !(1e-3..1e4).contains(&x.abs()) {
        return scientific();
    }
    // Digits after the point for four significant ones; rounding may carry
    // into a fifth digit (9999.7), which the scientific form then shows.
    let magnitude = x.abs().log10().floor() as i32;
    let decimals = (3 - magnitude).max(0) as usize;
    let text = format!("{x:.decimals$}");
    let digits = text.chars().filter(char::is_ascii_digit).count();
    let leading_zeros = text
        .chars()
        .filter(|c| *c != '-' && *c != '.')
        .take_while(|c| *c == '0')
        .count();
    match (digits - leading_zeros > 4, decimals) {
        (false, _) => text,
        (true, 0) => scientific(),
        (true, d) => format!("{x:.prec$}", prec = d - 1),
    }
}

pub(crate) use format_number as number;

/// At most this many indices are listed; the rest are counted.
const LISTED: usize = 16;

/// `0, 3, 7` (and `… and N more` past [`LISTED`]).
pub(crate) fn index_list(columns: &[usize]) -> String {
    let shown: Vec<String> = columns.iter().take(LISTED).map(usize::to_string).collect();
    let mut text = shown.join(", ");
    if columns.len() > LISTED {
        text.push_str(&format!(" … and {} more", columns.len() - LISTED));
    }
    text
}

pub(crate) fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

pub(crate) fn opt(x: Option<f64>) -> String {
    x.map_or_else(|| "-".to_string(), number)
}
