"""Count the primes below LIMIT on one process, then on a pool of two, and
measure what one job costs on the pool: the Python twin of Listing 2-3."""

import multiprocessing
import sys
import time

LIMIT = int(sys.argv[1]) if len(sys.argv) > 1 else 3_000_000
WORKERS = 2
CHUNKS = 64
# The test suite passes smaller counts: it checks the program, not its speed.
ROUND_TRIPS = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000
TINY_JOBS = int(sys.argv[3]) if len(sys.argv) > 3 else 10_000
# The benchmark compares start methods: fork (Linux's default up to 3.13),
# spawn (a fresh interpreter per worker, as the Rust pool re-executes
# itself) and forkserver (the default from 3.14).
START_METHOD = sys.argv[4] if len(sys.argv) > 4 else None


def is_prime(n):
    if n < 2:
        return False
    if n % 2 == 0:
        return n == 2
    divisor = 3
    while divisor * divisor <= n:
        if n % divisor == 0:
            return False
        divisor += 2
    return True


def count_primes(numbers):
    start, stop = numbers
    return sum(1 for n in range(start, stop) if is_prime(n))


def chunks(start, stop, count):
    size = -(-(stop - start) // count)  # rounded up
    return [
        (min(start + i * size, stop), min(start + (i + 1) * size, stop))
        for i in range(count)
    ]


def count_on_processes(parts):
    with multiprocessing.Pool(WORKERS) as pool:
        # chunksize=1: one job per message, as the Rust pool sends them.
        return sum(pool.map(count_primes, parts, chunksize=1))


def timed(work):
    start = time.perf_counter()
    result = work()
    return result, time.perf_counter() - start


def main():
    if START_METHOD is not None:
        multiprocessing.set_start_method(START_METHOD)
    parts = chunks(2, LIMIT, CHUNKS)
    serial, serial_time = timed(lambda: count_primes((2, LIMIT)))
    pooled, pool_time = timed(lambda: count_on_processes(parts))
    assert pooled == serial

    print(f"primes below {LIMIT}: {serial}")
    print(f"{'1 thread':<28}{serial_time:.3f} s")
    label = f"{WORKERS} processes, {CHUNKS} jobs"
    print(f"{label:<28}{pool_time:.3f} s  {serial_time / pool_time:.2f}x")

    tiny = [(i * 10, i * 10 + 10) for i in range(TINY_JOBS)]
    with multiprocessing.Pool(WORKERS) as pool:
        one, one_time = timed(
            lambda: [pool.apply(count_primes, (t,)) for t in tiny[:ROUND_TRIPS]]
        )
        many, many_time = timed(lambda: pool.map(count_primes, tiny, chunksize=1))
    assert one == [count_primes(t) for t in tiny[:ROUND_TRIPS]]
    assert many == [count_primes(t) for t in tiny]

    print()
    print(f"time per job, one tiny job at a time ({ROUND_TRIPS} jobs)")
    print(f"  {'process pool':<26}{one_time * 1e6 / ROUND_TRIPS:.2f} µs")
    print(f"time per job, {TINY_JOBS} tiny jobs at once (map)")
    print(f"  {'process pool':<26}{many_time * 1e6 / TINY_JOBS:.2f} µs")


# Needed with the spawn and forkserver start methods: each worker imports
# this file, and must not run main() again.
if __name__ == "__main__":
    main()
