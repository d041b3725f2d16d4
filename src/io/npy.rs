//! NumPy `.npy` files, read and written with the `npyz` crate.

use std::path::Path;

use npyz::{DType, Order, TypeChar, WriterBuilder};

use super::file::{FileBytes, checked_numel, convert, overflow, try_vec};
use crate::element::Element;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

const OP_READ: &str = "read_npy";
const OP_WRITE: &str = "write_npy";
/// The longest header read: NumPy writes about 128 bytes for a float array
/// of rank ≤ 4 (the crate's limit).
const MAX_HEADER: usize = 64 * 1024;
/// The deepest bracket nesting read (`{'shape': (…)}` is 2).
const MAX_NESTING: usize = 4;

/// Reads a `.npy` file of `f32` or `f64` values (either byte order) into a
/// `Tensor<F>`, converting the values to `F`.
///
/// A C-order array is read as stored; a Fortran-order array is transposed
/// into the crate's row-major layout, so `a[i, j]` means the same element
/// either way. Values are returned as stored, NaN and ±∞ included (the
/// capture loader, [`Capture::load`](super::Capture::load), refuses them).
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("gradsign-doc-npy-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// use gradsign::io::{read_npy, write_npy};
/// use gradsign::Tensor;
/// let path = dir.join("a.npy");
/// let a = Tensor::<f32>::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?;
/// write_npy(&path, &a)?;
/// assert_eq!(read_npy::<f32>(&path)?, a);
/// assert_eq!(read_npy::<f64>(&path)?.dims(), &[2, 3]);
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`Error::Io`] (op `read_npy`) naming the file when it cannot be read;
/// [`Error::Format`] naming it when it is not a `.npy` file, has a header
/// longer than 64 KiB or nested more than 4 brackets deep (no float array's
/// header is), a declared shape that overflows or needs more bytes than the
/// file holds (truncated data), a shape the crate's
/// tensors cannot hold (rank above 4, an extent beyond the crate's limit),
/// a dtype other than `f4`/`f8` (`f2` half floats are refused: convert with
/// `.astype(np.float32)`), or a finite `f64` value that overflows `f32`
/// when `F = f32`; [`Error::TooLarge`] for data that cannot be allocated.
pub fn read_npy<F: Element>(path: impl AsRef<Path>) -> Result<Tensor<F>> {
    let path = path.as_ref();
    let file = FileBytes::open(path, OP_READ)?;
    npy_from_bytes(file.bytes(), &path.display().to_string())
}

/// [`read_npy`] on bytes already in memory; `name` stands for the file in
/// error messages.
///
/// # Errors
/// As [`read_npy`].
pub fn npy_from_bytes<F: Element>(bytes: &[u8], name: &str) -> Result<Tensor<F>> {
    let fail = |message: String| Error::format(OP_READ, format!("{name}: {message}"));
    let (header_start, header_end) = preamble(bytes).map_err(fail)?;
    // npyz multiplies the declared dimensions without overflow checks, so a
    // hostile shape is refused before it sees the header.
    let header = &bytes[header_start..header_end];
    // npyz parses the header's Python literal with a backtracking parser
    // that takes exponential time on deep nesting (found by fuzzing: 42
    // nested '[' hang it). A float array's header is a dict holding a
    // string and a tuple: two levels, a few hundred bytes.
    if header.len() > MAX_HEADER {
        return Err(fail(format!(
            "the header declares {} bytes; a float array's header needs far fewer (at most {MAX_HEADER} are read)",
            header.len()
        )));
    }
    let depth = nesting(header);
    if depth > MAX_NESTING {
        return Err(fail(format!(
            "the header nests brackets {depth} deep; a float array's header nests at most {MAX_NESTING}"
        )));
    }
    for dims in declared_shapes(header) {
        if checked_numel(&dims).is_none() {
            return Err(fail(format!(
                "the header declares shape {dims:?}, whose element count overflows"
            )));
        }
    }
    // Should a header slip past the guard, npyz's overflow panic (debug
    // builds only; release builds wrap, and the count is checked again
    // below) is contained here rather than unwinding through the caller.
    let npy = std::panic::catch_unwind(|| npyz::NpyFile::new(bytes))
        .map_err(|_| fail("the header's shape overflows".to_string()))?
        .map_err(|e| fail(format!("not a valid .npy file: {e}")))?;
    let dims: Vec<usize> = npy
        .shape()
        .iter()
        .map(|&d| usize::try_from(d))
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| fail(format!("shape {:?} does not fit in memory", npy.shape())))?;
    let numel = checked_numel(npy.shape())
        .ok_or_else(|| fail(format!("shape {dims:?}: the element count overflows")))?;
    let width = match npy.dtype() {
        DType::Plain(t) if t.type_char() == TypeChar::Float && matches!(t.size_field(), 4 | 8) => {
            t.size_field() as usize
        }
        other => {
            return Err(Error::Format {
                op: OP_READ,
                what: format!(
                    "{name}: dtype {} is neither f32 (<f4) nor f64 (<f8); convert it with .astype(np.float32) before saving",
                    other.descr()
                ),
            });
        }
    };
    let available = bytes.len() - header_end;
    let needed = numel.checked_mul(width);
    if needed.is_none_or(|n| n > available) {
        return Err(fail(format!(
            "truncated data: shape {dims:?} of {width}-byte floats needs {} bytes, the file has {available} after its header",
            needed.map_or_else(|| "more than usize::MAX".to_string(), |n| n.to_string())
        )));
    }
    let order = npy.order();
    let mut data = try_vec::<F>(numel, OP_READ, name)?;
    let read_err = |e: std::io::Error| fail(format!("reading the data: {e}"));
    if width == 4 {
        for (i, x) in npy
            .data::<f32>()
            .map_err(|e| fail(e.to_string()))?
            .enumerate()
        {
            let x = f64::from(x.map_err(read_err)?);
            data.push(convert(x).ok_or_else(|| overflow::<F>(OP_READ, name, i, x))?);
        }
    } else {
        for (i, x) in npy
            .data::<f64>()
            .map_err(|e| fail(e.to_string()))?
            .enumerate()
        {
            let x = x.map_err(read_err)?;
            data.push(convert(x).ok_or_else(|| overflow::<F>(OP_READ, name, i, x))?);
        }
    }
    if order == Order::Fortran && dims.len() > 1 {
        data = fortran_to_c(&data, &dims, name)?;
    }
    Tensor::from_vec(data, &dims).map_err(|e| {
        Error::format(
            OP_READ,
            format!("{name}: shape {dims:?} is not a tensor the crate can hold: {e}"),
        )
    })
}

/// Checks the magic string and that the header's declared length fits in
/// the file; returns where the header ends. (npyz allocates the header's
/// declared length before reading it: up to 4 GiB for format 2.)
fn preamble(bytes: &[u8]) -> std::result::Result<(usize, usize), String> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(format!(
            "not a .npy file: {} bytes without the \\x93NUMPY magic string",
            bytes.len()
        ));
    }
    let (len, start) = match bytes[6] {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(format!("unsupported or truncated .npy format version {v}")),
    };
    let end = start + len;
    if end > bytes.len() {
        return Err(format!(
            "truncated header: it declares {len} bytes, the file has {}",
            bytes.len() - start
        ));
    }
    Ok((start, end))
}

/// The deepest nesting of `(`, `[` and `{` in the header text.
fn nesting(header: &[u8]) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    for &b in header {
        match b {
            b'(' | b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Every `shape` tuple in the header, when its integers can be read
/// (either quote style, every occurrence: the guard must see whatever npyz
/// may read); `None` leaves the verdict to npyz.
fn declared_shapes(header: &[u8]) -> Vec<Vec<u64>> {
    let Ok(text) = std::str::from_utf8(header) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for key in ["'shape'", "\"shape\""] {
        for (at, _) in text.match_indices(key) {
            if let Some(dims) = tuple_after(&text[at + key.len()..]) {
                out.push(dims);
            }
        }
    }
    out
}

fn tuple_after(rest: &str) -> Option<Vec<u64>> {
    let rest = rest.trim_start().strip_prefix(':')?.trim_start();
    let rest = rest.strip_prefix('(').or_else(|| rest.strip_prefix('['))?;
    let tuple = &rest[..rest.find([')', ']'])?];
    tuple
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches('L').parse().ok())
        .collect()
}

/// Fortran order stores `a[i0, …, in]` at `i0 + d0·(i1 + d1·(…))`: walk the
/// row-major positions and pick each element from there.
fn fortran_to_c<F: Element>(data: &[F], dims: &[usize], name: &str) -> Result<Vec<F>> {
    let mut strides = vec![1usize; dims.len()];
    for k in 1..dims.len() {
        strides[k] = strides[k - 1] * dims[k - 1];
    }
    let mut out = try_vec::<F>(data.len(), OP_READ, name)?;
    let mut index = vec![0usize; dims.len()];
    for _ in 0..data.len() {
        let src: usize = index.iter().zip(&strides).map(|(i, s)| i * s).sum();
        out.push(data[src]);
        for k in (0..dims.len()).rev() {
            index[k] += 1;
            if index[k] < dims[k] {
                break;
            }
            index[k] = 0;
        }
    }
    Ok(out)
}

/// Writes a tensor as a C-order little-endian `.npy` file: `<f4` for an
/// `f32` tensor, `<f8` otherwise.
///
/// # Errors
/// [`Error::Io`] (op `write_npy`) naming the file when it cannot be written.
pub fn write_npy<F: Element>(path: impl AsRef<Path>, tensor: &Tensor<F>) -> Result<()> {
    let path = path.as_ref();
    let fail = |e: std::io::Error| Error::Io {
        op: OP_WRITE,
        message: format!("{}: {e}", path.display()),
    };
    let shape: Vec<u64> = tensor.dims().iter().map(|&d| d as u64).collect();
    let file = std::io::BufWriter::new(std::fs::File::create(path).map_err(fail)?);
    if F::NAME == "f32" {
        let mut w = npyz::WriteOptions::<f32>::new()
            .default_dtype()
            .shape(&shape)
            .writer(file)
            .begin_nd()
            .map_err(fail)?;
        w.extend(tensor.as_slice().iter().map(|x| Element::to_f64(*x) as f32))
            .map_err(fail)?;
        w.finish().map_err(fail)?;
    } else {
        let mut w = npyz::WriteOptions::<f64>::new()
            .default_dtype()
            .shape(&shape)
            .writer(file)
            .begin_nd()
            .map_err(fail)?;
        w.extend(tensor.as_slice().iter().map(|x| Element::to_f64(*x)))
            .map_err(fail)?;
        w.finish().map_err(fail)?;
    }
    Ok(())
}
