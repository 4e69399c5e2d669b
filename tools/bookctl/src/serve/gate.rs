//! At most N runs at a time, and a bounded queue of runs waiting for a turn.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Lets `running` runs through at once and `queue` more wait; turns away the rest.
pub struct Gate {
    slots: Arc<Semaphore>,
    /// Runs that hold a slot or wait for one.
    admitted: AtomicUsize,
    capacity: usize,
}

/// A run's turn: the slot is given back when this is dropped.
pub struct Turn<'a> {
    _permit: OwnedSemaphorePermit,
    _admission: Admission<'a>,
}

/// Counts a run as admitted until dropped (also when a waiting request is
/// cancelled because its client went away).
struct Admission<'a>(&'a AtomicUsize);

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Gate {
    pub fn new(running: usize, queue: usize) -> Gate {
        let running = running.max(1);
        Gate {
            slots: Arc::new(Semaphore::new(running)),
            admitted: AtomicUsize::new(0),
            capacity: running + queue,
        }
    }

    /// Waits for a turn, or returns `None` at once when the queue is full.
    pub async fn enter(&self) -> Option<Turn<'_>> {
        let previous = self
            .admitted
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.capacity).then_some(n + 1)
            })
            .ok()?;
        debug_assert!(previous < self.capacity);
        let admission = Admission(&self.admitted);
        // The semaphore is never closed, so acquiring only fails if it were.
        let permit = Arc::clone(&self.slots).acquire_owned().await.ok()?;
        Some(Turn {
            _permit: permit,
            _admission: admission,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_queue_is_bounded_and_frees_up() {
        let gate = Gate::new(1, 1);
        let first = gate.enter().await.expect("a free slot");
        // The second waits for the first; poll it once so that it is queued.
        let mut second = Box::pin(gate.enter());
        assert!(futures_poll_once(second.as_mut()).await.is_none());
        assert!(gate.enter().await.is_none(), "a third must be turned away");
        drop(first);
        let second = second.await.expect("the queued run gets its turn");
        drop(second);
        assert!(gate.enter().await.is_some());
    }

    /// Polls a future once; `Some` if it finished.
    async fn futures_poll_once<F: std::future::Future + Unpin>(future: F) -> Option<F::Output> {
        let mut future = future;
        std::future::poll_fn(|cx| {
            std::task::Poll::Ready(match std::pin::Pin::new(&mut future).poll(cx) {
                std::task::Poll::Ready(value) => Some(value),
                std::task::Poll::Pending => None,
            })
        })
        .await
    }
}
