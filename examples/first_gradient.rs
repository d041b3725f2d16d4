//! A first gradient: one neuron with positive inputs, its weight gradient by
//! the tape, and by hand.
//!
//! ```sh
//! cargo run --release --example first_gradient
//! ```

use gradsign::{Tape, Tensor};

fn main() -> Result<(), gradsign::Error> {
    let tape = Tape::<f64>::new();
    // Outputs of sigmoid units below: all positive.
    let x = tape.constant(&Tensor::from_vec(vec![0.2, 0.7, 0.9], &[1, 3])?);
    let w = tape.var(&Tensor::from_vec(vec![0.5, -1.0, 0.3], &[1, 3])?);
    let z = x.linear(w, None)?;
    let loss = (z - 1.0).square().sum();
    let grads = loss.backward()?;

    let z_val = z.item()?;
    let delta = 2.0 * (z_val - 1.0);
    println!(
        "z = w·x = {z_val:.4}, loss = {:.4}, δ = ∂L/∂z = {delta:.4}",
        loss.item()?
    );
    println!("{:>6} {:>12} {:>12}", "i", "tape", "by hand δ·xᵢ");
    for (i, (&g, &xi)) in grads.get(w)?.iter().zip(x.value().as_slice()).enumerate() {
        println!("{i:>6} {g:>12.6} {:>12.6}", delta * xi);
    }
    println!("every component has the sign of δ: the update stays in one orthant.");
    Ok(())
}
