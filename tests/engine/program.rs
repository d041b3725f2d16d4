//! A tape-program interpreter driven by bytes: it picks ops, operands,
//! shapes and values, runs them forward, then backward from the last value.
//! Shared by the proptest in `tests/engine/random_programs.rs` and the fuzz target
//! `fuzz/fuzz_targets/tape_program.rs`.
//!
//! Only `try_` and `Result`-returning methods are called, so no panic is
//! allowed at all: a bad shape, axis, label or a non-finite value in checked
//! mode must come back as an `Err`. Invariants checked on the way: every
//! value has its shape's element count, every gradient has its variable's,
//! and a gradient exists exactly for the variables that need one.
#![allow(dead_code)]

use gradsign::activation::Activation;
use gradsign::loss::{self, Reduction};
use gradsign::ops::{concat, select};
use gradsign::{Element, Gradients, Tape, Var};

/// The input ran out: the program ends there.
#[derive(Debug)]
pub struct Exhausted;

type Res<T> = std::result::Result<T, Exhausted>;

/// Reads choices from a byte string, front to back.
pub struct Bytes<'a> {
    data: &'a [u8],
}

/// Integer types a [`Bytes`] can draw from a range.
pub trait Ranged: Copy {
    /// Widens.
    fn to_i128(self) -> i128;
    /// Narrows a value known to be in range.
    fn from_i128(v: i128) -> Self;
}

macro_rules! ranged {
    ($($t:ty),*) => {$(
        impl Ranged for $t {
            fn to_i128(self) -> i128 {
                self as i128
            }
            fn from_i128(v: i128) -> Self {
                v as $t
            }
        }
    )*};
}
ranged!(u8, i8, i32, usize);

impl<'a> Bytes<'a> {
    /// A reader over `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Bytes { data }
    }

    /// Whether every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    fn byte(&mut self) -> Res<u8> {
        let (&b, rest) = self.data.split_first().ok_or(Exhausted)?;
        self.data = rest;
        Ok(b)
    }

    fn u64(&mut self) -> Res<u64> {
        (0..8).try_fold(0u64, |acc, _| Ok(acc << 8 | u64::from(self.byte()?)))
    }

    /// A value in `range`, from one byte (from eight for wide ranges).
    pub fn int_in_range<T: Ranged>(&mut self, range: std::ops::RangeInclusive<T>) -> Res<T> {
        let (lo, hi) = (range.start().to_i128(), range.end().to_i128());
        let span = (hi - lo + 1) as u128;
        let raw = if span <= 256 {
            u128::from(self.byte()?)
        } else {
            u128::from(self.u64()?)
        };
        Ok(T::from_i128(lo + (raw % span) as i128))
    }

    /// A boolean.
    pub fn arbitrary_bool(&mut self) -> Res<bool> {
        Ok(self.byte()? & 1 == 1)
    }

    /// An index below `len` (`len > 0`).
    pub fn choose_index(&mut self, len: usize) -> Res<usize> {
        self.int_in_range(0..=len - 1)
    }
}

const MAX_VARS: usize = 24;
const MAX_STEPS: usize = 32;

fn dims(u: &mut Bytes<'_>) -> Res<Vec<usize>> {
    let rank = u.int_in_range(0usize..=4)?;
    (0..rank).map(|_| u.int_in_range(0usize..=4)).collect()
}

fn scalar<F: Element>(u: &mut Bytes<'_>) -> Res<F> {
    Ok(F::from_f64(match u.int_in_range(0u8..=15)? {
        0 => f64::NAN,
        1 => f64::INFINITY,
        2 => f64::NEG_INFINITY,
        3 => -0.0,
        4 => 1e300,
        5 => -1e-300,
        6 => f64::from_bits(u.u64()?),
        _ => f64::from(u.int_in_range(-12i8..=12)?) / 4.0,
    }))
}

fn leaf<'t, F: Element>(tape: &'t Tape<F>, u: &mut Bytes<'_>) -> Res<Var<'t, F>> {
    let d = dims(u)?;
    let n: usize = d.iter().product();
    let data = (0..n).map(|_| scalar(u)).collect::<Res<Vec<F>>>()?;
    let v = if u.arbitrary_bool()? {
        tape.var_from_slice(&data, &d)
    } else {
        tape.constant_from_slice(&data, &d)
    };
    Ok(v.expect("length matches shape"))
}

fn labels(u: &mut Bytes<'_>) -> Res<Vec<usize>> {
    (0..u.int_in_range(0usize..=6)?)
        .map(|_| u.int_in_range(0usize..=5))
        .collect()
}

fn reduction(u: &mut Bytes<'_>) -> Res<Reduction> {
    Ok(if u.arbitrary_bool()? {
        Reduction::Mean
    } else {
        Reduction::Sum
    })
}

fn activation(u: &mut Bytes<'_>) -> Res<Activation> {
    let p = f64::from(u.int_in_range(-4i8..=4)?) / 2.0;
    Ok(match u.int_in_range(0u8..=16)? {
        0 => Activation::Identity,
        1 => Activation::Sigmoid,
        2 => Activation::Tanh,
        3 => Activation::Relu,
        4 => Activation::LeakyRelu(p),
        5 => Activation::Elu(p),
        6 => Activation::Selu,
        7 => Activation::Gelu,
        8 => Activation::GeluTanh,
        9 => Activation::Silu,
        10 => Activation::Softplus(p),
        11 => Activation::Softsign,
        12 => Activation::HardTanh,
        13 => Activation::HardSigmoid,
        14 => Activation::Mish,
        15 => Activation::LecunTanh,
        _ => Activation::CentredSigmoid,
    })
}

/// One step: an op on operands picked from `vars`. `Ok(None)` when the op
/// (rightly) refused its operands.
fn step<'t, F: Element>(
    tape: &'t Tape<F>,
    vars: &[Var<'t, F>],
    u: &mut Bytes<'_>,
) -> Res<Option<Var<'t, F>>> {
    let pick = |u: &mut Bytes<'_>| -> Res<Var<'t, F>> { Ok(vars[u.choose_index(vars.len())?]) };
    let x = pick(u)?;
    let axis = u.int_in_range(0usize..=4)?;
    let r = match u.int_in_range(0u8..=21)? {
        0 => return leaf(tape, u).map(Some),
        1 => match u.int_in_range(0u8..=9)? {
            0 => x.try_exp(),
            1 => x.try_ln(),
            2 => x.try_sqrt(),
            3 => x.try_abs(),
            4 => x.try_square(),
            5 => x.try_recip(),
            6 => x.try_tanh(),
            7 => x.try_neg(),
            8 => x.try_powi(u.int_in_range(-3i32..=3)?),
            _ => x.try_powf(scalar(u)?),
        },
        2 => {
            let y = pick(u)?;
            match u.int_in_range(0u8..=5)? {
                0 => x.try_add(y),
                1 => x.try_sub(y),
                2 => x.try_mul(y),
                3 => x.try_div(y),
                4 => x.maximum(y),
                _ => x.minimum(y),
            }
        }
        3 => {
            let c = scalar(u)?;
            match u.int_in_range(0u8..=4)? {
                0 => x.try_add_scalar(c),
                1 => x.try_mul_scalar(c),
                2 => x.try_div_scalar(c),
                3 => x.try_rsub_scalar(c),
                _ => x.try_rdiv_scalar(c),
            }
        }
        4 => x.matmul(pick(u)?),
        5 => {
            let w = pick(u)?;
            let b = if u.arbitrary_bool()? {
                Some(pick(u)?)
            } else {
                None
            };
            x.linear(w, b)
        }
        6 => x.reshape(&dims(u)?),
        7 => x.transpose(),
        8 => x.slice(
            axis,
            u.int_in_range(0usize..=5)?,
            u.int_in_range(0usize..=5)?,
        ),
        9 => {
            let parts: Vec<_> = (0..u.int_in_range(0usize..=3)?)
                .map(|_| pick(u))
                .collect::<Res<_>>()?;
            concat(&parts, axis)
        }
        10 => match u.int_in_range(0u8..=3)? {
            0 => x.try_sum(),
            1 => x.mean(),
            2 => x.sum_axis(axis, u.arbitrary_bool()?),
            _ => x.mean_axis(axis, u.arbitrary_bool()?),
        },
        11 => {
            if u.arbitrary_bool()? {
                x.softmax(axis)
            } else {
                x.log_softmax(axis)
            }
        }
        12 => {
            let y = pick(u)?;
            let red = reduction(u)?;
            match u.int_in_range(0u8..=6)? {
                0 => loss::mse(x, y, red),
                1 => loss::mae(x, y, red),
                2 => loss::huber(x, y, scalar(u)?, red),
                3 => loss::bce_with_logits(x, y, red),
                4 => loss::hinge(x, y, red),
                5 => loss::softmax_cross_entropy(x, &labels(u)?, red),
                _ => loss::nll(x, &labels(u)?, red),
            }
        }
        13 => x.clamp(scalar(u)?, scalar(u)?),
        14 => x.gather(&labels(u)?),
        15 => x.index_select(axis, &labels(u)?),
        16 => select(x, pick(u)?, pick(u)?),
        17 => Ok(x.detach()),
        18 => Ok(x.mask(|v| v > F::zero())),
        19 => match u.int_in_range(0u8..=2)? {
            0 => x.leaky_relu(scalar(u)?),
            1 => x.elu(scalar(u)?),
            _ => x.softplus(scalar(u)?),
        },
        20 => activation(u)?.apply(x),
        _ => match u.int_in_range(0u8..=5)? {
            0 => x.try_sigmoid(),
            1 => x.try_relu(),
            2 => x.try_gelu(),
            3 => x.try_mish(),
            4 => x.try_silu(),
            _ => x.try_softsign(),
        },
    };
    Ok(r.ok())
}

/// Runs one program on a fresh tape (type `F`).
pub fn run<F: Element>(u: &mut Bytes<'_>) -> Res<()> {
    let mut tape = Tape::<F>::new();
    tape.set_checked(u.arbitrary_bool()?);
    tape.set_threads(u.int_in_range(1usize..=2)?);
    let mut grads = Gradients::new();
    // Two rounds on one tape: the second reuses the cleared buffers, and the
    // first round's gradients must refuse the second round's variables.
    for _round in 0..u.int_in_range(1u8..=2)? {
        tape.clear();
        let mut vars = vec![leaf(&tape, u)?];
        for _ in 0..MAX_STEPS {
            if u.is_empty() || vars.len() >= MAX_VARS {
                break;
            }
            if let Some(v) = step(&tape, &vars, u)? {
                vars.push(v);
            }
        }
        for v in &vars {
            assert_eq!(v.value().numel(), v.shape().numel());
        }
        let last = *vars.last().unwrap();
        let root = match last.try_sum() {
            Ok(r) => r,
            Err(_) => continue,
        };
        if root.backward_into(&mut grads).is_ok() {
            for v in &vars {
                match grads.get(*v) {
                    Ok(g) => assert_eq!(g.len(), v.shape().numel(), "{v:?}"),
                    Err(_) => assert!(!v.requires_grad(), "{v:?} has no gradient"),
                }
            }
        }
        let seed = gradsign::Tensor::full(last.shape().dims(), F::one()).unwrap();
        let _ = last.backward_with_seed(&seed);
        let _ = last.backward();
    }
    // A foreign variable is refused, never read.
    let other = Tape::<F>::new();
    let y = other.var_scalar(F::one());
    assert!(grads.get(y).is_err());
    Ok(())
}
