//! Platforms, and how a wanted platform matches an index entry.
//!
//! Matching follows the image-spec and the rules the container tools share: `os` and
//! `architecture` must be equal (after normalising common aliases such as `x86_64` → `amd64` and
//! `aarch64` → `arm64`); a wanted `variant` must equal the candidate's, where a missing variant
//! means the architecture's default (`v8` for arm64, `v7` for arm); a wanted `os.version` must
//! be equal; every wanted `os.features` entry must be present. What the wanted platform leaves
//! out matches anything.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

use crate::SpecError;

/// The platform an image runs on: `os`, `architecture` and their refinements, as in an index's
/// manifest descriptors and an image config.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Platform {
    /// CPU architecture, by Go's `GOARCH` names (`amd64`, `arm64`, …).
    pub architecture: String,
    /// Operating system, by Go's `GOOS` names (`linux`, `windows`, …).
    pub os: String,
    /// Operating system version, such as `10.0.14393.1066` on Windows.
    #[serde(rename = "os.version")]
    pub os_version: Option<String>,
    /// Required operating system features, such as `win32k`.
    #[serde(rename = "os.features")]
    pub os_features: Option<Vec<String>>,
    /// CPU variant, such as `v7` for ARM.
    pub variant: Option<String>,
    /// Reserved by the image-spec; kept as read.
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

    /// Sets `os.version`.
    pub fn with_os_version(mut self, version: impl Into<String>) -> Self {
        self.os_version = Some(version.into());
        self
    }

    /// The platform an image config says (its `os`, `architecture`, `variant`, `os.version` and
    /// `os.features`), read leniently: nothing else in the config is looked at, and a field it
    /// lacks is empty.
    ///
    /// # Errors
    ///
    /// [`SpecError::Json`] when the bytes are not a JSON object with fields of those types.
    ///
    /// ```
    /// let p = oci_spec_types::Platform::of_config(br#"{"os":"linux","architecture":"arm64",
    ///     "variant":"v8","rootfs":"not checked"}"#).unwrap();
    /// assert_eq!(p.to_string(), "linux/arm64/v8");
    /// ```
    pub fn of_config(bytes: &[u8]) -> Result<Platform, SpecError> {
        #[derive(Deserialize)]
        struct Lenient {
            #[serde(default)]
            os: String,
            #[serde(default)]
            architecture: String,
            #[serde(default)]
            variant: Option<String>,
            #[serde(rename = "os.version", default)]
            os_version: Option<String>,
            #[serde(rename = "os.features", default)]
            os_features: Option<Vec<String>>,
        }
        let l: Lenient = crate::document::from_json("image config", bytes)?;
        Ok(Platform {
            architecture: l.architecture,
            os: l.os,
            os_version: l.os_version,
            os_features: l.os_features,
            variant: l.variant,
            features: None,
        })
    }

    /// True when `candidate` (an index entry's platform) satisfies this wanted platform.
    pub fn matches(&self, candidate: &Platform) -> bool {
        if !self.os.eq_ignore_ascii_case(&candidate.os) {
            return false;
        }
        let (want_arch, want_variant) = normalize(&self.architecture, self.variant.as_deref());
        let (have_arch, have_variant) =
            normalize(&candidate.architecture, candidate.variant.as_deref());
        if want_arch != have_arch {
            return false;
        }
        if self.variant.is_some() && want_variant != have_variant {
            return false;
        }
        if let Some(v) = &self.os_version
            && candidate.os_version.as_ref() != Some(v)
        {
            return false;
        }
        if let Some(wanted) = &self.os_features {
            let have = candidate.os_features.as_deref().unwrap_or_default();
            if !wanted.iter().all(|f| have.contains(f)) {
                return false;
            }
        }
        true
    }
}

/// Architecture aliases and default variants.
fn normalize(arch: &str, variant: Option<&str>) -> (String, Option<String>) {
    let arch = arch.to_ascii_lowercase();
    let variant = variant.map(str::to_ascii_lowercase);
    match arch.as_str() {
        "x86_64" | "x86-64" => ("amd64".into(), variant),
        "i386" | "i686" => ("386".into(), variant),
        "aarch64" | "arm64" => (
            "arm64".into(),
            Some(match variant.as_deref() {
                None | Some("8") | Some("v8") => "v8".into(),
                Some(v) => v.to_owned(),
            }),
        ),
        "armhf" => ("arm".into(), Some("v7".into())),
        "armel" => ("arm".into(), Some("v6".into())),
        "arm" => (
            "arm".into(),
            Some(match variant.as_deref() {
                None | Some("7") | Some("v7") => "v7".into(),
                Some("6") => "v6".into(),
                Some("5") => "v5".into(),
                Some(v) => v.to_owned(),
            }),
        ),
        _ => (arch, variant),
    }
}

impl FromStr for Platform {
    type Err = SpecError;

    /// Parses `os/architecture[/variant]`, such as `linux/arm64/v8`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split('/').collect();
        let bad = || SpecError::InvalidField {
            field: "platform".into(),
            value: crate::error::clip(s),
            reason: "expected os/architecture[/variant]".into(),
        };
        match parts.as_slice() {
            [os, arch] if !os.is_empty() && !arch.is_empty() => Ok(Platform::new(*os, *arch)),
            [os, arch, variant] if !os.is_empty() && !arch.is_empty() && !variant.is_empty() => {
                Ok(Platform::new(*os, *arch).with_variant(*variant))
            }
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Platform {
        s.parse().unwrap()
    }

    #[test]
    fn matching_rules() {
        assert!(p("linux/amd64").matches(&p("linux/amd64")));
        assert!(p("linux/amd64").matches(&p("linux/x86_64")));
        assert!(!p("linux/amd64").matches(&p("linux/arm64")));
        assert!(!p("linux/amd64").matches(&p("windows/amd64")));
        // A wanted platform without variant takes any; with one, only that (defaults applied).
        assert!(p("linux/arm64").matches(&p("linux/arm64/v8")));
        assert!(p("linux/arm64/v8").matches(&p("linux/arm64")));
        assert!(p("linux/arm64/v8").matches(&p("linux/aarch64")));
        assert!(!p("linux/arm64/v9").matches(&p("linux/arm64")));
        assert!(p("linux/arm/v7").matches(&p("linux/arm")));
        assert!(!p("linux/arm/v6").matches(&p("linux/arm/v7")));
        let win = Platform::new("windows", "amd64").with_os_version("10.0.17763.1");
        assert!(win.matches(&win.clone()));
        assert!(!win.matches(&Platform::new("windows", "amd64")));
        let mut feat = Platform::new("windows", "amd64");
        feat.os_features = Some(vec!["win32k".into()]);
        assert!(!feat.matches(&Platform::new("windows", "amd64")));
        assert!(feat.matches(&feat.clone()));
    }

    #[test]
    fn parse_and_display() {
        assert_eq!(p("linux/arm64/v8").to_string(), "linux/arm64/v8");
        assert_eq!(p("linux/amd64").to_string(), "linux/amd64");
        for bad in ["", "linux", "linux/", "/amd64", "a/b/c/d", "a/b/"] {
            assert!(bad.parse::<Platform>().is_err(), "{bad}");
        }
    }
}
