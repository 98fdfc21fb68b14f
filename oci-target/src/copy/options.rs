//! Options of the copy engine.

use std::fmt;
use std::sync::Arc;

use oci_spec_types::{Descriptor, MediaType, Platform};

use crate::Limits;
use crate::progress::{ProgressSink, SharedProgress};

/// Chooses the repositories of the destination's registry a blob could be mounted from.
pub type MountSources = Arc<dyn Fn(&Descriptor) -> Vec<String> + Send + Sync>;

/// How a graph is copied.
#[derive(Clone)]
#[non_exhaustive]
pub struct CopyGraphOptions {
    /// How many transfers run at once (at least 1). Default 4.
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
    pub progress: Option<SharedProgress>,
    /// Repositories to try mounting blobs from before transferring them.
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

impl fmt::Debug for CopyGraphOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CopyGraphOptions")
            .field("concurrency", &self.concurrency)
            .field("limits", &self.limits)
            .field("repair", &self.repair)
            .field("verify", &self.verify)
            .field("progress", &self.progress.is_some())
            .field("mount_from", &self.mount_from.is_some())
            .finish()
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

    /// Sets the limits.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Sets `repair`.
    pub fn with_repair(mut self, repair: bool) -> Self {
        self.repair = repair;
        self
    }

    /// Sets `verify`.
    pub fn with_verify(mut self, verify: bool) -> Self {
        self.verify = verify;
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
        self.mount_from = Some(Arc::new(sources));
        self
    }
}

/// How [`copy`](crate::copy) copies a reference.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct CopyOptions {
    /// How the graph is copied.
    pub graph: CopyGraphOptions,
    /// Copy only the manifest for this platform when the reference names an index.
    pub platform: Option<Platform>,
}

impl CopyOptions {
    /// Sets the graph options.
    pub fn with_graph(mut self, graph: CopyGraphOptions) -> Self {
        self.graph = graph;
        self
    }

    /// Sets the platform filter.
    pub fn with_platform(mut self, platform: Platform) -> Self {
        self.platform = Some(platform);
        self
    }
}

/// How [`extended_copy`](crate::extended_copy) copies a reference with its referrers.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ExtendedCopyOptions {
    /// How the root is copied.
    pub copy: CopyOptions,
    /// How many levels of referrers to follow (referrers of referrers, …). `None`: as many as
    /// the `graph-depth` limit allows.
    pub depth: Option<usize>,
    /// Copy only referrers of these artifact types (all when empty).
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
    /// Sets the options of the root's copy.
    pub fn with_copy(mut self, copy: CopyOptions) -> Self {
        self.copy = copy;
        self
    }

    /// Sets the depth limit.
    pub fn with_depth(mut self, depth: usize) -> Self {
        self.depth = Some(depth);
        self
    }

    /// Adds an artifact type to the filter.
    pub fn with_artifact_type(mut self, artifact_type: MediaType) -> Self {
        self.artifact_types.push(artifact_type);
        self
    }

    /// Sets whether cosign tag-scheme attachments are copied.
    pub fn with_cosign_tags(mut self, on: bool) -> Self {
        self.cosign_tags = on;
        self
    }
}
