//! The real registry client against an in-process registry whose every answer comes from the
//! input: statuses, headers from a menu (redirects, page links, challenges, lying lengths and
//! digests, upload ranges) and bodies repeated past every limit. Resolve, blob fetch, referrers,
//! tags and a copy must each return (an error is fine), never panic, hang or hold memory
//! without bound.
#![no_main]

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use oci_distribution_client::{Client, ClientConfig, RetryPolicy};
use oci_spec_types::{Descriptor, MediaType};
use oci_target::{CopyOptions, MemoryStore, ReadOnlyTarget, ReadOnlyTargetExt, TargetExt, copy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    })
}

const STATUSES: [u16; 16] = [
    200, 201, 202, 204, 206, 301, 307, 400, 401, 403, 404, 405, 416, 429, 500, 503,
];
/// Body repeats: with bodies of up to 47 bytes, past every limit the client is given below.
const REPEATS: [usize; 6] = [1, 3, 100, 10_000, 100_000, 300_000];

/// One scripted answer.
#[derive(Clone)]
struct Answer {
    status: u16,
    headers: u16,
    body: Vec<u8>,
    repeat: usize,
    close_early: bool,
}

fn script(data: &[u8]) -> Vec<Answer> {
    let mut answers = Vec::new();
    let mut rest = data;
    while rest.len() >= 4 && answers.len() < 64 {
        let (head, tail) = rest.split_at(4);
        let len = (head[3] as usize % 48).min(tail.len());
        let (body, tail) = tail.split_at(len);
        answers.push(Answer {
            status: STATUSES[head[0] as usize % STATUSES.len()],
            headers: u16::from_le_bytes([head[1], head[2] & 0x7f]),
            body: body.to_vec(),
            repeat: REPEATS[(head[2] >> 4) as usize % REPEATS.len()],
            close_early: head[2] & 0x80 != 0,
        });
        rest = tail;
    }
    if answers.is_empty() {
        answers.push(Answer {
            status: 404,
            headers: 0,
            body: Vec::new(),
            repeat: 1,
            close_early: false,
        });
    }
    answers
}

fn headers(mask: u16, host: &str, body: &[u8]) -> String {
    let digest = oci_digest::sha256(body);
    let menu: [String; 15] = [
        format!("Location: http://{host}/v2/a/b/blobs/uploads/x?state=1"),
        format!("Location: http://{host}/v2/a/b/blobs/sha256:{}", digest.encoded()),
        "Location: http://127.0.0.1:1/elsewhere?sig=secret".into(),
        format!("Link: <http://{host}/v2/a/b/tags/list?last=z>; rel=\"next\""),
        "Link: </v2/a/b/tags/list?n=1000>; rel=\"next\"".into(),
        format!("WWW-Authenticate: Bearer realm=\"http://{host}/token\",service=\"s\",scope=\"x\""),
        "WWW-Authenticate: Basic realm=\"r\"".into(),
        format!("Docker-Content-Digest: {digest}"),
        "Docker-Content-Digest: sha256:0000000000000000000000000000000000000000000000000000000000000000".into(),
        "Range: 0-18446744073709551615".into(),
        "Range: 0-3".into(),
        "Content-Type: application/vnd.oci.image.index.v1+json".into(),
        "Content-Type: application/vnd.oci.image.manifest.v1+json".into(),
        "Retry-After: 0".into(),
        "OCI-Chunk-Min-Length: 1".into(),
    ];
    let mut out = String::new();
    for (i, h) in menu.iter().enumerate() {
        if mask & (1 << i) != 0 {
            out.push_str(h);
            out.push_str("\r\n");
        }
    }
    out
}

async fn serve(listener: TcpListener, answers: Vec<Answer>) {
    let next = Arc::new(Mutex::new(0usize));
    let host = listener.local_addr().unwrap().to_string();
    loop {
        let Ok((mut conn, _)) = listener.accept().await else {
            return;
        };
        let answers = answers.clone();
        let next = next.clone();
        let host = host.clone();
        tokio::spawn(async move {
            // Read the request head (the body, if any, is left unread: the answer comes first).
            let mut head = Vec::new();
            let mut buf = [0u8; 4096];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 65_536 {
                match conn.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let n = {
                let mut n = next.lock().unwrap();
                *n += 1;
                *n
            };
            let a = if n > 400 {
                // Past this many requests the client should have given up; answer as a
                // registry that is down.
                Answer {
                    status: 503,
                    headers: 0,
                    body: Vec::new(),
                    repeat: 1,
                    close_early: false,
                }
            } else {
                answers[(n - 1) % answers.len()].clone()
            };
            let total = a.body.len() * a.repeat;
            let mut response = format!("HTTP/1.1 {} X\r\nConnection: close\r\n", a.status);
            response.push_str(&headers(a.headers, &host, &a.body));
            if a.headers & (1 << 15) == 0 {
                response.push_str(&format!("Content-Length: {total}\r\n"));
            }
            response.push_str("\r\n");
            if conn.write_all(response.as_bytes()).await.is_err() {
                return;
            }
            let sent = if a.close_early { total / 2 } else { total };
            let mut written = 0;
            while written < sent && !a.body.is_empty() {
                let piece = &a.body[..a.body.len().min(sent - written)];
                if conn.write_all(piece).await.is_err() {
                    return;
                }
                written += piece.len();
            }
            let _ = conn.shutdown().await;
        });
    }
}

fuzz_target!(|data: &[u8]| {
    let answers = script(data);
    runtime().block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let host = listener.local_addr().unwrap().to_string();
        let server = tokio::spawn(serve(listener, answers));
        // Limits lowered (as a caller may) so that bodies a few megabytes long cross each one.
        let mut limits = oci_target::Limits::default();
        limits.manifest_bytes = 1 << 20;
        limits.listing_bytes = 4 << 20;
        limits.token_bytes = 64 << 10;
        limits.error_body_bytes = 16 << 10;
        let config = ClientConfig::default()
            .with_limits(limits)
            .with_plain_http(host.clone())
            .with_retry(
                RetryPolicy::default()
                    .with_max_retries(2)
                    .with_backoff(Duration::from_millis(1), Duration::from_millis(2)),
            )
            .with_timeouts(Duration::from_millis(500), Duration::from_millis(500));
        let client = Client::new(config).unwrap();
        let repo = client.repository(&host, "a/b").unwrap();
        let blob = Descriptor::new(
            MediaType::octet_stream(),
            oci_digest::sha256(b"blob"),
            4,
        );
        let work = async {
            let _ = repo.resolve("latest").await;
            let _ = repo.fetch_bytes(&blob, 1 << 20).await;
            let _ = repo.exists(&blob).await;
            let _ = repo.referrers(&blob, None).await;
            let _ = repo.tags().await;
            let _ = copy(&repo, "latest", &MemoryStore::new(), "latest", &CopyOptions::default())
                .await;
            let _ = repo.push_bytes(&blob, bytes::Bytes::from_static(b"blob")).await;
        };
        // Generous under the address sanitizer, which slows reading bodies of megabytes.
        if tokio::time::timeout(Duration::from_secs(60), work).await.is_err() {
            panic!("the client hung");
        }
        server.abort();
    });
});
