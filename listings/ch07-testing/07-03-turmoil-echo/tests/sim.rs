//! The simulated echo server: what every seed guarantees, and that a seed
//! replays its run exactly.

use std::collections::HashSet;
use std::time::Duration;

use ch07_03_turmoil_echo::{Link, Outcome, REQUEST_TIMEOUT, SCRIPT, simulate};

/// Each simulated run takes a few milliseconds of real time.
const SEEDS: std::ops::Range<u64> = 0..8;

// ANCHOR: tests
#[test]
fn the_same_seed_replays_the_same_run() {
    for seed in [7, 8] {
        let first = simulate(seed).expect("the simulation runs");
        let again = simulate(seed).expect("the simulation runs");
        assert_eq!(first, again, "seed {seed} did not replay");
    }
}

#[test]
fn every_seed_gets_its_echoes_except_while_the_link_is_down() {
    let mut distinct_runs = HashSet::new();
    for seed in SEEDS {
        let outcomes = simulate(seed).expect("the simulation runs");
        assert_eq!(outcomes.len(), SCRIPT.len(), "seed {seed}");
        for (link, outcome) in SCRIPT.iter().zip(&outcomes) {
            match (link, outcome) {
                // A connection and an echo cross the link at least twice.
                (Link::Healthy, Outcome::Echoed(took)) => assert!(
                    *took >= Duration::from_millis(10) && *took < REQUEST_TIMEOUT,
                    "seed {seed}: {took:?}"
                ),
                (Link::Held, Outcome::TimedOut) | (Link::Partitioned, Outcome::Failed(_)) => {}
                _ => panic!("seed {seed}: {link:?} link, {outcome}"),
            }
        }
        distinct_runs.insert(outcomes);
    }
    // The seed does matter: the delays differ from one seed to the next.
    assert!(distinct_runs.len() > 1, "every seed drew the same delays");
}
// ANCHOR_END: tests
