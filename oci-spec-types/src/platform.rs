//! Platforms.

use serde::{Deserialize, Serialize};

/// The platform an image runs on: `os`, `architecture` and their refinements, as in an index's
/// manifest descriptors and an image config.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Platform {
    /// CPU architecture, by Go's `GOARCH` names (`amd64`, `arm64`, …).
    pub architecture: String,
    /// Operating system, by Go's `GOOS` names (`linux`, `windows`, …).
    pub os: String,
    /// Operating system version, such as `10.0.14393.1066` on Windows.
    #[serde(
        rename = "os.version",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub os_version: Option<String>,
    /// Required operating system features, such as `win32k`.
    #[serde(
        rename = "os.features",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub os_features: Option<Vec<String>>,
    /// CPU variant, such as `v7` for ARM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Reserved by the image-spec; kept as read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<Vec<String>>,
}

impl Platform {
    /// A platform for `os` and `architecture`.
    pub fn new(os: impl Into<String>, architecture: impl Into<String>) -> Self {
        Platform {
            os: os.into(),
            architecture: architecture.into(),
            ..Default::default()
        }
    }

    /// Sets `variant`.
    pub fn with_variant(mut self, variant: impl Into<String>) -> Self {
        self.variant = Some(variant.into());
        self
    }
}
