use ch02_02_process_pool::{Pool, WORKER_ARG, WorkerCommand, worker};

fn run_job(job: &str, input: &str) -> Result<String, String> {
    match job {
        "shout" => Ok(input.to_uppercase()),
        _ => Err(format!("no job named `{job}`")),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::args().nth(1).as_deref() == Some(WORKER_ARG) {
        return Ok(worker::serve(run_job)?);
    }
    let pool = Pool::new(2, WorkerCommand::current_exe()?)?;
    assert_eq!(pool.submit("shout", "hello").get()?, "HELLO");
    pool.join();
    Ok(())
}
