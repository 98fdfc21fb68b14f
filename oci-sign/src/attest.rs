//! Attestations: in-toto statements about an artifact (SLSA provenance, SBOMs, scan results),
//! signed in DSSE envelopes and kept as cosign keeps them: layers of the subject's
//! `sha256-<hex>.att` manifest.

use std::collections::BTreeMap;

use oci_spec_types::{Descriptor, media_types};
use oci_target::{ReadOnlyTarget, ReadOnlyTargetExt, Target, TargetExt};
use serde::{Deserialize, Serialize};

use crate::attachments::{append, check_each};
use crate::dsse::{Envelope, IN_TOTO_PAYLOAD_TYPE};
use crate::keys::{PublicKey, SigningKey};
use crate::tagged::{SIGNATURE_ANNOTATION, media};
use crate::{Error, Result};

/// The `_type` of in-toto statements this crate writes.
pub const STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";
/// The `_type` older cosign releases wrote; still read.
pub const STATEMENT_V01: &str = "https://in-toto.io/Statement/v0.1";
/// The layer annotation naming an attestation's predicate type.
pub const PREDICATE_TYPE_ANNOTATION: &str = "predicateType";

/// The most bytes read of one envelope: SBOM predicates run to megabytes.
const MAX_ENVELOPE_BYTES: u64 = 64 << 20;

/// The predicate type cosign's `--type` shorthand names (`slsaprovenance`, `spdxjson`,
/// `cyclonedx`, …); anything else is taken as the type's URI itself.
///
/// ```
/// assert_eq!(oci_sign::attest::predicate_type("slsaprovenance1"), "https://slsa.dev/provenance/v1");
/// assert_eq!(oci_sign::attest::predicate_type("https://example.com/t/v1"), "https://example.com/t/v1");
/// ```
pub fn predicate_type(shorthand: &str) -> &str {
    match shorthand {
        "slsaprovenance" | "slsaprovenance02" => "https://slsa.dev/provenance/v0.2",
        "slsaprovenance1" => "https://slsa.dev/provenance/v1",
        "link" => "https://in-toto.io/Link/v1",
        "spdx" | "spdxjson" => "https://spdx.dev/Document",
        "cyclonedx" => "https://cyclonedx.org/bom",
        "vuln" => "https://cosign.sigstore.dev/attestation/vuln/v1",
        "openvex" => "https://openvex.dev/ns",
        "custom" => "https://cosign.sigstore.dev/attestation/v1",
        other => other,
    }
}

/// An in-toto statement: subjects by digest, a predicate type and the predicate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Statement {
    /// `https://in-toto.io/Statement/v1` (or v0.1).
    #[serde(rename = "_type")]
    pub kind: String,
    /// What the statement is about.
    pub subject: Vec<Subject>,
    /// What the predicate says, as a URI.
    pub predicate_type: String,
    /// The predicate.
    #[serde(default)]
    pub predicate: serde_json::Value,
}

/// One subject of a [`Statement`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Subject {
    /// A name: for an image, its repository.
    #[serde(default)]
    pub name: String,
    /// Digests by algorithm (`sha256` → hex).
    pub digest: BTreeMap<String, String>,
}

impl Statement {
    /// Reads a statement of version 1 or 0.1.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] for anything else.
    pub fn from_slice(payload: &[u8]) -> Result<Self> {
        let statement: Statement = serde_json::from_slice(payload)
            .map_err(|e| Error::malformed("in-toto statement", e))?;
        if statement.kind != STATEMENT_V1 && statement.kind != STATEMENT_V01 {
            return Err(Error::malformed(
                "in-toto statement",
                format!("its _type is {:?}", statement.kind),
            ));
        }
        Ok(statement)
    }

    /// A statement about the artifact `subject` in `repository`.
    pub fn new(
        repository: &str,
        subject: &Descriptor,
        predicate_type: &str,
        predicate: serde_json::Value,
    ) -> Self {
        Statement {
            kind: STATEMENT_V1.into(),
            subject: vec![Subject {
                name: repository.to_owned(),
                digest: BTreeMap::from([(
                    subject.digest.algorithm().to_owned(),
                    subject.digest.encoded().to_owned(),
                )]),
            }],
            predicate_type: predicate_type.to_owned(),
            predicate,
        }
    }

    /// Whether one of the subjects is `desc`'s digest.
    pub fn is_about(&self, desc: &Descriptor) -> bool {
        let (alg, hex) = (desc.digest.algorithm(), desc.digest.encoded());
        self.subject.iter().any(|s| {
            s.digest
                .get(alg)
                .is_some_and(|h| h.eq_ignore_ascii_case(hex))
        })
    }
}

/// An attestation that passed every check.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct VerifiedAttestation {
    /// Its layer in the `.att` manifest.
    pub layer: Descriptor,
    /// The statement signed.
    pub statement: Statement,
}

/// Attests `predicate` of `predicate_type` about `subject`, as `cosign attest --key` does: an
/// in-toto statement in a DSSE envelope signed with `key`, added as a layer of the subject's
/// `.att` manifest (those already there are kept). Returns the `.att` manifest.
///
/// # Errors
///
/// The store's errors; [`Error::Malformed`] for an existing `.att` manifest that is not one.
pub async fn attest(
    target: &dyn Target,
    subject: &Descriptor,
    repository: &str,
    predicate_type: &str,
    predicate: serde_json::Value,
    key: &SigningKey,
) -> Result<Descriptor> {
    let statement = Statement::new(repository, subject, predicate_type, predicate);
    let payload = serde_json::to_vec(&statement).expect("statements serialise");
    let envelope = Envelope::sign(IN_TOTO_PAYLOAD_TYPE, &payload, key);
    let mut layer = target
        .push_content(media(media_types::DSSE_ENVELOPE), envelope.to_vec().into())
        .await?;
    layer.annotations = Some(BTreeMap::from([
        (SIGNATURE_ANNOTATION.to_owned(), String::new()),
        (
            PREDICATE_TYPE_ANNOTATION.to_owned(),
            predicate_type.to_owned(),
        ),
    ]));
    append(target, subject, "att", layer).await
}

/// Verifies the attestations of `subject` with `key`, keeping those of `predicate_type` when
/// one is given: each envelope's signature, its payload type, and the statement's subject
/// against the artifact's digest. Returns those that passed (at least one).
///
/// # Errors
///
/// [`Error::NoSignatures`] when there is no `.att` manifest; [`Error::NoValidSignature`] with
/// a reason for each attestation when none passes; the store's errors.
pub async fn verify_attestations(
    target: &dyn ReadOnlyTarget,
    subject: &Descriptor,
    key: &PublicKey,
    predicate_type: Option<&str>,
) -> Result<Vec<VerifiedAttestation>> {
    check_each(
        target,
        subject,
        "att",
        media_types::DSSE_ENVELOPE,
        |layer| async move {
            let statement = check_attestation(target, subject, &layer, key).await?;
            match predicate_type {
                Some(wanted) if wanted != statement.predicate_type => Err(Error::malformed(
                    "attestation",
                    format!("its predicate type is {}", statement.predicate_type),
                )),
                _ => Ok(VerifiedAttestation { layer, statement }),
            }
        },
    )
    .await
}

async fn check_attestation(
    target: &dyn ReadOnlyTarget,
    subject: &Descriptor,
    layer: &Descriptor,
    key: &PublicKey,
) -> Result<Statement> {
    let bytes = target.fetch_bytes(layer, MAX_ENVELOPE_BYTES).await?;
    let envelope = Envelope::from_slice(&bytes)?;
    if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE {
        return Err(Error::malformed(
            "attestation",
            format!(
                "its payload type is {:?}, not in-toto",
                envelope.payload_type
            ),
        ));
    }
    let statement = Statement::from_slice(&envelope.verify(key)?)?;
    if !statement.is_about(subject) {
        let named: Vec<String> = statement
            .subject
            .iter()
            .flat_map(|s| s.digest.iter().map(|(a, h)| format!("{a}:{h}")))
            .collect();
        return Err(Error::DigestMismatch {
            signed: named.join(", "),
            actual: subject.digest.clone(),
        });
    }
    Ok(statement)
}
