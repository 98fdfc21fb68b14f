//! The layout store.

use derive_setters::Setters;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use oci_digest::{Digest, Verifier};
use oci_spec_types::{Descriptor, ImageLayout, MediaType, annotations};
use oci_target::graph;
use oci_target::{
    BlobStream, Error, ErrorKind, Limits, OpenContent, ReadOnlyTarget, RefKind, Result, Target,
    Unhashed, Verified, parse_ref,
};

use crate::index::{self, INDEX, ref_name};
use crate::paths;
use crate::refname::check_ref_name;

/// How a layout is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Setters)]
#[setters(prefix = "with_")]
#[non_exhaustive]
pub struct LayoutOptions {
    /// fsync each blob and its directory before it becomes visible, and `index.json` after
    /// writing it. Default on: a power loss never leaves a tag pointing at content that is not
    /// on disk. Off is faster, for scratch layouts.
    ///
    /// On Linux, small blobs written at once (up to 256 KiB each, as in a copy of many) share
    /// `syncfs` calls of the layout's filesystem instead of one `fdatasync` each: one device
    /// flush for many blobs. Such a sync also writes out what other programs left unwritten on
    /// the same filesystem.
    pub fsync: bool,
    /// Caps on what is read from the layout: `manifest-bytes`, `index-json-bytes`,
    /// `graph-depth` and `graph-nodes` (see [`Limits`]).
    pub limits: Limits,
}

impl Default for LayoutOptions {
    fn default() -> Self {
        LayoutOptions {
            fsync: true,
            limits: Limits::default(),
        }
    }
}

impl LayoutOptions {}

/// An OCI image-layout directory.
#[derive(Debug, Clone)]
pub struct OciLayout {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    root: PathBuf,
    options: LayoutOptions,
    read_only: bool,
    /// Serialises index changes of this process (the file lock does it across processes).
    index_lock: tokio::sync::Mutex<()>,
    /// Directory and filesystem syncs shared by concurrent writers.
    syncs: crate::dirsync::Syncs,
}

static STAGING: AtomicU64 = AtomicU64::new(0);

fn join(e: tokio::task::JoinError) -> Error {
    Error::new(ErrorKind::Io, format!("a blocking layout task failed: {e}"))
}

impl OciLayout {
    /// Opens the layout at `path`, creating the directory, `oci-layout` and an empty `index.json`
    /// where missing.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Unsupported`] for an `imageLayoutVersion` other than 1.0.0;
    /// [`ErrorKind::InvalidManifest`] for an `oci-layout` or `index.json` that is not what the
    /// image-spec says; I/O errors.
    pub async fn create(path: impl Into<PathBuf>, options: LayoutOptions) -> Result<Self> {
        let root = path.into();
        let r = root.clone();
        tokio::task::spawn_blocking(move || -> Result<()> {
            std::fs::create_dir_all(r.join("blobs"))
                .map_err(|e| Error::at_path("cannot create", &r, e))?;
            let layout = r.join("oci-layout");
            if !layout.exists() {
                let bytes = serde_json::to_vec(&ImageLayout::default()).expect("serialisable");
                std::fs::write(&layout, bytes)
                    .map_err(|e| Error::at_path("cannot write", &layout, e))?;
            }
            if !r.join(INDEX).exists() {
                index::write(&r, &index::empty(), options.fsync)?;
            }
            Ok(())
        })
        .await
        .map_err(join)??;
        Self::open_with(root, options, false).await
    }

    /// Opens an existing layout for reading only: nothing is ever written, so it works on a
    /// read-only filesystem.
    ///
    /// # Errors
    ///
    /// As [`create`](Self::create), and [`ErrorKind::NotFound`] when it is not a layout.
    pub async fn open_read_only(path: impl Into<PathBuf>) -> Result<Self> {
        Self::open_with(path.into(), LayoutOptions::default(), true).await
    }

    /// Opens an existing layout for reading and writing.
    ///
    /// # Errors
    ///
    /// As [`open_read_only`](Self::open_read_only).
    pub async fn open(path: impl Into<PathBuf>, options: LayoutOptions) -> Result<Self> {
        Self::open_with(path.into(), options, false).await
    }

    async fn open_with(root: PathBuf, options: LayoutOptions, read_only: bool) -> Result<Self> {
        let r = root.clone();
        tokio::task::spawn_blocking(move || -> Result<()> {
            let layout = r.join("oci-layout");
            let bytes = std::fs::read(&layout)
                .map_err(|e| Error::at_path("not an OCI layout: cannot read", &layout, e))?;
            let parsed = ImageLayout::from_slice(&bytes).map_err(|e| {
                Error::new(
                    ErrorKind::InvalidManifest,
                    format!("{} is malformed: {e}", layout.display()),
                )
            })?;
            parsed.validate().map_err(|e| {
                Error::new(ErrorKind::Unsupported, format!("{}: {e}", layout.display()))
            })?;
            index::read(&r, &options.limits)?;
            Ok(())
        })
        .await
        .map_err(join)??;
        Ok(OciLayout {
            inner: Arc::new(Inner {
                root,
                options,
                read_only,
                index_lock: tokio::sync::Mutex::new(()),
                syncs: Default::default(),
            }),
        })
    }

    /// The layout's directory.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// Where the bytes of `digest` live. A path only: reads and writes go through checks that
    /// refuse links and unverifiable algorithms.
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.inner
            .root
            .join("blobs")
            .join(digest.algorithm())
            .join(digest.encoded())
    }

    /// The options the layout was opened with.
    pub fn options(&self) -> &LayoutOptions {
        &self.inner.options
    }

    pub(crate) fn writable(&self) -> Result<()> {
        if self.inner.read_only {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!("{} is open read-only", self.inner.root.display()),
            ));
        }
        Ok(())
    }

    pub(crate) fn is_read_only(&self) -> bool {
        self.inner.read_only
    }

    /// The blob's checked path and, when it is there, its metadata.
    ///
    /// # Errors
    ///
    /// As [`paths::blob_path`] and [`paths::blob_file`].
    fn blob(&self, digest: &Digest) -> Result<(PathBuf, Option<std::fs::Metadata>)> {
        let path = paths::blob_path(&self.inner.root, digest)?;
        let meta = paths::blob_file(&path)?;
        Ok((path, meta))
    }

    /// True when the blob is there whole: a regular file of the descriptor's size. A file of
    /// another size (a crash between create and rename on a filesystem that reorders them) counts
    /// as absent, so the next push replaces it. A blob found is made young (its modification time
    /// set to now) so a GC running beside a writer that relies on it spares it.
    pub(crate) fn has_blob(&self, desc: &Descriptor) -> Result<bool> {
        let (path, meta) = self.blob(&desc.digest)?;
        Ok(self.whole(&path, meta.as_ref(), desc))
    }

    /// [`has_blob`](Self::has_blob) from a blob's path and metadata, already looked up.
    fn whole(&self, path: &Path, meta: Option<&std::fs::Metadata>, desc: &Descriptor) -> bool {
        let whole = meta.is_some_and(|m| m.len() == desc.size);
        if whole && !self.inner.read_only {
            let _ = std::fs::File::options()
                .write(true)
                .open(path)
                .and_then(|f| f.set_modified(std::time::SystemTime::now()));
        }
        whole
    }

    /// Stores `content` at `target` (the blob's checked path): staged under `ingest/`,
    /// verified, synced when the layout syncs, renamed into place. Returns the content when it
    /// was small enough to be read whole, so a manifest need not be read back.
    async fn store(
        &self,
        desc: &Descriptor,
        content: Verified,
        target: PathBuf,
    ) -> Result<Option<Bytes>> {
        debug_assert!(content.is_for(desc));
        // The staging directory is checked (never followed through a link) even when the blob
        // is linked into place without it: a layout with a linked `ingest/` takes no writes.
        let staging_dir = self.inner.root.join(paths::INGEST);
        let have_ingest = paths::check_dir(&staging_dir)?;
        let staging = staging_dir.join(format!(
            "{}-{}.{}-{}.partial",
            desc.digest.algorithm(),
            desc.digest.encoded(),
            std::process::id(),
            STAGING.fetch_add(1, Ordering::Relaxed)
        ));
        let staging = Staging {
            dir: staging_dir,
            have_dir: have_ingest,
            file: staging,
        };
        let fsync = self.inner.options.fsync;
        let to = target.clone();
        let kept = if desc.size <= SMALL_BLOB {
            // Small content is verified in memory and written without a name (or staged). Where
            // the layout syncs, its data is made durable by a filesystem sync shared with the
            // other small blobs written meanwhile (one device flush for all of them, not one
            // each) before it is linked (or moved) into place, and the next such sync makes the
            // link durable. Elsewhere it is written, synced and placed in one blocking step.
            let bytes = oci_target::read_to_bytes(content.into_stream(), desc.size).await?;
            let shared = fsync && crate::dirsync::FILESYSTEM_SYNC;
            let data = bytes.clone();
            if !shared {
                tokio::task::spawn_blocking(move || {
                    let written = write_small(&to, &staging, &data, fsync)?;
                    place_small(written, &to, &staging, &data, fsync)
                })
                .await
                .map_err(join)??;
            } else {
                let (to_w, staging_w) = (to.clone(), staging.clone());
                let written = tokio::task::spawn_blocking(move || {
                    write_small(&to_w, &staging_w, &data, false)
                })
                .await
                .map_err(join)??;
                if let Err(e) = self.inner.syncs.filesystem(&self.inner.root).await {
                    if matches!(written, Small::Staged) {
                        let _ = tokio::fs::remove_file(&staging.file).await;
                    }
                    return Err(e);
                }
                let data = bytes.clone();
                tokio::task::spawn_blocking(move || {
                    place_small(written, &to, &staging, &data, true)
                })
                .await
                .map_err(join)??;
                self.inner.syncs.filesystem(&self.inner.root).await?;
                return Ok(Some(bytes));
            }
            Some(bytes)
        } else {
            let prepared = staging.clone();
            tokio::task::spawn_blocking(move || prepared.prepare())
                .await
                .map_err(join)??;
            let written = write_checked(&staging.file, content, fsync).await;
            if let Err(e) = written {
                let _ = tokio::fs::remove_file(&staging.file).await;
                return Err(e);
            }
            tokio::task::spawn_blocking(move || commit(&staging.file, &to))
                .await
                .map_err(join)??;
            None
        };
        if fsync {
            // The rename is durable once the blob's directory is synced.
            let dir = target.parent().expect("blob paths have a parent");
            self.inner.syncs.dir(dir).await?;
        }
        Ok(kept)
    }

    /// Records a pushed manifest with a subject in the index, so its subject still finds it
    /// after reopening. `bytes` are the manifest's, when the caller has them.
    async fn record_referrer(&self, desc: &Descriptor, bytes: Option<Bytes>) -> Result<()> {
        if !desc.media_type.is_manifest() {
            return Ok(());
        }
        let bytes = match bytes {
            Some(b) => b,
            None => self.read_small(desc).await?,
        };
        let Ok(links) = graph::links(desc, &bytes) else {
            return Ok(());
        };
        if links.subject.is_none() {
            return Ok(());
        }
        let entry = Descriptor::new(desc.media_type.clone(), desc.digest.clone(), desc.size);
        self.update_index(move |index| {
            if index.manifests.iter().any(|m| m.digest == entry.digest) {
                return Ok((false, ()));
            }
            index.manifests.push(entry);
            Ok((true, ()))
        })
        .await
    }

    async fn index(&self) -> Result<oci_spec_types::ImageIndex> {
        let root = self.inner.root.clone();
        let limits = self.inner.options.limits;
        tokio::task::spawn_blocking(move || index::read(&root, &limits))
            .await
            .map_err(join)?
    }

    async fn update_index<T: Send + 'static>(
        &self,
        change: impl FnOnce(&mut oci_spec_types::ImageIndex) -> Result<(bool, T)> + Send + 'static,
    ) -> Result<T> {
        self.writable()?;
        let _held = self.inner.index_lock.lock().await;
        let root = self.inner.root.clone();
        let options = self.inner.options;
        tokio::task::spawn_blocking(move || index::update(&root, &options, change))
            .await
            .map_err(join)?
    }

    pub(crate) async fn index_snapshot(&self) -> Result<oci_spec_types::ImageIndex> {
        self.index().await
    }

    pub(crate) async fn change_index<T: Send + 'static>(
        &self,
        change: impl FnOnce(&mut oci_spec_types::ImageIndex) -> Result<(bool, T)> + Send + 'static,
    ) -> Result<T> {
        self.update_index(change).await
    }

    /// Reads a manifest blob whole, on the calling thread: refused past `manifest-bytes`,
    /// checked against `desc`'s size and digest. `None` when the blob is not there.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::SizeLimitExceeded`], [`ErrorKind::SizeMismatch`],
    /// [`ErrorKind::DigestMismatch`], or the path checks' errors.
    pub(crate) fn read_manifest_sync(&self, desc: &Descriptor) -> Result<Option<Vec<u8>>> {
        let limits = &self.inner.options.limits;
        limits.check(
            "manifest-bytes",
            desc.size,
            format_args!("manifest {}", desc.digest),
        )?;
        let (path, meta) = self.blob(&desc.digest)?;
        let Some(meta) = meta else { return Ok(None) };
        if meta.len() != desc.size {
            return Err(Error::new(
                ErrorKind::SizeMismatch,
                format!(
                    "{} is {} bytes on disk, {} in its descriptor",
                    path.display(),
                    meta.len(),
                    desc.size
                ),
            ));
        }
        let bytes = std::fs::read(&path).map_err(|e| Error::at_path("cannot read", &path, e))?;
        if bytes.len() as u64 != desc.size || !desc.digest.matches(&bytes) {
            return Err(Error::new(
                ErrorKind::DigestMismatch,
                format!("{} does not hash to its name", path.display()),
            ));
        }
        Ok(Some(bytes))
    }

    async fn read_small(&self, desc: &Descriptor) -> Result<Bytes> {
        oci_target::ReadOnlyTargetExt::fetch_bytes(
            self,
            desc,
            self.inner.options.limits.manifest_bytes,
        )
        .await
    }
}

#[async_trait]
impl ReadOnlyTarget for OciLayout {
    #[tracing::instrument(level = "debug", name = "layout.fetch", skip_all, fields(digest = %desc.digest))]
    async fn fetch(&self, desc: &Descriptor) -> Result<BlobStream> {
        Ok(self.fetch_verified(desc).await?.into_stream())
    }

    async fn fetch_verified(&self, desc: &Descriptor) -> Result<Verified> {
        let (path, meta) = self.blob(&desc.digest)?;
        if meta.is_none() {
            return Err(Error::not_found(format!(
                "{} is not in the layout at {}",
                desc.digest,
                self.inner.root.display()
            )));
        }
        let file =
            std::fs::File::open(&path).map_err(|e| Error::at_path("cannot open blob", &path, e))?;
        let chunks = oci_target::file_stream(file, path);
        Verified::new(desc, chunks)
    }

    async fn exists(&self, desc: &Descriptor) -> Result<bool> {
        if desc.digest.hash_algorithm().is_err() {
            return Ok(false);
        }
        self.has_blob(desc)
    }

    async fn describe(&self, digest: &Digest) -> Result<Descriptor> {
        // The index's record where it has one, else the blob itself (media type sniffed).
        self.resolve(digest.as_str()).await
    }

    async fn resolve(&self, reference: &str) -> Result<Descriptor> {
        let index = self.index().await?;
        match parse_ref(reference) {
            Ok(RefKind::Digest(d)) => {
                let root = self.inner.root.clone();
                let me = self.clone();
                let limits = self.inner.options.limits;
                let read = move |m: &Descriptor| me.read_manifest_sync(m);
                if let Some(found) = index::find(&index, &d, &read, &limits)? {
                    return Ok(found);
                }
                // Not listed: describe the blob itself.
                let (path, meta) = self.blob(&d)?;
                let meta = meta.ok_or_else(|| {
                    Error::not_found(format!("{d} is not in the layout at {}", root.display()))
                })?;
                let media_type = if meta.len() <= limits.manifest_bytes {
                    tokio::fs::read(&path)
                        .await
                        .ok()
                        .and_then(|b| index::sniff_media_type(&b))
                } else {
                    None
                };
                Ok(Descriptor::new(
                    media_type.unwrap_or_else(MediaType::octet_stream),
                    d,
                    meta.len(),
                ))
            }
            _ => {
                check_ref_name(reference)?;
                index
                    .manifests
                    .iter()
                    .rev()
                    .find(|m| ref_name(m) == Some(reference))
                    .map(|m| Descriptor::new(m.media_type.clone(), m.digest.clone(), m.size))
                    .ok_or_else(|| {
                        Error::not_found(format!(
                            "no tag {reference:?} in the layout at {}",
                            self.inner.root.display()
                        ))
                    })
            }
        }
    }

    async fn tags(&self) -> Result<Vec<String>> {
        Ok(crate::index::tags(&self.index().await?))
    }

    async fn referrers(
        &self,
        subject: &Descriptor,
        artifact_type: Option<&MediaType>,
    ) -> Result<Vec<Descriptor>> {
        let index = self.index().await?;
        let mut out: Vec<Descriptor> = Vec::new();
        for m in index
            .manifests
            .iter()
            .filter(|m| m.media_type.is_manifest())
        {
            if out.iter().any(|d| d.digest == m.digest) {
                continue;
            }
            let Ok(bytes) = self
                .read_small(&Descriptor::new(
                    m.media_type.clone(),
                    m.digest.clone(),
                    m.size,
                ))
                .await
            else {
                continue;
            };
            let Ok(links) = graph::links(m, &bytes) else {
                continue;
            };
            if links
                .subject
                .as_ref()
                .is_some_and(|s| s.digest == subject.digest)
            {
                let listing = links.referrer_descriptor(&Descriptor::new(
                    m.media_type.clone(),
                    m.digest.clone(),
                    m.size,
                ));
                if artifact_type.is_none_or(|t| listing.artifact_type.as_ref() == Some(t)) {
                    out.push(listing);
                }
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl Target for OciLayout {
    #[tracing::instrument(level = "debug", name = "layout.push", skip_all, fields(digest = %desc.digest, size = desc.size))]
    async fn push(&self, desc: &Descriptor, content: BlobStream) -> Result<()> {
        self.writable()?;
        Verifier::new(&desc.digest, desc.size)?;
        let (target, meta) = self.blob(&desc.digest)?;
        let kept = if self.whole(&target, meta.as_ref(), desc) {
            None
        } else {
            self.store(desc, Verified::new(desc, content)?, target)
                .await?
        };
        // A referrer is recorded in the index so its subject still finds it after reopening.
        self.record_referrer(desc, kept).await
    }

    /// Staged under `ingest/` while hashed, then moved to the name its digest gives.
    async fn push_stream(&self, new: &Unhashed, content: BlobStream) -> Result<Descriptor> {
        self.writable()?;
        let algorithm = new.algorithm;
        if !paths::ALGORITHMS.contains(&algorithm) {
            return Err(Error::unsupported(format!(
                "the layout stores sha256 and sha512 blobs, not {}",
                algorithm.as_str()
            )));
        }
        let staging_dir = self.inner.root.join(paths::INGEST);
        if !paths::check_dir(&staging_dir)? {
            tokio::fs::create_dir_all(&staging_dir)
                .await
                .map_err(|e| Error::at_path("cannot create", &staging_dir, e))?;
            paths::check_dir(&staging_dir)?;
        }
        let staging = staging_dir.join(format!(
            "{}-unknown.{}-{}.partial",
            algorithm.as_str(),
            std::process::id(),
            STAGING.fetch_add(1, Ordering::Relaxed)
        ));
        let fsync = self.inner.options.fsync;
        let stored: Result<Descriptor> = async {
            let (stream, hashed) = oci_target::hashing_stream(content, algorithm, new.size);
            let file = std::fs::File::create(&staging)
                .map_err(|e| Error::at_path("cannot create", &staging, e))?;
            oci_target::write_stream(stream, file, &staging, fsync).await?;
            let (digest, len) = hashed.finish()?;
            let desc = Descriptor::new(new.media_type.clone(), digest, len);
            let (target, meta) = self.blob(&desc.digest)?;
            if self.whole(&target, meta.as_ref(), &desc) {
                let _ = std::fs::remove_file(&staging);
                return Ok(desc);
            }
            let (from, to) = (staging.clone(), target.clone());
            tokio::task::spawn_blocking(move || commit(&from, &to))
                .await
                .map_err(join)??;
            if fsync {
                let dir = target.parent().expect("blob paths have a parent");
                self.inner.syncs.dir(dir).await?;
            }
            Ok(desc)
        }
        .await;
        if stored.is_err() {
            let _ = tokio::fs::remove_file(&staging).await;
        }
        let desc = stored?;
        self.record_referrer(&desc, None).await?;
        Ok(desc)
    }

    /// One look at the blob's path decides; the content is opened only when missing.
    async fn push_absent(&self, desc: &Descriptor, open: OpenContent<'_>) -> Result<bool> {
        self.writable()?;
        Verifier::new(&desc.digest, desc.size)?;
        let (target, meta) = self.blob(&desc.digest)?;
        if self.whole(&target, meta.as_ref(), desc) {
            return Ok(false);
        }
        // Content the source checked against `desc` is not hashed again.
        let content = open.await?;
        let content = if content.is_for(desc) {
            content
        } else {
            Verified::new(desc, content.into_stream())?
        };
        let kept = self.store(desc, content, target).await?;
        self.record_referrer(desc, kept).await?;
        Ok(true)
    }

    async fn tag(&self, desc: &Descriptor, reference: &str) -> Result<()> {
        check_ref_name(reference)?;
        if !self.exists(desc).await? {
            return Err(Error::not_found(format!(
                "cannot tag {reference:?}: {} is not in the layout",
                desc.digest
            )));
        }
        let mut entry = Descriptor::new(desc.media_type.clone(), desc.digest.clone(), desc.size)
            .with_annotation(annotations::REF_NAME, reference);
        entry.platform = desc.platform.clone();
        entry.artifact_type = desc.artifact_type.clone();
        let reference = reference.to_owned();
        let me = self.clone();
        self.update_index(move |index| {
            // Checked again under the lock GC holds from mark to sweep: a tag is written only
            // for content that is there, so it never dangles.
            if !me.has_blob(&entry)? {
                return Err(Error::not_found(format!(
                    "cannot tag {reference:?}: {} is no longer in the layout",
                    entry.digest
                )));
            }
            index
                .manifests
                .retain(|m| ref_name(m) != Some(reference.as_str()));
            // An untagged entry for the same content is now redundant.
            index
                .manifests
                .retain(|m| !(m.digest == entry.digest && ref_name(m).is_none()));
            index.manifests.push(entry);
            Ok((true, ()))
        })
        .await
    }

    async fn delete(&self, desc: &Descriptor) -> Result<()> {
        self.writable()?;
        let (path, _) = self.blob(&desc.digest)?;
        let digest = desc.digest.clone();
        self.update_index(move |index| {
            let before = index.manifests.len();
            index.manifests.retain(|m| m.digest != digest);
            Ok((index.manifests.len() != before, ()))
        })
        .await?;
        tokio::fs::remove_file(&path)
            .await
            .map_err(|e| Error::at_path("cannot delete", &path, e))
    }

    async fn untag(&self, reference: &str) -> Result<()> {
        check_ref_name(reference)?;
        let r = reference.to_owned();
        let removed = self
            .update_index(move |index| {
                let before = index.manifests.len();
                index.manifests.retain(|m| ref_name(m) != Some(r.as_str()));
                let removed = index.manifests.len() != before;
                Ok((removed, removed))
            })
            .await?;
        if removed {
            Ok(())
        } else {
            Err(Error::not_found(format!(
                "no tag {reference:?} in the layout"
            )))
        }
    }

    fn writes_locally(&self) -> bool {
        true
    }
}

/// Blobs up to this size are verified in memory and written in one blocking step.
const SMALL_BLOB: u64 = 256 * 1024;

/// Where a blob is staged under `ingest/`: the folder (and whether it was there already, as
/// checked), and the file.
#[derive(Clone)]
struct Staging {
    dir: PathBuf,
    have_dir: bool,
    file: PathBuf,
}

impl Staging {
    /// Makes the staging folder if it was missing, and checks it.
    fn prepare(&self) -> Result<()> {
        if !self.have_dir {
            std::fs::create_dir_all(&self.dir)
                .map_err(|e| Error::at_path("cannot create", &self.dir, e))?;
            paths::check_dir(&self.dir)?;
        }
        Ok(())
    }

    /// Writes `bytes` to the staging file, synced when `fsync` says; removes it on failure.
    fn write(&self, bytes: &[u8], fsync: bool) -> Result<()> {
        use std::io::Write;
        let path = &self.file;
        let written = (|| {
            let mut file = std::fs::File::create(path)
                .map_err(|e| Error::at_path("cannot create", path, e))?;
            file.write_all(bytes)
                .map_err(|e| Error::at_path("cannot write", path, e))?;
            if fsync {
                // The data and what is needed to read it back (its length); the rename that
                // follows is made durable by the directory's sync.
                file.sync_data()
                    .map_err(|e| Error::at_path("cannot sync", path, e))?;
            }
            Ok(())
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(path);
        }
        written
    }
}

/// A small blob written and not yet in place.
enum Small {
    /// An unnamed file in the blob's directory, to be linked.
    Unnamed(std::fs::File),
    /// The staging file, to be moved.
    Staged,
}

/// Writes a small verified blob without a name in its directory, or else to its staging file;
/// synced when `fsync` says.
fn write_small(to: &Path, staging: &Staging, bytes: &[u8], fsync: bool) -> Result<Small> {
    if let Some(file) = crate::unnamed::write(to, bytes, fsync)? {
        return Ok(Small::Unnamed(file));
    }
    staging.prepare()?;
    staging.write(bytes, fsync)?;
    Ok(Small::Staged)
}

/// Puts a small blob [`write_small`] wrote at `to`. Where a leftover takes the name, the blob is
/// staged (synced when `fsync` says) and the rename replaces the leftover.
fn place_small(
    written: Small,
    to: &Path,
    staging: &Staging,
    bytes: &[u8],
    fsync: bool,
) -> Result<()> {
    match written {
        Small::Staged => commit(&staging.file, to),
        Small::Unnamed(file) => {
            if crate::unnamed::link(&file, to)? {
                return Ok(());
            }
            staging.prepare()?;
            staging.write(bytes, fsync)?;
            commit(&staging.file, to)
        }
    }
}

/// Moves a verified staging file to its blob path, making the blob's directories first if they
/// are missing (the path was checked when they existed). A failure leaves no staging file
/// behind.
fn commit(staging: &Path, target: &Path) -> Result<()> {
    let moved = (|| {
        let into = |e| Error::at_path("cannot move the verified blob into", target, e);
        match std::fs::rename(staging, target) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let parent = target.parent().expect("blob paths have a parent");
                std::fs::create_dir_all(parent)
                    .map_err(|e| Error::at_path("cannot create", parent, e))?;
                if let Some(blobs) = parent.parent() {
                    paths::check_dir(blobs)?;
                }
                paths::check_dir(parent)?;
                std::fs::rename(staging, target).map_err(into)
            }
            other => other.map_err(into),
        }
    })();
    if moved.is_err() {
        let _ = std::fs::remove_file(staging);
    }
    moved
}

/// Streams checked `content` into `path`, optionally fsynced: an error unless the check passed.
/// A blocking thread writes while this task takes (and checks) the next pieces.
async fn write_checked(path: &Path, content: Verified, fsync: bool) -> Result<()> {
    let file = std::fs::File::create(path).map_err(|e| Error::at_path("cannot create", path, e))?;
    oci_target::write_stream(content.into_stream(), file, path, fsync).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_target::TargetExt;

    /// Small blobs pushed at once into a layout that syncs share filesystem syncs, each blob
    /// whole and in place when its push returns.
    #[cfg(target_os = "linux")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_small_blobs_share_filesystem_syncs() {
        let dir = tempfile::tempdir().unwrap();
        let store = OciLayout::create(dir.path().join("l"), LayoutOptions::default())
            .await
            .unwrap();
        assert!(store.options().fsync);
        let blobs = 64;
        let tasks: Vec<_> = (0..blobs)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    let data = Bytes::from(format!("small blob {i}").repeat(100));
                    let desc = oci_target::conformance::describe("application/octet-stream", &data);
                    store.push_bytes(&desc, data.clone()).await.unwrap();
                    assert_eq!(std::fs::read(store.blob_path(&desc.digest)).unwrap(), data);
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let runs = store.inner.syncs.filesystem_syncs(store.root());
        assert!(
            runs >= 1 && runs < blobs,
            "{runs} filesystem syncs for {blobs} blobs"
        );
        let unsynced = OciLayout::create(
            dir.path().join("u"),
            LayoutOptions::default().with_fsync(false),
        )
        .await
        .unwrap();
        let data = Bytes::from_static(b"no sync");
        let desc = oci_target::conformance::describe("application/octet-stream", &data);
        unsynced.push_bytes(&desc, data).await.unwrap();
        assert_eq!(unsynced.inner.syncs.filesystem_syncs(unsynced.root()), 0);
    }
}
