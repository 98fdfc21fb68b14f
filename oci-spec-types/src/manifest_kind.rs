//! A manifest of either kind, chosen by `mediaType` or, without one, by shape.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::document::{Document, MAX_MANIFEST_BYTES, from_json};
use crate::{Descriptor, ImageIndex, ImageManifest, MediaType, SpecError, media_types};

/// An image manifest or an image index (OCI or Docker v2.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
#[non_exhaustive]
// Manifests are few and short-lived; matching on them unboxed is worth the size difference.
#[allow(clippy::large_enum_variant)]
pub enum Manifest {
    /// An image manifest.
    Image(ImageManifest),
    /// An image index.
    Index(ImageIndex),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Shape {
    #[serde(default)]
    schema_version: Option<serde_json::Value>,
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<serde_json::Value>,
    #[serde(default)]
    config: Option<serde_json::Value>,
    #[serde(default)]
    layers: Option<serde_json::Value>,
}

impl Manifest {
    /// Parses either kind, keeping the bytes: by `mediaType` when present, else by shape
    /// (`manifests` → index; `config` or `layers` → image manifest).
    ///
    /// # Errors
    ///
    /// [`SpecError::TooLarge`] past [`MAX_MANIFEST_BYTES`]; [`SpecError::InvalidField`] for Docker
    /// schema 1 and unknown media types; [`SpecError::Json`] for malformed documents.
    pub fn from_slice(bytes: impl Into<Bytes>) -> Result<Document<Self>, SpecError> {
        let bytes = bytes.into();
        if bytes.len() as u64 > MAX_MANIFEST_BYTES {
            return Err(SpecError::TooLarge {
                document: "manifest",
                size: bytes.len() as u64,
                limit: MAX_MANIFEST_BYTES,
            });
        }
        let shape: Shape = from_json("manifest", &bytes)?;
        if shape.schema_version.as_ref().and_then(|v| v.as_u64()) == Some(1) {
            return Err(SpecError::InvalidField {
                field: "schemaVersion".into(),
                value: "1".into(),
                reason:
                    "Docker schema 1 manifests are not supported: they cannot be verified by digest"
                        .into(),
            });
        }
        let index = match shape.media_type.as_deref() {
            Some(media_types::IMAGE_INDEX | media_types::DOCKER_MANIFEST_LIST) => true,
            Some(media_types::IMAGE_MANIFEST | media_types::DOCKER_MANIFEST) => false,
            Some(
                t @ (media_types::DOCKER_MANIFEST_V1 | media_types::DOCKER_MANIFEST_V1_SIGNED),
            ) => {
                return Err(SpecError::InvalidField {
                    field: "mediaType".into(),
                    value: t.into(),
                    reason: "Docker schema 1 manifests are not supported".into(),
                });
            }
            Some(other) => {
                return Err(SpecError::InvalidField {
                    field: "mediaType".into(),
                    value: crate::error::clip(other),
                    reason: "not a manifest or index media type".into(),
                });
            }
            None if shape.manifests.is_some() => true,
            None if shape.config.is_some() || shape.layers.is_some() => false,
            None => {
                return Err(SpecError::MissingField {
                    field: "mediaType (and neither manifests nor config/layers to tell the kind)"
                        .into(),
                });
            }
        };
        let value = if index {
            Manifest::Index(from_json("index", &bytes)?)
        } else {
            Manifest::Image(from_json("manifest", &bytes)?)
        };
        Ok(Document::assemble(value, bytes))
    }

    /// The media type: the document's own, else the OCI type of its kind.
    pub fn media_type(&self) -> MediaType {
        match self {
            Manifest::Image(m) => m
                .media_type
                .clone()
                .unwrap_or_else(MediaType::image_manifest),
            Manifest::Index(i) => i.media_type.clone().unwrap_or_else(MediaType::image_index),
        }
    }

    /// The `subject`, if any.
    pub fn subject(&self) -> Option<&Descriptor> {
        match self {
            Manifest::Image(m) => m.subject.as_ref(),
            Manifest::Index(i) => i.subject.as_ref(),
        }
    }

    /// The `artifactType` (for an image manifest without one, its config's media type).
    pub fn artifact_type(&self) -> Option<&MediaType> {
        match self {
            Manifest::Image(m) => Some(m.effective_artifact_type()),
            Manifest::Index(i) => i.artifact_type.as_ref(),
        }
    }

    /// Everything this manifest points at: subject, config, layers, manifests.
    pub fn successors(&self) -> Vec<&Descriptor> {
        match self {
            Manifest::Image(m) => m
                .subject
                .iter()
                .chain(std::iter::once(&m.config))
                .chain(m.layers.iter())
                .collect(),
            Manifest::Index(i) => i.subject.iter().chain(i.manifests.iter()).collect(),
        }
    }

    /// Validates by the rules of its kind.
    ///
    /// # Errors
    ///
    /// As [`ImageManifest::validate`] and [`ImageIndex::validate`].
    pub fn validate(&self) -> Result<(), SpecError> {
        match self {
            Manifest::Image(m) => m.validate(),
            Manifest::Index(i) => i.validate(),
        }
    }
}

/// The fields of a manifest or index that link it to other content, read leniently: the copy
/// engine and the stores' referrer indexes walk any document of this shape, valid or not, as
/// long as every descriptor in it is.
///
/// ```
/// let links = oci_spec_types::Manifest::links(br#"{"manifests":[],"artifactType":"a/b"}"#)
///     .unwrap();
/// assert!(links.successors().is_empty());
/// assert_eq!(links.artifact_type().unwrap().as_str(), "a/b");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[non_exhaustive]
pub struct Links {
    /// `config`, for image manifests.
    pub config: Option<Descriptor>,
    /// `layers`, for image manifests.
    pub layers: Vec<Descriptor>,
    /// `manifests`, for indexes.
    pub manifests: Vec<Descriptor>,
    /// `subject`: the node this one refers to.
    pub subject: Option<Descriptor>,
    /// `artifactType` as written.
    pub artifact_type: Option<MediaType>,
    /// `annotations`.
    pub annotations: Option<BTreeMap<String, String>>,
}

impl Manifest {
    /// The links of a manifest or index, read leniently (see [`Links`]).
    ///
    /// # Errors
    ///
    /// [`SpecError::Json`] when the bytes are not JSON of that shape or a descriptor in them is
    /// invalid.
    pub fn links(bytes: &[u8]) -> Result<Links, SpecError> {
        from_json("manifest", bytes)
    }
}

impl Links {
    /// Every node this one points at: subject first, then config, layers and manifests.
    pub fn successors(&self) -> Vec<Descriptor> {
        let mut out = Vec::with_capacity(self.layers.len() + self.manifests.len() + 2);
        out.extend(self.subject.iter().cloned());
        out.extend(self.config.iter().cloned());
        out.extend(self.layers.iter().cloned());
        out.extend(self.manifests.iter().cloned());
        out
    }

    /// The artifact type, by the rule [`Manifest::artifact_type`] follows: `artifactType`, else
    /// (for an image manifest) its config's media type.
    pub fn artifact_type(&self) -> Option<&MediaType> {
        self.artifact_type
            .as_ref()
            .or_else(|| self.config.as_ref().map(|c| &c.media_type))
    }

    /// The descriptor a referrers listing shows for the manifest `desc` these links came from:
    /// its media type, digest and size, its artifact type and its annotations.
    pub fn referrer_descriptor(&self, desc: &Descriptor) -> Descriptor {
        let mut out = Descriptor::new(desc.media_type.clone(), desc.digest.clone(), desc.size);
        out.artifact_type = self.artifact_type().cloned();
        out.annotations = self.annotations.clone();
        out
    }
}
