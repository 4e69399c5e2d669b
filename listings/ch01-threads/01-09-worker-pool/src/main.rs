use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;

const WORKERS: usize = 3;
const JOBS: u64 = 8;

fn main() {
    let (job_sender, job_receiver) = mpsc::channel::<u64>();
    let (result_sender, result_receiver) = mpsc::channel::<(u64, u64)>();

    // A `Receiver` cannot be cloned, so the workers share one behind a mutex:
    // whoever holds the lock takes the next job.
    let job_receiver = Arc::new(Mutex::new(job_receiver));

    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let job_receiver = Arc::clone(&job_receiver);
            let result_sender = result_sender.clone();
            thread::spawn(move || {
                loop {
                    // The guard is a temporary, dropped at the end of this
                    // statement: the lock is free again while this worker
                    // computes, so the others can take jobs meanwhile.
                    let job = job_receiver
                        .lock()
                        .expect("a worker panicked while taking a job")
                        .recv();
                    // `Err` means every job sender is gone and the queue is empty.
                    let Ok(number) = job else { break };
                    result_sender
                        .send((number, number * number))
                        .expect("main receives until every worker is done");
                }
            })
        })
        .collect();
    // Only the workers' clones are left, so the result loop below ends when
    // the last worker exits.
    drop(result_sender);

    for number in 1..=JOBS {
        job_sender
            .send(number)
            .expect("the workers hold the job receiver");
    }
    // No more jobs: this is what lets the workers' loops end.
    drop(job_sender);

    let mut total = 0;
    for (number, square) in result_receiver {
        println!("{number} squared is {square}");
        total += square;
    }

    for worker in workers {
        worker.join().expect("a worker panicked");
    }
    assert_eq!(total, (1..=JOBS).map(|number| number * number).sum::<u64>());
    println!("sum of squares: {total}");
}
