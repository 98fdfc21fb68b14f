//! Documents read from bytes keep those bytes.
//!
//! A manifest's digest names its exact bytes. Re-serialising a parsed document can reorder
//! keys, change whitespace or drop unknown fields, and so change its digest; [`Document`] keeps
//! the bytes it was parsed from, so the digest is always theirs. New documents are serialised
//! once, deterministically (fields in declared order, maps sorted), and then kept the same way.

use bytes::Bytes;
use oci_digest::{Algorithm, Digest};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::clip;
use crate::{Descriptor, MediaType, SpecError};

/// The largest manifest or index read into memory unless a caller sets another limit (4 MiB,
/// as the distribution-spec suggests registries accept). Every store's default.
pub const MAX_MANIFEST_BYTES: u64 = 4 * 1024 * 1024;

/// A parsed document and the exact bytes it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Document<T> {
    value: T,
    bytes: Bytes,
    digest: Digest,
}

impl<T> Document<T> {
    /// The parsed value.
    pub fn value(&self) -> &T {
        &self.value
    }

    /// The exact bytes.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// The sha256 digest of the bytes.
    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    /// The size of the bytes.
    pub fn size(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// A descriptor of these bytes as `media_type`.
    pub fn descriptor(&self, media_type: MediaType) -> Descriptor {
        Descriptor::new(media_type, self.digest.clone(), self.size())
    }

    /// The value and the bytes.
    pub fn into_parts(self) -> (T, Bytes) {
        (self.value, self.bytes)
    }

    pub(crate) fn assemble(value: T, bytes: Bytes) -> Self {
        let digest = Algorithm::Sha256.digest(&bytes);
        Document {
            value,
            bytes,
            digest,
        }
    }
}

impl<T: DeserializeOwned> Document<T> {
    /// Parses `bytes`, refusing more than [`MAX_MANIFEST_BYTES`].
    ///
    /// # Errors
    ///
    /// [`SpecError::TooLarge`] past the limit; [`SpecError::Json`] naming the path of the field
    /// that is wrong (`layers[1].size`) and what is wrong with it.
    pub fn parse(document: &'static str, bytes: impl Into<Bytes>) -> Result<Self, SpecError> {
        Self::parse_with_limit(document, bytes, MAX_MANIFEST_BYTES)
    }

    /// As [`parse`](Self::parse) with another limit.
    pub fn parse_with_limit(
        document: &'static str,
        bytes: impl Into<Bytes>,
        limit: u64,
    ) -> Result<Self, SpecError> {
        let bytes = bytes.into();
        if bytes.len() as u64 > limit {
            return Err(SpecError::TooLarge {
                document,
                size: bytes.len() as u64,
                limit,
            });
        }
        let value = from_json(document, &bytes)?;
        let digest = Algorithm::Sha256.digest(&bytes);
        Ok(Document {
            value,
            bytes,
            digest,
        })
    }
}

impl<T: Serialize> Document<T> {
    /// Serialises a new document deterministically and keeps the bytes.
    ///
    /// # Errors
    ///
    /// [`SpecError::Json`] if the value cannot be serialised (a map with non-string keys).
    pub fn new(document: &'static str, value: T) -> Result<Self, SpecError> {
        let bytes = Bytes::from(serde_json::to_vec(&value).map_err(|e| SpecError::Json {
            document,
            message: e.to_string(),
        })?);
        let digest = Algorithm::Sha256.digest(&bytes);
        Ok(Document {
            value,
            bytes,
            digest,
        })
    }
}

/// Deserialises JSON, naming the path of the field at fault.
pub(crate) fn from_json<T: DeserializeOwned>(
    document: &'static str,
    bytes: &[u8],
) -> Result<T, SpecError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = if path.is_empty() || path == "." {
            inner.to_string()
        } else {
            format!("at {path}: {inner}")
        };
        SpecError::Json {
            document,
            message: clip(&message),
        }
    })?;
    de.end().map_err(|e| SpecError::Json {
        document,
        message: e.to_string(),
    })?;
    Ok(value)
}
