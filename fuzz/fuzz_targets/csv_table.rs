//! The CSV loader on arbitrary text: an `Err` naming a line and column, or
//! a table of finite numbers whose shape matches its names and lines.
#![no_main]

use gradsign::data::Table;
use gradsign::{Element, Error};
use libfuzzer_sys::fuzz_target;

fn check<F: Element>(text: &str, header: bool, label_column: usize) {
    match Table::<F>::parse(text, "fuzz.csv", header) {
        Ok(t) => {
            let dims = t.data().dims().to_vec();
            assert_eq!(dims.len(), 2);
            assert!(dims[0] > 0, "a table has at least one row");
            assert_eq!(dims[1], t.names().len());
            assert_eq!(t.lines().len(), dims[0]);
            assert!(t.lines().windows(2).all(|w| w[0] < w[1]));
            assert!(
                t.data().as_slice().iter().all(|x| x.is_finite()),
                "only finite numbers are accepted"
            );
            // Bounded memory: never more values than the text has bytes.
            assert!(t.data().numel() <= text.len());
            if let Ok(d) = t.into_dataset(label_column) {
                assert_eq!(d.len(), dims[0]);
                assert_eq!(d.width(), dims[1] - 1);
            }
        }
        Err(Error::Parse { line, column, .. }) => {
            assert!(line >= 1 && line <= text.lines().count().max(1));
            assert!(column >= 1);
        }
        Err(Error::Empty { .. }) => {}
        Err(e) => panic!("unexpected error kind: {e}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let header = flags & 1 == 1;
    let label_column = usize::from(flags >> 2);
    if flags & 2 == 0 {
        check::<f64>(text, header, label_column);
    } else {
        check::<f32>(text, header, label_column);
    }
});
