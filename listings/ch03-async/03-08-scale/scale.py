"""The Python twin of Listing 3-8: many coroutines that each sleep, gathered,
and what they cost in time and memory.

    python3 scale.py 100000 1000    # 100,000 sleeps of 1,000 ms
"""
import asyncio
import resource
import sys
import time


async def nap_for(seconds):
    await asyncio.sleep(seconds)
    return 1


async def run_gathered(tasks, seconds):
    started = time.perf_counter()
    # What gather does with coroutines: wrap each in a Task, like tokio::spawn.
    naps = [asyncio.create_task(nap_for(seconds)) for _ in range(tasks)]
    print(f"spawned in {time.perf_counter() - started:.3f} s")
    return sum(await asyncio.gather(*naps))


def peak_kib():
    # ru_maxrss: the most memory ever in use, in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main():
    tasks = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    nap_ms = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    print(f"{tasks} tasks (asyncio.gather), each sleeping {nap_ms} ms")
    before = peak_kib()
    started = time.perf_counter()
    woke = asyncio.run(run_gathered(tasks, nap_ms / 1000))
    elapsed = time.perf_counter() - started
    assert woke == tasks
    peak = peak_kib()
    print(f"all {woke} woke after {elapsed:.3f} s")
    print(f"peak memory {peak / 1024:.1f} MiB, {(peak - before) / max(tasks, 1):.2f} KiB "
          f"per task over the {before / 1024:.1f} MiB before")


if __name__ == "__main__":
    main()
