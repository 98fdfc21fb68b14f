//! Syncs shared by concurrent writers: one `fsync` of a directory for as many renames into it as
//! finished before it started, and (on Linux) one `syncfs` of the layout's filesystem for as many
//! small blobs as were written before it started.
//!
//! Every blob lands in `blobs/<alg>/` by a rename or a link, and it is durable only once that
//! directory is synced. Copies of many small blobs write several at once; a writer that finds a
//! sync already running waits for it and, if it did not cover its write, for the next one, which
//! covers every write finished by then. Each caller still returns only once its own write is
//! durable. Where each small blob would take a device flush of its own (an `fdatasync`), a
//! filesystem sync writes out and flushes the data of all the blobs waiting before any of them is
//! linked under its name, and the next one makes those links durable along with the data of the
//! blobs written meanwhile.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use oci_target::{Error, ErrorKind, Result};

/// True where [`Syncs::filesystem`] makes written data durable with one sync for many files.
pub(crate) const FILESYSTEM_SYNC: bool = cfg!(target_os = "linux");

/// What a shared sync does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    /// `fsync` of a directory: the renames and links into it.
    Dir,
    /// `syncfs` of the filesystem holding a path: every file's data written so far.
    FileSystem,
}

/// The shared syncs of one layout.
#[derive(Debug, Default)]
pub(crate) struct Syncs {
    groups: Mutex<HashMap<(PathBuf, Kind), Arc<Group>>>,
}

#[derive(Debug, Default)]
struct Group {
    /// Writes announced so far (each caller takes the next number after its write).
    announced: AtomicU64,
    /// The highest number a finished sync covers; held while a sync runs.
    synced: tokio::sync::Mutex<u64>,
    /// Syncs run.
    runs: AtomicU64,
}

impl Syncs {
    /// Returns once every rename into `dir` finished before this call is durable.
    pub(crate) async fn dir(&self, dir: &Path) -> Result<()> {
        self.shared(dir, Kind::Dir).await
    }

    /// Returns once the data of every file written on `path`'s filesystem before this call is
    /// durable. Only where [`FILESYSTEM_SYNC`] holds; elsewhere each file is synced by itself.
    pub(crate) async fn filesystem(&self, path: &Path) -> Result<()> {
        self.shared(path, Kind::FileSystem).await
    }

    async fn shared(&self, path: &Path, kind: Kind) -> Result<()> {
        let state = self
            .groups
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry((path.to_path_buf(), kind))
            .or_default()
            .clone();
        let ticket = state.announced.fetch_add(1, Ordering::SeqCst) + 1;
        let mut synced = state.synced.lock().await;
        if *synced >= ticket {
            // A sync that started after our write has finished.
            return Ok(());
        }
        let covers = state.announced.load(Ordering::SeqCst);
        let owned = path.to_path_buf();
        tokio::task::spawn_blocking(move || run(&owned, kind))
            .await
            .map_err(|e| Error::new(ErrorKind::Io, format!("a blocking layout task failed: {e}")))?
            .map_err(|e| Error::at_path("cannot sync", path, e))?;
        state.runs.fetch_add(1, Ordering::Relaxed);
        *synced = covers;
        Ok(())
    }

    /// How many filesystem syncs ran for `path`.
    #[cfg(test)]
    pub(crate) fn filesystem_syncs(&self, path: &Path) -> u64 {
        let groups = self.groups.lock().unwrap();
        groups
            .get(&(path.to_path_buf(), Kind::FileSystem))
            .map_or(0, |g| g.runs.load(Ordering::Relaxed))
    }
}

fn run(path: &Path, kind: Kind) -> std::io::Result<()> {
    let file = std::fs::File::open(path)?;
    match kind {
        Kind::Dir => file.sync_all(),
        #[cfg(target_os = "linux")]
        Kind::FileSystem => rustix::fs::syncfs(&file).map_err(std::io::Error::from),
        #[cfg(not(target_os = "linux"))]
        Kind::FileSystem => Err(std::io::Error::from(std::io::ErrorKind::Unsupported)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_callers_share_syncs_and_each_is_covered() {
        let dir = tempfile::tempdir().unwrap();
        let syncs = Arc::new(Syncs::default());
        let tasks: Vec<_> = (0..32)
            .map(|_| {
                let (syncs, path) = (syncs.clone(), dir.path().to_path_buf());
                tokio::spawn(async move { syncs.dir(&path).await })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let state = syncs.groups.lock().unwrap()[&(dir.path().to_path_buf(), Kind::Dir)].clone();
        assert_eq!(state.announced.load(Ordering::SeqCst), 32);
        // The last sync covered every caller.
        assert_eq!(*state.synced.lock().await, 32);
        assert!(state.runs.load(Ordering::Relaxed) >= 1);
        let missing = dir.path().join("gone");
        assert_eq!(
            syncs.dir(&missing).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
    }

    #[cfg(target_os = "linux")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_filesystem_sync_covers_files_written_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let syncs = Arc::new(Syncs::default());
        let tasks: Vec<_> = (0..32)
            .map(|i| {
                let (syncs, path) = (syncs.clone(), dir.path().to_path_buf());
                tokio::spawn(async move {
                    std::fs::write(path.join(i.to_string()), [0u8; 4096]).unwrap();
                    syncs.filesystem(&path).await
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let runs = syncs.filesystem_syncs(dir.path());
        assert!((1..=32).contains(&runs), "{runs} syncs");
        let state =
            syncs.groups.lock().unwrap()[&(dir.path().to_path_buf(), Kind::FileSystem)].clone();
        assert_eq!(*state.synced.lock().await, 32);
        // Directory syncs of the same path are counted apart.
        syncs.dir(dir.path()).await.unwrap();
        assert_eq!(syncs.filesystem_syncs(dir.path()), runs);
    }
}
