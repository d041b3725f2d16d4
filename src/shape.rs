//! Shapes, NumPy broadcasting, and the one helper that sums a gradient back
//! to an input's shape.
//!
//! A [`Shape`] is stored inline (no heap allocation), which is what lets the
//! tape record a node without allocating. The rank is at most [`MAX_RANK`].

use std::fmt;

use crate::error::{Error, Result};

/// The largest rank a tensor may have: enough for batches of matrices and
/// per-example gradients (`B×J×K`), and small enough that a shape (and so an
/// error naming two shapes) stays small.
pub const MAX_RANK: usize = 4;

/// The shape of a dense row-major tensor: up to [`MAX_RANK`] dimensions,
/// stored inline. A rank-0 shape is a scalar and has one element.
///
/// ```
/// use gradsign::Shape;
/// let s = Shape::new(&[2, 3])?;
/// assert_eq!(s.dims(), &[2, 3]);
/// assert_eq!(s.numel(), 6);
/// assert_eq!(s.to_string(), "[2, 3]");
/// assert_eq!(Shape::scalar().numel(), 1);
/// # Ok::<(), gradsign::Error>(())
/// ```
#[derive(Clone, Copy, Default)]
pub struct Shape {
    dims: [usize; MAX_RANK],
    rank: u8,
}

impl Shape {
    /// A shape from its dimensions.
    ///
    /// # Errors
    /// [`Error::RankMismatch`] if `dims` has more than [`MAX_RANK`] entries;
    /// [`Error::InvalidArgument`] if the number of elements, or the product
    /// of the non-zero dimensions, overflows a `usize`. (An empty shape such
    /// as `[0, 2⁴⁰, 2⁴⁰]` has no elements, but its row-major strides, and the
    /// loop bounds of every kernel, would overflow.)
    pub fn new(dims: &[usize]) -> Result<Self> {
        if dims.len() > MAX_RANK {
            return Err(Error::RankMismatch {
                op: "shape",
                expected: "at most 4",
                shape: Shape::truncated(dims),
            });
        }
        if extent(dims).is_none() {
            return Err(Error::TooLarge {
                op: "shape",
                what: format!("{dims:?}"),
                reason: "it has more elements than a usize can count".into(),
            });
        }
        let mut s = Shape::scalar();
        s.dims[..dims.len()].copy_from_slice(dims);
        s.rank = dims.len() as u8;
        Ok(s)
    }

    /// The first [`MAX_RANK`] dimensions of `dims`, for error messages only.
    fn truncated(dims: &[usize]) -> Self {
        let n = dims.len().min(MAX_RANK);
        let mut s = Shape::scalar();
        s.dims[..n].copy_from_slice(&dims[..n]);
        s.rank = n as u8;
        s
    }

    /// The rank-0 (scalar) shape `[]`.
    pub const fn scalar() -> Self {
        Shape {
            dims: [0; MAX_RANK],
            rank: 0,
        }
    }

    /// A rank-1 shape `[n]`.
    pub const fn vector(n: usize) -> Self {
        let mut dims = [0; MAX_RANK];
        dims[0] = n;
        Shape { dims, rank: 1 }
    }

    /// A rank-2 shape `[rows, cols]`.
    pub const fn matrix(rows: usize, cols: usize) -> Self {
        let mut dims = [0; MAX_RANK];
        dims[0] = rows;
        dims[1] = cols;
        Shape { dims, rank: 2 }
    }

    /// The dimensions.
    #[inline]
    pub fn dims(&self) -> &[usize] {
        &self.dims[..self.rank as usize]
    }

    /// The number of dimensions.
    #[inline]
    pub fn rank(&self) -> usize {
        self.rank as usize
    }

    /// The number of elements: the product of the dimensions (1 for a scalar).
    #[inline]
    pub fn numel(&self) -> usize {
        self.dims().iter().product()
    }

    /// Whether the shape has no elements (some dimension is 0).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.numel() == 0
    }

    /// Dimension `axis`.
    ///
    /// # Errors
    /// [`Error::AxisOutOfRange`] if `axis >= rank`.
    pub fn dim(&self, axis: usize) -> Result<usize> {
        self.check_axis("dim", axis)?;
        Ok(self.dims[axis])
    }

    /// Checks that `axis < rank`, naming `op` in the error.
    pub(crate) fn check_axis(&self, op: &'static str, axis: usize) -> Result<()> {
        if axis < self.rank() {
            Ok(())
        } else {
            Err(Error::AxisOutOfRange {
                op,
                axis,
                shape: *self,
            })
        }
    }

    /// Row-major strides (in elements).
    pub fn strides(&self) -> [usize; MAX_RANK] {
        let mut strides = [0; MAX_RANK];
        let mut acc = 1;
        for i in (0..self.rank()).rev() {
            strides[i] = acc;
            acc *= self.dims[i];
        }
        strides
    }

    /// This shape with dimension `axis` replaced by `len` (or removed when
    /// `len` is `None`).
    pub(crate) fn with_axis(&self, axis: usize, len: Option<usize>) -> Shape {
        let mut out = Shape::scalar();
        let mut r = 0;
        for (i, &d) in self.dims().iter().enumerate() {
            if i == axis {
                if let Some(l) = len {
                    out.dims[r] = l;
                    r += 1;
                }
            } else {
                out.dims[r] = d;
                r += 1;
            }
        }
        out.rank = r as u8;
        out
    }

    /// The sizes before `axis`, at `axis` and after it: the three loop bounds
    /// of every axis-wise kernel.
    pub(crate) fn split_at_axis(&self, axis: usize) -> (usize, usize, usize) {
        let d = self.dims();
        let outer = d[..axis].iter().product();
        let inner = d[axis + 1..].iter().product();
        (outer, d[axis], inner)
    }
}

impl PartialEq for Shape {
    /// Element-wise, without a `memcmp` call: shapes are compared on every
    /// recorded op. Unused dimensions are always 0, so comparing all of them
    /// is exact.
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.rank == other.rank
            && self
                .dims
                .iter()
                .zip(&other.dims)
                .fold(true, |acc, (a, b)| acc & (a == b))
    }
}

impl Eq for Shape {}

impl std::hash::Hash for Shape {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.dims().hash(state);
    }
}

impl fmt::Debug for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[")?;
        for (i, d) in self.dims().iter().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{d}")?;
        }
        write!(f, "]")
    }
}

impl TryFrom<&[usize]> for Shape {
    type Error = Error;
    fn try_from(dims: &[usize]) -> Result<Self> {
        Shape::new(dims)
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Shape {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.dims().serialize(s)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Shape {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let dims = Vec::<usize>::deserialize(d)?;
        Shape::new(&dims).map_err(serde::de::Error::custom)
    }
}

/// The NumPy broadcast of two shapes: align trailing dimensions; each pair
/// must be equal or contain a 1.
///
/// ```
/// use gradsign::{shape::broadcast_shapes, Shape};
/// let a = Shape::new(&[4, 1, 3])?;
/// let b = Shape::new(&[2, 1])?;
/// assert_eq!(broadcast_shapes("add", a, b)?.dims(), &[4, 2, 3]);
/// assert!(broadcast_shapes("add", Shape::vector(3), Shape::vector(4)).is_err());
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// # Errors
/// [`Error::ShapeMismatch`] naming `op` and both shapes.
pub fn broadcast_shapes(op: &'static str, lhs: Shape, rhs: Shape) -> Result<Shape> {
    if lhs == rhs {
        return Ok(lhs);
    }
    let rank = lhs.rank().max(rhs.rank());
    let mut out = Shape::scalar();
    out.rank = rank as u8;
    for i in 0..rank {
        let a = dim_from_end(lhs, rank - 1 - i);
        let b = dim_from_end(rhs, rank - 1 - i);
        out.dims[i] = match (a, b) {
            (a, b) if a == b => a,
            (1, b) => b,
            (a, 1) => a,
            _ => {
                return Err(Error::ShapeMismatch {
                    op,
                    lhs,
                    rhs,
                    reason: "",
                });
            }
        };
    }
    // Each operand's count fits a usize, but [n, 1] against [1, n] can
    // broadcast to n² elements, which need not.
    if extent(&out.dims[..rank]).is_none() {
        return Err(Error::ShapeMismatch {
            op,
            lhs,
            rhs,
            reason: "the broadcast shape has more elements than a usize can count",
        });
    }
    Ok(out)
}

/// The product of the non-zero dimensions, if it fits a `usize`: it bounds
/// the element count and every stride and loop bound of the shape, so a
/// shape whose extent fits can be iterated without overflow.
pub(crate) fn extent(dims: &[usize]) -> Option<usize> {
    dims.iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d.max(1)))
}

/// Dimension `k` counted from the end (0 = last); 1 beyond the rank.
fn dim_from_end(s: Shape, k: usize) -> usize {
    if k < s.rank() {
        s.dims[s.rank() - 1 - k]
    } else {
        1
    }
}

/// Strides that read an input of shape `input` as if it had the broadcast
/// shape `out`: broadcast dimensions get stride 0.
pub(crate) fn broadcast_strides(input: Shape, out: Shape) -> [usize; MAX_RANK] {
    let own = input.strides();
    let mut strides = [0; MAX_RANK];
    let offset = out.rank() - input.rank();
    for i in 0..input.rank() {
        if input.dims[i] != 1 {
            strides[offset + i] = own[i];
        }
    }
    strides
}

/// Calls `f(out_index, in_offset)` for every element of the broadcast shape
/// `out`, in row-major order, with the matching offset into an input read
/// with `strides` (from [`broadcast_strides`]).
fn for_each_broadcast(out: Shape, strides: &[usize; MAX_RANK], mut f: impl FnMut(usize, usize)) {
    let rank = out.rank();
    let n = out.numel();
    if n == 0 {
        return;
    }
    if rank == 0 {
        f(0, 0);
        return;
    }
    let dims = out.dims();
    let last = rank - 1;
    let (inner, inner_stride) = (dims[last], strides[last]);
    let mut idx = [0usize; MAX_RANK];
    let mut base = 0usize;
    let mut o = 0usize;
    while o < n {
        let mut off = base;
        for _ in 0..inner {
            f(o, off);
            o += 1;
            off += inner_stride;
        }
        // Advance the multi-index over the outer dimensions.
        let mut ax = last;
        while ax > 0 {
            ax -= 1;
            idx[ax] += 1;
            base += strides[ax];
            if idx[ax] < dims[ax] {
                break;
            }
            base -= strides[ax] * dims[ax];
            idx[ax] = 0;
        }
    }
}

/// Calls `f(out_index, lhs_offset, rhs_offset)` for every element of the
/// broadcast shape `out`, reading two inputs with their broadcast strides.
pub(crate) fn for_each_broadcast2(
    out: Shape,
    sa: &[usize; MAX_RANK],
    sb: &[usize; MAX_RANK],
    mut f: impl FnMut(usize, usize, usize),
) {
    let rank = out.rank();
    let n = out.numel();
    if n == 0 {
        return;
    }
    if rank == 0 {
        f(0, 0, 0);
        return;
    }
    let dims = out.dims();
    let last = rank - 1;
    let (inner, ia, ib) = (dims[last], sa[last], sb[last]);
    let mut idx = [0usize; MAX_RANK];
    let (mut base_a, mut base_b) = (0usize, 0usize);
    let mut o = 0usize;
    while o < n {
        let (mut oa, mut ob) = (base_a, base_b);
        for _ in 0..inner {
            f(o, oa, ob);
            o += 1;
            oa += ia;
            ob += ib;
        }
        let mut ax = last;
        while ax > 0 {
            ax -= 1;
            idx[ax] += 1;
            base_a += sa[ax];
            base_b += sb[ax];
            if idx[ax] < dims[ax] {
                break;
            }
            base_a -= sa[ax] * dims[ax];
            base_b -= sb[ax] * dims[ax];
            idx[ax] = 0;
        }
    }
}

/// Sums `grad` (of the broadcast shape `grad_shape`) back to `target`'s shape
/// and **adds** it into `acc`: the VJP of broadcasting.
///
/// `target` must broadcast to `grad_shape` (it is an input of the op whose
/// output has `grad_shape`). The binary ops fuse this reduction with their
/// partial derivatives through the same broadcast strides, so no temporary
/// is allocated; this standalone form serves custom ops.
///
/// ```
/// use gradsign::{shape::accumulate_reduced, Shape};
/// let g = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]; // shape [2, 3]
/// let mut acc = [0.0; 3];                  // an input of shape [3]
/// accumulate_reduced(&g, Shape::matrix(2, 3), Shape::vector(3), &mut acc);
/// assert_eq!(acc, [5.0, 7.0, 9.0]);
/// ```
///
/// # Panics
/// If `acc` or `grad` is shorter than its shape.
pub fn accumulate_reduced<F: Copy + std::ops::AddAssign>(
    grad: &[F],
    grad_shape: Shape,
    target: Shape,
    acc: &mut [F],
) {
    if grad_shape == target {
        for (a, &g) in acc.iter_mut().zip(grad) {
            *a += g;
        }
        return;
    }
    let strides = broadcast_strides(target, grad_shape);
    for_each_broadcast(grad_shape, &strides, |o, i| acc[i] += grad[o]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_follows_numpy_rules() {
        let s = |d: &[usize]| Shape::new(d).unwrap();
        assert_eq!(
            broadcast_shapes("t", s(&[3]), s(&[2, 3])).unwrap(),
            s(&[2, 3])
        );
        assert_eq!(
            broadcast_shapes("t", s(&[]), s(&[2, 3])).unwrap(),
            s(&[2, 3])
        );
        assert_eq!(
            broadcast_shapes("t", s(&[2, 1]), s(&[1, 3])).unwrap(),
            s(&[2, 3])
        );
        assert!(broadcast_shapes("t", s(&[2, 3]), s(&[3, 2])).is_err());
    }

    #[test]
    fn accumulate_reduced_sums_broadcast_axes() {
        // grad of shape [2, 3] summed to [3] (column sums) and to [2, 1] (row sums).
        let g = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let gs = Shape::matrix(2, 3);
        let mut cols = [10.0; 3];
        accumulate_reduced(&g, gs, Shape::vector(3), &mut cols);
        assert_eq!(cols, [15.0, 17.0, 19.0]);
        let mut rows = [0.0; 2];
        accumulate_reduced(&g, gs, Shape::matrix(2, 1), &mut rows);
        assert_eq!(rows, [6.0, 15.0]);
        let mut all = [0.0];
        accumulate_reduced(&g, gs, Shape::scalar(), &mut all);
        assert_eq!(all, [21.0]);
    }

    #[test]
    fn too_many_dims_is_an_error() {
        let err = Shape::new(&[1; 5]).unwrap_err();
        assert!(err.to_string().contains("shape"), "{err}");
    }
}
