//! Listing 7-4: two threads take two locks in opposite orders and deadlock;
//! the main thread, as a watchdog, asks parking_lot which threads wait for
//! each other, reports them, and ends the process.

use std::path::Path;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use parking_lot::{Mutex, deadlock};

/// How often the watchdog looks, and when it gives up looking.
const CHECK_EVERY: Duration = Duration::from_millis(10);
const PATIENCE: Duration = Duration::from_secs(10);

// ANCHOR: transfer
fn transfer(accounts: &[Mutex<u64>; 2], from: usize, to: usize, both_hold_one: &Barrier) {
    let mut source = accounts[from].lock();
    // Wait until the other clerk holds its first lock too: with the barrier,
    // every run deadlocks, instead of one run in a thousand.
    both_hold_one.wait();
    let mut target = accounts[to].lock(); // waits for the other clerk forever
    *source -= 10;
    *target += 10;
}
// ANCHOR_END: transfer

fn main() {
    let accounts = Arc::new([Mutex::new(100), Mutex::new(100)]);
    let both_hold_one = Arc::new(Barrier::new(2));
    for (from, to) in [(0, 1), (1, 0)] {
        let accounts = Arc::clone(&accounts);
        let both_hold_one = Arc::clone(&both_hold_one);
        // Never joined: these threads will not finish.
        thread::spawn(move || transfer(&accounts, from, to, &both_hold_one));
    }

    watchdog();
}

// ANCHOR: watchdog
/// Looks for a deadlock every few milliseconds; reports the first one found
/// and ends the process.
fn watchdog() -> ! {
    let started = Instant::now();
    let cycles = loop {
        // Polling, not synchronisation: a deadlock can only be seen after
        // it happened, so the watchdog looks again and again.
        thread::sleep(CHECK_EVERY);
        let cycles = deadlock::check_deadlock();
        if !cycles.is_empty() {
            break cycles;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "no deadlock after {PATIENCE:?}"
        );
    };
    for cycle in &cycles {
        println!("deadlock: {} threads wait for each other", cycle.len());
        for thread in cycle {
            // The first frame of this program in the thread's backtrace: the
            // call that waits for a lock.
            let waits_in = thread
                .backtrace()
                .frames()
                .iter()
                .flat_map(|frame| frame.symbols())
                .find_map(|symbol| {
                    let name = format!("{:#}", symbol.name()?);
                    let file = Path::new(symbol.filename()?).file_name()?.to_str()?;
                    let line = symbol.lineno()?;
                    name.starts_with(env!("CARGO_CRATE_NAME"))
                        .then(|| format!("{name} ({file}:{line})"))
                });
            let waits_in = waits_in.as_deref().unwrap_or("a frame without symbols");
            println!("  a thread waits in {waits_in}");
        }
    }
    // A service would log this and abort, so that it restarts. The two
    // clerks can never finish: end the process without waiting for them.
    std::process::exit(0);
}
// ANCHOR_END: watchdog
