"""asyncio awaits tokio futures, and tokio awaits asyncio's, with cancellation."""

import asyncio
import contextvars
import threading

import async_rs


# Which request a coroutine works for, as a web framework would record it.
request = contextvars.ContextVar("request", default="no request")


async def until(condition, limit=5.0):
    """Waits (at most `limit` seconds) until `condition()` holds."""
    async with asyncio.timeout(limit):
        while not condition():
            await asyncio.sleep(0.01)


async def main():
    # asyncio's loop runs here; tokio's runtime runs Rust futures elsewhere.
    print("asyncio runs on", threading.current_thread().name)
    print("tokio runs on", await async_rs.thread_name())

    # A Rust future, awaited like any coroutine, alongside Python ones.
    counts = await asyncio.gather(
        async_rs.count_primes_after(0.05, 100_000),
        async_rs.count_primes_after(0.01, 1_000),
    )
    print("counted by tokio:", counts)

    # Python cancels: the Rust future behind the awaitable is dropped.
    try:
        await asyncio.wait_for(async_rs.count_primes_after(60, 10), 0.05)
    except TimeoutError:
        print("asyncio gave up on a Rust future")
    await until(lambda: async_rs.dropped_unfinished() == 1)
    print("Rust futures dropped unfinished:", async_rs.dropped_unfinished())

    # Rust awaits a Python coroutine, with a timeout of its own.
    async def fetch(delay, finished):
        await asyncio.sleep(delay)
        finished.append(delay)
        return f"fetched after {delay} s"

    finished = []
    print("tokio got:", await async_rs.wait_at_most(fetch(0.01, finished), 5))
    print("tokio got:", await async_rs.wait_at_most(fetch(0.2, finished), 0.05))
    # Rust stopped waiting, but the Python task went on to its end.
    await until(lambda: 0.2 in finished)
    print("the late coroutine finished anyway:", finished)

    # A Rust future that awaits a Python coroutine: the coroutine runs on
    # this loop, in a copy of this task's context.
    async def whose():
        return f"{request.get()}, on {threading.current_thread().name}"

    request.set("request 7")
    print("Rust awaited a coroutine:", await async_rs.after(0.01, whose()))

    # To stop it, the side that owns it cancels it: asyncio, with its Task.
    task = asyncio.ensure_future(fetch(60, finished))
    if await async_rs.wait_at_most(task, 0.05) is None:
        task.cancel()
    await asyncio.wait([task], timeout=5)
    print("the task asyncio cancelled:", task.cancelled())


asyncio.run(main())
