//! `async_rs`: tokio futures that asyncio awaits, and Python awaitables that
//! tokio awaits, bridged by pyo3-async-runtimes.
//!
//! Two schedulers take part. asyncio's event loop runs on the Python thread
//! that called `asyncio.run`; tokio's runtime, which pyo3-async-runtimes
//! starts on first use, runs Rust futures on worker threads of its own.
//! Each side sees the other's work as one future it can await.

use pyo3::prelude::*;

#[pymodule(gil_used = false)]
mod async_rs {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use pyo3::exceptions::{PyRuntimeError, PyValueError};
    use pyo3::prelude::*;
    use pyo3_async_runtimes::tokio::{future_into_py, into_future};

    fn seconds(secs: f64) -> PyResult<Duration> {
        Duration::try_from_secs_f64(secs).map_err(|e| PyValueError::new_err(e.to_string()))
    }

    fn is_prime(n: u64) -> bool {
        n >= 2
            && (2..)
                .take_while(|d| d * d <= n)
                .all(|d| !n.is_multiple_of(d))
    }

    // ANCHOR: rust_future
    /// count_primes_after(delay, stop): an awaitable that tokio completes:
    /// it sleeps for `delay` seconds, then counts the primes below `stop`
    /// on tokio's blocking pool.
    #[pyfunction]
    fn count_primes_after(py: Python<'_>, delay: f64, stop: u64) -> PyResult<Bound<'_, PyAny>> {
        let delay = seconds(delay)?;
        // The future runs on a tokio worker thread, not attached to Python:
        // it may hold only `Send` Rust values, no `Bound` Python objects.
        future_into_py(py, async move {
            let mut watch = CancelWatch::default();
            tokio::time::sleep(delay).await;
            // CPU work would stall a tokio worker: hand it to the blocking
            // pool, as an async Rust program does (Part 3).
            let count =
                tokio::task::spawn_blocking(move || (2..stop).filter(|&n| is_prime(n)).count())
                    .await
                    .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
            watch.finished = true;
            Ok(count)
        })
    }

    /// How many `count_primes_after` futures were dropped before they
    /// finished: what happens to the Rust future when asyncio cancels.
    static DROPPED_UNFINISHED: AtomicUsize = AtomicUsize::new(0);

    #[derive(Default)]
    struct CancelWatch {
        finished: bool,
    }

    impl Drop for CancelWatch {
        fn drop(&mut self) {
            if !self.finished {
                DROPPED_UNFINISHED.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// dropped_unfinished(): how many futures were dropped unfinished.
    #[pyfunction]
    fn dropped_unfinished() -> usize {
        DROPPED_UNFINISHED.load(Ordering::Relaxed)
    }
    // ANCHOR_END: rust_future

    /// thread_name(): an awaitable whose result is the name of the thread
    /// that ran the Rust future.
    #[pyfunction]
    fn thread_name(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
        future_into_py(py, async {
            Ok(std::thread::current()
                .name()
                .unwrap_or("unnamed")
                .to_owned())
        })
    }

    // ANCHOR: python_future
    /// wait_at_most(awaitable, timeout): tokio awaits a Python awaitable
    /// for at most `timeout` seconds; its result, or None if it was late.
    #[pyfunction]
    fn wait_at_most<'py>(
        py: Python<'py>,
        awaitable: Bound<'py, PyAny>,
        timeout: f64,
    ) -> PyResult<Bound<'py, PyAny>> {
        let timeout = seconds(timeout)?;
        // Schedules the awaitable on the running asyncio loop, as a Task,
        // and gives tokio a future of its result.
        let result = into_future(awaitable)?;
        future_into_py(py, async move {
            match tokio::time::timeout(timeout, result).await {
                Ok(value) => value.map(Some),
                // Dropping `result` stops tokio waiting; the Python Task
                // it was waiting for goes on running on its loop.
                Err(_elapsed) => Ok(None),
            }
        })
    }
    // ANCHOR_END: python_future
}
