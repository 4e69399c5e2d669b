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
mod tests;
