//! Conveniences over the required calls, for every store at once.

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use oci_digest::Algorithm;
use oci_spec_types::{Descriptor, MAX_MANIFEST_BYTES, MediaType};

use crate::{BlobStream, Error, ErrorKind, ReadOnlyTarget, Result, Target};

/// `stream` checked against `desc` as it is read: it ends with an error unless it yields exactly
/// `desc.size` bytes that hash to `desc.digest`. What every store's `fetch` hands out; a
/// [`Verified`](crate::Verified) keeps the proof of it in its type.
///
/// The hashing runs on the task that reads the stream, not on the one that reads the socket or
/// the file below it (a connection task, a blocking reader). A thread of its own for the hash
/// ([`oci_digest::BackgroundVerifyingStream`]) measured slower on two cores: a 1 GiB pull took
/// 8% longer and 14% more CPU, the handing over costing more than the overlap gained.
///
/// # Errors
///
/// [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) when the digest's algorithm cannot
/// be computed.
pub fn verified_stream(desc: &Descriptor, stream: BlobStream) -> Result<BlobStream> {
    Ok(crate::Verified::new(desc, stream)?.into_stream())
}

/// A [`BlobStream`] over bytes already in memory, in pieces of at most 1 MiB (no data copied).
pub fn bytes_stream(data: Bytes) -> BlobStream {
    const PIECE: usize = 1 << 20;
    let pieces = (0..data.len().div_ceil(PIECE)).map(move |i| {
        let end = ((i + 1) * PIECE).min(data.len());
        Ok(data.slice(i * PIECE..end))
    });
    Box::pin(futures_util::stream::iter(pieces.collect::<Vec<_>>()))
}

/// `stream`, keeping `guard` until the stream ends, fails or is dropped, whichever comes first
/// (a turn given back, a count lowered, once the content is read).
pub(crate) fn holding<G: Send + 'static>(mut stream: BlobStream, guard: G) -> BlobStream {
    let mut guard = Some(guard);
    Box::pin(futures_util::stream::poll_fn(move |cx| {
        let next = stream.as_mut().poll_next(cx);
        if matches!(next, std::task::Poll::Ready(None | Some(Err(_)))) {
            drop(guard.take());
        }
        next
    }))
}

/// Reads a stream to the end into one buffer, refusing more than `max` bytes.
///
/// # Errors
///
/// [`ErrorKind::SizeLimitExceeded`] past `max`, or the stream's own errors.
pub async fn read_to_bytes(mut stream: BlobStream, max: u64) -> Result<Bytes> {
    let mut buf = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if buf.len() as u64 + chunk.len() as u64 > max {
            return Err(Error::new(
                ErrorKind::SizeLimitExceeded,
                format!("content exceeds the limit of {max} bytes"),
            ));
        }
        // Copied, not kept: a piece may be a slice of a much larger read buffer (a file is
        // read in 64 KiB pieces), and holding it would pin the whole buffer for as long as the
        // content lives; a walk holding thousands of small manifests would hold gigabytes.
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// Conveniences for every [`ReadOnlyTarget`].
#[async_trait]
pub trait ReadOnlyTargetExt: ReadOnlyTarget {
    /// Fetches the whole content into memory, refusing content larger than `max` bytes before
    /// any of it is read.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::SizeLimitExceeded`] when `desc.size > max`; otherwise as
    /// [`fetch`](ReadOnlyTarget::fetch).
    async fn fetch_bytes(&self, desc: &Descriptor, max: u64) -> Result<Bytes> {
        if desc.size > max {
            return Err(Error::new(
                ErrorKind::SizeLimitExceeded,
                format!(
                    "{} is {} bytes, over the limit of {max} bytes",
                    desc.digest, desc.size
                ),
            ));
        }
        let stream = self.fetch(desc).await?;
        read_to_bytes(stream, max).await
    }

    /// Fetches a manifest or index whole, capped at [`MAX_MANIFEST_BYTES`].
    async fn fetch_manifest(&self, desc: &Descriptor) -> Result<Bytes> {
        self.fetch_bytes(desc, MAX_MANIFEST_BYTES).await
    }

    /// Resolves `reference` and fetches the manifest it names.
    async fn resolve_manifest(&self, reference: &str) -> Result<(Descriptor, Bytes)> {
        let desc = self.resolve(reference).await?;
        let bytes = self.fetch_manifest(&desc).await?;
        Ok((desc, bytes))
    }
}

impl<T: ReadOnlyTarget + ?Sized> ReadOnlyTargetExt for T {}

/// Conveniences for every [`Target`].
#[async_trait]
pub trait TargetExt: Target {
    /// Pushes bytes already in memory as `desc`.
    async fn push_bytes(&self, desc: &Descriptor, data: Bytes) -> Result<()> {
        self.push(desc, bytes_stream(data)).await
    }

    /// Pushes bytes as content of `media_type`, computing the sha256 descriptor.
    async fn push_content(&self, media_type: MediaType, data: Bytes) -> Result<Descriptor> {
        let desc = Descriptor::new(
            media_type,
            Algorithm::Sha256.digest(&data),
            data.len() as u64,
        );
        self.push_bytes(&desc, data).await?;
        Ok(desc)
    }

    /// Tags `desc` with each of `references`, in order.
    async fn tag_all(&self, desc: &Descriptor, references: &[&str]) -> Result<()> {
        for r in references {
            self.tag(desc, r).await?;
        }
        Ok(())
    }
}

impl<T: Target + ?Sized> TargetExt for T {}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn content_read_whole_does_not_pin_the_buffer_it_was_read_into() {
        // A small manifest read as a slice of a 64 KiB read buffer, as a file stream yields it.
        let buffer = Bytes::from(vec![b'x'; 64 << 10]);
        let piece = buffer.slice(..300);
        drop(buffer);
        let stream: BlobStream = Box::pin(futures_util::stream::iter(vec![Ok(piece.clone())]));
        let whole = read_to_bytes(stream, 1 << 20).await.unwrap();
        assert_eq!(whole, piece);
        assert_ne!(
            whole.as_ptr(),
            piece.as_ptr(),
            "the 64 KiB buffer is still held"
        );
    }
}
