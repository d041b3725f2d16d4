//! Saving and loading an [`Mlp`] as JSON (feature `serde`), without loss.

use serde::{Deserialize, Serialize};

use crate::activation::Activation;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

use super::{Linear, Mlp};

const FORMAT: &str = "gradsign-mlp";
const VERSION: u32 = 1;

#[derive(Serialize)]
struct MlpFile {
    format: String,
    version: u32,
    /// The element type the parameters were saved from (`f32`, `f64`).
    dtype: String,
    layers: Vec<LayerFile>,
}

/// [`MlpFile`] as read: `dtype` is kept as raw JSON so that a missing,
/// mistyped or unknown one gets its own message rather than serde's.
#[derive(Deserialize)]
struct MlpFileIn {
    format: String,
    version: u32,
    #[serde(default)]
    dtype: Option<serde_json::Value>,
    layers: Vec<LayerFile>,
}

#[derive(Serialize, Deserialize)]
struct LayerFile {
    fan_in: usize,
    fan_out: usize,
    activation: Activation,
    /// Row-major `(fan_out, fan_in)`: row `j` is neuron `j`.
    weight: Vec<f64>,
    bias: Option<Vec<f64>>,
}

impl<F: Element> Mlp<F> {
    /// The network (sizes, activations, parameters) as JSON.
    ///
    /// Every parameter is written as the shortest decimal that reads back
    /// to the same `f64`, and `f32 → f64` is exact, so
    /// [`from_json`](Self::from_json) restores `f32` and `f64` parameters
    /// bit for bit.
    ///
    /// ```
    /// use gradsign::{activation::Activation, nn::{Init, Mlp}};
    /// let mlp = Mlp::builder(&[2, 3, 1]).hidden(Activation::Tanh).output(Activation::Sigmoid).init(Init::GlorotNormal).seed(5).build::<f32>()?;
    /// let json = mlp.to_json()?;
    /// assert_eq!(Mlp::<f32>::from_json(&json)?, mlp);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::NonFinite`] if a parameter is NaN or infinite (JSON has no
    /// such numbers); [`Error::InvalidArgument`] if a layer's activation
    /// (set by hand through [`layers_mut`](Self::layers_mut)) is invalid in
    /// `F` (see [`Activation::validate`]): a file
    /// [`from_json`](Self::from_json) would refuse is never written.
    pub fn to_json(&self) -> Result<String> {
        for layer in self.layers() {
            layer.activation.validate::<F>()?;
        }
        let to_f64 = |name: String, t: &Tensor<F>| -> Result<Vec<f64>> {
            t.as_slice()
                .iter()
                .enumerate()
                .map(|(i, &x)| {
                    let v = Element::to_f64(x);
                    if v.is_finite() {
                        Ok(v)
                    } else {
                        Err(Error::NonFinite {
                            op: "Mlp::to_json",
                            what: format!("{v} at element {i} of {name}"),
                        })
                    }
                })
                .collect()
        };
        let layers = self
            .layers()
            .iter()
            .enumerate()
            .map(|(l, layer)| {
                let lin = &layer.linear;
                Ok(LayerFile {
                    fan_in: lin.fan_in(),
                    fan_out: lin.fan_out(),
                    activation: layer.activation,
                    weight: to_f64(format!("layers.{l}.weight"), &lin.weight)?,
                    bias: match &lin.bias {
                        Some(b) => Some(to_f64(format!("layers.{l}.bias"), b)?),
                        None => None,
                    },
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let file = MlpFile {
            format: FORMAT.into(),
            version: VERSION,
            dtype: F::NAME.into(),
            layers,
        };
        serde_json::to_string_pretty(&file).map_err(|e| Error::Io {
            op: "Mlp::to_json",
            message: e.to_string(),
        })
    }

    /// A network read from [`to_json`](Self::to_json)'s format, into the
    /// element type it was saved from: the file's `dtype` must be exactly
    /// `F`'s name (`"f32"`, `"f64"`), so that parameters load bit for bit and
    /// activation parameters are checked in the type they were saved in. A
    /// file without a `dtype` is refused (every file this crate writes has
    /// one); to change precision, load in the saved type and convert the
    /// tensors.
    ///
    /// ```
    /// use gradsign::{activation::Activation, nn::{Init, Mlp}};
    /// let json = Mlp::<f64>::new(&[2, 1], Activation::Tanh, Activation::Identity, Init::Zeros, 0)?.to_json()?;
    /// let e = Mlp::<f32>::from_json(&json).unwrap_err();
    /// assert_eq!(e.to_string(), "Mlp::from_json: the file holds f64 parameters, not f32; load it as Mlp<f64>");
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Parse`] naming the line and column of malformed JSON;
    /// [`Error::InvalidArgument`] (op `Mlp::from_json`) for another format
    /// or version, a missing `dtype`, one that is not a string, or one that
    /// is not `F`'s name (the message names both), parameter counts that do
    /// not match the sizes, or a parameter beyond the range of `F`; the
    /// error of [`Activation::validate`] for an activation parameter invalid
    /// in `F`; [`Error::ShapeMismatch`] if the layers do not chain.
    pub fn from_json(text: &str) -> Result<Self> {
        let file: MlpFileIn = serde_json::from_str(text).map_err(|e| Error::Parse {
            source_name: "json".into(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        let bad = |message: String| Error::InvalidArgument {
            op: "Mlp::from_json",
            message,
        };
        if file.format != FORMAT || file.version != VERSION {
            return Err(bad(format!(
                "expected format {FORMAT} version {VERSION}, found {} version {}",
                file.format, file.version
            )));
        }
        check_dtype::<F>(file.dtype.as_ref()).map_err(bad)?;
        // f64 → F rounds, but must not overflow (`1e39` as f32).
        let convert = |name: &str, values: Vec<f64>| -> Result<Vec<F>> {
            values
                .into_iter()
                .enumerate()
                .map(|(i, v)| {
                    let x = F::from_f64(v);
                    if x.is_finite() {
                        Ok(x)
                    } else {
                        Err(bad(format!(
                            "{v:e} at element {i} of {name} is out of the range of {}",
                            F::NAME
                        )))
                    }
                })
                .collect()
        };
        let mut layers = Vec::with_capacity(file.layers.len());
        for (l, lf) in file.layers.into_iter().enumerate() {
            if lf.fan_in.checked_mul(lf.fan_out) != Some(lf.weight.len()) {
                return Err(bad(format!(
                    "layers.{l}.weight has {} values for ({}, {})",
                    lf.weight.len(),
                    lf.fan_out,
                    lf.fan_in
                )));
            }
            let weight = Tensor::from_vec(
                convert(&format!("layers.{l}.weight"), lf.weight)?,
                &[lf.fan_out, lf.fan_in],
            )?;
            let bias = match lf.bias {
                Some(b) if b.len() != lf.fan_out => {
                    return Err(bad(format!(
                        "layers.{l}.bias has {} values for {} outputs",
                        b.len(),
                        lf.fan_out
                    )));
                }
                Some(b) => Some(Tensor::from_vec(
                    convert(&format!("layers.{l}.bias"), b)?,
                    &[lf.fan_out],
                )?),
                None => None,
            };
            layers.push((Linear::new(weight, bias)?, lf.activation));
        }
        Mlp::from_layers(layers)
    }

    /// Writes [`to_json`](Self::to_json) to a file.
    ///
    /// # Errors
    /// As [`to_json`](Self::to_json), and [`Error::Io`] if the file cannot
    /// be written.
    pub fn save_json(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        let path = path.as_ref();
        std::fs::write(path, self.to_json()?).map_err(|e| Error::Io {
            op: "Mlp::save_json",
            message: format!("{}: {e}", path.display()),
        })
    }

    /// Reads a network saved by [`save_json`](Self::save_json).
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be read; otherwise as
    /// [`from_json`](Self::from_json).
    pub fn load_json(path: impl AsRef<std::path::Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
            op: "Mlp::load_json",
            message: format!("{}: {e}", path.display()),
        })?;
        Self::from_json(&text)
    }
}

/// The dtype rule of [`Mlp::from_json`]: present, a string, and exactly
/// `F::NAME`. The message for anything else names what was found and `F`.
fn check_dtype<F: Element>(dtype: Option<&serde_json::Value>) -> std::result::Result<(), String> {
    const KNOWN: [&str; 2] = ["f32", "f64"];
    match dtype {
        None => Err(format!(
            "the file has no dtype; expected \"dtype\": \"{}\"",
            F::NAME
        )),
        Some(serde_json::Value::String(d)) if d == F::NAME => Ok(()),
        Some(serde_json::Value::String(d)) if KNOWN.contains(&d.as_str()) => Err(format!(
            "the file holds {d} parameters, not {}; load it as Mlp<{d}>",
            F::NAME
        )),
        Some(serde_json::Value::String(d)) => Err(format!(
            "unknown dtype {:?}; expected {:?} for a network of {}",
            d,
            F::NAME,
            F::NAME
        )),
        Some(other) => Err(format!(
            "dtype must be a string naming the element type ({:?} here), found {other}",
            F::NAME
        )),
    }
}
