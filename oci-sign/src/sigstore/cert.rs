//! Signing certificates: the chain to a trusted authority, the embedded SCTs, and the identity
//! the certificate binds.

use time::OffsetDateTime;
use x509_cert::Certificate;
use x509_cert::der::asn1::{Any, ObjectIdentifier, Utf8StringRef};
use x509_cert::der::{Decode, Encode, Tag, TagNumber, Tagged};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::sct::{HashAlgorithm, SignedCertificateTimestampList};
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, SubjectAltName};
use x509_cert::ext::{Extension, Extensions};

use super::SigstoreError;
use super::b64;
use super::trust::TrustedRoot;
use crate::keys::{Hash, PublicKey};
use crate::{Error, Result};

const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_WITH_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const ECDSA_WITH_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4");
const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const SHA384_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const SHA512_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const CODE_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");
const CT_PRECERT_SCTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");
/// Fulcio's OIDC issuer extension, the raw string (deprecated, still issued).
const FULCIO_ISSUER_V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.1");
/// Fulcio's OIDC issuer extension, a DER UTF8String.
const FULCIO_ISSUER_V2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.8");

/// A parsed certificate with its DER.
pub(crate) struct Cert {
    pub(crate) der: Vec<u8>,
    pub(crate) cert: Certificate,
}

impl Cert {
    pub(crate) fn from_der(der: &[u8]) -> Result<Self> {
        let cert = Certificate::from_der(der).map_err(|e| Error::malformed("certificate", e))?;
        Ok(Cert {
            der: der.to_vec(),
            cert,
        })
    }

    /// The certificate's key.
    pub(crate) fn key(&self) -> Result<PublicKey> {
        let spki = self
            .cert
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .map_err(|e| Error::malformed("certificate", e))?;
        PublicKey::from_spki_der(&spki)
    }

    /// Whether `when` lies within the certificate's validity.
    pub(crate) fn valid_at(&self, when: OffsetDateTime) -> bool {
        let validity = self.cert.tbs_certificate().validity();
        let secs = |t: x509_cert::time::Time| t.to_unix_duration().as_secs() as i64;
        let t = when.unix_timestamp();
        secs(validity.not_before) <= t && t <= secs(validity.not_after)
    }

    fn is_self_signed(&self) -> bool {
        let tbs = self.cert.tbs_certificate();
        tbs.issuer() == tbs.subject() && self.signed_by(self).is_ok()
    }

    fn is_ca(&self) -> bool {
        matches!(
            self.cert
                .tbs_certificate()
                .get_extension::<BasicConstraints>(),
            Ok(Some((_, BasicConstraints { ca: true, .. })))
        )
    }

    /// Checks that `issuer` signed this certificate.
    pub(crate) fn signed_by(&self, issuer: &Cert) -> Result<()> {
        let tbs = self.cert.tbs_certificate();
        if tbs.issuer() != issuer.cert.tbs_certificate().subject() {
            return Err(SigstoreError::Chain("the issuer's name does not match".into()).into());
        }
        let oid = self.cert.signature_algorithm().oid;
        let hash = match oid {
            ECDSA_WITH_SHA256 | SHA256_WITH_RSA | ED25519 => Hash::Sha256,
            ECDSA_WITH_SHA384 | SHA384_WITH_RSA => Hash::Sha384,
            ECDSA_WITH_SHA512 | SHA512_WITH_RSA => Hash::Sha512,
            other => {
                return Err(SigstoreError::Chain(format!("signature algorithm {other}")).into());
            }
        };
        let message = tbs
            .to_der()
            .map_err(|e| Error::malformed("certificate", e))?;
        let signature = self.cert.signature().raw_bytes();
        issuer.key()?.verify_with(hash, &message, signature)
    }

    /// The identity the certificate binds: its first URI or e-mail subject alternative name.
    pub(crate) fn san(&self) -> Option<String> {
        let (_, san) = self
            .cert
            .tbs_certificate()
            .get_extension::<SubjectAltName>()
            .ok()??;
        san.0.iter().find_map(|name| match name {
            GeneralName::UniformResourceIdentifier(uri) => Some(uri.to_string()),
            GeneralName::Rfc822Name(mail) => Some(mail.to_string()),
            _ => None,
        })
    }

    /// The OIDC issuer Fulcio recorded.
    pub(crate) fn oidc_issuer(&self) -> Option<String> {
        let extensions = self.cert.tbs_certificate().extensions()?;
        let find = |oid| extensions.iter().find(|e| e.extn_id == oid);
        if let Some(ext) = find(FULCIO_ISSUER_V2) {
            return Utf8StringRef::from_der(ext.extn_value.as_bytes())
                .ok()
                .map(|s| s.as_str().to_owned());
        }
        find(FULCIO_ISSUER_V1)
            .and_then(|ext| std::str::from_utf8(ext.extn_value.as_bytes()).ok())
            .map(str::to_owned)
    }

    fn for_code_signing(&self) -> bool {
        matches!(
            self.cert.tbs_certificate().get_extension::<ExtendedKeyUsage>(),
            Ok(Some((_, eku))) if eku.0.contains(&CODE_SIGNING)
        )
    }
}

/// Checks a signing certificate: a leaf for code signing, valid at every time in `when`,
/// issued by a chain that a certificate authority of `root` trusted at those times, with an
/// SCT from a trusted CT log. Returns the leaf's issuer.
pub(crate) fn verify_leaf(
    leaf: &Cert,
    carried: &[Cert],
    root: &TrustedRoot,
    when: &[OffsetDateTime],
) -> Result<()> {
    if leaf.is_ca() {
        return Err(SigstoreError::Chain("the signing certificate is a CA".into()).into());
    }
    if !leaf.for_code_signing() {
        return Err(SigstoreError::Chain("the certificate is not for code signing".into()).into());
    }
    if carried.iter().any(Cert::is_self_signed) {
        return Err(SigstoreError::Chain(
            "the bundle carries a root certificate: roots come from the trusted root only".into(),
        )
        .into());
    }
    for t in when {
        if !leaf.valid_at(*t) {
            return Err(SigstoreError::Time(format!(
                "{t} is outside the signing certificate's validity"
            ))
            .into());
        }
    }
    let mut why = Vec::new();
    for ca in &root.certificate_authorities {
        if !when.iter().all(|t| ca.trusted_at(*t)) {
            continue;
        }
        match authority_chain(ca)
            .and_then(|chain| check_chain(leaf, &chain, when).map(|()| chain))
            .and_then(|chain| verify_sct(leaf, &chain[0], root))
        {
            Ok(()) => return Ok(()),
            Err(e) => why.push(format!("{}: {e}", ca.uri)),
        }
    }
    if why.is_empty() {
        why.push("no certificate authority was trusted at the signing time".into());
    }
    Err(SigstoreError::Chain(why.join("; ")).into())
}

pub(crate) fn authority_chain(ca: &super::trust::CertificateAuthority) -> Result<Vec<Cert>> {
    let chain = ca
        .cert_chain
        .certificates
        .iter()
        .map(|c| {
            b64(&c.raw_bytes)
                .map_err(|e| Error::malformed("trusted root certificate", e))
                .and_then(|der| Cert::from_der(&der))
        })
        .collect::<Result<Vec<_>>>()?;
    if chain.is_empty() {
        return Err(SigstoreError::Chain("an authority without certificates".into()).into());
    }
    Ok(chain)
}

/// The leaf signed by `chain[0]`, each by the next, the last by itself; all CAs, all valid.
pub(crate) fn check_chain(leaf: &Cert, chain: &[Cert], when: &[OffsetDateTime]) -> Result<()> {
    let mut child = leaf;
    for issuer in chain {
        if !issuer.is_ca() {
            return Err(SigstoreError::Chain("an issuer that is not a CA".into()).into());
        }
        if let Some(t) = when.iter().find(|t| !issuer.valid_at(**t)) {
            return Err(SigstoreError::Chain(format!("an issuer was not valid at {t}")).into());
        }
        child.signed_by(issuer)?;
        child = issuer;
    }
    child.signed_by(child)
}

/// Checks the SCTs embedded in `leaf` (RFC 6962, precertificate entries): at least one from a
/// CT log of the trusted root must verify.
fn verify_sct(leaf: &Cert, issuer: &Cert, root: &TrustedRoot) -> Result<()> {
    let tbs = leaf.cert.tbs_certificate();
    let Ok(Some((_, list))) = tbs.get_extension::<SignedCertificateTimestampList>() else {
        return Err(SigstoreError::Sct("the certificate carries no SCT".into()).into());
    };
    let scts = list
        .parse_timestamps()
        .map_err(|e| SigstoreError::Sct(format!("the SCT list does not parse: {e:?}")))?;
    let issuer_key_hash = Hash::Sha256.digest(
        &issuer
            .cert
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .map_err(|e| Error::malformed("certificate", e))?,
    );
    let precert = tbs_without_scts(&leaf.der)?;
    let mut why = Vec::new();
    for serialized in scts {
        let sct = serialized
            .parse_timestamp()
            .map_err(|e| SigstoreError::Sct(format!("an SCT does not parse: {e:?}")))?;
        let Some(log) = root.ctlog(&sct.log_id.key_id) else {
            why.push("an SCT from a log the trusted root does not name".to_owned());
            continue;
        };
        let when = OffsetDateTime::from_unix_timestamp((sct.timestamp / 1000) as i64)
            .map_err(|e| SigstoreError::Sct(e.to_string()))?;
        if !log.trusted_at(when) {
            why.push(format!("an SCT from {} outside its period", log.base_url));
            continue;
        }
        let hash = match sct.signature.algorithm.hash {
            HashAlgorithm::Sha256 => Hash::Sha256,
            HashAlgorithm::Sha384 => Hash::Sha384,
            HashAlgorithm::Sha512 => Hash::Sha512,
            other => {
                why.push(format!("an SCT hashed with {other:?}"));
                continue;
            }
        };
        let extensions = sct.extensions.as_slice();
        let mut signed = Vec::with_capacity(precert.len() + extensions.len() + 64);
        signed.push(0); // version: v1
        signed.push(0); // signature type: certificate_timestamp
        signed.extend_from_slice(&sct.timestamp.to_be_bytes());
        signed.extend_from_slice(&1u16.to_be_bytes()); // entry type: precert_entry
        signed.extend_from_slice(&issuer_key_hash);
        signed.extend_from_slice(&(precert.len() as u32).to_be_bytes()[1..]);
        signed.extend_from_slice(&precert);
        signed.extend_from_slice(&(extensions.len() as u16).to_be_bytes());
        signed.extend_from_slice(extensions);
        match log
            .key()
            .and_then(|key| key.verify_with(hash, &signed, sct.signature.signature.as_slice()))
        {
            Ok(()) => return Ok(()),
            Err(e) => why.push(format!("the SCT from {}: {e}", log.base_url)),
        }
    }
    Err(SigstoreError::Sct(why.join("; ")).into())
}

/// The leaf's TBSCertificate with the SCT-list extension taken out: what the CT log signed.
fn tbs_without_scts(cert_der: &[u8]) -> Result<Vec<u8>> {
    let malformed = |e: x509_cert::der::Error| Error::malformed("certificate", e);
    let outer: Vec<Any> = Vec::from_der(cert_der).map_err(malformed)?;
    let tbs = outer
        .first()
        .ok_or_else(|| Error::malformed("certificate", "empty"))?;
    let fields: Vec<Any> = Vec::from_der(&tbs.to_der().map_err(malformed)?).map_err(malformed)?;
    let extensions_tag = Tag::ContextSpecific {
        constructed: true,
        number: TagNumber(3),
    };
    let fields = fields
        .into_iter()
        .map(|field| {
            if field.tag() != extensions_tag {
                return Ok(field);
            }
            let extensions = Extensions::from_der(field.value()).map_err(malformed)?;
            let kept: Vec<Extension> = extensions
                .into_iter()
                .filter(|e| e.extn_id != CT_PRECERT_SCTS)
                .collect();
            Any::new(extensions_tag, kept.to_der().map_err(malformed)?).map_err(malformed)
        })
        .collect::<Result<Vec<Any>>>()?;
    fields.to_der().map_err(malformed)
}
