//! Content checked against its descriptor as it is read, with the proof in its type.

use oci_digest::Digest;
use oci_spec_types::Descriptor;

use crate::{BlobStream, Result};

/// A stream of content checked, as it is read, against the digest and size it was opened for:
/// read to its end, it has yielded exactly those bytes, or it ends with an error.
///
/// The only way to make one is [`Verified::new`], which puts the check in place; so a store
/// handed a `Verified` for the descriptor it stores ([`Verified::is_for`]) need not hash the
/// content a second time. It must still keep what it writes out of sight until the stream has
/// ended without an error: the check is decided at the end.
///
/// [`ReadOnlyTarget::fetch_verified`](crate::ReadOnlyTarget::fetch_verified) hands these out,
/// and [`Target::push_absent`](crate::Target::push_absent) takes them: a copy between two
/// stores hashes each blob once.
///
/// ```
/// use bytes::Bytes;
/// use oci_spec_types::{Descriptor, MediaType};
/// use oci_target::{Verified, bytes_stream, read_to_bytes};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let data = Bytes::from_static(b"hello world");
/// let octets = MediaType::parse("application/octet-stream").unwrap();
/// let desc = Descriptor::new(octets, oci_digest::sha256(&data), data.len() as u64);
/// let content = Verified::new(&desc, bytes_stream(data.clone())).unwrap();
/// assert!(content.is_for(&desc));
/// assert_eq!(read_to_bytes(content.into_stream(), 64).await.unwrap(), data);
///
/// let wrong = Verified::new(&desc, bytes_stream(Bytes::from_static(b"hello there"))).unwrap();
/// assert!(read_to_bytes(wrong.into_stream(), 64).await.is_err());
/// # });
/// ```
pub struct Verified {
    stream: BlobStream,
    digest: Digest,
    size: u64,
}

impl Verified {
    /// `stream`, checked against `desc`'s digest and size as it is read.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) when the digest's algorithm
    /// cannot be computed.
    pub fn new(desc: &Descriptor, stream: BlobStream) -> Result<Self> {
        let checked = oci_digest::VerifyingStream::new(stream, &desc.digest, desc.size)?;
        Ok(Verified {
            stream: Box::pin(checked),
            digest: desc.digest.clone(),
            size: desc.size,
        })
    }

    /// Whether this content is being checked against `desc`: the same digest and size.
    pub fn is_for(&self, desc: &Descriptor) -> bool {
        self.digest == desc.digest && self.size == desc.size
    }

    /// The digest the content is checked against.
    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    /// The size the content is checked against.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The checked stream.
    pub fn into_stream(self) -> BlobStream {
        self.stream
    }

    /// The checked stream wrapped by `wrap`, which must hand every item on as it came (a
    /// progress count, a turn held until the end): crate-internal, so no wrapper can alter what
    /// was checked.
    pub(crate) fn wrapped(self, wrap: impl FnOnce(BlobStream) -> BlobStream) -> Self {
        Verified {
            stream: wrap(self.stream),
            digest: self.digest,
            size: self.size,
        }
    }
}

impl std::fmt::Debug for Verified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verified")
            .field("digest", &self.digest)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}
