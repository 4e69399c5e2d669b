"""The arq row of the throughput driver: enqueue JOBS jobs, then run one
asyncio worker process over them in burst mode.
python3 arq_worker.py REDIS_URL TASK ARG JOBS MAX_JOBS"""
import asyncio
import sys
import time
from pathlib import Path

from arq import create_pool
from arq.connections import RedisSettings
from arq.worker import Worker

sys.path.insert(0, str(Path(__file__).parents[2] / "08-01-stream-worker" / "python"))
from tasks import count_primes  # noqa: E402  (the same job as the other workers)


async def cpu(ctx, limit):
    return count_primes(limit)


async def io(ctx, ms):
    # The I/O-bound job, the asyncio way: the worker runs others meanwhile.
    await asyncio.sleep(ms / 1000)
    return ms


async def main():
    url, task = sys.argv[1], sys.argv[2]
    arg, jobs, max_jobs = (int(value) for value in sys.argv[3:6])
    settings = RedisSettings(unix_socket_path=url.removeprefix("unix://"))
    pool = await create_pool(settings)
    for _ in range(jobs):
        await pool.enqueue_job(task, arg)
    # The clock starts with the jobs queued and the interpreter running,
    # as for the other rows; burst=True: stop when the queue is empty.
    started = time.perf_counter()
    worker = Worker(
        functions=[cpu, io],
        redis_settings=settings,
        burst=True,
        max_jobs=max_jobs,
        poll_delay=0.01,
        handle_signals=False,
    )
    await worker.async_run()
    elapsed = time.perf_counter() - started
    assert worker.jobs_complete == jobs, (worker.jobs_complete, jobs)
    print(f"{elapsed:.6f}")
    await worker.close()
    await pool.aclose()


asyncio.run(main())
