//! Transparency-log evidence (Rekor v1): that an entry's body is the signature being verified,
//! the log's signed entry timestamp, and the inclusion proof up to a signed checkpoint.

use serde_json::Value;

use super::bundle::{InclusionProof, TlogEntry};
use super::trust::TransparencyLog;
use super::{SigstoreError, b64};
use crate::dsse::Envelope;
use crate::keys::{Hash, PublicKey};
use crate::{Error, Result};

/// What the entry must record.
pub(crate) enum Signed<'a> {
    /// A signature over an artifact with this SHA-256.
    Message {
        digest: &'a [u8],
        signature: &'a [u8],
    },
    /// A DSSE envelope.
    Envelope(&'a Envelope),
}

/// Who signed: a certificate (DER) or a key.
pub(crate) enum Material<'a> {
    Certificate(&'a [u8]),
    Key(&'a PublicKey),
}

fn log_err(why: impl Into<String>) -> Error {
    SigstoreError::Log(why.into()).into()
}

/// The entry kinds this crate reads, by kind and version.
pub(crate) fn supported(entry: &TlogEntry) -> bool {
    matches!(
        (
            entry.kind_version.kind.as_str(),
            entry.kind_version.version.as_str()
        ),
        ("hashedrekord", "0.0.1" | "0.0.2") | ("dsse", "0.0.1" | "0.0.2") | ("intoto", "0.0.2")
    )
}

/// Whether the entry comes from a Rekor v2 log: no integrated time, no signed entry
/// timestamp; the time comes from a timestamp authority.
pub(crate) fn rekor_v2(entry: &TlogEntry) -> bool {
    entry.kind_version.version == "0.0.2" && entry.kind_version.kind != "intoto"
}

/// Checks that the entry's body records `signed` by `material`.
pub(crate) fn check_body(
    entry: &TlogEntry,
    signed: &Signed<'_>,
    material: &Material<'_>,
) -> Result<()> {
    let body_bytes = b64(&entry.canonicalized_body).map_err(|e| log_err(format!("body: {e}")))?;
    let body: Value =
        serde_json::from_slice(&body_bytes).map_err(|e| log_err(format!("body: {e}")))?;
    let kind = body["kind"].as_str().unwrap_or_default();
    let version = body["apiVersion"].as_str().unwrap_or_default();
    if kind != entry.kind_version.kind || version != entry.kind_version.version {
        return Err(log_err(format!(
            "the body is a {kind} {version} entry, the bundle says {} {}",
            entry.kind_version.kind, entry.kind_version.version
        )));
    }
    let spec = &body["spec"];
    let payload_digest = match signed {
        Signed::Envelope(envelope) => Hash::Sha256.digest(&envelope.payload_bytes()?),
        Signed::Message { .. } => Vec::new(),
    };
    match (kind, version, signed) {
        ("hashedrekord", "0.0.2", signed) => {
            let spec = &spec["hashedRekordV002"];
            let (digest, signature) = match signed {
                Signed::Message { digest, signature } => (digest.to_vec(), signature.to_vec()),
                Signed::Envelope(envelope) => {
                    let [only] = envelope.signatures.as_slice() else {
                        return Err(log_err("a logged envelope must have one signature"));
                    };
                    let pae = crate::dsse::pae(&envelope.payload_type, &envelope.payload_bytes()?);
                    let sig = b64(&only.sig).map_err(|e| Error::malformed("DSSE signature", e))?;
                    (Hash::Sha256.digest(&pae), sig)
                }
            };
            expect_v2_hash(&spec["data"], &digest, "artifact")?;
            expect_v2_signature(&spec["signature"], &signature, material)
        }
        ("dsse", "0.0.2", Signed::Envelope(envelope)) => {
            let spec = &spec["dsseV002"];
            expect_v2_hash(&spec["payloadHash"], &payload_digest, "payload")?;
            expect_each(envelope, &spec["signatures"], |mine, theirs| {
                expect_v2_signature(theirs, mine, material)
            })
        }
        ("hashedrekord", _, Signed::Message { digest, signature }) => {
            expect_hash(&spec["data"]["hash"], digest, "artifact")?;
            let logged = b64(text(&spec["signature"]["content"])?)
                .map_err(|e| log_err(format!("signature: {e}")))?;
            if logged != *signature {
                return Err(log_err("the logged signature is not the bundle's"));
            }
            expect_material(&spec["signature"]["publicKey"]["content"], material)
        }
        ("dsse", _, Signed::Envelope(envelope)) => {
            expect_hash(&spec["payloadHash"], &payload_digest, "payload")?;
            expect_each(envelope, &spec["signatures"], |mine, theirs| {
                expect_logged(mine, theirs, ("signature", "verifier"), material, false)
            })
        }
        ("intoto", _, Signed::Envelope(envelope)) => {
            let content = &spec["content"];
            expect_hash(&content["payloadHash"], &payload_digest, "payload")?;
            expect_each(
                envelope,
                &content["envelope"]["signatures"],
                |mine, theirs| expect_logged(mine, theirs, ("sig", "publicKey"), material, true),
            )
        }
        _ => Err(log_err(format!(
            "a {kind} entry does not record this kind of signature"
        ))),
    }
}

/// A Rekor v2 hash: `{algorithm: SHA2_256, digest: base64}`.
fn expect_v2_hash(hash: &Value, digest: &[u8], what: &str) -> Result<()> {
    if text(&hash["algorithm"])? != "SHA2_256" {
        return Err(log_err(format!("the {what} hash is not SHA-256")));
    }
    let logged = b64(text(&hash["digest"])?).map_err(|e| log_err(e.to_string()))?;
    if logged != digest {
        return Err(log_err(format!("the logged {what} digest is another one")));
    }
    Ok(())
}

/// A Rekor v2 signature: `{content, verifier: {x509Certificate | publicKey: {rawBytes}}}`.
fn expect_v2_signature(logged: &Value, signature: &[u8], material: &Material<'_>) -> Result<()> {
    let content = b64(text(&logged["content"])?).map_err(|e| log_err(e.to_string()))?;
    if content != signature {
        return Err(log_err("the logged signature is not the bundle's"));
    }
    let verifier = &logged["verifier"];
    let same = match material {
        Material::Certificate(der) => {
            b64(text(&verifier["x509Certificate"]["rawBytes"])?).is_ok_and(|logged| logged == *der)
        }
        Material::Key(key) => b64(text(&verifier["publicKey"]["rawBytes"])?)
            .ok()
            .and_then(|der| PublicKey::from_spki_der(&der).ok())
            .is_some_and(|logged| logged == **key),
    };
    if same {
        Ok(())
    } else {
        Err(log_err("the logged signer is not the bundle's"))
    }
}

fn text(value: &Value) -> Result<&str> {
    value
        .as_str()
        .ok_or_else(|| log_err("the body lacks a field its kind requires"))
}

fn expect_hash(hash: &Value, digest: &[u8], what: &str) -> Result<()> {
    if text(&hash["algorithm"])? != "sha256" {
        return Err(log_err(format!("the {what} hash is not SHA-256")));
    }
    if !text(&hash["value"])?.eq_ignore_ascii_case(&hex::encode(digest)) {
        return Err(log_err(format!("the logged {what} digest is another one")));
    }
    Ok(())
}

/// `pem_b64`: the base64 of a PEM certificate or public key, as the log records signers.
fn expect_material(pem_b64: &Value, material: &Material<'_>) -> Result<()> {
    let pem = b64(text(pem_b64)?).map_err(|e| log_err(format!("signer: {e}")))?;
    let same = match material {
        Material::Certificate(der) => {
            lenient_pem(&pem, "CERTIFICATE").is_some_and(|logged| logged == *der)
        }
        Material::Key(key) => std::str::from_utf8(&pem)
            .ok()
            .and_then(|pem| PublicKey::from_pem(pem).ok())
            .is_some_and(|logged| logged == **key),
    };
    if same {
        Ok(())
    } else {
        Err(log_err("the logged signer is not the bundle's"))
    }
}

/// The DER inside a PEM block with `label`, whatever its line width (logs keep what clients
/// sent, and some sent the base64 on one line).
fn lenient_pem(pem: &[u8], label: &str) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(pem).ok()?;
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)? + begin.len();
    let stop = start + text[start..].find(&end)?;
    let body: String = text[start..stop].split_whitespace().collect();
    b64(&body).ok()
}

/// Every envelope signature is logged, and nothing else is: `check` compares each signature
/// (decoded) with its logged counterpart.
fn expect_each(
    envelope: &Envelope,
    logged: &Value,
    check: impl Fn(&[u8], &Value) -> Result<()>,
) -> Result<()> {
    let logged = logged.as_array().map(Vec::as_slice).unwrap_or_default();
    if logged.len() != envelope.signatures.len() {
        return Err(log_err("the logged signatures are not the envelope's"));
    }
    for (ours, theirs) in envelope.signatures.iter().zip(logged) {
        let mine = b64(&ours.sig).map_err(|e| Error::malformed("DSSE signature", e))?;
        check(&mine, theirs)?;
    }
    Ok(())
}

/// A Rekor v1 logged signature: the signature in `fields.0` (base64, twice over when
/// `double_encoded`) is `mine`, and the signer in `fields.1` is `material`.
fn expect_logged(
    mine: &[u8],
    theirs: &Value,
    (sig_field, signer_field): (&str, &str),
    material: &Material<'_>,
    double_encoded: bool,
) -> Result<()> {
    let mismatch = || log_err("the logged signature is not the envelope's");
    let mut sig = b64(text(&theirs[sig_field])?).map_err(|_| mismatch())?;
    if double_encoded {
        sig = std::str::from_utf8(&sig)
            .ok()
            .and_then(|text| b64(text).ok())
            .ok_or_else(mismatch)?;
    }
    if sig != mine {
        return Err(mismatch());
    }
    expect_material(&theirs[signer_field], material)
}

/// Checks the signed entry timestamp: the log's signature over the entry's canonical JSON.
pub(crate) fn verify_promise(entry: &TlogEntry, log: &TransparencyLog, set: &str) -> Result<()> {
    let log_id = b64(&entry.log_id.key_id).map_err(|e| log_err(e.to_string()))?;
    let payload = serde_json::json!({
        "body": entry.canonicalized_body,
        "integratedTime": entry.integrated_time,
        "logID": hex::encode(&log_id),
        "logIndex": entry.log_index,
    });
    // serde_json's map keeps keys sorted: the canonical form the log signed.
    let message = serde_json::to_vec(&payload).expect("JSON values serialise");
    let signature = b64(set).map_err(|e| log_err(format!("signed entry timestamp: {e}")))?;
    log.key()?
        .verify_with(Hash::Sha256, &message, &signature)
        .map_err(|e| log_err(format!("the signed entry timestamp does not verify: {e}")))
}

/// Checks the inclusion proof (RFC 9162, 2.1.3.2) of the entry's body, and the checkpoint
/// that signs the proof's root.
pub(crate) fn verify_inclusion(
    entry: &TlogEntry,
    proof: &InclusionProof,
    log: &TransparencyLog,
    checkpoint_optional: bool,
) -> Result<()> {
    let body = b64(&entry.canonicalized_body).map_err(|e| log_err(e.to_string()))?;
    let (index, size) = match (
        u64::try_from(proof.log_index),
        u64::try_from(proof.tree_size),
    ) {
        (Ok(index), Ok(size)) if index < size => (index, size),
        _ => return Err(log_err("the proof's index is not inside its tree")),
    };
    let root = b64(&proof.root_hash).map_err(|e| log_err(e.to_string()))?;
    let mut leaf = vec![0u8];
    leaf.extend_from_slice(&body);
    let mut r = Hash::Sha256.digest(&leaf);
    let (mut f, mut s) = (index, size - 1);
    for p in &proof.hashes {
        let p = b64(p).map_err(|e| log_err(e.to_string()))?;
        if s == 0 {
            return Err(log_err("the inclusion proof is longer than its tree"));
        }
        if f & 1 == 1 || f == s {
            r = node(&p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node(&r, &p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 || r != root {
        return Err(log_err(
            "the inclusion proof does not lead to the proof's root",
        ));
    }
    match &proof.checkpoint {
        Some(checkpoint) => verify_checkpoint(&checkpoint.envelope, log, size, &root),
        None if checkpoint_optional => Ok(()),
        None => Err(log_err(
            "the inclusion proof has no checkpoint (required from bundle version 0.2)",
        )),
    }
}

fn node(left: &[u8], right: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(1 + left.len() + right.len());
    bytes.push(1);
    bytes.extend_from_slice(left);
    bytes.extend_from_slice(right);
    Hash::Sha256.digest(&bytes)
}

/// Checks a signed note: its text names a tree of `size` with `root`, and a signature line
/// whose key hint is the log's verifies with the log's key.
fn verify_checkpoint(note: &str, log: &TransparencyLog, size: u64, root: &[u8]) -> Result<()> {
    let Some(split) = note.find("\n\n") else {
        return Err(log_err("the checkpoint has no signature block"));
    };
    let (text, signatures) = (&note[..=split], &note[split + 2..]);
    let mut lines = text.lines();
    let _origin = lines
        .next()
        .filter(|l| !l.is_empty())
        .ok_or_else(|| log_err("the checkpoint names no origin"))?;
    let noted_size: u64 = lines
        .next()
        .and_then(|l| l.parse().ok())
        .ok_or_else(|| log_err("the checkpoint names no tree size"))?;
    let noted_root = lines
        .next()
        .and_then(|l| b64(l).ok())
        .ok_or_else(|| log_err("the checkpoint names no root hash"))?;
    if noted_size != size || noted_root != root {
        return Err(log_err(
            "the checkpoint is for another tree than the proof's",
        ));
    }
    let log_id = b64(&log.log_id.key_id).map_err(|e| log_err(e.to_string()))?;
    let key = log.key()?;
    let mut tried = false;
    for line in signatures.lines().filter(|l| !l.is_empty()) {
        let Some(rest) = line.strip_prefix("\u{2014} ") else {
            return Err(log_err("a checkpoint signature line is malformed"));
        };
        let Some(sig) = rest.rsplit(' ').next().and_then(|s| b64(s).ok()) else {
            return Err(log_err("a checkpoint signature is not base64"));
        };
        if sig.len() < 5 || log_id.get(..4) != Some(&sig[..4]) {
            continue;
        }
        tried = true;
        if key
            .verify_with(Hash::Sha256, text.as_bytes(), &sig[4..])
            .is_ok()
        {
            return Ok(());
        }
    }
    Err(log_err(if tried {
        "the checkpoint's signature does not verify with the log's key"
    } else {
        "the checkpoint carries no signature by the log"
    }))
}
