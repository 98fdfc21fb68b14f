//! The layout's own paths, never followed through links.
//!
//! A layout directory may have been built by anyone. Its own directories (`blobs/`,
//! `blobs/<alg>/`, `ingest/`) must be real directories and its blobs regular files: a link in
//! any of those places could make a read serve another file, or make GC delete files outside the
//! layout. Only algorithms this crate can verify become paths, so a name under an unknown
//! algorithm directory is never taken for a blob.

use std::fs::Metadata;
use std::path::{Path, PathBuf};

use oci_digest::{Algorithm, Digest};
use oci_target::{Error, ErrorKind, Result};

/// The algorithms whose directories the layout reads and writes.
pub(crate) const ALGORITHMS: [Algorithm; 2] = [Algorithm::Sha256, Algorithm::Sha512];

/// The staging directory of pushes.
pub(crate) const INGEST: &str = "ingest";

pub(crate) fn unsafe_path(path: &Path, what: &str) -> Error {
    Error::new(
        ErrorKind::UnsafePath,
        format!(
            "{} is {what}; the layout's own directories and blobs are never followed through \
             links, so it is refused",
            path.display()
        ),
    )
}

/// Checks that `dir`, one of the layout's own directories, is a real directory if it exists.
/// `Ok(false)` when it does not exist.
///
/// # Errors
///
/// [`ErrorKind::UnsafePath`] for a link or anything other than a directory.
pub(crate) fn check_dir(dir: &Path) -> Result<bool> {
    match std::fs::symlink_metadata(dir) {
        Ok(m) if m.file_type().is_symlink() => Err(unsafe_path(dir, "a symbolic link")),
        Ok(m) if !m.is_dir() => Err(unsafe_path(dir, "not a directory")),
        Ok(_) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::at_path("cannot check", dir, e)),
    }
}

/// The path of `digest`'s blob under `root`, after checking that its algorithm is one the
/// layout verifies and that `blobs/` and `blobs/<alg>/` are real directories where they exist.
///
/// # Errors
///
/// [`ErrorKind::Unsupported`] for an algorithm that cannot be verified; [`ErrorKind::UnsafePath`]
/// for a linked directory.
pub(crate) fn blob_path(root: &Path, digest: &Digest) -> Result<PathBuf> {
    digest.hash_algorithm()?;
    let blobs = root.join("blobs");
    if check_dir(&blobs)? {
        check_dir(&blobs.join(digest.algorithm()))?;
    }
    Ok(blobs.join(digest.algorithm()).join(digest.encoded()))
}

/// The metadata of a blob file, `None` when there is none.
///
/// # Errors
///
/// [`ErrorKind::UnsafePath`] when the blob is a link or not a regular file.
pub(crate) fn blob_file(path: &Path) -> Result<Option<Metadata>> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Err(unsafe_path(path, "a symbolic link")),
        Ok(m) if !m.is_file() => Err(unsafe_path(path, "not a regular file")),
        Ok(m) => Ok(Some(m)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::at_path("cannot check", path, e)),
    }
}

/// One entry found under `blobs/`.
pub(crate) enum Found {
    /// A regular file named by a digest of a registered algorithm.
    Blob(Digest, PathBuf, Metadata),
    /// A file that is not named by a digest.
    Stray(PathBuf),
    /// A link, or something that is neither a file nor a directory, where the layout's own
    /// directories or blobs belong.
    Unsafe(PathBuf, String),
}

/// Everything under `blobs/<alg>/` for the registered algorithms, without following a link.
/// Directories of other algorithms are left alone.
///
/// # Errors
///
/// [`ErrorKind::UnsafePath`] when `blobs/` itself is a link; I/O errors listing a directory.
pub(crate) fn list_blobs(root: &Path) -> Result<Vec<Found>> {
    let mut out = Vec::new();
    let blobs = root.join("blobs");
    if !check_dir(&blobs)? {
        return Ok(out);
    }
    for alg in ALGORITHMS {
        let dir = blobs.join(alg.as_str());
        match check_dir(&dir) {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                out.push(Found::Unsafe(dir, e.message().to_owned()));
                continue;
            }
        }
        let listing =
            std::fs::read_dir(&dir).map_err(|e| Error::at_path("cannot list", &dir, e))?;
        for entry in listing {
            let entry = entry.map_err(|e| Error::at_path("cannot list", &dir, e))?;
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            match blob_file(&path) {
                Err(e) => out.push(Found::Unsafe(path, e.message().to_owned())),
                Ok(None) => {}
                Ok(Some(meta)) => match Digest::parse(&format!("{}:{name}", alg.as_str())) {
                    Ok(d) => out.push(Found::Blob(d, path, meta)),
                    Err(_) => out.push(Found::Stray(path)),
                },
            }
        }
    }
    Ok(out)
}
