"""Two Python threads call into Rust, attached to the interpreter or not.

    python threads.py [LIMIT]
"""

import sys
import threading
import time

import primes_rs

LIMIT = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000


def on_two_threads(count):
    """Count [2, LIMIT) in two halves, on two Python threads."""
    middle = LIMIT // 2
    counts = [0, 0]

    def count_half(index, start, stop):
        counts[index] = count(start, stop)

    threads = [
        threading.Thread(target=count_half, args=(0, 2, middle)),
        threading.Thread(target=count_half, args=(1, middle, LIMIT)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts)


def timed(run):
    start = time.perf_counter()
    result = run()
    return result, time.perf_counter() - start


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
