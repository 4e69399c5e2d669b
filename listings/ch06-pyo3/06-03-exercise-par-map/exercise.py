"""par_map: ThreadPoolExecutor.map's promises, from threads Rust starts."""

import threading
import time

from par_map import par_map


def slow_square(n):
    time.sleep(0.05)  # waits without the GIL, as I/O does
    return n * n


start = time.perf_counter()
print(par_map(slow_square, range(8), workers=4))
print(f"8 calls of 0.05 s on 4 workers: {time.perf_counter() - start:.2f} s")


def reject_some(n):
    if n % 3 == 2:
        raise ValueError(f"{n} is not allowed")
    return n


# Items 2, 5 and 8 raise; whichever thread fails first, item 2's
# exception is the one raised, as a serial loop would raise it.
raised = set()
for _ in range(20):
    try:
        par_map(reject_some, range(10), workers=4)
    except ValueError as error:
        raised.add(str(error))
print("raised in 20 runs:", raised)
print(par_map(str, [], workers=4), par_map(abs, [-3], workers=1))

# One worker thread calls every item, and its thread-local data lasts.
local = threading.local()


def calls_on_this_thread(_):
    local.calls = getattr(local, "calls", 0) + 1
    return local.calls


print("one worker's thread-local count:",
      par_map(calls_on_this_thread, range(6), workers=1))
try:
    par_map(abs, [1], workers=0)
except ValueError as error:
    print("ValueError:", error)
