//! An HTTP/1.1 server on loopback that answers exactly what a test tells it to, malformed
//! answers included, and records every request it gets. For what no real registry does on
//! purpose: wrong bodies, lying headers, redirects elsewhere, endless pages, hangs.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A request as received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// Path and query.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }
}

/// What to answer.
pub enum Reply {
    /// These bytes exactly, then keep the connection.
    Raw(Vec<u8>),
    /// These bytes exactly, then close the connection.
    RawThenClose(Vec<u8>),
    /// Never answer (until the test ends).
    Hang,
}

impl Reply {
    /// A response with `status`, extra `headers` and `body` (Content-Length set from it).
    pub fn new(status: u16, headers: &[(&str, &str)], body: impl Into<Vec<u8>>) -> Reply {
        let body = body.into();
        let mut head = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\n", body.len());
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let mut out = head.into_bytes();
        out.extend_from_slice(&body);
        Reply::Raw(out)
    }

    /// A response whose headers are given whole (no Content-Length added) and body follows.
    pub fn head_and_body(head: &str, body: &[u8], close: bool) -> Reply {
        let mut out = head.replace('\n', "\r\n").into_bytes();
        out.extend_from_slice(b"\r\n\r\n");
        out.extend_from_slice(body);
        if close {
            Reply::RawThenClose(out)
        } else {
            Reply::Raw(out)
        }
    }
}

type Handler = dyn Fn(&Recorded) -> Reply + Send + Sync;

/// A running hostile server.
pub struct Hostile {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl Hostile {
    /// Starts a server on 127.0.0.1 answering with `handler`.
    pub async fn start(handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> Hostile {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests: Arc<Mutex<Vec<Recorded>>> = Arc::default();
        let handler: Arc<Handler> = Arc::new(handler);
        let log = requests.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(serve(socket, handler.clone(), log.clone()));
            }
        });
        Hostile { addr, requests }
    }

    /// Starts a server answering every request with `head` and `body` as written, then closing
    /// the connection.
    #[allow(dead_code)]
    pub async fn raw(head: &'static str, body: &'static [u8]) -> Hostile {
        Hostile::start(move |_| Reply::head_and_body(head, body, true)).await
    }

    /// The requests received with `method`, in order.
    #[allow(dead_code)]
    pub fn with_method(&self, method: &str) -> Vec<Recorded> {
        let mut all = self.requests();
        all.retain(|r| r.method == method);
        all
    }

    /// How many requests carried the header `name`, with any value.
    #[allow(dead_code)]
    pub fn carrying(&self, name: &str) -> usize {
        let all = self.requests();
        all.iter().filter(|r| r.header(name).is_some()).count()
    }

    /// The first request received with `method`.
    #[allow(dead_code)]
    pub fn first(&self, method: &str) -> Recorded {
        let found = self.with_method(method).into_iter().next();
        found.unwrap_or_else(|| panic!("no {method} request"))
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

async fn serve(mut socket: TcpStream, handler: Arc<Handler>, log: Arc<Mutex<Vec<Recorded>>>) {
    let mut buf = Vec::new();
    loop {
        let Some(request) = read_request(&mut socket, &mut buf).await else {
            return;
        };
        log.lock().unwrap().push(request.clone());
        match handler(&request) {
            Reply::Raw(bytes) => {
                if socket.write_all(&bytes).await.is_err() {
                    return;
                }
            }
            Reply::RawThenClose(bytes) => {
                let _ = socket.write_all(&bytes).await;
                let _ = socket.shutdown().await;
                return;
            }
            Reply::Hang => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                return;
            }
        }
    }
}

async fn read_request(socket: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Recorded> {
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let mut chunk = [0u8; 8192];
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    buf.drain(..head_end + 4);
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let target = first.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let get = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.clone())
    };
    let mut body = Vec::new();
    if let Some(len) = get("content-length").and_then(|v| v.parse::<usize>().ok()) {
        while buf.len() < len {
            let mut chunk = vec![0u8; 65536];
            let n = socket.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        body = buf.drain(..len).collect();
    } else if get("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        loop {
            let line_end = loop {
                if let Some(i) = buf.windows(2).position(|w| w == b"\r\n") {
                    break i;
                }
                let mut chunk = vec![0u8; 65536];
                let n = socket.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            };
            let size =
                usize::from_str_radix(String::from_utf8_lossy(&buf[..line_end]).trim(), 16).ok()?;
            buf.drain(..line_end + 2);
            while buf.len() < size + 2 {
                let mut chunk = vec![0u8; 65536];
                let n = socket.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            body.extend(buf.drain(..size));
            buf.drain(..2);
            if size == 0 {
                break;
            }
        }
    }
    Some(Recorded {
        method,
        target,
        headers,
        body,
    })
}

/// A client for these servers over plain HTTP: quick retries, 2 s connect and `read` timeouts,
/// and whatever `f` changes.
#[allow(dead_code)]
pub fn client_for(
    hosts: &[&Hostile],
    read: std::time::Duration,
    f: impl FnOnce(oci_distribution_client::ClientConfig) -> oci_distribution_client::ClientConfig,
) -> oci_distribution_client::Client {
    use std::time::Duration;
    let mut config = oci_distribution_client::ClientConfig::default()
        .with_retry(
            oci_distribution_client::RetryPolicy::default()
                .with_backoff(Duration::from_millis(1), Duration::from_millis(20)),
        )
        .with_timeouts(Duration::from_secs(2), read);
    for h in hosts {
        config = config.with_plain_http(h.host());
    }
    oci_distribution_client::Client::new(f(config)).unwrap()
}

/// Repository `a/b` of `server`, through [`client_for`] with a 2 s read timeout.
#[allow(dead_code)]
pub fn repo_with(
    server: &Hostile,
    f: impl FnOnce(oci_distribution_client::ClientConfig) -> oci_distribution_client::ClientConfig,
) -> oci_distribution_client::Repository {
    client_for(&[server], std::time::Duration::from_secs(2), f)
        .repository(&server.host(), "a/b")
        .unwrap()
}

/// `f`, failing the test if it takes more than 30 s: a client that hangs is a bug.
#[allow(dead_code)]
pub async fn within<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(std::time::Duration::from_secs(30), f)
        .await
        .expect("the client hung")
}
