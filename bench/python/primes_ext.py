"""The prime count of primes.py, done by Part 6's extension module primes_rs.

    python3 primes_ext.py VARIANT [LIMIT]

primes_rs must be importable: `maturin develop` in
listings/ch06-pyo3/06-01-first-extension, or `cargo book bench`, which
builds it and puts it on PYTHONPATH. VARIANT is serial (one call of
count_primes), threads (two threading.Thread taking chunks and calling
count_primes, attached to the interpreter), threads-detached (the same
with count_primes_detached) or parallel (one call of
count_primes_parallel: rayon's pool inside the module). The threads split
the range into 64 chunks, as primes.py does. Prints one JSON line.
"""

import json
import resource
import sys
import threading
import time

import primes_rs

WORKERS = 2
CHUNKS = 64
KNOWN_COUNTS = {100_000: 9_592, 3_000_000: 216_816, 30_000_000: 1_857_859}


def peak_rss_kib():
    """Peak RSS in KiB, or None where it is not known in KiB: ru_maxrss is in
    KiB on Linux but in bytes on macOS, and the bench measures memory on
    Linux only."""
    if not sys.platform.startswith("linux"):
        return None
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def chunks(start, end, count):
    size = -(-(end - start) // count)
    return [(min(start + i * size, end), min(start + (i + 1) * size, end))
            for i in range(count)]


def on_threads(count, work):
    """Each thread takes the next chunk until none is left."""
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
            total += count(*chunk)
        totals.append(total)

    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(totals)


def main():
    variant = sys.argv[1] if len(sys.argv) > 1 else "serial"
    limit = int(sys.argv[2]) if len(sys.argv) > 2 else 3_000_000
    work = chunks(2, limit, CHUNKS)
    runs = {
        "serial": lambda: primes_rs.count_primes(2, limit),
        "threads": lambda: on_threads(primes_rs.count_primes, work),
        "threads-detached": lambda: on_threads(
            primes_rs.count_primes_detached, work),
        "parallel": lambda: primes_rs.count_primes_parallel(2, limit),
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
