//! mdBook reports problems (an include it cannot read, a bad config key) as
//! `tracing` events and carries on. The book treats every warning or error as a
//! failure, so this module captures them while a closure runs.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use tracing_subscriber::fmt::MakeWriter;

/// Collects formatted log lines in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // A poisoned buffer still holds every line written before the panic.
        let mut bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Runs `work` and returns its result together with every warning and error
/// mdBook logged meanwhile (on this thread), one message per entry.
pub fn capture_warnings<T>(work: impl FnOnce() -> T) -> (T, Vec<String>) {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing_subscriber::filter::LevelFilter::WARN)
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .with_writer(captured.clone())
        .finish();
    let value = tracing::subscriber::with_default(subscriber, work);
    let bytes = captured.0.lock().unwrap_or_else(PoisonError::into_inner);
    let messages = String::from_utf8_lossy(&bytes)
        .lines()
        .map(|line| line.trim().to_owned())
        .filter(|line| !line.is_empty())
        .collect();
    (value, messages)
}
