//! No code: `tests/compile_fail.rs` holds the test, and the dependencies above
//! are the crates a rejected program may use.
