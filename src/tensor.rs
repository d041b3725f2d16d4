//! `Tensor<F>`: a dense, row-major array of any rank (including 0-d scalars).

use std::fmt;

use rand::SeedableRng;
use rand_distr::{Distribution, Normal, Uniform};

use crate::element::Element;
use crate::error::{Error, Result};
use crate::shape::Shape;

/// A dense row-major tensor: a flat buffer and a [`Shape`].
///
/// Tensors are plain values outside any tape; a [`Tape`](crate::Tape) copies
/// them in as variables or constants.
///
/// ```
/// use gradsign::Tensor;
/// let t = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?;
/// assert_eq!(t.dims(), &[2, 3]);
/// assert_eq!(t.get(&[1, 2])?, 6.0);
/// assert_eq!(t[&[0, 1][..]], 2.0);
/// # Ok::<(), gradsign::Error>(())
/// ```
#[derive(Clone, PartialEq)]
pub struct Tensor<F> {
    data: Vec<F>,
    shape: Shape,
}

impl<F: Element> Tensor<F> {
    /// A tensor from a flat row-major buffer and a shape.
    ///
    /// # Errors
    /// [`Error::DataLength`] if `data.len()` is not the product of `dims`;
    /// [`Error::RankMismatch`] if `dims` has more than
    /// [`MAX_RANK`](crate::shape::MAX_RANK) entries.
    pub fn from_vec(data: Vec<F>, dims: &[usize]) -> Result<Self> {
        let shape = Shape::new(dims)?;
        Self::from_vec_shape(data, shape)
    }

    /// Like [`from_vec`](Self::from_vec) with a [`Shape`].
    ///
    /// # Errors
    /// [`Error::DataLength`] on a length mismatch.
    pub fn from_vec_shape(data: Vec<F>, shape: Shape) -> Result<Self> {
        if data.len() != shape.numel() {
            return Err(Error::DataLength {
                op: "from_vec",
                len: data.len(),
                shape,
            });
        }
        Ok(Tensor { data, shape })
    }

    /// A tensor copied from a slice.
    ///
    /// ```
    /// let t = gradsign::Tensor::from_slice(&[1.0f32, 2.0], &[2])?;
    /// assert_eq!(t.as_slice(), &[1.0, 2.0]);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`from_vec`](Self::from_vec).
    pub fn from_slice(data: &[F], dims: &[usize]) -> Result<Self> {
        Self::from_vec(data.to_vec(), dims)
    }

    /// A 0-d tensor holding one value.
    ///
    /// ```
    /// let t = gradsign::Tensor::scalar(2.5f64);
    /// assert_eq!(t.rank(), 0);
    /// assert_eq!(t.item(), Ok(2.5));
    /// ```
    pub fn scalar(value: F) -> Self {
        Tensor {
            data: vec![value],
            shape: Shape::scalar(),
        }
    }

    /// A tensor filled with `value`.
    ///
    /// ```
    /// let t = gradsign::Tensor::full(&[2, 2], 7.0f32)?;
    /// assert_eq!(t.as_slice(), &[7.0; 4]);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::RankMismatch`] if the rank exceeds the maximum;
    /// [`Error::TooLarge`] if that many elements cannot be allocated
    /// (so do the other constructors that take dimensions).
    pub fn full(dims: &[usize], value: F) -> Result<Self> {
        Self::filled("full", dims, value)
    }

    fn filled(op: &'static str, dims: &[usize], value: F) -> Result<Self> {
        let shape = Shape::new(dims)?;
        let mut data = buffer(op, shape)?;
        data.resize(shape.numel(), value);
        Ok(Tensor { data, shape })
    }

    /// A tensor of zeros.
    ///
    /// ```
    /// assert_eq!(gradsign::Tensor::<f64>::zeros(&[3])?.as_slice(), &[0.0; 3]);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::RankMismatch`] if the rank exceeds the maximum.
    pub fn zeros(dims: &[usize]) -> Result<Self> {
        Self::filled("zeros", dims, F::zero())
    }

    /// A tensor of ones.
    ///
    /// ```
    /// assert_eq!(gradsign::Tensor::<f64>::ones(&[2])?.as_slice(), &[1.0; 2]);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::RankMismatch`] if the rank exceeds the maximum.
    pub fn ones(dims: &[usize]) -> Result<Self> {
        Self::filled("ones", dims, F::one())
    }

    /// A tensor whose element at multi-index `idx` is `f(idx)`.
    ///
    /// ```
    /// let eye = gradsign::Tensor::<f64>::from_fn(&[2, 2], |i| if i[0] == i[1] { 1.0 } else { 0.0 })?;
    /// assert_eq!(eye.as_slice(), &[1.0, 0.0, 0.0, 1.0]);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::RankMismatch`] if the rank exceeds the maximum.
    pub fn from_fn(dims: &[usize], mut f: impl FnMut(&[usize]) -> F) -> Result<Self> {
        let shape = Shape::new(dims)?;
        let n = shape.numel();
        let mut data = buffer("from_fn", shape)?;
        let mut idx = vec![0usize; dims.len()];
        for _ in 0..n {
            data.push(f(&idx));
            for ax in (0..dims.len()).rev() {
                idx[ax] += 1;
                if idx[ax] < dims[ax] {
                    break;
                }
                idx[ax] = 0;
            }
        }
        Ok(Tensor { data, shape })
    }

    /// Independent draws from the uniform distribution on `[low, high)`,
    /// reproducible bit for bit from `seed` (ChaCha8).
    ///
    /// The draws are made in `f64` and rounded to `F`, drawing again when
    /// rounding lands on `high`. A range wider than `f64` can span
    /// (`high − low` overflows, as for `[−f64::MAX, f64::MAX)`) is sampled
    /// as `low·(1 − u) + high·u` with `u` uniform on `[0, 1)`, which cannot
    /// overflow.
    ///
    /// ```
    /// use gradsign::Tensor;
    /// let a = Tensor::<f64>::rand_uniform(&[100], 0.0, 1.0, 7)?;
    /// assert!(a.as_slice().iter().all(|&x| (0.0..1.0).contains(&x)));
    /// assert_eq!(a, Tensor::rand_uniform(&[100], 0.0, 1.0, 7)?);
    /// let wide = Tensor::<f64>::rand_uniform(&[100], -f64::MAX, f64::MAX, 7)?;
    /// assert!(wide.all_finite());
    /// assert!(Tensor::<f64>::rand_uniform(&[1], 1.0, f64::NAN, 7).is_err());
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::OutOfDomain`] unless `low < high` and both are finite;
    /// as [`zeros`](Self::zeros) for the shape.
    pub fn rand_uniform(dims: &[usize], low: F, high: F, seed: u64) -> Result<Self> {
        let shape = Shape::new(dims)?;
        let (lo, hi) = (low.to_f64(), high.to_f64());
        if !(low.is_finite() && high.is_finite() && low < high) {
            return Err(Error::out_of_domain(
                "rand_uniform",
                "the interval [low, high)",
                "finite with low < high",
                format_args!("[{}, {})", num(lo), num(hi)),
            ));
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut data = buffer("rand_uniform", shape)?;
        match Uniform::new(lo, hi) {
            Ok(dist) => data.extend((0..shape.numel()).map(|_| {
                loop {
                    // A draw just below `high` can round up to it in a
                    // narrower `F` (f32): draw again, so the interval stays
                    // half-open.
                    let x = F::from_f64(dist.sample(&mut rng));
                    if x < high {
                        break x;
                    }
                }
            })),
            // `hi − lo` overflows f64: interpolate instead of scaling.
            Err(_) => {
                let unit = Uniform::new(0.0f64, 1.0).expect("0 < 1");
                data.extend((0..shape.numel()).map(|_| {
                    loop {
                        let u = unit.sample(&mut rng);
                        let x = F::from_f64(lo * (1.0 - u) + hi * u);
                        if low <= x && x < high {
                            break x;
                        }
                    }
                }));
            }
        }
        Ok(Tensor { data, shape })
    }

    /// Independent draws from `N(mean, std²)`, reproducible from `seed`
    /// (ChaCha8), drawn in `f64` and rounded to `F`.
    ///
    /// The parameters are checked in `F`: both finite, `std ≥ 0`, and
    /// `|mean| + 16·std` finite in `F`, so that every draw within 16
    /// standard deviations of the mean (all but a fraction below 10⁻⁵⁶ of
    /// them) is a finite `F`.
    ///
    /// ```
    /// let t = gradsign::Tensor::<f32>::rand_normal(&[4, 4], 0.0, 1.0, 1)?;
    /// assert_eq!(t.numel(), 16);
    /// assert!(gradsign::Tensor::<f32>::rand_normal(&[4], 0.0, -1.0, 1).is_err());
    /// assert!(gradsign::Tensor::<f32>::rand_normal(&[4], 0.0, 1e38, 1).is_err());
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::OutOfDomain`] unless the parameters are as above; as
    /// [`zeros`](Self::zeros) for the shape; [`Error::NonFinite`] should a
    /// draw beyond 16 standard deviations still overflow `F`.
    pub fn rand_normal(dims: &[usize], mean: F, std: F, seed: u64) -> Result<Self> {
        let shape = Shape::new(dims)?;
        let reach = mean.abs() + std * F::from_f64(16.0);
        if !(mean.is_finite() && std.is_finite() && std >= F::zero() && reach.is_finite()) {
            return Err(Error::out_of_domain(
                "rand_normal",
                "the mean and std",
                format!("finite, std ≥ 0, |mean| + 16·std finite in {}", F::NAME),
                format_args!("mean {}, std {}", num(mean.to_f64()), num(std.to_f64())),
            ));
        }
        let (m, s) = (mean.to_f64(), std.to_f64());
        let dist = Normal::new(m, s).map_err(|e| {
            Error::out_of_domain(
                "rand_normal",
                "the mean and std",
                format!("accepted by the sampler ({e})"),
                format_args!("mean {m:?}, std {s:?}"),
            )
        })?;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut data = buffer("rand_normal", shape)?;
        for i in 0..shape.numel() {
            let x = F::from_f64(dist.sample(&mut rng));
            if !x.is_finite() {
                return Err(Error::NonFinite {
                    op: "rand_normal",
                    what: format!(
                        "draw {i} of N({m:?}, {s:?}²) overflows {} (seed {seed})",
                        F::NAME
                    ),
                });
            }
            data.push(x);
        }
        Ok(Tensor { data, shape })
    }

    /// The shape.
    #[inline]
    pub fn shape(&self) -> Shape {
        self.shape
    }

    /// The dimensions.
    #[inline]
    pub fn dims(&self) -> &[usize] {
        self.shape.dims()
    }

    /// The rank (number of dimensions).
    #[inline]
    pub fn rank(&self) -> usize {
        self.shape.rank()
    }

    /// The number of elements.
    #[inline]
    pub fn numel(&self) -> usize {
        self.data.len()
    }

    /// The row-major data.
    #[inline]
    pub fn as_slice(&self) -> &[F] {
        &self.data
    }

    /// The row-major data, mutably (the shape cannot change).
    #[inline]
    pub fn as_mut_slice(&mut self) -> &mut [F] {
        &mut self.data
    }

    /// A copy of the data.
    pub fn to_vec(&self) -> Vec<F> {
        self.data.clone()
    }

    /// The data, consuming the tensor.
    pub fn into_vec(self) -> Vec<F> {
        self.data
    }

    /// The single value of a one-element tensor.
    ///
    /// # Errors
    /// [`Error::RankMismatch`] if the tensor has more than one element.
    pub fn item(&self) -> Result<F> {
        if self.data.len() == 1 {
            Ok(self.data[0])
        } else {
            Err(Error::RankMismatch {
                op: "item",
                expected: "0 (one element)",
                shape: self.shape,
            })
        }
    }

    /// The flat offset of a multi-index.
    ///
    /// # Errors
    /// [`Error::Incompatible`] if `index` has the wrong length,
    /// [`Error::IndexOutOfRange`] if a component is too large.
    pub fn offset(&self, index: &[usize]) -> Result<usize> {
        if index.len() != self.rank() {
            return Err(Error::incompatible(
                "index",
                format!(
                    "index {index:?} has {} components but shape {} has rank {}",
                    index.len(),
                    self.shape,
                    self.rank()
                ),
            ));
        }
        let strides = self.shape.strides();
        let mut off = 0;
        for (ax, (&i, &d)) in index.iter().zip(self.dims()).enumerate() {
            if i >= d {
                return Err(Error::IndexOutOfRange {
                    op: "index",
                    index: i,
                    bound: d,
                    shape: self.shape,
                });
            }
            off += i * strides[ax];
        }
        Ok(off)
    }

    /// The element at a multi-index.
    ///
    /// # Errors
    /// As [`offset`](Self::offset).
    pub fn get(&self, index: &[usize]) -> Result<F> {
        Ok(self.data[self.offset(index)?])
    }

    /// Sets the element at a multi-index.
    ///
    /// # Errors
    /// As [`offset`](Self::offset).
    pub fn set(&mut self, index: &[usize], value: F) -> Result<()> {
        let off = self.offset(index)?;
        self.data[off] = value;
        Ok(())
    }

    /// The same data with a new shape of equal size.
    ///
    /// ```
    /// let t = gradsign::Tensor::<f64>::zeros(&[2, 3])?.reshape(&[3, 2])?;
    /// assert_eq!(t.dims(), &[3, 2]);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] when the sizes differ;
    /// [`Error::RankMismatch`] for more than
    /// [`MAX_RANK`](crate::shape::MAX_RANK) dimensions.
    pub fn reshape(self, dims: &[usize]) -> Result<Self> {
        let shape = Shape::new(dims)?;
        if shape.numel() != self.data.len() {
            return Err(Error::ShapeMismatch {
                op: "reshape",
                lhs: self.shape,
                rhs: shape,
                reason: "the number of elements differs",
            });
        }
        Ok(Tensor {
            data: self.data,
            shape,
        })
    }

    /// Applies `f` to every element.
    ///
    /// ```
    /// let t = gradsign::Tensor::from_vec(vec![1.0f64, 4.0], &[2])?.map(f64::sqrt);
    /// assert_eq!(t.as_slice(), &[1.0, 2.0]);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    pub fn map(&self, f: impl Fn(F) -> F) -> Self {
        Tensor {
            data: self.data.iter().map(|&x| f(x)).collect(),
            shape: self.shape,
        }
    }

    /// The transpose of a 2-D tensor (a copy).
    ///
    /// # Errors
    /// [`Error::RankMismatch`] unless the tensor is 2-D.
    pub fn transpose(&self) -> Result<Self> {
        if self.rank() != 2 {
            return Err(Error::RankMismatch {
                op: "transpose",
                expected: "2",
                shape: self.shape,
            });
        }
        let (r, c) = (self.dims()[0], self.dims()[1]);
        let mut data = Vec::with_capacity(r * c);
        for j in 0..c {
            for i in 0..r {
                data.push(self.data[i * c + j]);
            }
        }
        Ok(Tensor {
            data,
            shape: Shape::matrix(c, r),
        })
    }

    /// Converts every element to another float type.
    ///
    /// ```
    /// let t = gradsign::Tensor::from_vec(vec![0.5f64], &[1])?.cast::<f32>();
    /// assert_eq!(t.as_slice(), &[0.5f32]);
    /// # Ok::<(), gradsign::Error>(())
    /// ```
    pub fn cast<G: Element>(&self) -> Tensor<G> {
        Tensor {
            data: self.data.iter().map(|&x| G::from_f64(x.to_f64())).collect(),
            shape: self.shape,
        }
    }

    /// Whether every element is finite.
    pub fn all_finite(&self) -> bool {
        crate::kernels::all_finite(&self.data)
    }
}

/// `x` for a message: plain (`1`, `0.5`) unless so large or small that the
/// plain form would run to hundreds of digits.
fn num(x: f64) -> String {
    if x == 0.0 || !x.is_finite() || (1e-6..1e16).contains(&x.abs()) {
        x.to_string()
    } else {
        format!("{x:e}")
    }
}

/// An empty buffer with room for `shape`'s elements, or an error naming
/// `op` when that many cannot be allocated (more bytes than `isize::MAX`, or
/// the allocator refuses): an impossible size is bad input, not a reason to
/// abort the process.
fn buffer<F>(op: &'static str, shape: Shape) -> Result<Vec<F>> {
    let n = shape.numel();
    let mut data = Vec::new();
    data.try_reserve_exact(n).map_err(|e| Error::TooLarge {
        op,
        what: format!(
            "shape {shape} ({n} elements of {} bytes)",
            std::mem::size_of::<F>()
        ),
        reason: e.to_string(),
    })?;
    Ok(data)
}

impl<F: Element> std::ops::Index<&[usize]> for Tensor<F> {
    type Output = F;

    /// # Panics
    /// If the index has the wrong rank or is out of range; use
    /// [`Tensor::get`] for a `Result`.
    #[track_caller]
    fn index(&self, index: &[usize]) -> &F {
        match self.offset(index) {
            Ok(off) => &self.data[off],
            Err(e) => panic!("{e}"),
        }
    }
}

impl<F: Element> fmt::Debug for Tensor<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tensor<{}>{} ", F::NAME, self.shape)?;
        fmt::Display::fmt(self, f)
    }
}

/// Shows at most this many entries per axis (first and last halves).
const SHOW: usize = 6;

impl<F: Element> fmt::Display for Tensor<F> {
    /// NumPy-like nested brackets; long axes are elided with `...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn rec<F: Element>(
            f: &mut fmt::Formatter<'_>,
            data: &[F],
            dims: &[usize],
            depth: usize,
        ) -> fmt::Result {
            if dims.is_empty() {
                return write!(f, "{:.6}", data[0]);
            }
            let n = dims[0];
            let stride: usize = dims[1..].iter().product();
            write!(f, "[")?;
            for i in 0..n {
                if n > SHOW && i == SHOW / 2 {
                    write!(f, "...")?;
                    if dims.len() > 1 {
                        write!(f, ",\n{:width$}", "", width = depth + 1)?;
                    } else {
                        write!(f, ", ")?;
                    }
                }
                if n > SHOW && i >= SHOW / 2 && i < n - SHOW / 2 {
                    continue;
                }
                rec(
                    f,
                    &data[i * stride..(i + 1) * stride],
                    &dims[1..],
                    depth + 1,
                )?;
                if i + 1 < n {
                    if dims.len() > 1 {
                        write!(f, ",\n{:width$}", "", width = depth + 1)?;
                    } else {
                        write!(f, ", ")?;
                    }
                }
            }
            write!(f, "]")
        }
        if self.data.is_empty() {
            return write!(f, "[] (shape {})", self.shape);
        }
        rec(f, &self.data, self.dims(), 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_vec_rejects_wrong_length_naming_the_shape() {
        let err = Tensor::<f32>::from_vec(vec![1.0; 5], &[2, 3]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "from_vec: 5 values cannot fill shape [2, 3] (needs 6)"
        );
    }

    #[test]
    fn display_is_readable() {
        let t = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
        assert_eq!(
            t.to_string(),
            "[[1.000000, 2.000000],\n [3.000000, 4.000000]]"
        );
        let long = Tensor::from_fn(&[10], |i| i[0] as f64).unwrap();
        assert!(long.to_string().contains("..."));
        assert_eq!(Tensor::scalar(1.5f64).to_string(), "1.500000");
    }

    #[test]
    fn index_errors_name_the_shape() {
        let t = Tensor::<f64>::zeros(&[2, 3]).unwrap();
        let err = t.get(&[2, 0]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "index: index 2 is out of range 2 for shape [2, 3]"
        );
        assert!(t.get(&[0]).is_err());
    }

    #[test]
    fn seeded_fills_are_reproducible_and_seed_dependent() {
        let a = Tensor::<f64>::rand_normal(&[50], 0.0, 1.0, 3).unwrap();
        let b = Tensor::<f64>::rand_normal(&[50], 0.0, 1.0, 3).unwrap();
        let c = Tensor::<f64>::rand_normal(&[50], 0.0, 1.0, 4).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(Tensor::<f64>::rand_uniform(&[2], 1.0, 1.0, 0).is_err());
    }
}
