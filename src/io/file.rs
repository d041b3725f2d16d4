//! The one memory map of the crate, and the conversions every reader shares.

use std::path::Path;

use crate::element::Element;
use crate::error::{Error, Result};

/// A read-only view of a whole file: a memory map, or nothing for an empty
/// file (mapping zero bytes is an error on some systems).
pub(crate) struct FileBytes {
    map: Option<memmap2::Mmap>,
    owned: Vec<u8>,
}

impl FileBytes {
    /// Maps `path` read-only.
    ///
    /// # Errors
    /// [`Error::Io`] naming `op` and the path when the file cannot be opened
    /// or mapped.
    pub(crate) fn open(path: &Path, op: &'static str) -> Result<Self> {
        let io_err = |e: std::io::Error| Error::Io {
            op,
            message: format!("{}: {e}", path.display()),
        };
        let file = std::fs::File::open(path).map_err(io_err)?;
        let len = file.metadata().map_err(io_err)?.len();
        if len == 0 {
            return Ok(Self::from_vec(Vec::new()));
        }
        // SAFETY: a map is only sound while no one truncates or rewrites the
        // file: the bytes behind the slice would change (or the pages vanish,
        // raising SIGBUS) under a `&[u8]` that Rust assumes immutable. The
        // crate cannot enforce that; it is the documented contract of every
        // reader in `crate::io` (see the module docs, "Memory maps"): a
        // capture is written once and then only read. Everything read from
        // the map is copied out before the reader returns, so the window is
        // the duration of one call.
        #[allow(unsafe_code)]
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io_err)?;
        Ok(Self {
            map: Some(map),
            owned: Vec::new(),
        })
    }

    /// Bytes already in memory (tests, fuzzing).
    pub(crate) fn from_vec(owned: Vec<u8>) -> Self {
        Self { map: None, owned }
    }

    /// The file's bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        self.map.as_deref().unwrap_or(&self.owned)
    }
}

/// A `Vec` of `n` elements, reserved fallibly (the caller has already bounded
/// `n` by the bytes the file holds).
pub(crate) fn try_vec<F>(n: usize, op: &'static str, what: &str) -> Result<Vec<F>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|e| Error::TooLarge {
        op,
        what: format!("{what}: {n} values"),
        reason: e.to_string(),
    })?;
    Ok(v)
}

/// Converts a stored value to `F`, refusing a finite value that `F` cannot
/// hold (an f64 beyond f32's range would silently become ±∞).
#[inline]
pub(crate) fn convert<F: Element>(x: f64) -> Option<F> {
    let y = F::from_f64(x);
    if x.is_finite() && !y.is_finite() {
        None
    } else {
        Some(y)
    }
}

/// The error for a finite stored value that overflows `F`.
pub(crate) fn overflow<F: Element>(op: &'static str, what: &str, index: usize, x: f64) -> Error {
    Error::format(
        op,
        format!(
            "{what}: element {index} = {x:e} is finite but not representable in {}",
            F::NAME
        ),
    )
}

/// Stored little-endian bytes of `f32`/`f64` values to a `Vec<F>`.
pub(crate) fn decode_le<F: Element>(
    bytes: &[u8],
    width: usize,
    op: &'static str,
    what: &str,
) -> Result<Vec<F>> {
    let n = bytes.len() / width;
    let mut out = try_vec::<F>(n, op, what)?;
    if width == 4 {
        // Every f32 fits in f32 and f64: no range check, and one plain loop
        // the compiler vectorises.
        out.extend(
            bytes
                .chunks_exact(4)
                .map(|c| F::from_f64(f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))),
        );
    } else {
        for (i, c) in bytes.chunks_exact(8).enumerate() {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            let x = f64::from_le_bytes(b);
            out.push(convert(x).ok_or_else(|| overflow::<F>(op, what, i, x))?);
        }
    }
    Ok(out)
}

/// The product of `dims`, or `None` if it (or any partial product of the
/// non-zero dimensions) overflows `usize`.
pub(crate) fn checked_numel(dims: &[u64]) -> Option<usize> {
    let mut nonzero: usize = 1;
    let mut any_zero = false;
    for &d in dims {
        if d == 0 {
            any_zero = true;
        } else {
            nonzero = nonzero.checked_mul(usize::try_from(d).ok()?)?;
        }
    }
    Some(if any_zero { 0 } else { nonzero })
}
