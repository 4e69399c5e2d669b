use std::time::Duration;

use tokio::time::{Instant, sleep};

async fn worker(name: &str) {
    println!("Worker {name} is working");
    // Stands in for a slow operation: the worker gives up the thread here
    // until its timer fires, and the other workers run meanwhile.
    sleep(Duration::from_secs(1)).await;
    println!("Worker {name} has finished");
}

// `current_thread` is asyncio's model: one thread runs every coroutine.
// `start_paused` starts tokio's clock paused: when every task is waiting on
// a timer, the clock jumps to the next deadline, so the one-second sleeps
// finish at once. Delete it to wait a real second.
#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let start = Instant::now();

    // Like `asyncio.gather`: run the three coroutines concurrently and wait
    // for all of them.
    tokio::join!(worker("A"), worker("B"), worker("C"));

    // Three one-second workers, one second in all: they slept at the same time.
    let elapsed = start.elapsed();
    assert_eq!(elapsed.as_secs(), 1, "took {elapsed:?}");
    println!("All workers finished after {} s", elapsed.as_secs());
}
