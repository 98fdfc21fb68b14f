//! Verifying adapter over tokio's `AsyncRead`.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, ReadBuf};

use crate::{Digest, DigestError, Verifier};

pin_project_lite::pin_project! {
    /// An `AsyncRead` that checks the exact size and digest of what it passes through.
    ///
    /// It fails like [`VerifyingReader`](crate::VerifyingReader): with an
    /// [`InvalidData`](io::ErrorKind::InvalidData) I/O error holding a
    /// [`VerifyError`](crate::VerifyError), as soon as more bytes arrive than expected, at end of
    /// input if fewer came, and on the read that completes the content if its digest differs.
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    #[derive(Debug)]
    pub struct VerifyingAsyncReader<R> {
        #[pin]
        inner: R,
        verifier: Verifier,
    }
}

impl<R> VerifyingAsyncReader<R> {
    /// Wraps `inner`, expecting `size` bytes with digest `digest`.
    ///
    /// # Errors
    ///
    /// [`DigestError::Unsupported`] when the digest's algorithm cannot be computed.
    pub fn new(inner: R, digest: &Digest, size: u64) -> Result<Self, DigestError> {
        Ok(VerifyingAsyncReader {
            inner,
            verifier: Verifier::new(digest, size)?,
        })
    }

    /// The verification state: bytes received, whether the content is verified.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// Unwraps the reader, dropping the verification state.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: AsyncRead> AsyncRead for VerifyingAsyncReader<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.project();
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        ready!(this.inner.poll_read(cx, buf))?;
        let new = &buf.filled()[before..];
        let checked = if new.is_empty() {
            this.verifier.finish()
        } else {
            this.verifier.update(new)
        };
        if let Err(e) = checked {
            // A failed read must not report bytes as read.
            buf.set_filled(before);
            return Poll::Ready(Err(e.into()));
        }
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{VerifyError, sha256};
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn exact_content_and_failures() {
        let data = vec![9u8; 70_000];
        let d = sha256(&data);
        let mut out = Vec::new();
        VerifyingAsyncReader::new(&data[..], &d, 70_000)
            .unwrap()
            .read_to_end(&mut out)
            .await
            .unwrap();
        assert_eq!(out, data);

        for (size, variant) in [(69_999, "TooLong"), (70_001, "TooShort")] {
            let err = VerifyingAsyncReader::new(&data[..], &d, size)
                .unwrap()
                .read_to_end(&mut Vec::new())
                .await
                .unwrap_err();
            let inner = VerifyError::from_io(&err).unwrap();
            assert!(format!("{inner:?}").starts_with(variant), "{inner:?}");
        }
        let mut bad = data.clone();
        bad[69_999] = 0;
        let err = VerifyingAsyncReader::new(&bad[..], &d, 70_000)
            .unwrap()
            .read_to_end(&mut Vec::new())
            .await
            .unwrap_err();
        assert!(matches!(
            VerifyError::from_io(&err),
            Some(VerifyError::DigestMismatch { .. })
        ));
    }
}
