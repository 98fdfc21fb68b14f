//! Content descriptors.

use std::collections::BTreeMap;

use oci_digest::Digest;
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

use crate::{MediaType, Platform};

/// A content descriptor: what a piece of content is (`mediaType`), its `digest` and `size`, and
/// optional metadata. Field names follow the image-spec.
///
/// Fields are public to read and change; build one with [`Descriptor::new`] and the `with_*`
/// methods.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Descriptor {
    /// The media type of the referenced content.
    pub media_type: MediaType,
    /// The digest of the referenced content's bytes.
    pub digest: Digest,
    /// The size of the referenced content in bytes.
    pub size: u64,
    /// Other places the content may be fetched from.
    pub urls: Option<Vec<String>>,
    /// Arbitrary metadata, ordered by key.
    pub annotations: Option<BTreeMap<String, String>>,
    /// The content itself, base64-encoded, for small content embedded in the descriptor.
    pub data: Option<String>,
    /// The type of an artifact when the descriptor points at an artifact manifest.
    pub artifact_type: Option<MediaType>,
    /// The platform an image manifest is for, in an index.
    pub platform: Option<Platform>,
}

impl Descriptor {
    /// A descriptor with the three required fields.
    pub fn new(media_type: MediaType, digest: Digest, size: u64) -> Self {
        Descriptor {
            media_type,
            digest,
            size,
            urls: None,
            annotations: None,
            data: None,
            artifact_type: None,
            platform: None,
        }
    }

    /// This descriptor as the `subject` of an attachment (an SBOM, a signature): its media type,
    /// digest and size only, as the image-spec's referrers model uses them. Pass the result to a
    /// manifest's or packer's `with_subject`.
    ///
    /// ```
    /// # use oci_spec_types::{Descriptor, MediaType};
    /// let image = Descriptor::new(MediaType::image_manifest(), oci_digest::sha256(b"m"), 1)
    ///     .with_annotation("org.opencontainers.image.ref.name", "v1")
    ///     .with_artifact_type(MediaType::parse("application/vnd.example").unwrap());
    /// let subject = image.as_subject();
    /// assert_eq!(subject.digest, image.digest);
    /// assert!(subject.annotations.is_none() && subject.artifact_type.is_none());
    /// ```
    pub fn as_subject(&self) -> Descriptor {
        Descriptor::new(self.media_type.clone(), self.digest.clone(), self.size)
    }

    /// Sets `platform`.
    pub fn with_platform(mut self, platform: Platform) -> Self {
        self.platform = Some(platform);
        self
    }

    /// The empty descriptor: `application/vnd.oci.empty.v1+json`, the two bytes `{}`, for the
    /// config and the one layer of artifacts that carry no other content.
    pub fn empty() -> Self {
        Descriptor::new(MediaType::empty(), oci_digest::sha256(Self::EMPTY_BYTES), 2)
    }

    /// The bytes of the empty descriptor's content.
    pub const EMPTY_BYTES: &'static [u8] = b"{}";

    /// Embeds `content` in `data` (base64), for small content read without a fetch.
    pub fn with_data(mut self, content: &[u8]) -> Self {
        use base64::Engine as _;
        self.data = Some(base64::engine::general_purpose::STANDARD.encode(content));
        self
    }

    /// Sets `urls`.
    pub fn with_urls(mut self, urls: Vec<String>) -> Self {
        self.urls = Some(urls);
        self
    }

    /// The value of annotation `key`, if set.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.as_ref()?.get(key).map(String::as_str)
    }
}

crate::builders::setters!(Descriptor: artifact_type, annotation);
