//! Options of the copy engine.

use std::sync::Arc;

use oci_spec_types::{Descriptor, MediaType, Platform};

use derive_setters::Setters;

use crate::progress::{ProgressSink, SharedProgress};
use crate::{Hook, Limits};

/// Chooses the repositories of the destination's registry a blob could be mounted from.
pub type MountSources = Hook<dyn Fn(&Descriptor) -> Vec<String> + Send + Sync>;

/// How a graph is copied.
#[derive(Debug, Clone, Setters)]
#[setters(prefix = "with_")]
#[non_exhaustive]
pub struct CopyGraphOptions {
    /// How many transfers run at once (at least 1). Default 4.
    #[setters(skip)]
    pub concurrency: usize,
    /// Caps on what is read from the source: `manifest-bytes` for each manifest, `graph-depth`
    /// and `graph-nodes` for the walk (see [`Limits`]).
    pub limits: Limits,
    /// Walk into manifests the destination already has, copying whatever of their children it
    /// lacks. Recovers an interrupted copy of an index, at the cost of reading every manifest.
    pub repair: bool,
    /// Read back every manifest pushed to the destination and check its digest.
    pub verify: bool,
    /// Where progress events go.
    #[setters(skip)]
    pub progress: Option<SharedProgress>,
    /// Repositories to try mounting blobs from before transferring them.
    #[setters(skip)]
    pub mount_from: Option<MountSources>,
}

impl Default for CopyGraphOptions {
    fn default() -> Self {
        CopyGraphOptions {
            concurrency: 4,
            limits: Limits::default(),
            repair: false,
            verify: false,
            progress: None,
            mount_from: None,
        }
    }
}

impl CopyGraphOptions {
    /// Sets `concurrency` (values below 1 count as 1).
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// Sets the `manifest-bytes` limit.
    pub fn with_max_manifest_bytes(mut self, max: u64) -> Self {
        self.limits.manifest_bytes = max;
        self
    }

    /// Sets the progress sink.
    pub fn with_progress(mut self, sink: impl ProgressSink + 'static) -> Self {
        self.progress = Some(Arc::new(sink));
        self
    }

    /// Sets the mount hook: for each blob, the repositories to try mounting it from.
    pub fn with_mount_from(
        mut self,
        sources: impl Fn(&Descriptor) -> Vec<String> + Send + Sync + 'static,
    ) -> Self {
        self.mount_from = Some(Hook::new(Arc::new(sources)));
        self
    }
}

/// How [`copy`](crate::copy) copies a reference.
#[derive(Debug, Clone, Default, Setters)]
#[setters(prefix = "with_")]
#[non_exhaustive]
pub struct CopyOptions {
    /// How the graph is copied.
    pub graph: CopyGraphOptions,
    /// Copy only the manifest for this platform when the reference names an index.
    #[setters(strip_option)]
    pub platform: Option<Platform>,
}

/// How [`extended_copy`](crate::extended_copy) copies a reference with its referrers.
#[derive(Debug, Clone, Setters)]
#[setters(prefix = "with_")]
#[non_exhaustive]
pub struct ExtendedCopyOptions {
    /// How the root is copied.
    pub copy: CopyOptions,
    /// How many levels of referrers to follow (referrers of referrers, …). `None`: as many as
    /// the `graph-depth` limit allows.
    #[setters(strip_option)]
    pub depth: Option<usize>,
    /// Copy only referrers of these artifact types (all when empty).
    #[setters(skip)]
    pub artifact_types: Vec<MediaType>,
    /// Also copy cosign's tag-scheme attachments (`<alg>-<encoded>.sig`, `.att`, `.sbom`) with
    /// their tags, where the source can list tags. Default on.
    pub cosign_tags: bool,
}

impl Default for ExtendedCopyOptions {
    fn default() -> Self {
        ExtendedCopyOptions {
            copy: CopyOptions::default(),
            depth: None,
            artifact_types: Vec::new(),
            cosign_tags: true,
        }
    }
}

impl ExtendedCopyOptions {
    /// Adds an artifact type to the filter.
    pub fn with_artifact_type(mut self, artifact_type: MediaType) -> Self {
        self.artifact_types.push(artifact_type);
        self
    }
}
