//! Small blobs written as unnamed files and linked into place (Linux's `O_TMPFILE`).
//!
//! Staging a blob under `ingest/` and renaming it into `blobs/<alg>/` changes two directories
//! and holds both their locks at once; an unnamed file in the blob's own directory, linked under
//! its name once written (and synced), changes one, and a crash before the link leaves nothing
//! behind. Where the filesystem or the system cannot (no `O_TMPFILE`, no `/proc`), or the name is
//! taken (a short leftover of a crash, which a rename replaces), the caller stages as before.

use std::path::Path;

use oci_target::Result;

/// Writes `bytes` (verified) as an unnamed file in the directory of `target`, which the caller
/// checked, synced when `fsync` says. `Ok(None)` when this cannot be done here and the caller
/// must stage the blob instead.
///
/// # Errors
///
/// I/O errors writing or syncing the content.
#[cfg(target_os = "linux")]
pub(crate) fn write(target: &Path, bytes: &[u8], fsync: bool) -> Result<Option<std::fs::File>> {
    use std::io::Write;

    use oci_target::Error;
    use rustix::fs::{Mode, OFlags};

    let Some(dir) = target.parent() else {
        return Ok(None);
    };
    let flags = OFlags::WRONLY | OFlags::TMPFILE | OFlags::CLOEXEC;
    let Ok(fd) = rustix::fs::open(dir, flags, Mode::from_raw_mode(0o666)) else {
        // Not supported by this filesystem, or the directory is not made yet.
        return Ok(None);
    };
    let mut file = std::fs::File::from(fd);
    file.write_all(bytes)
        .map_err(|e| Error::at_path("cannot write a blob in", dir, e))?;
    if fsync {
        file.sync_data()
            .map_err(|e| Error::at_path("cannot sync a blob in", dir, e))?;
    }
    Ok(Some(file))
}

/// Links the unnamed `file` under `target`. `Ok(false)` when the name is taken (a leftover to
/// replace, or a concurrent writer) or there is no `/proc`: the caller stages instead.
///
/// # Errors
///
/// Other I/O errors linking the file.
#[cfg(target_os = "linux")]
pub(crate) fn link(file: &std::fs::File, target: &Path) -> Result<bool> {
    use std::os::fd::AsRawFd;

    use oci_target::Error;
    use rustix::fs::{AtFlags, CWD};
    use rustix::io::Errno;

    let unnamed = format!("/proc/self/fd/{}", file.as_raw_fd());
    match rustix::fs::linkat(CWD, unnamed.as_str(), CWD, target, AtFlags::SYMLINK_FOLLOW) {
        Ok(()) => Ok(true),
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
pub(crate) fn write(_target: &Path, _bytes: &[u8], _fsync: bool) -> Result<Option<std::fs::File>> {
    Ok(None)
}

/// Never reached elsewhere: [`write`] made no file.
#[cfg(not(target_os = "linux"))]
pub(crate) fn link(_file: &std::fs::File, _target: &Path) -> Result<bool> {
    Ok(false)
}
