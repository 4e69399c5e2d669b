"""How late sleeping greenlets wake behind a hog that calls gevent.sleep(0)
every 1 ms, measured so that the figure does not depend on when the naps end.

    python3 bench/python/gevent_yield_phase.py 1000   # the hog works for 1,000 ms

Why: gevent.sleep(0) queues a callback and switches to the hub. The hub runs
its callbacks in a loop that looks at the clock only after every 50 of them
(CALLBACK_CHECK_COUNT in gevent/_ffi/loop.py; the Cython loop does the same),
and only then lets the event loop run its timers. So behind such a hog the
timers run about once every 50 slices, and a sleeper's lateness is the wait
for the next of those moments: near zero if its nap happens to end just
before one, a whole period if just after. Listing 4-5's twin naps 50 ms with
1 ms slices: 50 slices, the period itself, so its figure is a coincidence of
phase. Here the 100 sleepers' naps are spread evenly over one period
(50 ms + k x 0.5 ms), so their median lateness is the typical wait, half a
period, and the max the whole period, wherever the periods fall.
"""
from gevent import monkey

monkey.patch_all()

import sys  # noqa: E402
import time  # noqa: E402

import gevent  # noqa: E402

SLEEPERS = 100
NAP = 0.050
SLICE = 0.001
CALLBACKS_PER_CHECK = 50


def compute_for(seconds):
    start = time.perf_counter()
    count = 0
    while time.perf_counter() - start < seconds:
        for i in range(1000):
            count += i
    return count


def sleeper(nap):
    due = time.perf_counter() + nap
    time.sleep(nap)  # patched: a switch point
    return max(0.0, time.perf_counter() - due)


def main():
    hog = int(sys.argv[1]) / 1000 if len(sys.argv) > 1 else 0.100
    period = CALLBACKS_PER_CHECK * SLICE
    naps = [NAP + period * k / SLEEPERS for k in range(SLEEPERS)]
    assert max(naps) < hog, "every nap ends while the hog still works"

    def sliced():
        start = time.perf_counter()
        while time.perf_counter() - start < hog:
            compute_for(SLICE)
            gevent.sleep(0)

    sleepers = [gevent.spawn(sleeper, nap) for nap in naps]
    hog_greenlet = gevent.spawn(sliced)
    gevent.joinall(sleepers + [hog_greenlet])
    lateness = sorted(g.get() for g in sleepers)
    assert len(lateness) == SLEEPERS, "every sleeper wakes up"
    median = lateness[SLEEPERS // 2] * 1000
    worst = lateness[-1] * 1000
    label = "gevent, spin, sleep(0) every 1 ms, naps spread over 50 slices"
    print(f"{label:<40} {SLEEPERS} woke, median {median:.1f} ms late, max {worst:.1f} ms late")


if __name__ == "__main__":
    main()
