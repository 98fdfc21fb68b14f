//! The graph walk shared by every copy entry point.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::future::{BoxFuture, FutureExt, try_join_all};
use oci_digest::Digest;
use oci_spec_types::Descriptor;
use tokio::sync::{OnceCell, Semaphore};

use super::{CopyGraphOptions, CopyStats};
use crate::graph::{is_manifest, successors};
use crate::progress::ProgressEvent;
use crate::{BlobStream, Error, ErrorKind, ReadOnlyTarget, ReadOnlyTargetExt, Result, Target};

/// The outcome of one node, shared by everyone who needs it.
type NodeCell = Arc<OnceCell<Result<()>>>;

/// One copy's state: the nodes seen (so each moves once), the transfer limit and the counts.
pub(crate) struct Engine<'a> {
    src: &'a dyn ReadOnlyTarget,
    dst: &'a dyn Target,
    opts: &'a CopyGraphOptions,
    permits: Semaphore,
    nodes: Mutex<HashMap<Digest, NodeCell>>,
    copied: AtomicU64,
    skipped: AtomicU64,
    mounted: AtomicU64,
    bytes: AtomicU64,
}

impl<'a> Engine<'a> {
    pub(crate) fn new(
        src: &'a dyn ReadOnlyTarget,
        dst: &'a dyn Target,
        opts: &'a CopyGraphOptions,
    ) -> Self {
        Engine {
            src,
            dst,
            opts,
            permits: Semaphore::new(opts.concurrency.max(1)),
            nodes: Mutex::new(HashMap::new()),
            copied: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            mounted: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        }
    }

    pub(crate) fn stats(&self) -> CopyStats {
        CopyStats {
            copied: self.copied.load(Ordering::Relaxed),
            skipped: self.skipped.load(Ordering::Relaxed),
            mounted: self.mounted.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
        }
    }

    /// Copies `desc` and everything below it. Every caller asking for the same digest during
    /// this copy shares one transfer.
    ///
    /// The first caller runs the transfer; the others wait for its outcome. If the first
    /// caller's future is dropped, a waiting one takes over.
    pub(crate) fn node<'s>(&'s self, desc: &Descriptor) -> BoxFuture<'s, Result<()>> {
        let cell = {
            let mut nodes = self.nodes.lock().unwrap_or_else(|e| e.into_inner());
            nodes.entry(desc.digest.clone()).or_default().clone()
        };
        let desc = desc.clone();
        async move { cell.get_or_init(|| self.copy_node(desc)).await.clone() }.boxed()
    }

    fn emit(&self, event: ProgressEvent<'_>) {
        if let Some(sink) = &self.opts.progress {
            sink.event(&event);
        }
    }

    #[tracing::instrument(level = "debug", name = "copy.node", skip_all, fields(digest = %desc.digest, media_type = %desc.media_type, size = desc.size))]
    async fn copy_node(&self, desc: Descriptor) -> Result<()> {
        let result = self.copy_node_inner(&desc).await;
        if let Err(error) = &result {
            self.emit(ProgressEvent::Failed { desc: &desc, error });
        }
        result
    }

    async fn copy_node_inner(&self, desc: &Descriptor) -> Result<()> {
        let manifest = is_manifest(&desc.media_type);
        let exists = self.dst.exists(desc).await?;
        if exists && !(manifest && self.opts.repair) {
            self.skip(desc);
            return Ok(());
        }
        if !manifest {
            return self.copy_blob(desc).await;
        }

        let bytes = self.fetch_manifest(desc, exists).await?;
        let children = successors(desc, &bytes)?;
        try_join_all(children.iter().map(|c| self.node(c))).await?;
        if exists {
            self.skip(desc);
            return Ok(());
        }
        self.push_manifest(desc, bytes).await
    }

    fn skip(&self, desc: &Descriptor) {
        self.skipped.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(digest = %desc.digest, "skipped: destination has it");
        self.emit(ProgressEvent::Skipped { desc });
    }

    async fn fetch_manifest(&self, desc: &Descriptor, in_dst: bool) -> Result<Bytes> {
        let max = self.opts.max_manifest_bytes;
        let _permit = self.permits.acquire().await.map_err(closed)?;
        if in_dst {
            // Repairing: the destination's copy is as good as the source's and closer.
            if let Ok(bytes) = self.dst.fetch_bytes(desc, max).await {
                return Ok(bytes);
            }
        }
        self.src.fetch_bytes(desc, max).await
    }

    async fn push_manifest(&self, desc: &Descriptor, bytes: Bytes) -> Result<()> {
        let _permit = self.permits.acquire().await.map_err(closed)?;
        self.emit(ProgressEvent::Started { desc });
        let len = bytes.len() as u64;
        self.dst.push(desc, crate::bytes_stream(bytes)).await?;
        self.emit(ProgressEvent::Bytes {
            desc,
            transferred: len,
        });
        if self.opts.verify {
            let back = self
                .dst
                .fetch_bytes(desc, self.opts.max_manifest_bytes)
                .await?;
            if !desc.digest.matches(&back) {
                return Err(Error::new(
                    ErrorKind::DigestMismatch,
                    format!(
                        "the destination accepted {} but serves other bytes for it",
                        desc.digest
                    ),
                ));
            }
        }
        self.finish(desc, len);
        Ok(())
    }

    async fn copy_blob(&self, desc: &Descriptor) -> Result<()> {
        let _permit = self.permits.acquire().await.map_err(closed)?;
        if let Some(sources) = &self.opts.mount_from {
            for from in sources(desc) {
                match self.dst.mount(desc, &from).await {
                    Ok(true) => {
                        self.mounted.fetch_add(1, Ordering::Relaxed);
                        self.emit(ProgressEvent::Mounted { desc, from: &from });
                        return Ok(());
                    }
                    Ok(false) => {}
                    Err(e) if e.is_unsupported() => break,
                    Err(e) => {
                        tracing::debug!(digest = %desc.digest, %from, error = %e, "mount failed; transferring");
                    }
                }
            }
        }
        self.emit(ProgressEvent::Started { desc });
        let stream = self.src.fetch(desc).await?;
        let stream = self.counted(desc, stream);
        self.dst.push(desc, stream).await?;
        self.finish(desc, desc.size);
        Ok(())
    }

    fn finish(&self, desc: &Descriptor, len: u64) {
        self.copied.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(len, Ordering::Relaxed);
        tracing::debug!(digest = %desc.digest, size = len, "copied");
        self.emit(ProgressEvent::Done { desc });
    }

    /// Reports bytes as they pass, when someone listens.
    fn counted(&self, desc: &Descriptor, stream: BlobStream) -> BlobStream {
        let Some(sink) = self.opts.progress.clone() else {
            return stream;
        };
        crate::progress::report_bytes(desc, stream, sink)
    }
}

fn closed(_: tokio::sync::AcquireError) -> Error {
    Error::new(ErrorKind::Cancelled, "the copy was shut down")
}
