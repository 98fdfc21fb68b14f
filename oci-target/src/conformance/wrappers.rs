//! A wrapper around a store that counts what passes and injects faults, for tests of code that uses
//! stores (the copy engine, a CLI) and of stores themselves.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use oci_digest::Digest;
use oci_spec_types::{Descriptor, MediaType};

use crate::{BlobStream, Error, ErrorKind, ReadOnlyTarget, Result, Target};

/// A store wrapped to count what passes (per digest, and pushes and fetches in flight at once)
/// and to misbehave on purpose as its [`Faults`] say; without faults it only counts.
#[derive(Debug, Default)]
pub struct Instrumented<T> {
    inner: T,
    faults: Faults,
    fetches: Mutex<HashMap<Digest, usize>>,
    pushes: Mutex<HashMap<Digest, usize>>,
    push_calls: AtomicUsize,
    exists_calls: AtomicUsize,
    pushing: Gauge,
    /// Fetches whose content has not been read to its end (or dropped) yet.
    fetching: Arc<Gauge>,
}

/// How many of something are under way, and the most there were at once.
#[derive(Debug, Default)]
struct Gauge {
    now: AtomicUsize,
    max: AtomicUsize,
}

impl Gauge {
    fn enter(&self) {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(now, Ordering::SeqCst);
    }

    fn leave(&self) {
        self.now.fetch_sub(1, Ordering::SeqCst);
    }

    fn max(&self) -> usize {
        self.max.load(Ordering::SeqCst)
    }
}

impl<T> Instrumented<T> {
    /// Wraps `inner`, counting and injecting nothing.
    pub fn new(inner: T) -> Self {
        Instrumented {
            inner,
            faults: Faults::default(),
            fetches: Mutex::default(),
            pushes: Mutex::default(),
            push_calls: AtomicUsize::new(0),
            exists_calls: AtomicUsize::new(0),
            pushing: Gauge::default(),
            fetching: Arc::default(),
        }
    }

    /// Injects `faults`.
    pub fn with_faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }

    /// The wrapped store.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// How often `digest` was fetched.
    pub fn fetches(&self, digest: &Digest) -> usize {
        lock(&self.fetches).get(digest).copied().unwrap_or(0)
    }

    /// How often `digest` was pushed.
    pub fn pushes(&self, digest: &Digest) -> usize {
        lock(&self.pushes).get(digest).copied().unwrap_or(0)
    }

    /// Fetches of all digests.
    pub fn total_fetches(&self) -> usize {
        lock(&self.fetches).values().sum()
    }

    /// Pushes of all digests.
    pub fn total_pushes(&self) -> usize {
        lock(&self.pushes).values().sum()
    }

    /// Every digest pushed more than once.
    pub fn pushed_twice(&self) -> Vec<Digest> {
        more_than_once(&self.pushes)
    }

    /// Every digest fetched more than once.
    pub fn fetched_twice(&self) -> Vec<Digest> {
        more_than_once(&self.fetches)
    }

    /// Calls of `exists`.
    pub fn exists_calls(&self) -> usize {
        self.exists_calls.load(Ordering::Relaxed)
    }

    /// The most pushes that were in flight at once.
    pub fn max_pushes_in_flight(&self) -> usize {
        self.pushing.max()
    }

    /// The most fetches whose content was still being read at once.
    pub fn max_fetches_in_flight(&self) -> usize {
        self.fetching.max()
    }
}

fn lock<V>(m: &Mutex<V>) -> std::sync::MutexGuard<'_, V> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn more_than_once(counts: &Mutex<HashMap<Digest, usize>>) -> Vec<Digest> {
    lock(counts)
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(d, _)| d.clone())
        .collect()
}

#[async_trait]
impl<T: ReadOnlyTarget> ReadOnlyTarget for Instrumented<T> {
    async fn fetch(&self, desc: &Descriptor) -> Result<BlobStream> {
        *lock(&self.fetches).entry(desc.digest.clone()).or_default() += 1;
        let mut stream = self.inner.fetch(desc).await?;
        stream = counted(stream, self.fetching.clone());
        if let Some(chunk) = self.faults.chunk {
            stream = rechunk(stream, chunk);
        }
        if self.faults.corrupt.contains(&desc.digest) {
            // Read it all, flip the last byte, hand it out unverified.
            let mut buf = BytesMut::new();
            while let Some(c) = stream.next().await {
                buf.extend_from_slice(&c?);
            }
            if let Some(last) = buf.last_mut() {
                *last ^= 0xff;
            } else {
                buf.extend_from_slice(b"x");
            }
            stream = crate::bytes_stream(buf.freeze());
        }
        if let Some((digests, limit)) = &self.faults.cut_after
            && digests.contains(&desc.digest)
        {
            stream = cut(stream, *limit);
        }
        if let Some(delay) = self.faults.delay {
            stream = Box::pin(stream.then(move |item| async move {
                tokio::time::sleep(delay).await;
                item
            }));
        }
        Ok(stream)
    }
    async fn exists(&self, desc: &Descriptor) -> Result<bool> {
        self.exists_calls.fetch_add(1, Ordering::Relaxed);
        self.inner.exists(desc).await
    }
    async fn resolve(&self, reference: &str) -> Result<Descriptor> {
        self.inner.resolve(reference).await
    }
    async fn describe(&self, digest: &oci_digest::Digest) -> Result<Descriptor> {
        self.inner.describe(digest).await
    }
    async fn tags(&self) -> Result<Vec<String>> {
        self.inner.tags().await
    }
    async fn referrers(
        &self,
        subject: &Descriptor,
        artifact_type: Option<&MediaType>,
    ) -> Result<Vec<Descriptor>> {
        self.inner.referrers(subject, artifact_type).await
    }
}

impl<T: Target> Instrumented<T> {
    /// Pushes with the latencies the faults ask for.
    async fn push_slowly(&self, desc: &Descriptor, mut content: BlobStream) -> Result<()> {
        if let Some(latency) = self.faults.push_latency
            && !latency.is_zero()
        {
            // (A zero sleep would still wait for the timer's next tick.)
            tokio::time::sleep(latency).await;
        }
        if let Some(latency) = self.faults.write_latency {
            let mut read = BytesMut::new();
            while let Some(chunk) = content.next().await {
                read.extend_from_slice(&chunk?);
            }
            tokio::time::sleep(latency).await;
            content = crate::bytes_stream(read.freeze());
        }
        self.inner.push(desc, content).await
    }
}

#[async_trait]
impl<T: Target> Target for Instrumented<T> {
    async fn push(&self, desc: &Descriptor, content: BlobStream) -> Result<()> {
        *lock(&self.pushes).entry(desc.digest.clone()).or_default() += 1;
        let n = self.push_calls.fetch_add(1, Ordering::SeqCst) + 1;
        if self.faults.fail_pushes.contains(&n) {
            return Err(Error::new(
                ErrorKind::Transport,
                format!("injected failure of push #{n} ({})", desc.digest),
            ));
        }
        self.pushing.enter();
        let result = self.push_slowly(desc, content).await;
        self.pushing.leave();
        result
    }
    async fn push_stream(&self, new: &crate::Unhashed, content: BlobStream) -> Result<Descriptor> {
        self.push_calls.fetch_add(1, Ordering::SeqCst);
        let desc = self.inner.push_stream(new, content).await?;
        *lock(&self.pushes).entry(desc.digest.clone()).or_default() += 1;
        Ok(desc)
    }
    async fn tag(&self, desc: &Descriptor, reference: &str) -> Result<()> {
        self.inner.tag(desc, reference).await
    }
    async fn delete(&self, desc: &Descriptor) -> Result<()> {
        self.inner.delete(desc).await
    }
    async fn untag(&self, reference: &str) -> Result<()> {
        self.inner.untag(reference).await
    }
    async fn mount(&self, desc: &Descriptor, from_repository: &str) -> Result<bool> {
        self.inner.mount(desc, from_repository).await
    }
    fn writes_locally(&self) -> bool {
        !self.faults.remote && self.inner.writes_locally()
    }
}

/// Faults an [`Instrumented`] store injects.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Faults {
    /// The pushes (counted from 1, across all digests) that fail with a transport error before
    /// reading any content.
    pub fail_pushes: Vec<usize>,
    /// Fetches of these digests hand out wrong bytes (the last byte flipped), unverified.
    pub corrupt: Vec<Digest>,
    /// Fetches of these digests stop with a transport error after this many bytes.
    pub cut_after: Option<(Vec<Digest>, u64)>,
    /// A pause before each fetched chunk.
    pub delay: Option<Duration>,
    /// Fetched content comes in chunks of at most this many bytes (so a delay applies often).
    pub chunk: Option<usize>,
    /// A pause before each push, as a store across a network takes.
    pub push_latency: Option<Duration>,
    /// A pause after each push has read its content and before it stores it, as a store that
    /// syncs to disk takes.
    pub write_latency: Option<Duration>,
    /// The store counts as one across a network ([`Target::writes_locally`] is `false`),
    /// whatever it wraps.
    pub remote: bool,
}

impl Faults {
    /// Fails the `n`th push (counted from 1).
    pub fn fail_push(mut self, n: usize) -> Self {
        self.fail_pushes.push(n);
        self
    }

    /// Corrupts fetches of `digest`.
    pub fn corrupt(mut self, digest: Digest) -> Self {
        self.corrupt.push(digest);
        self
    }

    /// Cuts fetches of `digests` after `bytes` bytes.
    pub fn cut_after(mut self, digests: Vec<Digest>, bytes: u64) -> Self {
        self.cut_after = Some((digests, bytes));
        self
    }

    /// Pauses `latency` before each push.
    pub fn push_latency(mut self, latency: Duration) -> Self {
        self.push_latency = Some(latency);
        self
    }

    /// Pauses `latency` after each push has read its content.
    pub fn write_latency(mut self, latency: Duration) -> Self {
        self.write_latency = Some(latency);
        self
    }

    /// Makes the store count as one across a network.
    pub fn remote(mut self) -> Self {
        self.remote = true;
        self
    }

    /// Pauses `delay` before each fetched chunk of at most `chunk` bytes.
    pub fn slow(mut self, delay: Duration, chunk: usize) -> Self {
        self.delay = Some(delay);
        self.chunk = Some(chunk.max(1));
        self
    }
}

/// Counts `stream` in `gauge` until it ends, fails or is dropped.
fn counted(stream: BlobStream, gauge: Arc<Gauge>) -> BlobStream {
    struct Leave(Arc<Gauge>);
    impl Drop for Leave {
        fn drop(&mut self) {
            self.0.leave();
        }
    }
    gauge.enter();
    crate::ext::holding(stream, Leave(gauge))
}

fn rechunk(stream: BlobStream, size: usize) -> BlobStream {
    Box::pin(
        stream
            .map(move |item| {
                let pieces: Vec<Result<Bytes>> = match item {
                    Ok(b) => (0..b.len().div_ceil(size))
                        .map(|i| Ok(b.slice(i * size..((i + 1) * size).min(b.len()))))
                        .collect(),
                    Err(e) => vec![Err(e)],
                };
                futures_util::stream::iter(pieces)
            })
            .flatten(),
    )
}

fn cut(stream: BlobStream, limit: u64) -> BlobStream {
    let mut passed = 0u64;
    Box::pin(stream.scan(false, move |stopped, item| {
        if *stopped {
            return futures_util::future::ready(None);
        }
        let out = match item {
            Ok(b) if passed + b.len() as u64 > limit => {
                *stopped = true;
                Err(Error::new(
                    ErrorKind::Transport,
                    format!("injected: connection dropped after {limit} bytes"),
                ))
            }
            Ok(b) => {
                passed += b.len() as u64;
                Ok(b)
            }
            Err(e) => Err(e),
        };
        futures_util::future::ready(Some(out))
    }))
}
