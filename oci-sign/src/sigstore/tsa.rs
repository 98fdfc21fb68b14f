//! RFC 3161 signed timestamps: a timestamp authority of the trusted root vouches that the
//! signature existed at a time.

use cms::content_info::ContentInfo;
use cms::signed_data::{CertificateSet, SignedData};
use time::OffsetDateTime;
use x509_cert::der::asn1::{Any, ObjectIdentifier, OctetString};
use x509_cert::der::{Decode, Encode, Tagged};
use x509_cert::spki::AlgorithmIdentifierOwned;

use super::SigstoreError;
use super::cert::{self, Cert};
use super::trust::TrustedRoot;
use crate::keys::Hash;
use crate::{Error, Result};

const SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
const MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_WITH_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const ECDSA_WITH_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4");

fn bad(why: impl Into<String>) -> Error {
    SigstoreError::Timestamp(why.into()).into()
}

fn hash_of(alg: &AlgorithmIdentifierOwned) -> Result<Hash> {
    match alg.oid {
        SHA256 | ECDSA_WITH_SHA256 => Ok(Hash::Sha256),
        SHA384 | ECDSA_WITH_SHA384 => Ok(Hash::Sha384),
        SHA512 | ECDSA_WITH_SHA512 => Ok(Hash::Sha512),
        other => Err(bad(format!("hash algorithm {other}"))),
    }
}

/// Verifies one signed timestamp (a `TimeStampResp` or a bare `TimeStampToken`, DER) over
/// `signature`, and returns the time it vouches for.
pub(crate) fn verify(token: &[u8], signature: &[u8], root: &TrustedRoot) -> Result<OffsetDateTime> {
    let content = content_info(token)?;
    if content.content_type != SIGNED_DATA {
        return Err(bad("the timestamp is not CMS signed data"));
    }
    let signed: SignedData = content
        .content
        .decode_as()
        .map_err(|e| bad(format!("signed data: {e}")))?;
    if signed.encap_content_info.econtent_type != TST_INFO {
        return Err(bad("the signed content is not a TSTInfo"));
    }
    let tst_der = signed
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or_else(|| bad("the signed data carries no TSTInfo"))?
        .decode_as::<OctetString>()
        .map_err(|e| bad(format!("TSTInfo: {e}")))?
        .into_bytes();
    let (imprint_hash, imprint, when) = tst_info(&tst_der)?;
    if imprint != imprint_hash.digest(signature) {
        return Err(bad("the timestamp is over another signature"));
    }

    let [signer] = signed.signer_infos.0.as_slice() else {
        return Err(bad("the timestamp must have one signer"));
    };
    let attrs = signer
        .signed_attrs
        .as_ref()
        .ok_or_else(|| bad("the timestamp's signer has no signed attributes"))?;
    let digest_hash = hash_of(&signer.digest_alg)?;
    let noted = attrs
        .iter()
        .find(|a| a.oid == MESSAGE_DIGEST)
        .and_then(|a| a.values.iter().next())
        .and_then(|v| v.decode_as::<OctetString>().ok())
        .ok_or_else(|| bad("the signed attributes have no message digest"))?;
    if noted.as_bytes() != digest_hash.digest(&tst_der) {
        return Err(bad("the signed attributes are for another TSTInfo"));
    }
    let signed_attrs = attrs.to_der().map_err(|e| bad(e.to_string()))?;
    let sig_hash = hash_of(&signer.signature_algorithm).unwrap_or(digest_hash);
    let sig = signer.signature.as_bytes();

    let embedded = embedded_certificates(signed.certificates.as_ref())?;
    let mut why = Vec::new();
    for authority in &root.timestamp_authorities {
        if !authority.trusted_at(when) {
            why.push(format!("{} was not trusted then", authority.uri));
            continue;
        }
        let chain = cert::authority_chain(authority)?;
        // The signer is the authority's first certificate, or a certificate the token carries
        // that the authority's chain issued.
        let mut candidates: Vec<(&Cert, &[Cert])> = vec![(&chain[0], &chain[1..])];
        candidates.extend(embedded.iter().map(|c| (c, chain.as_slice())));
        for (leaf, issuers) in candidates {
            let outcome = (|| {
                if !leaf.valid_at(when) {
                    return Err(bad(format!(
                        "{when} is outside the timestamp authority certificate's validity"
                    )));
                }
                if issuers.is_empty() {
                    leaf.signed_by(leaf)?;
                } else {
                    cert::check_chain(leaf, issuers, &[when])?;
                }
                leaf.key()?.verify_with(sig_hash, &signed_attrs, sig)
            })();
            match outcome {
                Ok(()) => return Ok(when),
                Err(e) => why.push(format!("{}: {e}", authority.uri)),
            }
        }
    }
    if why.is_empty() {
        why.push("the trusted root names no timestamp authority".into());
    }
    Err(bad(why.join("; ")))
}

/// The token inside a `TimeStampResp`, or the token itself.
fn content_info(der: &[u8]) -> Result<ContentInfo> {
    if let Ok(info) = ContentInfo::from_der(der) {
        return Ok(info);
    }
    let response: Vec<Any> =
        Vec::from_der(der).map_err(|e| bad(format!("not a timestamp response: {e}")))?;
    let [status, token] = response.as_slice() else {
        return Err(bad("a timestamp response without a token"));
    };
    let status: Vec<Any> = status
        .decode_as()
        .map_err(|e| bad(format!("status: {e}")))?;
    let granted = status
        .first()
        .and_then(|s| s.decode_as::<u8>().ok())
        .is_some_and(|s| s <= 1);
    if !granted {
        return Err(bad("the timestamp was not granted"));
    }
    token
        .decode_as()
        .map_err(|e| bad(format!("timestamp token: {e}")))
}

/// The message imprint's hash and digest, and the time, of a TSTInfo.
fn tst_info(der: &[u8]) -> Result<(Hash, Vec<u8>, OffsetDateTime)> {
    let fields: Vec<Any> = Vec::from_der(der).map_err(|e| bad(format!("TSTInfo: {e}")))?;
    let [_version, _policy, imprint, _serial, gen_time, ..] = fields.as_slice() else {
        return Err(bad("TSTInfo is missing fields"));
    };
    let imprint: Vec<Any> = imprint
        .decode_as()
        .map_err(|e| bad(format!("message imprint: {e}")))?;
    let [alg, digest] = imprint.as_slice() else {
        return Err(bad("a malformed message imprint"));
    };
    let alg: AlgorithmIdentifierOwned = alg
        .decode_as()
        .map_err(|e| bad(format!("message imprint: {e}")))?;
    let digest: OctetString = digest
        .decode_as()
        .map_err(|e| bad(format!("message imprint: {e}")))?;
    Ok((
        hash_of(&alg)?,
        digest.into_bytes().into_vec(),
        gen_time_of(gen_time)?,
    ))
}

/// A GeneralizedTime in UTC, with the fraction of a second RFC 3161 allows (dropped: the
/// checks compare whole seconds).
fn gen_time_of(value: &Any) -> Result<OffsetDateTime> {
    if value.tag() != x509_cert::der::Tag::GeneralizedTime {
        return Err(bad("genTime is not a GeneralizedTime"));
    }
    let text = std::str::from_utf8(value.value()).map_err(|e| bad(e.to_string()))?;
    let whole = text
        .strip_suffix('Z')
        .and_then(|t| t.split('.').next())
        .filter(|t| t.len() == 14 && t.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| bad(format!("genTime {text:?}")))?;
    let n = |range: std::ops::Range<usize>| whole[range].parse::<u32>().unwrap_or(0);
    let date = time::Date::from_calendar_date(
        n(0..4) as i32,
        time::Month::try_from(n(4..6) as u8).map_err(|e| bad(e.to_string()))?,
        n(6..8) as u8,
    )
    .map_err(|e| bad(e.to_string()))?;
    let time = time::Time::from_hms(n(8..10) as u8, n(10..12) as u8, n(12..14) as u8)
        .map_err(|e| bad(e.to_string()))?;
    Ok(time::PrimitiveDateTime::new(date, time).assume_utc())
}

fn embedded_certificates(set: Option<&CertificateSet>) -> Result<Vec<Cert>> {
    let Some(set) = set else {
        return Ok(Vec::new());
    };
    set.0
        .iter()
        .filter_map(|choice| match choice {
            cms::cert::CertificateChoices::Certificate(c) => Some(c),
            _ => None,
        })
        .map(|c| {
            let der = c.to_der().map_err(|e| bad(e.to_string()))?;
            Cert::from_der(&der)
        })
        .collect()
}
