use std::thread;

fn main() {
    let mut results = Vec::new();

    // Both closures want the same `Vec`, and both would push to it at once.
    let first = thread::spawn(move || results.push(1));
    let second = thread::spawn(move || results.push(2));

    first.join().expect("the first thread panicked");
    second.join().expect("the second thread panicked");
}
