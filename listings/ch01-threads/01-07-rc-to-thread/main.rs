use std::rc::Rc;
use std::thread;

fn main() {
    // `Rc` counts its owners with a plain integer: cheap, but not thread-safe.
    let settings = Rc::new(vec!["verbose", "color"]);

    let settings_for_worker = Rc::clone(&settings);
    let worker = thread::spawn(move || settings_for_worker.len());

    let count = worker.join().expect("the worker panicked");
    println!("the worker counted {count} settings in {settings:?}");
}
