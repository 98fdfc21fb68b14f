//! The graph walk shared by every copy entry point.
//!
//! The walk keeps its own work list instead of recursing, so a graph nested as deep as a hostile
//! source likes costs heap, bounded by the depth and node limits, never stack. One loop owns the
//! state: it starts at most `concurrency` jobs at a time, every request of a job counted in it,
//! and as jobs finish it schedules what they made ready. A visit asks whether the destination
//! has the node; a missing blob is copied by that same job, a manifest's children join the walk
//! and the manifest is pushed by a job of its own once every child is done, so children always
//! land before their parents. Nothing below a manifest the destination has is visited.
//!
//! Into a store whose writes are local ([`Target::writes_locally`]), `concurrency` counts the
//! source's requests only: a job gives its turn back once the source's answer is read, and
//! finishes the write (and its sync) while other jobs fetch. A bounded backlog of such jobs,
//! [`LOCAL_BACKLOG`] per request, keeps the memory of content read and not yet written small.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;
use oci_digest::Digest;
use oci_spec_types::Descriptor;

use super::{CopyGraphOptions, CopyStats};
use crate::graph::{is_manifest, successors};
use crate::progress::ProgressEvent;
use crate::{BlobStream, Error, ErrorKind, ReadOnlyTarget, ReadOnlyTargetExt, Result, Target};

/// Jobs a copy into a local store runs per request it may have open: the rest read content the
/// source has answered with, or write and sync it. A store that makes many small writes durable
/// with one shared sync (the layout does) needs enough of them waiting at once for the sync to
/// cover many: at 8 per request a copy of small blobs from a fast registry waited on the syncs,
/// at 16 it did not. The content waiting is the small blobs' (a larger one streams to a file).
pub(crate) const LOCAL_BACKLOG: usize = 16;

/// One copy's state across calls: what is done (so each node moves once), and the counts.
pub(crate) struct Engine<'a> {
    src: &'a dyn ReadOnlyTarget,
    dst: &'a dyn Target,
    opts: &'a CopyGraphOptions,
    /// Turns for the source's requests when the destination writes locally (`None`: every job
    /// holds its turn throughout, the number of jobs being the limit).
    requests: Option<Arc<tokio::sync::Semaphore>>,
    done: Mutex<HashSet<Digest>>,
    copied: AtomicU64,
    skipped: AtomicU64,
    mounted: AtomicU64,
    bytes: AtomicU64,
}

/// What a visit found out about a node.
enum Visit {
    /// Nothing more to do: the destination had it (and it is not being repaired), or the visit
    /// copied the blob itself.
    Done,
    /// A manifest: its bytes, its children, and whether it must be pushed once they are done
    /// (false when repairing a manifest the destination already has).
    Manifest {
        bytes: Bytes,
        children: Vec<Descriptor>,
        push: bool,
    },
}

/// A node of this walk that is not finished yet.
struct Node {
    desc: Descriptor,
    depth: u64,
    /// Manifests waiting for this node.
    parents: Vec<Digest>,
    /// Children not finished yet.
    pending: usize,
    /// What to do once `pending` is zero: push these bytes (`Some`) or nothing more (`None`).
    push: Option<Bytes>,
    visited: bool,
}

enum Job {
    Visit(Descriptor),
    Manifest(Descriptor, Bytes),
}

type JobFuture<'s> = BoxFuture<'s, (Digest, Result<Option<Visit>>)>;

impl<'a> Engine<'a> {
    pub(crate) fn new(
        src: &'a dyn ReadOnlyTarget,
        dst: &'a dyn Target,
        opts: &'a CopyGraphOptions,
    ) -> Self {
        let requests = dst
            .writes_locally()
            .then(|| Arc::new(tokio::sync::Semaphore::new(opts.concurrency.max(1))));
        Engine {
            src,
            dst,
            opts,
            requests,
            done: Mutex::new(HashSet::new()),
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

    fn is_done(&self, digest: &Digest) -> bool {
        self.done
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(digest)
    }

    fn done_count(&self) -> usize {
        self.done.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Copies each of `roots` and everything below them, at most `concurrency` jobs at a time.
    /// Nodes an earlier call of this engine finished are not visited again.
    ///
    /// # Errors
    ///
    /// The first error of any job; [`ErrorKind::SizeLimitExceeded`] naming `graph-depth` or
    /// `graph-nodes` when the graph is deeper or larger than the limits allow.
    pub(crate) async fn copy_roots(&self, roots: &[Descriptor]) -> Result<()> {
        let mut walk = Walk {
            nodes: HashMap::new(),
            visits: VecDeque::new(),
            ready: VecDeque::new(),
        };
        for root in roots {
            self.add(&mut walk, root, 0, None)?;
        }
        let limit = match self.requests {
            Some(_) => self.opts.concurrency.max(1) * LOCAL_BACKLOG,
            None => self.opts.concurrency.max(1),
        };
        let mut running: FuturesUnordered<JobFuture<'_>> = FuturesUnordered::new();
        loop {
            while running.len() < limit {
                // Finishing work first frees memory and unblocks parents; visits widen the walk.
                let Some(job) = walk.ready.pop_front().or_else(|| walk.visits.pop_front()) else {
                    break;
                };
                running.push(self.run(job));
            }
            let Some((digest, outcome)) = running.next().await else {
                break;
            };
            match outcome? {
                Some(visit) => self.visited(&mut walk, &digest, visit)?,
                None => self.finished(&mut walk, &digest),
            }
        }
        if let Some(stuck) = walk.nodes.values().next() {
            // Only a store that serves content under a digest it does not hash to could make
            // a node wait on itself; every fetch is verified, so this is a defect, not input.
            return Err(Error::new(
                ErrorKind::InvalidManifest,
                format!(
                    "the graph under {} refers back to itself",
                    stuck.desc.digest
                ),
            ));
        }
        Ok(())
    }

    /// Adds `desc` to the walk below `parent`, unless it is done or already in the walk.
    fn add(
        &self,
        walk: &mut Walk,
        desc: &Descriptor,
        depth: u64,
        parent: Option<&Digest>,
    ) -> Result<()> {
        if self.is_done(&desc.digest) {
            return Ok(());
        }
        if let Some(node) = walk.nodes.get_mut(&desc.digest) {
            if let Some(p) = parent {
                node.parents.push(p.clone());
                walk.nodes
                    .get_mut(p)
                    .expect("a parent is in the walk")
                    .pending += 1;
            }
            return Ok(());
        }
        let limits = &self.opts.limits;
        limits.check(
            "graph-depth",
            depth,
            format_args!("copy of {}", desc.digest),
        )?;
        let count = (walk.nodes.len() + self.done_count() + 1) as u64;
        limits.check(
            "graph-nodes",
            count,
            format_args!("copy of {}", desc.digest),
        )?;
        walk.nodes.insert(
            desc.digest.clone(),
            Node {
                desc: desc.clone(),
                depth,
                parents: parent.into_iter().cloned().collect(),
                pending: 0,
                push: None,
                visited: false,
            },
        );
        if let Some(p) = parent {
            walk.nodes
                .get_mut(p)
                .expect("a parent is in the walk")
                .pending += 1;
        }
        walk.visits.push_back(Job::Visit(desc.clone()));
        Ok(())
    }

    /// Acts on what a visit found.
    fn visited(&self, walk: &mut Walk, digest: &Digest, visit: Visit) -> Result<()> {
        let node = walk
            .nodes
            .get_mut(digest)
            .expect("a visited node is in the walk");
        node.visited = true;
        let depth = node.depth;
        match visit {
            Visit::Done => self.finished(walk, digest),
            Visit::Manifest {
                bytes,
                children,
                push,
            } => {
                if push {
                    node.push = Some(bytes);
                }
                for child in &children {
                    self.add(walk, child, depth + 1, Some(digest))?;
                }
                self.schedule_if_ready(walk, digest);
            }
        }
        Ok(())
    }

    /// Schedules the push of a visited manifest whose children are all finished, or finishes
    /// it at once when there is nothing to push.
    fn schedule_if_ready(&self, walk: &mut Walk, digest: &Digest) {
        let node = walk.nodes.get_mut(digest).expect("a node is in the walk");
        if !node.visited || node.pending > 0 {
            return;
        }
        match node.push.take() {
            Some(bytes) => walk
                .ready
                .push_back(Job::Manifest(node.desc.clone(), bytes)),
            None => self.finished(walk, digest),
        }
    }

    /// Records a finished node and wakes the parents it was the last child of.
    fn finished(&self, walk: &mut Walk, digest: &Digest) {
        self.done
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(digest.clone());
        // Finishing a node may finish its parents, and theirs: a work list, not recursion.
        let mut finished = vec![digest.clone()];
        while let Some(digest) = finished.pop() {
            let Some(node) = walk.nodes.remove(&digest) else {
                continue;
            };
            for parent in node.parents {
                let Some(p) = walk.nodes.get_mut(&parent) else {
                    continue;
                };
                p.pending -= 1;
                if !p.visited || p.pending > 0 {
                    continue;
                }
                match p.push.take() {
                    Some(bytes) => walk.ready.push_back(Job::Manifest(p.desc.clone(), bytes)),
                    None => {
                        self.done
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert(parent.clone());
                        finished.push(parent);
                    }
                }
            }
        }
    }

    fn run(&self, job: Job) -> JobFuture<'_> {
        Box::pin(async move {
            let (desc, result) = match job {
                Job::Visit(desc) => {
                    let r = self.visit(&desc).await.map(Some);
                    (desc, r)
                }
                Job::Manifest(desc, bytes) => {
                    let r = self.push_manifest(&desc, bytes).await.map(|()| None);
                    (desc, r)
                }
            };
            if let Err(error) = &result {
                self.emit(ProgressEvent::Failed { desc: &desc, error });
            }
            (desc.digest, result)
        })
    }

    fn emit(&self, event: ProgressEvent<'_>) {
        if let Some(sink) = &self.opts.progress {
            sink.event(&event);
        }
    }

    #[tracing::instrument(level = "debug", name = "copy.visit", skip_all, fields(digest = %desc.digest, media_type = %desc.media_type, size = desc.size))]
    async fn visit(&self, desc: &Descriptor) -> Result<Visit> {
        let manifest = is_manifest(&desc.media_type);
        if !manifest && self.opts.mount_from.is_none() {
            // One call: the destination asks itself whether it has the blob, and reads the
            // source only if not (a registry does both in fewer requests than two calls).
            // The source's check travels with the content: the destination need not hash it
            // again.
            let open: crate::OpenContent<'_> = Box::pin(async move {
                self.emit(ProgressEvent::Started { desc });
                let content = self.fetch_source(desc).await?;
                Ok(content.wrapped(|stream| self.counted(desc, stream)))
            });
            if self.dst.push_absent(desc, open).await? {
                self.finish(desc, desc.size);
            } else {
                self.skip(desc);
            }
            return Ok(Visit::Done);
        }
        let exists = self.dst.exists(desc).await?;
        if exists && !(manifest && self.opts.repair) {
            self.skip(desc);
            return Ok(Visit::Done);
        }
        if !manifest {
            // A blob is copied by the job that found it missing: no second turn in the queue.
            self.copy_blob(desc).await?;
            return Ok(Visit::Done);
        }
        let bytes = self.fetch_manifest(desc, exists).await?;
        let children = successors(desc, &bytes)?;
        if exists {
            self.skip(desc);
        }
        Ok(Visit::Manifest {
            bytes,
            children,
            push: !exists,
        })
    }

    fn skip(&self, desc: &Descriptor) {
        self.skipped.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(digest = %desc.digest, "skipped: destination has it");
        self.emit(ProgressEvent::Skipped { desc });
    }

    async fn fetch_manifest(&self, desc: &Descriptor, in_dst: bool) -> Result<Bytes> {
        let max = self.opts.limits.manifest_bytes;
        if in_dst {
            // Repairing: the destination's copy is as good as the source's and closer.
            if let Ok(bytes) = self.dst.fetch_bytes(desc, max).await {
                return Ok(bytes);
            }
        }
        let _turn = self.turn().await?;
        self.src.fetch_bytes(desc, max).await
    }

    /// Waits for a turn to send the source a request, when turns are counted apart from jobs.
    async fn turn(&self) -> Result<Option<tokio::sync::OwnedSemaphorePermit>> {
        let Some(requests) = &self.requests else {
            return Ok(None);
        };
        let permit = requests
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Error::new(ErrorKind::Io, "the copy's request turns were closed"))?;
        Ok(Some(permit))
    }

    /// Fetches `desc` from the source in a turn of its own, given back once the content is read
    /// to its end (or the stream fails or is dropped), with the source's check in the type.
    async fn fetch_source(&self, desc: &Descriptor) -> Result<crate::Verified> {
        let Some(turn) = self.turn().await? else {
            return self.src.fetch_verified(desc).await;
        };
        let content = self.src.fetch_verified(desc).await?;
        Ok(content.wrapped(|stream| crate::ext::holding(stream, turn)))
    }

    async fn push_manifest(&self, desc: &Descriptor, bytes: Bytes) -> Result<()> {
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
                .fetch_bytes(desc, self.opts.limits.manifest_bytes)
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
        let stream = self.fetch_source(desc).await?.into_stream();
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

/// The state of one [`Engine::copy_roots`] call.
struct Walk {
    nodes: HashMap<Digest, Node>,
    visits: VecDeque<Job>,
    ready: VecDeque<Job>,
}
