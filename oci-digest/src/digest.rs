//! The `Digest` newtype.
//!
//! A digest names content by its hash. Parsing follows the image-spec grammar exactly:
//!
//! ```text
//! digest                ::= algorithm ":" encoded
//! algorithm             ::= algorithm-component (algorithm-separator algorithm-component)*
//! algorithm-component   ::= [a-z0-9]+
//! algorithm-separator   ::= [+._-]
//! encoded               ::= [a-zA-Z0-9=_-]+
//! ```
//!
//! Registered algorithms are held to their own encoding: `sha256` and `blake3` to 64 lowercase
//! hex characters, `sha512` to 128. Any other algorithm that fits the grammar is kept as it is,
//! so a document using one still parses; only hashing with it is refused.

use std::fmt;

use crate::error::{MESSAGE_CHARS, clip};
use crate::{Algorithm, DigestError};

/// A content digest, `algorithm:encoded`, validated by the image-spec grammar.
///
/// ```
/// use oci_digest::{Algorithm, Digest};
///
/// let d: Digest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
///     .parse()
///     .unwrap();
/// assert_eq!(d.algorithm(), "sha256");
/// assert_eq!(d.hash_algorithm().unwrap(), Algorithm::Sha256);
/// assert_eq!(d, Algorithm::Sha256.digest(b""));
///
/// // Unregistered algorithms parse but cannot be verified.
/// let other: Digest = "multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8"
///     .parse()
///     .unwrap();
/// assert!(other.hash_algorithm().is_err());
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest {
    repr: Box<str>,
    colon: usize,
}

impl Digest {
    /// Parses and validates a digest string.
    ///
    /// # Errors
    ///
    /// [`DigestError::Invalid`] when the string breaks the grammar or a registered algorithm's
    /// encoding (for example uppercase hex or a wrong length for `sha256`).
    pub fn parse(s: &str) -> Result<Self, DigestError> {
        let invalid = |reason| DigestError::Invalid {
            value: clip(s, MESSAGE_CHARS).into_owned(),
            reason,
        };
        let colon = s
            .find(':')
            .ok_or_else(|| invalid("missing ':' between algorithm and encoded part"))?;
        let (algorithm, encoded) = (&s[..colon], &s[colon + 1..]);
        validate_algorithm(algorithm).map_err(invalid)?;
        if encoded.is_empty() {
            return Err(invalid("the encoded part is empty"));
        }
        if !encoded
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'=' | b'_' | b'-'))
        {
            return Err(invalid("the encoded part may only contain [a-zA-Z0-9=_-]"));
        }
        let registered_hex_len = match algorithm {
            "sha256" | "blake3" => Some(64),
            "sha512" => Some(128),
            _ => None,
        };
        if let Some(len) = registered_hex_len {
            if encoded.len() != len {
                return Err(invalid(match len {
                    64 => "this algorithm needs exactly 64 hex characters",
                    _ => "this algorithm needs exactly 128 hex characters",
                }));
            }
            if !encoded
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            {
                return Err(invalid(
                    "this algorithm needs lowercase hex characters [0-9a-f]",
                ));
            }
        }
        Ok(Digest {
            repr: s.into(),
            colon,
        })
    }

    /// Builds a digest from an algorithm and the raw hash bytes.
    ///
    /// # Errors
    ///
    /// [`DigestError::Invalid`] when `hash` does not have the algorithm's output length.
    pub fn from_hash(algorithm: Algorithm, hash: &[u8]) -> Result<Self, DigestError> {
        if hash.len() * 2 != algorithm.encoded_len() {
            return Err(DigestError::Invalid {
                value: format!("{algorithm}:{}", clip(&hex::encode(hash), MESSAGE_CHARS)),
                reason: "the hash has the wrong length for its algorithm",
            });
        }
        Ok(Self::from_parts_unchecked(algorithm, &hex::encode(hash)))
    }

    pub(crate) fn from_parts_unchecked(algorithm: Algorithm, encoded: &str) -> Self {
        let name = algorithm.as_str();
        Digest {
            repr: format!("{name}:{encoded}").into(),
            colon: name.len(),
        }
    }

    /// The algorithm as written, such as `sha256`.
    pub fn algorithm(&self) -> &str {
        &self.repr[..self.colon]
    }

    /// The encoded part after the colon, such as the 64 hex characters of a sha256 digest.
    pub fn encoded(&self) -> &str {
        &self.repr[self.colon + 1..]
    }

    /// The whole digest string.
    pub fn as_str(&self) -> &str {
        &self.repr
    }

    /// The algorithm to hash with, to compute or verify this digest.
    ///
    /// # Errors
    ///
    /// [`DigestError::Unsupported`] naming the algorithm when this crate cannot compute it.
    pub fn hash_algorithm(&self) -> Result<Algorithm, DigestError> {
        Algorithm::from_name(self.algorithm()).ok_or_else(|| DigestError::Unsupported {
            algorithm: clip(self.algorithm(), MESSAGE_CHARS).into_owned(),
        })
    }

    /// The raw hash bytes, for `sha256` and `sha512` digests.
    ///
    /// # Errors
    ///
    /// [`DigestError::Unsupported`] for other algorithms.
    pub fn hash_bytes(&self) -> Result<Vec<u8>, DigestError> {
        self.hash_algorithm()?;
        // Registered algorithms were checked to be lowercase hex when parsed.
        Ok(hex::decode(self.encoded()).expect("validated hex"))
    }

    /// True when `data` hashes to this digest. False for unsupported algorithms.
    pub fn matches(&self, data: &[u8]) -> bool {
        match self.hash_algorithm() {
            Ok(alg) => alg.digest(data) == *self,
            Err(_) => false,
        }
    }
}

fn validate_algorithm(algorithm: &str) -> Result<(), &'static str> {
    if algorithm.is_empty() {
        return Err("the algorithm is empty");
    }
    let mut previous_was_separator = true; // no separator may lead
    for b in algorithm.bytes() {
        match b {
            b'a'..=b'z' | b'0'..=b'9' => previous_was_separator = false,
            b'+' | b'.' | b'_' | b'-' => {
                if previous_was_separator {
                    return Err("the algorithm may not start with or repeat a separator [+._-]");
                }
                previous_was_separator = true;
            }
            _ => return Err("the algorithm may only contain [a-z0-9] and separators [+._-]"),
        }
    }
    if previous_was_separator {
        return Err("the algorithm may not end with a separator [+._-]");
    }
    Ok(())
}

crate::impl_from_str!(Digest, DigestError);

impl TryFrom<String> for Digest {
    type Error = DigestError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Digest::parse(&s)
    }
}

impl From<Digest> for String {
    fn from(d: Digest) -> Self {
        d.repr.into()
    }
}

impl AsRef<str> for Digest {
    fn as_ref(&self) -> &str {
        &self.repr
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.repr)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.repr)
    }
}

impl PartialEq<str> for Digest {
    fn eq(&self, other: &str) -> bool {
        &*self.repr == other
    }
}

impl PartialEq<&str> for Digest {
    fn eq(&self, other: &&str) -> bool {
        &*self.repr == *other
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.repr)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Digest;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a digest string such as \"sha256:<64 hex characters>\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Digest, E> {
                Digest::parse(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn parses_registered_and_other_algorithms() {
        let d = Digest::parse(EMPTY).unwrap();
        assert_eq!(d.algorithm(), "sha256");
        assert_eq!(d.encoded().len(), 64);
        assert_eq!(d.to_string(), EMPTY);
        for ok in [
            "sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564",
            "multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8",
            "sha256.foo-bar:c86f",
            "a:b",
        ] {
            let d = Digest::parse(ok).unwrap();
            assert_eq!(d.as_str(), ok);
            assert!(matches!(
                d.hash_algorithm(),
                Err(DigestError::Unsupported { .. })
            ));
        }
    }

    #[test]
    fn rejects_bad_digests_with_reason() {
        for (bad, needle) in [
            ("", "missing ':'"),
            ("sha256", "missing ':'"),
            (":abc", "algorithm is empty"),
            ("sha256:", "encoded part is empty"),
            ("SHA256:abc", "may only contain"),
            ("sha256+foo+-b:abc", "repeat a separator"),
            ("-sha:abc", "start with"),
            ("sha-:abc", "end with"),
            ("sha256:abc", "64 hex"),
            (
                &EMPTY.to_uppercase().replace("SHA256", "sha256"),
                "lowercase",
            ),
            ("sha512:abcd", "128 hex"),
            ("blake3:abcd", "64 hex"),
            ("sha256:ab/cd", "[a-zA-Z0-9=_-]"),
            ("a:b:c", "[a-zA-Z0-9=_-]"),
        ] {
            let err = Digest::parse(bad).unwrap_err();
            let msg = err.to_string();
            assert!(msg.contains(needle), "{bad:?}: {msg}");
            assert!(
                msg.contains(&format!("{:?}", clip(bad, MESSAGE_CHARS))),
                "{msg}"
            );
        }
    }

    #[test]
    fn long_values_are_clipped_in_errors() {
        let long = format!("sha256:{}", "g".repeat(10_000));
        let msg = Digest::parse(&long).unwrap_err().to_string();
        assert!(msg.len() < 400, "{}", msg.len());
    }

    #[test]
    fn serde_round_trip_and_error() {
        let d = Digest::parse(EMPTY).unwrap();
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(json, format!("\"{EMPTY}\""));
        assert_eq!(serde_json::from_str::<Digest>(&json).unwrap(), d);
        let err = serde_json::from_str::<Digest>("\"sha256:xyz\"").unwrap_err();
        assert!(err.to_string().contains("invalid digest"), "{err}");
    }

    #[test]
    fn from_hash_and_hash_bytes() {
        let d = Algorithm::Sha512.digest(b"abc");
        let bytes = d.hash_bytes().unwrap();
        assert_eq!(bytes.len(), 64);
        assert_eq!(Digest::from_hash(Algorithm::Sha512, &bytes).unwrap(), d);
        assert!(Digest::from_hash(Algorithm::Sha256, &bytes).is_err());
        assert!(d.matches(b"abc"));
        assert!(!d.matches(b"abd"));
    }
}
