//! Just enough HTTP/1.1 for a local book server: one request per connection
//! (`Connection: close`), a `Content-Length` body with a size limit, no
//! chunked uploads. Browsers, curl and the tests need no more.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

/// The request line and headers may not be longer than this.
const HEAD_CAP: usize = 16 * 1024;
/// A client gets this long to send its request line and headers.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// A request whose head has been read; the body is read on demand.
pub struct Request<R> {
    pub method: String,
    /// The path, without the query string.
    pub path: String,
    headers: Vec<(String, String)>,
    body: BufReader<R>,
}

/// Why a request could not be read; each maps to a response status.
#[derive(Debug)]
pub enum ReadError {
    /// The client closed the connection or sent nothing in time: no answer.
    Gone,
    /// Malformed: 400.
    Bad(&'static str),
    /// Body larger than allowed: 413.
    TooLarge,
    /// A body without `Content-Length`: 411.
    LengthRequired,
}

impl<R: AsyncRead + Unpin> Request<R> {
    /// Reads the request line and the headers.
    pub async fn read_head(stream: R) -> Result<Request<R>, ReadError> {
        let mut reader = BufReader::new(stream);
        let mut head = Vec::new();
        let read_head = async {
            loop {
                let start = head.len();
                let n = (&mut reader)
                    .take((HEAD_CAP + 1 - start) as u64)
                    .read_until(b'\n', &mut head)
                    .await
                    .map_err(|_| ReadError::Gone)?;
                if n == 0 {
                    return Err(if head.is_empty() {
                        ReadError::Gone
                    } else {
                        ReadError::Bad("the request ended inside its headers")
                    });
                }
                if head.len() > HEAD_CAP {
                    return Err(ReadError::Bad("request headers too large"));
                }
                if head[start..] == *b"\r\n" || head[start..] == *b"\n" {
                    return Ok(());
                }
            }
        };
        tokio::time::timeout(HEAD_TIMEOUT, read_head)
            .await
            .map_err(|_| ReadError::Gone)??;

        let head =
            std::str::from_utf8(&head).map_err(|_| ReadError::Bad("headers are not UTF-8"))?;
        let mut lines = head.lines();
        let mut request_line = lines.next().unwrap_or_default().split(' ');
        let (Some(method), Some(target), Some(version)) = (
            request_line.next(),
            request_line.next(),
            request_line.next(),
        ) else {
            return Err(ReadError::Bad("malformed request line"));
        };
        if !version.starts_with("HTTP/1.") {
            return Err(ReadError::Bad("only HTTP/1.x is spoken here"));
        }
        let headers = lines
            .take_while(|line| !line.is_empty())
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
            .collect();
        let path = target
            .split(['?', '#'])
            .next()
            .unwrap_or_default()
            .to_owned();
        Ok(Request {
            method: method.to_owned(),
            path,
            headers,
            body: reader,
        })
    }

    /// The value of a header (names are case-insensitive); `None` if absent.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Reads the body, refusing one over `cap` bytes before buffering it: by
    /// `Content-Length` first, and by counting while reading.
    pub async fn read_body(&mut self, cap: usize) -> Result<Vec<u8>, ReadError> {
        if self.header("transfer-encoding").is_some() {
            return Err(ReadError::LengthRequired);
        }
        let length: usize = match self.header("content-length") {
            None => return Err(ReadError::LengthRequired),
            Some(value) => value
                .parse()
                .map_err(|_| ReadError::Bad("bad Content-Length"))?,
        };
        if length > cap {
            return Err(ReadError::TooLarge);
        }
        let mut body = Vec::with_capacity(length);
        let mut limited = (&mut self.body).take(length as u64);
        tokio::time::timeout(HEAD_TIMEOUT, limited.read_to_end(&mut body))
            .await
            .map_err(|_| ReadError::Gone)?
            .map_err(|_| ReadError::Gone)?;
        if body.len() < length {
            return Err(ReadError::Bad(
                "the body is shorter than its Content-Length",
            ));
        }
        Ok(body)
    }

    /// Reads and throws away what the client still sends (for a little while),
    /// so that closing the connection right after an early answer (413) does
    /// not reset it before the client has read that answer.
    pub async fn discard_rest(&mut self) {
        let mut rest = (&mut self.body).take(8 * 1024 * 1024);
        let mut sink = tokio::io::sink();
        let _ = tokio::time::timeout(
            Duration::from_secs(1),
            tokio::io::copy(&mut rest, &mut sink),
        )
        .await;
    }
}

/// A complete response (everything but Server-Sent Events).
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub cache_control: &'static str,
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16, content_type: &'static str, body: impl Into<Vec<u8>>) -> Response {
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

    /// Writes the response and closes our side of the connection.
    pub async fn write_to<W: AsyncWrite + Unpin>(&self, stream: &mut W) -> std::io::Result<()> {
        let head = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n\
             Cache-Control: {}\r\nConnection: close\r\n\r\n",
            self.status,
            reason(self.status),
            self.content_type,
            self.body.len(),
            self.cache_control,
        );
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(&self.body).await?;
        stream.flush().await?;
        stream.shutdown().await
    }
}

/// The head of a Server-Sent Events stream; events follow until either side closes.
pub const EVENT_STREAM_HEAD: &str = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\
    Cache-Control: no-store\r\nConnection: close\r\n\r\n";

pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        411 => "Length Required",
        413 => "Content Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "",
    }
}
