"""The jobs, as the Rust worker's `perform` has them."""
import time


def count_primes(limit):
    def is_prime(n):
        if n < 2:
            return False
        divisor = 2
        while divisor * divisor <= n:
            if n % divisor == 0:
                return False
            divisor += 1
        return True

    return sum(1 for n in range(limit) if is_prime(n))


def square(n):
    return n * n


def sleep(ms):
    # Stands for a job that waits on the network.
    time.sleep(ms / 1000)
    return ms


def fail(n):
    raise RuntimeError("this job always fails")


TASKS = {"square": square, "sleep": sleep, "count_primes": count_primes, "fail": fail}


def perform(job):
    return TASKS[job["task"]](job["arg"])
