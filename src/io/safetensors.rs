//! safetensors files, read through a memory map with the `safetensors`
//! crate, which validates the header (its size, the JSON, every tensor's
//! byte range: in bounds, contiguous, non-overlapping, the size its shape
//! and dtype need) before any tensor is touched.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

use safetensors::tensor::{Dtype, Metadata, View};

use super::file::{FileBytes, decode_le};
use crate::element::Element;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

const OP_READ: &str = "read_safetensors";
const OP_WRITE: &str = "write_safetensors";

/// An open safetensors file: the map and its validated header. Tensors are
/// copied out, converted to the element type asked for, by
/// [`tensor`](Self::tensor).
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("gradsign-doc-st-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// use gradsign::io::{SafetensorsFile, write_safetensors};
/// use gradsign::Tensor;
/// let path = dir.join("t.safetensors");
/// let a = Tensor::<f32>::from_vec(vec![0.5, 1.5, 2.5], &[1, 3])?;
/// write_safetensors(&path, &[("a", &a)], &[])?;
/// let file = SafetensorsFile::open(&path)?;
/// assert_eq!(file.names(), ["a"]);
/// assert_eq!(file.tensor::<f32>("a")?, a);
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SafetensorsFile {
    name: String,
    bytes: FileBytes,
    data_start: usize,
    metadata: Metadata,
    names: Vec<String>,
}

impl std::fmt::Debug for SafetensorsFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SafetensorsFile")
            .field("name", &self.name)
            .field("tensors", &self.names)
            .finish()
    }
}

impl SafetensorsFile {
    /// Maps the file read-only and validates its header. The file must not
    /// be modified while the returned value lives (see the module docs,
    /// "Memory maps").
    ///
    /// # Errors
    /// [`Error::Io`] (op `read_safetensors`) naming the file when it cannot
    /// be opened or mapped; [`Error::Format`] naming it when its header is
    /// invalid: shorter than 8 bytes,
    /// a declared length past the end of the file or above 100 MB, invalid
    /// JSON, a tensor whose byte range lies past the end, overlaps another,
    /// leaves a gap, or does not match its shape and dtype (a huge declared
    /// shape is caught here, before anything is allocated for it), or a
    /// tensor name that appears twice.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = FileBytes::open(path, OP_READ)?;
        Self::from_file_bytes(bytes, path.display().to_string())
    }

    pub(crate) fn from_file_bytes(bytes: FileBytes, name: String) -> Result<Self> {
        let fail = |message: String| Error::format(OP_READ, format!("{name}: {message}"));
        let (n, metadata) = safetensors::SafeTensors::read_metadata(bytes.bytes())
            .map_err(|e| fail(format!("invalid safetensors header: {e}")))?;
        // The crate keeps the last of two equal keys; a capture must not
        // silently lose a tensor, so the (validated, ≤ 100 MB) header is
        // read once more for duplicates.
        if let Some(dup) = duplicate_key(&bytes.bytes()[8..8 + n]) {
            return Err(fail(format!("tensor '{dup}' appears twice in the header")));
        }
        let names = metadata.offset_keys();
        Ok(Self {
            data_start: 8 + n,
            bytes,
            metadata,
            names,
            name,
        })
    }

    /// [`open`](Self::open) on bytes already in memory (copied); `name` stands
    /// for the file in error messages.
    ///
    /// # Errors
    /// As [`open`](Self::open).
    pub fn from_bytes(bytes: &[u8], name: &str) -> Result<Self> {
        Self::from_file_bytes(FileBytes::from_vec(bytes.to_vec()), name.to_string())
    }

    /// The file's name as given to [`open`](Self::open).
    pub fn file_name(&self) -> &str {
        &self.name
    }

    /// The tensors' names, in the order of their data in the file.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The header's free-form `__metadata__` entry, if any.
    pub fn metadata(&self) -> Option<&HashMap<String, String>> {
        self.metadata.metadata().as_ref()
    }

    /// The declared shape of a tensor.
    pub fn shape(&self, tensor: &str) -> Option<&[usize]> {
        self.metadata.info(tensor).map(|i| i.shape.as_slice())
    }

    /// Copies one tensor out as a `Tensor<F>`. Values are returned as stored,
    /// NaN included.
    ///
    /// # Errors
    /// [`Error::Format`] (op `read_safetensors`) naming the file and
    /// the tensor when there is no tensor of that name, its shape is one the
    /// crate's tensors cannot hold (rank above 4), its dtype is neither
    /// F32 nor F64 (F16 and BF16 are refused: save with `.float()`), or a
    /// finite F64 value overflows `f32` when `F = f32`.
    pub fn tensor<F: Element>(&self, tensor: &str) -> Result<Tensor<F>> {
        let what = format!("{}: tensor '{tensor}'", self.name);
        let info = self.metadata.info(tensor).ok_or_else(|| {
            Error::format(
                OP_READ,
                format!("{}: no tensor named '{tensor}'", self.name),
            )
        })?;
        let width = match info.dtype {
            Dtype::F32 => 4,
            Dtype::F64 => 8,
            other => {
                return Err(Error::Format {
                    op: OP_READ,
                    what: format!(
                        "{what}: dtype {other:?} is neither F32 nor F64; save it with tensor.float() (F16/BF16 are not converted)"
                    ),
                });
            }
        };
        let (s, e) = info.data_offsets;
        // In bounds: read_metadata checked the ranges against the file.
        let raw = &self.bytes.bytes()[self.data_start + s..self.data_start + e];
        let data = decode_le::<F>(raw, width, OP_READ, &what)?;
        Tensor::from_vec(data, &info.shape).map_err(|e| {
            Error::format(
                OP_READ,
                format!(
                    "{what}: shape {:?} is not a tensor the crate can hold: {e}",
                    info.shape
                ),
            )
        })
    }
}

/// The first top-level key of a JSON object that appears twice, using
/// serde_json's parser with a visitor that only records the keys.
fn duplicate_key(header: &[u8]) -> Option<String> {
    use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
    struct Keys;
    impl<'de> Visitor<'de> for Keys {
        type Value = Option<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(
            self,
            mut map: A,
        ) -> std::result::Result<Self::Value, A::Error> {
            let mut seen = std::collections::HashSet::new();
            let mut dup = None;
            while let Some(k) = map.next_key::<String>()? {
                map.next_value::<IgnoredAny>()?;
                if dup.is_none() && !seen.insert(k.clone()) {
                    dup = Some(k);
                }
            }
            Ok(dup)
        }
    }
    let mut de = serde_json::Deserializer::from_slice(header);
    de.deserialize_map(Keys).ok().flatten()
}

/// A tensor borrowed for writing, with its bytes in little-endian order.
struct Stored {
    dtype: Dtype,
    shape: Vec<usize>,
    data: Vec<u8>,
}

impl View for &Stored {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.data)
    }
    fn data_len(&self) -> usize {
        self.data.len()
    }
}

fn stored<F: Element>(t: &Tensor<F>) -> Stored {
    let f32s = F::NAME == "f32";
    let mut data = Vec::with_capacity(t.numel() * if f32s { 4 } else { 8 });
    for x in t.as_slice() {
        if f32s {
            data.extend_from_slice(&(Element::to_f64(*x) as f32).to_le_bytes());
        } else {
            data.extend_from_slice(&Element::to_f64(*x).to_le_bytes());
        }
    }
    Stored {
        dtype: if f32s { Dtype::F32 } else { Dtype::F64 },
        shape: t.dims().to_vec(),
        data,
    }
}

/// Writes named tensors (F32 for `f32` tensors, F64 otherwise) and the
/// free-form `metadata` pairs as a safetensors file.
///
/// # Errors
/// [`Error::OutOfDomain`] (op `write_safetensors`) for a name given
/// twice or the reserved name `__metadata__`; [`Error::Io`] naming the file
/// when it cannot be written.
pub fn write_safetensors<F: Element>(
    path: impl AsRef<Path>,
    tensors: &[(&str, &Tensor<F>)],
    metadata: &[(&str, &str)],
) -> Result<()> {
    let path = path.as_ref();
    let mut seen = std::collections::HashSet::new();
    for (name, _) in tensors {
        if *name == "__metadata__" || !seen.insert(*name) {
            return Err(Error::out_of_domain(
                OP_WRITE,
                format!("{}: a tensor name", path.display()),
                "neither reserved nor given twice",
                format_args!("'{name}'"),
            ));
        }
    }
    let owned: Vec<(String, Stored)> = tensors
        .iter()
        .map(|(n, t)| ((*n).to_string(), stored(t)))
        .collect();
    let views = owned.iter().map(|(n, s)| (n.as_str(), s));
    let info = (!metadata.is_empty()).then(|| {
        metadata
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect::<HashMap<_, _>>()
    });
    safetensors::serialize_to_file(views, info, path).map_err(|e| Error::Io {
        op: OP_WRITE,
        message: format!("{}: {e}", path.display()),
    })
}
