//! Media types.

use std::fmt;

use crate::SpecError;
use crate::error::clip;

/// A media type such as `application/vnd.oci.image.manifest.v1+json`.
///
/// Any value that fits the RFC 6838 grammar the image-spec schemas use is accepted: an unknown
/// media type is never an error. Parameters (`; charset=utf-8`) are kept as written.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MediaType(Box<str>);

impl MediaType {
    /// Parses and checks a media type.
    ///
    /// # Errors
    ///
    /// [`SpecError::InvalidField`] (field `mediaType`) when the value breaks the grammar.
    pub fn parse(s: &str) -> Result<Self, SpecError> {
        validate(s).map_err(|reason| SpecError::InvalidField {
            field: "mediaType".into(),
            value: clip(s),
            reason: reason.into(),
        })?;
        Ok(MediaType(s.into()))
    }

    /// A media type from a constant known to be valid.
    pub(crate) fn from_static(s: &'static str) -> Self {
        debug_assert!(validate(s).is_ok(), "{s}");
        MediaType(s.into())
    }

    /// The media type as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The type and subtype without parameters, lowercased for comparison is left to callers:
    /// OCI media types are lowercase by convention.
    pub fn essence(&self) -> &str {
        self.0.split(';').next().unwrap_or("").trim()
    }
}

/// RFC 6838 `type/subtype`, each 1..=127 characters of restricted-name, optional parameters.
fn validate(s: &str) -> Result<(), &'static str> {
    let essence = s.split(';').next().unwrap_or("").trim_end();
    let (ty, sub) = essence
        .split_once('/')
        .ok_or("a media type needs a type and a subtype separated by '/'")?;
    for part in [ty, sub] {
        let bytes = part.as_bytes();
        if bytes.is_empty() || bytes.len() > 127 {
            return Err("type and subtype must each be 1 to 127 characters");
        }
        if !bytes[0].is_ascii_alphanumeric() {
            return Err("type and subtype must start with a letter or digit");
        }
        if !bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(b))
        {
            return Err("type and subtype may only contain letters, digits and !#$&-^_.+");
        }
    }
    Ok(())
}

oci_digest::impl_from_str!(MediaType, SpecError);

impl fmt::Display for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MediaType({})", self.0)
    }
}

impl AsRef<str> for MediaType {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for MediaType {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for MediaType {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl serde::Serialize for MediaType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for MediaType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        MediaType::parse(&s).map_err(serde::de::Error::custom)
    }
}
