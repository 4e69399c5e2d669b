//! A job worker on a Redis stream and consumer group: at-least-once
//! delivery (`XREADGROUP`, `XACK`), reclaiming a dead worker's jobs
//! (`XAUTOCLAIM`), a retry cap with a dead-letter stream, idempotent
//! results, a bounded number of jobs in flight and a graceful shutdown.
//! The Python worker in `python/streams_worker.py` does the same, on the
//! same stream, with the same message format and the same commit script.

pub mod broker;

use std::sync::Arc;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::streams::{
    StreamAutoClaimOptions, StreamAutoClaimReply, StreamId, StreamPendingCountReply,
    StreamReadOptions, StreamReadReply,
};
use redis::{AsyncCommands, AsyncConnectionConfig, Client, RedisResult, Script};
use serde::{Deserialize, Serialize};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep, timeout};
use tokio_util::sync::CancellationToken;

// ANCHOR: format
/// A job, as the JSON text of the `job` field of a stream entry. Python
/// writes it with `json.dumps({"id": …, "task": …, "arg": …})`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// Chosen by the producer, unique per job: the key that makes a
    /// redelivered job's result count once.
    pub id: String,
    pub task: String,
    pub arg: u64,
}

/// A job's result, as JSON in the results hash, under the job's id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobResult {
    pub id: String,
    pub value: u64,
    /// The consumer that recorded it.
    pub worker: String,
}

/// The field of a stream entry that holds the job.
pub const JOB_FIELD: &str = "job";
// ANCHOR_END: format

/// Records a result and acknowledges its entry in one atomic step.
const COMMIT_SCRIPT: &str = include_str!("commit.lua");

/// Where a worker reads, what it records, and its limits.
#[derive(Debug, Clone)]
pub struct Config {
    pub stream: String,
    pub group: String,
    /// This worker's name in the group; unique per worker process.
    pub consumer: String,
    /// Hash of results, job id → `JobResult` JSON.
    pub results: String,
    /// Counter the commit script increments once per job: the job's effect.
    pub done_count: String,
    /// Stream of jobs that failed `max_deliveries` times.
    pub dead_letter: String,
    /// Jobs this worker runs at the same time, at most.
    pub max_in_flight: usize,
    /// Deliveries before a job goes to the dead-letter stream.
    pub max_deliveries: usize,
    /// How long a job may stay unacknowledged before another worker takes it.
    pub claim_idle: Duration,
    /// How long one `XREADGROUP` waits for new entries.
    pub block: Duration,
    /// How long a shutdown waits for the jobs in flight.
    pub grace: Duration,
}

impl Config {
    pub fn new(consumer: impl Into<String>) -> Self {
        Config {
            stream: "jobs".into(),
            group: "workers".into(),
            consumer: consumer.into(),
            results: "results".into(),
            done_count: "results:count".into(),
            dead_letter: "jobs:dead".into(),
            max_in_flight: 8,
            max_deliveries: 3,
            claim_idle: Duration::from_secs(30),
            block: Duration::from_millis(200),
            grace: Duration::from_secs(10),
        }
    }
}

/// What one worker did, counted when `run` returns.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// Jobs whose result this worker recorded.
    pub done: usize,
    /// Jobs it finished after another worker had recorded them.
    pub duplicates: usize,
    /// Attempts that failed, or whose commit did not reach the broker;
    /// their entries stay pending, for a later delivery.
    pub failed: usize,
    /// Jobs it moved to the dead-letter stream.
    pub dead_lettered: usize,
    /// Jobs still running when the grace period ran out: left pending,
    /// for another worker to claim.
    pub handed_back: usize,
}

// ANCHOR: perform
/// The work itself. `sleep` stands for a job that waits on the network,
/// `count_primes` for one that computes.
pub async fn perform(job: &Job) -> Result<u64, String> {
    match job.task.as_str() {
        "square" => job
            .arg
            .checked_mul(job.arg)
            .ok_or_else(|| format!("{}² overflows", job.arg)),
        "sleep" => {
            sleep(Duration::from_millis(job.arg)).await;
            Ok(job.arg)
        }
        "count_primes" => {
            // CPU-bound: off the runtime's threads, as Part 3 showed.
            let below = job.arg;
            tokio::task::spawn_blocking(move || count_primes(below))
                .await
                .map_err(|e| e.to_string())
        }
        "fail" => Err(format!("job {} always fails", job.id)),
        other => Err(format!("unknown task {other:?}")),
    }
}
// ANCHOR_END: perform

/// Primes below `limit`, by trial division (the same loop as `tasks.py`).
pub fn count_primes(limit: u64) -> u64 {
    let is_prime = |n: u64| {
        if n < 2 {
            return false;
        }
        let mut divisor = 2;
        while divisor * divisor <= n {
            if n.is_multiple_of(divisor) {
                return false;
            }
            divisor += 1;
        }
        true
    };
    (0..limit).filter(|&n| is_prime(n)).count() as u64
}

/// A connection whose replies may take longer than a blocking read waits.
pub async fn connect(client: &Client, block: Duration) -> RedisResult<MultiplexedConnection> {
    // The client gives up on a reply after 500 ms by default; an
    // `XREADGROUP … BLOCK` may rightly take `block` to answer.
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(1)))
        .set_response_timeout(Some(block + Duration::from_secs(2)));
    client
        .get_multiplexed_async_connection_with_config(&config)
        .await
}

/// Creates the stream and the group if they do not exist yet. The group
/// starts at `0`, so it sees jobs added before it existed.
pub async fn ensure_group(
    conn: &mut MultiplexedConnection,
    stream: &str,
    group: &str,
) -> RedisResult<()> {
    let created: RedisResult<()> = conn.xgroup_create_mkstream(stream, group, "0").await;
    match created {
        Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
        other => other,
    }
}

/// Adds a job to the stream; returns its entry id.
pub async fn enqueue(
    conn: &mut MultiplexedConnection,
    stream: &str,
    job: &Job,
) -> RedisResult<String> {
    let text = serde_json::to_string(job).expect("a Job always serialises");
    conn.xadd(stream, "*", &[(JOB_FIELD, text)]).await
}

/// What one job's task came back with.
enum Outcome {
    Done,
    Duplicate,
    Failed,
}

/// Everything a job task needs, shared by all of them.
struct Shared {
    config: Config,
    commit: Script,
}

// ANCHOR: run
/// Runs a worker until `shutdown` is cancelled, then lets the jobs in
/// flight finish for up to `config.grace` and leaves the rest pending.
pub async fn run(client: Client, config: Config, shutdown: CancellationToken) -> Report {
    let shared = Arc::new(Shared {
        config,
        commit: Script::new(COMMIT_SCRIPT),
    });
    let config = &shared.config;
    let slots = Arc::new(Semaphore::new(config.max_in_flight));
    let mut in_flight: JoinSet<Outcome> = JoinSet::new();
    let mut report = Report::default();
    let mut connections: Option<(MultiplexedConnection, MultiplexedConnection)> = None;
    let mut next_claim = Instant::now();
    // Where the next XAUTOCLAIM goes on scanning the pending entries.
    let mut claim_cursor = String::from("0-0");
    let mut backoff = Duration::from_millis(50);

    while !shutdown.is_cancelled() {
        while let Some(finished) = in_flight.try_join_next() {
            count(&mut report, finished);
        }
        // One connection blocks in XREADGROUP; the other carries the
        // commits, claims and acknowledgements meanwhile.
        let (reader, writer) = match &mut connections {
            Some(pair) => pair,
            None => match connect_pair(&client, config).await {
                Ok(pair) => {
                    backoff = Duration::from_millis(50);
                    connections.insert(pair)
                }
                Err(e) => {
                    eprintln!(
                        "{}: cannot reach the broker ({e}); retrying",
                        config.consumer
                    );
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                    continue;
                }
            },
        };
        // Bounded in flight: ask the broker for no more entries than there
        // are free slots, and wait for a slot when there is none.
        let free = slots.available_permits();
        if free == 0 {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                Some(finished) = in_flight.join_next() => count(&mut report, finished),
            }
            continue;
        }
        let fetched = if Instant::now() >= next_claim {
            let claimed = claim(writer, config, free, &mut claim_cursor).await;
            // A scan that has not reached the end goes on at the next turn;
            // a finished one starts again from the beginning later.
            if claim_cursor == "0-0" {
                next_claim = Instant::now() + config.claim_idle / 2;
            }
            claimed
        } else {
            read_new(reader, config, free).await
        };
        let entries = match fetched {
            Ok(entries) => entries,
            Err(e) => {
                eprintln!("{}: broker error ({e}); reconnecting", config.consumer);
                connections = None;
                continue;
            }
        };
        for (entry, deliveries) in entries {
            match parse(&entry) {
                Some(job) if deliveries <= config.max_deliveries => {
                    let permit = slots
                        .clone()
                        .try_acquire_owned()
                        .expect("no more entries were fetched than there were free slots");
                    let task = handle(job, entry.id, Arc::clone(&shared), writer.clone(), permit);
                    in_flight.spawn(task);
                }
                job => {
                    let reason = match job {
                        Some(_) => format!("failed {} deliveries", deliveries - 1),
                        None => "not a job".to_string(),
                    };
                    match dead_letter(writer, config, &entry, deliveries, &reason).await {
                        Ok(()) => report.dead_lettered += 1,
                        Err(e) => {
                            eprintln!("{}: broker error ({e}); reconnecting", config.consumer);
                            connections = None;
                            break;
                        }
                    }
                }
            }
        }
    }

    // Shutdown: no more reads. Let the jobs in flight finish, for a while.
    let deadline = sleep(config.grace);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            finished = in_flight.join_next() => match finished {
                Some(finished) => count(&mut report, finished),
                None => break,
            },
            _ = &mut deadline => {
                // Not acknowledged, so still pending: XAUTOCLAIM hands each
                // one to another worker once it has been idle long enough.
                report.handed_back += in_flight.len();
                in_flight.shutdown().await;
                break;
            }
        }
    }
    report
}
// ANCHOR_END: run

fn count(report: &mut Report, finished: Result<Outcome, tokio::task::JoinError>) {
    match finished {
        Ok(Outcome::Done) => report.done += 1,
        Ok(Outcome::Duplicate) => report.duplicates += 1,
        // A panicking job is a failed attempt like any other: its entry
        // stays pending and is delivered again.
        Ok(Outcome::Failed) | Err(_) => report.failed += 1,
    }
}

async fn connect_pair(
    client: &Client,
    config: &Config,
) -> RedisResult<(MultiplexedConnection, MultiplexedConnection)> {
    let mut writer = connect(client, config.block).await?;
    ensure_group(&mut writer, &config.stream, &config.group).await?;
    // Join the group by name now, not at the first entry read, so that
    // `XINFO CONSUMERS` lists an idle worker too.
    redis::cmd("XGROUP")
        .arg("CREATECONSUMER")
        .arg(&config.stream)
        .arg(&config.group)
        .arg(&config.consumer)
        .exec_async(&mut writer)
        .await?;
    let reader = connect(client, config.block).await?;
    Ok((reader, writer))
}

// ANCHOR: read
/// New entries, never delivered before: `XREADGROUP … STREAMS jobs >`.
async fn read_new(
    reader: &mut MultiplexedConnection,
    config: &Config,
    count: usize,
) -> RedisResult<Vec<(StreamId, usize)>> {
    let options = StreamReadOptions::default()
        .group(&config.group, &config.consumer)
        .count(count)
        .block(config.block.as_millis() as usize);
    let reply: StreamReadReply = reader
        .xread_options(&[&config.stream], &[">"], &options)
        .await?;
    let entries = reply.keys.into_iter().flat_map(|key| key.ids);
    Ok(entries.map(|entry| (entry, 1)).collect())
}
// ANCHOR_END: read

// ANCHOR: claim
/// Entries another worker took and has not acknowledged for `claim_idle`:
/// it died, hangs, or its job failed. Each comes with how many times the
/// group has now delivered it. One call scans part of the pending entries,
/// from `cursor` on, and leaves in `cursor` where the next call goes on
/// ("0-0" once the scan has reached the end).
async fn claim(
    writer: &mut MultiplexedConnection,
    config: &Config,
    count: usize,
    cursor: &mut String,
) -> RedisResult<Vec<(StreamId, usize)>> {
    let reply: StreamAutoClaimReply = writer
        .xautoclaim_options(
            &config.stream,
            &config.group,
            &config.consumer,
            config.claim_idle.as_millis() as u64,
            cursor.as_str(),
            StreamAutoClaimOptions::default().count(count),
        )
        .await?;
    *cursor = reply.next_stream_id;
    if !reply.deleted_ids.is_empty() {
        // Trimmed from the stream while still pending: the jobs are gone,
        // and XAUTOCLAIM has just dropped them from the pending list.
        eprintln!(
            "{}: pending entries were trimmed from the stream: {:?}",
            config.consumer, reply.deleted_ids
        );
    }
    let mut claimed = Vec::with_capacity(reply.claimed.len());
    for entry in reply.claimed {
        // XAUTOCLAIM counted this delivery; XPENDING tells how many so far.
        let pending: StreamPendingCountReply = writer
            .xpending_count(&config.stream, &config.group, &entry.id, &entry.id, 1)
            .await?;
        let deliveries = pending.ids.first().map_or(1, |p| p.times_delivered);
        claimed.push((entry, deliveries));
    }
    Ok(claimed)
}
// ANCHOR_END: claim

fn parse(entry: &StreamId) -> Option<Job> {
    let text: String = entry.get(JOB_FIELD)?;
    serde_json::from_str(&text).ok()
}

// ANCHOR: handle
async fn handle(
    job: Job,
    entry_id: String,
    shared: Arc<Shared>,
    mut writer: MultiplexedConnection,
    _slot: OwnedSemaphorePermit, // freed when the job is over
) -> Outcome {
    let config = &shared.config;
    let value = match perform(&job).await {
        Ok(value) => value,
        // No XACK: the entry stays pending and comes back after claim_idle.
        Err(reason) => {
            eprintln!("{}: job {} failed: {reason}", config.consumer, job.id);
            return Outcome::Failed;
        }
    };
    let result = JobResult {
        id: job.id.clone(),
        value,
        worker: config.consumer.clone(),
    };
    let result = serde_json::to_string(&result).expect("a JobResult always serialises");
    let committed: RedisResult<i64> = shared
        .commit
        .key(&config.stream)
        .key(&config.results)
        .key(&config.done_count)
        .arg(&config.group)
        .arg(&entry_id)
        .arg(&job.id)
        .arg(result)
        .invoke_async(&mut writer)
        .await;
    match committed {
        Ok(1) => Outcome::Done,
        Ok(_) => Outcome::Duplicate,
        // The broker may or may not have run the script; either way a
        // second delivery records the result at most once.
        Err(e) => {
            eprintln!("{}: job {}: commit failed: {e}", config.consumer, job.id);
            Outcome::Failed
        }
    }
}
// ANCHOR_END: handle

// ANCHOR: dead_letter
/// Moves an entry to the dead-letter stream: the copy and the
/// acknowledgement in one MULTI, so the job is never in both or neither.
async fn dead_letter(
    writer: &mut MultiplexedConnection,
    config: &Config,
    entry: &StreamId,
    deliveries: usize,
    reason: &str,
) -> RedisResult<()> {
    let job: String = entry.get(JOB_FIELD).unwrap_or_default();
    redis::pipe()
        .atomic()
        .xadd(
            &config.dead_letter,
            "*",
            &[
                (JOB_FIELD, job.as_str()),
                ("entry", entry.id.as_str()),
                ("deliveries", &deliveries.to_string()),
                ("reason", reason),
            ],
        )
        .ignore()
        .xack(&config.stream, &config.group, &[&entry.id])
        .ignore()
        .query_async(writer)
        .await
}
// ANCHOR_END: dead_letter

/// Waits until `done_count` reaches `expected`, polling; `None` on timeout.
/// For tests and the benchmark driver.
pub async fn wait_for_results(
    conn: &mut MultiplexedConnection,
    done_count: &str,
    expected: u64,
    limit: Duration,
) -> Option<u64> {
    timeout(limit, async {
        loop {
            let done: RedisResult<Option<u64>> = conn.get(done_count).await;
            if let Ok(Some(done)) = done
                && done >= expected
            {
                return done;
            }
            sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .ok()
}
