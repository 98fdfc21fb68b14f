//! A manifest of either kind, chosen by `mediaType` or, without one, by shape.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::document::{Document, MAX_MANIFEST_SIZE, from_json};
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
    /// [`SpecError::TooLarge`] past [`MAX_MANIFEST_SIZE`]; [`SpecError::InvalidField`] for Docker
    /// schema 1 and unknown media types; [`SpecError::Json`] for malformed documents.
    pub fn from_slice(bytes: impl Into<Bytes>) -> Result<Document<Self>, SpecError> {
        let bytes = bytes.into();
        if bytes.len() > MAX_MANIFEST_SIZE {
            return Err(SpecError::TooLarge {
                document: "manifest",
                size: bytes.len() as u64,
                limit: MAX_MANIFEST_SIZE as u64,
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
