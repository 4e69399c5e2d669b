//! `primes_rs`: the book's prime count as a Python extension module.
//!
//! Every function counts primes by trial division, like Listing 1-3 and
//! `bench/python/primes.py`; they differ only in what they do with Python
//! while they count.

use pyo3::prelude::*;

// ANCHOR: module
/// The module Python imports. `gil_used = false` promises that nothing in it
/// relies on the GIL for safety, so a free-threaded interpreter may import
/// it without turning the GIL back on (it is PyO3's default since 0.28;
/// spelled out here because it is a promise).
#[pymodule(gil_used = false)]
mod primes_rs {
    // ANCHOR_END: module
    use std::ops::Range;

    use pyo3::exceptions::PyValueError;
    use pyo3::prelude::*;
    use rayon::prelude::*;

    /// Trial division: slow on purpose, so there is work to measure.
    fn is_prime(n: u64) -> bool {
        if n < 2 {
            return false;
        }
        if n.is_multiple_of(2) {
            return n == 2;
        }
        let mut divisor: u64 = 3;
        // `divisor * divisor <= n` would overflow near 2^64 (a panic in a
        // debug build, an endless loop in a release build): a square that
        // does not fit in a u64 is larger than any n.
        while divisor
            .checked_mul(divisor)
            .is_some_and(|square| square <= n)
        {
            if n.is_multiple_of(divisor) {
                return false;
            }
            divisor += 2;
        }
        true
    }

    fn count(numbers: Range<u64>) -> u64 {
        numbers.filter(|&n| is_prime(n)).count() as u64
    }

    // ANCHOR: first
    /// count_primes(start, stop): how many primes lie in [start, stop).
    #[pyfunction]
    fn count_primes(start: u64, stop: u64) -> u64 {
        count(start..stop)
    }

    /// primes_between(start, stop): the primes in [start, stop), as a list.
    #[pyfunction]
    fn primes_between(start: u64, stop: u64) -> Vec<u64> {
        (start..stop).filter(|&n| is_prime(n)).collect()
    }

    /// nth_prime(n): the n-th prime, counting from nth_prime(1) == 2.
    #[pyfunction]
    fn nth_prime(n: usize) -> PyResult<u64> {
        // A caller's mistake is an error, and becomes a Python exception.
        let index = n
            .checked_sub(1)
            .ok_or_else(|| PyValueError::new_err("n must be at least 1"))?;
        Ok(nth(index))
    }

    /// nth_prime_unchecked(n): the same, with a Rust assertion instead of
    /// an error. A failed assertion is a bug, and becomes a PanicException.
    #[pyfunction]
    fn nth_prime_unchecked(n: usize) -> u64 {
        assert!(n >= 1, "n must be at least 1");
        nth(n - 1)
    }

    /// The prime at `index` (0 for 2), by trying every number in turn.
    fn nth(index: usize) -> u64 {
        (2..)
            .filter(|&n| is_prime(n))
            .nth(index)
            .expect("there are infinitely many primes")
    }
    // ANCHOR_END: first

    // ANCHOR: detach
    /// count_primes_detached(start, stop): count_primes, counted while this
    /// thread is detached from the interpreter, so that other Python
    /// threads run meanwhile (in parallel with it on the default build).
    #[pyfunction]
    fn count_primes_detached(py: Python<'_>, start: u64, stop: u64) -> u64 {
        // The closure sees no Python object: only `start` and `stop`,
        // plain integers copied out of Python before it runs.
        py.detach(|| count(start..stop))
    }
    // ANCHOR_END: detach

    // ANCHOR: interruptible
    /// count_primes_interruptible(start, stop): counts detached, one slice
    /// at a time, and between slices lets Python run its signal handlers,
    /// so that Ctrl-C raises KeyboardInterrupt within one slice.
    #[pyfunction]
    fn count_primes_interruptible(py: Python<'_>, start: u64, stop: u64) -> PyResult<u64> {
        const SLICE: u64 = 50_000;
        let mut total = 0;
        let mut from = start;
        while from < stop {
            let to = from.saturating_add(SLICE).min(stop);
            total += py.detach(|| count(from..to));
            // Attached again: run pending handlers; Ctrl-C's becomes an Err.
            py.check_signals()?;
            from = to;
        }
        Ok(total)
    }
    // ANCHOR_END: interruptible

    // ANCHOR: rayon
    /// count_primes_parallel(start, stop): one call that uses every core,
    /// with rayon's global pool, detached while the pool works.
    #[pyfunction]
    fn count_primes_parallel(py: Python<'_>, start: u64, stop: u64) -> u64 {
        py.detach(|| {
            (start..stop)
                .into_par_iter()
                .filter(|&n| is_prime(n))
                .count() as u64
        })
    }

    /// worker_threads(): how many threads rayon's global pool has.
    #[pyfunction]
    fn worker_threads() -> usize {
        rayon::current_num_threads()
    }
    // ANCHOR_END: rayon
}
