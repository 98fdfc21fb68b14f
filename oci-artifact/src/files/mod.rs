//! Files and directories as artifact layers, the way `oras` pushes and pulls them.
//!
//! Pushing gives each file a layer whose `org.opencontainers.image.title` is its name; a
//! directory is packed as a reproducible tar+gzip with the `io.deis.oras.content.digest` and
//! `io.deis.oras.content.unpack` annotations, so `oras` unpacks what we push and we unpack what
//! `oras` pushes. Pack the returned layers into a manifest with [`crate::pack`].
//!
//! Pulling writes each titled layer under an output directory. Titles, tar entries and link
//! targets come from whoever pushed the artifact, so none may lead outside it: no `..`, no
//! absolute paths, no writing through a link already there. Every file is written to a staging
//! file beside its destination and renamed into place only when all its bytes arrived and
//! verified; an existing file is replaced only when the caller asks.

mod paths;
mod tarball;

use derive_setters::Setters;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_util::{StreamExt, TryStreamExt};
use oci_digest::{Algorithm, Digest, Digester};
use oci_spec_types::{
    Descriptor, ImageIndex, ImageManifest, MediaType, Platform, annotations, media_types,
};

use oci_target::progress::{ProgressEvent, ProgressSink, SharedProgress, report_bytes};
use oci_target::{Error, ErrorKind, ReadOnlyTarget, ReadOnlyTargetExt, Result, Target};

/// A file or directory to push, with the title and media type its layer gets.
///
/// Parsed from the `oras` command-line form `path[:mediaType]`.
#[derive(Debug, Clone, PartialEq, Eq, Setters)]
#[setters(prefix = "with_")]
pub struct FileRef {
    /// Where the file or directory is.
    #[setters(skip)]
    pub path: PathBuf,
    /// The layer's media type; the options' default for files or directories when `None`.
    #[setters(strip_option)]
    pub media_type: Option<MediaType>,
    /// The layer's title; the path as given (cleaned, with `/` between parts) when `None`.
    #[setters(into, strip_option)]
    pub title: Option<String>,
}

impl FileRef {
    /// A file or directory at `path`, with the default title and media type.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            media_type: None,
            title: None,
        }
    }

    /// A file or directory at `path`, titled with its last component: `/data/model.gguf`
    /// travels as `model.gguf`, wherever it lies on this machine.
    pub fn named(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let title = path.file_name().map(|n| n.to_string_lossy().into_owned());
        Self {
            path,
            media_type: None,
            title,
        }
    }

    /// Reads `path[:mediaType]`. The part after the last `:` is a media type when it reads as
    /// one; otherwise the whole string is the path.
    pub fn parse(spec: &str) -> Self {
        if let Some((path, media_type)) = spec.rsplit_once(':')
            && !path.is_empty()
            && let Ok(media_type) = MediaType::parse(media_type)
        {
            return Self::new(path).with_media_type(media_type);
        }
        Self::new(spec)
    }

    fn title(&self, allow_absolute: bool) -> Result<String> {
        if let Some(t) = &self.title {
            paths::relative_name("title", t)?;
            return Ok(t.clone());
        }
        let given = self.path.to_string_lossy();
        if self.path.is_absolute() {
            if !allow_absolute {
                return Err(Error::new(
                    ErrorKind::UnsafePath,
                    format!(
                        "{given} is an absolute path: its title would be absolute too; \
                         give a relative path or a title of its own"
                    ),
                ));
            }
            let name = self.path.file_name().ok_or_else(|| {
                Error::new(ErrorKind::InvalidInput, format!("{given} names no file"))
            })?;
            return Ok(name.to_string_lossy().into_owned());
        }
        let clean = paths::relative_name("path", &given)?;
        Ok(clean
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/"))
    }
}

impl std::str::FromStr for FileRef {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Ok(Self::parse(s))
    }
}

/// How to push files. Build with [`PushFilesOptions::default`] and the `with_` methods.
#[derive(Debug, Clone, Setters)]
#[setters(prefix = "with_")]
#[non_exhaustive]
pub struct PushFilesOptions {
    /// Media type of a file's layer unless its [`FileRef`] names one (`oras`'s default,
    /// `application/vnd.oci.image.layer.v1.tar`).
    pub file_media_type: MediaType,
    /// Media type of a directory's layer unless its [`FileRef`] names one (tar+gzip).
    pub dir_media_type: MediaType,
    /// Accept absolute paths, titled by their last part. Off by default, as in `oras`.
    pub allow_absolute: bool,
    /// Where directories are packed before pushing; the system's temporary directory if `None`.
    #[setters(into, strip_option)]
    pub staging_dir: Option<PathBuf>,
    /// How many files are hashed and pushed at once.
    #[setters(skip)]
    pub concurrency: usize,
    /// The hash for new layers' digests.
    pub algorithm: Algorithm,
    /// Files larger than this are hashed as they are pushed, read once, where the target can
    /// ([`Target::push_stream`]) and no progress is reported; smaller ones, and all others, are
    /// hashed first so content the target has is not sent again. Default 1 MiB; `u64::MAX`
    /// hashes every file first.
    pub one_pass_min: u64,
    /// Receives progress events.
    #[setters(skip)]
    pub progress: Option<SharedProgress>,
}

impl Default for PushFilesOptions {
    fn default() -> Self {
        Self {
            file_media_type: MediaType::parse(media_types::LAYER_TAR).expect("constant"),
            dir_media_type: MediaType::parse(media_types::LAYER_TAR_GZIP).expect("constant"),
            allow_absolute: false,
            staging_dir: None,
            concurrency: 4,
            algorithm: Algorithm::Sha256,
            one_pass_min: 1 << 20,
            progress: None,
        }
    }
}

impl PushFilesOptions {
    /// Sets how many files move at once (at least one).
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// Sets the progress sink.
    pub fn with_progress(mut self, sink: impl ProgressSink + 'static) -> Self {
        self.progress = Some(Arc::new(sink));
        self
    }
}

fn hash_file(path: &Path, algorithm: Algorithm) -> Result<(Digest, u64)> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)
        .map_err(|e| Error::from(e).context(format!("cannot open {}", path.display())))?;
    let mut digester = Digester::new(algorithm);
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| Error::from(e).context(format!("cannot read {}", path.display())))?;
        if n == 0 {
            break;
        }
        digester.update(&buf[..n]);
        size += n as u64;
    }
    Ok((digester.finalize(), size))
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::new(ErrorKind::Other, format!("a worker thread failed: {e}")))?
}

async fn push_one(
    target: &dyn Target,
    file: &FileRef,
    title: String,
    options: &PushFilesOptions,
) -> Result<Descriptor> {
    let meta = tokio::fs::metadata(&file.path).await.map_err(|e| {
        let kind = if e.kind() == std::io::ErrorKind::NotFound {
            ErrorKind::InvalidInput
        } else {
            ErrorKind::Io
        };
        Error::new(kind, format!("cannot push {}: {e}", file.path.display()))
    })?;
    // A directory is packed into a temporary file that lives until the push ends.
    let mut _archive = None;
    let (desc, source) = if meta.is_dir() {
        let staging = options
            .staging_dir
            .clone()
            .unwrap_or_else(std::env::temp_dir);
        let dir = file.path.clone();
        let prefix = title.clone();
        let algorithm = options.algorithm;
        let (tmp, packed) = blocking(move || {
            let tmp = tempfile::Builder::new()
                .prefix(".oci-pack-")
                .suffix(".tar.gz")
                .tempfile_in(&staging)
                .map_err(|e| {
                    Error::from(e).context(format!("cannot stage in {}", staging.display()))
                })?;
            let out = tmp.reopen()?;
            let packed = tarball::pack_dir(&dir, &prefix, out, algorithm)?;
            Ok((tmp, packed))
        })
        .await?;
        let media_type = file
            .media_type
            .clone()
            .unwrap_or_else(|| options.dir_media_type.clone());
        let desc = Descriptor::new(media_type, packed.digest, packed.size)
            .with_annotation(annotations::TITLE, &title)
            .with_annotation(annotations::ORAS_CONTENT_DIGEST, packed.tar_digest.as_str())
            .with_annotation(annotations::ORAS_CONTENT_UNPACK, "true");
        let path = tmp.path().to_path_buf();
        _archive = Some(tmp);
        (desc, path)
    } else {
        let media_type = file
            .media_type
            .clone()
            .unwrap_or_else(|| options.file_media_type.clone());
        if meta.len() > options.one_pass_min
            && let Some(desc) =
                push_one_pass(target, file, &media_type, meta.len(), options).await?
        {
            return Ok(desc.with_annotation(annotations::TITLE, &title));
        }
        let path = file.path.clone();
        let algorithm = options.algorithm;
        let (digest, size) = blocking(move || hash_file(&path, algorithm)).await?;
        let desc =
            Descriptor::new(media_type, digest, size).with_annotation(annotations::TITLE, &title);
        (desc, file.path.clone())
    };
    let emit = |event: ProgressEvent<'_>| {
        if let Some(sink) = &options.progress {
            sink.event(&event);
        }
    };
    if target.exists(&desc).await? {
        emit(ProgressEvent::Skipped { desc: &desc });
        return Ok(desc);
    }
    emit(ProgressEvent::Started { desc: &desc });
    let mut stream = oci_target::open_file_stream(&source)?;
    if let Some(sink) = &options.progress {
        stream = report_bytes(&desc, stream, Arc::clone(sink));
    }
    match target.push(&desc, stream).await {
        Ok(()) => {
            emit(ProgressEvent::Done { desc: &desc });
            Ok(desc)
        }
        Err(error) => {
            emit(ProgressEvent::Failed {
                desc: &desc,
                error: &error,
            });
            Err(error.context(format!("pushing {}", file.path.display())))
        }
    }
}

/// Pushes a file hashed as it goes ([`Target::push_stream`]); `None` when the target cannot,
/// or progress is reported (events name content by digest, known only at the end), so the
/// caller hashes first.
async fn push_one_pass(
    target: &dyn Target,
    file: &FileRef,
    media_type: &MediaType,
    size: u64,
    options: &PushFilesOptions,
) -> Result<Option<Descriptor>> {
    if options.progress.is_some() {
        return Ok(None);
    }
    let stream = oci_target::open_file_stream(&file.path)?;
    let new = oci_target::Unhashed::new(media_type.clone())
        .with_algorithm(options.algorithm)
        .with_size(size);
    match target.push_stream(&new, stream).await {
        Ok(desc) => Ok(Some(desc)),
        Err(e) if e.is_unsupported() => Ok(None),
        Err(e) => Err(e.context(format!("pushing {}", file.path.display()))),
    }
}

/// Pushes files and directories as layers, returning their descriptors in the order given.
///
/// Files larger than [`PushFilesOptions::one_pass_min`] are hashed as they stream from disk,
/// where the target can, so they are read once; others are hashed first and not sent again when
/// the target has them. Directories are packed into a temporary tar+gzip first.
///
/// # Errors
///
/// [`ErrorKind::InvalidInput`] for a path that does not exist or two files with one title;
/// [`ErrorKind::UnsafePath`] for an absolute path (unless allowed) or one with `..`; the
/// target's errors. Layers pushed before an error stay in the target, unreferenced.
pub async fn push_files(
    target: &dyn Target,
    files: &[FileRef],
    options: &PushFilesOptions,
) -> Result<Vec<Descriptor>> {
    let mut titles = HashSet::new();
    let mut jobs = Vec::with_capacity(files.len());
    for file in files {
        let title = file.title(options.allow_absolute)?;
        if !titles.insert(title.clone()) {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!("two files would have the title {title:?}"),
            ));
        }
        jobs.push((file, title));
    }
    futures_util::stream::iter(jobs)
        .map(|(file, title)| push_one(target, file, title, options))
        .buffered(options.concurrency.max(1))
        .try_collect()
        .await
}

/// How to pull files. Build with [`PullFilesOptions::default`] and the `with_` methods.
#[derive(Debug, Clone, Default, Setters)]
#[setters(prefix = "with_")]
#[non_exhaustive]
pub struct PullFilesOptions {
    /// Replace files and directories already there. Off by default: an existing name is an
    /// error before anything is downloaded.
    pub overwrite: bool,
    /// For an index: the platform whose manifest to pull.
    #[setters(strip_option)]
    pub platform: Option<Platform>,
    /// How many files are downloaded at once (4 when zero).
    pub concurrency: usize,
    /// Receives progress events.
    #[setters(skip)]
    pub progress: Option<SharedProgress>,
    /// Caps on what a directory's archive may unpack to (`unpacked-bytes`,
    /// `unpacked-entries`, `expansion-ratio`) and on the manifest and platform walk.
    pub limits: oci_target::Limits,
}

impl PullFilesOptions {
    /// Sets the progress sink.
    pub fn with_progress(mut self, sink: impl ProgressSink + 'static) -> Self {
        self.progress = Some(Arc::new(sink));
        self
    }
}

/// One file or directory written by [`pull_files`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PulledFile {
    /// Where it is now.
    pub path: PathBuf,
    /// The layer it came from.
    pub descriptor: Descriptor,
    /// True when the layer was a directory, unpacked.
    pub unpacked: bool,
}

/// What [`pull_files`] did.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PullReport {
    /// The manifest pulled (for an index, the one chosen).
    pub manifest: Descriptor,
    /// The files written, in layer order.
    pub files: Vec<PulledFile>,
    /// Layers without a title, not written.
    pub skipped: Vec<Descriptor>,
}

/// Resolves `reference` on `source` and writes each titled layer of its manifest under
/// `out_dir` (created if missing).
///
/// Layers marked `io.deis.oras.content.unpack` are unpacked into a directory named by their
/// title, after the tar stream is checked against `io.deis.oras.content.digest`. Layers with no
/// title are skipped and listed in the report.
///
/// # Errors
///
/// [`ErrorKind::UnsafePath`] for a title, tar entry or link that would leave `out_dir`, checked
/// for every title before anything is written; [`ErrorKind::AlreadyExists`] when a name is
/// taken and `overwrite` is off; [`ErrorKind::InvalidInput`] for an index without a matching
/// platform, or two layers with one title; verification and the source's errors. A file that
/// fails leaves nothing under its name.
pub async fn pull_files(
    source: &dyn ReadOnlyTarget,
    reference: &str,
    out_dir: &Path,
    options: &PullFilesOptions,
) -> Result<PullReport> {
    let (mut desc, mut bytes) = source.resolve_manifest(reference).await?;
    if desc.media_type.is_index() {
        let index = ImageIndex::from_slice(bytes)?.into_parts().0;
        let chosen = match &options.platform {
            Some(p) => index.select(p).cloned().ok_or_else(|| {
                Error::new(
                    ErrorKind::NotFound,
                    format!("{reference} has no manifest for platform {p}"),
                )
            })?,
            None => {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!("{reference} is an index: choose a platform"),
                ));
            }
        };
        bytes = source
            .fetch_bytes(&chosen, options.limits.manifest_bytes)
            .await?;
        desc = chosen;
    }
    let manifest = ImageManifest::from_slice(bytes)?.into_parts().0;

    tokio::fs::create_dir_all(out_dir)
        .await
        .map_err(|e| Error::from(e).context(format!("cannot create {}", out_dir.display())))?;
    let mut seen = BTreeMap::new();
    let mut jobs = Vec::new();
    let mut skipped = Vec::new();
    for layer in manifest.layers {
        let Some(title) = layer.annotation(annotations::TITLE).map(str::to_owned) else {
            skipped.push(layer);
            continue;
        };
        let relative = paths::relative_name("title", &title)?;
        if seen.insert(relative.clone(), ()).is_some() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!("two layers have the title {title:?}"),
            ));
        }
        let dest = out_dir.join(&relative);
        if !options.overwrite && tokio::fs::symlink_metadata(&dest).await.is_ok() {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("{} exists and overwrite is off", dest.display()),
            ));
        }
        jobs.push((layer, relative));
    }
    let concurrency = if options.concurrency == 0 {
        4
    } else {
        options.concurrency
    };
    let files = futures_util::stream::iter(jobs)
        .map(|(layer, relative)| pull_one(source, layer, relative, out_dir, options))
        .buffered(concurrency)
        .try_collect()
        .await?;
    Ok(PullReport {
        manifest: desc,
        files,
        skipped,
    })
}

async fn pull_one(
    source: &dyn ReadOnlyTarget,
    layer: Descriptor,
    relative: PathBuf,
    out_dir: &Path,
    options: &PullFilesOptions,
) -> Result<PulledFile> {
    let emit = |event: ProgressEvent<'_>| {
        if let Some(sink) = &options.progress {
            sink.event(&event);
        }
    };
    emit(ProgressEvent::Started { desc: &layer });
    let named = format!("{} (layer {})", relative.display(), layer.digest);
    let pulled = pull_layer(source, &layer, relative, out_dir, options)
        .await
        .map_err(|e| e.context(named));
    match pulled {
        Ok(done) => {
            emit(ProgressEvent::Done { desc: &layer });
            Ok(done)
        }
        Err(error) => {
            emit(ProgressEvent::Failed {
                desc: &layer,
                error: &error,
            });
            Err(error)
        }
    }
}

async fn pull_layer(
    source: &dyn ReadOnlyTarget,
    layer: &Descriptor,
    relative: PathBuf,
    out_dir: &Path,
    options: &PullFilesOptions,
) -> Result<PulledFile> {
    let unpack = layer.annotation(annotations::ORAS_CONTENT_UNPACK) == Some("true");
    let tar_digest = match layer.annotation(annotations::ORAS_CONTENT_DIGEST) {
        Some(d) if unpack => Some(Digest::parse(d)?),
        _ => None,
    };
    let root = out_dir.to_path_buf();
    let rel = relative.clone();
    let dest = blocking(move || paths::prepare_parents(&root, &rel)).await?;
    let parent = dest.parent().unwrap_or(out_dir).to_path_buf();

    // Download into a staging file beside the destination; the stream verifies every byte.
    let staged = {
        let parent = parent.clone();
        blocking(move || {
            tempfile::Builder::new()
                .prefix(".oci-pull-")
                .tempfile_in(&parent)
                .map_err(|e| {
                    Error::from(e).context(format!("cannot stage in {}", parent.display()))
                })
        })
        .await?
    };
    // Checked against the layer whatever the store: once, by the store where it checks.
    let mut stream = source.fetch_verified(layer).await?.into_stream();
    if let Some(sink) = &options.progress {
        stream = report_bytes(layer, stream, Arc::clone(sink));
    }
    oci_target::write_stream(stream, staged.reopen()?, staged.path(), true).await?;

    let overwrite = options.overwrite;
    let limits = options.limits;
    let final_dest = dest.clone();
    blocking(move || {
        let existing = std::fs::symlink_metadata(&final_dest).ok();
        if existing.is_some() && !overwrite {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("{} appeared meanwhile; not replaced", final_dest.display()),
            ));
        }
        if unpack {
            let staging = tempfile::Builder::new()
                .prefix(".oci-pull-")
                .tempdir_in(&parent)?;
            let unpacked = tarball::unpack(
                staged.path(),
                staging.path(),
                &relative,
                tar_digest.as_ref(),
                &limits,
            )?;
            remove_existing(&final_dest, existing)?;
            std::fs::rename(&unpacked, &final_dest)?;
        } else {
            if existing.as_ref().is_some_and(|m| m.is_dir()) {
                remove_existing(&final_dest, existing)?;
            }
            staged
                .persist(&final_dest)
                .map_err(|e| Error::from(e.error))?;
        }
        Ok(())
    })
    .await?;
    Ok(PulledFile {
        path: dest,
        descriptor: layer.clone(),
        unpacked: unpack,
    })
}

fn remove_existing(path: &Path, existing: Option<std::fs::Metadata>) -> Result<()> {
    match existing {
        Some(m) if m.is_dir() => std::fs::remove_dir_all(path)?,
        Some(_) => std::fs::remove_file(path)?,
        None => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests;
