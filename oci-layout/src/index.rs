//! Reading and replacing `index.json`.
//!
//! Every change is a read-modify-write under an exclusive lock on `.index.lock` (a file the
//! image-spec does not name, so other tools ignore it), taken with the operating system's file
//! locks so it holds across processes as well as threads. The new index is written to a
//! temporary file of an unpredictable name, created exclusively, synced and renamed over the old
//! one: readers see the old or the new index, never half of one.

use std::collections::{HashSet, VecDeque};
use std::fs::OpenOptions;
use std::io::Read;
use std::path::Path;

use oci_spec_types::{Descriptor, Document, ImageIndex, MediaType};
use oci_target::{Error, ErrorKind, Limits, Result};

use crate::LayoutOptions;

pub(crate) const INDEX: &str = "index.json";
const LOCK: &str = ".index.lock";

/// Reads `index.json`, strictly: it must be an OCI image index no larger than the
/// `index-json-bytes` limit, which is checked before the file is read whole.
pub(crate) fn read(root: &Path, limits: &Limits) -> Result<ImageIndex> {
    let path = root.join(INDEX);
    let file = std::fs::File::open(&path).map_err(|e| Error::at_path("cannot read", &path, e))?;
    let what = format_args!("{}", path.display());
    let len = file
        .metadata()
        .map_err(|e| Error::at_path("cannot read", &path, e))?
        .len();
    limits.check("index-json-bytes", len, what)?;
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(limits.index_json_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| Error::at_path("cannot read", &path, e))?;
    limits.check("index-json-bytes", bytes.len() as u64, what)?;
    let doc = Document::<ImageIndex>::parse_with_limit("index", bytes, limits.index_json_bytes)
        .map_err(|e| {
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
    options: &LayoutOptions,
    change: impl FnOnce(&mut ImageIndex) -> Result<(bool, T)>,
) -> Result<T> {
    let lock_path = root.join(LOCK);
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| Error::at_path("cannot open the lock", &lock_path, e))?;
    lock.lock()
        .map_err(|e| Error::at_path("cannot lock", &lock_path, e))?;
    let result = (|| {
        let mut index = read(root, &options.limits)?;
        let (changed, out) = change(&mut index)?;
        if changed {
            write(root, &index, options.fsync)?;
        }
        Ok(out)
    })();
    let _ = lock.unlock();
    result
}

/// Replaces `index.json` atomically with `index`.
pub(crate) fn write(root: &Path, index: &ImageIndex, fsync: bool) -> Result<()> {
    let doc = index.to_document().map_err(|e| {
        Error::new(
            ErrorKind::InvalidManifest,
            format!("cannot serialise the index: {e}"),
        )
    })?;
    oci_target::write_file_atomically(&root.join(INDEX), doc.bytes(), 0o644, fsync)
}

/// The tag an entry carries.
pub(crate) fn ref_name(d: &Descriptor) -> Option<&str> {
    d.annotation(oci_spec_types::annotations::REF_NAME)
}

/// The tags `index` names, sorted, each once.
pub(crate) fn tags(index: &ImageIndex) -> Vec<String> {
    let mut tags: Vec<String> = index
        .manifests
        .iter()
        .filter_map(|m| ref_name(m).map(str::to_owned))
        .collect();
    tags.sort();
    tags.dedup();
    tags
}

/// The descriptor `index` (or an index nested in it) records for `digest`, searching nested
/// indexes breadth-first, each one once, as deep and as many as the limits allow. `read_blob`
/// reads a nested index (`None` when it is not there).
///
/// # Errors
///
/// [`ErrorKind::SizeLimitExceeded`] naming `graph-depth` or `graph-nodes`; errors of
/// `read_blob` for a nested index that is there but unreadable.
pub(crate) fn find(
    index: &ImageIndex,
    digest: &oci_spec_types::Digest,
    read_blob: &dyn Fn(&Descriptor) -> Result<Option<Vec<u8>>>,
    limits: &Limits,
) -> Result<Option<Descriptor>> {
    let what = format_args!("resolving {digest} in the layout");
    let mut seen = HashSet::new();
    let mut queue: VecDeque<(ImageIndex, u64)> = VecDeque::from([(index.clone(), 0)]);
    while let Some((index, depth)) = queue.pop_front() {
        if let Some(m) = index.manifests.iter().find(|m| &m.digest == digest) {
            return Ok(Some(Descriptor::new(
                m.media_type.clone(),
                m.digest.clone(),
                m.size,
            )));
        }
        for m in index.manifests.iter().filter(|m| m.media_type.is_index()) {
            if !seen.insert(m.digest.clone()) {
                continue;
            }
            limits.check("graph-depth", depth + 1, what)?;
            limits.check("graph-nodes", seen.len() as u64, what)?;
            let Some(bytes) = read_blob(m)? else { continue };
            if let Ok(doc) = ImageIndex::from_slice(bytes) {
                queue.push_back((doc.into_parts().0, depth + 1));
            }
        }
    }
    Ok(None)
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
