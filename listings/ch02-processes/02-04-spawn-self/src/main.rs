use std::env;
use std::error::Error;
use std::io::{self, BufRead, BufReader, Write};
use std::process::{self, Child, Command, Stdio};
use std::thread;

/// The argument that puts the program in child mode. Python's "spawn" start
/// method does the same: it starts a fresh interpreter with a flag that makes
/// it wait for work instead of running your script.
const CHILD_MODE: &str = "--child";

fn main() -> Result<(), Box<dyn Error>> {
    if env::args().nth(1).as_deref() == Some(CHILD_MODE) {
        run_child()
    } else {
        run_parent()
    }
}

fn run_parent() -> Result<(), Box<dyn Error>> {
    let limits = [10, 100, 1_000, 10_000];

    // A new process running this same program in child mode. It starts from
    // `main` with nothing of ours: only its arguments, its environment, and
    // whatever we write to its standard input.
    let mut child = Command::new(env::current_exe()?)
        .arg(CHILD_MODE)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    println!(
        "parent process {}: started child process {}",
        process::id(),
        child.id()
    );

    // Talk to the child, then wait for it whatever happened: dropping a
    // `Child` neither waits for the process nor kills it, so returning early
    // with `?` here would leave it running, and a zombie once it exits.
    let replies = exchange(&mut child, &limits);
    if replies.is_err() {
        // It may be stuck waiting for input that will never come.
        child.kill()?;
    }
    // Wait for the child, as `Process.join()` does, and check how it ended.
    let status = child.wait()?;
    let replies = replies?;
    if !status.success() {
        return Err(format!("the child failed: {status}").into());
    }

    // The first reply is the child's process id, the rest one count a line.
    let (child_id, counts) = replies.split_first().ok_or("the child sent nothing")?;
    assert_eq!(child_id.parse::<u32>()?, child.id(), "a different process");
    assert_eq!(counts, ["4", "25", "168", "1229"]);
    for (limit, count) in limits.iter().zip(counts) {
        println!("child process {child_id}: {count} primes below {limit}");
    }
    println!("parent: the child exited successfully");
    Ok(())
}

/// Sends the limits to the child, one a line, and reads its replies until it
/// closes its output.
fn exchange(child: &mut Child, limits: &[u64]) -> io::Result<Vec<String>> {
    let mut to_child = child.stdin.take().expect("stdin is piped");
    let from_child = BufReader::new(child.stdout.take().expect("stdout is piped"));

    // Write on one thread while this one reads, so that neither process can
    // block the other by filling a pipe the other is not reading.
    thread::scope(|scope| {
        let writer = scope.spawn(move || -> io::Result<()> {
            for limit in limits {
                writeln!(to_child, "{limit}")?;
            }
            // Returning drops `to_child`, which closes the pipe: the child
            // reads the end of its input and finishes.
            Ok(())
        });
        let replies = from_child.lines().collect::<io::Result<_>>()?;
        writer.join().expect("the writer thread panicked")?;
        Ok(replies)
    })
}

/// Child mode: the process id first, then, for each limit read from
/// standard input, the number of primes below it, one line each.
fn run_child() -> Result<(), Box<dyn Error>> {
    let mut output = io::stdout().lock();
    writeln!(output, "{}", process::id())?;
    for line in io::stdin().lock().lines() {
        let limit: u64 = line?.trim().parse()?;
        writeln!(output, "{}", count_primes_below(limit))?;
    }
    Ok(())
}

fn count_primes_below(limit: u64) -> usize {
    (2..limit).filter(|&n| is_prime(n)).count()
}

fn is_prime(n: u64) -> bool {
    if n < 2 {
        return false;
    }
    if n.is_multiple_of(2) {
        return n == 2;
    }
    let mut divisor = 3;
    while divisor * divisor <= n {
        if n.is_multiple_of(divisor) {
            return false;
        }
        divisor += 2;
    }
    true
}
