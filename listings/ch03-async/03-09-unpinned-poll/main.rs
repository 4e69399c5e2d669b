//! Listing 3-9: polling a future by hand through `Pin::new`, which only
//! accepts futures that may move. This program does not compile.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

async fn answer() -> u32 {
    42
}

fn main() {
    let mut future = answer();
    let mut context = Context::from_waker(Waker::noop());
    let poll = Pin::new(&mut future).poll(&mut context);
    assert_eq!(poll, Poll::Ready(42));
}
