"""The gevent twin of Listing 4-5: how late 100 sleeping greenlets wake up
when one greenlet blocks the hub, spins on it, yields it, or hands its work
to gevent's thread pool.

    python3 switching.py 1000    # the hog works for 1,000 ms (default 100)
"""
from gevent import monkey

monkey.patch_all()

import sys  # noqa: E402
import time  # noqa: E402

import gevent  # noqa: E402

SLEEPERS = 100
NAP = 0.050
SLICE = 0.001
# After patch_all, time.sleep is gevent.sleep; keep the real one.
blocking_sleep = monkey.get_original("time", "sleep")


def compute_for(seconds):
    start = time.perf_counter()
    count = 0
    while time.perf_counter() - start < seconds:
        for i in range(1000):
            count += i
    return count


def sleeper():
    due = time.perf_counter() + NAP
    time.sleep(NAP)  # patched: a switch point
    return max(0.0, time.perf_counter() - due)


def run(label, hog):
    sleepers = [gevent.spawn(sleeper) for _ in range(SLEEPERS)]
    hog_greenlet = gevent.spawn(hog)
    gevent.joinall(sleepers + [hog_greenlet])
    lateness = sorted(g.get() for g in sleepers)
    assert len(lateness) == SLEEPERS, "every sleeper wakes up"
    median = lateness[SLEEPERS // 2] * 1000
    worst = lateness[-1] * 1000
    print(f"{label:<40} {SLEEPERS} woke, median {median:.1f} ms late, max {worst:.1f} ms late")


def main():
    hog = int(sys.argv[1]) / 1000 if len(sys.argv) > 1 else 0.100
    print(f"{SLEEPERS} greenlets sleep {NAP * 1000:.0f} ms; the hog works for {hog * 1000:.0f} ms")

    def sliced(switch):
        start = time.perf_counter()
        while time.perf_counter() - start < hog:
            compute_for(SLICE)
            switch()

    run("gevent, unpatched time.sleep", lambda: blocking_sleep(hog))
    run("gevent, patched time.sleep", lambda: time.sleep(hog))
    run("gevent, spin", lambda: compute_for(hog))
    run("gevent, spin, sleep(0) every 1 ms", lambda: sliced(lambda: gevent.sleep(0)))
    run("gevent, spin in the threadpool", lambda: gevent.get_hub().threadpool.apply(compute_for, (hog,)))


if __name__ == "__main__":
    main()
