"""N tasks each sleep for the same time: wall time until all have woken, and
peak memory.

    python3 sleepers.py VARIANT N MILLIS

VARIANT is asyncio (asyncio.gather), gevent (gevent.spawn + joinall; needs
`pip install gevent`) or threads (one threading.Thread each). Prints one JSON
line, with the RSS before the first task so that the memory per task can be
worked out.
"""

import json
import resource
import sys
import time


def peak_rss_kib():
    """Peak RSS in KiB, or None where it is not known in KiB: ru_maxrss is in
    KiB on Linux but in bytes on macOS, and the bench measures memory on
    Linux only."""
    if not sys.platform.startswith("linux"):
        return None
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def rss_kib():
    """Current RSS in KiB, or None without /proc (not Linux)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def cgroup_memory_kib():
    """Memory charged to this process's cgroup now, in KiB (kernel memory and
    page cache included): the base that `cargo book bench` compares the
    cgroup's peak with. None outside a cgroup with a memory counter."""
    try:
        with open("/proc/self/cgroup") as groups:
            for line in groups:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                if "memory" in controllers.split(","):
                    name = f"/sys/fs/cgroup/memory{path}/memory.usage_in_bytes"
                elif not controllers:
                    name = f"/sys/fs/cgroup{path}/memory.current"
                else:
                    continue
                with open(name) as counter:
                    return int(counter.read()) // 1024
    except (OSError, ValueError):
        pass
    return None


def with_asyncio(tasks, nap):
    import asyncio

    async def all_sleepers():
        await asyncio.gather(*(asyncio.sleep(nap) for _ in range(tasks)))

    base = rss_kib(), cgroup_memory_kib()
    start = time.perf_counter()
    asyncio.run(all_sleepers())
    return base, time.perf_counter() - start


def with_gevent(tasks, nap):
    import gevent

    base = rss_kib(), cgroup_memory_kib()
    start = time.perf_counter()
    gevent.joinall([gevent.spawn(gevent.sleep, nap) for _ in range(tasks)])
    return base, time.perf_counter() - start


def with_threads(tasks, nap):
    import threading

    base = rss_kib(), cgroup_memory_kib()
    start = time.perf_counter()
    threads = [threading.Thread(target=time.sleep, args=(nap,))
               for _ in range(tasks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return base, time.perf_counter() - start


def main():
    variant = sys.argv[1] if len(sys.argv) > 1 else "asyncio"
    tasks = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
    nap = (int(sys.argv[3]) if len(sys.argv) > 3 else 1000) / 1000
    runs = {"asyncio": with_asyncio, "gevent": with_gevent,
            "threads": with_threads}
    if variant not in runs:
        sys.exit(f"unknown variant {variant!r}: use {', '.join(runs)}")
    (base, base_cgroup), secs = runs[variant](tasks, nap)
    print(json.dumps({
        "variant": variant, "tasks": tasks, "secs": secs,
        "peak_rss_kib": peak_rss_kib(),
        "base_rss_kib": base,
        "base_cgroup_kib": base_cgroup,
    }))


if __name__ == "__main__":
    main()
