use std::sync::{Arc, Mutex};
use std::time::Duration;

#[tokio::main]
async fn main() {
    let hits = Arc::new(Mutex::new(0));
    let counter = Arc::clone(&hits);
    let task = tokio::spawn(async move {
        let mut guard = counter.lock().expect("not poisoned");
        // The task may resume on another worker thread here, and a std
        // `MutexGuard` must be unlocked on the thread that locked it.
        tokio::time::sleep(Duration::from_millis(10)).await;
        *guard += 1;
    });
    task.await.expect("the task panicked");
    println!("hits: {}", hits.lock().expect("not poisoned"));
}
