//! The book's checks, one module per file, in one test program.
//!
//! One program rather than one per file, for a first `cargo test`'s sake:
//! cargo runs test programs one after another, while the tests inside a
//! program run side by side (two at a time on two cores). Several of these
//! checks leave a core idle for long stretches (the extension modules'
//! single-threaded Python programs, the Python blocks that sleep, the
//! Chromium layout check), and here the others fill it; one program also
//! links the book's tool once instead of nine times.
//!
//! Run one module's checks with a filter: `cargo test -p book-tests --test
//! suite python_blocks::`.

mod book;
mod diagrams;
mod extensions;
mod layout;
mod listing_outputs;
mod python_blocks;
mod python_twins;
mod skeptic;
mod translations;
