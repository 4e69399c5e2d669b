//! Listing 7-2: accounts with a lock each, and clerks on real threads moving
//! money between them. The library's unit tests check the transfers with
//! shuttle (`cargo test -p ch07-02-shuttle-bank`).

use std::thread;

use ch07_02_shuttle_bank::Bank;

const CLERKS: usize = 4;
const TRANSFERS_PER_CLERK: usize = 1000;

fn main() {
    let bank = Bank::new(&[100, 100, 100, 100]);
    let refused: usize = thread::scope(|scope| {
        let clerks: Vec<_> = (0..CLERKS)
            .map(|clerk| {
                let bank = &bank;
                scope.spawn(move || {
                    let mut refused = 0;
                    for i in 0..TRANSFERS_PER_CLERK {
                        // A fixed pattern per clerk: no random numbers needed.
                        let from = (clerk + i) % 4;
                        let to = (clerk + 3 * i + 1) % 4;
                        let amount = (i % 7 * 15) as u64;
                        if from != to && bank.transfer(from, to, amount).is_err() {
                            refused += 1;
                        }
                    }
                    refused
                })
            })
            .collect();
        clerks
            .into_iter()
            .map(|clerk| clerk.join().expect("a clerk panicked"))
            .sum()
    });
    // Which transfers are refused depends on the interleaving; the total does not.
    assert_eq!(bank.total(), 400, "money was made or lost");
    println!(
        "{CLERKS} clerks tried {} transfers, {refused} refused for lack of funds; the bank still holds 400",
        CLERKS * TRANSFERS_PER_CLERK
    );
}
