//! Accounts that many threads move money between. Each account has a lock of
//! its own, so that transfers between different accounts do not wait for
//! each other.
//!
//! `Bank::transfer_check_then_act` has a race condition: it checks the
//! balance under one lock and withdraws under another, and two transfers can
//! both pass the check. It compiles, it has no data race, and most runs of
//! an ordinary test never show it. The unit tests below find it with shuttle.

use std::fmt;

// The Mutex comes from std in the program and the integration tests, and
// from shuttle in this crate's own unit tests, where shuttle decides which
// thread runs at every lock, unlock and spawn.
#[cfg(test)]
use shuttle::sync::Mutex;
#[cfg(not(test))]
use std::sync::Mutex;

/// A transfer asked for more than the account held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InsufficientFunds {
    pub account: usize,
    pub balance: u64,
    pub wanted: u64,
}

impl fmt::Display for InsufficientFunds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "account {} holds {} and cannot pay {}",
            self.account, self.balance, self.wanted
        )
    }
}

impl std::error::Error for InsufficientFunds {}

#[derive(Debug)]
pub struct Bank {
    accounts: Vec<Mutex<u64>>,
}

impl Bank {
    pub fn new(balances: &[u64]) -> Self {
        Self {
            accounts: balances
                .iter()
                .map(|&balance| Mutex::new(balance))
                .collect(),
        }
    }

    pub fn balance(&self, account: usize) -> u64 {
        *self.accounts[account]
            .lock()
            .expect("no thread panicked holding it")
    }

    /// The sum of every balance.
    pub fn total(&self) -> u64 {
        (0..self.accounts.len())
            .map(|account| self.balance(account))
            .sum()
    }

    // ANCHOR: check_then_act
    /// The bug: the balance can change between the check and the withdrawal.
    pub fn transfer_check_then_act(
        &self,
        from: usize,
        to: usize,
        amount: u64,
    ) -> Result<(), InsufficientFunds> {
        let balance = self.balance(from); // lock, read, unlock
        if balance < amount {
            return Err(InsufficientFunds {
                account: from,
                balance,
                wanted: amount,
            });
        }
        // Another transfer from `from` may run here, between the two locks.
        let mut source = self.accounts[from]
            .lock()
            .expect("no thread panicked holding it");
        *source = source
            .checked_sub(amount)
            .expect("the balance went below zero after the check");
        drop(source);
        *self.accounts[to]
            .lock()
            .expect("no thread panicked holding it") += amount;
        Ok(())
    }
    // ANCHOR_END: check_then_act

    // ANCHOR: transfer
    /// Checks and withdraws under one lock, then deposits. It never holds two
    /// locks at once, so two opposite transfers cannot deadlock.
    pub fn transfer(&self, from: usize, to: usize, amount: u64) -> Result<(), InsufficientFunds> {
        {
            let mut source = self.accounts[from]
                .lock()
                .expect("no thread panicked holding it");
            if *source < amount {
                return Err(InsufficientFunds {
                    account: from,
                    balance: *source,
                    wanted: amount,
                });
            }
            *source -= amount;
        } // the guard is dropped here: `from` is unlocked
        *self.accounts[to]
            .lock()
            .expect("no thread panicked holding it") += amount;
        Ok(())
    }
    // ANCHOR_END: transfer
}

#[cfg(test)]
mod tests {
    use std::panic;
    use std::sync::Arc as StdArc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use shuttle::scheduler::RandomScheduler;
    use shuttle::sync::Arc;
    use shuttle::{Config, FailurePersistence, Runner, thread};

    use super::{Bank, InsufficientFunds};

    /// Random schedules to try: each takes microseconds, and the race shows up
    /// in the first few.
    const SCHEDULES: usize = 100;
    const SEED: u64 = 1;

    type Transfer = fn(&Bank, usize, usize, u64) -> Result<(), InsufficientFunds>;

    // ANCHOR: scenario
    /// Three clerks at once: two pay 60 out of account 0 (which holds 100),
    /// one pays 30 from account 1 into account 0. Whatever the schedule, no
    /// balance may go below zero, and money is neither made nor lost.
    fn three_clerks(transfer: Transfer) {
        let bank = Arc::new(Bank::new(&[100, 50, 0]));
        let clerks: Vec<_> = [(0, 2, 60), (0, 1, 60), (1, 0, 30)]
            .into_iter()
            .map(|(from, to, amount)| {
                let bank = Arc::clone(&bank);
                thread::spawn(move || {
                    let _ = transfer(&bank, from, to, amount);
                })
            })
            .collect();
        for clerk in clerks {
            clerk.join().expect("a clerk panicked");
        }
        assert_eq!(bank.total(), 150, "money was made or lost");
    }
    // ANCHOR_END: scenario

    // ANCHOR: explore
    /// Runs `scenario` under shuttle's random scheduler for up to `schedules`
    /// schedules, drawn from `seed`: the same seed draws the same schedules,
    /// so a failure found once is found again on every run. Returns how many
    /// schedules ran, and the panic message of the failing one, if any.
    fn explore(seed: u64, schedules: usize, scenario: fn()) -> (usize, Option<String>) {
        let runs = StdArc::new(AtomicUsize::new(0));
        let mut config = Config::new();
        // The tests report the failure themselves; shuttle's own report would
        // print the seed to stderr.
        config.failure_persistence = FailurePersistence::None;
        let runner = Runner::new(RandomScheduler::new_from_seed(seed, schedules), config);
        let outcome = panic::catch_unwind(panic::AssertUnwindSafe(|| {
            let runs = StdArc::clone(&runs);
            runner.run(move || {
                runs.fetch_add(1, Ordering::Relaxed);
                scenario();
            });
        }));
        let message = outcome.err().map(|panic| {
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        });
        (runs.load(Ordering::Relaxed), message)
    }
    // ANCHOR_END: explore

    // ANCHOR: tests
    #[test]
    fn shuttle_finds_the_check_then_act_race() {
        let (runs, message) = explore(SEED, SCHEDULES, || {
            three_clerks(Bank::transfer_check_then_act)
        });
        let message = message.expect("shuttle finds a schedule that overdraws account 0");
        assert!(message.contains("below zero"), "{message}");
        println!("seed {SEED}: shuttle found the race in schedule {runs}: {message}");
    }

    #[test]
    fn shuttle_finds_no_bug_in_transfer() {
        let (runs, message) = explore(SEED, SCHEDULES, || three_clerks(Bank::transfer));
        assert_eq!(message, None);
        println!("seed {SEED}: shuttle ran {runs} schedules without a failure");
    }
    // ANCHOR_END: tests
}
