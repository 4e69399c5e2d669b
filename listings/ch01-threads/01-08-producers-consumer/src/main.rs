use std::sync::mpsc;
use std::thread;

const PRODUCERS: u32 = 3;
const READINGS_PER_PRODUCER: u32 = 3;

fn main() {
    let (sender, receiver) = mpsc::channel();

    // A scope joins the producers at its end, so a producer that panics
    // makes `scope` panic too, instead of showing up only as missing lines.
    let (received, total) = thread::scope(|scope| {
        for sensor in 1..=PRODUCERS {
            // Each producer owns a clone of the sender; the channel stays
            // open while at least one sender exists.
            let sender = sender.clone();
            scope.spawn(move || {
                for reading in 1..=READINGS_PER_PRODUCER {
                    let value = sensor * 10 + reading;
                    sender
                        .send((sensor, value))
                        .expect("the consumer outlives the producers");
                }
                // `sender` is dropped here, when the thread finishes.
            });
        }
        // Drop the original too, or the loop below would wait for it forever.
        drop(sender);

        // The loop ends once every sender is gone and the channel is empty.
        let mut received = 0;
        let mut total = 0;
        for (sensor, value) in &receiver {
            println!("sensor {sensor} sent {value}");
            received += 1;
            total += value;
        }
        (received, total)
    });

    // Every message arrived exactly once, whatever the order:
    // (11 + 12 + 13) + (21 + 22 + 23) + (31 + 32 + 33) = 198.
    assert_eq!(received, PRODUCERS * READINGS_PER_PRODUCER);
    assert_eq!(total, 198);
    println!("total: {total}");
}
