"""The gevent twin of Listing 4-7: what a parked greenlet costs.

    python3 limits.py 20000    # park 20,000 greenlets (default 2,000)
"""
import sys
import time

import gevent
from gevent.event import Event


def rss_kib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    release = Event()
    started = 0

    def parked():
        nonlocal started
        started += 1
        release.wait()  # parked: the hub runs the others

    rss_before = rss_kib()
    spawning = time.perf_counter()
    greenlets = [gevent.spawn(parked) for _ in range(count)]
    while started < count:
        gevent.sleep(0)  # let every greenlet start and park
    spawn_time = time.perf_counter() - spawning
    rss = rss_kib() - rss_before
    print(f"{count} greenlets running and parked")
    print(f"spawn: {spawn_time * 1e6 / count:.1f} µs per greenlet")
    print(f"memory: {rss / count:.1f} KiB RSS per greenlet")
    release.set()
    gevent.joinall(greenlets)
    assert all(g.successful() for g in greenlets)
    print(f"{count} greenlets finished")


if __name__ == "__main__":
    main()
