use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

/// Count the primes in [2, LIMIT): a tenth of Listing 1-3's range, so that
/// the program is quick even in an unoptimised build.
const LIMIT: u64 = 300_000;
/// How many numbers a thread takes each time it asks for work.
const CHUNK_SIZE: u64 = 1_000;

/// Trial division, as in Listing 1-3.
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

fn count_primes(numbers: Range<u64>) -> usize {
    numbers.filter(|&n| is_prime(n)).count()
}

/// Counts the primes in `numbers` on `threads` threads. Each thread claims
/// the next chunk of `CHUNK_SIZE` numbers until there are none left, so a
/// thread that gets easy chunks simply claims more of them.
fn count_in_chunks(numbers: Range<u64>, threads: usize) -> usize {
    let next_chunk = AtomicUsize::new(0);

    thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut primes = 0;
                    loop {
                        // `fetch_add` returns the value before the addition,
                        // so no two threads ever claim the same chunk.
                        // Relaxed is enough: the counter only hands out
                        // numbers, and the counts come back through `join`.
                        let chunk = next_chunk.fetch_add(1, Ordering::Relaxed) as u64;
                        let start = numbers.start + chunk * CHUNK_SIZE;
                        if start >= numbers.end {
                            return primes;
                        }
                        let end = (start + CHUNK_SIZE).min(numbers.end);
                        primes += count_primes(start..end);
                    }
                })
            })
            .collect();

        workers
            .into_iter()
            .map(|worker| worker.join().expect("a worker thread panicked"))
            .sum()
    })
}

fn main() -> std::io::Result<()> {
    // One thread per core the program may use (it can fail on exotic
    // platforms, hence the `?`).
    let threads = thread::available_parallelism()?.get();

    let serial = count_primes(2..LIMIT);
    let chunked = count_in_chunks(2..LIMIT, threads);
    assert_eq!(
        chunked, serial,
        "the chunked count disagrees with one thread"
    );

    println!("primes below {LIMIT}, one thread: {serial}");
    println!("primes below {LIMIT}, {threads} threads taking chunks of {CHUNK_SIZE}: {chunked}");
    Ok(())
}
