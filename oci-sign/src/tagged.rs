//! cosign's tag scheme: signatures of `sha256:<hex>` kept in the same repository as a manifest
//! tagged `sha256-<hex>.sig`, one layer per signature, each a simple-signing payload with its
//! signature in the layer's `dev.cosignproject.cosign/signature` annotation.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use oci_spec_types::{Descriptor, MediaType, media_types};
use oci_target::{ReadOnlyTarget, ReadOnlyTargetExt, Target, TargetExt};

use crate::attachments::{append, check_each};
use crate::keys::{PublicKey, SigningKey};
use crate::payload::SimpleSigning;
use crate::sigstore::{self, Bundle, Signer, TrustedRoot};
use crate::{Error, Result};

/// The layer annotation holding a signature, base64.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// The layer annotation holding the signer's certificate, PEM (keyless signatures).
pub const CERTIFICATE_ANNOTATION: &str = "dev.sigstore.cosign/certificate";
/// The layer annotation holding the certificate chain, PEM.
pub const CHAIN_ANNOTATION: &str = "dev.sigstore.cosign/chain";
/// The layer annotation holding a transparency-log bundle, JSON.
pub const BUNDLE_ANNOTATION: &str = "dev.sigstore.cosign/bundle";

/// The most bytes read of one payload: cosign's payloads are a few hundred bytes.
const MAX_PAYLOAD_BYTES: u64 = 1 << 20;

/// How a signature is checked against the artifact it is found for.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct VerifyOptions {
    /// The repository the payload must name (`critical.identity.docker-reference`), as
    /// `registry/name`. `None` accepts any: for content copied from another repository.
    pub reference: Option<String>,
    /// Annotations each accepted payload must carry with these values.
    pub annotations: BTreeMap<String, String>,
}

impl VerifyOptions {
    /// Signatures must name `reference` (`registry/name`).
    pub fn for_reference(reference: impl Into<String>) -> Self {
        VerifyOptions {
            reference: Some(reference.into()),
            ..Self::default()
        }
    }

    /// Any repository named in the payload is accepted; the digest is still checked.
    pub fn any_reference() -> Self {
        Self::default()
    }

    /// Accepted payloads must carry `key` = `value`.
    pub fn with_annotation(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.annotations.insert(key.into(), value.into());
        self
    }
}

/// A signature that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedSignature {
    /// The signature's layer in the `.sig` manifest.
    pub layer: Descriptor,
    /// What was signed.
    pub payload: SimpleSigning,
    /// Who signed: the fingerprint of the key it verified with, or the identity of a keyless
    /// signature's certificate.
    pub key: String,
}

/// Signs `subject` (a manifest in `target`) as cosign's `sign --key` does: a simple-signing
/// payload naming `docker_reference` and the subject's digest, signed with `key`, added as a
/// layer of the subject's `.sig` manifest. Signatures already there are kept; the same
/// payload signed again is not added twice. Returns the new `.sig` manifest.
///
/// # Errors
///
/// The store's errors; [`Error::Malformed`] when the existing `.sig` manifest is not one.
pub async fn sign(
    target: &dyn Target,
    subject: &Descriptor,
    docker_reference: &str,
    key: &SigningKey,
    annotations: BTreeMap<String, String>,
) -> Result<Descriptor> {
    let payload = SimpleSigning::new(docker_reference, &subject.digest, annotations).to_vec();
    let signature = BASE64.encode(key.sign(&payload));
    let layer = target
        .push_content(media(media_types::COSIGN_SIMPLE_SIGNING), payload.into())
        .await?;
    let layer = with_annotation(layer, SIGNATURE_ANNOTATION, signature);
    append(target, subject, "sig", layer).await
}

/// Verifies the tag-scheme signatures of `subject` in `target` with `key`: each payload's
/// signature, its digest against the subject's, its repository and annotations against
/// `options`. Returns the signatures that passed (at least one).
///
/// # Errors
///
/// [`Error::NoSignatures`] when there is no `.sig` manifest; [`Error::NoValidSignature`] with
/// the reason for each signature when none passes; the store's errors.
pub async fn verify(
    target: &dyn ReadOnlyTarget,
    subject: &Descriptor,
    key: &PublicKey,
    options: &VerifyOptions,
) -> Result<Vec<VerifiedSignature>> {
    check_all(target, subject, By::Key(key), options).await
}

/// Verifies the tag-scheme signatures of `subject` made keyless, as `cosign sign` without a
/// key leaves them: each layer's certificate (`dev.sigstore.cosign/certificate`) must chain
/// to a certificate authority of `root` and bind `signer`'s identity and issuer, and its
/// transparency-log bundle (`dev.sigstore.cosign/bundle`: the entry's body and signed entry
/// timestamp) must verify with a log of `root` and record this signature; the payload is then
/// checked as [`verify`] checks it. The chain annotation is not trusted: `root` gives the
/// issuers.
///
/// # Errors
///
/// As [`verify`]; each refusal says which check failed.
pub async fn verify_keyless(
    target: &dyn ReadOnlyTarget,
    subject: &Descriptor,
    signer: &Signer,
    root: &TrustedRoot,
    options: &VerifyOptions,
) -> Result<Vec<VerifiedSignature>> {
    check_all(target, subject, By::Certificate(signer, root), options).await
}

/// Who a tag-scheme signature must be by.
#[derive(Clone, Copy)]
enum By<'a> {
    Key(&'a PublicKey),
    Certificate(&'a Signer, &'a TrustedRoot),
}

async fn check_all(
    target: &dyn ReadOnlyTarget,
    subject: &Descriptor,
    by: By<'_>,
    options: &VerifyOptions,
) -> Result<Vec<VerifiedSignature>> {
    let kind = media_types::COSIGN_SIMPLE_SIGNING;
    check_each(target, subject, "sig", kind, |layer| async move {
        let (payload, key) = check_layer(&layer, (target, subject), by, options).await?;
        Ok(VerifiedSignature {
            layer,
            payload,
            key,
        })
    })
    .await
}

/// The signature of a keyless layer as the Sigstore bundle it amounts to: the certificate, and
/// the log entry its bundle annotation carries.
fn keyless_bundle(layer: &Descriptor, signature: &str) -> Result<Bundle> {
    let malformed = |why: String| Error::malformed("keyless signature layer", why);
    let pem = layer
        .annotation(CERTIFICATE_ANNOTATION)
        .ok_or_else(|| malformed("it has no certificate annotation".into()))?;
    let (label, der) = pem_rfc7468::decode_vec(pem.trim().as_bytes())
        .map_err(|e| malformed(format!("the certificate: {e}")))?;
    if label != "CERTIFICATE" {
        return Err(malformed(format!("a {label} where a certificate belongs")));
    }
    let rekor = layer
        .annotation(BUNDLE_ANNOTATION)
        .ok_or_else(|| malformed("it has no transparency-log bundle annotation".into()))?;
    let rekor: serde_json::Value =
        serde_json::from_str(rekor).map_err(|e| malformed(format!("the bundle: {e}")))?;
    let payload = &rekor["Payload"];
    let body = payload["body"].as_str().unwrap_or_default();
    let decoded = BASE64
        .decode(body)
        .map_err(|e| malformed(format!("the entry body: {e}")))?;
    let entry: serde_json::Value =
        serde_json::from_slice(&decoded).map_err(|e| malformed(format!("the entry body: {e}")))?;
    let log_id = hex::decode(payload["logID"].as_str().unwrap_or_default())
        .map_err(|e| malformed(format!("the log ID: {e}")))?;
    let bundle = serde_json::json!({
        "mediaType": "application/vnd.dev.sigstore.bundle+json;version=0.1",
        "verificationMaterial": {
            "x509CertificateChain": {"certificates": [{"rawBytes": BASE64.encode(der)}]},
            "tlogEntries": [{
                "logIndex": payload["logIndex"],
                "logId": {"keyId": BASE64.encode(log_id)},
                "kindVersion": {"kind": entry["kind"], "version": entry["apiVersion"]},
                "integratedTime": payload["integratedTime"],
                "inclusionPromise": {"signedEntryTimestamp": rekor["SignedEntryTimestamp"]},
                "canonicalizedBody": body,
            }],
        },
        "messageSignature": {"signature": signature.trim()},
    });
    Bundle::from_slice(&serde_json::to_vec(&bundle).expect("JSON values serialise"))
        .map_err(|e| malformed(e.to_string()))
}

/// Checks one signature `layer` of `subject`, read from `target`; returns the payload and who
/// signed it (a key's fingerprint, a certificate's identity).
async fn check_layer(
    layer: &Descriptor,
    (target, subject): (&dyn ReadOnlyTarget, &Descriptor),
    by: By<'_>,
    options: &VerifyOptions,
) -> Result<(SimpleSigning, String)> {
    let encoded = layer
        .annotation(SIGNATURE_ANNOTATION)
        .ok_or_else(|| Error::malformed("signature layer", "it has no signature annotation"))?;
    let signature = BASE64
        .decode(encoded.trim())
        .map_err(|e| Error::malformed("signature", format!("not base64: {e}")))?;
    let payload = target.fetch_bytes(layer, MAX_PAYLOAD_BYTES).await?;
    let signer = match by {
        By::Key(key) => {
            key.verify(&payload, &signature)?;
            key.fingerprint()
        }
        By::Certificate(signer, root) => {
            let bundle = keyless_bundle(layer, encoded)?;
            let artifact = sigstore::Artifact::Bytes(&payload);
            sigstore::verify(&bundle, artifact, signer, root)?.signer
        }
    };
    let payload = SimpleSigning::from_slice(&payload)?;
    let signed = &payload.critical.image.docker_manifest_digest;
    if *signed != subject.digest.to_string() {
        return Err(Error::DigestMismatch {
            signed: signed.clone(),
            actual: subject.digest.clone(),
        });
    }
    let named = &payload.critical.identity.docker_reference;
    if let Some(expected) = &options.reference
        && named != expected
    {
        return Err(Error::ReferenceMismatch {
            signed: named.clone(),
            expected: expected.clone(),
        });
    }
    let carried = payload.annotations();
    for (k, v) in &options.annotations {
        if carried.get(k) != Some(v) {
            return Err(Error::malformed(
                "signature",
                format!("its payload lacks the annotation {k}={v}"),
            ));
        }
    }
    Ok((payload, signer))
}

/// A media type of this crate's constants.
pub(crate) fn media(constant: &'static str) -> MediaType {
    MediaType::parse(constant).expect("the constants are valid media types")
}

fn with_annotation(mut desc: Descriptor, key: &str, value: String) -> Descriptor {
    desc.annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(key.to_owned(), value);
    desc
}
