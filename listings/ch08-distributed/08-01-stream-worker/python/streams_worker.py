"""A worker on the stream `jobs`, in plain redis-py: what RQ and Celery do
for you, spelled out. python3 streams_worker.py REDIS_URL [--burst]
(--burst: stop when there is nothing left to do). SIGTERM or Ctrl-C stops it
after the job it is running."""
import json
import os
import signal
import sys
from pathlib import Path

import redis

from tasks import perform

STREAM, GROUP, DEAD = "jobs", "workers", "jobs:dead"
MAX_DELIVERIES = 3
CLAIM_IDLE_MS = int(os.environ.get("CLAIM_IDLE_MS", "30000"))
CONSUMER = f"python-{os.getpid()}"

broker = redis.Redis.from_url(sys.argv[1], decode_responses=True)
burst = "--burst" in sys.argv
# The same script the Rust worker runs: record the result once, and XACK.
commit = broker.register_script(
    (Path(__file__).parent.parent / "src" / "commit.lua").read_text()
)

try:
    broker.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
except redis.ResponseError as error:
    if "BUSYGROUP" not in str(error):
        raise
# Join the group by name now, so that XINFO CONSUMERS lists an idle worker.
broker.xgroup_createconsumer(STREAM, GROUP, CONSUMER)

stopping = False


def stop(signum, frame):
    global stopping
    stopping = True


signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)


def dead_letter(entry_id, fields, deliveries, reason):
    # Copy to the dead-letter stream and acknowledge, in one MULTI: the
    # entry is never in both streams, nor in neither.
    with broker.pipeline(transaction=True) as pipe:
        pipe.xadd(DEAD, {"job": fields.get("job", ""), "entry": entry_id,
                         "deliveries": deliveries, "reason": reason})
        pipe.xack(STREAM, GROUP, entry_id)
        pipe.execute()


def parse(fields):
    """The job in an entry's fields, or None if they hold none: no `job`
    field, not JSON, or JSON of another shape than the Rust `Job`."""
    try:
        job = json.loads(fields["job"])
    except (KeyError, ValueError):
        return None
    if not (isinstance(job, dict)
            and isinstance(job.get("id"), str)
            and isinstance(job.get("task"), str)
            # A u64 in Rust; bool is a subclass of int in Python.
            and type(job.get("arg")) is int and 0 <= job["arg"] < 2**64):
        return None
    return job


def run(entry_id, fields, deliveries):
    job = parse(fields)
    if job is None:
        # Retrying cannot make it a job: set it aside at once.
        dead_letter(entry_id, fields, deliveries, "not a job")
        return
    if deliveries > MAX_DELIVERIES:
        dead_letter(entry_id, fields, deliveries, f"failed {deliveries - 1} deliveries")
        return
    try:
        value = perform(job)
    except Exception as error:
        # No XACK: the entry stays pending, and comes back after CLAIM_IDLE_MS.
        print(f"{CONSUMER}: job {job.get('id')} failed: {error}", file=sys.stderr)
        return
    result = json.dumps({"id": job["id"], "value": value, "worker": CONSUMER})
    commit(keys=[STREAM, "results", "results:count"], args=[GROUP, entry_id, job["id"], result])


# XAUTOCLAIM scans the pending entries a part at a time; the cursor says
# where the next call goes on, and "0-0" that the scan reached the end.
claim_cursor = "0-0"
while not stopping:
    # First, entries another worker took and left unacknowledged too long.
    claim_cursor, claimed, trimmed = broker.xautoclaim(
        STREAM, GROUP, CONSUMER, CLAIM_IDLE_MS, claim_cursor, count=1)
    if trimmed:
        # Trimmed from the stream while pending: those jobs are gone.
        print(f"{CONSUMER}: pending entries were trimmed from the stream: {trimmed}",
              file=sys.stderr)
    if claimed:
        entry_id, fields = claimed[0]
        pending = broker.xpending_range(STREAM, GROUP, entry_id, entry_id, 1)
        run(entry_id, fields, pending[0]["times_delivered"] if pending else 1)
        continue
    # Then new ones. While a scan of the pending entries is under way, only
    # look, so that the scan goes on at once; otherwise block for up to
    # 200 ms, so that a signal is seen soon.
    block = 200 if claim_cursor == "0-0" else None
    reply = broker.xreadgroup(GROUP, CONSUMER, {STREAM: ">"}, count=1, block=block)
    if reply:
        [(_, [(entry_id, fields)])] = reply
        run(entry_id, fields, 1)
    elif burst and broker.xpending(STREAM, GROUP)["pending"] == 0:
        break
