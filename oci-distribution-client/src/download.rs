//! Blob downloads that survive dropped connections, and that can use several connections.
//!
//! A download that breaks midway resumes with `Range: bytes=<received>-` from where it stopped:
//! after any break that followed progress, and up to the retry limit for breaks in a row without
//! progress; the verifier wraps the whole logical stream, so the blob is verified end
//! to end whatever the number of requests. A large blob can also come as fixed-size segments over
//! several connections at once, handed out in order: memory holds at most one segment per
//! connection.

use bytes::Bytes;
use derive_setters::Setters;
use futures_util::stream::{self, BoxStream};
use futures_util::{StreamExt, TryStreamExt};
use oci_spec_types::Descriptor;
use oci_target::{Error, ErrorKind, Result};
use reqwest::header::{ACCEPT_RANGES, CONTENT_LENGTH, CONTENT_RANGE, RANGE};
use reqwest::{Method, Response, StatusCode};

use crate::errors::{from_response, transport};
use crate::repository::Repository;

/// How large blobs are downloaded over several connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Setters)]
#[setters(prefix = "with_")]
#[non_exhaustive]
pub struct ParallelDownload {
    /// Connections at once (at least 1).
    #[setters(skip)]
    pub connections: usize,
    /// Bytes per request.
    #[setters(skip)]
    pub segment_size: u64,
    /// Blobs smaller than this use one connection.
    pub min_size: u64,
    /// The most bytes all connections together hold before they are handed out; segments are
    /// made smaller than `segment_size` when needed to stay under it (but not under 1 MiB).
    pub max_buffered: u64,
}

impl Default for ParallelDownload {
    fn default() -> Self {
        ParallelDownload {
            connections: 4,
            segment_size: 8 << 20,
            min_size: 64 << 20,
            max_buffered: 32 << 20,
        }
    }
}

impl ParallelDownload {
    /// `connections` at once, with the default segment size and threshold.
    pub fn with_connections(mut self, connections: usize) -> Self {
        self.connections = connections.max(1);
        self
    }

    /// Sets the segment size.
    pub fn with_segment_size(mut self, bytes: u64) -> Self {
        self.segment_size = bytes.max(1);
        self
    }

    /// The segment size used: `segment_size`, made smaller so that `connections` segments fit
    /// in `max_buffered` (but not made smaller than 1 MiB for that).
    pub fn effective_segment_size(&self) -> u64 {
        let share = self.max_buffered / self.connections.max(1) as u64;
        self.segment_size.min(share.max(1 << 20)).max(1)
    }
}

type Chunks = BoxStream<'static, Result<Bytes>>;

fn body_stream(response: Response, what: String) -> Chunks {
    response
        .bytes_stream()
        .map_err(move |e| transport(&what, e))
        .boxed()
}

impl Repository {
    /// GETs the blob, optionally from byte `from` or for `from..=to`.
    pub(crate) async fn get_blob(
        &self,
        desc: &Descriptor,
        range: Option<(u64, Option<u64>)>,
    ) -> Result<Response> {
        let what = format!("fetch blob {}/{}@{}", self.registry, self.name, desc.digest);
        let url = self.url(&format!("blobs/{}", desc.digest))?;
        let mut call = self.call(&what, self.pull_scopes(), Method::GET, url);
        if let Some((from, to)) = range {
            let spec = match to {
                Some(to) => format!("bytes={from}-{to}"),
                None => format!("bytes={from}-"),
            };
            call = call.header(RANGE, &spec);
        }
        let response = self.inner.send(call).await?;
        if !response.status().is_success() {
            return Err(from_response(&what, response).await);
        }
        if let Some((from, _)) = range
            && from > 0
            && response.status() != StatusCode::PARTIAL_CONTENT
        {
            return Err(Error::new(
                ErrorKind::Transport,
                format!("{what}: asked for bytes from {from} but the registry sent the whole blob"),
            ));
        }
        if let Some((from, _)) = range
            && response.status() == StatusCode::PARTIAL_CONTENT
        {
            let start = response
                .headers()
                .get(CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("bytes "))
                .and_then(|v| v.split('-').next())
                .and_then(|v| v.parse::<u64>().ok());
            if start != Some(from) {
                return Err(Error::new(
                    ErrorKind::Transport,
                    format!(
                        "{what}: asked for bytes from {from}, the registry's Content-Range says {start:?}"
                    ),
                ));
            }
        }
        Ok(response)
    }

    /// The blob's bytes as one stream, resuming with `Range` after a broken connection. The
    /// caller verifies.
    pub(crate) async fn resumable_blob(&self, desc: &Descriptor) -> Result<Chunks> {
        let first = self.get_blob(desc, None).await?;
        if let Some(len) = first
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            && len != desc.size
        {
            return Err(Error::new(
                ErrorKind::SizeMismatch,
                format!(
                    "fetch blob {}: the registry serves {len} bytes, the descriptor says {}",
                    desc.digest, desc.size
                ),
            ));
        }
        let ranges = first
            .headers()
            .get(ACCEPT_RANGES)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("bytes"));
        if let Some(parallel) = self.inner.config.parallel_download
            && ranges
            && parallel.connections > 1
            && desc.size >= parallel.min_size
        {
            drop(first);
            return Ok(self.parallel_blob(desc, parallel));
        }
        let what = format!("fetch blob {}/{}@{}", self.registry, self.name, desc.digest);
        let max_resumes = self.inner.config.retry.max_retries;
        struct State {
            repo: Repository,
            desc: Descriptor,
            current: Chunks,
            received: u64,
            /// Breaks in a row with no byte received in between.
            resumes: u32,
            at_last_break: u64,
            done: bool,
        }
        let state = State {
            repo: self.clone(),
            desc: desc.clone(),
            current: body_stream(first, what),
            received: 0,
            resumes: 0,
            at_last_break: 0,
            done: false,
        };
        Ok(stream::unfold(state, move |mut s| async move {
            if s.done {
                return None;
            }
            loop {
                match s.current.next().await {
                    Some(Ok(chunk)) => {
                        s.received += chunk.len() as u64;
                        return Some((Ok(chunk), s));
                    }
                    None => return None,
                    Some(Err(e)) => {
                        let resumable = e.kind() == ErrorKind::Transport || e.kind() == ErrorKind::Cancelled;
                        // Every break after progress may resume; breaks in a row without any
                        // progress count against the retry policy.
                        if s.received > s.at_last_break {
                            s.resumes = 0;
                        }
                        s.at_last_break = s.received;
                        if !resumable || s.resumes >= max_resumes || s.received >= s.desc.size {
                            s.done = true;
                            return Some((Err(e), s));
                        }
                        s.resumes += 1;
                        tracing::debug!(digest = %s.desc.digest, received = s.received, resume = s.resumes, error = %e, "resuming blob download");
                        match s.repo.get_blob(&s.desc, Some((s.received, None))).await {
                            Ok(r) => {
                                let what = format!("fetch blob {}@{}", s.repo.name, s.desc.digest);
                                s.current = body_stream(r, what);
                            }
                            Err(e) => {
                                s.done = true;
                                return Some((Err(e), s));
                            }
                        }
                    }
                }
            }
        })
        .boxed())
    }

    /// Segments over several connections, in order. A segment is kept as the pieces it arrived
    /// in (never copied into one buffer), and segments are sized so that all connections
    /// together hold at most `max_buffered` bytes.
    fn parallel_blob(&self, desc: &Descriptor, parallel: ParallelDownload) -> Chunks {
        let size = desc.size;
        let seg = parallel.effective_segment_size();
        let segments = size.div_ceil(seg);
        let repo = self.clone();
        let desc = desc.clone();
        stream::iter(0..segments)
            .map(move |i| {
                let repo = repo.clone();
                let desc = desc.clone();
                async move {
                    let from = i * seg;
                    let to = (from + seg).min(size) - 1;
                    repo.segment(&desc, from, to).await
                }
            })
            .buffered(parallel.connections)
            .map_ok(|pieces| stream::iter(pieces.into_iter().map(Ok)))
            .try_flatten()
            .boxed()
    }

    /// One segment, whole, retried on a broken connection.
    async fn segment(&self, desc: &Descriptor, from: u64, to: u64) -> Result<Vec<Bytes>> {
        let want = to - from + 1;
        let mut attempt = 0;
        loop {
            let result = async {
                let response = self.get_blob(desc, Some((from, Some(to)))).await?;
                if response.status() != StatusCode::PARTIAL_CONTENT {
                    return Err(Error::new(
                        ErrorKind::Transport,
                        format!(
                            "the registry ignored the range {from}-{to} of {}",
                            desc.digest
                        ),
                    ));
                }
                if let Some(len) = response
                    .headers()
                    .get(CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
                    && len != want
                {
                    return Err(Error::new(
                        ErrorKind::SizeMismatch,
                        format!("range {from}-{to} of {} came as {len} bytes", desc.digest),
                    ));
                }
                let what = format!("fetch range {from}-{to} of {}", desc.digest);
                let mut pieces = Vec::new();
                let mut got = 0u64;
                let mut body = response.bytes_stream();
                while let Some(piece) = body.next().await {
                    let piece = piece.map_err(|e| transport(&what, e))?;
                    got += piece.len() as u64;
                    if got > want {
                        break;
                    }
                    pieces.push(piece);
                }
                Ok::<_, Error>((pieces, got))
            }
            .await;
            match result {
                Ok((pieces, got)) if got == want => return Ok(pieces),
                Ok((_, got)) => {
                    return Err(Error::new(
                        ErrorKind::SizeMismatch,
                        format!(
                            "range {from}-{to} of {} came as {}{got} bytes",
                            desc.digest,
                            if got > want { "more than " } else { "" }
                        ),
                    ));
                }
                Err(e)
                    if e.kind() == ErrorKind::Transport
                        && attempt < self.inner.config.retry.max_retries =>
                {
                    attempt += 1;
                    tracing::debug!(digest = %desc.digest, from, to, attempt, error = %e, "retrying a segment");
                }
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ParallelDownload;

    #[test]
    fn segments_shrink_so_all_connections_fit_the_memory_bound() {
        let p = ParallelDownload::default();
        assert_eq!(p.with_connections(4).effective_segment_size(), 8 << 20);
        assert_eq!(p.with_connections(8).effective_segment_size(), 4 << 20);
        assert_eq!(
            p.with_connections(64).effective_segment_size(),
            1 << 20,
            "floor"
        );
        assert_eq!(
            p.with_connections(8)
                .with_segment_size(1000)
                .effective_segment_size(),
            1000,
            "a small segment stays small"
        );
        assert_eq!(
            p.with_connections(2)
                .with_max_buffered(64 << 20)
                .effective_segment_size(),
            8 << 20
        );
    }
}
