"""One Python call that uses every core, and Python threads that share it.

    python parallel.py [LIMIT]
"""

import sys
import threading
import time

import primes_rs

LIMIT = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000


def timed(run):
    start = time.perf_counter()
    result = run()
    return result, time.perf_counter() - start


def halves_on_two_threads():
    """Two Python threads, each asking rayon for half of the range."""
    middle = LIMIT // 2
    counts = [0, 0]

    def count_half(index, start, stop):
        counts[index] = primes_rs.count_primes_parallel(start, stop)

    threads = [
        threading.Thread(target=count_half, args=(0, 2, middle)),
        threading.Thread(target=count_half, args=(1, middle, LIMIT)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts)


serial, serial_time = timed(lambda: primes_rs.count_primes(2, LIMIT))
parallel, parallel_time = timed(
    lambda: primes_rs.count_primes_parallel(2, LIMIT))
shared, shared_time = timed(halves_on_two_threads)
assert serial == parallel == shared

print(f"primes below {LIMIT}: {serial}, rayon's pool of "
      f"{primes_rs.worker_threads()} threads")
print(f"count_primes                         {serial_time:.3f} s")
print(f"count_primes_parallel                {parallel_time:.3f} s"
      f"  {serial_time / parallel_time:.2f}x")
print(f"2 threads, count_primes_parallel     {shared_time:.3f} s"
      f"  {serial_time / shared_time:.2f}x")
