//! A proxy on loopback between a client and a registry that breaks things on a seeded schedule:
//! answers bursts of 503 and 429 with `Retry-After`, cuts responses in the middle of a body,
//! stalls a response past the client's read timeout, and truncates manifest bodies. Every
//! request gets a connection of its own (`Connection: close` both ways), so a fault never
//! leaks into the next request.
//!
//! Faults hit reads (GET, HEAD) and the bodiless starts of uploads (POST): a request whose body
//! is a stream could not be sent again by any client, so it is passed through untouched.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// What the proxy may do, and how often.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct FaultPlan {
    /// Seed of the schedule: the same seed breaks the same requests.
    pub seed: u64,
    /// Out of 1,000 eligible requests, how many are answered 503 or 429 (with `Retry-After: 0`).
    pub busy_per_mille: u32,
    /// Out of 1,000 eligible responses with a body, how many are cut in the middle of it.
    pub cut_per_mille: u32,
    /// Out of 1,000 eligible responses, how many stall for `stall` before anything is sent.
    pub stall_per_mille: u32,
    /// How long a stall lasts: longer than the client's read timeout.
    pub stall: Duration,
    /// A cut response carries at most this many bytes of its body before the cut.
    pub cut_within: u64,
    /// Break only requests whose target (path and query) contains this text: for example
    /// `X-Amz-Signature=`, the presigned downloads of a client, not the registry's own calls.
    /// The schedule then counts those requests alone: the same seed breaks the same ones of
    /// them, however many other requests pass between.
    pub only_targets_with: Option<&'static str>,
}

impl FaultPlan {
    /// A plan with `seed` and no faults yet.
    pub fn new(seed: u64) -> Self {
        FaultPlan {
            seed,
            busy_per_mille: 0,
            cut_per_mille: 0,
            stall_per_mille: 0,
            stall: Duration::from_secs(3),
            cut_within: 4 << 20,
            only_targets_with: None,
        }
    }

    /// Sets the rates, per mille of eligible requests.
    pub fn with_rates(mut self, busy: u32, cut: u32, stall: u32) -> Self {
        self.busy_per_mille = busy;
        self.cut_per_mille = cut;
        self.stall_per_mille = stall;
        self
    }

    /// Breaks only requests whose target contains `text`.
    pub fn only_targets_with(mut self, text: &'static str) -> Self {
        self.only_targets_with = Some(text);
        self
    }

    /// Sets how long a stall lasts.
    pub fn with_stall(mut self, stall: Duration) -> Self {
        self.stall = stall;
        self
    }
}

/// What the proxy did so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FaultCounts {
    /// Requests seen.
    pub requests: u64,
    /// Requests answered 503 or 429.
    pub busy: u64,
    /// Responses cut in the middle of their body (manifests included).
    pub cut: u64,
    /// Responses stalled.
    pub stalled: u64,
}

impl FaultCounts {
    /// Every fault injected.
    pub fn faults(&self) -> u64 {
        self.busy + self.cut + self.stalled
    }
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    /// Requests that passed `only_targets_with`, when the plan has it.
    chosen: AtomicU64,
    busy: AtomicU64,
    cut: AtomicU64,
    stalled: AtomicU64,
}

/// A running fault proxy. It stops accepting when dropped.
#[derive(Debug)]
pub struct FaultProxy {
    host: String,
    counters: Arc<CountersDebug>,
    stop: Arc<AtomicBool>,
}

struct CountersDebug(Counters);

impl std::fmt::Debug for CountersDebug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Counters")
    }
}

impl FaultProxy {
    /// Starts a proxy on a free loopback port in front of `upstream` (`127.0.0.1:PORT`).
    pub fn start(upstream: &str, plan: FaultPlan) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fault proxy");
        let host = listener.local_addr().expect("address").to_string();
        let counters = Arc::new(CountersDebug(Counters::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let upstream = upstream.to_owned();
        let (c, s) = (counters.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::Relaxed) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                let n = c.0.requests.fetch_add(1, Ordering::Relaxed);
                let (upstream, c) = (upstream.clone(), c.clone());
                std::thread::spawn(move || {
                    let _ = serve(conn, &upstream, plan, n, &c.0);
                });
            }
        });
        FaultProxy {
            host,
            counters,
            stop,
        }
    }

    /// `127.0.0.1:PORT`: point the client here instead of at the registry.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// What the proxy did so far.
    pub fn counts(&self) -> FaultCounts {
        let c = &self.counters.0;
        FaultCounts {
            requests: c.requests.load(Ordering::Relaxed),
            busy: c.busy.load(Ordering::Relaxed),
            cut: c.cut.load(Ordering::Relaxed),
            stalled: c.stalled.load(Ordering::Relaxed),
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accepting thread so it sees the flag.
        let _ = TcpStream::connect(&self.host);
    }
}

/// A number in 0..1000 for request `n` and `salt`, from the seed (splitmix64).
fn roll(seed: u64, n: u64, salt: u64) -> u32 {
    let mut z = seed
        .wrapping_add(n.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add(salt.wrapping_mul(0xD1B5_4A32_D192_ED03));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((z ^ (z >> 31)) % 1000) as u32
}

/// Reads up to the end of an HTTP head; returns the head and whatever followed it.
fn read_head(conn: &mut TcpStream) -> std::io::Result<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut piece = [0u8; 8192];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(end + 4);
            return Ok((String::from_utf8_lossy(&buf).into_owned(), rest));
        }
        if buf.len() > 1 << 20 {
            return Err(std::io::Error::other("head too long"));
        }
        let n = conn.read(&mut piece)?;
        if n == 0 {
            return Err(std::io::Error::other("closed before the head ended"));
        }
        buf.extend_from_slice(&piece[..n]);
    }
}

/// The head with `Connection: close`, whatever it said.
fn closing(head: &str) -> String {
    let mut lines: Vec<&str> = head
        .trim_end_matches("\r\n")
        .split("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .collect();
    lines.push("Connection: close");
    format!("{}\r\n\r\n", lines.join("\r\n"))
}

fn content_length(head: &str) -> Option<u64> {
    head.split("\r\n").find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case("content-length")
            .then(|| v.trim().parse().ok())?
    })
}

fn serve(
    mut client: TcpStream,
    upstream: &str,
    plan: FaultPlan,
    n: u64,
    c: &Counters,
) -> std::io::Result<()> {
    let (head, early_body) = read_head(&mut client)?;
    let method = head.split(' ').next().unwrap_or("").to_owned();
    let path = head.split(' ').nth(1).unwrap_or("").to_owned();
    // Only requests any client can send again are broken.
    let eligible = (matches!(method.as_str(), "GET" | "HEAD")
        || (method == "POST" && content_length(&head).unwrap_or(0) == 0))
        && plan.only_targets_with.is_none_or(|t| path.contains(t));
    // With a filter, the schedule counts only the requests it lets through: how many others
    // came first (a registry's own calls, whose number varies) does not change which are broken.
    let n = match plan.only_targets_with {
        Some(_) if eligible => c.chosen.fetch_add(1, Ordering::Relaxed),
        _ => n,
    };
    if eligible && roll(plan.seed, n, 1) < plan.busy_per_mille {
        c.busy.fetch_add(1, Ordering::Relaxed);
        let status = if roll(plan.seed, n, 2) < 500 {
            "503 Service Unavailable"
        } else {
            "429 Too Many Requests"
        };
        write!(
            client,
            "HTTP/1.1 {status}\r\nRetry-After: 0\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )?;
        return Ok(());
    }
    let mut server = TcpStream::connect(upstream)?;
    server.write_all(closing(&head).as_bytes())?;
    server.write_all(&early_body)?;
    // The rest of the request body, as the client sends it.
    let (mut from_client, mut to_server) = (client.try_clone()?, server.try_clone()?);
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from_client, &mut to_server);
        let _ = to_server.shutdown(Shutdown::Write);
    });
    let (response_head, first) = read_head(&mut server)?;
    if eligible && roll(plan.seed, n, 3) < plan.stall_per_mille {
        c.stalled.fetch_add(1, Ordering::Relaxed);
        std::thread::sleep(plan.stall);
        let _ = client.shutdown(Shutdown::Both);
        return Ok(());
    }
    let length = content_length(&response_head).unwrap_or(0);
    let manifest = path.contains("/manifests/");
    let cut_at = if eligible && method == "GET" && length > 1 && {
        roll(plan.seed, n, 4) < plan.cut_per_mille
    } {
        // Manifests lose their second half; blobs are cut anywhere inside.
        let at = if manifest {
            length / 2
        } else {
            1 + u64::from(roll(plan.seed, n, 5)) * (length - 1).min(plan.cut_within) / 1000
        };
        Some(at)
    } else {
        None
    };
    client.write_all(closing(&response_head).as_bytes())?;
    let mut sent = 0u64;
    let mut pending = first;
    let mut piece = vec![0u8; 64 * 1024];
    loop {
        if !pending.is_empty() {
            let take = match cut_at {
                Some(at) => (at - sent).min(pending.len() as u64) as usize,
                None => pending.len(),
            };
            client.write_all(&pending[..take])?;
            sent += take as u64;
            if cut_at.is_some_and(|at| sent >= at) {
                c.cut.fetch_add(1, Ordering::Relaxed);
                let _ = client.shutdown(Shutdown::Both);
                return Ok(());
            }
        }
        let got = server.read(&mut piece)?;
        if got == 0 {
            return Ok(());
        }
        pending = piece[..got].to_vec();
    }
}
