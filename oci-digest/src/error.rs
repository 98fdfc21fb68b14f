//! Errors of parsing digests and of verifying content.

use crate::Digest;

/// An error parsing a digest or choosing its algorithm.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DigestError {
    /// The string does not fit the image-spec digest grammar, or a registered algorithm's
    /// encoding rules.
    #[error("invalid digest {value:?}: {reason}")]
    Invalid {
        /// The offending value (cut to 200 characters).
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The digest is well-formed but its algorithm cannot be computed by this crate.
    #[error(
        "digest algorithm {algorithm:?} is not supported for hashing or verification (supported: sha256, sha512)"
    )]
    Unsupported {
        /// The algorithm's name as written (cut to 200 characters).
        algorithm: String,
    },
}

/// Content that did not match what its descriptor promised.
///
/// Every verifying adapter in this crate reports these; the I/O adapters wrap them in
/// [`std::io::Error`] of kind [`InvalidData`](std::io::ErrorKind::InvalidData), from which
/// [`VerifyError::from_io`] gets them back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// More bytes arrived than the expected size. Reported as soon as the first extra byte
    /// arrives.
    #[error(
        "content is longer than expected: expected {expected} bytes, received at least {received}"
    )]
    TooLong {
        /// The size the content should have.
        expected: u64,
        /// How many bytes had arrived when the excess was seen.
        received: u64,
    },
    /// The content ended before the expected size.
    #[error("content is shorter than expected: expected {expected} bytes, received {received}")]
    TooShort {
        /// The size the content should have.
        expected: u64,
        /// How many bytes arrived in all.
        received: u64,
    },
    /// The content has the expected size but another digest.
    #[error("digest mismatch: expected {expected}, computed {actual}")]
    DigestMismatch {
        /// The digest the content should have.
        expected: Digest,
        /// The digest of what arrived.
        actual: Digest,
    },
}

impl VerifyError {
    /// Finds a `VerifyError` inside an [`std::io::Error`] made by this crate's I/O adapters.
    pub fn from_io(err: &std::io::Error) -> Option<&VerifyError> {
        err.get_ref()?.downcast_ref::<VerifyError>()
    }

    /// True for the two size errors ([`TooLong`](Self::TooLong), [`TooShort`](Self::TooShort)).
    pub fn is_size_mismatch(&self) -> bool {
        matches!(
            self,
            VerifyError::TooLong { .. } | VerifyError::TooShort { .. }
        )
    }
}

impl From<VerifyError> for std::io::Error {
    fn from(err: VerifyError) -> Self {
        std::io::Error::new(std::io::ErrorKind::InvalidData, err)
    }
}

/// The length, in characters, that [`clip`] cuts error-message values to.
pub(crate) const MESSAGE_CHARS: usize = 200;

/// Cuts untrusted text to at most `max` characters, marking a cut with `…`; never inside a
/// character. Error messages of every crate of this family show what they were given this way.
///
/// ```
/// assert_eq!(oci_digest::clip("abcdef", 3), "abc…");
/// assert_eq!(oci_digest::clip("abc", 3), "abc");
/// ```
pub fn clip(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(max) {
        Some((at, _)) => std::borrow::Cow::Owned(format!("{}…", &text[..at])),
        None => std::borrow::Cow::Borrowed(text),
    }
}
