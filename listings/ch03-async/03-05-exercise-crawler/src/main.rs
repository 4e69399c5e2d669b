use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::sync::Semaphore;
use tokio::time::{Instant, sleep, timeout};

const URLS: usize = 50;
const MAX_IN_FLIGHT: usize = 5;
const FETCH_TIMEOUT: Duration = Duration::from_millis(800);

/// The page number at the end of a URL: the seed for its made-up numbers.
fn page_number(url: &str) -> u64 {
    url.rsplit('/')
        .next()
        .and_then(|page| page.parse().ok())
        .expect("every URL ends in a page number")
}

/// A made-up latency, from 50 ms to 1,049 ms: some pages are too slow.
fn latency(url: &str) -> Duration {
    Duration::from_millis(50 + page_number(url) * 379 % 1_000)
}

/// Pretends to download `url`: waits its latency, returns the page's size.
async fn fetch(url: &str) -> u64 {
    sleep(latency(url)).await;
    1_000 + page_number(url) * 7_919 % 50_000
}

#[derive(Debug, PartialEq)]
enum Outcome {
    Fetched(u64),
    TimedOut,
}

/// Counts the fetches running right now, and the most there ever were.
#[derive(Default)]
struct InFlight {
    now: AtomicUsize,
    max: AtomicUsize,
}

async fn crawl(urls: Vec<String>) -> (Vec<(String, Outcome)>, usize) {
    let permits = Semaphore::new(MAX_IN_FLIGHT);
    let in_flight = InFlight::default();

    // One future per URL, all in one task: FuturesUnordered polls them
    // concurrently and yields each result as soon as it is ready.
    let mut pending: FuturesUnordered<_> = urls
        .into_iter()
        .map(|url| {
            let (permits, in_flight) = (&permits, &in_flight);
            async move {
                // The timeout starts once the permit is ours: waiting for a
                // free slot is not the server being slow.
                let _permit = permits.acquire().await.expect("never closed");
                let running = in_flight.now.fetch_add(1, Ordering::SeqCst) + 1;
                in_flight.max.fetch_max(running, Ordering::SeqCst);
                let outcome = match timeout(FETCH_TIMEOUT, fetch(&url)).await {
                    Ok(size) => Outcome::Fetched(size),
                    // The timed-out `fetch` future has been dropped: cancelled.
                    Err(_elapsed) => Outcome::TimedOut,
                };
                in_flight.now.fetch_sub(1, Ordering::SeqCst);
                (url, outcome)
            }
        })
        .collect();

    let mut results = Vec::new();
    while let Some(result) = pending.next().await {
        results.push(result); // in order of completion
    }
    (results, in_flight.max.load(Ordering::SeqCst))
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let urls: Vec<String> = (0..URLS)
        .map(|page| format!("https://example.com/page/{page}"))
        .collect();
    let too_slow = urls
        .iter()
        .filter(|url| latency(url) > FETCH_TIMEOUT)
        .count();

    let start = Instant::now();
    let (results, max_in_flight) = crawl(urls).await;
    let elapsed = start.elapsed();

    let fetched: Vec<u64> = results
        .iter()
        .filter_map(|(_, outcome)| match outcome {
            Outcome::Fetched(size) => Some(*size),
            Outcome::TimedOut => None,
        })
        .collect();
    assert_eq!(results.len(), URLS);
    assert_eq!(fetched.len(), URLS - too_slow);
    assert!(max_in_flight <= MAX_IN_FLIGHT, "{max_in_flight} at once");

    for (url, outcome) in results.iter().take(3) {
        println!("done early: {url} {outcome:?}");
    }
    println!(
        "{} fetched ({} bytes), {too_slow} timed out, at most {max_in_flight} in flight",
        fetched.len(),
        fetched.iter().sum::<u64>()
    );
    println!(
        "{URLS} URLs in {:.2} s on the paused clock",
        elapsed.as_secs_f64()
    );
}
