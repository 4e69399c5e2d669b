use std::time::Duration;

use may::coroutine::{self, Builder};

fn worker(n: u32) {
    // The name was given when the coroutine was built; it is stable across
    // runs, unlike an address or an id.
    let me = coroutine::current();
    let name = me.name().expect("every worker is spawned with a name");
    for i in 0..n {
        println!("{name} {i}");
        // may's sleep parks this coroutine and lets its worker thread run
        // another one; `std::thread::sleep` would block the whole thread.
        coroutine::sleep(Duration::from_millis(50));
    }
}

fn main() {
    let handles: Vec<_> = [3, 2]
        .into_iter()
        .map(|n| {
            let builder = Builder::new().name(format!("worker-{n}"));
            // The signature says `io::Result`, but may 0.3.51 always returns
            // `Ok`: a stack it cannot allocate is a panic, not an `Err`.
            may::go!(builder, move || worker(n)).expect("Builder::spawn returns Ok")
        })
        .collect();

    for handle in handles {
        handle.join().expect("a worker panicked");
    }
    println!("all workers finished");
}
