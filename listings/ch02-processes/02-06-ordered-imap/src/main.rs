use std::cell::Cell;
use std::collections::BTreeMap;
use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// `Pool.imap`: an iterator over `f(item)` for every item, in the order of
/// the items, computed on `workers` threads. It reads the items lazily: at
/// most `window` of them are handed out and not yet yielded at any time.
struct OrderedImap<I: Iterator, R> {
    /// The input, read on the consumer's thread, one item per result taken.
    items: I,
    /// Where the workers take jobs from; `None` once the input has run out.
    jobs: Option<Sender<(usize, I::Item)>>,
    /// Where they put `(index, outcome)`, in the order they finish.
    results: Receiver<(usize, thread::Result<R>)>,
    /// The reorder buffer: outcomes that arrived before their turn.
    early: BTreeMap<usize, thread::Result<R>>,
    /// The index the next item sent out gets.
    sent: usize,
    /// The index of the result to yield next.
    next: usize,
    workers: Vec<JoinHandle<()>>,
}

fn ordered_imap<I, R, F>(
    items: I,
    workers: usize,
    window: usize,
    f: F,
) -> OrderedImap<I::IntoIter, R>
where
    I: IntoIterator,
    I::Item: Send + 'static,
    R: Send + 'static,
    F: Fn(I::Item) -> R + Send + Sync + 'static,
{
    assert!(workers > 0 && window > 0, "needs a worker and a window");
    let (job_sender, job_receiver) = mpsc::channel::<(usize, I::Item)>();
    let (result_sender, results) = mpsc::channel();
    // Several workers take jobs from one channel, as in Listing 1-9.
    let job_receiver = Arc::new(Mutex::new(job_receiver));
    let f = Arc::new(f);

    let workers = (0..workers)
        .map(|_| {
            let job_receiver = Arc::clone(&job_receiver);
            let result_sender = result_sender.clone();
            let f = Arc::clone(&f);
            thread::spawn(move || {
                loop {
                    // The lock guard is dropped at the end of this statement,
                    // before the work starts.
                    let job = job_receiver
                        .lock()
                        .expect("jobs are taken without panicking")
                        .recv();
                    // `Err`: the input is used up (or the iterator dropped).
                    let Ok((index, item)) = job else { break };
                    // A panic in `f` is caught and sent like a result, so
                    // that it reaches the consumer at this item's turn
                    // instead of leaving a gap the consumer would wait on.
                    let outcome = panic::catch_unwind(AssertUnwindSafe(|| f(item)));
                    if result_sender.send((index, outcome)).is_err() {
                        break; // Nobody is reading any more.
                    }
                }
            })
        })
        .collect();

    let mut imap = OrderedImap {
        items: items.into_iter(),
        jobs: Some(job_sender),
        results,
        early: BTreeMap::new(),
        sent: 0,
        next: 0,
        workers,
    };
    // Fill the window; from now on, one item goes out per result taken.
    for _ in 0..window {
        imap.send_next_item();
    }
    imap
}

impl<I: Iterator, R> OrderedImap<I, R> {
    /// Hands the next input item to the workers, if there is one.
    fn send_next_item(&mut self) {
        let Some(jobs) = &self.jobs else { return };
        match self.items.next() {
            Some(item) => {
                jobs.send((self.sent, item))
                    .expect("the workers run until the job channel closes");
                self.sent += 1;
            }
            // Closing the job channel lets the workers finish once it is empty.
            None => self.jobs = None,
        }
    }
}

impl<I: Iterator, R> Iterator for OrderedImap<I, R> {
    type Item = R;

    fn next(&mut self) -> Option<R> {
        // Every item sent has been yielded, and the window was refilled
        // after each one: the input has run out.
        if self.next == self.sent {
            return None;
        }
        let outcome = loop {
            if let Some(outcome) = self.early.remove(&self.next) {
                break outcome;
            }
            let (index, outcome) = self
                .results
                .recv()
                .expect("a worker still holds a sender while item `next` is out");
            self.early.insert(index, outcome);
        };
        self.next += 1;
        self.send_next_item();
        match outcome {
            Ok(result) => Some(result),
            // Re-raise the worker's panic here, as `imap` re-raises an
            // exception when you reach its item.
            Err(payload) => panic::resume_unwind(payload),
        }
    }
}

impl<I: Iterator, R> Drop for OrderedImap<I, R> {
    /// Closes the job channel and waits for the workers, so that no thread
    /// outlives the iterator. The items already handed out, at most
    /// `window`, are finished first.
    fn drop(&mut self) {
        self.jobs = None;
        for worker in self.workers.drain(..) {
            // Panics in `f` were caught in the worker; nothing is left to report.
            let _ = worker.join();
        }
    }
}

const WORKERS: usize = 3;
const WINDOW: usize = 6;

/// Later items often finish before earlier ones: 30 ms for 0, 4, 8…, none
/// for 3, 7, 11….
fn slow_square(n: u64) -> u64 {
    thread::sleep(Duration::from_millis((3 - n % 4) * 10));
    n * n
}

fn main() {
    // Count the items the iterator has read from its input.
    let pulled = Cell::new(0);
    let numbers = (0..12).inspect(|_| pulled.set(pulled.get() + 1));

    let mut squares = Vec::new();
    for (position, square) in ordered_imap(numbers, WORKERS, WINDOW, slow_square).enumerate() {
        println!("item {position}: {square}");
        // Lazy: `position + 1` results taken, and the window refilled.
        assert_eq!(pulled.get(), (position + 1 + WINDOW).min(12));
        squares.push(square);
    }
    // In the order of the input, whatever order the workers finished in.
    let expected: Vec<u64> = (0..12).map(|n| n * n).collect();
    assert_eq!(squares, expected);

    // An endless input works too: only the window is ever read ahead.
    let first: Vec<u64> = ordered_imap(0.., WORKERS, WINDOW, slow_square)
        .take(3)
        .collect();
    assert_eq!(first, [0, 1, 4]);
    println!("the first three squares of an endless input: {first:?}");

    // A panic in `f` reaches the consumer when it gets to that item.
    let outcome = panic::catch_unwind(|| {
        let checked = |n: u64| {
            assert_ne!(n, 2, "two is not allowed");
            n
        };
        ordered_imap(0..4, 2, 2, checked).collect::<Vec<u64>>()
    });
    assert!(outcome.is_err());
    println!("the panic in item 2 reached the consumer");
}
