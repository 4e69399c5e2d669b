"""A Rust future that nobody awaits does not hold up the interpreter's exit."""

import asyncio
import atexit


def report():
    # atexit runs its functions last registered, first run: registered
    # before async_rs registers its own, this one runs after it.
    print("Rust futures still running after async_rs's hook:",
          async_rs.in_flight())


atexit.register(report)

import async_rs  # noqa: E402 (after the atexit registration, on purpose)


async def main():
    # Started on tokio, a minute of sleep ahead of it, never awaited.
    async_rs.count_primes_after(60, 10)
    print("Rust futures running:", async_rs.in_flight())
    print("asyncio.run returns with a Rust future still running")


asyncio.run(main())
