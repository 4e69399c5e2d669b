//! A pool of worker processes, like Python's `multiprocessing.Pool`, built
//! on `std::process::Command` (Listing 2-2 of the book).
//!
//! - A worker is a program started in worker mode: usually this very program
//!   again, with `--worker` ([`WorkerCommand::current_exe`]), as Python's
//!   *spawn* start method starts a fresh interpreter.
//! - Jobs travel as lines of text over the pipe that is the worker's standard
//!   input, and answers come back over the one that is its standard output
//!   ([`wire`] documents the format). On Unix the worker moves both off its
//!   standard streams before its first job, so that a job may print and may
//!   run other programs ([`worker::serve`]).
//! - Each worker leads its own process group: Ctrl-C does not reach it, and
//!   [`Pool::terminate`] kills it together with whatever its job started.
//! - A job is a name and an input string. The worker looks the name up in a
//!   `match` of its own, because a closure cannot be sent to another process.
//! - A job that panics, and a worker that dies or garbles its answer, give
//!   that job an error ([`JobError`]); the pool replaces the worker and the
//!   other jobs go on. Every process the pool starts is reaped.
//!
//! The whole of a program that uses it, `examples/shout.rs`
//! (`cargo run -p ch02-02-process-pool --example shout`):
//!
//! ```no_run
#![doc = include_str!("../examples/shout.rs")]
//! ```

mod job;
mod pool;
mod process;
pub mod wire;
pub mod worker;

pub use job::{JobError, JobHandle, JobResult};
pub use pool::Pool;
pub use process::{WORKER_ARG, WorkerCommand};
