//! `book-tests` has no code of its own: its dependencies are the crates every
//! snippet of the book links against, and `tests/` holds the test suites.
