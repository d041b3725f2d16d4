//! Saving and loading models as JSON (feature `serde`), without loss: any
//! [`Module`]'s parameters by name ([`save_parameters`],
//! [`load_parameters`]), and a [`Sequential`] of the crate's layers with
//! its architecture ([`Sequential::to_json`], [`Sequential::from_json`]).
//!
//! Every value is written as the shortest decimal that reads back to the
//! same `f64`, and `f32 → f64` is exact, so `f32` and `f64` parameters load
//! back bit for bit. A file records the element type it was saved from
//! (`dtype`) and loads only into that type.

use serde::{Deserialize, Serialize};

use crate::activation::Activation;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

use super::norm::restore;
use super::{
    AvgPool2d, BatchNorm, Conv2d, Flatten, LayerNorm, Linear, MaxPool2d, MeanOnlyBatchNorm, Module,
    Reshape, Sequential, Visitor, VisitorMut, WeightNormConv2d, WeightNormLinear,
};
use crate::ops::conv::Window;

const PARAMETERS: &str = "gradsign-parameters";
const SEQUENTIAL: &str = "gradsign-sequential";
const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct ParameterFile {
    name: String,
    shape: Vec<usize>,
    values: Vec<f64>,
}

#[derive(Serialize)]
struct ParametersOut {
    format: &'static str,
    version: u32,
    dtype: &'static str,
    parameters: Vec<ParameterFile>,
}

/// A file as read: `dtype` is kept as raw JSON so that a missing, mistyped
/// or unknown one gets its own message rather than serde's.
#[derive(Deserialize)]
struct ParametersIn {
    format: String,
    version: u32,
    #[serde(default)]
    dtype: Option<serde_json::Value>,
    parameters: Vec<ParameterFile>,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum LayerFile {
    Linear {
        fan_in: usize,
        fan_out: usize,
        /// Row-major `(fan_out, fan_in)`: row `j` is neuron `j`.
        weight: Vec<f64>,
        bias: Option<Vec<f64>>,
    },
    Activation {
        activation: Activation,
    },
    BatchNorm {
        channels: usize,
        eps: f64,
        momentum: f64,
        weight: Option<Vec<f64>>,
        bias: Option<Vec<f64>>,
        /// Kept as raw JSON so that `null` or a string such as `"NaN"` gets
        /// a message naming the statistic rather than serde's.
        running_mean: Vec<serde_json::Value>,
        running_var: Vec<serde_json::Value>,
        training: bool,
    },
    MeanOnlyBatchNorm {
        channels: usize,
        momentum: f64,
        bias: Vec<f64>,
        running_mean: Vec<serde_json::Value>,
        training: bool,
    },
    LayerNorm {
        shape: Vec<usize>,
        eps: f64,
        weight: Option<Vec<f64>>,
        bias: Option<Vec<f64>>,
    },
    WeightNormLinear {
        fan_in: usize,
        fan_out: usize,
        /// Row-major `(fan_out, fan_in)` directions.
        weight_v: Vec<f64>,
        weight_g: Vec<f64>,
        bias: Option<Vec<f64>>,
    },
    Conv2d {
        out_channels: usize,
        in_channels: usize,
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
        dilation: [usize; 2],
        /// Row-major `(O, C, kh, kw)`.
        weight: Vec<f64>,
        bias: Option<Vec<f64>>,
    },
    WeightNormConv2d {
        out_channels: usize,
        in_channels: usize,
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
        dilation: [usize; 2],
        /// Row-major `(O, C, kh, kw)` directions.
        weight_v: Vec<f64>,
        weight_g: Vec<f64>,
        bias: Option<Vec<f64>>,
    },
    MaxPool2d {
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
        dilation: [usize; 2],
    },
    AvgPool2d {
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
        count_include_pad: bool,
    },
    Flatten {},
    Reshape {
        per_example: Vec<usize>,
    },
}

fn pair(p: (usize, usize)) -> [usize; 2] {
    [p.0, p.1]
}

/// A saved window, refused if a stride or dilation is zero (it could not
/// run).
fn window_in(
    op: &'static str,
    i: usize,
    stride: [usize; 2],
    padding: [usize; 2],
    dilation: [usize; 2],
) -> Result<Window> {
    if stride.contains(&0) || dilation.contains(&0) {
        return Err(Error::format(
            op,
            format!("layer {i}: stride {stride:?} and dilation {dilation:?} must be at least 1"),
        ));
    }
    Ok(Window {
        stride: (stride[0], stride[1]),
        padding: (padding[0], padding[1]),
        dilation: (dilation[0], dilation[1]),
    })
}

/// Running statistics as written: finite numbers (a NaN has no JSON form,
/// so saving refuses it).
fn stats_out<F: Element>(op: &'static str, name: &str, v: &[F]) -> Result<Vec<serde_json::Value>> {
    Ok(finite_values(op, name, v)?
        .into_iter()
        .map(serde_json::Value::from)
        .collect())
}

/// Running statistics as read: each a finite number in `F`; anything else
/// (`null`, `"NaN"`, a value beyond `F`'s range) is refused by name.
fn stats_in<F: Element>(op: &'static str, name: &str, v: &[serde_json::Value]) -> Result<Vec<F>> {
    v.iter()
        .enumerate()
        .map(|(i, x)| {
            let value = x.as_f64().map(F::from_f64).filter(|y| y.is_finite());
            value.ok_or_else(|| Error::NonFinite {
                op,
                what: format!(
                    "{x} at channel {i} of {name}: running statistics must be finite numbers in {}",
                    F::NAME
                ),
            })
        })
        .collect()
}

fn opt_convert<F: Element>(
    op: &'static str,
    name: &str,
    v: Option<Vec<f64>>,
) -> Result<Option<Vec<F>>> {
    v.map(|v| convert(op, name, &v)).transpose()
}

fn opt_finite<F: Element>(
    op: &'static str,
    name: &str,
    v: Option<&Tensor<F>>,
) -> Result<Option<Vec<f64>>> {
    v.map(|t| finite_values(op, name, t.as_slice())).transpose()
}

#[derive(Serialize)]
struct SequentialOut {
    format: &'static str,
    version: u32,
    dtype: &'static str,
    training: bool,
    layers: Vec<LayerFile>,
}

#[derive(Deserialize)]
struct SequentialIn {
    format: String,
    version: u32,
    #[serde(default)]
    dtype: Option<serde_json::Value>,
    training: bool,
    layers: Vec<LayerFile>,
}

fn to_text(op: &'static str, value: &impl Serialize) -> Result<String> {
    serde_json::to_string_pretty(value).map_err(|e| Error::Io {
        op,
        message: e.to_string(),
    })
}

pub(crate) fn parse<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| Error::Parse {
        source_name: "json".into(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })
}

/// The values of `t` as `f64`, refusing NaN and ±∞ (JSON has no such
/// numbers).
pub(crate) fn finite_values<F: Element>(op: &'static str, name: &str, t: &[F]) -> Result<Vec<f64>> {
    t.iter()
        .enumerate()
        .map(|(i, &x)| {
            let v = Element::to_f64(x);
            if v.is_finite() {
                Ok(v)
            } else {
                Err(Error::NonFinite {
                    op,
                    what: format!("{v} at element {i} of {name}"),
                })
            }
        })
        .collect()
}

/// `values` in `F`: each must be finite there (`1e39` is not an `f32`).
pub(crate) fn convert<F: Element>(op: &'static str, name: &str, values: &[f64]) -> Result<Vec<F>> {
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let x = F::from_f64(v);
            if x.is_finite() {
                Ok(x)
            } else {
                Err(Error::format(
                    op,
                    format!(
                        "{v:e} at element {i} of {name} is out of the range of {}",
                        F::NAME
                    ),
                ))
            }
        })
        .collect()
}

/// The format, version and dtype rules of every file here: the format and
/// version this crate writes, and a `dtype` that is present, a string, and
/// exactly `F::NAME` (the message names what was found and `F`).
pub(crate) fn check_header<F: Element>(
    op: &'static str,
    format: (&str, &str),
    version: u32,
    dtype: Option<&serde_json::Value>,
) -> Result<()> {
    let bad = |what: String| Error::format(op, what);
    let (found, expected) = format;
    if found != expected || version != VERSION {
        return Err(bad(format!(
            "expected format {expected} version {VERSION}, found {found} version {version}"
        )));
    }
    const KNOWN: [&str; 2] = ["f32", "f64"];
    match dtype {
        None | Some(serde_json::Value::Null) => Err(bad(format!(
            "the file has no dtype; expected \"dtype\": \"{}\"",
            F::NAME
        ))),
        Some(serde_json::Value::String(d)) if d == F::NAME => Ok(()),
        Some(serde_json::Value::String(d)) if KNOWN.contains(&d.as_str()) => Err(bad(format!(
            "the file holds {d} parameters, not {}; load it into a model of {d}",
            F::NAME
        ))),
        Some(serde_json::Value::String(d)) => Err(bad(format!(
            "unknown dtype {:?}; expected {:?} for a model of {}",
            d,
            F::NAME,
            F::NAME
        ))),
        Some(other) => Err(bad(format!(
            "dtype must be a string naming the element type ({:?} here), found {other}",
            F::NAME
        ))),
    }
}

/// Every parameter of `model` by name, as JSON: the "state dict" that loads
/// back into a model of the same shape with [`load_parameters`], whatever
/// its layers (the crate's or your own).
///
/// ```
/// use gradsign::nn::{load_parameters, named_parameters, save_parameters, Mlp};
/// let trained = Mlp::builder(&[2, 3, 1]).seed(7).build::<f32>()?;
/// let text = save_parameters(&trained)?;
/// let mut fresh = Mlp::builder(&[2, 3, 1]).seed(8).build::<f32>()?;
/// load_parameters(&mut fresh, &text)?;
/// assert_eq!(named_parameters(&fresh)?, named_parameters(&trained)?);
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// # Errors
/// [`Error::NonFinite`] for a NaN or infinite parameter.
pub fn save_parameters<F: Element, M: Module<F> + ?Sized>(model: &M) -> Result<String> {
    let op = "save_parameters";
    let mut parameters = Vec::new();
    model.visit(&mut Visitor::new(&mut |name, t| {
        parameters.push(ParameterFile {
            name: name.to_owned(),
            shape: t.dims().to_vec(),
            values: finite_values(op, name, t.as_slice())?,
        });
        Ok(())
    }))?;
    to_text(
        op,
        &ParametersOut {
            format: PARAMETERS,
            version: VERSION,
            dtype: F::NAME,
            parameters,
        },
    )
}

/// Loads parameters saved by [`save_parameters`] into `model`, by name.
/// All or nothing: the file is checked against every parameter before any
/// is written.
///
/// # Errors
/// [`Error::Parse`] for malformed JSON; [`Error::Format`] (op
/// `load_parameters`) for another format or version, a missing, mistyped or
/// foreign `dtype`, a parameter of the model missing from the file, a name
/// in the file twice or unknown to the model, a shape that differs, a
/// value count that does not match its shape, or a value beyond the range
/// of `F`.
pub fn load_parameters<F: Element, M: Module<F> + ?Sized>(model: &mut M, text: &str) -> Result<()> {
    let op = "load_parameters";
    let file: ParametersIn = parse(text)?;
    check_header::<F>(
        op,
        (&file.format, PARAMETERS),
        file.version,
        file.dtype.as_ref(),
    )?;
    let bad = |what: String| Error::format(op, what);
    let mut by_name: std::collections::HashMap<&str, &ParameterFile> =
        std::collections::HashMap::new();
    for p in &file.parameters {
        if by_name.insert(p.name.as_str(), p).is_some() {
            return Err(bad(format!(
                "parameter {} appears twice in the file",
                p.name
            )));
        }
    }
    // Check everything first, converting the values.
    let mut loaded: Vec<Vec<F>> = Vec::new();
    let mut used = 0;
    model.visit(&mut Visitor::new(&mut |name, t| {
        let Some(p) = by_name.get(name) else {
            return Err(bad(format!("parameter {name} is missing from the file")));
        };
        if p.shape != t.dims() {
            return Err(bad(format!(
                "parameter {name} has shape {:?} in the file but {:?} in the model",
                p.shape,
                t.dims()
            )));
        }
        if p.values.len() != t.numel() {
            return Err(bad(format!(
                "parameter {name} has {} values for shape {:?}",
                p.values.len(),
                p.shape
            )));
        }
        loaded.push(convert(op, name, &p.values)?);
        used += 1;
        Ok(())
    }))?;
    if used != by_name.len() {
        let mut known = std::collections::HashSet::new();
        model.visit(&mut Visitor::new(&mut |name, _| {
            known.insert(name.to_owned());
            Ok(())
        }))?;
        let extra = file
            .parameters
            .iter()
            .find(|p| !known.contains(&p.name))
            .map_or_else(String::new, |p| p.name.clone());
        return Err(bad(format!(
            "the file has parameter {extra}, which the model does not"
        )));
    }
    let mut values = loaded.into_iter();
    model.visit_mut(&mut VisitorMut::new(&mut |_, t| {
        if let Some(v) = values.next() {
            t.as_mut_slice().copy_from_slice(&v);
        }
        Ok(())
    }))
}

impl<F: Element> Sequential<F> {
    /// The network — its layers, their parameters, and the training flag —
    /// as JSON. Only the crate's own layers ([`Linear`], [`Activation`],
    /// [`BatchNorm`], [`MeanOnlyBatchNorm`], [`LayerNorm`],
    /// [`WeightNormLinear`], [`Conv2d`], [`WeightNormConv2d`], [`MaxPool2d`], [`AvgPool2d`],
    /// [`Flatten`], [`Reshape`]) have a saved form; normalisation layers are
    /// saved with their settings, running statistics and training flag.
    /// Save a network with other layers with [`save_parameters`].
    ///
    /// ```
    /// use gradsign::{activation::Activation, nn::{Mlp, Sequential}};
    /// let net = Mlp::builder(&[2, 3, 1]).hidden(Activation::Tanh).output(Activation::Sigmoid).seed(5).build::<f32>()?;
    /// let json = net.to_json()?;
    /// assert_eq!(Sequential::<f32>::from_json(&json)?, net);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Format`] for a layer of another type (naming its position),
    /// which has no saved form; [`Error::OutOfDomain`] for an activation
    /// invalid in `F` (see [`Activation::validate`]); [`Error::NonFinite`]
    /// for a NaN or infinite parameter or running statistic.
    pub fn to_json(&self) -> Result<String> {
        let op = "Sequential::to_json";
        let mut layers = Vec::with_capacity(self.len());
        for i in 0..self.len() {
            if let Some(lin) = self.layer::<Linear<F>>(i) {
                layers.push(LayerFile::Linear {
                    fan_in: lin.fan_in(),
                    fan_out: lin.fan_out(),
                    weight: finite_values(op, &format!("{i}.weight"), lin.weight.as_slice())?,
                    bias: match &lin.bias {
                        Some(b) => Some(finite_values(op, &format!("{i}.bias"), b.as_slice())?),
                        None => None,
                    },
                });
            } else if let Some(&activation) = self.layer::<Activation>(i) {
                activation.validate::<F>()?;
                layers.push(LayerFile::Activation { activation });
            } else if let Some(bn) = self.layer::<BatchNorm<F>>(i) {
                layers.push(LayerFile::BatchNorm {
                    channels: bn.channels(),
                    eps: bn.eps().to_f64(),
                    momentum: bn.momentum().to_f64(),
                    weight: opt_finite(op, &format!("{i}.weight"), bn.weight.as_ref())?,
                    bias: opt_finite(op, &format!("{i}.bias"), bn.bias.as_ref())?,
                    running_mean: stats_out(op, &format!("{i}.running_mean"), &bn.running_mean())?,
                    running_var: stats_out(op, &format!("{i}.running_var"), &bn.running_var())?,
                    training: bn.is_training(),
                });
            } else if let Some(m) = self.layer::<MeanOnlyBatchNorm<F>>(i) {
                layers.push(LayerFile::MeanOnlyBatchNorm {
                    channels: m.channels(),
                    momentum: m.momentum().to_f64(),
                    bias: finite_values(op, &format!("{i}.bias"), m.bias.as_slice())?,
                    running_mean: stats_out(op, &format!("{i}.running_mean"), &m.running_mean())?,
                    training: m.is_training(),
                });
            } else if let Some(ln) = self.layer::<LayerNorm<F>>(i) {
                layers.push(LayerFile::LayerNorm {
                    shape: ln.normalized_shape().to_vec(),
                    eps: ln.eps().to_f64(),
                    weight: opt_finite(op, &format!("{i}.weight"), ln.weight.as_ref())?,
                    bias: opt_finite(op, &format!("{i}.bias"), ln.bias.as_ref())?,
                });
            } else if let Some(wn) = self.layer::<WeightNormLinear<F>>(i) {
                layers.push(LayerFile::WeightNormLinear {
                    fan_in: wn.fan_in(),
                    fan_out: wn.fan_out(),
                    weight_v: finite_values(op, &format!("{i}.weight_v"), wn.v.as_slice())?,
                    weight_g: finite_values(op, &format!("{i}.weight_g"), wn.g.as_slice())?,
                    bias: opt_finite(op, &format!("{i}.bias"), wn.bias.as_ref())?,
                });
            } else if let Some(conv) = self.layer::<Conv2d<F>>(i) {
                let (o, c, k) = conv.dims();
                layers.push(LayerFile::Conv2d {
                    out_channels: o,
                    in_channels: c,
                    kernel: pair(k),
                    stride: pair(conv.window.stride),
                    padding: pair(conv.window.padding),
                    dilation: pair(conv.window.dilation),
                    weight: finite_values(op, &format!("{i}.weight"), conv.weight.as_slice())?,
                    bias: opt_finite(op, &format!("{i}.bias"), conv.bias.as_ref())?,
                });
            } else if let Some(wn) = self.layer::<WeightNormConv2d<F>>(i) {
                let (o, c, k) = wn.dims();
                layers.push(LayerFile::WeightNormConv2d {
                    out_channels: o,
                    in_channels: c,
                    kernel: pair(k),
                    stride: pair(wn.window.stride),
                    padding: pair(wn.window.padding),
                    dilation: pair(wn.window.dilation),
                    weight_v: finite_values(op, &format!("{i}.weight_v"), wn.v.as_slice())?,
                    weight_g: finite_values(op, &format!("{i}.weight_g"), wn.g.as_slice())?,
                    bias: opt_finite(op, &format!("{i}.bias"), wn.bias.as_ref())?,
                });
            } else if let Some(p) = self.layer::<MaxPool2d>(i) {
                layers.push(LayerFile::MaxPool2d {
                    kernel: pair(p.kernel),
                    stride: pair(p.window.stride),
                    padding: pair(p.window.padding),
                    dilation: pair(p.window.dilation),
                });
            } else if let Some(p) = self.layer::<AvgPool2d>(i) {
                layers.push(LayerFile::AvgPool2d {
                    kernel: pair(p.kernel),
                    stride: pair(p.window.stride),
                    padding: pair(p.window.padding),
                    count_include_pad: p.count_include_pad,
                });
            } else if self.layer::<Flatten>(i).is_some() {
                layers.push(LayerFile::Flatten {});
            } else if let Some(r) = self.layer::<Reshape>(i) {
                layers.push(LayerFile::Reshape {
                    per_example: r.per_example().to_vec(),
                });
            } else {
                return Err(Error::Format {
                    op,
                    what: format!(
                        "layer {i} is none of the crate's layers (Linear, Activation, \
                         BatchNorm, MeanOnlyBatchNorm, LayerNorm, WeightNormLinear, Conv2d, \
                         WeightNormConv2d, MaxPool2d, AvgPool2d, Flatten, Reshape) and has no saved form; \
                         save the parameters with nn::save_parameters instead"
                    ),
                });
            }
        }
        to_text(
            op,
            &SequentialOut {
                format: SEQUENTIAL,
                version: VERSION,
                dtype: F::NAME,
                training: self.is_training(),
                layers,
            },
        )
    }

    /// A network read from [`to_json`](Self::to_json)'s format, into the
    /// element type it was saved from: the file's `dtype` must be exactly
    /// `F`'s name (`"f32"`, `"f64"`), so that parameters load bit for bit
    /// and activation parameters are checked in the type they were saved
    /// in. A file without a `dtype` is refused.
    ///
    /// ```
    /// use gradsign::nn::{Mlp, Sequential};
    /// let json = Mlp::builder(&[2, 1]).build::<f64>()?.to_json()?;
    /// let e = Sequential::<f32>::from_json(&json).unwrap_err();
    /// assert_eq!(
    ///     e.to_string(),
    ///     "Sequential::from_json: the file holds f64 parameters, not f32; load it into a model of f64"
    /// );
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Parse`] naming the line and column of malformed JSON;
    /// [`Error::Format`] (op `Sequential::from_json`) for another format or
    /// version, a missing, mistyped or foreign `dtype`, parameter counts
    /// that do not match the sizes, a parameter beyond the range of `F`, a
    /// zero stride or dilation, or no layer at all; [`Error::OutOfDomain`]
    /// for a dense layer of zero width; the error of
    /// [`Activation::validate`] for an activation parameter invalid in `F`;
    /// [`Error::ShapeMismatch`] if dense layers do not chain;
    /// [`Error::NonFinite`] for a running statistic that is not a finite
    /// number in `F` (`null`, `"NaN"`, `1e39` in `f32`); [`Error::Layer`]
    /// naming the position of a normalisation, weight-normalised,
    /// convolution or reshape layer whose settings are invalid in `F` (an
    /// `eps` that is 0 there, a momentum outside `[0, 1]`, a negative
    /// running variance, a zero row of `weight_v`, sizes that do not match).
    pub fn from_json(text: &str) -> Result<Self> {
        let op = "Sequential::from_json";
        let file: SequentialIn = parse(text)?;
        check_header::<F>(
            op,
            (&file.format, SEQUENTIAL),
            file.version,
            file.dtype.as_ref(),
        )?;
        let bad = |what: String| Error::format(op, what);
        let mut net = Sequential::new();
        let mut width: Option<usize> = None;
        let mut layer_training = Vec::new();
        for (i, layer) in file.layers.into_iter().enumerate() {
            match layer {
                LayerFile::Linear {
                    fan_in,
                    fan_out,
                    weight,
                    bias,
                } => {
                    if fan_in.checked_mul(fan_out) != Some(weight.len()) {
                        return Err(bad(format!(
                            "{i}.weight has {} values for ({fan_out}, {fan_in})",
                            weight.len()
                        )));
                    }
                    let w = Tensor::from_vec(
                        convert(op, &format!("{i}.weight"), &weight)?,
                        &[fan_out, fan_in],
                    )?;
                    let b = match bias {
                        Some(b) if b.len() != fan_out => {
                            return Err(bad(format!(
                                "{i}.bias has {} values for {fan_out} outputs",
                                b.len()
                            )));
                        }
                        Some(b) => Some(Tensor::from_vec(
                            convert(op, &format!("{i}.bias"), &b)?,
                            &[fan_out],
                        )?),
                        None => None,
                    };
                    let lin = Linear::new(w, b)?;
                    if let Some(out) = width
                        && out != fan_in
                    {
                        return Err(Error::ShapeMismatch {
                            op,
                            lhs: crate::shape::Shape::vector(out),
                            rhs: lin.weight.shape(),
                            reason: "a dense layer's fan-in must equal the previous dense layer's fan-out",
                        });
                    }
                    width = Some(fan_out);
                    net.add(lin);
                }
                LayerFile::Activation { activation } => {
                    activation.validate::<F>()?;
                    net.add(activation);
                }
                LayerFile::BatchNorm {
                    channels,
                    eps,
                    momentum,
                    weight,
                    bias,
                    running_mean,
                    running_var,
                    training,
                } => {
                    let rm = stats_in::<F>(op, &format!("{i}.running_mean"), &running_mean)?;
                    let rv = stats_in::<F>(op, &format!("{i}.running_var"), &running_var)?;
                    let bn = restore::batch_norm(
                        op,
                        channels,
                        eps,
                        momentum,
                        opt_convert(op, &format!("{i}.weight"), weight)?,
                        opt_convert(op, &format!("{i}.bias"), bias)?,
                        &rm,
                        &rv,
                        training,
                    )
                    .map_err(|e| Error::Layer {
                        layer: i,
                        source: Box::new(e),
                    })?;
                    layer_training.push((i, training));
                    net.add(bn);
                }
                LayerFile::MeanOnlyBatchNorm {
                    channels,
                    momentum,
                    bias,
                    running_mean,
                    training,
                } => {
                    let rm = stats_in::<F>(op, &format!("{i}.running_mean"), &running_mean)?;
                    let m = restore::mean_only(
                        op,
                        channels,
                        momentum,
                        convert(op, &format!("{i}.bias"), &bias)?,
                        &rm,
                        training,
                    )
                    .map_err(|e| Error::Layer {
                        layer: i,
                        source: Box::new(e),
                    })?;
                    layer_training.push((i, training));
                    net.add(m);
                }
                LayerFile::LayerNorm {
                    shape,
                    eps,
                    weight,
                    bias,
                } => {
                    let ln = restore::layer_norm(
                        op,
                        &shape,
                        eps,
                        opt_convert(op, &format!("{i}.weight"), weight)?,
                        opt_convert(op, &format!("{i}.bias"), bias)?,
                    )
                    .map_err(|e| Error::Layer {
                        layer: i,
                        source: Box::new(e),
                    })?;
                    net.add(ln);
                }
                LayerFile::WeightNormLinear {
                    fan_in,
                    fan_out,
                    weight_v,
                    weight_g,
                    bias,
                } => {
                    if fan_in.checked_mul(fan_out) != Some(weight_v.len()) {
                        return Err(bad(format!(
                            "{i}.weight_v has {} values for ({fan_out}, {fan_in})",
                            weight_v.len()
                        )));
                    }
                    if weight_g.len() != fan_out {
                        return Err(bad(format!(
                            "{i}.weight_g has {} values for {fan_out} outputs",
                            weight_g.len()
                        )));
                    }
                    let v = Tensor::from_vec(
                        convert(op, &format!("{i}.weight_v"), &weight_v)?,
                        &[fan_out, fan_in],
                    )?;
                    let g = Tensor::from_vec(
                        convert(op, &format!("{i}.weight_g"), &weight_g)?,
                        &[fan_out],
                    )?;
                    let b = match bias {
                        Some(b) if b.len() != fan_out => {
                            return Err(bad(format!(
                                "{i}.bias has {} values for {fan_out} outputs",
                                b.len()
                            )));
                        }
                        Some(b) => Some(Tensor::from_vec(
                            convert(op, &format!("{i}.bias"), &b)?,
                            &[fan_out],
                        )?),
                        None => None,
                    };
                    let wn = WeightNormLinear::new(v, g, b).map_err(|e| Error::Layer {
                        layer: i,
                        source: Box::new(e),
                    })?;
                    if let Some(out) = width
                        && out != fan_in
                    {
                        return Err(Error::ShapeMismatch {
                            op,
                            lhs: crate::shape::Shape::vector(out),
                            rhs: wn.v.shape(),
                            reason: "a dense layer's fan-in must equal the previous dense layer's fan-out",
                        });
                    }
                    width = Some(fan_out);
                    net.add(wn);
                }
                LayerFile::Conv2d {
                    out_channels,
                    in_channels,
                    kernel,
                    stride,
                    padding,
                    dilation,
                    weight,
                    bias,
                } => {
                    let dims = [out_channels, in_channels, kernel[0], kernel[1]];
                    if dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d)) != Some(weight.len())
                    {
                        return Err(bad(format!(
                            "{i}.weight has {} values for {dims:?}",
                            weight.len()
                        )));
                    }
                    let w = Tensor::from_vec(convert(op, &format!("{i}.weight"), &weight)?, &dims)?;
                    let b = opt_convert(op, &format!("{i}.bias"), bias)?
                        .map(|b| {
                            let n = b.len();
                            Tensor::from_vec(b, &[n])
                        })
                        .transpose()?;
                    let conv = Conv2d::new(w, b)
                        .map_err(|e| Error::Layer {
                            layer: i,
                            source: Box::new(e),
                        })?
                        .with_window(window_in(op, i, stride, padding, dilation)?);
                    // The next dense layer's width depends on the image size.
                    width = None;
                    net.add(conv);
                }
                LayerFile::WeightNormConv2d {
                    out_channels,
                    in_channels,
                    kernel,
                    stride,
                    padding,
                    dilation,
                    weight_v,
                    weight_g,
                    bias,
                } => {
                    let dims = [out_channels, in_channels, kernel[0], kernel[1]];
                    let count = dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
                    if count != Some(weight_v.len()) {
                        return Err(bad(format!(
                            "{i}.weight_v has {} values for {dims:?}",
                            weight_v.len()
                        )));
                    }
                    if weight_g.len() != out_channels {
                        return Err(bad(format!(
                            "{i}.weight_g has {} values for {out_channels} out-channels",
                            weight_g.len()
                        )));
                    }
                    let v =
                        Tensor::from_vec(convert(op, &format!("{i}.weight_v"), &weight_v)?, &dims)?;
                    let g = Tensor::from_vec(
                        convert(op, &format!("{i}.weight_g"), &weight_g)?,
                        &[out_channels],
                    )?;
                    let b = opt_convert(op, &format!("{i}.bias"), bias)?
                        .map(|b| {
                            let n = b.len();
                            Tensor::from_vec(b, &[n])
                        })
                        .transpose()?;
                    let wn = WeightNormConv2d::new(v, g, b)
                        .map_err(|e| Error::Layer {
                            layer: i,
                            source: Box::new(e),
                        })?
                        .with_window(window_in(op, i, stride, padding, dilation)?);
                    width = None;
                    net.add(wn);
                }
                LayerFile::MaxPool2d {
                    kernel,
                    stride,
                    padding,
                    dilation,
                } => {
                    width = None;
                    net.add(
                        MaxPool2d::new((kernel[0], kernel[1]))
                            .with_window(window_in(op, i, stride, padding, dilation)?),
                    );
                }
                LayerFile::AvgPool2d {
                    kernel,
                    stride,
                    padding,
                    count_include_pad,
                } => {
                    width = None;
                    let mut pool = AvgPool2d::new((kernel[0], kernel[1])).with_window(window_in(
                        op,
                        i,
                        stride,
                        padding,
                        [1, 1],
                    )?);
                    pool.count_include_pad = count_include_pad;
                    net.add(pool);
                }
                LayerFile::Flatten {} => {
                    width = None;
                    net.add(Flatten);
                }
                LayerFile::Reshape { per_example } => {
                    width = None;
                    net.add(Reshape::new(&per_example).map_err(|e| Error::Layer {
                        layer: i,
                        source: Box::new(e),
                    })?);
                }
            }
        }
        if net.is_empty() {
            return Err(bad("the file has no layer".into()));
        }
        net.set_training(file.training);
        // A normalisation layer saved in another mode than the container
        // keeps its own.
        for (i, training) in layer_training {
            if let Some(bn) = net.layer_mut::<BatchNorm<F>>(i) {
                bn.set_training(training);
            } else if let Some(m) = net.layer_mut::<MeanOnlyBatchNorm<F>>(i) {
                m.set_training(training);
            }
        }
        Ok(net)
    }

    /// Writes [`to_json`](Self::to_json) to a file.
    ///
    /// # Errors
    /// As [`to_json`](Self::to_json), and [`Error::Io`] if the file cannot
    /// be written.
    pub fn save_json(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        let path = path.as_ref();
        std::fs::write(path, self.to_json()?).map_err(|e| Error::Io {
            op: "Sequential::save_json",
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
            op: "Sequential::load_json",
            message: format!("{}: {e}", path.display()),
        })?;
        Self::from_json(&text)
    }
}
