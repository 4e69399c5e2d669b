"""The Python twin of Listing 3-7: how late 1,000 sleeping coroutines wake
up behind a CPU-bound hog, in a coroutine and in asyncio.to_thread.

    python3 blocking.py 1000    # the hog computes for 1,000 ms (default 150)
"""
import asyncio
import sys
import time

SLEEPERS = 1000
NAP = 0.1


def compute_for(seconds):
    # Busy, never awaiting: what a long computation looks like to the loop.
    end = time.monotonic() + seconds
    rounds = 0
    while time.monotonic() < end:
        rounds += 1
    return rounds


async def sleeper(deadline):
    loop = asyncio.get_running_loop()
    await asyncio.sleep(deadline - loop.time())
    return loop.time() - deadline


async def hog_in_coroutine(seconds):
    return compute_for(seconds)


async def sleepers_behind(start_hog):
    deadline = asyncio.get_running_loop().time() + NAP
    sleepers = [asyncio.create_task(sleeper(deadline)) for _ in range(SLEEPERS)]
    hog = asyncio.create_task(start_hog())
    lateness = sorted(await asyncio.gather(*sleepers))
    await hog
    return lateness


def run(label, start_hog):
    lateness = asyncio.run(sleepers_behind(start_hog))
    assert len(lateness) == SLEEPERS
    median, late_max = lateness[len(lateness) // 2], lateness[-1]
    print(f"{label:<38} {SLEEPERS} woke, median {median * 1000:.1f} ms late, "
          f"max {late_max * 1000:.1f} ms late")


def main():
    hog = int(sys.argv[1]) / 1000 if len(sys.argv) > 1 else 0.15
    print(f"{SLEEPERS} tasks sleep {int(NAP * 1000)} ms; "
          f"the hog computes for {int(hog * 1000)} ms")
    run("asyncio, hog in a coroutine", lambda: hog_in_coroutine(hog))
    run("asyncio, hog in asyncio.to_thread", lambda: asyncio.to_thread(compute_for, hog))


if __name__ == "__main__":
    main()
