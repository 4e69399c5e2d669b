"""Call Rust from Python: build primes_rs first (`maturin develop`)."""

import primes_rs

# Python ints go in, Rust u64s are counted, a Python int comes back.
print("primes below 100,000:", primes_rs.count_primes(2, 100_000))
# A Vec<u64> comes back as a new Python list: every element is converted.
print("primes below 30:", primes_rs.primes_between(0, 30))
print("the 10th prime:", primes_rs.nth_prime(10))

# Arguments that do not convert, and a Rust Err, are ordinary exceptions.
for call in (
    lambda: primes_rs.count_primes(-1, 10),
    lambda: primes_rs.count_primes("2", 10),
    lambda: primes_rs.nth_prime(0),
):
    try:
        call()
    except (OverflowError, TypeError, ValueError) as error:
        print(f"{type(error).__name__}: {error}")

# A Rust panic is a bug, not an error: PyO3 turns it into PanicException,
# which derives from BaseException so that `except Exception` lets it pass.
try:
    primes_rs.nth_prime_unchecked(0)
except Exception:
    print("not reached")
except BaseException as panic:
    print(f"{type(panic).__name__} (an Exception? {isinstance(panic, Exception)}): {panic}")
