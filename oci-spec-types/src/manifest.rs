//! Image manifests, OCI and Docker v2.2.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

use crate::document::Document;
use crate::media_types;
use crate::validate::{
    check_children, check_descriptor, check_media_type_field, check_schema_version,
};
use crate::{Descriptor, MediaType, SpecError};

/// An image manifest: a config and layers, optionally an artifact type and a subject.
///
/// Docker v2.2 manifests parse as this type too; their `mediaType` says which they are.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ImageManifest {
    /// Always 2.
    pub schema_version: u32,
    /// `application/vnd.oci.image.manifest.v1+json`, or Docker's manifest type.
    pub media_type: Option<MediaType>,
    /// The type of artifact this manifest packages, when it is not an image.
    pub artifact_type: Option<MediaType>,
    /// The config blob.
    pub config: Descriptor,
    /// The layers, base first.
    pub layers: Vec<Descriptor>,
    /// The manifest this one refers to (a signature's image, an SBOM's image).
    pub subject: Option<Descriptor>,
    /// Arbitrary metadata, ordered by key.
    pub annotations: Option<BTreeMap<String, String>>,
}

impl ImageManifest {
    /// An OCI image manifest over `config` and `layers`.
    pub fn new(config: Descriptor, layers: Vec<Descriptor>) -> Self {
        ImageManifest {
            schema_version: 2,
            media_type: Some(MediaType::image_manifest()),
            artifact_type: None,
            config,
            layers,
            subject: None,
            annotations: None,
        }
    }

    /// Parses a manifest, keeping its bytes.
    ///
    /// # Errors
    ///
    /// As [`Document::parse`].
    pub fn from_slice(bytes: impl Into<Bytes>) -> Result<Document<Self>, SpecError> {
        Document::parse("manifest", bytes)
    }

    /// Serialises this manifest deterministically, keeping the bytes.
    ///
    /// # Errors
    ///
    /// As [`Document::new`].
    pub fn to_document(&self) -> Result<Document<Self>, SpecError> {
        Document::new("manifest", self.clone())
    }

    /// The artifact type as the image-spec defines it for listings: `artifactType`, else the
    /// config's media type.
    pub fn effective_artifact_type(&self) -> &MediaType {
        self.artifact_type
            .as_ref()
            .unwrap_or(&self.config.media_type)
    }

    /// Checks the rules the image-spec states beyond the JSON shape.
    ///
    /// # Errors
    ///
    /// [`SpecError::InvalidField`] naming the field: `schemaVersion` other than 2, a `mediaType`
    /// that is not a manifest type, no layers, an invalid descriptor anywhere.
    pub fn validate(&self) -> Result<(), SpecError> {
        check_schema_version(self.schema_version)?;
        check_media_type_field(
            self.media_type.as_ref(),
            &[media_types::IMAGE_MANIFEST, media_types::DOCKER_MANIFEST],
        )?;
        check_descriptor("config", &self.config)?;
        if self.layers.is_empty() {
            return Err(SpecError::InvalidField {
                field: "layers".into(),
                value: "[]".into(),
                reason: "a manifest must have at least one layer (the empty descriptor serves artifacts without files)".into(),
            });
        }
        check_children("layers", &self.layers, self.subject.as_ref())
    }
}

crate::builders::setters!(ImageManifest: artifact_type, subject, annotation);
