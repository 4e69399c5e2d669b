use std::thread;

fn print_numbers() {
    for i in 1..=5 {
        println!("Number: {i}");
    }
}

fn print_letters() {
    for letter in ['a', 'b', 'c', 'd', 'e'] {
        println!("Letter: {letter}");
    }
}

fn main() {
    // `spawn` creates the thread and starts it:
    // there is no separate `start()`.
    let numbers = thread::spawn(print_numbers);
    let letters = thread::spawn(print_letters);

    // `join` waits for a thread to finish. It returns
    // `Err` if the thread panicked; `expect` then
    // panics in `main` too, with its own message.
    numbers.join().expect("the numbers thread panicked");
    letters.join().expect("the letters thread panicked");

    println!("Both threads are done!");
}
