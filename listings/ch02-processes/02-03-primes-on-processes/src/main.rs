use std::env;
use std::error::Error;
use std::ops::Range;
use std::time::{Duration, Instant};

use ch02_02_process_pool::{Pool, WORKER_ARG, WorkerCommand, worker};
use rayon::prelude::*;

/// Count the primes in [2, LIMIT), as Listing 1-3 does.
const LIMIT: u64 = 3_000_000;
/// Worker processes in the pool, and threads in the rayon pool.
const WORKERS: usize = 2;
/// Many more jobs than workers: a worker that finishes early takes another
/// job, so no core idles while the other does the expensive top of the range.
const CHUNKS: u64 = 64;
/// Jobs for the per-job cost: sent one at a time, and all at once.
const ROUND_TRIPS: u64 = 1_000;
const TINY_JOBS: u64 = 10_000;

/// Trial division, as in Listing 1-3: slow on purpose.
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

fn count_primes(numbers: Range<u64>) -> usize {
    numbers.filter(|&n| is_prime(n)).count()
}

// ANCHOR: registry
/// The worker's only job. Its input and output are text: `"start end"` in,
/// the count out.
fn run_job(job: &str, input: &str) -> Result<String, String> {
    match job {
        "count_primes" => Ok(count_primes(parse_range(input)?).to_string()),
        _ => Err(format!("no job named `{job}`")),
    }
}

fn range_to_input(numbers: &Range<u64>) -> String {
    format!("{} {}", numbers.start, numbers.end)
}

fn parse_range(input: &str) -> Result<Range<u64>, String> {
    let number = |text: &str| {
        text.parse::<u64>()
            .map_err(|error| format!("{text:?} is not a number: {error}"))
    };
    let (start, end) = input
        .split_once(' ')
        .ok_or_else(|| format!("expected `start end`, got {input:?}"))?;
    Ok(number(start)?..number(end)?)
}
// ANCHOR_END: registry

/// `numbers` cut into `count` ranges of (nearly) equal length.
fn chunks(numbers: Range<u64>, count: u64) -> Vec<Range<u64>> {
    let size = (numbers.end - numbers.start).div_ceil(count);
    (0..count)
        .map(|i| {
            let start = (numbers.start + i * size).min(numbers.end);
            start..(start + size).min(numbers.end)
        })
        .collect()
}

// ANCHOR: on_processes
/// Starts a pool, counts every chunk on it, and stops it again: all of it
/// is part of the price of using processes.
fn count_on_processes(chunks: &[Range<u64>]) -> Result<usize, Box<dyn Error>> {
    let pool = Pool::new(WORKERS, WorkerCommand::current_exe()?)?;
    let mut total = 0;
    for count in pool.map("count_primes", chunks.iter().map(range_to_input)) {
        total += count?.parse::<usize>()?;
    }
    pool.join();
    Ok(total)
}
// ANCHOR_END: on_processes

fn count_with_rayon(threads: &rayon::ThreadPool, chunks: &[Range<u64>]) -> usize {
    threads.install(|| chunks.par_iter().cloned().map(count_primes).sum())
}

/// Runs `work` and returns its result with the wall-clock time it took.
fn timed<T>(work: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let result = work();
    (result, start.elapsed())
}

fn main() -> Result<(), Box<dyn Error>> {
    if env::args().nth(1).as_deref() == Some(WORKER_ARG) {
        return Ok(worker::serve(run_job)?);
    }
    // A rayon pool of the same size as the process pool, for a fair race on
    // machines with more cores.
    let threads = rayon::ThreadPoolBuilder::new()
        .num_threads(WORKERS)
        .build()?;
    let work = chunks(2..LIMIT, CHUNKS);

    let (serial, serial_time) = timed(|| count_primes(2..LIMIT));
    let (on_processes, processes_time) = timed(|| count_on_processes(&work));
    let (with_rayon, rayon_time) = timed(|| count_with_rayon(&threads, &work));
    assert_eq!(on_processes?, serial, "the process pool disagrees");
    assert_eq!(with_rayon, serial, "rayon disagrees");

    let speedup = |time: Duration| serial_time.as_secs_f64() / time.as_secs_f64();
    println!("primes below {LIMIT}: {serial}");
    println!("{:<28}{:.3} s", "1 thread", serial_time.as_secs_f64());
    for (label, time) in [
        (
            format!("{WORKERS} processes, {CHUNKS} jobs"),
            processes_time,
        ),
        (
            format!("rayon, {WORKERS} threads, {CHUNKS} jobs"),
            rayon_time,
        ),
    ] {
        println!(
            "{label:<28}{:.3} s  {:.2}x",
            time.as_secs_f64(),
            speedup(time)
        );
    }

    per_job_cost(&threads)
}

// ANCHOR: per_job
/// What one job costs beyond its work: tiny jobs (ten numbers each) on the
/// process pool and on rayon, sent one at a time and all at once.
fn per_job_cost(threads: &rayon::ThreadPool) -> Result<(), Box<dyn Error>> {
    let tiny: Vec<Range<u64>> = (0..TINY_JOBS).map(|i| i * 10..i * 10 + 10).collect();
    let inputs: Vec<String> = tiny.iter().map(range_to_input).collect();
    let round_trips = &inputs[..ROUND_TRIPS as usize];
    let pool = Pool::new(WORKERS, WorkerCommand::current_exe()?)?;

    // One at a time: submit, wait for the answer, repeat.
    let (answers, pool_one) = timed(|| {
        let answers: Result<Vec<String>, _> = round_trips
            .iter()
            .map(|input| pool.submit("count_primes", input).get())
            .collect();
        answers
    });
    let (counts, rayon_one) = timed(|| {
        let counts: Vec<usize> = tiny[..ROUND_TRIPS as usize]
            .iter()
            .map(|numbers| threads.install(|| count_primes(numbers.clone())))
            .collect();
        counts
    });
    for (answer, count) in answers?.iter().zip(counts) {
        assert_eq!(answer.parse::<usize>()?, count);
    }

    // All at once: `map` queues them all, and both workers stay busy.
    let (answers, pool_many) = timed(|| pool.map("count_primes", &inputs));
    let (rayon_total, rayon_many) =
        timed(|| threads.install(|| tiny.par_iter().cloned().map(count_primes).sum::<usize>()));
    let mut pool_total = 0;
    for answer in answers {
        pool_total += answer?.parse::<usize>()?;
    }
    assert_eq!(pool_total, rayon_total);
    pool.join();

    let micros = |time: Duration, jobs: u64| time.as_secs_f64() * 1e6 / jobs as f64;
    println!();
    println!("time per job, one tiny job at a time ({ROUND_TRIPS} jobs)");
    println!(
        "  {:<26}{:.2} µs",
        "process pool",
        micros(pool_one, ROUND_TRIPS)
    );
    println!("  {:<26}{:.2} µs", "rayon", micros(rayon_one, ROUND_TRIPS));
    println!("time per job, {TINY_JOBS} tiny jobs at once (map)");
    println!(
        "  {:<26}{:.2} µs",
        "process pool",
        micros(pool_many, TINY_JOBS)
    );
    println!("  {:<26}{:.2} µs", "rayon", micros(rayon_many, TINY_JOBS));
    Ok(())
}
// ANCHOR_END: per_job
