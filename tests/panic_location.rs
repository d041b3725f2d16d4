//! An operator's panic points at the caller's line, not at the crate's
//! source: `a + b` on shapes that do not broadcast reports this file and the
//! line of the `a + b`.
//!
//! Each test installs a panic hook that records where the panic was
//! reported, runs one expression under `catch_unwind`, and compares the
//! recorded location with `line!()` taken on the same line as the call.

use gradsign::{Tape, Tensor};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Mutex;

/// One panic at a time: the hook is process-wide.
static HOOK: Mutex<()> = Mutex::new(());

/// Runs `f`, which must panic, and returns the file, line and message the
/// panic reported.
fn panic_site(f: impl FnOnce()) -> (String, u32, String) {
    let _guard = HOOK.lock().unwrap_or_else(|e| e.into_inner());
    let seen: &'static Mutex<Option<(String, u32)>> = Box::leak(Box::new(Mutex::new(None)));
    let previous = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if let Some(loc) = info.location() {
            *seen.lock().unwrap() = Some((loc.file().to_owned(), loc.line()));
        }
    }));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    panic::set_hook(previous);
    let payload = result.expect_err("the expression did not panic");
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    let (file, line) = seen.lock().unwrap().take().expect("no location");
    (file, line, message)
}

/// The line of the invocation and what `panic_site` saw for `$e`.
macro_rules! site {
    ($e:expr) => {
        (
            line!(),
            panic_site(|| {
                let _ = $e;
            }),
        )
    };
}

fn vars<'t>(tape: &'t Tape<f64>) -> (gradsign::Var<'t, f64>, gradsign::Var<'t, f64>) {
    let a = tape.var(&Tensor::zeros(&[2, 3]).unwrap());
    let b = tape.var(&Tensor::zeros(&[4]).unwrap());
    (a, b)
}

#[test]
fn a_binary_operator_on_mismatched_shapes_reports_the_callers_line() {
    let tape = Tape::<f64>::new();
    let (a, b) = vars(&tape);
    let cases = [
        ("+", site!(a + b)),
        ("-", site!(a - b)),
        ("*", site!(a * b)),
        ("/", site!(a / b)),
    ];
    for (op, (expected, (file, line, message))) in cases {
        assert_eq!(file, file!(), "{op}: {message}");
        assert_eq!(line, expected, "{op}: {message}");
        assert!(message.contains("[2, 3] and [4]"), "{op}: {message}");
    }
}

#[test]
fn checked_mode_panics_of_unary_methods_and_sums_report_the_callers_line() {
    let mut tape = Tape::<f64>::new();
    tape.set_checked(true);
    let x = tape.var(&Tensor::from_vec(vec![1e300, 1e300], &[2]).unwrap());
    // Each element is finite; their sum is not.
    let y = tape.var(&Tensor::from_vec(vec![1e308, 1e308], &[2]).unwrap());
    let cases = [
        ("exp", site!(x.exp())),
        ("sum", site!(y.sum())),
        ("powi", site!(x.powi(3))),
        ("powf", site!(x.powf(3.0))),
        ("scalar *", site!(x * 1e300)),
        ("scalar +", site!(x + f64::INFINITY)),
        ("scalar lhs *", site!(1e300 * x)),
    ];
    for (name, (expected, (file, line, message))) in cases {
        assert_eq!(file, file!(), "{name}: {message}");
        assert_eq!(line, expected, "{name}: {message}");
        assert!(message.contains("non-finite"), "{name}: {message}");
    }
}

#[test]
fn the_operator_message_equals_the_try_twins_error() {
    let tape = Tape::<f64>::new();
    let (a, b) = vars(&tape);
    let (_, (_, _, message)) = site!(a + b);
    assert_eq!(message, a.try_add(b).unwrap_err().to_string());
}
