//! The Sigstore bundle (`*.sigstore.json`): a signature or DSSE envelope with the material that
//! proves it, as the protobuf-specs' JSON form spells it.

use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::b64;
use super::trust::RawBytes;
use crate::dsse::Envelope;
use crate::{Error, Result};

/// Bundle media types, the version each stands for.
pub(crate) const MEDIA_TYPES: [(&str, u8); 4] = [
    ("application/vnd.dev.sigstore.bundle+json;version=0.1", 1),
    ("application/vnd.dev.sigstore.bundle+json;version=0.2", 2),
    ("application/vnd.dev.sigstore.bundle+json;version=0.3", 3),
    (BUNDLE_V03, 3),
];

/// The media type of a version 0.3 bundle, as bundles pushed as OCI referrers carry it.
pub use oci_spec_types::media_types::SIGSTORE_BUNDLE_V03 as BUNDLE_V03;

/// A parsed bundle.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Bundle {
    /// The bundle's media type (its version).
    pub media_type: String,
    /// Certificate or key, log entries, timestamps.
    pub verification_material: VerificationMaterial,
    /// A signature over the artifact itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_signature: Option<MessageSignature>,
    /// Or a DSSE envelope (an attestation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dsse_envelope: Option<Envelope>,
}

/// What proves the signature.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct VerificationMaterial {
    /// The signing certificate (version 0.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<RawBytes>,
    /// The signing certificate and its issuers (versions 0.1 and 0.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x509_certificate_chain: Option<CertificateChain>,
    /// A hint naming the key the verifier holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<KeyHint>,
    /// Transparency-log entries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tlog_entries: Vec<TlogEntry>,
    /// Signed timestamps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_verification_data: Option<serde_json::Value>,
}

/// Certificates, the signing one first.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CertificateChain {
    /// The certificates.
    #[serde(default)]
    pub certificates: Vec<RawBytes>,
}

/// A hint naming a key.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct KeyHint {
    /// The hint, free-form.
    #[serde(default)]
    pub hint: String,
}

/// A signature over the artifact.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct MessageSignature {
    /// The artifact's digest, as the signer saw it (a hint: it is checked, not trusted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_digest: Option<HashOutput>,
    /// The signature, base64.
    pub signature: String,
}

/// An algorithm and a digest.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct HashOutput {
    /// `SHA2_256`, `SHA2_384` or `SHA2_512`.
    pub algorithm: String,
    /// The digest, base64.
    pub digest: String,
}

/// A transparency-log entry with its proofs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TlogEntry {
    /// The entry's index in the log.
    #[serde(deserialize_with = "int64", serialize_with = "int64_text")]
    pub log_index: i64,
    /// The log.
    pub log_id: super::trust::LogId,
    /// The entry's kind and version: `hashedrekord` 0.0.1, `dsse` 0.0.1, `intoto` 0.0.2.
    pub kind_version: KindVersion,
    /// When the log took the entry, in seconds since the epoch (0 when absent).
    #[serde(default, deserialize_with = "int64", serialize_with = "int64_text")]
    pub integrated_time: i64,
    /// The log's signed promise to include the entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inclusion_promise: Option<InclusionPromise>,
    /// The proof that the entry is in the tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inclusion_proof: Option<InclusionProof>,
    /// The entry's body as the log holds it, base64.
    pub canonicalized_body: String,
}

/// The entry's kind and version.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct KindVersion {
    /// The kind.
    pub kind: String,
    /// Its version.
    pub version: String,
}

/// A signed entry timestamp.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct InclusionPromise {
    /// The log's signature, base64.
    pub signed_entry_timestamp: String,
}

/// An inclusion proof with the checkpoint it ends at.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct InclusionProof {
    /// The entry's index in the tree.
    #[serde(deserialize_with = "int64", serialize_with = "int64_text")]
    pub log_index: i64,
    /// The tree's root, base64.
    pub root_hash: String,
    /// The tree's size.
    #[serde(deserialize_with = "int64", serialize_with = "int64_text")]
    pub tree_size: i64,
    /// The audit path, base64 each.
    #[serde(default)]
    pub hashes: Vec<String>,
    /// The signed checkpoint (required from version 0.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<Checkpoint>,
}

/// A signed note.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Checkpoint {
    /// The note's text and signature lines.
    pub envelope: String,
}

/// Protobuf's JSON spells 64-bit integers as strings, and accepts numbers.
fn int64<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Int {
        Number(i64),
        Text(String),
    }
    match Int::deserialize(d)? {
        Int::Number(n) => Ok(n),
        Int::Text(s) => s.parse().map_err(serde::de::Error::custom),
    }
}

fn int64_text<S: Serializer>(n: &i64, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(n)
}

impl Bundle {
    /// A version 0.3 bundle of `envelope`, signed by `key`, with no log entry or timestamp:
    /// what a key pair signs offline (verify it with [`super::Options::require_log`] off).
    pub fn for_key(key: &crate::PublicKey, envelope: Envelope) -> Self {
        let hint = match hex::decode(key.fingerprint()) {
            Ok(raw) => super::BASE64.encode(raw),
            Err(_) => String::new(),
        };
        Bundle {
            media_type: BUNDLE_V03.to_owned(),
            verification_material: VerificationMaterial {
                public_key: Some(KeyHint { hint }),
                ..VerificationMaterial::default()
            },
            message_signature: None,
            dsse_envelope: Some(envelope),
        }
    }

    /// The bundle as JSON.
    pub fn to_vec(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("bundles serialise")
    }

    /// Reads a bundle and checks its version is one this crate knows.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] when it does not parse, has an unknown media type, or carries
    /// neither or both of a message signature and a DSSE envelope.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        let bundle: Bundle =
            serde_json::from_slice(bytes).map_err(|e| Error::malformed("Sigstore bundle", e))?;
        bundle.version()?;
        if bundle.message_signature.is_some() == bundle.dsse_envelope.is_some() {
            return Err(Error::malformed(
                "Sigstore bundle",
                "it must carry a message signature or a DSSE envelope, and not both",
            ));
        }
        Ok(bundle)
    }

    /// The bundle's minor version: 1, 2 or 3.
    pub(crate) fn version(&self) -> Result<u8> {
        MEDIA_TYPES
            .iter()
            .find(|(media_type, _)| *media_type == self.media_type)
            .map(|(_, version)| *version)
            .ok_or_else(|| {
                Error::malformed(
                    "Sigstore bundle",
                    format!("unknown media type {:?}", self.media_type),
                )
            })
    }

    /// The certificates the bundle carries, DER, the signing one first.
    pub(crate) fn certificates(&self) -> Result<Vec<Vec<u8>>> {
        let material = &self.verification_material;
        let raw: Vec<&RawBytes> = match (&material.certificate, &material.x509_certificate_chain) {
            (Some(cert), None) => vec![cert],
            (None, Some(chain)) => chain.certificates.iter().collect(),
            (None, None) => Vec::new(),
            (Some(_), Some(_)) => {
                return Err(Error::malformed(
                    "Sigstore bundle",
                    "both a certificate and a certificate chain",
                ));
            }
        };
        raw.iter()
            .map(|c| b64(&c.raw_bytes).map_err(|e| Error::malformed("bundle certificate", e)))
            .collect()
    }
}
