//! What every run of Listing 1-1 guarantees, whatever the interleaving: each
//! thread's lines in its own order, and the last line last.

use std::process::Command;

const NUMBERS: [&str; 5] = [
    "Number: 1",
    "Number: 2",
    "Number: 3",
    "Number: 4",
    "Number: 5",
];
const LETTERS: [&str; 5] = [
    "Letter: a",
    "Letter: b",
    "Letter: c",
    "Letter: d",
    "Letter: e",
];

#[test]
fn each_thread_prints_in_order_and_main_prints_last() {
    for _ in 0..20 {
        let output = Command::new(env!("CARGO_BIN_EXE_ch01-01-two-threads"))
            .output()
            .expect("the listing runs");
        assert!(output.status.success());
        let stdout = String::from_utf8(output.stdout).expect("UTF-8 output");
        let lines: Vec<&str> = stdout.lines().collect();

        assert_eq!(lines.len(), 11, "{lines:?}");
        assert_eq!(lines.last(), Some(&"Both threads are done!"));
        let numbers: Vec<&str> = lines
            .iter()
            .copied()
            .filter(|l| l.starts_with("Number"))
            .collect();
        let letters: Vec<&str> = lines
            .iter()
            .copied()
            .filter(|l| l.starts_with("Letter"))
            .collect();
        assert_eq!(numbers, NUMBERS);
        assert_eq!(letters, LETTERS);
    }
}
