"""Jobs through RQ: python3 rq_demo.py REDIS_URL"""
import sys

from redis import Redis
from rq import Queue, SimpleWorker

from tasks import square

broker = Redis.from_url(sys.argv[1])
queue = Queue("squares", connection=broker)
jobs = [queue.enqueue(square, n) for n in range(5)]

# A worker, here in the same process for the demonstration; usually
# `rq worker squares` in as many processes, on as many machines, as you like.
# burst=True: stop when the queue is empty.
SimpleWorker([queue], connection=broker).work(burst=True, logging_level="WARNING")

print([job.return_value() for job in jobs])
print("keys RQ keeps for them:", sorted({key.decode().split(":")[1] for key in broker.keys("rq:*")}))
