//! Tensor construction, broadcasting and reshape with arbitrary shapes.
//!
//! Every call takes user-controlled dimensions; the only allowed outcome of
//! bad input is an `Err`. Sizes are capped before any call that would
//! legitimately allocate that much (a user asking for 2^40 elements gets
//! them), except where the byte count cannot be represented at all: there
//! the constructors must fail without allocating.
#![no_main]

use arbitrary::{Result, Unstructured};
use gradsign::shape::{MAX_RANK, broadcast_shapes};
use gradsign::{Shape, Tape, Tensor};
use libfuzzer_sys::fuzz_target;

/// Element counts up to this are built for real.
const MAX_NUMEL: usize = 1 << 12;

fn dim(u: &mut Unstructured<'_>) -> Result<usize> {
    Ok(match u.int_in_range(0u8..=15)? {
        0 => usize::MAX,
        1 => 1 << 40,
        2 => u.arbitrary::<usize>()?,
        3 => 0,
        _ => u.int_in_range(1usize..=5)?,
    })
}

fn dims(u: &mut Unstructured<'_>) -> Result<Vec<usize>> {
    let rank = u.int_in_range(0usize..=MAX_RANK + 1)?;
    (0..rank).map(|_| dim(u)).collect()
}

/// The product of the non-zero dimensions: a valid shape's strides and loop
/// bounds all fit a usize exactly when this does.
fn extent(dims: &[usize]) -> Option<usize> {
    dims.iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d.max(1)))
}

/// The element count, for shapes that are valid (but for the rank) and
/// small enough to build.
fn small_numel(dims: &[usize]) -> Option<usize> {
    extent(dims)?;
    dims.iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .filter(|&n| n <= MAX_NUMEL)
}

/// Whether `n` elements of `f64` cannot be allocated at any size of memory.
fn unrepresentable(dims: &[usize]) -> bool {
    extent(dims).is_none()
        || dims
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(d))
            .is_none_or(|n| n.checked_mul(8).is_none_or(|b| b > isize::MAX as usize))
}

fn values(u: &mut Unstructured<'_>, n: usize) -> Result<Vec<f64>> {
    (0..n)
        .map(|_| {
            Ok(match u.int_in_range(0u8..=9)? {
                0 => f64::NAN,
                1 => f64::INFINITY,
                2 => -0.0,
                3 => f64::from_bits(u.arbitrary()?),
                _ => f64::from(u.int_in_range(-8i8..=8)?) / 2.0,
            })
        })
        .collect()
}

/// The NumPy rule, written independently of the crate.
fn naive_broadcast(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let r = a.len().max(b.len());
    let at = |s: &[usize], i: usize| {
        if i + s.len() >= r {
            s[i + s.len() - r]
        } else {
            1
        }
    };
    (0..r)
        .map(|i| match (at(a, i), at(b, i)) {
            (x, y) if x == y => Some(x),
            (1, y) => Some(y),
            (x, 1) => Some(x),
            _ => None,
        })
        .collect()
}

fn run(u: &mut Unstructured<'_>) -> Result<()> {
    let d1 = dims(u)?;
    let d2 = dims(u)?;

    // Shapes: valid iff rank ≤ 4 and the element count fits a usize.
    let s1 = Shape::new(&d1);
    let fits = extent(&d1).is_some();
    assert_eq!(s1.is_ok(), d1.len() <= MAX_RANK && fits, "{d1:?}");

    // Constructors: real data for small shapes, Err for impossible ones.
    if let Some(n) = small_numel(&d1) {
        let data = values(u, n)?;
        let t = Tensor::from_vec(data.clone(), &d1);
        assert_eq!(t.is_ok(), d1.len() <= MAX_RANK);
        let extra = u.int_in_range(0usize..=2)?;
        assert!(
            Tensor::from_vec(vec![0.0f64; n + extra], &d1).is_ok()
                == (extra == 0 && d1.len() <= MAX_RANK)
        );
        if let Ok(t) = t {
            assert_eq!(t.numel(), n);
            let z = Tensor::<f32>::zeros(&d1).expect("a small shape");
            assert_eq!(z.numel(), n);
            let f = Tensor::<f64>::from_fn(&d1, |i| i.iter().sum::<usize>() as f64).unwrap();
            assert_eq!(f.numel(), n);
            let idx = dims(u)?;
            let _ = t.get(&idx);
            let mut t2 = t.clone();
            let _ = t2.set(&idx, 1.0);
            let _ = t.item();
            let _ = t.transpose();
            // Reshape: Ok iff the new shape is valid and has as many elements.
            let r = t.clone().reshape(&d2);
            let same = Shape::new(&d2).is_ok_and(|s| s.numel() == n);
            assert_eq!(
                Shape::new(&d2).is_ok(),
                d2.len() <= MAX_RANK && extent(&d2).is_some()
            );
            assert_eq!(r.is_ok(), same, "{d1:?} -> {d2:?}");
            if let Ok(r) = r {
                assert_eq!(r.as_slice().len(), n);
            }
            let seed = u.arbitrary()?;
            let _ = Tensor::<f32>::rand_uniform(&d1, u.arbitrary()?, u.arbitrary()?, seed);
            let _ = Tensor::<f64>::rand_normal(&d1, u.arbitrary()?, u.arbitrary()?, seed);
        }
    } else if unrepresentable(&d1) {
        assert!(Tensor::<f64>::zeros(&d1).is_err(), "{d1:?}");
        assert!(Tensor::<f64>::full(&d1, 1.0).is_err(), "{d1:?}");
        assert!(Tensor::<f64>::from_fn(&d1, |_| 0.0).is_err(), "{d1:?}");
        assert!(
            Tensor::<f64>::rand_uniform(&d1, 0.0, 1.0, 0).is_err(),
            "{d1:?}"
        );
        assert!(
            Tensor::<f64>::rand_normal(&d1, 0.0, 1.0, 0).is_err(),
            "{d1:?}"
        );
    }

    // Broadcasting: the crate's rule against an independent one.
    if let (Ok(a), Ok(b)) = (Shape::new(&d1), Shape::new(&d2)) {
        let got = broadcast_shapes("fuzz", a, b);
        let want = naive_broadcast(&d1, &d2);
        match (&got, &want) {
            (Ok(s), Some(w)) => {
                assert_eq!(s.dims(), &w[..]);
                assert!(
                    extent(w).is_some(),
                    "{d1:?} and {d2:?} broadcast to an uncountable {s}"
                );
            }
            (Err(_), None) => {}
            // A broadcast whose extent overflows must be an error.
            (Err(_), Some(w)) => assert!(extent(w).is_none(), "{d1:?} and {d2:?}"),
            (Ok(s), None) => panic!("{d1:?} and {d2:?} broadcast to {s}"),
        }
        // On the tape, with values, against the naive element rule.
        if let (Some(na), Some(nb), Ok(so)) = (small_numel(&d1), small_numel(&d2), got) {
            if so.numel() <= MAX_NUMEL {
                let tape = Tape::<f64>::new();
                let xa = tape.var_from_slice(&values(u, na)?, &d1).unwrap();
                let xb = tape.var_from_slice(&values(u, nb)?, &d2).unwrap();
                let y = xa.try_add(xb).expect("broadcastable shapes");
                assert_eq!(y.shape(), so);
                let g = y.try_sum().unwrap().backward().unwrap();
                // d Σ(a + b)/da = how many output elements each a feeds.
                let ga = g.get(xa).unwrap();
                let fan = so.numel() / na.max(1);
                assert!(ga.iter().all(|&v| v == fan as f64), "{d1:?} + {d2:?}");
            }
        }
    }

    // Shape ops on the tape with arbitrary arguments.
    if let (Some(n), true) = (small_numel(&d1), d1.len() <= MAX_RANK) {
        let tape = Tape::<f64>::new();
        let x = tape.var_from_slice(&values(u, n)?, &d1).unwrap();
        let _ = x.reshape(&d2);
        let _ = x.transpose();
        let axis = u.int_in_range(0usize..=5)?;
        let (a, b) = (u.arbitrary::<u8>()? as usize, u.arbitrary::<u8>()? as usize);
        let _ = x.slice(axis, a, b);
        // Reducing an empty axis of [0, n] gives n zeros: a real (maybe huge)
        // allocation, so only small outputs are built; an impossible one
        // must be an Err.
        if axis < d1.len() {
            let mut out = d1.clone();
            out.remove(axis);
            if small_numel(&out).is_some() {
                let _ = x.sum_axis(axis, u.arbitrary()?);
                let _ = x.mean_axis(axis, u.arbitrary()?);
            } else if unrepresentable(&out) {
                assert!(
                    x.sum_axis(axis, false).is_err(),
                    "{d1:?} summed over {axis}"
                );
            }
        }
        let _ = x.mean();
        let idx: Vec<usize> = (0..u.int_in_range(0usize..=6)?)
            .map(|_| u.int_in_range(0usize..=8))
            .collect::<Result<_>>()?;
        let _ = x.gather(&idx);
        let _ = x.index_select(axis, &idx);
        let _ = gradsign::ops::concat(&[x, x, x], axis);
        // Products of zero-size operands with large outer dimensions: an
        // output count that overflows must be an Err; one that fits but is
        // large would be a legitimate (huge) allocation, so is skipped.
        if let Some(n2) = small_numel(&d2) {
            if d2.len() <= MAX_RANK {
                let y = tape.var_from_slice(&values(u, n2)?, &d2).unwrap();
                for (lhs, rhs) in [(x, y), (y, x)] {
                    let (a, b) = (lhs.dims(), rhs.dims());
                    let out = match (a.len(), b.len()) {
                        (2, 2) => extent(&[a[0], b[1]]),
                        (3, 2) | (3, 3) => extent(&[a[0], a[1], b[b.len() - 1]]),
                        _ => Some(0),
                    };
                    match out {
                        None => assert!(lhs.matmul(rhs).is_err(), "{a:?}·{b:?}"),
                        Some(c) if c <= MAX_NUMEL => {
                            let _ = lhs.matmul(rhs);
                        }
                        Some(_) => {}
                    }
                    let lin = match (a.len(), b.len()) {
                        (2, 2) => extent(&[a[0], b[0]]),
                        _ => Some(0),
                    };
                    match lin {
                        None => assert!(lhs.linear(rhs, None).is_err(), "{a:?}·{b:?}ᵀ"),
                        Some(c) if c <= MAX_NUMEL => {
                            let _ = lhs.linear(rhs, None);
                        }
                        Some(_) => {}
                    }
                }
            }
        }
        let _ = gradsign::ops::concat::<f64>(&[], axis);
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let _ = run(&mut u);
});
