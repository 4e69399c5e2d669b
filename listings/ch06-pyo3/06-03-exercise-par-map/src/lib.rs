//! `par_map`: `par_map(function, items, workers=4)` calls a Python function
//! on every item from several threads, like
//! `ThreadPoolExecutor(workers).map`: results in the order of the items, and
//! the exception of the first item (in that order) that raised one.

use pyo3::prelude::*;

#[pymodule(gil_used = false)]
mod par_map {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::thread;

    use pyo3::exceptions::PyValueError;
    use pyo3::prelude::*;

    /// par_map(function, items, workers=4): [function(item) for item in
    /// items], called from `workers` threads at once.
    #[pyfunction]
    #[pyo3(signature = (function, items, workers = 4))]
    fn par_map(
        py: Python<'_>,
        function: Py<PyAny>,
        items: Vec<Py<PyAny>>,
        workers: usize,
    ) -> PyResult<Vec<Py<PyAny>>> {
        if workers == 0 {
            return Err(PyValueError::new_err("workers must be at least 1"));
        }
        // One slot per item: each worker fills the slots of the items it
        // takes, so the results come back in the items' order.
        let slots: Vec<OnceLock<PyResult<Py<PyAny>>>> =
            items.iter().map(|_| OnceLock::new()).collect();
        let next = AtomicUsize::new(0);
        // The lowest index whose call raised: once a worker knows of a
        // failure, it starts no new item after it (other workers may
        // already have started later ones).
        let first_failure = AtomicUsize::new(usize::MAX);

        // Detach while the workers run: on the default build they need the
        // GIL to call `function`, and this thread would otherwise hold it
        // while it waits for them, forever.
        py.detach(|| {
            thread::scope(|scope| {
                for _ in 0..workers.min(items.len()) {
                    // Attached once for all the items this worker calls, not
                    // once per item: the thread state PyO3 creates for it
                    // lasts, so a `threading.local` keeps its values from
                    // one item to the next, as in a ThreadPoolExecutor
                    // worker. The workers still take turns on the default
                    // build: the called Python code hands the GIL over as
                    // any Python thread does.
                    scope.spawn(|| {
                        Python::attach(|py| {
                            loop {
                                let index = next.fetch_add(1, Ordering::Relaxed);
                                if index >= items.len()
                                    || index > first_failure.load(Ordering::Relaxed)
                                {
                                    break;
                                }
                                let result = function.call1(py, (items[index].bind(py),));
                                if result.is_err() {
                                    first_failure.fetch_min(index, Ordering::Relaxed);
                                }
                                // Each index is taken once, so each slot is set once.
                                let _ = slots[index].set(result);
                            }
                        })
                    });
                }
            });
        });

        // Collecting into a `PyResult` stops at the first `Err`. Every item
        // before the first failure was called (indices are taken in
        // increasing order), so no empty slot is reached before it.
        slots
            .into_iter()
            .map(|slot| {
                slot.into_inner()
                    .expect("every item up to the first failure has a result")
            })
            .collect()
    }
}
