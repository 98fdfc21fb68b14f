//! A loopback TCP proxy that behaves like a long network path: every piece a client sends
//! reaches the registry `delay` later, and every piece of the answer reaches the client `delay`
//! later, with at most `window` bytes of the answer in flight per connection, as TCP's window
//! allows. One connection then moves at most `window / delay` bytes a second, whatever the
//! loopback could do: the conditions where concurrency and connection reuse pay.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;

/// The path the proxy imitates.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Link {
    /// One-way delay, each direction.
    pub(crate) delay: Duration,
    /// Bytes of an answer in flight at once, per connection.
    pub(crate) window: usize,
}

/// Copies `from` to `to`, each piece `delay` late, at most `window` bytes in flight.
async fn delay_line(
    mut from: impl AsyncRead + Unpin + Send + 'static,
    mut to: impl AsyncWrite + Unpin + Send + 'static,
    link: Link,
) {
    let window = Arc::new(Semaphore::new(link.window));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let reader = {
        let window = window.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = match from.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let Ok(permit) = window.clone().acquire_many_owned(n as u32).await else {
                    break;
                };
                if tx
                    .send((buf[..n].to_vec(), permit, Instant::now()))
                    .is_err()
                {
                    break;
                }
            }
        })
    };
    while let Some((piece, permit, sent)) = rx.recv().await {
        tokio::time::sleep_until(sent + link.delay).await;
        if to.write_all(&piece).await.is_err() {
            break;
        }
        drop(permit);
    }
    let _ = to.shutdown().await;
    reader.abort();
}

/// Starts the proxy in a thread of its own; returns its `host:port`. It lives as long as the
/// process.
pub(crate) fn start(upstream: &str, link: Link) -> String {
    let upstream: SocketAddr = upstream.parse().expect("upstream host:port");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap().to_string()).unwrap();
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let _ = client.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    let (cr, cw) = client.into_split();
                    let (sr, sw) = server.into_split();
                    tokio::join!(delay_line(cr, sw, link), delay_line(sr, cw, link));
                });
            }
        });
    });
    rx.recv().expect("the proxy started")
}
