//! Listing 7-5: a program that deadlocks, to look at with a debugger.
//!
//! `cargo run -p ch07-05-hang-backtraces -- --hang` hangs for good and prints
//! the gdb command that shows where every thread waits. Without `--hang` it
//! deadlocks the same way, reports it, and exits.

use std::io::Write;
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

// ANCHOR: transfer
fn transfer(accounts: &[Mutex<u64>; 2], from: usize, to: usize, both_hold_one: &Barrier) {
    let mut source = accounts[from].lock().expect("not poisoned");
    both_hold_one.wait();
    let mut target = accounts[to].lock().expect("not poisoned"); // waits forever
    *source -= 10;
    *target += 10;
}
// ANCHOR_END: transfer

fn main() -> std::io::Result<()> {
    let hang = std::env::args().any(|arg| arg == "--hang");
    let accounts = Arc::new([Mutex::new(100), Mutex::new(100)]);
    let both_hold_one = Arc::new(Barrier::new(2));
    let mut clerks = Vec::new();
    for (name, from, to) in [("clerk-a", 0, 1), ("clerk-b", 1, 0)] {
        let accounts = Arc::clone(&accounts);
        let both_hold_one = Arc::clone(&both_hold_one);
        // Named threads: debuggers and `top -H` show these names.
        let clerk = thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || transfer(&accounts, from, to, &both_hold_one))?;
        clerks.push(clerk);
    }

    // Both locks taken means both clerks are past their first `lock()`.
    let started = Instant::now();
    while accounts.iter().any(|account| account.try_lock().is_ok()) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the clerks never started"
        );
        thread::yield_now();
    }
    let pid = std::process::id();
    println!("process {pid}: clerk-a and clerk-b each hold one lock and want the other");
    if hang {
        println!("attach with: gdb -batch -ex \"thread apply all bt\" -p {pid}");
        std::io::stdout().flush()?;
        for clerk in clerks {
            // Never returns: this is the hang to look at.
            let _ = clerk.join();
        }
    } else {
        println!("neither can finish; run with --hang and attach gdb to see where they wait");
    }
    Ok(())
}
