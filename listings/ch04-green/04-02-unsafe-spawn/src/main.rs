// This listing exists to show the `unsafe` calls that `may::go!` makes for
// you, so it lifts the workspace's ban on `unsafe` code for this file only.
#![allow(unsafe_code)]

use std::time::Duration;

use may::coroutine;

fn main() {
    // ANCHOR: spawn
    // SAFETY: may's two conditions for `spawn` hold. The closure touches no
    // thread-local storage, and it needs a few hundred bytes of stack, far
    // below the default 0x1000 words (32 KiB on a 64-bit machine).
    let handle = unsafe { coroutine::spawn(|| (1..=10).sum::<u32>()) };

    let sum = handle.join().expect("the coroutine panicked");
    assert_eq!(sum, 55);
    println!("sum computed in a coroutine: {sum}");
    // ANCHOR_END: spawn

    // ANCHOR: cancel
    // SAFETY: as above: no thread-local storage, a tiny stack.
    let sleeper = unsafe {
        // The loop never ends, so the closure's return type is spelled out.
        coroutine::spawn::<_, ()>(|| {
            loop {
                coroutine::sleep(Duration::from_millis(10));
            }
        })
    };
    coroutine::sleep(Duration::from_millis(30));
    // SAFETY: the sleeper holds no lock and no half-done update, so the
    // unwinding that `cancel` starts inside it leaves nothing broken.
    unsafe { sleeper.coroutine().cancel() };
    let outcome = sleeper.join();
    assert!(outcome.is_err(), "a cancelled coroutine ends in a panic");
    println!("the sleeper was cancelled");
    // ANCHOR_END: cancel
}
