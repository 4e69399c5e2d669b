"""Forking after rayon started its threads: the child hangs; forkserver does not.

Every wait is bounded: a child that has not finished in time is killed.
"""

import multiprocessing

import primes_rs

HUNG_AFTER = 0.3  # seconds: the count itself takes a millisecond
START_UP = 60  # seconds: generous for a fresh interpreter on a busy machine


def count_in_child():
    # In the child this asks rayon's pool for help. After a fork the pool's
    # threads are gone (fork copies only the calling thread) and nobody
    # ever answers.
    assert primes_rs.count_primes_parallel(2, 10_000) == 1_229


def run_child(method, timeout):
    child = multiprocessing.get_context(method).Process(target=count_in_child)
    child.start()
    child.join(timeout)
    if child.is_alive():
        child.kill()
        child.join()
        return f"still running after {timeout} s, killed"
    return f"exit code {child.exitcode}"


if __name__ == "__main__":
    # This process starts rayon's pool: two worker threads.
    primes_rs.count_primes_parallel(2, 10_000)
    # Python 3.12 and later warn here that forking a process with threads
    # may deadlock the child: a DeprecationWarning, shown with
    # `python3 -W default fork.py`.
    print("fork:      ", run_child("fork", HUNG_AFTER))
    print("forkserver:", run_child("forkserver", START_UP))
    print("spawn:     ", run_child("spawn", START_UP))
