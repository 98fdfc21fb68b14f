//! Small blobs written as unnamed files and linked into place (Linux's `O_TMPFILE`).
//!
//! Staging a blob under `ingest/` and renaming it into `blobs/<alg>/` changes two directories
//! and holds both their locks at once; an unnamed file in the blob's own directory, linked under
//! its name once written (and synced), changes one, and a crash before the link leaves nothing
//! behind. Where the filesystem or the system cannot (no `O_TMPFILE`, no `/proc`), or the name is
//! taken (a short leftover of a crash, which a rename replaces), the caller stages as before.

use std::path::Path;

use oci_target::Result;

/// Writes `bytes` (verified) as the blob at `target`, whose directory the caller checked.
/// `Ok(false)` when this cannot be done here and the caller must stage the blob instead.
///
/// # Errors
///
/// I/O errors writing or syncing the content, or linking it.
#[cfg(target_os = "linux")]
pub(crate) fn place(target: &Path, bytes: &[u8], fsync: bool) -> Result<bool> {
    use std::io::Write;
    use std::os::fd::AsRawFd;

    use oci_target::Error;
    use rustix::fs::{AtFlags, CWD, Mode, OFlags};
    use rustix::io::Errno;

    let Some(dir) = target.parent() else {
        return Ok(false);
    };
    let flags = OFlags::WRONLY | OFlags::TMPFILE | OFlags::CLOEXEC;
    let Ok(fd) = rustix::fs::open(dir, flags, Mode::from_raw_mode(0o666)) else {
        // Not supported by this filesystem, or the directory is not made yet.
        return Ok(false);
    };
    let mut file = std::fs::File::from(fd);
    file.write_all(bytes)
        .map_err(|e| Error::at_path("cannot write a blob in", dir, e))?;
    if fsync {
        file.sync_data()
            .map_err(|e| Error::at_path("cannot sync a blob in", dir, e))?;
    }
    let unnamed = format!("/proc/self/fd/{}", file.as_raw_fd());
    match rustix::fs::linkat(CWD, unnamed.as_str(), CWD, target, AtFlags::SYMLINK_FOLLOW) {
        Ok(()) => Ok(true),
        // Taken (a leftover to replace, or a concurrent writer), or no /proc: stage instead.
        Err(Errno::EXIST | Errno::NOENT | Errno::PERM | Errno::ACCESS) => Ok(false),
        Err(e) => Err(Error::at_path(
            "cannot link the verified blob into",
            target,
            std::io::Error::from(e),
        )),
    }
}

/// Elsewhere the caller always stages.
#[cfg(not(target_os = "linux"))]
pub(crate) fn place(_target: &Path, _bytes: &[u8], _fsync: bool) -> Result<bool> {
    Ok(false)
}
