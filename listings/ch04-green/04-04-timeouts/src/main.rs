use std::sync::Arc;
use std::sync::mpsc::RecvTimeoutError;
use std::time::Duration;

use may::sync::{SyncFlag, mpsc};

fn main() {
    // A slow service: it answers only once `release` is fired, so the first
    // wait below times out whatever the scheduler does.
    let release = Arc::new(SyncFlag::new());
    let (replies, reply) = mpsc::channel();
    let service = may::go!({
        let release = release.clone();
        move || {
            release.wait();
            replies.send(42).expect("the caller is still listening");
        }
    });

    // Like `with gevent.Timeout(0.05): queue.get()`, but the deadline
    // belongs to this one call.
    match reply.recv_timeout(Duration::from_millis(50)) {
        Err(RecvTimeoutError::Timeout) => println!("no reply within 50 ms"),
        other => panic!("expected a timeout, got {other:?}"),
    }

    release.fire();
    let answer = reply.recv().expect("the service sends one reply");
    assert_eq!(answer, 42);
    println!("reply after release: {answer}");

    service.join().expect("the service panicked");
    // The flag stays fired (there is no `clear`), so waiting again returns
    // at once, and `wait_timeout` reports it with `true`.
    assert!(release.wait_timeout(Duration::from_millis(10)));
    println!("flag still fired");
}
