//! `oci-archive` tarballs: an image layout packed in one tar file.
//!
//! Reading indexes the tar's entries once (name, offset, size) and serves each blob by seeking
//! to it, so nothing is unpacked and memory does not grow with the archive. Entry names that are
//! absolute or climb out with `..` make the whole archive refused. Writing packs a layout's
//! `oci-layout`, `index.json` and blobs.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use oci_spec_types::{Descriptor, ImageIndex, ImageLayout, MediaType};
use oci_target::{BlobStream, Error, ErrorKind, ReadOnlyTarget, RefKind, Result, parse_ref};

use crate::OciLayout;
use crate::index::{find, ref_name, sniff_media_type};

/// A read-only store over an `oci-archive` tar file.
#[derive(Debug, Clone)]
pub struct OciArchive {
    inner: Arc<ArchiveInner>,
}

#[derive(Debug)]
struct ArchiveInner {
    path: PathBuf,
    /// Entry name (normalised, `blobs/sha256/…`) → (offset, size).
    entries: HashMap<String, (u64, u64)>,
    index: ImageIndex,
}

fn bad(path: &Path, why: String) -> Error {
    Error::new(
        ErrorKind::InvalidManifest,
        format!("{}: {why}", path.display()),
    )
}

/// A tar entry name made relative and plain, or a refusal for names that escape.
fn normalise(name: &Path) -> std::result::Result<String, String> {
    let mut parts = Vec::new();
    for c in name.components() {
        match c {
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            Component::CurDir => {}
            Component::ParentDir => {
                return Err(format!("the entry {} climbs out with '..'", name.display()));
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(format!("the entry {} is an absolute path", name.display()));
            }
        }
    }
    Ok(parts.join("/"))
}

impl OciArchive {
    /// Opens and indexes the archive at `path`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidManifest`] for a tar with `..` or absolute entry names, or without a
    /// valid `oci-layout` and `index.json`; [`ErrorKind::Unsupported`] for another layout
    /// version; I/O errors.
    pub async fn open(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        let p = path.clone();
        let inner = tokio::task::spawn_blocking(move || -> Result<ArchiveInner> {
            let file = std::fs::File::open(&p)
                .map_err(|e| Error::from(e).context(format!("cannot open {}", p.display())))?;
            let mut tar = tar::Archive::new(file);
            let mut entries = HashMap::new();
            let mut small: HashMap<String, Vec<u8>> = HashMap::new();
            for entry in tar
                .entries()
                .map_err(|e| bad(&p, format!("not a tar archive: {e}")))?
            {
                let mut entry = entry.map_err(|e| bad(&p, format!("malformed tar: {e}")))?;
                let name = normalise(
                    &entry
                        .path()
                        .map_err(|e| bad(&p, format!("malformed entry name: {e}")))?,
                )
                .map_err(|why| bad(&p, why))?;
                if entry.header().entry_type().is_dir() {
                    continue;
                }
                let (offset, size) = (entry.raw_file_position(), entry.size());
                if name == "oci-layout" || name == "index.json" {
                    let mut buf = Vec::new();
                    entry
                        .by_ref()
                        .take(oci_spec_types::MAX_MANIFEST_BYTES)
                        .read_to_end(&mut buf)
                        .map_err(|e| bad(&p, e.to_string()))?;
                    small.insert(name.clone(), buf);
                }
                entries.insert(name, (offset, size));
            }
            let layout = small
                .get("oci-layout")
                .ok_or_else(|| bad(&p, "no oci-layout file in the archive".into()))?;
            let layout = ImageLayout::from_slice(layout).map_err(|e| bad(&p, e.to_string()))?;
            layout
                .validate()
                .map_err(|e| Error::new(ErrorKind::Unsupported, format!("{}: {e}", p.display())))?;
            let index = small
                .get("index.json")
                .ok_or_else(|| bad(&p, "no index.json in the archive".into()))?;
            let index = ImageIndex::from_slice(index.clone())
                .map_err(|e| bad(&p, format!("index.json: {e}")))?
                .into_parts()
                .0;
            Ok(ArchiveInner {
                path: p,
                entries,
                index,
            })
        })
        .await
        .map_err(|e| Error::new(ErrorKind::Io, format!("indexing the archive failed: {e}")))??;
        Ok(OciArchive {
            inner: Arc::new(inner),
        })
    }

    fn entry(&self, digest: &oci_digest::Digest) -> Option<(u64, u64)> {
        self.inner
            .entries
            .get(&format!(
                "blobs/{}/{}",
                digest.algorithm(),
                digest.encoded()
            ))
            .copied()
    }

    fn read_small(&self, digest: &oci_digest::Digest) -> Option<Vec<u8>> {
        let (offset, size) = self.entry(digest)?;
        if size > oci_spec_types::MAX_MANIFEST_BYTES {
            return None;
        }
        let mut f = std::fs::File::open(&self.inner.path).ok()?;
        f.seek(SeekFrom::Start(offset)).ok()?;
        let mut buf = vec![0u8; size as usize];
        f.read_exact(&mut buf).ok()?;
        Some(buf)
    }
}

#[async_trait]
impl ReadOnlyTarget for OciArchive {
    async fn fetch(&self, desc: &Descriptor) -> Result<BlobStream> {
        Ok(self.fetch_verified(desc).await?.into_stream())
    }

    async fn fetch_verified(&self, desc: &Descriptor) -> Result<oci_target::Verified> {
        desc.digest.hash_algorithm()?;
        let (offset, size) = self.entry(&desc.digest).ok_or_else(|| {
            Error::not_found(format!(
                "{} is not in the archive {}",
                desc.digest,
                self.inner.path.display()
            ))
        })?;
        let mut file = std::fs::File::open(&self.inner.path).map_err(Error::from)?;
        file.seek(SeekFrom::Start(offset)).map_err(Error::from)?;
        // Only this entry's bytes: the verifier sees exactly what the archive holds for it.
        let stream = oci_target::file_stream_limited(file, &self.inner.path, size);
        oci_target::Verified::new(desc, stream)
    }

    async fn exists(&self, desc: &Descriptor) -> Result<bool> {
        Ok(self.entry(&desc.digest).is_some())
    }

    async fn describe(&self, digest: &oci_digest::Digest) -> Result<Descriptor> {
        self.resolve(digest.as_str()).await
    }

    async fn resolve(&self, reference: &str) -> Result<Descriptor> {
        let index = &self.inner.index;
        match parse_ref(reference) {
            Ok(RefKind::Digest(d)) => {
                let me = self.clone();
                let reader = move |m: &Descriptor| Ok(me.read_small(&m.digest));
                if let Some(found) = find(index, &d, &reader, &oci_target::Limits::default())? {
                    return Ok(found);
                }
                let (_, size) = self
                    .entry(&d)
                    .ok_or_else(|| Error::not_found(format!("{d} is not in the archive")))?;
                let media_type = self
                    .read_small(&d)
                    .and_then(|b| sniff_media_type(&b))
                    .unwrap_or_else(MediaType::octet_stream);
                Ok(Descriptor::new(media_type, d, size))
            }
            _ => index
                .manifests
                .iter()
                .rev()
                .find(|m| ref_name(m) == Some(reference))
                .map(|m| Descriptor::new(m.media_type.clone(), m.digest.clone(), m.size))
                .ok_or_else(|| Error::not_found(format!("no tag {reference:?} in the archive"))),
        }
    }

    async fn tags(&self) -> Result<Vec<String>> {
        Ok(crate::index::tags(&self.inner.index))
    }
}

impl OciLayout {
    /// Packs this layout into an `oci-archive` tar file at `out` (written to a temporary name,
    /// then renamed, so a failure leaves no half archive).
    ///
    /// # Errors
    ///
    /// I/O errors.
    pub async fn write_archive(&self, out: impl Into<PathBuf>) -> Result<()> {
        let root = self.root().to_path_buf();
        let out = out.into();
        tokio::task::spawn_blocking(move || -> Result<()> {
            let tmp = out.with_extension("partial");
            let io = |e: std::io::Error| {
                Error::from(e).context(format!("cannot write {}", tmp.display()))
            };
            let file = std::fs::File::create(&tmp).map_err(io)?;
            let mut builder = tar::Builder::new(file);
            builder.follow_symlinks(false);
            builder
                .append_path_with_name(root.join("oci-layout"), "oci-layout")
                .map_err(io)?;
            builder
                .append_path_with_name(root.join("index.json"), "index.json")
                .map_err(io)?;
            builder
                .append_dir_all("blobs", root.join("blobs"))
                .map_err(io)?;
            let file = builder.into_inner().map_err(io)?;
            file.sync_all().map_err(io)?;
            std::fs::rename(&tmp, &out).map_err(io)
        })
        .await
        .map_err(|e| Error::new(ErrorKind::Io, format!("writing the archive failed: {e}")))?
    }
}
