//! Sigstore bundles (versions 0.1 to 0.3), verified offline against a trusted root: the signing
//! certificate's chain to a trusted authority valid at signing time, the identity and OIDC
//! issuer it binds, its SCT; the transparency log's evidence (the entry records this signature,
//! its signed entry timestamp, the inclusion proof up to a signed checkpoint); and RFC 3161
//! signed timestamps. Rekor v1 entries (`hashedrekord` 0.0.1, `dsse` 0.0.1, `intoto` 0.0.2)
//! and Rekor v2 entries (`hashedrekord` and `dsse` 0.0.2) are read. A signing time comes from
//! a signed entry timestamp or a signed timestamp, never from the bundle's word alone.

pub mod bundle;
mod cert;
mod log;
pub mod trust;
mod tsa;

use base64::Engine as _;
pub(crate) use base64::engine::general_purpose::STANDARD as BASE64;
use time::OffsetDateTime;

pub use bundle::{BUNDLE_V03, Bundle};
pub use trust::TrustedRoot;

use crate::attest::Statement;
use crate::keys::{Hash, PublicKey};
use crate::{Error, Result};
use cert::Cert;
use log::{Material, Signed};

/// Which check of a Sigstore bundle failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SigstoreError {
    /// The certificate does not chain to an authority of the trusted root, valid then.
    #[error("certificate chain: {0}")]
    Chain(String),
    /// No SCT of the certificate verifies with a CT log of the trusted root.
    #[error("certificate transparency: {0}")]
    Sct(String),
    /// The certificate binds another identity or issuer than the one required.
    #[error("identity: {0}")]
    Identity(String),
    /// The transparency log's evidence is missing, for another entry, or does not verify.
    #[error("transparency log: {0}")]
    Log(String),
    /// No trusted signing time, or one outside the certificate's validity.
    #[error("signing time: {0}")]
    Time(String),
    /// The signature or envelope does not verify, or signs another artifact.
    #[error("signature: {0}")]
    Signature(String),
    /// A signed timestamp is malformed, over another signature, or not from a trusted
    /// timestamp authority valid then.
    #[error("signed timestamp: {0}")]
    Timestamp(String),
    /// The bundle needs something this crate does not read yet.
    #[error("unsupported: {0}")]
    Unsupported(String),
}

impl From<SigstoreError> for Error {
    fn from(e: SigstoreError) -> Self {
        Error::Sigstore(e)
    }
}

/// A string to match: exactly, or by a regular expression (unanchored, as cosign's
/// `--certificate-identity-regexp` is; anchor it with `^…$`).
#[derive(Debug, Clone)]
pub enum Matcher {
    /// The exact string.
    Exact(String),
    /// A regular expression.
    Regex(regex::Regex),
}

impl Matcher {
    fn matches(&self, value: &str) -> bool {
        match self {
            Matcher::Exact(want) => want == value,
            Matcher::Regex(re) => re.is_match(value),
        }
    }
}

impl std::fmt::Display for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Matcher::Exact(s) => write!(f, "{s:?}"),
            Matcher::Regex(re) => write!(f, "/{re}/"),
        }
    }
}

/// Who must have signed.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Signer {
    /// The holder of this key (a bundle with a public-key hint, no certificate).
    Key(PublicKey),
    /// A certificate from a trusted authority binding this identity (subject alternative
    /// name) and OIDC issuer.
    Identity {
        /// The identity: an e-mail address or a URI such as a workflow's.
        identity: Matcher,
        /// The OIDC issuer.
        issuer: Matcher,
    },
}

/// The signed artifact: its bytes, or its SHA-256 where only that is at hand.
#[derive(Debug, Clone, Copy)]
pub enum Artifact<'a> {
    /// The artifact's bytes.
    Bytes(&'a [u8]),
    /// The artifact's SHA-256 (32 bytes).
    Sha256(&'a [u8]),
}

/// What a verified bundle proves.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Verified {
    /// The certificate's identity, or the key's fingerprint.
    pub signer: String,
    /// The certificate's OIDC issuer.
    pub issuer: Option<String>,
    /// The signing times the log vouched for.
    pub times: Vec<OffsetDateTime>,
    /// For a DSSE bundle, the in-toto statement it carries.
    pub statement: Option<Statement>,
}

/// Decodes standard base64, ignoring line breaks and other white space (as protobuf's JSON
/// readers do: some clients wrap what they write).
pub(crate) fn b64(text: &str) -> std::result::Result<Vec<u8>, base64::DecodeError> {
    if text.bytes().any(|b| b.is_ascii_whitespace()) {
        let joined: String = text.split_ascii_whitespace().collect();
        return BASE64.decode(joined);
    }
    BASE64.decode(text)
}

/// What verification may do without.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// Require transparency-log evidence (on by default). Off, as cosign's
    /// `--insecure-ignore-tlog`, a bundle signed by a key may carry no log entry; one that
    /// carries entries still has them checked, and a certificate still needs a trusted time.
    pub require_log: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { require_log: true }
    }
}

impl Options {
    /// Sets [`Options::require_log`].
    pub fn with_require_log(mut self, require: bool) -> Self {
        self.require_log = require;
        self
    }
}

/// Verifies `bundle` over `artifact` offline: signed by `signer`, with the evidence `root`
/// trusts. Every check named in [`SigstoreError`] must pass.
///
/// # Errors
///
/// [`Error::Sigstore`] naming the check that failed; [`Error::Malformed`] for bytes that do
/// not parse; [`Error::BadSignature`] for a signature that does not verify.
pub fn verify(
    bundle: &Bundle,
    artifact: Artifact<'_>,
    signer: &Signer,
    root: &TrustedRoot,
) -> Result<Verified> {
    verify_with(bundle, artifact, signer, root, &Options::default())
}

/// [`verify`] with [`Options`].
///
/// # Errors
///
/// As [`verify`].
pub fn verify_with(
    bundle: &Bundle,
    artifact: Artifact<'_>,
    signer: &Signer,
    root: &TrustedRoot,
    options: &Options,
) -> Result<Verified> {
    let version = bundle.version()?;
    let digest = match artifact {
        Artifact::Bytes(bytes) => Hash::Sha256.digest(bytes),
        Artifact::Sha256(d) if d.len() == 32 => d.to_vec(),
        Artifact::Sha256(_) => {
            return Err(Error::malformed("artifact digest", "not 32 bytes"));
        }
    };
    let material = &bundle.verification_material;
    let certs = bundle.certificates()?;
    // Who signed, as the bundle's material must show it: a managed key, or a certificate.
    let who = match signer {
        Signer::Key(key) => {
            if material.public_key.is_none() || !certs.is_empty() {
                return Err(SigstoreError::Signature(
                    "the bundle was not signed with a managed key".into(),
                )
                .into());
            }
            Who::Key(key)
        }
        Signer::Identity { identity, issuer } => {
            if material.public_key.is_some() || certs.is_empty() {
                return Err(
                    SigstoreError::Chain("the bundle carries no certificate".into()).into(),
                );
            }
            let leaf = Box::new(Cert::from_der(&certs[0])?);
            Who::Certificate {
                leaf,
                identity,
                issuer,
            }
        }
    };
    let signature_bytes = match &bundle.message_signature {
        Some(message) => {
            b64(&message.signature).map_err(|e| Error::malformed("bundle signature", e))?
        }
        None => Vec::new(),
    };
    let signed = match (&bundle.message_signature, &bundle.dsse_envelope) {
        (Some(_), None) => Signed::Message {
            digest: &digest,
            signature: &signature_bytes,
        },
        (None, Some(envelope)) => Signed::Envelope(envelope),
        _ => {
            return Err(Error::malformed(
                "Sigstore bundle",
                "a message signature or a DSSE envelope",
            ));
        }
    };
    let material_ref = match &who {
        Who::Certificate { leaf, .. } => Material::Certificate(&leaf.der),
        Who::Key(key) => Material::Key(key),
    };
    let unlogged = bundle.verification_material.tlog_entries.is_empty()
        && !options.require_log
        && matches!(who, Who::Key(_));
    let mut times = if unlogged {
        Vec::new()
    } else {
        check_log(bundle, version, &signed, &material_ref, root)?
    };
    times.extend(check_timestamps(bundle, &signature_bytes, root)?);
    if times.is_empty() && !unlogged {
        return Err(SigstoreError::Time(
            "no trusted signing time: neither a signed entry timestamp nor a signed timestamp"
                .into(),
        )
        .into());
    }

    let (key, signer_name, issuer) = match &who {
        Who::Certificate {
            leaf,
            identity,
            issuer,
        } => {
            let carried = certs[1..]
                .iter()
                .map(|der| Cert::from_der(der))
                .collect::<Result<Vec<_>>>()?;
            cert::verify_leaf(leaf, &carried, root, &times)?;
            let san = leaf.san().unwrap_or_default();
            if !identity.matches(&san) {
                return Err(SigstoreError::Identity(format!(
                    "the certificate is for {san:?}, not {identity}"
                ))
                .into());
            }
            let oidc = leaf.oidc_issuer().unwrap_or_default();
            if !issuer.matches(&oidc) {
                return Err(SigstoreError::Identity(format!(
                    "the certificate's issuer is {oidc:?}, not {issuer}"
                ))
                .into());
            }
            (leaf.key()?, san, Some(oidc))
        }
        Who::Key(key) => ((*key).clone(), key.fingerprint(), None),
    };

    let statement = match &signed {
        Signed::Message { .. } => {
            let hint = bundle.message_signature.as_ref();
            if let Some(hint) = hint.and_then(|m| m.message_digest.as_ref()) {
                let hinted =
                    b64(&hint.digest).map_err(|e| Error::malformed("message digest", e))?;
                if hint.algorithm != "SHA2_256" || hinted != digest {
                    return Err(SigstoreError::Signature(
                        "the bundle's message digest is not the artifact's".into(),
                    )
                    .into());
                }
            }
            match artifact {
                Artifact::Bytes(bytes) => key.verify_with(Hash::Sha256, bytes, &signature_bytes)?,
                Artifact::Sha256(_) => {
                    key.verify_digest(Hash::Sha256, &digest, &signature_bytes)?
                }
            }
            None
        }
        Signed::Envelope(envelope) => {
            let payload = envelope.verify(&key)?;
            let statement = Statement::from_slice(&payload)?;
            let hex_digest = hex::encode(&digest);
            if !statement.subject.iter().any(|s| {
                s.digest
                    .get("sha256")
                    .is_some_and(|d| d.eq_ignore_ascii_case(&hex_digest))
            }) {
                return Err(SigstoreError::Signature(
                    "the statement's subjects do not include the artifact".into(),
                )
                .into());
            }
            Some(statement)
        }
    };
    Ok(Verified {
        signer: signer_name,
        issuer,
        times,
        statement,
    })
}

/// Checks the bundle's RFC 3161 timestamps over the signature (for an envelope, its first
/// signature) and returns the times they vouch for.
fn check_timestamps(
    bundle: &Bundle,
    message_signature: &[u8],
    root: &TrustedRoot,
) -> Result<Vec<OffsetDateTime>> {
    let Some(data) = &bundle.verification_material.timestamp_verification_data else {
        return Ok(Vec::new());
    };
    let tokens = data["rfc3161Timestamps"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if tokens.is_empty() {
        return Ok(Vec::new());
    }
    let signature = match &bundle.dsse_envelope {
        Some(envelope) => envelope
            .signatures
            .first()
            .map(|s| b64(&s.sig))
            .transpose()
            .map_err(|e| Error::malformed("DSSE signature", e))?
            .unwrap_or_default(),
        None => message_signature.to_vec(),
    };
    tokens
        .iter()
        .map(|token| {
            let der = token["signedTimestamp"]
                .as_str()
                .and_then(|t| b64(t).ok())
                .ok_or_else(|| SigstoreError::Timestamp("not base64".into()))?;
            tsa::verify(&der, &signature, root)
        })
        .collect()
}

/// The signer a bundle's material names.
enum Who<'a> {
    Key(&'a PublicKey),
    Certificate {
        leaf: Box<Cert>,
        identity: &'a Matcher,
        issuer: &'a Matcher,
    },
}

/// Checks every log entry and returns the signing times they vouch for.
fn check_log(
    bundle: &Bundle,
    version: u8,
    signed: &Signed<'_>,
    material: &Material<'_>,
    root: &TrustedRoot,
) -> Result<Vec<OffsetDateTime>> {
    let entries = &bundle.verification_material.tlog_entries;
    if entries.is_empty() {
        return Err(SigstoreError::Log("the bundle has no transparency-log entry".into()).into());
    }
    let mut times = Vec::new();
    for entry in entries {
        if !log::supported(entry) {
            return Err(SigstoreError::Unsupported(format!(
                "{} {} log entries",
                entry.kind_version.kind, entry.kind_version.version
            ))
            .into());
        }
        if entry.log_index < 0 {
            return Err(SigstoreError::Log("a negative log index".into()).into());
        }
        let log_id = b64(&entry.log_id.key_id).map_err(|e| SigstoreError::Log(e.to_string()))?;
        let tlog = root.tlog(&log_id).ok_or_else(|| {
            SigstoreError::Log("the entry is from a log the trusted root does not name".into())
        })?;
        log::check_body(entry, signed, material)?;
        let v2 = log::rekor_v2(entry);
        if entry.inclusion_proof.is_none() && (version >= 2 || v2) {
            return Err(SigstoreError::Log(
                "a version 0.2 or later bundle, or a Rekor v2 entry, needs an inclusion proof"
                    .into(),
            )
            .into());
        }
        if entry.inclusion_promise.is_none() && version == 1 {
            return Err(SigstoreError::Log(
                "a version 0.1 bundle needs a signed entry timestamp".into(),
            )
            .into());
        }
        if let Some(proof) = &entry.inclusion_proof {
            log::verify_inclusion(entry, proof, tlog, version == 1 && !v2)?;
        }
        if let Some(promise) = entry.inclusion_promise.as_ref().filter(|_| !v2) {
            log::verify_promise(entry, tlog, &promise.signed_entry_timestamp)?;
            let when = OffsetDateTime::from_unix_timestamp(entry.integrated_time)
                .map_err(|e| SigstoreError::Time(e.to_string()))?;
            if !tlog.trusted_at(when) {
                return Err(
                    SigstoreError::Log(format!("the log's key was not trusted at {when}")).into(),
                );
            }
            times.push(when);
        }
    }
    Ok(times)
}
