//! Reading and replacing `index.json`.
//!
//! Every change is a read-modify-write under an exclusive lock on `.index.lock` (a file the
//! image-spec does not name, so other tools ignore it), taken with the operating system's file
//! locks so it holds across processes as well as threads. The new index is written to a
//! temporary file, fsynced and renamed over the old one: readers see the old or the new index,
//! never half of one.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use oci_spec_types::{Descriptor, ImageIndex, MediaType};
use oci_target::{Error, ErrorKind, Result};

pub(crate) const INDEX: &str = "index.json";
const LOCK: &str = ".index.lock";

fn io_error(what: &str, path: &Path, e: std::io::Error) -> Error {
    let kind = match e.kind() {
        std::io::ErrorKind::NotFound => ErrorKind::NotFound,
        _ => ErrorKind::Io,
    };
    Error::new(kind, format!("{what} {}: {e}", path.display())).with_source(e)
}

/// Reads `index.json`, strictly: it must be an OCI image index.
pub(crate) fn read(root: &Path) -> Result<ImageIndex> {
    let path = root.join(INDEX);
    let bytes = std::fs::read(&path).map_err(|e| io_error("cannot read", &path, e))?;
    let doc = ImageIndex::from_slice(bytes).map_err(|e| {
        Error::new(
            ErrorKind::InvalidManifest,
            format!("{} is not an image index: {e}", path.display()),
        )
    })?;
    let index = doc.into_parts().0;
    index.validate().map_err(|e| {
        Error::new(
            ErrorKind::InvalidManifest,
            format!("{} is not a valid image index: {e}", path.display()),
        )
    })?;
    Ok(index)
}

/// An empty index.
pub(crate) fn empty() -> ImageIndex {
    ImageIndex::new(Vec::new())
}

/// Changes `index.json` under the lock. `change` returns whether it changed anything; only then
/// is the file replaced.
pub(crate) fn update<T>(
    root: &Path,
    fsync: bool,
    change: impl FnOnce(&mut ImageIndex) -> Result<(bool, T)>,
) -> Result<T> {
    let lock_path = root.join(LOCK);
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| io_error("cannot open the lock", &lock_path, e))?;
    lock.lock()
        .map_err(|e| io_error("cannot lock", &lock_path, e))?;
    let result = (|| {
        let mut index = read(root)?;
        let (changed, out) = change(&mut index)?;
        if changed {
            write(root, &index, fsync)?;
        }
        Ok(out)
    })();
    let _ = lock.unlock();
    result
}

static TMP: AtomicU64 = AtomicU64::new(0);

/// Replaces `index.json` atomically with `index`.
pub(crate) fn write(root: &Path, index: &ImageIndex, fsync: bool) -> Result<()> {
    let doc = index.to_document().map_err(|e| {
        Error::new(
            ErrorKind::InvalidManifest,
            format!("cannot serialise the index: {e}"),
        )
    })?;
    let tmp = root.join(format!(
        ".index.json.tmp-{}-{}",
        std::process::id(),
        TMP.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut f = File::create(&tmp).map_err(|e| io_error("cannot create", &tmp, e))?;
        f.write_all(doc.bytes())
            .map_err(|e| io_error("cannot write", &tmp, e))?;
        if fsync {
            f.sync_all().map_err(|e| io_error("cannot sync", &tmp, e))?;
        }
        std::fs::rename(&tmp, root.join(INDEX))
            .map_err(|e| io_error("cannot replace the index with", &tmp, e))?;
        if fsync {
            // The rename itself is durable once the directory is synced.
            if let Ok(dir) = File::open(root) {
                let _ = dir.sync_all();
            }
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The tag an entry carries.
pub(crate) fn ref_name(d: &Descriptor) -> Option<&str> {
    d.annotation(oci_spec_types::annotations::REF_NAME)
}

/// The media type of `digest` as the index records it, searching nested indexes by reading them
/// through `read_blob`.
pub(crate) fn find(
    index: &ImageIndex,
    digest: &oci_spec_types::Digest,
    read_blob: &dyn Fn(&Descriptor) -> Option<Vec<u8>>,
    depth: usize,
) -> Option<Descriptor> {
    for m in &index.manifests {
        if &m.digest == digest {
            return Some(Descriptor::new(
                m.media_type.clone(),
                m.digest.clone(),
                m.size,
            ));
        }
    }
    if depth == 0 {
        return None;
    }
    for m in index.manifests.iter().filter(|m| m.media_type.is_index()) {
        if let Some(bytes) = read_blob(m)
            && let Ok(doc) = ImageIndex::from_slice(bytes)
            && let Some(found) = find(doc.value(), digest, read_blob, depth - 1)
        {
            return Some(found);
        }
    }
    None
}

/// The media type written inside a small JSON document, if it says one.
pub(crate) fn sniff_media_type(bytes: &[u8]) -> Option<MediaType> {
    #[derive(serde::Deserialize)]
    struct Head {
        #[serde(rename = "mediaType")]
        media_type: Option<String>,
    }
    let head: Head = serde_json::from_slice(bytes).ok()?;
    MediaType::parse(&head.media_type?).ok()
}
