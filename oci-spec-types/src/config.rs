//! Image configs and the image-layout header.

use std::collections::BTreeMap;

use bytes::Bytes;
use oci_digest::Digest;
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

use crate::document::Document;
use crate::{Platform, SpecError};

/// An empty JSON object, as the values of `ExposedPorts` and `Volumes`.
#[skip_serializing_none]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Empty {}

/// The execution parameters of an image (`config` in the image config).
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub struct ExecConfig {
    /// `user`, `uid`, `user:group`, …
    pub user: Option<String>,
    /// Ports to expose, as `port/proto` keys.
    pub exposed_ports: Option<BTreeMap<String, Empty>>,
    /// `VARNAME=VARVALUE` entries.
    pub env: Option<Vec<String>>,
    /// The program to run.
    pub entrypoint: Option<Vec<String>>,
    /// Default arguments.
    pub cmd: Option<Vec<String>>,
    /// Paths for volumes, as keys.
    pub volumes: Option<BTreeMap<String, Empty>>,
    /// The working directory.
    pub working_dir: Option<String>,
    /// Arbitrary labels.
    pub labels: Option<BTreeMap<String, String>>,
    /// The signal that stops the container.
    pub stop_signal: Option<String>,
    /// Windows only: the command line is already escaped.
    pub args_escaped: Option<bool>,
}

/// The layers' uncompressed digests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RootFs {
    /// Always `layers`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Digests of the uncompressed layers, base first.
    pub diff_ids: Vec<Digest>,
}

impl Default for RootFs {
    fn default() -> Self {
        RootFs {
            kind: "layers".into(),
            diff_ids: Vec::new(),
        }
    }
}

/// One step of an image's history.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct History {
    /// When the step ran (RFC 3339).
    pub created: Option<String>,
    /// What ran.
    pub created_by: Option<String>,
    /// Who.
    pub author: Option<String>,
    /// A comment.
    pub comment: Option<String>,
    /// The step made no layer.
    pub empty_layer: Option<bool>,
}

/// An image config (`application/vnd.oci.image.config.v1+json`).
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ImageConfig {
    /// When the image was created (RFC 3339).
    pub created: Option<String>,
    /// Who created it.
    pub author: Option<String>,
    /// The platform: `architecture`, `os`, `os.version`, `os.features` and `variant`, at the
    /// top level of the config as the image-spec has them.
    #[serde(flatten)]
    pub platform: Platform,
    /// Execution parameters.
    pub config: Option<ExecConfig>,
    /// The layers' uncompressed digests.
    pub rootfs: RootFs,
    /// How the image was built.
    pub history: Option<Vec<History>>,
}

impl ImageConfig {
    /// A config for `os`/`architecture` with no layers.
    pub fn new(os: impl Into<String>, architecture: impl Into<String>) -> Self {
        ImageConfig {
            platform: Platform::new(os, architecture),
            ..Default::default()
        }
    }

    /// The platform this config describes.
    pub fn platform(&self) -> Platform {
        self.platform.clone()
    }

    /// Parses a config, keeping its bytes.
    ///
    /// # Errors
    ///
    /// As [`Document::parse`].
    pub fn from_slice(bytes: impl Into<Bytes>) -> Result<Document<Self>, SpecError> {
        Document::parse("config", bytes)
    }

    /// Serialises deterministically, keeping the bytes.
    ///
    /// # Errors
    ///
    /// As [`Document::new`].
    pub fn to_document(&self) -> Result<Document<Self>, SpecError> {
        Document::new("config", self.clone())
    }

    /// Checks the rules the image-spec states beyond the JSON shape.
    ///
    /// # Errors
    ///
    /// [`SpecError::InvalidField`]: empty `os` or `architecture`, an `Env` entry that is not
    /// `VARNAME=VARVALUE`, a `rootfs.type` other than `layers`.
    pub fn validate(&self) -> Result<(), SpecError> {
        for (field, value) in [
            ("os", &self.platform.os),
            ("architecture", &self.platform.architecture),
        ] {
            if value.is_empty() {
                return Err(SpecError::MissingField {
                    field: field.into(),
                });
            }
        }
        if self.rootfs.kind != "layers" {
            return Err(SpecError::InvalidField {
                field: "rootfs.type".into(),
                value: crate::error::clip(&self.rootfs.kind),
                reason: "must be \"layers\"".into(),
            });
        }
        if let Some(env) = self.config.as_ref().and_then(|c| c.env.as_ref()) {
            for (i, e) in env.iter().enumerate() {
                if e.split_once('=').is_none_or(|(k, _)| k.is_empty()) {
                    return Err(SpecError::InvalidField {
                        field: format!("config.Env[{i}]"),
                        value: crate::error::clip(e),
                        reason: "entries must be VARNAME=VARVALUE".into(),
                    });
                }
            }
        }
        Ok(())
    }
}

/// The `oci-layout` file of an image layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ImageLayout {
    /// The layout version; `1.0.0` is the one defined.
    pub image_layout_version: String,
}

impl Default for ImageLayout {
    fn default() -> Self {
        ImageLayout {
            image_layout_version: Self::VERSION.into(),
        }
    }
}

impl ImageLayout {
    /// The layout version this crate reads and writes.
    pub const VERSION: &'static str = "1.0.0";

    /// Parses an `oci-layout` file.
    ///
    /// # Errors
    ///
    /// [`SpecError::Json`] for malformed JSON.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, SpecError> {
        crate::document::from_json("oci-layout", bytes)
    }

    /// Checks the version is one this crate knows.
    ///
    /// # Errors
    ///
    /// [`SpecError::InvalidField`] for any other `imageLayoutVersion`.
    pub fn validate(&self) -> Result<(), SpecError> {
        if self.image_layout_version != Self::VERSION {
            return Err(SpecError::InvalidField {
                field: "imageLayoutVersion".into(),
                value: crate::error::clip(&self.image_layout_version),
                reason: format!("only {} is defined", Self::VERSION),
            });
        }
        Ok(())
    }
}
