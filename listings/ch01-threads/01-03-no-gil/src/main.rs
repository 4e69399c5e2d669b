use std::ops::Range;
use std::thread;
use std::time::{Duration, Instant};

use rayon::prelude::*;

/// Count the primes in [2, LIMIT).
const LIMIT: u64 = 3_000_000;

// ANCHOR: is_prime
/// Trial division: slow on purpose, so there is work to share.
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
// ANCHOR_END: is_prime

// ANCHOR: two_threads
/// Split the range in two and count each half on a thread.
fn count_on_two_threads(numbers: Range<u64>) -> usize {
    let Range { start, end } = numbers;
    let middle = start + (end - start) / 2;
    thread::scope(|scope| {
        let lower = scope.spawn(|| count_primes(start..middle));
        let upper = scope.spawn(|| count_primes(middle..end));
        lower.join().expect("the lower half panicked")
            + upper.join().expect("the upper half panicked")
    })
}
// ANCHOR_END: two_threads

// ANCHOR: rayon
/// Let rayon split the range across its pool.
fn count_with_rayon(numbers: Range<u64>) -> usize {
    numbers.into_par_iter().filter(|&n| is_prime(n)).count()
}
// ANCHOR_END: rayon

/// Runs `count` and returns its result with the wall-clock time it took.
fn timed(count: impl FnOnce() -> usize) -> (usize, Duration) {
    let start = Instant::now();
    let result = count();
    (result, start.elapsed())
}

fn main() {
    let (serial, serial_time) = timed(|| count_primes(2..LIMIT));
    let (threaded, threaded_time) = timed(|| count_on_two_threads(2..LIMIT));
    let (rayon, rayon_time) = timed(|| count_with_rayon(2..LIMIT));

    // Parallel code that is fast but wrong is worthless: check it first.
    assert_eq!(threaded, serial, "two threads disagree with one");
    assert_eq!(rayon, serial, "rayon disagrees with one thread");

    let speedup = |time: Duration| serial_time.as_secs_f64() / time.as_secs_f64();
    println!("primes below {LIMIT}: {serial}");
    println!("1 thread              {:.3} s", serial_time.as_secs_f64());
    println!(
        "2 threads (halves)    {:.3} s  {:.2}x",
        threaded_time.as_secs_f64(),
        speedup(threaded_time)
    );
    println!(
        "rayon, {} threads      {:.3} s  {:.2}x",
        rayon::current_num_threads(),
        rayon_time.as_secs_f64(),
        speedup(rayon_time)
    );
}
