//! Listing 4-11: `gevent.signal_handler` with may. signal-hook catches the
//! signals and hands them to a std thread; the thread forwards each one to
//! a coroutine over a may channel, so the coroutine parks while it waits
//! instead of blocking its worker.

use std::io;
use std::thread;
use std::time::Duration;

use may::sync::mpsc;
use signal_hook::consts::{SIGTERM, SIGUSR1};
use signal_hook::iterator::Signals;
use signal_hook::low_level::{raise, signal_name};

/// Bounds every wait, so that a lost signal fails the run instead of
/// hanging it.
const PATIENCE: Duration = Duration::from_secs(10);

fn main() -> io::Result<()> {
    // ANCHOR: forward
    // A real signal handler may do almost nothing (no locks, no allocation):
    // signal-hook's writes a byte to a pipe, and `forever` reads the pipe on
    // an ordinary thread, where anything is allowed.
    let mut signals = Signals::new([SIGUSR1, SIGTERM])?;
    let (deliver, delivered) = mpsc::channel();
    thread::spawn(move || {
        for signal in signals.forever() {
            if deliver.send(signal).is_err() {
                break; // nobody listens any more
            }
        }
    });
    // ANCHOR_END: forward

    // ANCHOR: handle
    let (handled, handled_rx) = mpsc::channel();
    let handler = may::go!(move || {
        // Parks on the may channel between signals.
        for signal in delivered.iter() {
            let name = signal_name(signal).unwrap_or("an unknown signal");
            println!("the handler coroutine got {name}");
            let _ = handled.send(signal);
            if signal == SIGTERM {
                break; // shut down
            }
        }
    });
    // ANCHOR_END: handle

    // Send ourselves the two signals, one at a time.
    for signal in [SIGUSR1, SIGTERM] {
        raise(signal)?;
        let got = handled_rx
            .recv_timeout(PATIENCE)
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "a signal went unhandled"))?;
        assert_eq!(got, signal);
    }
    handler.join().expect("the handler coroutine panicked");
    println!("shut down after SIGTERM");
    Ok(())
}
