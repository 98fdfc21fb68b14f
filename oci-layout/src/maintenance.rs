//! Garbage collection and consistency checks.
//!
//! GC keeps what tagged roots reach, and the referrers of anything kept (recursively), and
//! removes the rest: unreachable blobs, untagged referrer entries whose subject is gone, and
//! staging files no push is writing. A grace period spares anything written recently, so a copy
//! in progress (whose blobs are not yet tagged) is never collected under it.
//!
//! fsck reads everything: each blob's content against its name, each reference from
//! `index.json` down against what is stored, and reports every problem it finds.

use derive_setters::Setters;
use std::collections::{BTreeSet, HashSet, VecDeque};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use oci_digest::{Digest, Verifier};
use oci_spec_types::{Descriptor, ImageIndex, MediaType};
use oci_target::graph::{self, Links};
use oci_target::{Error, ErrorKind, Result};

use crate::OciLayout;
use crate::index::ref_name;
use crate::paths::{self, Found};

/// How GC runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Setters)]
#[setters(prefix = "with_")]
#[non_exhaustive]
pub struct GcOptions {
    /// List what would go, remove nothing.
    pub dry_run: bool,
    /// Spare blobs and staging files modified more recently than this. Default 10 minutes.
    pub grace: Duration,
}

impl Default for GcOptions {
    fn default() -> Self {
        GcOptions {
            dry_run: false,
            grace: Duration::from_secs(600),
        }
    }
}

impl GcOptions {}

/// What GC removed, or would remove in a dry run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GcReport {
    /// Blobs no root reaches.
    pub blobs: Vec<Digest>,
    /// Untagged index entries (referrers whose subject is gone).
    pub entries: Vec<Digest>,
    /// Stale staging files.
    pub staging: Vec<PathBuf>,
    /// Bytes freed.
    pub bytes: u64,
}

/// One problem fsck found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// A descriptor points at a blob the layout does not have.
    Missing {
        /// The missing content.
        digest: Digest,
        /// Who refers to it (`index.json`, or a manifest's digest).
        referenced_by: String,
    },
    /// A blob's size differs from a descriptor that refers to it.
    SizeMismatch {
        /// The blob.
        digest: Digest,
        /// The size the descriptor says.
        expected: u64,
        /// The size on disk.
        actual: u64,
    },
    /// A blob's content does not hash to its name.
    DigestMismatch {
        /// The blob's name.
        digest: Digest,
        /// What its content hashes to.
        actual: Digest,
    },
    /// A manifest that cannot be read as one.
    InvalidManifest {
        /// The manifest.
        digest: Digest,
        /// Why.
        reason: String,
    },
    /// A file under `blobs/` whose name is not a digest.
    StrayFile {
        /// Its path.
        path: PathBuf,
    },
    /// A link, or something other than a directory or a regular file, where the layout keeps
    /// its own directories or blobs. Never followed: reads refuse it and GC leaves it alone.
    Unsafe {
        /// Its path.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

fn older_than(meta: &std::fs::Metadata, grace: Duration) -> bool {
    meta.modified()
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|age| age >= grace)
}

/// The links of a manifest blob, read and verified; `None` when it is not there.
fn links_of(layout: &OciLayout, desc: &Descriptor) -> Result<Option<Links>> {
    match layout.read_manifest_sync(desc)? {
        Some(bytes) => Ok(Some(graph::links(desc, &bytes)?)),
        None => Ok(None),
    }
}

/// Marks `start` and everything it reaches, breadth-first, within the node limit.
fn mark(
    layout: &OciLayout,
    marked: &mut HashSet<Digest>,
    start: Vec<Descriptor>,
    limits: &oci_target::Limits,
) -> Result<()> {
    let mut queue: VecDeque<Descriptor> = start.into();
    while let Some(d) = queue.pop_front() {
        if !marked.insert(d.digest.clone()) {
            continue;
        }
        limits.check("graph-nodes", marked.len() as u64, "gc marking")?;
        if d.media_type.is_manifest()
            && let Some(links) = links_of(layout, &d)?
        {
            queue.extend(links.successors());
        }
    }
    Ok(())
}

/// GC's mark and sweep over `index`, run while the index lock is held. Returns whether the
/// index changed, and the report.
fn collect(layout: &OciLayout, index: &mut ImageIndex, options: GcOptions) -> Result<GcReport> {
    let limits = layout.options().limits;
    let root = layout.root().to_path_buf();
    // Mark: tagged roots, then referrers of anything marked, until nothing changes.
    let mut marked: HashSet<Digest> = HashSet::new();
    let (tagged, untagged): (Vec<Descriptor>, Vec<Descriptor>) = index
        .manifests
        .iter()
        .cloned()
        .partition(|m| ref_name(m).is_some());
    mark(layout, &mut marked, tagged, &limits)?;
    let mut kept_entries: HashSet<Digest> = HashSet::new();
    loop {
        let mut grew = Vec::new();
        for entry in &untagged {
            if kept_entries.contains(&entry.digest) {
                continue;
            }
            let Some(links) = links_of(layout, entry)? else {
                continue;
            };
            if links
                .subject
                .as_ref()
                .is_some_and(|s| marked.contains(&s.digest))
            {
                kept_entries.insert(entry.digest.clone());
                grew.push(entry.clone());
            }
        }
        if grew.is_empty() {
            break;
        }
        mark(layout, &mut marked, grew, &limits)?;
    }
    let found = paths::list_blobs(&root)?;
    // A young manifest keeps its whole graph: a writer that has pushed it, or found it present
    // and relies on it, may be about to tag it.
    let young_manifests: Vec<Descriptor> = found
        .iter()
        .filter_map(|f| match f {
            Found::Blob(d, path, meta)
                if !marked.contains(d)
                    && !older_than(meta, options.grace)
                    && meta.len() <= limits.manifest_bytes =>
            {
                let bytes = std::fs::read(path).ok()?;
                let media_type = crate::index::sniff_media_type(&bytes)
                    .filter(|m| m.is_manifest())
                    .or_else(|| {
                        graph::links(
                            &Descriptor::new(MediaType::image_manifest(), d.clone(), 0),
                            &bytes,
                        )
                        .ok()
                        .filter(|l| l.config.is_some() || !l.manifests.is_empty())
                        .map(|l| {
                            if l.manifests.is_empty() {
                                MediaType::image_manifest()
                            } else {
                                MediaType::image_index()
                            }
                        })
                    })?;
                Some(Descriptor::new(media_type, d.clone(), meta.len()))
            }
            _ => None,
        })
        .collect();
    mark(layout, &mut marked, young_manifests, &limits)?;

    let mut report = GcReport::default();
    for f in &found {
        if let Found::Blob(d, path, meta) = f
            && !marked.contains(d)
            && older_than(meta, options.grace)
        {
            report.blobs.push(d.clone());
            report.bytes += meta.len();
            if !options.dry_run {
                std::fs::remove_file(path).map_err(|e| Error::at_path("cannot remove", path, e))?;
            }
        }
    }
    let ingest = root.join(paths::INGEST);
    if paths::check_dir(&ingest)? {
        let listing =
            std::fs::read_dir(&ingest).map_err(|e| Error::at_path("cannot list", &ingest, e))?;
        for e in listing.flatten() {
            let path = e.path();
            // Staging files only: a link or a directory someone put there is left alone.
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if meta.is_file() && older_than(&meta, options.grace) {
                if !options.dry_run {
                    let _ = std::fs::remove_file(&path);
                }
                report.staging.push(path);
            }
        }
    }
    report.entries = untagged
        .iter()
        .filter(|e| !kept_entries.contains(&e.digest))
        .map(|e| e.digest.clone())
        .collect();
    if !options.dry_run {
        let drop: BTreeSet<Digest> = report.entries.iter().cloned().collect();
        index
            .manifests
            .retain(|m| ref_name(m).is_some() || !drop.contains(&m.digest));
    }
    Ok(report)
}

impl OciLayout {
    /// Collects garbage; see the module docs for what stays.
    ///
    /// The index lock is held from mark to sweep, so no tag can be written in between; a tag is
    /// written only for content that is present (checked under the same lock); and a blob a
    /// writer finds present through [`exists`](oci_target::ReadOnlyTarget::exists) is made young,
    /// so the grace period spares it, and a young manifest keeps its graph. A copy that skips
    /// what the layout already has and then tags it therefore never loses it to a GC running
    /// beside it, as long as the copy takes less than the grace period.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Unsupported`] on a read-only layout (unless `dry_run`);
    /// [`ErrorKind::UnsafePath`] when the layout's own directories are links; errors reading the
    /// index or a reachable manifest (GC refuses to guess what a broken manifest reaches).
    pub async fn gc(&self, options: GcOptions) -> Result<GcReport> {
        let me = self.clone();
        if options.dry_run && self.is_read_only() {
            let mut index = self.index_snapshot().await?;
            return tokio::task::spawn_blocking(move || collect(&me, &mut index, options))
                .await
                .map_err(|e| Error::new(ErrorKind::Io, format!("gc failed: {e}")))?;
        }
        self.change_index(move |index| {
            let report = collect(&me, index, options)?;
            Ok((!options.dry_run && !report.entries.is_empty(), report))
        })
        .await
    }

    /// Checks every blob and every reference from `index.json` down; returns every problem found
    /// (empty when the layout is sound).
    ///
    /// # Errors
    ///
    /// Only for an unreadable `index.json` or a failing directory listing; problems with content
    /// are reported, not raised.
    pub async fn fsck(&self) -> Result<Vec<Problem>> {
        let index = self.index_snapshot().await?;
        let root = self.root().to_path_buf();
        let mut problems = tokio::task::spawn_blocking(move || -> Result<Vec<Problem>> {
            let mut problems = Vec::new();
            for found in paths::list_blobs(&root)? {
                let (digest, path) = match found {
                    Found::Blob(d, path, _) => (d, path),
                    Found::Stray(path) => {
                        problems.push(Problem::StrayFile { path });
                        continue;
                    }
                    Found::Unsafe(path, reason) => {
                        problems.push(Problem::Unsafe { path, reason });
                        continue;
                    }
                };
                let Ok(alg) = digest.hash_algorithm() else {
                    continue;
                };
                let Ok(mut file) = std::fs::File::open(&path) else {
                    problems.push(Problem::Missing {
                        digest,
                        referenced_by: "blobs/".into(),
                    });
                    continue;
                };
                let mut d = oci_digest::Digester::new(alg);
                if std::io::copy(&mut file, &mut d).is_err() {
                    problems.push(Problem::InvalidManifest {
                        digest,
                        reason: "unreadable".into(),
                    });
                    continue;
                }
                let actual = d.finalize();
                if actual != digest {
                    problems.push(Problem::DigestMismatch { digest, actual });
                }
            }
            Ok(problems)
        })
        .await
        .map_err(|e| Error::new(ErrorKind::Io, format!("fsck failed: {e}")))??;
        let mut seen: HashSet<Digest> = HashSet::new();
        let mut queue: Vec<(Descriptor, String)> = index
            .manifests
            .iter()
            .map(|m| (m.clone(), "index.json".to_string()))
            .collect();
        while let Some((d, by)) = queue.pop() {
            if !seen.insert(d.digest.clone()) {
                continue;
            }
            let path = self.blob_path(&d.digest);
            let Ok(Some(meta)) =
                paths::blob_path(self.root(), &d.digest).and_then(|p| paths::blob_file(&p))
            else {
                problems.push(Problem::Missing {
                    digest: d.digest.clone(),
                    referenced_by: by,
                });
                continue;
            };
            if meta.len() != d.size {
                problems.push(Problem::SizeMismatch {
                    digest: d.digest.clone(),
                    expected: d.size,
                    actual: meta.len(),
                });
                continue;
            }
            if d.media_type.is_manifest() {
                match std::fs::read(&path) {
                    Ok(bytes)
                        if Verifier::new(&d.digest, d.size).is_ok() && d.digest.matches(&bytes) =>
                    {
                        match graph::links(&d, &bytes) {
                            Ok(links) => queue.extend(
                                links
                                    .successors()
                                    .into_iter()
                                    .map(|c| (c, d.digest.to_string())),
                            ),
                            Err(e) => problems.push(Problem::InvalidManifest {
                                digest: d.digest.clone(),
                                reason: e.to_string(),
                            }),
                        }
                    }
                    _ => {} // a content mismatch is already reported from the blob scan
                }
            }
        }
        Ok(problems)
    }
}
