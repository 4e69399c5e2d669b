//! The book's own tool, as a library: `cargo book` (in `main.rs`) and the
//! test suite (`tests/`) share it, so the tests check the book exactly the way
//! it is built.

pub mod bench;
pub mod book;
pub mod cargo;
pub mod diagnostics;
pub mod error;
pub mod extensions;
pub mod i18n;
pub mod includes;
pub mod linkcheck;
pub mod listings;
pub mod outputs;
pub mod results;
pub mod serve;
pub mod snippets;

pub use book::Book;
pub use error::BookError;
