//! Captured layers: `<name>.input`, `<name>.delta` and their optional
//! companions, paired by name and checked against each other.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::npy::read_npy;
use super::safetensors::{SafetensorsFile, write_safetensors};
use crate::analysis::{Diagnosis, GradientSignAnalyzer, NetworkReport};
use crate::element::Element;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

const OP: &str = "load_capture";

/// The `__metadata__` key listing the layers, comma-separated, in network
/// order (written by [`Capture::save`] and `python/gradsign_hooks.py`).
pub const LAYERS_KEY: &str = "gradsign.layers";

/// The suffixes of the convention, after `<layer>.`.
pub const SUFFIXES: [&str; 5] = ["input", "delta", "weight", "weight_grad", "bias_grad"];

/// One captured dense layer.
#[derive(Clone, Debug, PartialEq)]
pub struct CapturedLayer<F: Element> {
    /// The layer's name (a PyTorch module path such as `net.0`).
    pub name: String,
    /// `A`, the layer's inputs, B×K.
    pub input: Tensor<F>,
    /// `Δ = ∂L/∂Z`, the gradient of the loss with respect to the layer's
    /// pre-activation output, B×J.
    pub delta: Tensor<F>,
    /// The weight, J×K (PyTorch's `(out_features, in_features)`), if saved.
    pub weight: Option<Tensor<F>>,
    /// The framework's own weight gradient, J×K, if saved: it should equal
    /// `Δᵀ·A` (see [`batch_gradient`](Self::batch_gradient)).
    pub weight_grad: Option<Tensor<F>>,
    /// The framework's own bias gradient, J, if saved: the column sums of `Δ`.
    pub bias_grad: Option<Tensor<F>>,
}

impl<F: Element> CapturedLayer<F> {
    /// Pairs a layer's tensors, checking that they belong together.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] (op `load_capture`) naming the layer when a
    /// tensor is not a matrix (the bias gradient: a vector), the batch is
    /// empty or the input and delta batches differ, the weight (or weight
    /// gradient) is not J×K for the delta's width J and the input's width K
    /// (swapped input and delta files are caught here when J ≠ K), or the
    /// bias gradient is not of length J; [`Error::NonFinite`] naming the
    /// tensor and the element for a NaN or ±∞.
    pub fn new(
        name: &str,
        input: Tensor<F>,
        delta: Tensor<F>,
        weight: Option<Tensor<F>>,
        weight_grad: Option<Tensor<F>>,
        bias_grad: Option<Tensor<F>>,
    ) -> Result<Self> {
        let bad = |what: String| Error::format(OP, format!("layer '{name}': {what}"));
        for (suffix, t) in [("input", &input), ("delta", &delta)] {
            if t.dims().len() != 2 {
                return Err(bad(format!(
                    "{name}.{suffix} has shape {:?}; it must be a matrix (batch × width)",
                    t.dims()
                )));
            }
        }
        let (b, k, bd, j) = (
            input.dims()[0],
            input.dims()[1],
            delta.dims()[0],
            delta.dims()[1],
        );
        if b != bd {
            return Err(bad(format!(
                "{name}.input has {b} examples but {name}.delta has {bd}: the batches differ"
            )));
        }
        if b == 0 {
            return Err(bad("the batch is empty".to_string()));
        }
        for (suffix, t) in [("weight", &weight), ("weight_grad", &weight_grad)] {
            if let Some(t) = t
                && t.dims() != [j, k]
            {
                return Err(bad(format!(
                    "{name}.{suffix} has shape {:?} but the delta's width {j} and the input's width {k} need [{j}, {k}] (are {name}.input and {name}.delta swapped?)",
                    t.dims()
                )));
            }
        }
        if let Some(t) = &bias_grad
            && t.dims() != [j]
        {
            return Err(bad(format!(
                "{name}.bias_grad has shape {:?} but the delta's width needs [{j}]",
                t.dims()
            )));
        }
        for (suffix, t) in [
            ("input", Some(&input)),
            ("delta", Some(&delta)),
            ("weight", weight.as_ref()),
            ("weight_grad", weight_grad.as_ref()),
            ("bias_grad", bias_grad.as_ref()),
        ] {
            if let Some(t) = t
                && let Some(i) = t.as_slice().iter().position(|x| !x.is_finite())
            {
                let cols = t.dims().last().copied().unwrap_or(1).max(1);
                let at = if t.dims().len() == 2 {
                    format!("[{}, {}]", i / cols, i % cols)
                } else {
                    format!("[{i}]")
                };
                return Err(Error::NonFinite {
                    op: OP,
                    what: format!("{name}.{suffix}{at} = {}", t.as_slice()[i]),
                });
            }
        }
        Ok(Self {
            name: name.to_string(),
            input,
            delta,
            weight,
            weight_grad,
            bias_grad,
        })
    }

    /// The batch gradient of the weight, `G = Δᵀ·A` (J×K, `G_jk = Σ_n
    /// Δ_nj·A_nk`), accumulated in `f64` and rounded once to `F`: what the
    /// framework's `weight.grad` holds after one backward pass.
    ///
    /// # Errors
    /// None in practice (the shapes were checked by [`new`](Self::new)).
    pub fn batch_gradient(&self) -> Result<Tensor<F>> {
        let (b, k, j) = (
            self.input.dims()[0],
            self.input.dims()[1],
            self.delta.dims()[1],
        );
        let mut g = vec![0.0f64; j * k];
        let (a, d) = (self.input.as_slice(), self.delta.as_slice());
        for n in 0..b {
            let (arow, drow) = (&a[n * k..(n + 1) * k], &d[n * j..(n + 1) * j]);
            for (jj, &dv) in drow.iter().enumerate() {
                let dv = Element::to_f64(dv);
                for (gv, &av) in g[jj * k..(jj + 1) * k].iter_mut().zip(arow) {
                    *gv += dv * Element::to_f64(av);
                }
            }
        }
        Tensor::from_vec(g.into_iter().map(F::from_f64).collect(), &[j, k])
    }
}

/// The captured layers of one network, in network order.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("gradsign-doc-cap-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// use gradsign::analysis::GradientSignAnalyzer;
/// use gradsign::io::{Capture, CapturedLayer};
/// use gradsign::Tensor;
/// let a = Tensor::<f32>::rand_uniform(&[16, 3], 0.0, 1.0, 1)?;
/// let d = Tensor::<f32>::rand_normal(&[16, 2], 0.0, 1.0, 2)?;
/// let layer = CapturedLayer::new("fc1", a, d, None, None, None)?;
/// let path = dir.join("capture.safetensors");
/// Capture { layers: vec![layer] }.save(&path)?;
/// let capture = Capture::<f32>::load(&[&path])?;
/// let report = capture.analyze(&GradientSignAnalyzer::default())?;
/// assert_eq!(report.layers[0].per_example_coherence(), 1.0); // positive inputs
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Capture<F: Element> {
    /// The layers, first layer first.
    pub layers: Vec<CapturedLayer<F>>,
}

/// A tensor found in a file, before pairing.
struct Found<F: Element> {
    tensor: Tensor<F>,
    file: String,
}

impl<F: Element> Capture<F> {
    /// Loads a capture from safetensors files, `.npy` files (named
    /// `<layer>.<suffix>.npy`) and folders of them, pairing the tensors by
    /// layer name (see the module docs for the convention).
    ///
    /// The layer order is the one listed under [`LAYERS_KEY`] in a
    /// safetensors file's metadata when there is one; otherwise the order in
    /// which the layers' tensors first appear (the files in the order given,
    /// a folder's files by name, a safetensors file's tensors by offset).
    ///
    /// # Errors
    /// The readers' errors ([`read_npy`], [`SafetensorsFile::open`],
    /// [`SafetensorsFile::tensor`]); [`Error::InvalidArgument`] (op
    /// `load_capture`) for no files, a tensor name outside the convention,
    /// the same tensor twice (in two files, or twice in one header), a layer
    /// without its input or its delta, a layer listed in the metadata but
    /// absent, and every mismatch [`CapturedLayer::new`] refuses;
    /// [`Error::NonFinite`] for a NaN or ±∞ anywhere in a layer.
    pub fn load<P: AsRef<Path>>(paths: &[P]) -> Result<Self> {
        let bad = |what: String| Error::format(OP, what);
        let mut files: Vec<PathBuf> = Vec::new();
        for p in paths {
            let p = p.as_ref();
            if p.is_dir() {
                let mut inner: Vec<PathBuf> = std::fs::read_dir(p)
                    .map_err(|e| Error::Io {
                        op: OP,
                        message: format!("{}: {e}", p.display()),
                    })?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|f| {
                        matches!(
                            f.extension().and_then(|e| e.to_str()),
                            Some("npy" | "safetensors")
                        )
                    })
                    .collect();
                inner.sort();
                files.extend(inner);
            } else {
                files.push(p.to_path_buf());
            }
        }
        if files.is_empty() {
            return Err(bad("no capture files were given".to_string()));
        }
        let mut found: HashMap<String, Found<F>> = HashMap::new();
        let mut order: Vec<String> = Vec::new();
        let mut listed: Option<(Vec<String>, String)> = None;
        let mut add = |key: String, tensor: Tensor<F>, file: &str| -> Result<()> {
            let Some((layer, suffix)) = key.rsplit_once('.') else {
                return Err(bad(format!(
                    "{file}: tensor '{key}' is not named <layer>.<{}>",
                    SUFFIXES.join("|")
                )));
            };
            if layer.is_empty() || !SUFFIXES.contains(&suffix) {
                return Err(bad(format!(
                    "{file}: tensor '{key}' is not named <layer>.<{}>",
                    SUFFIXES.join("|")
                )));
            }
            if let Some(first) = found.get(&key) {
                return Err(bad(format!(
                    "tensor '{key}' appears twice: in {} and in {file}",
                    first.file
                )));
            }
            if !order.iter().any(|l| l == layer) {
                order.push(layer.to_string());
            }
            found.insert(
                key,
                Found {
                    tensor,
                    file: file.to_string(),
                },
            );
            Ok(())
        };
        for f in &files {
            let shown = f.display().to_string();
            let file_name = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if let Some(key) = file_name.strip_suffix(".npy") {
                add(key.to_string(), read_npy::<F>(f)?, &shown)?;
            } else {
                let st = SafetensorsFile::open(f)?;
                if let Some(list) = st.metadata().and_then(|m| m.get(LAYERS_KEY)) {
                    let list: Vec<String> = list
                        .split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect();
                    if listed.is_none() {
                        listed = Some((list, shown.clone()));
                    }
                }
                for name in st.names() {
                    add(name.clone(), st.tensor::<F>(name)?, &shown)?;
                }
            }
        }
        let layer_order = match listed {
            Some((list, file)) => {
                if let Some(missing) = list.iter().find(|l| !order.contains(l)) {
                    return Err(bad(format!(
                        "{file} lists layer '{missing}' in its {LAYERS_KEY} metadata but no file holds its tensors"
                    )));
                }
                let mut full = list;
                full.extend(
                    order
                        .iter()
                        .filter(|l| !full.contains(l))
                        .cloned()
                        .collect::<Vec<_>>(),
                );
                full
            }
            None => order,
        };
        let mut layers = Vec::with_capacity(layer_order.len());
        for name in &layer_order {
            let mut take = |suffix: &str| found.remove(&format!("{name}.{suffix}"));
            let (input, delta) = (take("input"), take("delta"));
            let (weight, weight_grad, bias_grad) =
                (take("weight"), take("weight_grad"), take("bias_grad"));
            let (input, delta) = match (input, delta) {
                (Some(i), Some(d)) => (i, d),
                (Some(i), None) => {
                    return Err(bad(format!(
                        "layer '{name}': {name}.input (in {}) has no {name}.delta",
                        i.file
                    )));
                }
                (None, Some(d)) => {
                    return Err(bad(format!(
                        "layer '{name}': {name}.delta (in {}) has no {name}.input",
                        d.file
                    )));
                }
                (None, None) => {
                    return Err(bad(format!(
                        "layer '{name}': neither {name}.input nor {name}.delta was found"
                    )));
                }
            };
            layers.push(CapturedLayer::new(
                name,
                input.tensor,
                delta.tensor,
                weight.map(|t| t.tensor),
                weight_grad.map(|t| t.tensor),
                bias_grad.map(|t| t.tensor),
            )?);
        }
        Ok(Self { layers })
    }

    /// Writes the capture as one safetensors file in the convention, with
    /// the layer order under [`LAYERS_KEY`].
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] (op `write_safetensors`) for a layer name
    /// that is empty, contains a comma, or is given twice; [`Error::Io`] when
    /// the file cannot be written.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let mut keys: Vec<(String, &Tensor<F>)> = Vec::new();
        for l in &self.layers {
            if l.name.is_empty() || l.name.contains(',') {
                return Err(Error::out_of_domain(
                    "write_safetensors",
                    "a layer name",
                    "non-empty without a comma",
                    format_args!("'{}'", l.name),
                ));
            }
            keys.push((format!("{}.input", l.name), &l.input));
            keys.push((format!("{}.delta", l.name), &l.delta));
            for (suffix, t) in [
                ("weight", &l.weight),
                ("weight_grad", &l.weight_grad),
                ("bias_grad", &l.bias_grad),
            ] {
                if let Some(t) = t {
                    keys.push((format!("{}.{suffix}", l.name), t));
                }
            }
        }
        let list = self.names().join(",");
        let tensors: Vec<(&str, &Tensor<F>)> = keys.iter().map(|(k, t)| (k.as_str(), *t)).collect();
        write_safetensors(path, &tensors, &[(LAYERS_KEY, &list)])
    }

    /// The layers' names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.layers.iter().map(|l| l.name.as_str()).collect()
    }

    /// Analyses every layer with [`GradientSignAnalyzer::analyze_layer`] and
    /// diagnoses the whole; layer `i` of the report is `self.layers[i]`.
    ///
    /// # Errors
    /// [`Error::Layer`] wrapping the analyzer's error for a layer (a bad
    /// tolerance, for instance); [`Error::InvalidArgument`] for an empty
    /// capture.
    pub fn analyze(&self, analyzer: &GradientSignAnalyzer) -> Result<NetworkReport> {
        if self.layers.is_empty() {
            return Err(Error::out_of_domain(
                "Capture::analyze",
                "the layer count",
                "at least 1",
                0,
            ));
        }
        let mut layers = Vec::with_capacity(self.layers.len());
        for (i, l) in self.layers.iter().enumerate() {
            let mut r = analyzer
                .analyze_layer(&l.input, &l.delta)
                .map_err(|e| Error::Layer {
                    layer: i,
                    source: Box::new(e),
                })?;
            r.layer = Some(i);
            layers.push(r);
        }
        let diagnosis = Diagnosis::from_layers(&layers);
        Ok(NetworkReport { layers, diagnosis })
    }
}
