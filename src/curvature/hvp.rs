//! Exact Hessian-vector products by forward-over-reverse differentiation.
//!
//! The function is recorded on a `Tape<Dual<F>>` with its inputs set to
//! `x + εv` ([`Dual`]); the ordinary backward sweep then runs on dual
//! numbers, so the value parts of the gradient are `∇f(x)` and the tangent
//! parts are `d/dε ∇f(x + εv) = ∇²f(x)·v`. No op carries a second derivative
//! rule: the dual arithmetic differentiates the first-derivative rules. One
//! HVP costs about two to four gradients; the result is exact up to rounding
//! (no step size, unlike a finite difference of gradients).

use num_traits::Float;

use crate::autodiff::{Tape, Var};
use crate::dual::Dual;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// A scalar function of several tensors, written once for every element type
/// so that it can run on `f64` (gradients) and on [`Dual`] numbers (Hessian-
/// vector products).
///
/// Closures cannot be generic over the element type, hence a trait: implement
/// it on a struct that holds the function's data (inputs, targets) in `f64`
/// and turn them into constants of the tape's type with
/// [`Tensor::cast`].
///
/// ```
/// use gradsign::curvature::hvp::{hessian, ScalarFn};
/// use gradsign::{Element, Result, Tape, Tensor, Var};
///
/// /// f(w) = Σ (X·w)² / 2, whose Hessian is XᵀX.
/// struct HalfSquares { x: Tensor<f64> }
/// impl ScalarFn for HalfSquares {
///     fn eval<'t, E: Element>(&self, tape: &'t Tape<E>, p: &[Var<'t, E>]) -> Result<Var<'t, E>> {
///         let x = tape.constant(&self.x.cast::<E>());
///         let y = x.matmul(p[0])?;
///         Ok(y.square().sum() * E::from_f64(0.5))
///     }
/// }
/// let f = HalfSquares { x: Tensor::from_vec(vec![1.0, 2.0, 0.0, 3.0], &[2, 2])? };
/// let h = hessian(&f, &[Tensor::<f64>::zeros(&[2, 1])?])?;
/// assert_eq!(h.as_slice(), &[1.0, 2.0, 2.0, 13.0]); // XᵀX
/// # Ok::<(), gradsign::Error>(())
/// ```
pub trait ScalarFn {
    /// Records the function on `tape` at the differentiable `inputs` and
    /// returns its scalar value.
    ///
    /// # Errors
    /// Whatever the recorded ops return.
    fn eval<'t, E: Element>(&self, tape: &'t Tape<E>, inputs: &[Var<'t, E>]) -> Result<Var<'t, E>>;
}

impl<S: ScalarFn + ?Sized> ScalarFn for &S {
    fn eval<'t, E: Element>(&self, tape: &'t Tape<E>, inputs: &[Var<'t, E>]) -> Result<Var<'t, E>> {
        (**self).eval(tape, inputs)
    }
}

/// Fails with [`Error::NonFinite`] at the first non-finite element.
fn check_finite<F: Element>(op: &'static str, name: &str, ts: &[Tensor<F>]) -> Result<()> {
    for (j, t) in ts.iter().enumerate() {
        if let Some(i) = t.as_slice().iter().position(|x| !x.is_finite()) {
            return Err(Error::NonFinite {
                op,
                what: format!(
                    "{} at element {i} of {name} {j} (shape {})",
                    t.as_slice()[i],
                    t.shape()
                ),
            });
        }
    }
    Ok(())
}

fn check_inputs<F: Element>(op: &'static str, x: &[Tensor<F>]) -> Result<()> {
    if x.is_empty() {
        return Err(Error::InvalidArgument {
            op,
            message: "needs at least one input tensor".into(),
        });
    }
    check_finite(op, "input", x)
}

/// The value and gradient of `f` at `x`, one tensor per input.
///
/// ```
/// # use gradsign::curvature::hvp::{gradient, ScalarFn};
/// # use gradsign::{Element, Result, Tape, Tensor, Var};
/// struct Cube;
/// impl ScalarFn for Cube {
///     fn eval<'t, E: Element>(&self, _: &'t Tape<E>, p: &[Var<'t, E>]) -> Result<Var<'t, E>> {
///         Ok(p[0].powi(3).sum())
///     }
/// }
/// let (value, g) = gradient(&Cube, &[Tensor::from_vec(vec![1.0, 2.0], &[2])?])?;
/// assert_eq!(value, 9.0);
/// assert_eq!(g[0].as_slice(), &[3.0, 12.0]); // 3x²
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidArgument`] without inputs; [`Error::NonFinite`] on a
/// non-finite input; [`Error::NonScalarRoot`] if `f` is not scalar; and
/// whatever `f` returns.
pub fn gradient<F: Element, S: ScalarFn + ?Sized>(
    f: &S,
    x: &[Tensor<F>],
) -> Result<(F, Vec<Tensor<F>>)> {
    check_inputs("gradient", x)?;
    let tape = Tape::<F>::new();
    let vars: Vec<_> = x.iter().map(|t| tape.var(t)).collect();
    let y = f.eval(&tape, &vars)?;
    let grads = y.backward()?;
    let g = vars
        .iter()
        .map(|&v| grads.tensor(v))
        .collect::<Result<Vec<_>>>()?;
    Ok((y.item()?, g))
}

/// Records `f` at `x + εv` on `tape` and writes `∇²f(x)·v`, flattened in
/// input order, into `out`.
fn hvp_into<F: Element, S: ScalarFn + ?Sized>(
    tape: &mut Tape<Dual<F>>,
    f: &S,
    x: &[Tensor<F>],
    v: &[&[F]],
    out: &mut Vec<F>,
) -> Result<()> {
    tape.clear();
    let tape = &*tape;
    let mut buf = Vec::new();
    let mut vars = Vec::with_capacity(x.len());
    for (t, dir) in x.iter().zip(v) {
        buf.clear();
        buf.extend(
            t.as_slice()
                .iter()
                .zip(*dir)
                .map(|(&a, &b)| Dual::new(a, b)),
        );
        vars.push(tape.var_from_slice(&buf, t.dims())?);
    }
    let y = f.eval(tape, &vars)?;
    let grads = y.backward()?;
    out.clear();
    for (j, &var) in vars.iter().enumerate() {
        for (i, g) in grads.get(var)?.iter().enumerate() {
            if !g.is_finite() {
                return Err(Error::NonFinite {
                    op: "hvp",
                    what: format!(
                        "{g} at element {i} of input {j}'s gradient (value+tangentε) at shape {}",
                        x[j].shape()
                    ),
                });
            }
            out.push(g.tangent);
        }
    }
    Ok(())
}

/// The exact Hessian-vector product `∇²f(x)·v`, one tensor per input (the
/// Hessian is that of `f` with respect to all inputs together, so input `j`'s
/// block of the result is `Σ_k ∂²f/∂x_j∂x_k · v_k`).
///
/// ```
/// # use gradsign::curvature::hvp::{hvp, ScalarFn};
/// # use gradsign::{Element, Result, Tape, Tensor, Var};
/// /// f(a, b) = a²·b: ∇²f = [[2b, 2a], [2a, 0]].
/// struct F;
/// impl ScalarFn for F {
///     fn eval<'t, E: Element>(&self, _: &'t Tape<E>, p: &[Var<'t, E>]) -> Result<Var<'t, E>> {
///         Ok((p[0] * p[0] * p[1]).sum())
///     }
/// }
/// let x = [Tensor::scalar(3.0), Tensor::scalar(5.0)];
/// let v = [Tensor::scalar(1.0), Tensor::scalar(0.0)];
/// let hv = hvp(&F, &x, &v)?;
/// assert_eq!((hv[0].item()?, hv[1].item()?), (10.0, 6.0)); // (2b, 2a)
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidArgument`] without inputs or if `v` has a different
/// number of tensors; [`Error::ShapeMismatch`] if a direction's shape differs
/// from its input's; [`Error::NonFinite`] on a non-finite input, direction or
/// result; [`Error::NonScalarRoot`] if `f` is not scalar; and whatever `f`
/// returns.
pub fn hvp<F: Element, S: ScalarFn + ?Sized>(
    f: &S,
    x: &[Tensor<F>],
    v: &[Tensor<F>],
) -> Result<Vec<Tensor<F>>> {
    check_inputs("hvp", x)?;
    if v.len() != x.len() {
        return Err(Error::InvalidArgument {
            op: "hvp",
            message: format!(
                "needs one direction per input: {} inputs, {} directions",
                x.len(),
                v.len()
            ),
        });
    }
    for (a, b) in x.iter().zip(v) {
        if a.shape() != b.shape() {
            return Err(Error::ShapeMismatch {
                op: "hvp",
                lhs: a.shape(),
                rhs: b.shape(),
                reason: "a direction must have its input's shape",
            });
        }
    }
    check_finite("hvp", "direction", v)?;
    let dirs: Vec<&[F]> = v.iter().map(Tensor::as_slice).collect();
    let mut flat = Vec::new();
    hvp_into(&mut Tape::new(), f, x, &dirs, &mut flat)?;
    let mut rest = flat.as_slice();
    x.iter()
        .map(|t| {
            let (head, tail) = rest.split_at(t.numel());
            rest = tail;
            Tensor::from_slice(head, t.dims())
        })
        .collect()
}

/// The Hessian of `f` at `x`, `n×n` with `n` the total number of input
/// elements, in input order and row-major within each input.
///
/// Column `i` is the HVP with the `i`-th basis vector (`n` HVPs on one
/// reused tape), so this is for small problems: `n` up to a few hundred.
/// The result is **symmetrised**, `(H + Hᵀ)/2`: the columns are exact up to
/// rounding, and so is their asymmetry, which this removes so the result can
/// go straight into a symmetric eigen-solver.
///
/// ```
/// # use gradsign::curvature::hvp::{hessian, ScalarFn};
/// # use gradsign::{Element, Result, Tape, Tensor, Var};
/// /// f(x) = x₀²x₁ + x₁³: H = [[2x₁, 2x₀], [2x₀, 6x₁]].
/// struct F;
/// impl ScalarFn for F {
///     fn eval<'t, E: Element>(&self, _: &'t Tape<E>, p: &[Var<'t, E>]) -> Result<Var<'t, E>> {
///         let (x0, x1) = (p[0], p[1]);
///         Ok((x0 * x0 * x1 + x1.powi(3)).sum())
///     }
/// }
/// let h = hessian(&F, &[Tensor::scalar(1.0), Tensor::scalar(2.0)])?;
/// assert_eq!(h.as_slice(), &[4.0, 2.0, 2.0, 12.0]);
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// # Errors
/// As [`hvp`]; [`Error::InvalidArgument`] if the `n×n` result cannot be
/// allocated.
pub fn hessian<F: Element, S: ScalarFn + ?Sized>(f: &S, x: &[Tensor<F>]) -> Result<Tensor<F>> {
    check_inputs("hessian", x)?;
    let n: usize = x.iter().map(Tensor::numel).sum();
    // Row i of `h` holds H·e_i (a column of H; the same as a row up to rounding).
    let mut h = super::square_buffer::<F>("hessian", n)?;
    let mut tape = Tape::new();
    let mut basis: Vec<Vec<F>> = x.iter().map(|t| vec![F::zero(); t.numel()]).collect();
    let mut column = Vec::with_capacity(n);
    let mut i = 0;
    for j in 0..x.len() {
        for k in 0..x[j].numel() {
            basis[j][k] = F::one();
            let dirs: Vec<&[F]> = basis.iter().map(Vec::as_slice).collect();
            hvp_into(&mut tape, f, x, &dirs, &mut column)?;
            h[i * n..(i + 1) * n].copy_from_slice(&column);
            basis[j][k] = F::zero();
            i += 1;
        }
    }
    let half = F::from_f64(0.5);
    for r in 0..n {
        for c in r + 1..n {
            let s = (h[r * n + c] + h[c * n + r]) * half;
            h[r * n + c] = s;
            h[c * n + r] = s;
        }
    }
    Tensor::from_vec(h, &[n, n])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// f(x) = ½ xᵀAx + bᵀx for a symmetric A: ∇²f = A exactly.
    struct Quadratic {
        a: Tensor<f64>,
        b: Tensor<f64>,
    }
    impl ScalarFn for Quadratic {
        fn eval<'t, E: Element>(&self, tape: &'t Tape<E>, p: &[Var<'t, E>]) -> Result<Var<'t, E>> {
            let a = tape.constant(&self.a.cast::<E>());
            let b = tape.constant(&self.b.cast::<E>());
            let x = p[0];
            let ax = a.matmul(x)?;
            Ok((x * ax).sum() * E::from_f64(0.5) + (b * x).sum())
        }
    }

    fn quadratic() -> Quadratic {
        Quadratic {
            a: Tensor::from_vec(vec![2.0, -1.0, 0.5, -1.0, 3.0, 0.0, 0.5, 0.0, 1.0], &[3, 3])
                .unwrap(),
            b: Tensor::from_vec(vec![1.0, -2.0, 0.25], &[3, 1]).unwrap(),
        }
    }

    #[test]
    fn hessian_of_a_quadratic_is_its_matrix() {
        let f = quadratic();
        let x = Tensor::from_vec(vec![0.3, -0.7, 1.1], &[3, 1]).unwrap();
        let h = hessian(&f, &[x]).unwrap();
        assert_eq!(h.dims(), &[3, 3]);
        // Only sums of products of exact binary values: exact equality.
        assert_eq!(h.as_slice(), f.a.as_slice());
    }

    #[test]
    fn gradient_matches_the_tape() {
        let f = quadratic();
        let x = Tensor::from_vec(vec![0.3, -0.7, 1.1], &[3, 1]).unwrap();
        let (_, g) = gradient(&f, std::slice::from_ref(&x)).unwrap();
        // ∇f = Ax + b
        let want = [
            2.0 * 0.3 + 0.7 + 0.5 * 1.1 + 1.0,
            -0.3 - 3.0 * 0.7 - 2.0,
            0.5 * 0.3 + 1.1 + 0.25,
        ];
        for (&g, w) in g[0].as_slice().iter().zip(want) {
            assert!((g - w).abs() < 1e-15, "{g} vs {w}");
        }
    }

    #[test]
    fn mismatched_directions_are_rejected() {
        let f = quadratic();
        let x = Tensor::<f64>::zeros(&[3, 1]).unwrap();
        let err = hvp(
            &f,
            std::slice::from_ref(&x),
            &[Tensor::zeros(&[3]).unwrap()],
        )
        .unwrap_err();
        assert!(
            matches!(err, Error::ShapeMismatch { op: "hvp", .. }),
            "{err}"
        );
        let err = hvp(&f, std::slice::from_ref(&x), &[]).unwrap_err();
        assert!(
            matches!(err, Error::InvalidArgument { op: "hvp", .. }),
            "{err}"
        );
    }

    #[test]
    fn nan_inputs_and_directions_are_rejected() {
        let f = quadratic();
        let bad = Tensor::from_vec(vec![0.0, f64::NAN, 0.0], &[3, 1]).unwrap();
        let ok = Tensor::<f64>::zeros(&[3, 1]).unwrap();
        let err = hvp(&f, std::slice::from_ref(&bad), std::slice::from_ref(&ok)).unwrap_err();
        assert!(matches!(err, Error::NonFinite { op: "hvp", .. }), "{err}");
        assert!(err.to_string().contains("element 1 of input 0"), "{err}");
        let err = hvp(&f, std::slice::from_ref(&ok), std::slice::from_ref(&bad)).unwrap_err();
        assert!(err.to_string().contains("direction 0"), "{err}");
        assert!(matches!(
            hessian(&f, &[bad]).unwrap_err(),
            Error::NonFinite { op: "hessian", .. }
        ));
    }

    #[test]
    fn a_non_finite_result_is_an_error() {
        /// √x at 0 has an infinite second derivative.
        struct Sqrt;
        impl ScalarFn for Sqrt {
            fn eval<'t, E: Element>(&self, _: &'t Tape<E>, p: &[Var<'t, E>]) -> Result<Var<'t, E>> {
                Ok(p[0].sqrt().sum())
            }
        }
        let x = [Tensor::from_vec(vec![0.0], &[1]).unwrap()];
        let err = hvp(&Sqrt, &x, &[Tensor::from_vec(vec![1.0], &[1]).unwrap()]).unwrap_err();
        assert!(matches!(err, Error::NonFinite { op: "hvp", .. }), "{err}");
    }

    #[test]
    fn a_non_scalar_function_is_rejected() {
        struct Identity;
        impl ScalarFn for Identity {
            fn eval<'t, E: Element>(&self, _: &'t Tape<E>, p: &[Var<'t, E>]) -> Result<Var<'t, E>> {
                Ok(p[0])
            }
        }
        let x = [Tensor::<f64>::zeros(&[2]).unwrap()];
        let err = hessian(&Identity, &x).unwrap_err();
        assert!(matches!(err, Error::NonScalarRoot { .. }), "{err}");
    }
}
