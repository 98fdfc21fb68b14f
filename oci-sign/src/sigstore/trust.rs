//! A Sigstore trusted root (`trusted_root.json`): the transparency logs, certificate
//! authorities, certificate-transparency logs and timestamp authorities that offline
//! verification trusts, each for a period.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::b64;
use crate::keys::PublicKey;
use crate::{Error, Result};

/// The trusted root's media type prefix; version 0.1 and 0.2 are read.
pub const MEDIA_TYPE_PREFIX: &str = "application/vnd.dev.sigstore.trustedroot";

/// A parsed `trusted_root.json`. The default trusts nothing: enough for bundles signed by a
/// key without a log.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TrustedRoot {
    /// `application/vnd.dev.sigstore.trustedroot+json;version=0.1` or a later version.
    pub media_type: String,
    /// Transparency logs (Rekor).
    #[serde(default)]
    pub tlogs: Vec<TransparencyLog>,
    /// Certificate authorities that issue signing certificates (Fulcio).
    #[serde(default)]
    pub certificate_authorities: Vec<CertificateAuthority>,
    /// Certificate-transparency logs whose SCTs signing certificates carry.
    #[serde(default)]
    pub ctlogs: Vec<TransparencyLog>,
    /// RFC 3161 timestamp authorities.
    #[serde(default)]
    pub timestamp_authorities: Vec<CertificateAuthority>,
}

/// A log and the key it signs with.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TransparencyLog {
    /// Where the log is served.
    #[serde(default)]
    pub base_url: String,
    /// The log's Merkle tree hash (`SHA2_256`).
    #[serde(default)]
    pub hash_algorithm: String,
    /// The log's key and when it is trusted.
    pub public_key: KeyMaterial,
    /// The log's identifier: the SHA-256 of its key's DER, base64.
    pub log_id: LogId,
}

/// A public key with its kind and period.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct KeyMaterial {
    /// PKIX DER, base64.
    #[serde(default)]
    pub raw_bytes: String,
    /// For example `PKIX_ECDSA_P256_SHA_256`.
    #[serde(default)]
    pub key_details: String,
    /// When the key is trusted.
    #[serde(default)]
    pub valid_for: Option<TimeRange>,
}

/// A log identifier.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct LogId {
    /// Base64 of the identifier's bytes.
    pub key_id: String,
}

/// A closed period: a start, and an end when the trust ended.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TimeRange {
    /// RFC 3339. Required: a period without a start is refused, not taken as unbounded.
    pub start: String,
    /// RFC 3339; none while the trust holds.
    #[serde(default)]
    pub end: Option<String>,
}

/// A certificate authority: its chain, leaf-most first and root last, and its period.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CertificateAuthority {
    /// Where the authority is served.
    #[serde(default)]
    pub uri: String,
    /// The chain.
    pub cert_chain: CertChain,
    /// When certificates it issued are trusted.
    #[serde(default)]
    pub valid_for: Option<TimeRange>,
}

/// Certificates, DER in base64.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CertChain {
    /// The certificates.
    #[serde(default)]
    pub certificates: Vec<RawBytes>,
}

/// DER bytes in base64.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RawBytes {
    /// The bytes, base64.
    pub raw_bytes: String,
}

impl TrustedRoot {
    /// Reads a trusted root.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] when it is not JSON of this shape, has another media type, or a
    /// period or key that cannot be read.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        let root: TrustedRoot =
            serde_json::from_slice(bytes).map_err(|e| Error::malformed("trusted root", e))?;
        if !root.media_type.starts_with(MEDIA_TYPE_PREFIX) {
            return Err(Error::malformed(
                "trusted root",
                format!("media type {:?}", root.media_type),
            ));
        }
        for log in root.tlogs.iter().chain(&root.ctlogs) {
            if let Some(period) = &log.public_key.valid_for {
                period.bounds()?;
            }
        }
        for ca in root
            .certificate_authorities
            .iter()
            .chain(&root.timestamp_authorities)
        {
            if let Some(period) = &ca.valid_for {
                period.bounds()?;
            }
        }
        Ok(root)
    }

    /// The transparency log with this identifier.
    pub(crate) fn tlog(&self, log_id: &[u8]) -> Option<&TransparencyLog> {
        find_log(&self.tlogs, log_id)
    }

    /// The certificate-transparency log with this identifier.
    pub(crate) fn ctlog(&self, log_id: &[u8]) -> Option<&TransparencyLog> {
        find_log(&self.ctlogs, log_id)
    }
}

fn find_log<'a>(logs: &'a [TransparencyLog], log_id: &[u8]) -> Option<&'a TransparencyLog> {
    logs.iter()
        .find(|log| b64(&log.log_id.key_id).is_ok_and(|id| id == log_id))
}

impl TransparencyLog {
    /// The log's key (read when used: a root may name keys of kinds this crate does not
    /// verify with, for logs the bundle does not use).
    pub(crate) fn key(&self) -> Result<PublicKey> {
        let der = b64(&self.public_key.raw_bytes)
            .map_err(|e| Error::malformed("trusted root", format!("a log key: {e}")))?;
        if self.public_key.key_details.starts_with("PKCS1_RSA") {
            return PublicKey::from_pkcs1_der(&der);
        }
        PublicKey::from_spki_der(&der)
    }

    /// Whether the key was trusted at `when`.
    pub(crate) fn trusted_at(&self, when: OffsetDateTime) -> bool {
        within(self.public_key.valid_for.as_ref(), when)
    }
}

impl CertificateAuthority {
    /// Whether the authority was trusted at `when`.
    pub(crate) fn trusted_at(&self, when: OffsetDateTime) -> bool {
        within(self.valid_for.as_ref(), when)
    }
}

/// Whether `when` lies in the closed `period` (none: always).
fn within(period: Option<&TimeRange>, when: OffsetDateTime) -> bool {
    match period.map(TimeRange::bounds) {
        None => true,
        Some(Ok((start, end))) => start <= when && end.is_none_or(|end| when <= end),
        Some(Err(_)) => false,
    }
}

impl TimeRange {
    fn bounds(&self) -> Result<(OffsetDateTime, Option<OffsetDateTime>)> {
        let parse = |s: &str| {
            OffsetDateTime::parse(s, &Rfc3339)
                .map_err(|e| Error::malformed("trusted root", format!("the time {s:?}: {e}")))
        };
        Ok((
            parse(&self.start)?,
            self.end.as_deref().map(parse).transpose()?,
        ))
    }
}
