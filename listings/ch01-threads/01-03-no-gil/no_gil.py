"""Count the primes below LIMIT on one thread, then on two threads."""

import sys
import threading
import time

LIMIT = int(sys.argv[1]) if len(sys.argv) > 1 else 3_000_000


# ANCHOR: count
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


def count_primes(start, stop):
    return sum(1 for n in range(start, stop) if is_prime(n))


def count_on_two_threads(start, stop):
    middle = start + (stop - start) // 2
    counts = [0, 0]

    def count_half(index, lo, hi):
        counts[index] = count_primes(lo, hi)

    threads = [
        threading.Thread(target=count_half, args=(0, start, middle)),
        threading.Thread(target=count_half, args=(1, middle, stop)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts)
# ANCHOR_END: count


def timed(count):
    start = time.perf_counter()
    result = count()
    return result, time.perf_counter() - start


serial, serial_time = timed(lambda: count_primes(2, LIMIT))
threaded, threaded_time = timed(lambda: count_on_two_threads(2, LIMIT))
assert threaded == serial

print(f"primes below {LIMIT}: {serial}")
print(f"1 thread              {serial_time:.3f} s")
print(f"2 threads (halves)    {threaded_time:.3f} s  {serial_time / threaded_time:.2f}x")
