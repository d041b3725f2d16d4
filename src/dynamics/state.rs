//! The recorder's per-weight state, kept in the precision of the values it
//! is fed: `f32` weights get `f32` state (half the memory traffic of `f64`
//! and twice the SIMD lanes), every other element type `f64`.

use std::any::TypeId;
use std::fmt::Debug;

use crate::element::Element;

use super::row::{Along, Lanes, RowAcc};

/// A float the state can be kept in.
pub(crate) trait StateFloat:
    num_traits::Float + Default + Debug + Send + Sync + 'static
{
    /// Converts an element (exact when `F` is `Self`).
    fn of<F: Element>(x: F) -> Self;
    /// Converts from `f64` (rounded for `f32`).
    fn of_f64(x: f64) -> Self;
    /// Converts to `f64` (exact).
    fn as_f64(self) -> f64;
}

impl StateFloat for f32 {
    #[inline(always)]
    fn of<F: Element>(x: F) -> f32 {
        // For `F = f32` the widening and narrowing cancel: no conversion
        // is left in the loop.
        x.to_f64() as f32
    }
    #[inline(always)]
    fn of_f64(x: f64) -> f32 {
        x as f32
    }
    #[inline(always)]
    fn as_f64(self) -> f64 {
        f64::from(self)
    }
}

impl StateFloat for f64 {
    #[inline(always)]
    fn of<F: Element>(x: F) -> f64 {
        x.to_f64()
    }
    #[inline(always)]
    fn of_f64(x: f64) -> f64 {
        x
    }
    #[inline(always)]
    fn as_f64(self) -> f64 {
        self
    }
}

/// The layer's rows `[W_j, b_j]`, one after another, in precision `S`.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Rows<S> {
    /// `W_t` (fed updates: `Σ_s u_s`, from 0).
    weights: Vec<S>,
    /// `W_0`, so that `Σ_t u_t = W_t − W_0` needs no running sum.
    start: Vec<S>,
    /// `u_{t−1}` and `u_t`, alternating: each fold reads one and writes the
    /// other, so the previous update needs no copy.
    updates: [Vec<S>; 2],
    /// Which of `updates` holds the latest update.
    latest: usize,
    /// The tracked direction (one row), or empty.
    unit: Vec<S>,
    /// The target rows `W*` in error mode, or empty.
    target: Vec<S>,
}

/// How the layer is fed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Feed {
    /// The weights after each step: `u_t = W_t − W_{t−1}`.
    Weights,
    /// The updates themselves, times a scale (−1 for a gradient).
    Updates,
}

impl<S: StateFloat> Rows<S> {
    fn new(
        op: &'static str,
        len: usize,
        unit: Option<&[f64]>,
        target: Option<&[f64]>,
    ) -> crate::error::Result<Self> {
        let convert = |v: Option<&[f64]>| -> crate::error::Result<Vec<S>> {
            let v = v.unwrap_or(&[]);
            let mut out = Vec::new();
            super::try_grow(op, "the tracked direction", &mut out, v.len())?;
            out.extend(v.iter().map(|&x| S::of_f64(x)));
            Ok(out)
        };
        let what = format!("the recorder's state ({len} weights)");
        let zeros = || super::try_filled(op, &what, len, S::zero());
        Ok(Rows {
            weights: zeros()?,
            start: zeros()?,
            updates: [zeros()?, zeros()?],
            latest: 0,
            unit: convert(unit)?,
            target: convert(target)?,
        })
    }

    fn set_direction(&mut self, unit: &[f64], target: Option<&[f64]>) {
        self.unit.clear();
        self.unit.extend(unit.iter().map(|&x| S::of_f64(x)));
        self.target.clear();
        if let Some(t) = target {
            self.target.extend(t.iter().map(|&x| S::of_f64(x)));
        }
    }

    fn along(&self) -> Along {
        match (self.unit.is_empty(), self.target.is_empty()) {
            (true, _) => Along::Nothing,
            (false, true) => Along::Update,
            (false, false) => Along::Error,
        }
    }

    /// Stores the first weights as `W_0` (and `W_t`); rows are `r` long, the
    /// weight part `k`.
    fn store_first<F: Element>(&mut self, weight: &[F], bias: Option<&[F]>, k: usize, r: usize) {
        for (j, row) in self.weights.chunks_exact_mut(r).enumerate() {
            for (o, &x) in row.iter_mut().zip(&weight[j * k..(j + 1) * k]) {
                *o = S::of(x);
            }
            if let Some(b) = bias {
                row[k] = S::of(b[j]);
            }
        }
        self.start.copy_from_slice(&self.weights);
    }

    /// `(W_t − target)·unit` of row `j`, in `f64`.
    fn error_component(&self, j: usize, r: usize) -> f64 {
        let range = j * r..(j + 1) * r;
        self.weights[range.clone()]
            .iter()
            .zip(&self.target[range])
            .zip(&self.unit)
            .map(|((w, t), u)| (w.as_f64() - t.as_f64()) * u.as_f64())
            .sum()
    }

    /// `‖W_t − W_0‖` of row `j`.
    fn net_norm(&self, j: usize, r: usize) -> f64 {
        let range = j * r..(j + 1) * r;
        self.weights[range.clone()]
            .iter()
            .zip(&self.start[range])
            .map(|(w, s)| (w.as_f64() - s.as_f64()).powi(2))
            .sum::<f64>()
            .sqrt()
    }

    /// One pass over the layer (weight part `k` wide, rows one longer with
    /// a bias): row `j`'s totals go to `each(j, totals)`.
    fn fold<F: Element>(
        &mut self,
        feed: Feed,
        scale: f64,
        values: &[F],
        bias: Option<&[F]>,
        k: usize,
        mut each: impl FnMut(usize, RowAcc),
    ) {
        let r = k + usize::from(bias.is_some());
        let along = self.along();
        let scale = S::of_f64(scale);
        let Rows {
            weights,
            updates,
            latest,
            unit,
            target,
            ..
        } = self;
        let (first, second) = updates.split_at_mut(1);
        let (previous, current) = if *latest == 0 {
            (&first[0], &mut second[0])
        } else {
            (&second[0], &mut first[0])
        };
        *latest = 1 - *latest;
        for (j, ((w, p), q)) in weights
            .chunks_exact_mut(r)
            .zip(current.chunks_exact_mut(r))
            .zip(previous.chunks_exact(r))
            .enumerate()
        {
            let t = if along == Along::Error {
                &target[j * r..(j + 1) * r]
            } else {
                &[][..]
            };
            let row = &values[j * k..(j + 1) * k];
            let mut lanes = Lanes::<S>::default();
            match feed {
                Feed::Weights => lanes.fold::<true, F>(along, row, w, p, t, unit, scale, q),
                Feed::Updates => lanes.fold::<false, F>(along, row, w, p, t, unit, scale, q),
            }
            if let Some(b) = bias {
                let x = [b[j]];
                let (w, p, q) = (&mut w[k..], &mut p[k..], &q[k..]);
                let (t, unit) = (t.get(k..).unwrap_or(&[]), unit.get(k..).unwrap_or(&[]));
                match feed {
                    Feed::Weights => lanes.fold::<true, F>(along, &x, w, p, t, unit, scale, q),
                    Feed::Updates => lanes.fold::<false, F>(along, &x, w, p, t, unit, scale, q),
                }
            }
            each(j, lanes.total(r, along));
        }
    }
}

/// The state in the precision chosen by the first values fed.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum State {
    /// For `f32` values.
    F32(Rows<f32>),
    /// For everything else.
    F64(Rows<f64>),
}

/// Runs the same code on either precision.
macro_rules! on_rows {
    ($state:expr, $rows:ident => $body:expr) => {
        match $state {
            State::F32($rows) => $body,
            State::F64($rows) => $body,
        }
    };
}

impl State {
    /// Zeroed state of `len` weights for values of type `F`, with the tracked
    /// direction and target (if any) converted to its precision.
    ///
    /// # Errors
    /// [`Error::TooLarge`](crate::Error::TooLarge) naming `op`
    /// when the state cannot be allocated.
    pub(super) fn new<F: Element>(
        op: &'static str,
        len: usize,
        unit: Option<&[f64]>,
        target: Option<&[f64]>,
    ) -> crate::error::Result<Self> {
        Ok(if TypeId::of::<F>() == TypeId::of::<f32>() {
            State::F32(Rows::new(op, len, unit, target)?)
        } else {
            State::F64(Rows::new(op, len, unit, target)?)
        })
    }

    /// Replaces the tracked direction and target (none: update mode).
    pub(super) fn set_direction(&mut self, unit: &[f64], target: Option<&[f64]>) {
        on_rows!(self, rows => rows.set_direction(unit, target))
    }

    pub(super) fn store_first<F: Element>(
        &mut self,
        weight: &[F],
        bias: Option<&[F]>,
        k: usize,
        r: usize,
    ) {
        on_rows!(self, rows => rows.store_first(weight, bias, k, r))
    }

    pub(super) fn error_component(&self, j: usize, r: usize) -> f64 {
        on_rows!(self, rows => rows.error_component(j, r))
    }

    pub(super) fn net_norm(&self, j: usize, r: usize) -> f64 {
        on_rows!(self, rows => rows.net_norm(j, r))
    }

    pub(super) fn fold<F: Element>(
        &mut self,
        feed: Feed,
        scale: f64,
        values: &[F],
        bias: Option<&[F]>,
        k: usize,
        each: impl FnMut(usize, RowAcc),
    ) {
        on_rows!(self, rows => rows.fold(feed, scale, values, bias, k, each))
    }
}
