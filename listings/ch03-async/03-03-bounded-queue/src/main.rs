use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::sleep;

const CAPACITY: usize = 2;
const ITEMS: usize = 6;

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    // Like `asyncio.Queue(maxsize=2)`: `send` waits while the queue is full.
    let (sender, mut receiver) = mpsc::channel::<usize>(CAPACITY);
    let received = Arc::new(AtomicUsize::new(0));

    let producer = tokio::spawn({
        let received = Arc::clone(&received);
        async move {
            for item in 0..ITEMS {
                sender
                    .send(item)
                    .await
                    .expect("the consumer is still there");
                // Backpressure: the producer can never be more than
                // CAPACITY items ahead of the consumer.
                let ahead = item + 1 - received.load(Ordering::SeqCst);
                assert!(ahead <= CAPACITY, "{ahead} items queued");
                println!("put {item}");
            }
            // Dropping the sender closes the queue: the consumer's `recv`
            // returns `None` once it has taken every item.
        }
    });

    let consumer = tokio::spawn(async move {
        let mut total = 0;
        while let Some(item) = receiver.recv().await {
            received.fetch_add(1, Ordering::SeqCst);
            println!("    got {item}");
            // A slow consumer: 100 ms per item (on the paused clock).
            sleep(Duration::from_millis(100)).await;
            total += item;
        }
        total
    });

    producer.await.expect("the producer panicked");
    let total = consumer.await.expect("the consumer panicked");
    assert_eq!(total, (0..ITEMS).sum::<usize>());
    println!("the consumer added up {total}");
}
