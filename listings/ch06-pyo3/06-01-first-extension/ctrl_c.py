"""Ctrl-C reaches a long Rust call that checks for signals.

A timer thread sends this process SIGINT, as Ctrl-C in a terminal would.
"""

import os
import signal
import threading
import time

import primes_rs

# Minutes of work: the call can only end early, by KeyboardInterrupt.
STOP = 1_000_000_000

threading.Timer(0.1, os.kill, args=(os.getpid(), signal.SIGINT)).start()
start = time.perf_counter()
try:
    primes_rs.count_primes_interruptible(2, STOP)
    print("counted to the end (not expected)")
except KeyboardInterrupt:
    print(f"KeyboardInterrupt after {time.perf_counter() - start:.2f} s")
