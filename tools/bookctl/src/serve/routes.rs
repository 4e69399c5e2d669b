//! What the server answers: the rendered book (with the live-reload script
//! injected into each page), the live-reload event stream, and the local
//! stand-ins for the Rust playground's `evaluate.json` and `meta/crates`.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hyper::header::{HOST, ORIGIN};
use hyper::{Method, StatusCode};
use serde_json::json;
use tokio::sync::{mpsc, watch};

use super::gate::Gate;
use super::http::{self, Body, BodyError, Request, Response};
use super::reload::BuildState;
use super::runner::{Edition, Outcome, Runner};

/// Where the pages send their Run requests (see `theme/head.hbs`).
pub const RUN_URL: &str = "/__bookctl/evaluate.json";
pub const CRATES_URL: &str = "/__bookctl/meta/crates";
const EVENTS_URL: &str = "/__bookctl/events";
const RELOAD_JS_URL: &str = "/__bookctl/reload.js";
const RELOAD_JS: &str = include_str!("reload.js");

/// Everything a request may need.
pub struct App {
    pub state: watch::Receiver<Arc<BuildState>>,
    pub runner: Arc<Runner>,
    pub gate: Gate,
    /// The `Host` values this server answers to, e.g. `127.0.0.1:3000` and
    /// `localhost:3000`. Anything else is refused, which defeats DNS rebinding
    /// (a foreign name resolving to 127.0.0.1 still sends its own name).
    pub hosts: Vec<String>,
}

impl App {
    /// Origins allowed to POST: the served page's own.
    fn origin_allowed(&self, origin: Option<&str>) -> bool {
        match origin {
            // Not a browser (curl, the tests): no cross-site request possible.
            None => true,
            Some(origin) => self
                .hosts
                .iter()
                .any(|host| origin == format!("http://{host}")),
        }
    }

    /// How long a page should wait for a Run's answer: a turn in the queue,
    /// then compiling and running, with a margin (see `theme/head.hbs`).
    fn run_timeout(&self) -> Duration {
        let limits = self.runner.limits();
        let one_run = limits.compile_time + limits.wall_time;
        let turns = limits.queue.div_ceil(limits.parallel_runs.max(1)) + 1;
        one_run * u32::try_from(turns).unwrap_or(u32::MAX) + Duration::from_secs(5)
    }
}

/// Answers one request.
pub async fn handle(app: Arc<App>, request: Request) -> hyper::Response<Body> {
    let host = request
        .headers()
        .get(HOST)
        .and_then(|host| host.to_str().ok());
    if !host.is_some_and(|host| app.hosts.iter().any(|h| h == host)) {
        return refusal(403, "this server only answers requests for its own address").into_hyper();
    }
    let path = request.uri().path().to_owned();
    let response = match (request.method(), path.as_str()) {
        (&Method::GET, EVENTS_URL) => return events(&app),
        (&Method::POST, RUN_URL) => run(&app, request).await,
        (&Method::POST | &Method::GET, CRATES_URL) => crates(&app),
        (&Method::GET, RELOAD_JS_URL) => Response::new(200, "text/javascript", RELOAD_JS),
        (&Method::GET, path) => {
            let state = app.state.borrow().clone();
            static_file(&state, path, app.run_timeout())
        }
        _ => Response::text(405, "method not allowed"),
    };
    response.into_hyper()
}

/// A refused run, in the playground's shape so that the page shows why.
fn refusal(status: u16, why: &str) -> Response {
    Response::json(status, &json!({ "result": why, "error": why }))
}

/// `evaluate.json`: `{code, edition, …}` in, `{result, error}` out.
async fn run(app: &App, request: Request) -> Response {
    let origin = request
        .headers()
        .get(ORIGIN)
        .map(|origin| origin.to_str().unwrap_or("(not text)"));
    if !app.origin_allowed(origin) {
        return refusal(403, "only the book's own pages may run examples here");
    }
    let body = match http::read_body(request, app.runner.limits().body_cap).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) => return refusal(413, "the example is too large to run here"),
        Err(BodyError::Unreadable) => return refusal(400, "the request body could not be read"),
    };
    #[derive(serde::Deserialize)]
    struct Evaluate {
        code: String,
        #[serde(default = "default_edition")]
        edition: String,
    }
    fn default_edition() -> String {
        "2024".to_owned()
    }
    let Ok(evaluate) = serde_json::from_slice::<Evaluate>(&body) else {
        return refusal(
            400,
            "expected JSON like {\"code\": \"fn main() {}\", \"edition\": \"2024\"}",
        );
    };
    let Some(edition) = Edition::parse(&evaluate.edition) else {
        return refusal(400, "edition must be 2015, 2018, 2021 or 2024");
    };
    let Some(_turn) = app.gate.enter().await else {
        return refusal(
            429,
            "too many examples are running or waiting: try again in a moment",
        );
    };
    let runner = Arc::clone(&app.runner);
    let outcome = tokio::task::spawn_blocking(move || runner.run(&evaluate.code, edition)).await;
    match outcome {
        Ok(Ok(Outcome::Ran { output, .. })) => {
            Response::json(200, &json!({ "result": output, "error": null }))
        }
        // Like the playground: the compiler's message is the result the page shows.
        Ok(Ok(Outcome::CompileError(message))) => Response::json(
            200,
            &json!({ "result": message, "error": "the example did not compile" }),
        ),
        Ok(Err(error)) => {
            eprintln!("error: could not run an example: {error:#}");
            refusal(
                500,
                &format!("the server could not run the example: {error:#}"),
            )
        }
        Err(_) => refusal(500, "the server could not run the example"),
    }
}

/// `meta/crates`: what examples may use, with the versions actually built.
fn crates(app: &App) -> Response {
    let crates: Vec<_> = app
        .runner
        .crates()
        .iter()
        .map(|c| json!({ "id": c.name, "name": c.name, "version": c.version }))
        .collect();
    Response::json(200, &json!({ "crates": crates }))
}

/// Server-Sent Events: the state of the build now and after every rebuild.
fn events(app: &App) -> hyper::Response<Body> {
    let (sender, receiver) = mpsc::channel(4);
    let mut state = app.state.clone();
    tokio::spawn(async move {
        loop {
            let event = {
                let build = state.borrow_and_update();
                let data = json!({ "generation": build.generation, "error": build.error });
                format!("event: build\ndata: {data}\n\n")
            };
            if sender.send(event).await.is_err() {
                return; // the page has gone
            }
            // A comment now and then finds out when the page has gone.
            loop {
                match tokio::time::timeout(Duration::from_secs(15), state.changed()).await {
                    Ok(Ok(())) => break,
                    Ok(Err(_)) => return, // the server is stopping
                    Err(_) => {
                        if sender.send(": still here\n\n".to_owned()).await.is_err() {
                            return;
                        }
                    }
                }
            }
        }
    });
    let mut response = http::event_stream(receiver);
    *response.status_mut() = StatusCode::OK;
    response
}

/// A file of the rendered book; pages get the live-reload script.
fn static_file(build: &BuildState, url_path: &str, run_timeout: Duration) -> Response {
    let Some(relative) = safe_relative_path(url_path) else {
        return Response::text(400, "bad path");
    };
    let mut path = build.site.html.join(relative);
    if path.is_dir() {
        path.push("index.html");
    }
    let (status, path) = if path.is_file() {
        (200, path)
    } else if let Some(index) = current_search_index(&build.site.html, &path) {
        (200, index)
    } else {
        (404, build.site.html.join("404.html"))
    };
    let Ok(bytes) = std::fs::read(&path) else {
        return Response::text(404, "not found");
    };
    let content_type = content_type(&path);
    if content_type.starts_with("text/html") {
        let page = inject(&bytes, build.generation, run_timeout);
        return Response::new(status, content_type, page);
    }
    let response = Response::new(status, content_type, bytes);
    if status == 200 && has_content_hash(&path) {
        // A live reload then fetches the page alone, not its CSS, scripts and fonts.
        response.immutable()
    } else {
        response
    }
}

/// mdBook names its CSS, scripts and fonts after a hash of their contents
/// (`book-609e4cb8.js`), so a changed file gets a new name.
fn has_content_hash(path: &Path) -> bool {
    let stem = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    // The stem up to the first dot: `clipboard-1626706a.min.js` → `clipboard-1626706a`.
    let stem = stem.split('.').next().unwrap_or_default();
    stem.rsplit_once('-')
        .is_some_and(|(_, hash)| hash.len() == 8 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
        && !stem.starts_with("searchindex-")
}

/// The search index's file name has a hash of its contents, and a page
/// loaded from the quick rendering of a rebuild (see `reload`) names the
/// empty index's file, which the full rendering then replaces: such a page
/// gets the current index.
fn current_search_index(html: &Path, wanted: &Path) -> Option<PathBuf> {
    let name = wanted.file_name()?.to_str()?;
    let extension = wanted.extension()?;
    if wanted.parent() != Some(html) || !name.starts_with("searchindex-") {
        return None;
    }
    std::fs::read_dir(html)
        .ok()?
        .flatten()
        .map(|entry| entry.path())
        .find(|path| {
            path.extension() == Some(extension)
                && path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("searchindex-"))
        })
}

/// Adds, right after `<head>`, what tells `theme/head.hbs` that the page is
/// served by `cargo book serve`, and the live-reload script.
fn inject(html: &[u8], generation: u64, run_timeout: Duration) -> Vec<u8> {
    let marker = b"<head>";
    let Some(at) = html.windows(marker.len()).position(|w| w == marker) else {
        return html.to_vec();
    };
    let run_timeout_ms = run_timeout.as_millis();
    let script = format!(
        "\n<script>window.bookctl = {{ runUrl: \"{RUN_URL}\", cratesUrl: \"{CRATES_URL}\", \
         eventsUrl: \"{EVENTS_URL}\", generation: {generation}, \
         runTimeoutMs: {run_timeout_ms} }};</script>\n\
         <script src=\"{RELOAD_JS_URL}\"></script>\n"
    );
    let end = at + marker.len();
    [&html[..end], script.as_bytes(), &html[end..]].concat()
}

/// The URL path as a relative file path, percent-decoded; `None` if it would
/// leave the book's directory.
fn safe_relative_path(url_path: &str) -> Option<PathBuf> {
    let decoded = percent_decode(url_path)?;
    let path = Path::new(decoded.trim_start_matches('/'));
    path.components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
        .then(|| path.to_path_buf())
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn content_type(path: &Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
    {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "txt" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_book() {
        assert_eq!(
            safe_relative_path("/a%20b/c.html"),
            Some(PathBuf::from("a b/c.html"))
        );
        assert_eq!(safe_relative_path("/"), Some(PathBuf::from("")));
        assert_eq!(safe_relative_path("/../etc/passwd"), None);
        assert_eq!(safe_relative_path("/x/%2e%2e/%2e%2e/etc"), None);
        assert_eq!(safe_relative_path("/bad%zz"), None);
    }

    #[test]
    fn only_hashed_assets_are_cached() {
        assert!(has_content_hash(Path::new("/b/book-609e4cb8.js")));
        assert!(has_content_hash(Path::new("/b/clipboard-1626706a.min.js")));
        assert!(has_content_hash(Path::new(
            "/b/fonts/open-sans-v17-all-charsets-300-7736aa35.woff2"
        )));
        assert!(!has_content_hash(Path::new("/b/first-threads.html")));
        assert!(!has_content_hash(Path::new("/b/img/a-b.png")));
        // Served in place of another name by `current_search_index`.
        assert!(!has_content_hash(Path::new("/b/searchindex-c887337f.js")));
    }

    #[test]
    fn the_script_goes_right_after_head() {
        let page = inject(
            b"<html><head><title>t</title></head></html>",
            7,
            Duration::from_secs(45),
        );
        let page = String::from_utf8(page).unwrap();
        assert!(page.starts_with("<html><head>\n<script>window.bookctl"));
        assert!(
            page.contains("generation: 7, runTimeoutMs: 45000 }"),
            "{page}"
        );
        assert!(page.ends_with("<title>t</title></head></html>"));
    }
}
