//! Keys: ECDSA P-256 key pairs to sign with (cosign's default), public keys of the kinds cosign
//! verifies with, and the files both are kept in.
//!
//! Private keys are read from cosign's encrypted PEM (`ENCRYPTED SIGSTORE PRIVATE KEY`, or the
//! older `ENCRYPTED COSIGN PRIVATE KEY` label: scrypt, then NaCl secretbox over the PKCS#8 key),
//! from unencrypted PKCS#8 (`PRIVATE KEY`) and from SEC1 (`EC PRIVATE KEY`). They are written as
//! cosign writes them. Public keys are PKIX (`PUBLIC KEY`) PEM: ECDSA P-256 and P-384, Ed25519,
//! and RSA (PKCS#1 v1.5 signatures with SHA-256, what cosign makes with an RSA key).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use crypto_secretbox::XSalsa20Poly1305;
use crypto_secretbox::aead::{Aead, KeyInit};
use p256::elliptic_curve::Generate;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::{Error, Result};

/// The label cosign writes on encrypted private keys.
pub const ENCRYPTED_KEY_LABEL: &str = "ENCRYPTED SIGSTORE PRIVATE KEY";
/// The label older cosign releases wrote; still read.
pub const LEGACY_ENCRYPTED_KEY_LABEL: &str = "ENCRYPTED COSIGN PRIVATE KEY";
/// The environment variable cosign reads a key's password from.
pub const PASSWORD_ENV: &str = "COSIGN_PASSWORD";

/// scrypt's cost as cosign sets it when writing a key: N = 2^15, r = 8, p = 1.
const SCRYPT_LOG_N: u8 = 15;
const SCRYPT_R: u32 = 8;
const SCRYPT_P: u32 = 1;
/// The most work a key file may ask of scrypt (N = 2^20, a gigabyte of memory at r = 8):
/// more than cosign ever wrote, less than a hostile file could demand.
const SCRYPT_MAX_LOG_N: u8 = 20;

/// A private key to sign with: ECDSA P-256 with SHA-256, as cosign makes them.
///
/// The secret is zeroised when the key is dropped, and `Debug` shows only the public half.
#[derive(Clone)]
pub struct SigningKey(p256::ecdsa::SigningKey);

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SigningKey")
            .field(&self.public_key())
            .finish()
    }
}

impl SigningKey {
    /// A new random key, from the operating system's generator.
    pub fn generate() -> Self {
        SigningKey(p256::ecdsa::SigningKey::generate())
    }

    /// Reads a private key from PEM: cosign's encrypted format (with `password`), PKCS#8 or
    /// SEC1. An unencrypted key ignores the password.
    ///
    /// # Errors
    ///
    /// [`Error::Key`] for a file that is not one of those, a key that is not P-256, or a
    /// wrong password (which cannot be told apart from a damaged file).
    pub fn from_pem(pem: &str, password: &[u8]) -> Result<Self> {
        let label = pem_label(pem).ok_or_else(|| Error::key("not a PEM file"))?;
        match label.as_str() {
            ENCRYPTED_KEY_LABEL | LEGACY_ENCRYPTED_KEY_LABEL => {
                let der = decrypt_key(pem, password)?;
                Self::from_pkcs8_der(&der)
            }
            "PRIVATE KEY" => p256::ecdsa::SigningKey::from_pkcs8_pem(pem)
                .map(SigningKey)
                .map_err(|e| Error::key(format!("not an ECDSA P-256 PKCS#8 key: {e}"))),
            "EC PRIVATE KEY" => p256::SecretKey::from_sec1_pem(pem)
                .map(|k| SigningKey(k.into()))
                .map_err(|e| Error::key(format!("not an ECDSA P-256 SEC1 key: {e}"))),
            other => Err(Error::key(format!(
                "a {other:?} PEM block is not a private key"
            ))),
        }
    }

    fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        p256::ecdsa::SigningKey::from_pkcs8_der(der)
            .map(SigningKey)
            .map_err(|e| Error::key(format!("the decrypted key is not ECDSA P-256: {e}")))
    }

    /// The key as cosign writes it: encrypted with `password` (scrypt N=2^15, r=8, p=1 and
    /// NaCl secretbox), labelled `ENCRYPTED SIGSTORE PRIVATE KEY`.
    ///
    /// # Errors
    ///
    /// [`Error::Key`] when the system's random generator fails.
    pub fn to_encrypted_pem(&self, password: &[u8]) -> Result<Zeroizing<String>> {
        let der = self
            .0
            .to_pkcs8_der()
            .map_err(|e| Error::key(format!("encoding the key: {e}")))?;
        let mut salt = [0u8; 32];
        let mut nonce = [0u8; 24];
        getrandom::fill(&mut salt).map_err(|e| Error::key(format!("no randomness: {e}")))?;
        getrandom::fill(&mut nonce).map_err(|e| Error::key(format!("no randomness: {e}")))?;
        let params = KdfParams {
            n: 1 << SCRYPT_LOG_N,
            r: SCRYPT_R,
            p: SCRYPT_P,
        };
        let secret = derive_key(password, &salt, &params)?;
        let cipher = XSalsa20Poly1305::new((&*secret).into());
        let ciphertext = cipher
            .encrypt((&nonce).into(), der.as_bytes())
            .map_err(|_| Error::key("encrypting the key failed"))?;
        let file = EncryptedKey {
            kdf: Kdf {
                name: "scrypt".into(),
                params,
                salt: BASE64.encode(salt),
            },
            cipher: Cipher {
                name: "nacl/secretbox".into(),
                nonce: BASE64.encode(nonce),
            },
            ciphertext: BASE64.encode(ciphertext),
        };
        let json = serde_json::to_vec(&file).expect("the key file serialises");
        let pem = pem_rfc7468::encode_string(ENCRYPTED_KEY_LABEL, LineEnding::LF, &json)
            .map_err(|e| Error::key(format!("encoding the key file: {e}")))?;
        Ok(Zeroizing::new(pem))
    }

    /// The key as unencrypted PKCS#8 PEM (`PRIVATE KEY`).
    ///
    /// # Errors
    ///
    /// [`Error::Key`] if encoding fails.
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>> {
        self.0
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| Error::key(format!("encoding the key: {e}")))
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKey {
        PublicKey::EcdsaP256(*self.0.verifying_key())
    }

    /// Signs `message`: ECDSA over its SHA-256, ASN.1 DER encoded, as cosign does.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        use p256::ecdsa::signature::Signer;
        let signature: p256::ecdsa::Signature = self.0.sign(message);
        signature.to_der().as_bytes().to_vec()
    }
}

/// A public key to verify with.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublicKey {
    /// ECDSA P-256 with SHA-256.
    EcdsaP256(p256::ecdsa::VerifyingKey),
    /// ECDSA P-384 with SHA-384.
    EcdsaP384(p384::ecdsa::VerifyingKey),
    /// Ed25519 over the message itself.
    Ed25519(ed25519_dalek::VerifyingKey),
    /// RSA, PKCS#1 v1.5 with SHA-256.
    Rsa(rsa::PublicKey),
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({}, {})", self.kind(), self.fingerprint())
    }
}

impl PublicKey {
    /// Reads a PKIX `PUBLIC KEY` PEM block of any of the kinds above.
    ///
    /// # Errors
    ///
    /// [`Error::Key`] for anything else.
    pub fn from_pem(pem: &str) -> Result<Self> {
        match pem_label(pem).as_deref() {
            Some("PUBLIC KEY") => {}
            Some(other) => {
                return Err(Error::key(format!(
                    "a {other:?} PEM block is not a public key"
                )));
            }
            None => return Err(Error::key("not a PEM file")),
        }
        let (_, der) = pem_rfc7468::decode_vec(pem.trim().as_bytes())
            .map_err(|e| Error::key(format!("the public key's PEM: {e}")))?;
        Self::from_spki_der(&der)
    }

    /// The key as PKIX PEM.
    ///
    /// # Errors
    ///
    /// [`Error::Key`] if encoding fails.
    pub fn to_pem(&self) -> Result<String> {
        let pem = match self {
            PublicKey::EcdsaP256(k) => k.to_public_key_pem(LineEnding::LF),
            PublicKey::EcdsaP384(k) => k.to_public_key_pem(LineEnding::LF),
            PublicKey::Ed25519(k) => k.to_public_key_pem(LineEnding::LF),
            PublicKey::Rsa(k) => k.to_public_key_pem(LineEnding::LF),
        };
        pem.map_err(|e| Error::key(format!("encoding the public key: {e}")))
    }

    /// What kind of key this is: `ecdsa-p256`, `ecdsa-p384`, `ed25519` or `rsa`.
    pub fn kind(&self) -> &'static str {
        match self {
            PublicKey::EcdsaP256(_) => "ecdsa-p256",
            PublicKey::EcdsaP384(_) => "ecdsa-p384",
            PublicKey::Ed25519(_) => "ed25519",
            PublicKey::Rsa(_) => "rsa",
        }
    }

    /// The SHA-256 of the key's DER encoding, hex: how the key is named in messages.
    pub fn fingerprint(&self) -> String {
        let der = match self {
            PublicKey::EcdsaP256(k) => k.to_public_key_der(),
            PublicKey::EcdsaP384(k) => k.to_public_key_der(),
            PublicKey::Ed25519(k) => k.to_public_key_der(),
            PublicKey::Rsa(k) => k.to_public_key_der(),
        };
        match der {
            Ok(der) => oci_digest::sha256(der.as_bytes()).encoded().to_owned(),
            Err(_) => "unencodable".into(),
        }
    }

    /// Reads a PKIX `SubjectPublicKeyInfo` in DER, as certificates and trusted roots carry it.
    ///
    /// # Errors
    ///
    /// [`Error::Key`] for a key of another kind or bytes that do not parse.
    pub fn from_spki_der(der: &[u8]) -> Result<Self> {
        use p256::pkcs8::DecodePublicKey;
        if let Ok(k) = p256::ecdsa::VerifyingKey::from_public_key_der(der) {
            return Ok(PublicKey::EcdsaP256(k));
        }
        if let Ok(k) = p384::ecdsa::VerifyingKey::from_public_key_der(der) {
            return Ok(PublicKey::EcdsaP384(k));
        }
        if let Ok(k) = ed25519_dalek::VerifyingKey::from_public_key_der(der) {
            return Ok(PublicKey::Ed25519(k));
        }
        if let Ok(k) = rsa::PublicKey::from_public_key_der(der) {
            return Ok(PublicKey::Rsa(k));
        }
        Err(Error::key(
            "the public key is not ECDSA P-256 or P-384, Ed25519 or RSA",
        ))
    }

    /// Reads an RSA public key in PKCS#1 DER.
    ///
    /// # Errors
    ///
    /// [`Error::Key`] for bytes that do not parse.
    pub fn from_pkcs1_der(der: &[u8]) -> Result<Self> {
        use rsa::pkcs1::DecodeRsaPublicKey;
        rsa::PublicKey::from_pkcs1_der(der)
            .map(PublicKey::Rsa)
            .or_else(|_| Self::from_spki_der(der))
            .map_err(|e| Error::key(format!("an RSA public key: {e}")))
    }

    /// Checks `signature` over `message`. ECDSA signatures are ASN.1 DER, as cosign writes
    /// them (a fixed-size `r || s` is accepted too). ECDSA P-384 hashes with SHA-384, the
    /// others with SHA-256.
    ///
    /// # Errors
    ///
    /// [`Error::BadSignature`] when the signature does not verify or cannot be read.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<()> {
        let hash = match self {
            PublicKey::EcdsaP384(_) => Hash::Sha384,
            _ => Hash::Sha256,
        };
        self.verify_with(hash, message, signature)
    }

    /// Checks `signature` over `message` hashed with `hash`, as a certificate's or a log's
    /// signature algorithm names it (Ed25519 signs the message itself).
    pub(crate) fn verify_with(&self, hash: Hash, message: &[u8], signature: &[u8]) -> Result<()> {
        if let PublicKey::Ed25519(k) = self {
            let bad = |why: String| Error::BadSignature {
                key: self.fingerprint(),
                why,
            };
            let sig = ed25519_dalek::Signature::from_slice(signature)
                .map_err(|e| bad(format!("not an Ed25519 signature: {e}")))?;
            return k
                .verify_strict(message, &sig)
                .map_err(|e| bad(e.to_string()));
        }
        let digest = hash.digest(message);
        self.verify_digest(hash, &digest, signature)
    }

    /// Checks `signature` over a message whose `hash` digest is `digest` (not for Ed25519,
    /// which signs the message itself).
    pub(crate) fn verify_digest(&self, hash: Hash, digest: &[u8], signature: &[u8]) -> Result<()> {
        use p256::ecdsa::signature::hazmat::PrehashVerifier;
        let bad = |why: String| Error::BadSignature {
            key: self.fingerprint(),
            why,
        };
        match self {
            PublicKey::EcdsaP256(k) => {
                let der = p256::ecdsa::Signature::from_der(signature);
                ecdsa_prehash(k, digest, der.or_else(|_| signature.try_into()), "P-256")
                    .map_err(bad)
            }
            PublicKey::EcdsaP384(k) => {
                let der = p384::ecdsa::Signature::from_der(signature);
                ecdsa_prehash(k, digest, der.or_else(|_| signature.try_into()), "P-384")
                    .map_err(bad)
            }
            PublicKey::Ed25519(_) => Err(bad(
                "an Ed25519 key signs the message, not its digest".into()
            )),
            PublicKey::Rsa(k) => {
                let sig = rsa::pkcs1v15::Signature::try_from(signature)
                    .map_err(|e| bad(format!("not an RSA signature: {e}")))?;
                let result = match hash {
                    Hash::Sha256 => rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(k.clone())
                        .verify_prehash(digest, &sig),
                    Hash::Sha384 => rsa::pkcs1v15::VerifyingKey::<sha2::Sha384>::new(k.clone())
                        .verify_prehash(digest, &sig),
                    Hash::Sha512 => rsa::pkcs1v15::VerifyingKey::<sha2::Sha512>::new(k.clone())
                        .verify_prehash(digest, &sig),
                };
                result.map_err(|e| bad(e.to_string()))
            }
        }
    }
}

/// The hash a signature is made over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    pub(crate) fn digest(self, message: &[u8]) -> Vec<u8> {
        use sha2::Digest;
        match self {
            Hash::Sha256 => sha2::Sha256::digest(message).to_vec(),
            Hash::Sha384 => sha2::Sha384::digest(message).to_vec(),
            Hash::Sha512 => sha2::Sha512::digest(message).to_vec(),
        }
    }
}

/// The label of the first PEM block in `text`.
fn pem_label(text: &str) -> Option<String> {
    let start = text.find("-----BEGIN ")? + "-----BEGIN ".len();
    let end = text[start..].find("-----")?;
    Some(text[start..start + end].to_owned())
}

/// cosign's encrypted key file, the JSON inside the PEM block.
#[derive(Serialize, Deserialize)]
struct EncryptedKey {
    kdf: Kdf,
    cipher: Cipher,
    ciphertext: String,
}

#[derive(Serialize, Deserialize)]
struct Kdf {
    name: String,
    params: KdfParams,
    salt: String,
}

#[derive(Serialize, Deserialize)]
struct KdfParams {
    #[serde(rename = "N")]
    n: u64,
    r: u32,
    p: u32,
}

#[derive(Serialize, Deserialize)]
struct Cipher {
    name: String,
    nonce: String,
}

fn derive_key(password: &[u8], salt: &[u8], params: &KdfParams) -> Result<Zeroizing<[u8; 32]>> {
    if !params.n.is_power_of_two() || params.n < 2 {
        return Err(Error::key("the key file's scrypt N is not a power of two"));
    }
    let log_n = params.n.trailing_zeros() as u8;
    if log_n > SCRYPT_MAX_LOG_N || params.r > 32 || params.p > 16 {
        return Err(Error::key(format!(
            "the key file asks scrypt for N={}, r={}, p={}: more than any cosign key needs",
            params.n, params.r, params.p
        )));
    }
    let scrypt_params = scrypt::Params::new(log_n, params.r, params.p)
        .map_err(|e| Error::key(format!("bad scrypt parameters: {e}")))?;
    let mut key = Zeroizing::new([0u8; 32]);
    scrypt::scrypt(password, salt, &scrypt_params, &mut *key)
        .map_err(|e| Error::key(format!("scrypt: {e}")))?;
    Ok(key)
}

/// The PKCS#8 DER inside a cosign encrypted key file.
fn decrypt_key(pem: &str, password: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let (_, body) = pem_rfc7468::decode_vec(pem.trim().as_bytes())
        .map_err(|e| Error::key(format!("not a PEM file: {e}")))?;
    let file: EncryptedKey = serde_json::from_slice(&body)
        .map_err(|e| Error::key(format!("not a cosign key file: {e}")))?;
    if file.kdf.name != "scrypt" || file.cipher.name != "nacl/secretbox" {
        return Err(Error::key(format!(
            "unsupported key encryption {} / {}",
            file.kdf.name, file.cipher.name
        )));
    }
    let salt = decode_b64(&file.kdf.salt, "salt")?;
    let nonce: [u8; 24] = decode_b64(&file.cipher.nonce, "nonce")?
        .try_into()
        .map_err(|_| Error::key("the key file's nonce is not 24 bytes"))?;
    let ciphertext = decode_b64(&file.ciphertext, "ciphertext")?;
    let secret = derive_key(password, &salt, &file.kdf.params)?;
    let cipher = XSalsa20Poly1305::new((&*secret).into());
    cipher
        .decrypt((&nonce).into(), ciphertext.as_slice())
        .map(Zeroizing::new)
        .map_err(|_| Error::key("wrong password, or a damaged key file"))
}

fn decode_b64(text: &str, what: &str) -> Result<Vec<u8>> {
    BASE64
        .decode(text)
        .map_err(|e| Error::key(format!("the key file's {what} is not base64: {e}")))
}

/// The password for a key: `given` if any, else `COSIGN_PASSWORD`, else empty (cosign's
/// default for a key made without one).
pub fn password_from(given: Option<&str>) -> Zeroizing<Vec<u8>> {
    let text = given
        .map(str::to_owned)
        .or_else(|| std::env::var(PASSWORD_ENV).ok())
        .unwrap_or_default();
    Zeroizing::new(text.into_bytes())
}

/// Checks an ECDSA signature (DER, or the fixed-size form, as parsed into `signature`) over a
/// digest, saying which curve a malformed signature was meant for.
fn ecdsa_prehash<S, E: std::fmt::Display>(
    key: &impl p256::ecdsa::signature::hazmat::PrehashVerifier<S>,
    digest: &[u8],
    signature: std::result::Result<S, E>,
    curve: &str,
) -> std::result::Result<(), String> {
    let signature = signature.map_err(|e| format!("not an ECDSA {curve} signature: {e}"))?;
    key.verify_prehash(digest, &signature)
        .map_err(|e| e.to_string())
}
