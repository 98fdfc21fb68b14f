//! Signatures and attestations as Sigstore bundles attached to what they sign, the OCI 1.1
//! way cosign's new bundle format uses: each is a manifest of artifact type
//! `application/vnd.dev.sigstore.bundle.v0.3+json` whose subject is the signed manifest and
//! whose one layer is the bundle, found through the store's referrers (the referrers API or
//! its tag fallback). A signature is an in-toto statement of predicate type
//! [`SIGNATURE_PREDICATE_TYPE`] about the manifest digest, in DSSE; an attestation is the
//! same with the caller's predicate.

use std::collections::BTreeMap;

use bytes::Bytes;
use oci_spec_types::{Descriptor, ImageManifest, MediaType};
use oci_target::{ReadOnlyTarget, ReadOnlyTargetExt, Target, TargetExt};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::attest::Statement;
use crate::dsse::{Envelope, IN_TOTO_PAYLOAD_TYPE};
use crate::sigstore::{self, Artifact, BUNDLE_V03, Bundle, Options, Signer, TrustedRoot};
use crate::{Error, Result, SigningKey};

/// The predicate type of a signature made as a bundle (cosign's).
pub const SIGNATURE_PREDICATE_TYPE: &str = "https://sigstore.dev/cosign/sign/v1";
/// The annotation naming a bundle manifest's predicate type.
pub const PREDICATE_TYPE_ANNOTATION: &str = "dev.sigstore.bundle.predicateType";
/// The annotation saying what a bundle manifest's bundle holds.
pub const CONTENT_ANNOTATION: &str = "dev.sigstore.bundle.content";

/// The largest bundle read: bundles carry a statement and a few certificates.
const MAX_BUNDLE_BYTES: u64 = 16 << 20;

fn bundle_media_type() -> MediaType {
    MediaType::parse(BUNDLE_V03).expect("the bundle media type parses")
}

/// Signs `subject` (a manifest in `repository`) with `key` and attaches the bundle.
///
/// # Errors
///
/// The store's errors.
pub async fn sign(
    target: &dyn Target,
    repository: &str,
    subject: &Descriptor,
    key: &SigningKey,
) -> Result<Descriptor> {
    let predicate = serde_json::Value::Object(Default::default());
    attest(
        target,
        repository,
        subject,
        key,
        SIGNATURE_PREDICATE_TYPE,
        predicate,
    )
    .await
}

/// Attests `predicate` of `predicate_type` about `subject` with `key` and attaches the bundle.
///
/// # Errors
///
/// The store's errors.
pub async fn attest(
    target: &dyn Target,
    repository: &str,
    subject: &Descriptor,
    key: &SigningKey,
    predicate_type: &str,
    predicate: serde_json::Value,
) -> Result<Descriptor> {
    let statement = Statement::new(repository, subject, predicate_type, predicate);
    let payload = serde_json::to_vec(&statement).expect("statements serialise");
    let envelope = Envelope::sign(IN_TOTO_PAYLOAD_TYPE, &payload, key);
    let bundle = Bundle::for_key(&key.public_key(), envelope);
    let layer = target
        .push_content(bundle_media_type(), Bytes::from(bundle.to_vec()))
        .await?;
    let config = Descriptor::empty();
    target
        .push_bytes(&config, Bytes::from_static(Descriptor::EMPTY_BYTES))
        .await?;
    let created = OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .expect("the time formats");
    let mut manifest = ImageManifest::new(config, vec![layer]);
    manifest.artifact_type = Some(bundle_media_type());
    manifest.subject = Some(subject.as_subject());
    manifest.annotations = Some(BTreeMap::from([
        ("org.opencontainers.image.created".to_owned(), created),
        (CONTENT_ANNOTATION.to_owned(), "dsse-envelope".to_owned()),
        (
            PREDICATE_TYPE_ANNOTATION.to_owned(),
            predicate_type.to_owned(),
        ),
    ]));
    let doc = manifest
        .to_document()
        .map_err(|e| Error::malformed("bundle manifest", e))?;
    let desc = doc.descriptor(MediaType::image_manifest());
    target.push_bytes(&desc, doc.bytes().clone()).await?;
    Ok(desc)
}

/// Verifies the bundles attached to `subject` whose statements are of `predicate_type`
/// ([`SIGNATURE_PREDICATE_TYPE`] for signatures): each must be signed by `signer` with the
/// evidence `root` trusts, and be about `subject`'s digest. Returns what passed, at least one.
///
/// # Errors
///
/// [`Error::NoSignatures`] when no bundle is attached; [`Error::NoValidSignature`] with each
/// refusal's reason when none passes; the store's errors.
pub async fn verify(
    target: &dyn ReadOnlyTarget,
    subject: &Descriptor,
    predicate_type: &str,
    signer: &Signer,
    root: &TrustedRoot,
    options: &Options,
) -> Result<Vec<sigstore::Verified>> {
    let referrers = match target.referrers(subject, Some(&bundle_media_type())).await {
        Ok(found) => found,
        // A store that cannot list referrers holds no bundle.
        Err(e) if e.kind() == oci_target::ErrorKind::Unsupported => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    if referrers.is_empty() {
        return Err(Error::NoSignatures {
            digest: subject.digest.clone(),
            tag: format!("referrers of artifact type {BUNDLE_V03}"),
        });
    }
    let digest =
        hex::decode(subject.digest.encoded()).map_err(|e| Error::malformed("subject digest", e))?;
    let mut passed = Vec::new();
    let mut reasons = Vec::new();
    for referrer in referrers {
        let annotated = referrer.annotation(PREDICATE_TYPE_ANNOTATION);
        if annotated.is_some_and(|t| t != predicate_type) {
            continue;
        }
        let outcome = async {
            let bytes = target.fetch_manifest(&referrer).await?;
            let manifest = ImageManifest::from_slice(bytes)
                .map_err(|e| Error::malformed("bundle manifest", e))?;
            let manifest = manifest.into_parts().0;
            if manifest.subject.as_ref().map(|s| &s.digest) != Some(&subject.digest) {
                return Err(Error::malformed(
                    "bundle manifest",
                    "its subject is another manifest",
                ));
            }
            let [layer] = manifest.layers.as_slice() else {
                return Err(Error::malformed(
                    "bundle manifest",
                    "it must have one layer",
                ));
            };
            let bytes = target.fetch_bytes(layer, MAX_BUNDLE_BYTES).await?;
            let bundle = Bundle::from_slice(&bytes)?;
            let verified =
                sigstore::verify_with(&bundle, Artifact::Sha256(&digest), signer, root, options)?;
            match &verified.statement {
                Some(statement) if statement.predicate_type == predicate_type => Ok(verified),
                Some(statement) => Err(Error::malformed(
                    "bundle",
                    format!("its predicate type is {}", statement.predicate_type),
                )),
                None => Err(Error::malformed(
                    "bundle",
                    "it signs the manifest itself, not a statement about it",
                )),
            }
        }
        .await;
        match outcome {
            Ok(verified) => passed.push(verified),
            Err(Error::Store(e)) => return Err(Error::Store(e)),
            Err(e) => reasons.push(format!("{}: {e}", referrer.digest)),
        }
    }
    crate::attachments::at_least_one(subject, passed, reasons, || {
        format!("no bundle of predicate type {predicate_type}")
    })
}
