//! The digest algorithms this crate can compute.

use std::fmt;
use std::str::FromStr;

use crate::DigestError;

/// A digest algorithm that this crate can compute and verify.
///
/// Other algorithms may appear in a [`Digest`](crate::Digest) (the image-spec grammar allows
/// them), but they cannot be hashed: [`Digest::hash_algorithm`](crate::Digest::hash_algorithm)
/// returns [`DigestError::Unsupported`] for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[non_exhaustive]
pub enum Algorithm {
    /// SHA-256, the canonical OCI algorithm: 64 lowercase hex characters.
    #[default]
    Sha256,
    /// SHA-512: 128 lowercase hex characters.
    Sha512,
}

impl Algorithm {
    /// The name as written in a digest string (`sha256`, `sha512`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    /// The length in characters of the hex-encoded part of a digest of this algorithm.
    pub const fn encoded_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }

    /// Hashes `data` in one go and returns its digest.
    pub fn digest(self, data: &[u8]) -> crate::Digest {
        let mut d = crate::Digester::new(self);
        d.update(data);
        d.finalize()
    }

    /// Looks an algorithm up by name; `None` when this crate cannot compute it.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "sha256" => Some(Algorithm::Sha256),
            "sha512" => Some(Algorithm::Sha512),
            _ => None,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = DigestError;

    /// Parses `sha256` or `sha512`; any other name gives [`DigestError::Unsupported`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Algorithm::from_name(s).ok_or_else(|| DigestError::Unsupported {
            algorithm: s.to_owned(),
        })
    }
}
