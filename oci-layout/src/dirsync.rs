//! Making renames into a directory durable, one `fsync` of the directory for as many renames as
//! finished before it started.
//!
//! Every blob lands in `blobs/<alg>/` by a rename, and the rename is durable only once that
//! directory is synced. Copies of many small blobs rename several at once; a writer that finds a
//! sync already running waits for it and, if it did not cover its rename, for the next one, which
//! covers every rename finished by then. Each caller still returns only once its own rename is
//! durable.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use oci_target::{Error, ErrorKind, Result};

/// The directory syncs of one layout.
#[derive(Debug, Default)]
pub(crate) struct DirSyncs {
    dirs: Mutex<HashMap<PathBuf, Arc<DirSync>>>,
}

#[derive(Debug, Default)]
struct DirSync {
    /// Renames announced so far (each caller takes the next number after its rename).
    announced: AtomicU64,
    /// The highest number a finished sync covers; held while a sync runs.
    synced: tokio::sync::Mutex<u64>,
}

impl DirSyncs {
    /// Returns once every rename into `dir` finished before this call is durable.
    pub(crate) async fn sync(&self, dir: &Path) -> Result<()> {
        let state = self
            .dirs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(dir.to_path_buf())
            .or_default()
            .clone();
        let ticket = state.announced.fetch_add(1, Ordering::SeqCst) + 1;
        let mut synced = state.synced.lock().await;
        if *synced >= ticket {
            // A sync that started after our rename has finished.
            return Ok(());
        }
        let covers = state.announced.load(Ordering::SeqCst);
        let path = dir.to_path_buf();
        tokio::task::spawn_blocking(move || std::fs::File::open(&path)?.sync_all())
            .await
            .map_err(|e| Error::new(ErrorKind::Io, format!("a blocking layout task failed: {e}")))?
            .map_err(|e| Error::at_path("cannot sync", dir, e))?;
        *synced = covers;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_callers_share_syncs_and_each_is_covered() {
        let dir = tempfile::tempdir().unwrap();
        let syncs = Arc::new(DirSyncs::default());
        let tasks: Vec<_> = (0..32)
            .map(|_| {
                let (syncs, path) = (syncs.clone(), dir.path().to_path_buf());
                tokio::spawn(async move { syncs.sync(&path).await })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let state = syncs.dirs.lock().unwrap()[dir.path()].clone();
        assert_eq!(state.announced.load(Ordering::SeqCst), 32);
        // The last sync covered every caller.
        assert_eq!(*state.synced.lock().await, 32);
        let missing = dir.path().join("gone");
        assert_eq!(
            syncs.sync(&missing).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
    }
}
