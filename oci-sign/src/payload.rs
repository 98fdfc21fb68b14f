//! cosign's simple-signing payload: what a tag-scheme signature signs.

use std::collections::BTreeMap;

use oci_spec_types::Digest;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The `type` of a container image signature payload.
pub const SIGNATURE_TYPE: &str = "cosign container image signature";

/// A simple-signing payload: the repository and the manifest digest signed, and the signer's
/// annotations. Serialised exactly as cosign writes it (`critical` then `optional`, `null` when
/// there are no annotations).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SimpleSigning {
    /// What is signed.
    pub critical: Critical,
    /// The signer's annotations (`-a key=value` in cosign).
    pub optional: Option<BTreeMap<String, serde_json::Value>>,
}

/// The part of a payload every verifier must check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Critical {
    /// The repository signed.
    pub identity: Identity,
    /// The manifest signed.
    pub image: Image,
    /// Always [`SIGNATURE_TYPE`].
    #[serde(rename = "type")]
    pub kind: String,
}

/// `critical.identity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Identity {
    /// The repository, as `registry/name` (cosign's `docker-reference`).
    #[serde(rename = "docker-reference")]
    pub docker_reference: String,
}

/// `critical.image`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Image {
    /// The manifest's digest.
    #[serde(rename = "docker-manifest-digest")]
    pub docker_manifest_digest: String,
}

impl SimpleSigning {
    /// A payload signing `digest` in the repository `docker_reference`, with `annotations`
    /// (none when empty).
    pub fn new(
        docker_reference: impl Into<String>,
        digest: &Digest,
        annotations: BTreeMap<String, String>,
    ) -> Self {
        SimpleSigning {
            critical: Critical {
                identity: Identity {
                    docker_reference: docker_reference.into(),
                },
                image: Image {
                    docker_manifest_digest: digest.to_string(),
                },
                kind: SIGNATURE_TYPE.into(),
            },
            optional: (!annotations.is_empty()).then(|| {
                annotations
                    .into_iter()
                    .map(|(k, v)| (k, serde_json::Value::String(v)))
                    .collect()
            }),
        }
    }

    /// Reads a payload; its `type` must be a container image signature.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] for anything else.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        let payload: SimpleSigning = serde_json::from_slice(bytes)
            .map_err(|e| Error::malformed("simple-signing payload", e))?;
        if payload.critical.kind != SIGNATURE_TYPE {
            return Err(Error::malformed(
                "simple-signing payload",
                format!(
                    "its type is {:?}, not {SIGNATURE_TYPE:?}",
                    payload.critical.kind
                ),
            ));
        }
        Ok(payload)
    }

    /// The bytes to sign.
    pub fn to_vec(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("payloads serialise")
    }

    /// The payload's annotations as text (non-string values as JSON).
    pub fn annotations(&self) -> BTreeMap<String, String> {
        let values = self.optional.iter().flatten();
        values
            .map(|(k, v)| {
                let text = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                (k.clone(), text)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_serialise_as_cosign_writes_them() {
        let digest: Digest = format!("sha256:{}", "f".repeat(64)).parse().unwrap();
        let p = SimpleSigning::new("registry.example/app", &digest, BTreeMap::new());
        assert_eq!(
            String::from_utf8(p.to_vec()).unwrap(),
            format!(
                r#"{{"critical":{{"identity":{{"docker-reference":"registry.example/app"}},"image":{{"docker-manifest-digest":"sha256:{}"}},"type":"cosign container image signature"}},"optional":null}}"#,
                "f".repeat(64)
            )
        );
        let annotated = SimpleSigning::new(
            "r/a",
            &digest,
            BTreeMap::from([("env".to_owned(), "prod".to_owned())]),
        );
        assert!(
            String::from_utf8(annotated.to_vec())
                .unwrap()
                .ends_with(r#""optional":{"env":"prod"}}"#)
        );
        assert_eq!(
            SimpleSigning::from_slice(&annotated.to_vec()).unwrap(),
            annotated
        );
    }

    #[test]
    fn other_payload_types_are_refused() {
        let bad = br#"{"critical":{"identity":{"docker-reference":"r/a"},"image":{"docker-manifest-digest":"sha256:00"},"type":"something else"},"optional":null}"#;
        assert!(matches!(
            SimpleSigning::from_slice(bad),
            Err(Error::Malformed { .. })
        ));
        assert!(matches!(
            SimpleSigning::from_slice(b"not json"),
            Err(Error::Malformed { .. })
        ));
    }
}
