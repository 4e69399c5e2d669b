use std::env;
use std::error::Error;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;

/// Increments per thread when no count is given: enough to see the effect,
/// small enough for the test suite. `cargo book bench` passes a larger one.
const DEFAULT_INCREMENTS: u64 = 2_000_000;

// ANCHOR: layouts
/// Two counters side by side: 16 bytes, almost always on one cache line.
struct Adjacent {
    counters: [AtomicU64; 2],
}

/// The same two counters, each alone on its own cache line (or pair of
/// lines: `CachePadded` pads to 128 bytes on x86-64, where the CPU fetches
/// lines in adjacent pairs).
struct Padded {
    counters: [CachePadded<AtomicU64>; 2],
}
// ANCHOR_END: layouts

// ANCHOR: count
/// Two threads, each adding 1 to *its own* counter `increments` times.
/// No counter is shared, so no update can be lost; the only thing the two
/// threads share is, perhaps, the cache line their counters sit on.
fn count(counters: [&AtomicU64; 2], increments: u64) -> Duration {
    let started = Instant::now();
    thread::scope(|scope| {
        for counter in counters {
            scope.spawn(move || {
                for _ in 0..increments {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    started.elapsed()
}
// ANCHOR_END: count

fn main() -> Result<(), Box<dyn Error>> {
    let increments = match env::args().nth(1) {
        Some(text) => text.parse()?,
        None => DEFAULT_INCREMENTS,
    };

    let adjacent = Adjacent {
        counters: [AtomicU64::new(0), AtomicU64::new(0)],
    };
    let padded = Padded {
        counters: [
            CachePadded::new(AtomicU64::new(0)),
            CachePadded::new(AtomicU64::new(0)),
        ],
    };
    // Check the layouts the comparison relies on.
    assert_eq!(size_of::<Adjacent>(), 16);
    assert!(size_of::<Padded>() >= 2 * 64);

    let [a, b] = &adjacent.counters;
    let same_line = count([a, b], increments);
    let [a, b] = &padded.counters;
    let own_lines = count([a, b], increments);

    // Every increment landed, in both layouts: the difference is time only.
    for counter in adjacent
        .counters
        .iter()
        .chain(padded.counters.iter().map(|c| &**c))
    {
        assert_eq!(counter.load(Ordering::Relaxed), increments);
    }

    println!("increments per thread: {increments}");
    println!("adjacent counters     {:.3} s", same_line.as_secs_f64());
    println!(
        "padded counters       {:.3} s  {:.2}x",
        own_lines.as_secs_f64(),
        same_line.as_secs_f64() / own_lines.as_secs_f64()
    );
    Ok(())
}
