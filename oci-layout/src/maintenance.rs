//! Garbage collection and consistency checks.
//!
//! GC keeps what tagged roots reach, and the referrers of anything kept (recursively), and
//! removes the rest: unreachable blobs, untagged referrer entries whose subject is gone, and
//! staging files no push is writing. A grace period spares anything written recently, so a copy
//! in progress (whose blobs are not yet tagged) is never collected under it.
//!
//! fsck reads everything: each blob's content against its name, each reference from
//! `index.json` down against what is stored, and reports every problem it finds.

use std::collections::{BTreeSet, HashSet};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use oci_digest::{Digest, Verifier};
use oci_spec_types::Descriptor;
use oci_target::graph::Links;
use oci_target::{Error, ErrorKind, ReadOnlyTargetExt, Result};

use crate::OciLayout;
use crate::index::ref_name;

/// How GC runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

impl GcOptions {
    /// Sets `dry_run`.
    pub fn with_dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// Sets `grace`.
    pub fn with_grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }
}

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
}

fn io(what: &str, path: &std::path::Path, e: std::io::Error) -> Error {
    Error::new(ErrorKind::Io, format!("{what} {}: {e}", path.display())).with_source(e)
}

/// Every blob under `blobs/`, with its path, or a stray file.
fn list_blobs(
    root: &std::path::Path,
) -> Result<Vec<std::result::Result<(Digest, PathBuf), PathBuf>>> {
    let mut out = Vec::new();
    let blobs = root.join("blobs");
    let Ok(algs) = std::fs::read_dir(&blobs) else {
        return Ok(out);
    };
    for alg in algs {
        let alg = alg.map_err(|e| io("cannot list", &blobs, e))?;
        let alg_name = alg.file_name().to_string_lossy().into_owned();
        if !alg.path().is_dir() {
            out.push(Err(alg.path()));
            continue;
        }
        for entry in std::fs::read_dir(alg.path()).map_err(|e| io("cannot list", &alg.path(), e))? {
            let entry = entry.map_err(|e| io("cannot list", &alg.path(), e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            match Digest::parse(&format!("{alg_name}:{name}")) {
                Ok(d) => out.push(Ok((d, entry.path()))),
                Err(_) => out.push(Err(entry.path())),
            }
        }
    }
    Ok(out)
}

fn older_than(path: &std::path::Path, grace: Duration) -> bool {
    std::fs::symlink_metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|age| age >= grace)
}

impl OciLayout {
    /// Collects garbage; see the module docs for what stays.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Unsupported`] on a read-only layout (unless `dry_run`); errors reading the
    /// index or a reachable manifest (GC refuses to guess what a broken manifest reaches).
    pub async fn gc(&self, options: GcOptions) -> Result<GcReport> {
        if !options.dry_run {
            self.writable()?;
        }
        let index = self.index_snapshot().await?;
        // Mark: tagged roots, then referrers of anything marked, until nothing changes.
        let mut marked: HashSet<Digest> = HashSet::new();
        let mut queue: Vec<Descriptor> = index
            .manifests
            .iter()
            .filter(|m| ref_name(m).is_some())
            .cloned()
            .collect();
        let untagged: Vec<Descriptor> = index
            .manifests
            .iter()
            .filter(|m| ref_name(m).is_none())
            .cloned()
            .collect();
        let mut kept_entries: HashSet<Digest> = HashSet::new();
        loop {
            while let Some(d) = queue.pop() {
                if !marked.insert(d.digest.clone()) {
                    continue;
                }
                if d.media_type.is_manifest() && self.blob_path(&d.digest).exists() {
                    let bytes = self
                        .fetch_bytes(&d, oci_target::DEFAULT_MAX_MANIFEST_BYTES)
                        .await?;
                    queue.extend(Links::parse(&d, &bytes)?.successors());
                }
            }
            let mut grew = false;
            for entry in &untagged {
                if kept_entries.contains(&entry.digest) || !self.blob_path(&entry.digest).exists() {
                    continue;
                }
                let bytes = self
                    .fetch_bytes(entry, oci_target::DEFAULT_MAX_MANIFEST_BYTES)
                    .await?;
                let links = Links::parse(entry, &bytes)?;
                if links
                    .subject
                    .as_ref()
                    .is_some_and(|s| marked.contains(&s.digest))
                {
                    kept_entries.insert(entry.digest.clone());
                    queue.push(entry.clone());
                    grew = true;
                }
            }
            if !grew {
                break;
            }
        }
        let root = self.root().to_path_buf();
        let grace = options.grace;
        let (blobs, staging) = tokio::task::spawn_blocking(move || -> Result<_> {
            let mut blobs = Vec::new();
            for found in list_blobs(&root)? {
                if let Ok((d, path)) = found
                    && !marked.contains(&d)
                    && older_than(&path, grace)
                {
                    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                    blobs.push((d, path, size));
                }
            }
            let mut staging = Vec::new();
            if let Ok(entries) = std::fs::read_dir(root.join("ingest")) {
                for e in entries.flatten() {
                    if older_than(&e.path(), grace) {
                        staging.push(e.path());
                    }
                }
            }
            Ok((blobs, staging))
        })
        .await
        .map_err(|e| Error::new(ErrorKind::Io, format!("gc failed: {e}")))??;
        let entries: Vec<Digest> = untagged
            .iter()
            .filter(|e| !kept_entries.contains(&e.digest))
            .map(|e| e.digest.clone())
            .collect();
        let report = GcReport {
            bytes: blobs.iter().map(|(_, _, s)| s).sum(),
            blobs: blobs.iter().map(|(d, _, _)| d.clone()).collect(),
            entries: entries.clone(),
            staging: staging.clone(),
        };
        if options.dry_run {
            return Ok(report);
        }
        if !entries.is_empty() {
            let drop: BTreeSet<Digest> = entries.into_iter().collect();
            self.change_index(move |index| {
                let before = index.manifests.len();
                index
                    .manifests
                    .retain(|m| ref_name(m).is_some() || !drop.contains(&m.digest));
                Ok((index.manifests.len() != before, ()))
            })
            .await?;
        }
        for (_, path, _) in &blobs {
            tokio::fs::remove_file(path)
                .await
                .map_err(|e| io("cannot remove", path, e))?;
        }
        for path in &staging {
            let _ = tokio::fs::remove_file(path).await;
        }
        Ok(report)
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
            for found in list_blobs(&root)? {
                let (digest, path) = match found {
                    Ok(x) => x,
                    Err(path) => {
                        problems.push(Problem::StrayFile { path });
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
            let Ok(meta) = std::fs::metadata(&path) else {
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
                        match Links::parse(&d, &bytes) {
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
