//! Listing 7-1: a value published from one thread to another through a flag.
//! The library's unit tests check it with loom (`cargo test -p
//! ch07-01-loom-mailbox`); this program just uses it, with real threads.

use std::thread;
use std::time::{Duration, Instant};

use ch07_01_loom_mailbox::Mailbox;

const ROUNDS: u64 = 1000;
/// No reader should ever wait this long; if one does, fail instead of hanging.
const PATIENCE: Duration = Duration::from_secs(10);

fn main() {
    for round in 1..=ROUNDS {
        let mailbox = Mailbox::new();
        let received = thread::scope(|scope| {
            scope.spawn(|| mailbox.put(round));
            let reader = scope.spawn(|| {
                let deadline = Instant::now() + PATIENCE;
                loop {
                    if let Some(value) = mailbox.get() {
                        return value;
                    }
                    assert!(Instant::now() < deadline, "the writer never published");
                    thread::yield_now();
                }
            });
            reader.join().expect("the reader does not panic")
        });
        assert_eq!(received, round, "a reader saw the flag but not the value");
    }
    println!("{ROUNDS} rounds: every reader waited for the flag, then read the value that was put");
}
