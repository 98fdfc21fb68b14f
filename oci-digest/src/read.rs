//! Verifying adapter over `std::io::Read`.

use std::io::{self, Read};

use crate::{Digest, DigestError, Verifier};

/// A reader that checks the exact size and digest of what it passes through.
///
/// Errors are [`std::io::Error`]s of kind [`InvalidData`](io::ErrorKind::InvalidData) holding a
/// [`VerifyError`](crate::VerifyError) (get it back with
/// [`VerifyError::from_io`](crate::VerifyError::from_io)):
/// as soon as more bytes arrive than expected, at end of input if fewer came, and on the read that
/// completes the content if its digest differs. A caller that reads to the end has therefore
/// either the exact content or an error.
#[derive(Debug)]
pub struct VerifyingReader<R> {
    inner: R,
    verifier: Verifier,
}

impl<R> VerifyingReader<R> {
    /// Wraps `inner`, expecting `size` bytes with digest `digest`.
    ///
    /// # Errors
    ///
    /// [`DigestError::Unsupported`] when the digest's algorithm cannot be computed.
    pub fn new(inner: R, digest: &Digest, size: u64) -> Result<Self, DigestError> {
        Ok(VerifyingReader {
            inner,
            verifier: Verifier::new(digest, size)?,
        })
    }

    /// The verification state: bytes received, whether the content is verified.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// The wrapped reader.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// Unwraps the reader, dropping the verification state.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: Read> Read for VerifyingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        if n == 0 {
            self.verifier.finish()?;
        } else {
            self.verifier.update(&buf[..n])?;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{VerifyError, sha256};

    fn read_all(data: &[u8], digest: &Digest, size: u64) -> io::Result<Vec<u8>> {
        let mut r = VerifyingReader::new(data, digest, size).unwrap();
        let mut out = Vec::new();
        r.read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn passes_exact_content() {
        let data = vec![7u8; 100_000];
        let out = read_all(&data, &sha256(&data), data.len() as u64).unwrap();
        assert_eq!(out, data);
    }

    #[test]
    fn reports_each_failure_as_invalid_data() {
        let data = b"0123456789";
        let d = sha256(data);
        let cases = [
            (read_all(&data[..], &d, 9), "TooLong"),
            (read_all(&data[..], &d, 11), "TooShort"),
            (read_all(b"0123456780", &d, 10), "DigestMismatch"),
        ];
        for (result, kind) in cases {
            let err = result.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData);
            let inner = VerifyError::from_io(&err).unwrap();
            assert!(format!("{inner:?}").starts_with(kind), "{inner:?}");
        }
    }
}
