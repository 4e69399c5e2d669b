use std::sync::mpsc;

/// The tutorial's `worker`. This one also returns a value, so that there is
/// a result to hand back, as `apply_async` hands back an `AsyncResult`.
fn worker(name: &str) -> String {
    println!("Worker {name} is working");
    format!("{name} is done")
}

fn main() -> Result<(), rayon::ThreadPoolBuildError> {
    // `Pool(processes=2)`: two worker threads. Building a pool can fail (the
    // system may refuse to create threads), hence the `?`.
    let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build()?;

    let mut results = Vec::new();
    // An in-place scope runs this closure here, on the main thread, and sends
    // the jobs spawned in it to the pool's two threads.
    pool.in_place_scope(|scope| {
        let (sender, receiver) = mpsc::channel();
        for name in ["A", "B", "C"] {
            // `apply_async(worker, args=(name,))`: queue the job, move on.
            let sender = sender.clone();
            scope.spawn(move |_| {
                let result = worker(name);
                sender
                    .send(result)
                    .expect("the main thread receives until the last job");
            });
        }
        // Only the jobs hold senders now: the loop below ends when the last
        // job has sent its result and dropped its sender.
        drop(sender);

        // The `callback`: runs here, on the main thread, for each result as
        // it arrives.
        for result in receiver {
            println!("Result: {result}");
            results.push(result);
        }
    });
    // `close()` and `join()`: the scope has returned, so every job has
    // finished.

    println!("All processes have finished");

    // Every job ran once, in some order.
    results.sort_unstable();
    assert_eq!(results, ["A is done", "B is done", "C is done"]);
    Ok(())
}
