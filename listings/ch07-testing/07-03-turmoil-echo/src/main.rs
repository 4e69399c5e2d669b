//! Listing 7-3: an echo server in turmoil's simulated network, with a
//! partition in the middle. The seed fixes every delay: run it twice and it
//! prints the same lines, timings included.

use ch07_03_turmoil_echo::{SCRIPT, simulate};

const SEED: u64 = 7;

fn main() -> turmoil::Result {
    println!("seed {SEED}");
    for (request, (link, outcome)) in SCRIPT.iter().zip(simulate(SEED)?).enumerate() {
        println!("request {} ({link:?} link): {outcome}", request + 1);
    }
    Ok(())
}
