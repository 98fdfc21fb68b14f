//! What a node of the content graph points at.
//!
//! An index points at manifests; a manifest at its config and layers; either may point at a
//! `subject`. The copy engine and the stores' referrer indexes read just these fields, leniently:
//! a manifest need not be fully valid to be walked, but every descriptor in it must be.

use oci_spec_types::{Descriptor, Manifest, MediaType};

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

pub use oci_spec_types::Links;

/// The links of the manifest or index `desc` whose bytes are `bytes` (see [`Links`]).
///
/// # Errors
///
/// [`ErrorKind::InvalidManifest`] when the bytes are not JSON of that shape or a descriptor in
/// them is invalid, naming the manifest's digest.
pub fn links(desc: &Descriptor, bytes: &[u8]) -> Result<Links> {
    Manifest::links(bytes).map_err(|e| {
        Error::new(
            ErrorKind::InvalidManifest,
            format!("{} ({}): {e}", desc.digest, desc.media_type),
        )
    })
}

/// The children of `desc` given its bytes: empty for blobs, the links' successors for manifests.
///
/// # Errors
///
/// As [`links`].
pub fn successors(desc: &Descriptor, bytes: &[u8]) -> Result<Vec<Descriptor>> {
    if !is_manifest(&desc.media_type) {
        return Ok(Vec::new());
    }
    Ok(links(desc, bytes)?.successors())
}
