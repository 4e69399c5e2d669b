use std::error::Error;
use std::sync::mpsc;

use rayon::prelude::*;

/// Trial division, as in Listing 1-3: a CPU-bound job whose running time
/// grows with `limit`.
fn count_primes_below(limit: u64) -> usize {
    (2..limit).filter(|&n| is_prime(n)).count()
}

fn is_prime(n: u64) -> bool {
    if n < 2 {
        return false;
    }
    if n.is_multiple_of(2) {
        return n == 2;
    }
    let mut divisor = 3;
    while divisor * divisor <= n {
        if n.is_multiple_of(divisor) {
            return false;
        }
        divisor += 2;
    }
    true
}

fn main() -> Result<(), Box<dyn Error>> {
    // Jobs of very different lengths, the longest first.
    let limits = [100_000, 5_000, 50_000, 1_000];

    // `ThreadPoolExecutor(max_workers=2)`. Building a pool can fail (the
    // system may refuse to create threads), hence the `?`.
    let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build()?;

    // `executor.map(count_primes_below, limits)`: the results come back in
    // the order of the inputs, however the jobs were scheduled.
    let counts: Vec<usize> = pool.install(|| {
        limits
            .par_iter()
            .map(|&limit| count_primes_below(limit))
            .collect()
    });
    for (limit, count) in limits.iter().zip(&counts) {
        println!("map: {count} primes below {limit}");
    }

    // `submit` each job, then `as_completed`: every job sends its result
    // down a channel the moment it is done.
    let (results, finished) = mpsc::channel();
    for limit in limits {
        let results = results.clone();
        pool.spawn(move || {
            // `send` fails only when nobody is receiving any more. Ignore
            // that rather than panic: a panic in a `spawn`ed job aborts the
            // whole process.
            let _ = results.send((limit, count_primes_below(limit)));
        });
    }
    // Drop the original sender, so that the loop below ends once the last
    // job has sent its result and dropped its clone.
    drop(results);

    let mut completed = Vec::new();
    for (limit, count) in finished {
        println!("completed: {count} primes below {limit}");
        completed.push((limit, count));
    }

    // Both ways agree with a plain serial loop: `map` in the input order,
    // `as_completed` in some order.
    let serial: Vec<usize> = limits
        .iter()
        .map(|&limit| count_primes_below(limit))
        .collect();
    assert_eq!(counts, serial);
    let mut expected: Vec<(u64, usize)> = limits.into_iter().zip(serial).collect();
    expected.sort_unstable();
    completed.sort_unstable();
    assert_eq!(completed, expected);
    Ok(())
}
