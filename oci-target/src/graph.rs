//! What a node of the content graph points at.
//!
//! An index points at manifests; a manifest at its config and layers; either may point at a
//! `subject`. The copy engine and the stores' referrer indexes read just these fields, leniently:
//! a manifest need not be fully valid to be walked, but every descriptor in it must be.

use std::collections::BTreeMap;

use oci_spec_types::{Descriptor, MediaType};
use serde::Deserialize;

use crate::{Error, ErrorKind, Result};

/// True for the media types of manifests and indexes (OCI and Docker v2.2): content that points
/// at other content and that registries keep under `/manifests/`.
pub fn is_manifest(media_type: &MediaType) -> bool {
    media_type.is_manifest()
}

/// True for the media types of indexes (OCI image index, Docker manifest list).
pub fn is_index(media_type: &MediaType) -> bool {
    media_type.is_index()
}

/// The fields of a manifest or index that link it to other content.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Links {
    /// `config`, for image manifests.
    #[serde(default)]
    pub config: Option<Descriptor>,
    /// `layers`, for image manifests.
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    /// `manifests`, for indexes.
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
    /// `subject`: the node this one refers to.
    #[serde(default)]
    pub subject: Option<Descriptor>,
    /// `artifactType`.
    #[serde(default)]
    pub artifact_type: Option<MediaType>,
    /// `annotations`.
    #[serde(default)]
    pub annotations: Option<BTreeMap<String, String>>,
}

impl Links {
    /// Reads the links of a manifest or index.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidManifest`] when the bytes are not JSON of that shape or a descriptor in
    /// them is invalid, naming the manifest's digest.
    pub fn parse(desc: &Descriptor, bytes: &[u8]) -> Result<Self> {
        serde_json::from_slice(bytes).map_err(|e| {
            Error::new(
                ErrorKind::InvalidManifest,
                format!("{} ({}): {e}", desc.digest, desc.media_type),
            )
        })
    }

    /// Every node this one points at: subject first, then config, layers and manifests.
    pub fn successors(&self) -> Vec<Descriptor> {
        let mut out = Vec::with_capacity(self.layers.len() + self.manifests.len() + 2);
        out.extend(self.subject.iter().cloned());
        out.extend(self.config.iter().cloned());
        out.extend(self.layers.iter().cloned());
        out.extend(self.manifests.iter().cloned());
        out
    }

    /// The descriptor a referrers listing shows for the manifest `desc` these links came from:
    /// its media type, digest and size, its `artifactType` (or, for an image manifest without one,
    /// its config's media type) and its annotations.
    pub fn referrer_descriptor(&self, desc: &Descriptor) -> Descriptor {
        let mut out = Descriptor::new(desc.media_type.clone(), desc.digest.clone(), desc.size);
        out.artifact_type = self
            .artifact_type
            .clone()
            .or_else(|| self.config.as_ref().map(|c| c.media_type.clone()));
        out.annotations = self.annotations.clone();
        out
    }
}

/// The children of `desc` given its bytes: empty for blobs, the links' successors for manifests.
///
/// # Errors
///
/// As [`Links::parse`].
pub fn successors(desc: &Descriptor, bytes: &[u8]) -> Result<Vec<Descriptor>> {
    if !is_manifest(&desc.media_type) {
        return Ok(Vec::new());
    }
    Ok(Links::parse(desc, bytes)?.successors())
}
