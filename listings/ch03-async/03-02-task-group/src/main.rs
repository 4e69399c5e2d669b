use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::sleep;

/// A made-up download: succeeds after `seconds`, unless it is the one that fails.
async fn download(name: &'static str, seconds: u64) -> Result<&'static str, String> {
    sleep(Duration::from_secs(seconds)).await;
    if name == "orders" {
        return Err(format!("{name}: connection reset"));
    }
    println!("{name} downloaded after {seconds} s");
    Ok(name)
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let mut group = JoinSet::new();
    group.spawn(download("users", 1));
    group.spawn(download("orders", 2)); // fails
    group.spawn(download("prices", 3)); // still running when "orders" fails

    let mut downloaded = Vec::new();
    let mut cancelled = 0;
    while let Some(joined) = group.join_next().await {
        match joined {
            Ok(Ok(name)) => downloaded.push(name),
            Ok(Err(error)) => {
                println!("failed: {error}; cancelling the rest");
                // TaskGroup does this for you; with a JoinSet you say so.
                group.abort_all();
            }
            // An aborted task ends with a `JoinError` that says so.
            Err(join_error) if join_error.is_cancelled() => cancelled += 1,
            // A panic inside a task: pass it on, as `TaskGroup` re-raises.
            Err(join_error) => std::panic::resume_unwind(join_error.into_panic()),
        }
    }

    assert_eq!(downloaded, ["users"]);
    assert_eq!(cancelled, 1);
    println!("downloaded: {downloaded:?}, cancelled: {cancelled}");
}
