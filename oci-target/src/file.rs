//! Files as streams, read ahead.
//!
//! Reading a file chunk by chunk on the task that also hashes and sends each chunk leaves the
//! disk idle while the CPU works and the other way round. A blocking thread reading ahead into a
//! small bounded channel lets the two overlap, at a memory cost of a few pieces.

use std::path::{Path, PathBuf};

use bytes::Bytes;

use crate::{BlobStream, Error, ErrorKind, Result};

/// Bytes read per system call. Kept under the allocator's mmap threshold so buffers are
/// recycled from the heap: 1 MiB pieces cost a fresh mapping, its page faults and an unmap each,
/// which tripled the system time of a 1 GiB read.
const PIECE: usize = 64 * 1024;
/// Pieces that may wait between the reader and the consumer (1 MiB in all).
const DEPTH: usize = 16;
/// Pieces that may wait for the writer of [`write_stream`]. Pieces from a socket may each hold
/// on to the larger buffer they were cut from, so few are kept.
const WRITE_DEPTH: usize = 4;

/// Streams an open file from its current position to its end, read ahead by a blocking thread.
/// At most 1 MiB waits at a time; dropping the stream stops the reader.
///
/// Must be called within a tokio runtime.
pub fn file_stream(file: std::fs::File, path: impl Into<PathBuf>) -> BlobStream {
    file_stream_limited(file, path, u64::MAX)
}

/// As [`file_stream`], but stops after `limit` bytes: for one entry inside a larger file, such
/// as a blob in a tar archive.
pub fn file_stream_limited(
    file: std::fs::File,
    path: impl Into<PathBuf>,
    limit: u64,
) -> BlobStream {
    use std::io::Read;
    let path = path.into();
    let mut file = file.take(limit);
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes>>(DEPTH);
    tokio::task::spawn_blocking(move || {
        loop {
            let mut buf = vec![0u8; PIECE];
            let item = match file.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    buf.truncate(n);
                    Ok(Bytes::from(buf))
                }
                Err(e) => Err(Error::new(
                    ErrorKind::Io,
                    format!("cannot read {}: {e}", path.display()),
                )
                .with_source(e)),
            };
            let failed = item.is_err();
            if tx.blocking_send(item).is_err() || failed {
                return;
            }
        }
    });
    Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }))
}

/// Writes `stream` to `file` on a blocking thread while this task takes the next pieces from
/// the stream (at most four pieces between the two), then syncs the data when `sync` says. Returns the
/// bytes written. `path` is for error messages. On an error of the stream, what was written
/// stays in `file`: the caller owns it and removes it.
///
/// Must be called within a tokio runtime.
///
/// # Errors
///
/// The stream's first error, else [`ErrorKind::Io`] writing or syncing.
pub async fn write_stream(
    mut stream: BlobStream,
    file: std::fs::File,
    path: &Path,
    sync: bool,
) -> Result<u64> {
    use futures_util::StreamExt;
    use std::io::Write;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(WRITE_DEPTH);
    let p = path.to_path_buf();
    let writer = tokio::task::spawn_blocking(move || -> Result<u64> {
        let mut file = file;
        let mut written = 0u64;
        while let Some(piece) = rx.blocking_recv() {
            file.write_all(&piece)
                .map_err(|e| Error::at_path("cannot write", &p, e))?;
            written += piece.len() as u64;
        }
        if sync {
            file.sync_data()
                .map_err(|e| Error::at_path("cannot sync", &p, e))?;
        }
        Ok(written)
    });
    let mut failure = None;
    while let Some(piece) = stream.next().await {
        match piece {
            Ok(piece) => {
                if tx.send(piece).await.is_err() {
                    break; // the writer failed; its error is below
                }
            }
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    drop(tx);
    let written = writer.await.map_err(|e| {
        Error::new(
            ErrorKind::Io,
            format!("the writer of {} stopped: {e}", path.display()),
        )
    })?;
    match failure {
        Some(e) => Err(e),
        None => written,
    }
}

/// Opens `path` and streams it with [`file_stream`].
///
/// # Errors
///
/// [`ErrorKind::NotFound`] or [`ErrorKind::Io`] when it cannot be opened.
pub fn open_file_stream(path: &Path) -> Result<BlobStream> {
    let file = std::fs::File::open(path)
        .map_err(|e| Error::from(e).context(format!("cannot open {}", path.display())))?;
    Ok(file_stream(file, path))
}

/// Replaces the file at `path` with `bytes`, atomically: a temporary file of an unpredictable
/// name is created exclusively beside it (never through a link someone planted there), given
/// `mode` at creation on Unix, written, synced when `fsync` is set, and renamed over `path`;
/// the directory is synced after the rename when `fsync` is set. Readers see the old file or the
/// new one, never half of one, and a failure leaves no temporary file behind.
///
/// # Errors
///
/// [`ErrorKind::Io`] naming `path` when the directory cannot be written or the rename fails.
pub fn write_file_atomically(path: &Path, bytes: &[u8], mode: u32, fsync: bool) -> Result<()> {
    use std::io::Write;
    let io = |e: std::io::Error| Error::at_path("cannot write", path, e);
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(mode));
    #[cfg(not(unix))]
    let _ = mode;
    let mut tmp = builder.tempfile_in(dir).map_err(io)?;
    tmp.write_all(bytes).map_err(io)?;
    if fsync {
        tmp.as_file().sync_all().map_err(io)?;
    }
    tmp.persist(path).map_err(|e| io(e.error))?;
    if fsync {
        // The rename itself is durable once the directory is synced.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    #[tokio::test]
    async fn streams_a_file_whole_and_in_order() {
        let path = std::env::temp_dir().join(format!("oci-target-file-{}", std::process::id()));
        let data: Vec<u8> = (0..3_500_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let mut s = open_file_stream(&path).unwrap();
        let mut got = Vec::new();
        while let Some(c) = s.next().await {
            got.extend_from_slice(&c.unwrap());
        }
        assert!(got == data);
        std::fs::remove_file(&path).unwrap();
        assert_eq!(
            open_file_stream(&path).err().unwrap().kind(),
            ErrorKind::NotFound
        );
    }
}
