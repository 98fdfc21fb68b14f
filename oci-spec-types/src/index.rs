//! Image indexes, OCI and Docker v2.2 manifest lists.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

use crate::document::Document;
use crate::media_types;
use crate::validate::{check_children, check_media_type_field, check_schema_version};
use crate::{Descriptor, MediaType, Platform, SpecError};

/// An image index: manifests, typically one per platform.
///
/// Docker v2.2 manifest lists parse as this type too.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ImageIndex {
    /// Always 2.
    pub schema_version: u32,
    /// `application/vnd.oci.image.index.v1+json`, or Docker's manifest list type.
    pub media_type: Option<MediaType>,
    /// The type of artifact this index packages.
    pub artifact_type: Option<MediaType>,
    /// The manifests.
    pub manifests: Vec<Descriptor>,
    /// The manifest this one refers to.
    pub subject: Option<Descriptor>,
    /// Arbitrary metadata, ordered by key.
    pub annotations: Option<BTreeMap<String, String>>,
}

impl ImageIndex {
    /// An OCI image index over `manifests`.
    pub fn new(manifests: Vec<Descriptor>) -> Self {
        ImageIndex {
            schema_version: 2,
            media_type: Some(MediaType::image_index()),
            artifact_type: None,
            manifests,
            subject: None,
            annotations: None,
        }
    }

    /// Adds a manifest, or replaces the one for the same platform (an index update for a
    /// multi-platform artifact).
    pub fn upsert(&mut self, manifest: Descriptor) {
        match manifest.platform.as_ref() {
            Some(p) => {
                if let Some(existing) = self
                    .manifests
                    .iter_mut()
                    .find(|m| m.platform.as_ref() == Some(p))
                {
                    *existing = manifest;
                    return;
                }
            }
            None => {
                if self.manifests.iter().any(|m| m.digest == manifest.digest) {
                    return;
                }
            }
        }
        self.manifests.push(manifest);
    }

    /// The first manifest whose platform matches `wanted` by the image-spec rules.
    pub fn select(&self, wanted: &Platform) -> Option<&Descriptor> {
        self.manifests
            .iter()
            .find(|m| m.platform.as_ref().is_some_and(|p| wanted.matches(p)))
    }

    /// Parses an index, keeping its bytes.
    ///
    /// # Errors
    ///
    /// As [`Document::parse`].
    pub fn from_slice(bytes: impl Into<Bytes>) -> Result<Document<Self>, SpecError> {
        Document::parse("index", bytes)
    }

    /// Serialises this index deterministically, keeping the bytes.
    ///
    /// # Errors
    ///
    /// As [`Document::new`].
    pub fn to_document(&self) -> Result<Document<Self>, SpecError> {
        Document::new("index", self.clone())
    }

    /// Checks the rules the image-spec states beyond the JSON shape.
    ///
    /// # Errors
    ///
    /// [`SpecError::InvalidField`] naming the field.
    pub fn validate(&self) -> Result<(), SpecError> {
        check_schema_version(self.schema_version)?;
        check_media_type_field(
            self.media_type.as_ref(),
            &[media_types::IMAGE_INDEX, media_types::DOCKER_MANIFEST_LIST],
        )?;
        check_children("manifests", &self.manifests, self.subject.as_ref())
    }
}

crate::builders::setters!(ImageIndex: artifact_type, subject, annotation);
