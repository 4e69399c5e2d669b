use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

/// Ready once `deadline` has passed.
pub struct Delay {
    deadline: Instant,
    /// Shared with the helper thread, once the first poll has started it.
    shared: Option<Arc<Mutex<Shared>>>,
}

/// What the future and its helper thread share, behind one lock.
struct Shared {
    /// Set by the helper thread at the deadline.
    fired: bool,
    /// The waker of the latest poll: the one to call.
    waker: Option<Waker>,
}

impl Delay {
    pub fn new(duration: Duration) -> Delay {
        // Lazy, like every future: no thread yet.
        let deadline = Instant::now() + duration;
        Delay {
            deadline,
            shared: None,
        }
    }
}

impl Future for Delay {
    type Output = &'static str;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<&'static str> {
        let deadline = self.deadline;
        // The quick answer, without the lock. Not enough on
        // its own: the helper may fire right after this check.
        if Instant::now() >= deadline {
            return Poll::Ready("rang");
        }
        // The first poll starts the helper thread.
        let shared = self.shared.get_or_insert_with(|| {
            let shared = Arc::new(Mutex::new(Shared {
                fired: false,
                waker: None,
            }));
            let helper = Arc::clone(&shared);
            thread::spawn(move || {
                let now = Instant::now();
                thread::sleep(deadline.saturating_duration_since(now));
                let waker = {
                    let mut shared = helper.lock().expect("not poisoned");
                    shared.fired = true;
                    shared.waker.take()
                };
                if let Some(waker) = waker {
                    waker.wake();
                }
            });
            shared
        });
        // Check and register under the lock the helper fires
        // under: either it has fired, and we see it, or it has
        // not, and it will find the waker we store now.
        let mut shared = shared.lock().expect("not poisoned");
        if shared.fired {
            return Poll::Ready("rang");
        }
        // Keep the newest waker: the future may have
        // changed tasks since the last poll.
        match &mut shared.waker {
            Some(waker) => waker.clone_from(cx.waker()),
            None => shared.waker = Some(cx.waker().clone()),
        }
        // Somebody will call `wake`: safe to wait.
        Poll::Pending
    }
}

/// Wakes the thread that runs `block_on`.
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// The smallest executor: runs one future to
/// completion on this thread, and counts polls.
pub fn block_on<F: Future>(future: F) -> (F::Output, u32) {
    let mut future = pin!(future);
    let unpark = Arc::new(Unpark(thread::current()));
    let waker = Waker::from(unpark);
    let mut cx = Context::from_waker(&waker);
    let mut polls = 0;
    loop {
        polls += 1;
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(output) => return (output, polls),
            // Sleep until a waker unparks us.
            Poll::Pending => thread::park(),
        }
    }
}

fn main() {
    let start = Instant::now();
    let (rang, polls) = block_on(async { Delay::new(Duration::from_millis(20)).await });
    println!("{rang}");
    assert!(start.elapsed() >= Duration::from_millis(20));
    // Pending once, woken, ready (`park` may wake
    // early, which only costs an extra poll).
    assert!(polls >= 2);

    // A tokio runtime drives the very same future.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let delay = Delay::new(Duration::from_millis(5));
    assert_eq!(runtime.block_on(delay), "rang");
}
