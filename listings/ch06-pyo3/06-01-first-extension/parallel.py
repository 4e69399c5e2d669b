"""One Python call that uses every core, and Python threads that share it.

    python parallel.py [LIMIT]
"""

import sys
import threading
import time

import primes_rs

LIMIT = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000


def timed(run, repeat=3):
    """The result and the best time of `repeat` runs, as timeit reports:
    other work on the machine can only make a run slower."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return result, best


def chunks(start, stop, count):
    size = -(-(stop - start) // count)  # rounded up
    return [(low, min(low + size, stop)) for low in range(start, stop, size)]


def two_threads_sharing_the_pool():
    """Two Python threads, each asking rayon for the next of 64 chunks."""
    next_chunk = iter(chunks(2, LIMIT, 64))
    lock = threading.Lock()
    totals = []

    def worker():
        total = 0
        while True:
            with lock:
                chunk = next(next_chunk, None)
            if chunk is None:
                break
            total += primes_rs.count_primes_parallel(*chunk)
        totals.append(total)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(totals)


serial, serial_time = timed(lambda: primes_rs.count_primes(2, LIMIT))
parallel, parallel_time = timed(
    lambda: primes_rs.count_primes_parallel(2, LIMIT))
shared, shared_time = timed(two_threads_sharing_the_pool)
assert serial == parallel == shared

print(f"primes below {LIMIT}: {serial}, rayon's pool of "
      f"{primes_rs.worker_threads()} threads")
print(f"count_primes                         {serial_time:.3f} s")
print(f"count_primes_parallel                {parallel_time:.3f} s"
      f"  {serial_time / parallel_time:.2f}x")
print(f"2 threads, count_primes_parallel     {shared_time:.3f} s"
      f"  {serial_time / shared_time:.2f}x")
