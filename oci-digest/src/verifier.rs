//! The size-and-digest check shared by every verifying adapter.

use crate::{Digest, DigestError, Digester, VerifyError};

/// Checks that content fed in pieces has an exact size and digest.
///
/// This is the state machine behind [`VerifyingReader`](crate::VerifyingReader),
/// [`VerifyingStream`](crate::VerifyingStream) and the tokio adapter; use it directly to verify
/// bytes that arrive some other way.
///
/// - [`update`](Self::update) fails as soon as more bytes arrive than expected.
/// - When the last expected byte arrives, `update` checks the digest at once, so a consumer can
///   refuse the final piece of wrong content rather than learn of it afterwards.
/// - [`finish`](Self::finish), called at the end of input, fails if fewer bytes came.
///
/// After an error every later call returns the same error.
///
/// ```
/// use oci_digest::{Verifier, VerifyError, sha256};
///
/// let digest = sha256(b"hello world");
/// let mut v = Verifier::new(&digest, 11).unwrap();
/// v.update(b"hello ").unwrap();
/// v.update(b"world").unwrap();
/// v.finish().unwrap();
///
/// let mut v = Verifier::new(&digest, 11).unwrap();
/// assert!(matches!(v.update(b"hello world!"), Err(VerifyError::TooLong { .. })));
/// ```
#[derive(Debug, Clone)]
pub struct Verifier {
    expected: Digest,
    size: u64,
    received: u64,
    /// `None` once the digest has been checked.
    digester: Option<Digester>,
    failed: Option<VerifyError>,
}

impl Verifier {
    /// A verifier for content of exactly `size` bytes hashing to `expected`.
    ///
    /// # Errors
    ///
    /// [`DigestError::Unsupported`] when `expected` uses an algorithm this crate cannot compute.
    pub fn new(expected: &Digest, size: u64) -> Result<Self, DigestError> {
        let algorithm = expected.hash_algorithm()?;
        Ok(Verifier {
            expected: expected.clone(),
            size,
            received: 0,
            digester: Some(Digester::new(algorithm)),
            failed: None,
        })
    }

    /// Feeds the next piece of content.
    ///
    /// # Errors
    ///
    /// [`VerifyError::TooLong`] when the total passes the expected size;
    /// [`VerifyError::DigestMismatch`] when this piece completes the expected size and the
    /// digest differs.
    pub fn update(&mut self, chunk: &[u8]) -> Result<(), VerifyError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        if chunk.is_empty() {
            return Ok(());
        }
        let total = self.received.saturating_add(chunk.len() as u64);
        if total > self.size {
            return Err(self.fail(VerifyError::TooLong {
                expected: self.size,
                received: total,
            }));
        }
        self.received = total;
        if let Some(d) = self.digester.as_mut() {
            d.update(chunk);
        }
        if self.received == self.size {
            self.check_digest()?;
        }
        Ok(())
    }

    /// Declares the end of the content.
    ///
    /// # Errors
    ///
    /// [`VerifyError::TooShort`] when fewer bytes than expected arrived, or any error an earlier
    /// call returned. For empty content, [`VerifyError::DigestMismatch`] if the expected digest is
    /// not that of zero bytes.
    pub fn finish(&mut self) -> Result<(), VerifyError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        if self.received < self.size {
            return Err(self.fail(VerifyError::TooShort {
                expected: self.size,
                received: self.received,
            }));
        }
        self.check_digest()
    }

    /// True once every expected byte arrived and the digest matched.
    pub fn is_verified(&self) -> bool {
        self.failed.is_none() && self.digester.is_none()
    }

    /// Bytes received so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The size the content must have.
    pub fn expected_size(&self) -> u64 {
        self.size
    }

    /// The digest the content must have.
    pub fn expected_digest(&self) -> &Digest {
        &self.expected
    }

    fn check_digest(&mut self) -> Result<(), VerifyError> {
        let Some(digester) = self.digester.take() else {
            return Ok(());
        };
        let actual = digester.finalize();
        if actual != self.expected {
            return Err(self.fail(VerifyError::DigestMismatch {
                expected: self.expected.clone(),
                actual,
            }));
        }
        Ok(())
    }

    fn fail(&mut self, err: VerifyError) -> VerifyError {
        self.failed = Some(err.clone());
        err
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Algorithm, sha256};

    #[test]
    fn exact_content_passes_in_any_split() {
        let data = b"The quick brown fox";
        for alg in [Algorithm::Sha256, Algorithm::Sha512] {
            let digest = alg.digest(data);
            for split in 0..=data.len() {
                let mut v = Verifier::new(&digest, data.len() as u64).unwrap();
                v.update(&data[..split]).unwrap();
                v.update(&data[split..]).unwrap();
                assert!(v.is_verified());
                v.finish().unwrap();
            }
        }
    }

    #[test]
    fn too_long_fails_at_first_extra_byte() {
        let mut v = Verifier::new(&sha256(b"abc"), 3).unwrap();
        v.update(b"ab").unwrap();
        let err = v.update(b"cd").unwrap_err();
        assert_eq!(
            err,
            VerifyError::TooLong {
                expected: 3,
                received: 4
            }
        );
        // Poisoned afterwards.
        assert_eq!(v.finish().unwrap_err(), err);
        assert!(!v.is_verified());
    }

    #[test]
    fn extra_byte_after_complete_content_fails() {
        let mut v = Verifier::new(&sha256(b"abc"), 3).unwrap();
        v.update(b"abc").unwrap();
        assert!(v.is_verified());
        assert!(matches!(v.update(b"d"), Err(VerifyError::TooLong { .. })));
    }

    #[test]
    fn too_short_fails_at_finish() {
        let mut v = Verifier::new(&sha256(b"abc"), 3).unwrap();
        v.update(b"ab").unwrap();
        assert_eq!(
            v.finish().unwrap_err(),
            VerifyError::TooShort {
                expected: 3,
                received: 2
            }
        );
    }

    #[test]
    fn mismatch_is_reported_with_the_last_byte() {
        let expected = sha256(b"abc");
        let mut v = Verifier::new(&expected, 3).unwrap();
        v.update(b"ab").unwrap();
        let err = v.update(b"X").unwrap_err();
        assert_eq!(
            err,
            VerifyError::DigestMismatch {
                expected,
                actual: sha256(b"abX")
            }
        );
        assert!(err.to_string().contains("sha256:"));
    }

    #[test]
    fn empty_content() {
        let mut v = Verifier::new(&sha256(b""), 0).unwrap();
        v.finish().unwrap();
        let mut v = Verifier::new(&sha256(b"x"), 0).unwrap();
        assert!(matches!(
            v.finish(),
            Err(VerifyError::DigestMismatch { .. })
        ));
    }

    #[test]
    fn unsupported_algorithm_is_named() {
        let d = Digest::parse(
            "blake3:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        )
        .unwrap();
        let err = Verifier::new(&d, 0).unwrap_err();
        assert!(err.to_string().contains("\"blake3\""), "{err}");
    }
}
