//! HTTP/1.1 with [hyper]: serving connections with timeouts and a header
//! limit, reading a request body within a cap, and the two kinds of
//! response the server sends (a whole body, or an event stream).

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Body as _, Frame, Incoming, SizeHint};
use hyper::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// What a response body is: a whole one, or an event stream.
pub type Body = http_body_util::combinators::UnsyncBoxBody<Bytes, Infallible>;
pub type Request = hyper::Request<Incoming>;

/// A client gets this long to send its request line and headers, and again
/// its body.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// hyper's buffer for the request line and headers (its smallest allowed is
/// 8 KiB): a longer head gets "431 Request Header Fields Too Large".
const HEAD_CAP: usize = 16 * 1024;

/// Serves one connection with `handle` until the client closes it.
pub async fn serve<F, Fut>(stream: TcpStream, handle: F)
where
    F: Fn(Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = hyper::Response<Body>> + Send + 'static,
{
    let handle = Arc::new(handle);
    let service = service_fn(move |request| {
        let handle = Arc::clone(&handle);
        async move { Ok::<_, Infallible>(handle(request).await) }
    });
    // A client that goes away mid-request is no error of the server's.
    let _ = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(READ_TIMEOUT)
        .max_buf_size(HEAD_CAP)
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

/// Why a request body could not be read; each maps to a response status.
#[derive(Debug)]
pub enum BodyError {
    /// Larger than allowed: 413.
    TooLarge,
    /// Cut short, malformed or too slow: 400.
    Unreadable,
}

/// Reads a request's body, refusing one over `cap` bytes before buffering
/// it: by `Content-Length` first, and by counting while reading (a chunked
/// body has no length).
pub async fn read_body(request: Request, cap: usize) -> Result<Bytes, BodyError> {
    let declared = request.body().size_hint().exact();
    let body = request.into_body();
    if declared.is_some_and(|length| length > cap as u64) {
        drain(body).await;
        return Err(BodyError::TooLarge);
    }
    let collected = tokio::time::timeout(READ_TIMEOUT, Limited::new(body, cap).collect()).await;
    match collected {
        Ok(Ok(body)) => Ok(body.to_bytes()),
        Ok(Err(error)) if error.is::<http_body_util::LengthLimitError>() => {
            Err(BodyError::TooLarge)
        }
        Ok(Err(_)) | Err(_) => Err(BodyError::Unreadable),
    }
}

/// Reads and throws away what the client still sends (for a little while),
/// so that closing the connection right after an early answer (413) does
/// not reset it before the client has read that answer.
async fn drain(mut body: Incoming) {
    let mut left: usize = 8 * 1024 * 1024;
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while let Some(Ok(frame)) = body.frame().await {
            let size = frame.data_ref().map_or(0, Bytes::len);
            left = match left.checked_sub(size) {
                Some(left) => left,
                None => break,
            };
        }
    })
    .await;
}

/// A complete response (everything but the event stream).
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub cache_control: &'static str,
    pub body: Bytes,
}

impl Response {
    pub fn new(status: u16, content_type: &'static str, body: impl Into<Bytes>) -> Response {
        Response {
            status,
            content_type,
            cache_control: "no-store",
            body: body.into(),
        }
    }

    /// Lets the browser keep the response: for files whose name changes
    /// with their content.
    pub fn immutable(mut self) -> Response {
        self.cache_control = "max-age=31536000, immutable";
        self
    }

    /// A plain-text answer, for errors.
    pub fn text(status: u16, text: impl Into<String>) -> Response {
        let mut text = text.into();
        text.push('\n');
        Response::new(status, "text/plain; charset=utf-8", text)
    }

    pub fn json(status: u16, value: &serde_json::Value) -> Response {
        Response::new(status, "application/json", value.to_string())
    }

    pub fn into_hyper(self) -> hyper::Response<Body> {
        let mut response = hyper::Response::new(Full::new(self.body).boxed_unsync());
        *response.status_mut() = hyper::StatusCode::from_u16(self.status)
            .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(self.content_type));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static(self.cache_control));
        response
    }
}

/// A Server-Sent Events response whose events come from `events`: the
/// stream ends when the sender is dropped, and the sender finds out that
/// the page has gone when sending fails.
pub fn event_stream(events: mpsc::Receiver<String>) -> hyper::Response<Body> {
    let mut response = hyper::Response::new(EventBody(events).boxed_unsync());
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Neither a length nor the end is known: hyper sends it chunked.
    headers.remove(CONTENT_LENGTH);
    response
}

/// A response body made of the strings received on a channel.
struct EventBody(mpsc::Receiver<String>);

impl hyper::body::Body for EventBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0
            .poll_recv(context)
            .map(|event| event.map(|text| Ok(Frame::data(Bytes::from(text)))))
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}
