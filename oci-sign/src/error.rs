//! What can go wrong when signing or verifying, said precisely.

use oci_spec_types::Digest;

/// A signing or verification failure. Each variant names the check that failed; a signature,
/// payload or key file that cannot be read is an error, never a pass.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A key could not be read, written or made.
    #[error("key: {0}")]
    Key(String),
    /// A signature does not verify with the key.
    #[error("the signature does not verify with key {key}: {why}")]
    BadSignature {
        /// The key's fingerprint.
        key: String,
        /// What the verifier said.
        why: String,
    },
    /// Nothing signed was found for the artifact.
    #[error("no signatures found for {digest} (looked for {tag})")]
    NoSignatures {
        /// The artifact.
        digest: Digest,
        /// Where signatures were looked for.
        tag: String,
    },
    /// Signatures were found, and none passed every check.
    #[error("no valid signature for {digest}: {}", reasons.join("; "))]
    NoValidSignature {
        /// The artifact.
        digest: Digest,
        /// Why each signature found was refused.
        reasons: Vec<String>,
    },
    /// A payload signs another artifact than the one verified: a signature moved to other
    /// content, or a tag that now points elsewhere.
    #[error("the signature is for {signed}, not for {actual}")]
    DigestMismatch {
        /// The digest the payload names.
        signed: String,
        /// The digest of the artifact verified.
        actual: Digest,
    },
    /// A payload names another repository than the one expected.
    #[error("the signature names {signed:?}, not {expected:?}")]
    ReferenceMismatch {
        /// What the payload names.
        signed: String,
        /// What the caller expected.
        expected: String,
    },
    /// A payload, envelope or manifest is not what its kind requires.
    #[error("malformed {what}: {why}")]
    Malformed {
        /// What was read.
        what: String,
        /// What is wrong with it.
        why: String,
    },
    /// A trust policy refused the artifact.
    #[error("the policy for {repository} refuses {digest}: {why}")]
    Rejected {
        /// The repository, as the policy's scopes name it.
        repository: String,
        /// The artifact.
        digest: Digest,
        /// Which requirement failed, and why.
        why: String,
    },
    /// A Sigstore bundle failed a check.
    #[error("Sigstore bundle: {0}")]
    Sigstore(crate::sigstore::SigstoreError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] oci_target::Error),
}

impl Error {
    pub(crate) fn key(why: impl Into<String>) -> Error {
        Error::Key(why.into())
    }

    pub(crate) fn malformed(what: impl Into<String>, why: impl std::fmt::Display) -> Error {
        Error::Malformed {
            what: what.into(),
            why: why.to_string(),
        }
    }
}

/// Results of this crate.
pub type Result<T> = std::result::Result<T, Error>;
