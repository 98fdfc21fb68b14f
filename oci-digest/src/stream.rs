//! Verifying adapter over a `Stream` of `Bytes`.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures_core::Stream;

use crate::{Digest, DigestError, Verifier, VerifyError};

pin_project_lite::pin_project! {
    /// A stream of `Bytes` that checks the exact size and digest of what it passes through.
    ///
    /// Chunks are hashed in place and handed on unchanged: no data is copied. The stream yields
    /// an error item, then ends:
    ///
    /// - as soon as a chunk takes the total past the expected size;
    /// - instead of the chunk that completes the content, if the digest differs;
    /// - at the end of the inner stream, if fewer bytes came.
    ///
    /// The error type `E` of the inner stream must be able to hold a [`VerifyError`], so the
    /// adapter fits into a caller's own error type (`std::io::Error` does).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use bytes::Bytes;
    /// use futures_util::{StreamExt, stream};
    /// use oci_digest::{VerifyingStream, sha256};
    ///
    /// let chunks = vec![Ok::<_, std::io::Error>(Bytes::from_static(b"hello ")), Ok(Bytes::from_static(b"world"))];
    /// let mut s = VerifyingStream::new(stream::iter(chunks), &sha256(b"hello world"), 11).unwrap();
    /// let mut out = Vec::new();
    /// while let Some(chunk) = s.next().await {
    ///     out.extend_from_slice(&chunk.unwrap());
    /// }
    /// assert_eq!(out, b"hello world");
    /// # });
    /// ```
    #[derive(Debug)]
    pub struct VerifyingStream<S> {
        #[pin]
        inner: S,
        verifier: Verifier,
        ended: bool,
    }
}

impl<S> VerifyingStream<S> {
    /// Wraps `inner`, expecting `size` bytes with digest `digest`.
    ///
    /// # Errors
    ///
    /// [`DigestError::Unsupported`] when the digest's algorithm cannot be computed.
    pub fn new(inner: S, digest: &Digest, size: u64) -> Result<Self, DigestError> {
        Ok(VerifyingStream {
            inner,
            verifier: Verifier::new(digest, size)?,
            ended: false,
        })
    }

    /// The verification state: bytes received, whether the content is verified.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// Unwraps the stream, dropping the verification state.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, E> Stream for VerifyingStream<S>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: From<VerifyError>,
{
    type Item = Result<Bytes, E>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.project();
        if *this.ended {
            return Poll::Ready(None);
        }
        let item = ready!(this.inner.poll_next(cx));
        Poll::Ready(match item {
            Some(Ok(chunk)) => match this.verifier.update(&chunk) {
                Ok(()) => Some(Ok(chunk)),
                Err(e) => {
                    *this.ended = true;
                    Some(Err(e.into()))
                }
            },
            Some(Err(e)) => {
                *this.ended = true;
                Some(Err(e))
            }
            None => {
                *this.ended = true;
                this.verifier.finish().err().map(|e| Err(e.into()))
            }
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.ended {
            (0, Some(0))
        } else {
            self.inner.size_hint()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sha256;
    use futures_util::{StreamExt, stream};

    async fn collect(
        chunks: &[&'static [u8]],
        digest: &Digest,
        size: u64,
    ) -> Vec<Result<Bytes, std::io::Error>> {
        let inner = stream::iter(chunks.iter().map(|c| Ok(Bytes::from_static(c))));
        VerifyingStream::new(inner, digest, size)
            .unwrap()
            .collect()
            .await
    }

    #[tokio::test]
    async fn hands_chunks_on_without_copying() {
        let data = Bytes::from(vec![1u8; 4096]);
        let ptr = data.as_ptr();
        let inner = stream::iter([Ok::<_, std::io::Error>(data.clone())]);
        let mut s = VerifyingStream::new(inner, &sha256(&data), 4096).unwrap();
        let out = s.next().await.unwrap().unwrap();
        assert_eq!(out.as_ptr(), ptr);
        assert!(s.next().await.is_none());
        assert!(s.verifier().is_verified());
    }

    #[tokio::test]
    async fn too_long_stops_at_the_excess_chunk() {
        let items = collect(&[b"abc", b"def", b"ghi"], &sha256(b"abcd"), 4).await;
        assert_eq!(items.len(), 2, "first chunk, then the error, then end");
        assert!(items[0].is_ok());
        let err = items[1].as_ref().unwrap_err();
        assert!(matches!(
            VerifyError::from_io(err),
            Some(VerifyError::TooLong {
                expected: 4,
                received: 6
            })
        ));
    }

    #[tokio::test]
    async fn mismatch_replaces_the_final_chunk() {
        let items = collect(&[b"abc", b"deX"], &sha256(b"abcdef"), 6).await;
        assert_eq!(items.len(), 2);
        assert!(items[0].is_ok());
        assert!(matches!(
            VerifyError::from_io(items[1].as_ref().unwrap_err()),
            Some(VerifyError::DigestMismatch { .. })
        ));
    }

    #[tokio::test]
    async fn short_content_fails_at_end() {
        let items = collect(&[b"abc"], &sha256(b"abcdef"), 6).await;
        assert_eq!(items.len(), 2);
        assert!(matches!(
            VerifyError::from_io(items[1].as_ref().unwrap_err()),
            Some(VerifyError::TooShort {
                expected: 6,
                received: 3
            })
        ));
    }

    #[tokio::test]
    async fn inner_errors_pass_through_and_end_the_stream() {
        let inner = stream::iter(vec![
            Ok(Bytes::from_static(b"ab")),
            Err(std::io::Error::other("connection reset")),
            Ok(Bytes::from_static(b"c")),
        ]);
        let items: Vec<_> = VerifyingStream::new(inner, &sha256(b"abc"), 3)
            .unwrap()
            .collect()
            .await;
        assert_eq!(items.len(), 2);
        assert_eq!(
            items[1].as_ref().unwrap_err().to_string(),
            "connection reset"
        );
    }
}
