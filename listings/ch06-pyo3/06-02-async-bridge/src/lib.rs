//! `async_rs`: tokio futures that asyncio awaits, and Python awaitables that
//! tokio awaits, bridged by pyo3-async-runtimes.
//!
//! Two schedulers take part. asyncio's event loop runs on the Python thread
//! that called `asyncio.run`; tokio's runtime, which pyo3-async-runtimes
//! starts on first use, runs Rust futures on worker threads of its own.
//! Each side sees the other's work as one future it can await.
//!
//! Results travel from tokio to asyncio through `spawn_for_asyncio` below,
//! which does what `pyo3_async_runtimes::tokio::future_into_py` does and
//! also keeps count of the results still on their way, so that the
//! interpreter can wait for them when it exits (see `wait_for_deliveries`).

use pyo3::prelude::*;

#[pymodule(gil_used = false)]
mod async_rs {
    use std::future::Future;
    use std::sync::LazyLock;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    use pyo3::IntoPyObjectExt;
    use pyo3::exceptions::{PyRuntimeError, PyValueError};
    use pyo3::prelude::*;
    use pyo3::types::PyCFunction;
    use pyo3_async_runtimes::TaskLocals;
    use pyo3_async_runtimes::tokio::{get_runtime, into_future, scope};
    use tokio_util::sync::CancellationToken;

    // ANCHOR: bridge
    /// Rust futures whose results are still on their way to asyncio.
    static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

    /// Cancelled when the interpreter exits: every Rust future still
    /// running is dropped, since nobody will await its result any more.
    static EXITING: LazyLock<CancellationToken> = LazyLock::new(CancellationToken::new);

    /// Runs `future` on tokio and returns an `asyncio.Future` of its result,
    /// as `pyo3_async_runtimes::tokio::future_into_py` does: the future runs
    /// with the caller's event loop and a copy of its `contextvars` as task
    /// locals, so that it can await Python coroutines (`into_future`), and
    /// cancelling the asyncio.Future drops the Rust future.
    fn spawn_for_asyncio<'py, F, T>(py: Python<'py>, future: F) -> PyResult<Bound<'py, PyAny>>
    where
        F: Future<Output = PyResult<T>> + Send + 'static,
        T: for<'a> IntoPyObject<'a> + Send + 'static,
    {
        let locals = TaskLocals::with_running_loop(py)?.copy_context(py)?;
        let event_loop = locals.event_loop(py);
        let py_future = event_loop.call_method0("create_future")?;
        let task = get_runtime().spawn(scope(locals, async move {
            tokio::select! {
                result = future => Some(result),
                // The interpreter is exiting: drop the future.
                () = EXITING.cancelled() => None,
            }
        }));
        let abort = task.abort_handle();
        // asyncio cancelled the Future: abort the task; tokio drops the
        // Rust future instead of polling it again.
        let on_done = PyCFunction::new_closure(py, None, None, move |args, _| -> PyResult<()> {
            if args.get_item(0)?.call_method0("cancelled")?.is_truthy()? {
                abort.abort();
            }
            Ok(())
        })?;
        py_future.call_method1("add_done_callback", (on_done,))?;

        let (event_loop, target) = (event_loop.unbind(), py_future.clone().unbind());
        IN_FLIGHT.fetch_add(1, Ordering::SeqCst);
        get_runtime().spawn(async move {
            let result = match task.await {
                Ok(Some(result)) => result,
                // Dropped at exit, or aborted because asyncio cancelled the
                // Future: nothing to deliver, and no reason to attach.
                Ok(None) => return finished(),
                Err(error) if error.is_cancelled() => return finished(),
                Err(error) => Err(PyRuntimeError::new_err(format!(
                    "the Rust future panicked: {error}"
                ))),
            };
            // Attaching may wait for the GIL: not on a tokio worker.
            tokio::task::spawn_blocking(move || {
                Python::attach(|py| deliver(py, &event_loop, &target, result));
                // Detached again: this thread is done with Python.
                finished();
            });
        });
        Ok(py_future)
    }

    fn finished() {
        IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
    }

    /// Hands a finished future's result to the asyncio loop, which sets the
    /// Future's result on its own thread, unless it was cancelled meanwhile.
    fn deliver<T>(py: Python<'_>, event_loop: &Py<PyAny>, target: &Py<PyAny>, result: PyResult<T>)
    where
        T: for<'a> IntoPyObject<'a>,
    {
        let result = result.and_then(|value| value.into_py_any(py));
        let target = target.clone_ref(py);
        let set = PyCFunction::new_closure(py, None, None, move |args, _| -> PyResult<()> {
            let future = target.bind(args.py());
            if future.call_method0("done")?.is_truthy()? {
                return Ok(()); // cancelled while the result travelled
            }
            match &result {
                Ok(value) => future.call_method1("set_result", (value,))?,
                Err(error) => future.call_method1("set_exception", (error.value(args.py()),))?,
            };
            Ok(())
        });
        let event_loop = event_loop.bind(py);
        let scheduled = set.and_then(|set| event_loop.call_method1("call_soon_threadsafe", (set,)));
        if let Err(error) = scheduled {
            // A closed loop (`asyncio.run` has returned) awaits nothing any
            // more: the result has nowhere to go, and that is no error.
            let closed = event_loop
                .call_method0("is_closed")
                .and_then(|closed| closed.is_truthy());
            if !matches!(closed, Ok(true)) {
                error.print(py);
            }
        }
    }

    /// Registered with `atexit` when the module is imported. Before the
    /// interpreter shuts down, drop every Rust future still running, then
    /// wait (at most 5 s) until no thread is still delivering a result: a
    /// thread that attaches while the interpreter is finalizing can crash
    /// the process (see the page on this listing).
    #[pyfunction]
    fn wait_for_deliveries(py: Python<'_>) {
        EXITING.cancel();
        py.detach(|| {
            let deadline = Instant::now() + Duration::from_secs(5);
            while IN_FLIGHT.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
        });
    }

    /// in_flight(): how many Rust futures' results are still on their way.
    #[pyfunction]
    fn in_flight() -> usize {
        IN_FLIGHT.load(Ordering::SeqCst)
    }

    #[pymodule_init]
    fn init(module: &Bound<'_, PyModule>) -> PyResult<()> {
        let wait = wrap_pyfunction!(wait_for_deliveries, module)?;
        module
            .py()
            .import("atexit")?
            .call_method1("register", (wait,))?;
        Ok(())
    }
    // ANCHOR_END: bridge

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
        spawn_for_asyncio(py, async move {
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
        spawn_for_asyncio(py, async {
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
        spawn_for_asyncio(py, async move {
            match tokio::time::timeout(timeout, result).await {
                Ok(value) => value.map(Some),
                // Dropping `result` stops tokio waiting; the Python Task
                // it was waiting for goes on running on its loop.
                Err(_elapsed) => Ok(None),
            }
        })
    }

    /// after(delay, coroutine): an awaitable that tokio completes: it
    /// sleeps for `delay` seconds, then awaits the Python `coroutine` and
    /// returns its result. The coroutine runs on the caller's event loop,
    /// found through the task locals, in a copy of the caller's context.
    #[pyfunction]
    fn after<'py>(
        py: Python<'py>,
        delay: f64,
        coroutine: Py<PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let delay = seconds(delay)?;
        spawn_for_asyncio(py, async move {
            tokio::time::sleep(delay).await;
            // Attached only long enough to schedule the coroutine: once per
            // call, so the wait for the GIL on this tokio worker is short
            // unless a Python thread holds the GIL in a long C call. A hot
            // path would attach inside `spawn_blocking`, as deliveries do.
            let result = Python::attach(|py| into_future(coroutine.into_bound(py)))?;
            result.await
        })
    }
    // ANCHOR_END: python_future
}
