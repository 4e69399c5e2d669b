"""Count the primes in [2, LIMIT) by trial division, one way per run.

    python3 primes.py VARIANT [LIMIT]

VARIANT is serial, threads (two threading.Thread taking chunks from a shared
iterator), thread-pool (ThreadPoolExecutor(2).map), pool
(multiprocessing.Pool(2).map) or process-pool (ProcessPoolExecutor(2).map).
The parallel variants split the range into 64 chunks. Prints one JSON line;
for the process pools, the peak RSS is the parent's.
"""

import json
import math
import multiprocessing
import resource
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

WORKERS = 2
CHUNKS = 64
KNOWN_COUNTS = {100_000: 9_592, 2_000_000: 148_933, 3_000_000: 216_816,
                30_000_000: 1_857_859}


def peak_rss_kib():
    """Peak RSS in KiB, or None where it is not known in KiB: ru_maxrss is in
    KiB on Linux but in bytes on macOS, and the bench measures memory on
    Linux only."""
    if not sys.platform.startswith("linux"):
        return None
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def is_prime(n):
    # The same trial division as the Rust program, written as idiomatic
    # Python: a `for` over `range` steps in C, where a `while` loop with
    # `divisor += 2` (as no_gil.py has it) runs each step in bytecode, and is
    # slower by a factor that differs between CPython versions.
    if n < 2:
        return False
    if n % 2 == 0:
        return n == 2
    for divisor in range(3, math.isqrt(n) + 1, 2):
        if n % divisor == 0:
            return False
    return True


def count_primes(numbers):
    start, end = numbers
    return sum(1 for n in range(start, end) if is_prime(n))


def chunks(start, end, count):
    size = -(-(end - start) // count)
    return [(min(start + i * size, end), min(start + (i + 1) * size, end))
            for i in range(count)]


def on_threads(work):
    """Each thread takes the next chunk until none is left (the GIL's turn)."""
    next_chunk = iter(work)
    lock = threading.Lock()
    totals = []

    def worker():
        total = 0
        while True:
            with lock:
                chunk = next(next_chunk, None)
            if chunk is None:
                break
            total += count_primes(chunk)
        totals.append(total)

    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(totals)


def on_thread_pool(work):
    with ThreadPoolExecutor(WORKERS) as pool:
        return sum(pool.map(count_primes, work))


def on_pool(work):
    with multiprocessing.Pool(WORKERS) as pool:
        return sum(pool.map(count_primes, work, chunksize=1))


def on_process_pool(work):
    with ProcessPoolExecutor(WORKERS) as pool:
        return sum(pool.map(count_primes, work))


def main():
    variant = sys.argv[1] if len(sys.argv) > 1 else "serial"
    limit = int(sys.argv[2]) if len(sys.argv) > 2 else 3_000_000
    work = chunks(2, limit, CHUNKS)
    runs = {
        "serial": lambda: count_primes((2, limit)),
        "threads": lambda: on_threads(work),
        "thread-pool": lambda: on_thread_pool(work),
        "pool": lambda: on_pool(work),
        "process-pool": lambda: on_process_pool(work),
    }
    if variant not in runs:
        sys.exit(f"unknown variant {variant!r}: use {', '.join(runs)}")
    start = time.perf_counter()
    count = runs[variant]()
    secs = time.perf_counter() - start
    expected = KNOWN_COUNTS.get(limit)
    if expected is not None and count != expected:
        sys.exit(f"{variant} counted {count} primes below {limit}, "
                 f"expected {expected}")
    print(json.dumps({
        "variant": variant, "limit": limit, "count": count, "secs": secs,
        "peak_rss_kib": peak_rss_kib(),
    }))


if __name__ == "__main__":
    main()
