"""Two Python threads call into Rust, attached to the interpreter or not.

    python threads.py [LIMIT]
"""

import sys
import threading
import time

import primes_rs

LIMIT = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
# Testing a larger number takes longer, so two halves of the range are
# unequal work (the upper half is about 60% of it). Many small chunks,
# each taken by whichever thread is free, keep both threads busy to the end.
CHUNKS = 64


def chunks(start, stop, count):
    size = -(-(stop - start) // count)  # rounded up
    return [(low, min(low + size, stop)) for low in range(start, stop, size)]


def on_two_threads(count):
    """Count [2, LIMIT) on two Python threads that share the chunks."""
    next_chunk = iter(chunks(2, LIMIT, CHUNKS))
    lock = threading.Lock()
    totals = []

    def worker():
        total = 0
        while True:
            with lock:
                chunk = next(next_chunk, None)
            if chunk is None:
                break
            total += count(*chunk)
        totals.append(total)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(totals)


def timed(run, repeat=3):
    """The result and the best time of `repeat` runs, as timeit reports:
    other work on the machine can only make a run slower."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return result, best


serial, serial_time = timed(lambda: primes_rs.count_primes(2, LIMIT))
attached, attached_time = timed(lambda: on_two_threads(primes_rs.count_primes))
detached, detached_time = timed(
    lambda: on_two_threads(primes_rs.count_primes_detached))
assert serial == attached == detached

print(f"primes below {LIMIT}: {serial}")
print(f"1 thread                          {serial_time:.3f} s")
print(f"2 threads, count_primes           {attached_time:.3f} s"
      f"  {serial_time / attached_time:.2f}x")
print(f"2 threads, count_primes_detached  {detached_time:.3f} s"
      f"  {serial_time / detached_time:.2f}x")
