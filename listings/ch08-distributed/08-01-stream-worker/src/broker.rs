//! A private `redis-server` for tests and the benchmark: started in a
//! temporary directory, listening only on a Unix socket in it, and
//! killed when the `Broker` is dropped (also when a test panics).
//!
//! Why a Unix socket and not a free TCP port: Redis cannot pick a port
//! itself (`--port 0` means "no TCP at all"), and a port found free by
//! binding and releasing it can be taken by someone else before Redis
//! binds it. A socket file in our own directory cannot collide, and a
//! restarted broker gets the same address back.

use std::io::Read;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// How the broker keeps its data across a restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persistence {
    /// In memory only (`--save ''`): a restart starts empty.
    None,
    /// Append-only file, `fsync` after every write: what the broker
    /// acknowledged survives a crash of the broker and of the machine.
    AppendFsyncAlways,
}

#[derive(Debug)]
pub enum BrokerError {
    /// `redis-server` is not on the PATH.
    NotInstalled(std::io::Error),
    /// It started but did not answer, or exited.
    Failed(String),
}

impl std::fmt::Display for BrokerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BrokerError::NotInstalled(e) => write!(f, "redis-server is not installed ({e})"),
            BrokerError::Failed(why) => write!(f, "redis-server did not start: {why}"),
        }
    }
}

impl std::error::Error for BrokerError {}

/// A running `redis-server`, killed on drop.
pub struct Broker {
    dir: TempDir,
    persistence: Persistence,
    child: Option<Child>,
}

impl Broker {
    pub fn start(persistence: Persistence) -> Result<Broker, BrokerError> {
        let dir = tempfile::Builder::new()
            .prefix("book-redis-")
            .tempdir()
            .map_err(|e| BrokerError::Failed(format!("no temporary directory: {e}")))?;
        let mut broker = Broker {
            dir,
            persistence,
            child: None,
        };
        broker.launch()?;
        Ok(broker)
    }

    /// The socket's path.
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("redis.sock")
    }

    /// The address in the form redis-py, the `redis` crate and arq accept.
    pub fn url(&self) -> String {
        format!("unix://{}", self.socket().display())
    }

    pub fn client(&self) -> redis::Client {
        redis::Client::open(self.url()).expect("a unix:// URL is a valid address")
    }

    /// Kills the broker with SIGKILL, as a crash would, without cleaning up.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same directory, so on the same data.
    pub fn restart(&mut self) -> Result<(), BrokerError> {
        self.kill();
        self.launch()
    }

    fn launch(&mut self) -> Result<(), BrokerError> {
        let dir = self.dir.path();
        let socket = self.socket();
        let _ = std::fs::remove_file(&socket);
        let mut command = Command::new("redis-server");
        command
            .current_dir(dir)
            .args(["--port", "0", "--unixsocket"])
            .arg(&socket)
            .args(["--unixsocketperm", "700", "--dir"])
            .arg(dir)
            .args(["--save", "", "--daemonize", "no", "--logfile"])
            .arg(dir.join("redis.log"));
        match self.persistence {
            Persistence::None => command.args(["--appendonly", "no"]),
            Persistence::AppendFsyncAlways => {
                command.args(["--appendonly", "yes", "--appendfsync", "always"])
            }
        };
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => BrokerError::NotInstalled(e),
                _ => BrokerError::Failed(e.to_string()),
            })?;
        self.child = Some(child);
        self.wait_until_ready(Duration::from_secs(10))
    }

    /// Polls the socket with PING until the broker answers PONG (it
    /// answers LOADING while it replays its append-only file).
    fn wait_until_ready(&mut self, limit: Duration) -> Result<(), BrokerError> {
        let started = Instant::now();
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                let mut stderr = String::new();
                if let Some(mut pipe) = child.stderr.take() {
                    let _ = pipe.read_to_string(&mut stderr);
                }
                let log =
                    std::fs::read_to_string(self.dir.path().join("redis.log")).unwrap_or_default();
                return Err(BrokerError::Failed(format!(
                    "exited with {status}\n{stderr}{log}"
                )));
            }
            if ping(&self.socket()) {
                return Ok(());
            }
            if started.elapsed() > limit {
                self.kill();
                return Err(BrokerError::Failed(format!("no PONG within {limit:?}")));
            }
            thread::sleep(Duration::from_millis(5));
        }
    }
}

fn ping(socket: &Path) -> bool {
    use std::io::Write;
    let Ok(mut stream) = UnixStream::connect(socket) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut reply = [0u8; 7];
    stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut reply).is_ok()
        && &reply == b"+PONG\r\n"
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts a broker for a test, or says why not. Without `redis-server`
/// the test is skipped, visibly; with `BOOK_REDIS_REQUIRED=1` (CI) a
/// skip is a failure.
pub fn for_test(test: &str, persistence: Persistence) -> Option<Broker> {
    match Broker::start(persistence) {
        Ok(broker) => Some(broker),
        Err(BrokerError::NotInstalled(e)) => {
            skip(test, &format!("redis-server is not installed ({e})"));
            None
        }
        Err(e) => panic!("{test}: {e}"),
    }
}

/// Prints a visible skip, or fails when CI requires the broker tests.
pub fn skip(test: &str, why: &str) {
    if std::env::var_os("BOOK_REDIS_REQUIRED").is_some_and(|v| v == "1") {
        panic!("{test}: {why}, and BOOK_REDIS_REQUIRED=1");
    }
    // Straight to the process's stderr: the test harness captures
    // `eprintln!`, and a skip must show.
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED broker test {test}: {why}");
}
