use std::thread;

/// How many letters the words have in total.
fn letter_count(words: &[&str]) -> usize {
    words.iter().map(|word| word.len()).sum()
}

fn main() {
    let words = vec!["apple", "banana", "cherry", "damson", "elderberry"];
    let (first_half, second_half) = words.split_at(words.len() / 2);

    // ANCHOR: scope
    // Every thread spawned on `scope` is joined before `scope` returns, so
    // the threads may borrow `words` instead of owning a copy of it.
    let (first, second) = thread::scope(|scope| {
        let first = scope.spawn(|| letter_count(first_half));
        let second = scope.spawn(|| letter_count(second_half));
        // `join` hands back what the thread's closure returned.
        (
            first.join().expect("the first counter panicked"),
            second.join().expect("the second counter panicked"),
        )
    });
    // ANCHOR_END: scope

    println!("letters in {first_half:?}: {first}");
    println!("letters in {second_half:?}: {second}");
    // The borrow ended with the scope: `words` is ours again.
    assert_eq!(first + second, letter_count(&words));
    println!("letters in all {} words: {}", words.len(), first + second);
}
