//! `cargo book serve`: the book on 127.0.0.1 with live reload, and a local
//! stand-in for the Rust playground so that every Run button works offline.
//!
//! - [`http`]: HTTP/1.1 with hyper, within limits.
//! - [`routes`]: what each URL answers, and the Host/Origin checks.
//! - [`reload`]: rebuilding on changes and telling open pages.
//! - [`runner`]: compiling and running an example within limits.
//! - [`sandbox`]: where an example runs (bubblewrap on Linux) and its caps.
//! - [`gate`]: how many runs at a time, and how many may wait.

pub mod gate;
pub mod http;
pub mod reload;
pub mod routes;
pub mod runner;
pub mod sandbox;

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::sync::watch;

use gate::Gate;
use reload::BuildState;
use routes::App;
use runner::{Crates, Limits, Runner};
use sandbox::Caps;

/// Which crates the Run buttons link besides `std`.
#[derive(Debug, Clone)]
pub enum CratesFrom {
    /// The dependencies of `book-tests` in this Cargo workspace, built at startup.
    Workspace(PathBuf),
    /// None: quick to start; examples that use a crate fail to compile.
    StdOnly,
}

/// How to serve.
#[derive(Debug, Clone)]
pub struct Options {
    /// The book's root (holding `book.toml`).
    pub root: PathBuf,
    pub crates: CratesFrom,
    /// The interface to listen on: 127.0.0.1 unless the reader asks otherwise.
    pub bind: IpAddr,
    /// 0 picks a free port.
    pub port: u16,
    pub limits: Limits,
    /// Watch the sources by polling instead of file system events.
    pub poll: bool,
}

impl Options {
    /// The defaults of `cargo book serve` for the book at `root`.
    pub fn new(root: PathBuf) -> Options {
        Options {
            crates: CratesFrom::Workspace(root.clone()),
            root,
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 3000,
            limits: Limits::default(),
            poll: false,
        }
    }
}

/// `cargo book serve`'s options.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The port to serve on; 0 picks a free one.
    #[arg(long, default_value_t = 3000)]
    port: u16,
    /// Open the book in a browser once it is served.
    #[arg(long)]
    open: bool,
    /// Serve on another interface than 127.0.0.1 (anyone who can reach it
    /// can run code on this machine).
    #[arg(long, value_name = "ADDR")]
    bind: Option<IpAddr>,
    /// Run only examples that need no crates, and skip building tokio, rayon
    /// and may at startup.
    #[arg(long)]
    std_only: bool,
    /// The Cargo workspace whose `book-tests` dependencies the examples link
    /// (by default the book's root).
    #[arg(long, value_name = "DIR", conflicts_with = "std_only")]
    crates_from: Option<PathBuf>,
    /// Find changes to the sources by polling them ten times a second, for
    /// file systems whose change events do not arrive (network shares,
    /// some container and VM mounts).
    #[arg(long)]
    poll: bool,
    /// Seconds an example may run before it is killed, with everything it started.
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    time_limit: u64,
    /// Memory (address space) each process of an example may use, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(16..))]
    memory_cap: u64,
    /// Processes and threads an example may have at once (where something
    /// can cap them: the startup message says).
    #[arg(long, value_name = "N", default_value_t = 512, value_parser = clap::value_parser!(u64).range(1..))]
    process_cap: u64,
    /// The largest file an example may write, and the room in its directory, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..))]
    file_size_cap: u64,
    /// CPU time each process of an example may use, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    cpu_cap: u64,
}

/// `cargo book serve`: serves the book at `root` until the process is stopped.
pub fn run(root: PathBuf, args: &Args) -> Result<()> {
    let mut options = Options::new(root);
    options.port = args.port;
    options.poll = args.poll;
    if let Some(bind) = args.bind {
        if !bind.is_loopback() {
            eprintln!(
                "warning: serving on {bind}: anyone who can reach this address can run \
                 code on this machine with the Run buttons"
            );
        }
        options.bind = bind;
    }
    if args.std_only {
        options.crates = CratesFrom::StdOnly;
    } else if let Some(workspace) = &args.crates_from {
        options.crates = CratesFrom::Workspace(workspace.clone());
    }
    const MIB: u64 = 1024 * 1024;
    options.limits.wall_time = Duration::from_secs(args.time_limit);
    options.limits.caps = Caps {
        memory: args.memory_cap.saturating_mul(MIB),
        processes: args.process_cap,
        file_size: args.file_size_cap.saturating_mul(MIB),
        cpu_time: Duration::from_secs(args.cpu_cap),
    };
    let server = Server::start(options)?;
    let stop = server.stop_signals()?;
    let url = server.url();
    // Exactly this line, once the book is served: tests and scripts wait for it.
    println!("Serving the book on {url}");
    if args.open {
        open_browser(&url);
    }
    server.wait(stop);
    Ok(())
}

/// Ctrl-C and SIGTERM, caught: see [`Server::stop_signals`].
pub struct StopSignals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

/// A running server; dropping it stops it.
pub struct Server {
    address: SocketAddr,
    /// `None` once stopped.
    runtime: Option<tokio::runtime::Runtime>,
    rebuilder: reload::Rebuilder,
    /// Holds the rendered books; removed once everything else has stopped.
    _workdir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        // No more requests, no more renderings: then `workdir` can go.
        drop(self.runtime.take());
        self.rebuilder.stop();
        // The fields are dropped after this: `_workdir` removes every rendered book.
    }
}

impl Server {
    /// Binds the port, builds the book and the examples' crates, and starts
    /// serving and watching the sources in the background.
    pub fn start(options: Options) -> Result<Server> {
        // First the port, so that a busy one is reported before any slow work.
        let requested = SocketAddr::new(options.bind, options.port);
        let listener = TcpListener::bind(requested).map_err(|error| {
            let hint = if error.kind() == std::io::ErrorKind::AddrInUse {
                "it is in use; pass another --port, or --port 0 to pick a free one"
            } else {
                "pass another --port or --bind"
            };
            anyhow::anyhow!("cannot listen on {requested}: {error}; {hint}")
        })?;
        let address = listener.local_addr()?;
        listener.set_nonblocking(true)?;

        // The book and the crates are built side by side. The first rendering
        // leaves out the search index, which comes a second later (see `reload`).
        let sources = reload::Sources::watch(&options.root, options.poll)?;
        println!("Watching the book's sources with {}.", sources.how);
        // Every rendering goes under one directory, removed when the server
        // stops (also on Ctrl-C, see `wait`).
        let workdir = tempfile::Builder::new()
            .prefix("bookctl-serve-")
            .tempdir()
            .context("cannot create a temporary directory for the rendered book")?;
        let (site, crates) = std::thread::scope(|scope| {
            let crates = scope.spawn(|| match &options.crates {
                CratesFrom::StdOnly => Ok(Crates::std_only()),
                CratesFrom::Workspace(workspace) => {
                    println!(
                        "Building the crates the examples use (the test suite's: tokio, rayon, \
                         may…), once; cargo shows its progress:"
                    );
                    Crates::build(workspace)
                }
            });
            let site = reload::render(&options.root, workdir.path(), reload::SearchIndex::Empty);
            (site, crates.join())
        });
        let site = site.context("the book does not build")?;
        let crates = crates.map_err(|_| anyhow::anyhow!("building the crates panicked"))??;
        let (state, receiver) = watch::channel(Arc::new(BuildState {
            site: Arc::new(site),
            generation: 0,
            error: None,
        }));
        let port = address.port();
        let mut hosts = vec![format!("127.0.0.1:{port}"), format!("localhost:{port}")];
        if !hosts.contains(&address.to_string()) {
            hosts.push(address.to_string()); // --bind: [::1]:3000, 192.168.1.2:3000…
        }
        let runner = Runner::new(crates, options.limits.clone());
        // Once, before serving: what contains a Run on this machine.
        if runner.sandbox().is_sandboxed() {
            println!("{}", runner.sandbox().describe());
        } else {
            eprintln!("{}", runner.sandbox().describe());
        }
        let app = Arc::new(App {
            state: receiver,
            gate: Gate::new(options.limits.parallel_runs, options.limits.queue),
            runner: Arc::new(runner),
            hosts,
        });

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("bookctl-serve")
            .enable_all()
            .build()
            .context("cannot start the server's runtime")?;
        let listener = {
            let _context = runtime.enter();
            tokio::net::TcpListener::from_std(listener)?
        };
        runtime.spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        let app = Arc::clone(&app);
                        tokio::spawn(http::serve(stream, move |request| {
                            routes::handle(Arc::clone(&app), request)
                        }));
                    }
                    // Too many open files, say: not a reason to stop serving,
                    // but no reason to spin either.
                    Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
                }
            }
        });
        let rebuilder = reload::Rebuilder::new(options.root, workdir.path().to_path_buf(), state);
        rebuilder.index_in_background(0);
        rebuilder.watch(sources);
        Ok(Server {
            address,
            runtime: Some(runtime),
            rebuilder,
            _workdir: workdir,
        })
    }

    /// The address actually served (the port is known even with `--port 0`).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The book's URL: `http://127.0.0.1:PORT/` unless `--bind` said otherwise.
    pub fn url(&self) -> String {
        format!("http://{}/", self.address)
    }

    /// Listens for Ctrl-C and SIGTERM from now on: call it before telling
    /// anyone the server is ready, so that a stop request is never missed.
    pub fn stop_signals(&self) -> Result<StopSignals> {
        use tokio::signal::unix::{SignalKind, signal};
        let runtime = self.runtime.as_ref().context("the server has stopped")?;
        let _context = runtime.enter();
        Ok(StopSignals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    /// Serves until one of `stop`'s signals, then stops and removes its files.
    pub fn wait(self, mut stop: StopSignals) {
        if let Some(runtime) = &self.runtime {
            runtime.block_on(async {
                tokio::select! {
                    _ = stop.interrupt.recv() => {}
                    _ = stop.terminate.recv() => {}
                }
            });
        }
        println!("Stopped.");
        // Dropping `self` stops the runtime and removes the rendered books.
    }
}

/// Opens `url` in the reader's browser; failing to is only a warning.
pub fn open_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let opened = std::process::Command::new(opener)
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if let Err(error) = opened {
        eprintln!(
            "warning: could not open a browser with `{opener}` ({error}); open {url} yourself"
        );
    }
}
