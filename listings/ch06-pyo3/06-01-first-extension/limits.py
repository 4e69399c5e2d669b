"""primes_rs takes any u64, up to 2**64 - 1, and counts correctly there.

Near 2**64 the square of a divisor no longer fits in a u64 before the
divisor passes the square root, so trial division must not compute it
blindly. Checking the largest 64-bit prime tries about two thousand
million divisors: some seconds of work.
"""

import primes_rs

LARGEST_PRIME = 2**64 - 59  # 18446744073709551557

print("2**64 - 59 is prime:",
      primes_rs.count_primes_detached(LARGEST_PRIME, LARGEST_PRIME + 1) == 1)
print("primes in [2**64 - 58, 2**64 - 1):",
      primes_rs.count_primes(2**64 - 58, 2**64 - 1))
