//! DSSE envelopes (Dead Simple Signing Envelope, v1): a payload, its type, and signatures over
//! the pre-authentication encoding of both.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};

use crate::keys::{PublicKey, SigningKey};
use crate::{Error, Result};

/// The payload type of an in-toto statement.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// A DSSE envelope, as JSON carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Envelope {
    /// What the payload is (`application/vnd.in-toto+json`).
    pub payload_type: String,
    /// The payload, base64.
    pub payload: String,
    /// The signatures.
    pub signatures: Vec<EnvelopeSignature>,
}

/// One signature of an [`Envelope`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EnvelopeSignature {
    /// Names the key, where the signer said (cosign leaves it empty).
    #[serde(default)]
    pub keyid: String,
    /// The signature over [`pae`] of the type and payload, base64.
    pub sig: String,
}

/// The pre-authentication encoding signed: `DSSEv1 SP LEN(type) SP type SP LEN(body) SP body`,
/// lengths as ASCII decimal byte counts.
///
/// ```
/// assert_eq!(
///     oci_sign::dsse::pae("http://example.com/HelloWorld", b"hello world"),
///     b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
/// );
/// ```
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

impl Envelope {
    /// `payload` of `payload_type`, signed with `key`.
    pub fn sign(payload_type: &str, payload: &[u8], key: &SigningKey) -> Self {
        Envelope {
            payload_type: payload_type.to_owned(),
            payload: BASE64.encode(payload),
            signatures: vec![EnvelopeSignature {
                keyid: String::new(),
                sig: BASE64.encode(key.sign(&pae(payload_type, payload))),
            }],
        }
    }

    /// Reads an envelope.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] when it is not one, or has no signature.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        let envelope: Envelope =
            serde_json::from_slice(bytes).map_err(|e| Error::malformed("DSSE envelope", e))?;
        if envelope.signatures.is_empty() {
            return Err(Error::malformed("DSSE envelope", "it has no signature"));
        }
        Ok(envelope)
    }

    /// The envelope as JSON.
    pub fn to_vec(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("envelopes serialise")
    }

    /// The payload, decoded.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] when it is not base64.
    pub fn payload_bytes(&self) -> Result<Vec<u8>> {
        decode(&self.payload, "DSSE payload")
    }

    /// Checks that one of the signatures verifies with `key` over the payload's encoding, and
    /// returns the payload.
    ///
    /// # Errors
    ///
    /// [`Error::BadSignature`] when none does; [`Error::Malformed`] for base64 that is not.
    pub fn verify(&self, key: &PublicKey) -> Result<Vec<u8>> {
        let payload = self.payload_bytes()?;
        let message = pae(&self.payload_type, &payload);
        let mut last = None;
        for s in &self.signatures {
            let sig = decode(&s.sig, "DSSE signature")?;
            match key.verify(&message, &sig) {
                Ok(()) => return Ok(payload),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| Error::malformed("DSSE envelope", "it has no signature")))
    }
}

fn decode(text: &str, what: &str) -> Result<Vec<u8>> {
    BASE64
        .decode(text.trim())
        .map_err(|e| Error::malformed(what, format!("not base64: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_verify_with_their_key_only_and_over_type_and_payload() {
        let key = SigningKey::generate();
        let envelope = Envelope::sign(IN_TOTO_PAYLOAD_TYPE, b"{\"a\":1}", &key);
        let back = Envelope::from_slice(&envelope.to_vec()).unwrap();
        assert_eq!(back.verify(&key.public_key()).unwrap(), b"{\"a\":1}");
        let other = SigningKey::generate().public_key();
        assert!(matches!(
            back.verify(&other),
            Err(Error::BadSignature { .. })
        ));
        // The type is signed too: changing it breaks the signature.
        let mut retyped = back.clone();
        retyped.payload_type = "text/plain".into();
        assert!(retyped.verify(&key.public_key()).is_err());
        let mut repayloaded = back;
        repayloaded.payload = BASE64.encode(b"{\"a\":2}");
        assert!(repayloaded.verify(&key.public_key()).is_err());
        assert!(
            Envelope::from_slice(b"{\"payloadType\":\"x\",\"payload\":\"\",\"signatures\":[]}")
                .is_err()
        );
    }
}
