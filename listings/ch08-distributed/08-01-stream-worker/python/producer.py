"""Adds jobs to the stream `jobs`: python3 producer.py REDIS_URL [COUNT]"""
import json
import sys

import redis

url = sys.argv[1]
count = int(sys.argv[2]) if len(sys.argv) > 2 else 10
broker = redis.Redis.from_url(url)
for n in range(count):
    job = {"id": f"py-{n}", "task": "square", "arg": n}
    # One field, `job`, holding the job as JSON: what the Rust worker reads.
    broker.xadd("jobs", {"job": json.dumps(job)})
print(f"added {count} jobs to the stream 'jobs'")
