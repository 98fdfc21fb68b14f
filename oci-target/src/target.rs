//! The traits every store implements.
//!
//! A store is anything that holds content addressed by digest and names some of it by tag: a
//! registry repository, an OCI image-layout directory, memory. Code written against these traits
//! (the copy engine, a CLI) works with any of them, picked at run time as `Arc<dyn Target>`.
//!
//! Manifests and blobs go through the same calls: a manifest is content whose media type says it
//! is one, fetched and pushed as raw bytes so its digest is always of the bytes the store holds.

use std::pin::Pin;

use async_trait::async_trait;
use bytes::Bytes;
use futures_core::Stream;
use oci_spec_types::{Descriptor, MediaType};

use crate::{Error, Result, Unhashed, Verified};

/// A stream of content. Streams returned by [`ReadOnlyTarget::fetch`] are verified: read to the
/// end, they have yielded exactly the descriptor's bytes or an error.
pub type BlobStream = Pin<Box<dyn Stream<Item = Result<Bytes>> + Send + 'static>>;

/// Content not opened yet: a future that opens it, checked against what it is pushed as,
/// awaited only if the content must be read.
pub type OpenContent<'a> = Pin<Box<dyn std::future::Future<Output = Result<Verified>> + Send + 'a>>;

/// The read half of a store.
#[async_trait]
pub trait ReadOnlyTarget: Send + Sync + std::fmt::Debug {
    /// Streams the content `desc` names, verified against its size and digest as it is read.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) when the store does not have it;
    /// [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) for a digest algorithm the store
    /// cannot verify. The stream itself yields
    /// [`ErrorKind::DigestMismatch`](crate::ErrorKind::DigestMismatch) or
    /// [`ErrorKind::SizeMismatch`](crate::ErrorKind::SizeMismatch) when the bytes are wrong.
    async fn fetch(&self, desc: &Descriptor) -> Result<BlobStream>;

    /// [`fetch`](ReadOnlyTarget::fetch), with the check in the type: a store handed the result
    /// for the same descriptor need not hash the content again.
    ///
    /// The default checks what `fetch` hands out, whatever the store does; stores that check
    /// their content themselves return that check instead, so it is hashed once.
    ///
    /// # Errors
    ///
    /// As [`fetch`](ReadOnlyTarget::fetch).
    async fn fetch_verified(&self, desc: &Descriptor) -> Result<Verified> {
        Verified::new(desc, self.fetch(desc).await?)
    }

    /// Whether the store has the content `desc` names.
    async fn exists(&self, desc: &Descriptor) -> Result<bool>;

    /// The descriptor a reference (a tag, or a digest) points at.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) when nothing is tagged so;
    /// [`ErrorKind::InvalidReference`](crate::ErrorKind::InvalidReference) when the string is
    /// neither a tag nor a digest.
    async fn resolve(&self, reference: &str) -> Result<Descriptor>;

    /// Every tag, sorted.
    async fn tags(&self) -> Result<Vec<String>>;

    /// The descriptor of content known by its digest alone: its size, and the media type where
    /// the store knows it (`application/octet-stream` otherwise).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) when the store does not have it;
    /// [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) where the store cannot say (the
    /// default).
    async fn describe(&self, digest: &oci_digest::Digest) -> Result<Descriptor> {
        let _ = digest;
        Err(Error::unsupported(
            "this store cannot describe content by digest",
        ))
    }

    /// The manifests whose `subject` is `subject`, optionally only those of `artifact_type`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) where the store cannot list
    /// referrers (the default).
    async fn referrers(
        &self,
        subject: &Descriptor,
        artifact_type: Option<&MediaType>,
    ) -> Result<Vec<Descriptor>> {
        let _ = (subject, artifact_type);
        Err(Error::unsupported("this store cannot list referrers"))
    }
}

/// The read-write store.
#[async_trait]
pub trait Target: ReadOnlyTarget {
    /// Stores `content` as `desc`, only if it matches `desc`'s size and digest; otherwise an
    /// error, and nothing of it is visible. Pushing what the store already has is not an error.
    ///
    /// Dropping the returned future before it completes leaves nothing visible either.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::DigestMismatch`](crate::ErrorKind::DigestMismatch) or
    /// [`ErrorKind::SizeMismatch`](crate::ErrorKind::SizeMismatch) when the content differs,
    /// and errors of the stream itself as they come.
    async fn push(&self, desc: &Descriptor, content: BlobStream) -> Result<()>;

    /// Pushes `desc` unless the store has it, opening the content (awaiting `open`) only when it
    /// must be sent. `Ok(true)` when content was sent, `Ok(false)` when the store had it and
    /// nothing was read. Content checked against `desc` ([`Verified::is_for`]) need not be
    /// hashed again; other content is checked as `push` checks it.
    ///
    /// The default asks [`exists`](ReadOnlyTarget::exists), then pushes. A store across a
    /// network may answer both in fewer round trips; for small content it may also send without
    /// asking, when asking would cost as much as sending (then `true` even if it had it).
    ///
    /// # Errors
    ///
    /// As [`exists`](ReadOnlyTarget::exists), [`push`](Target::push), and the error of `open`.
    async fn push_absent(&self, desc: &Descriptor, open: OpenContent<'_>) -> Result<bool> {
        if self.exists(desc).await? {
            return Ok(false);
        }
        self.push(desc, open.await?.into_stream()).await?;
        Ok(true)
    }

    /// Stores content whose digest is not known yet, hashing it with `new.algorithm` as it is
    /// stored, and returns its descriptor: the content is read once. With `new.size`, content
    /// of another length is refused. What is stored becomes visible only whole, under the digest
    /// it hashed to.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) where the store cannot (the
    /// default: the caller hashes first, then pushes);
    /// [`ErrorKind::SizeMismatch`](crate::ErrorKind::SizeMismatch) for content of another size
    /// than announced; the store's and the stream's errors.
    async fn push_stream(&self, new: &Unhashed, content: BlobStream) -> Result<Descriptor> {
        let _ = (new, content);
        Err(Error::unsupported(
            "this store cannot hash content as it stores it",
        ))
    }

    /// Points `reference` (a tag) at `desc`, which the store must have. Re-tagging moves the tag.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) when the store does not have `desc`;
    /// [`ErrorKind::InvalidReference`](crate::ErrorKind::InvalidReference) for a bad tag.
    async fn tag(&self, desc: &Descriptor, reference: &str) -> Result<()>;

    /// Pushes a manifest and tags it in one step; stores that can do both at once (a registry's
    /// manifest PUT by tag) override this.
    async fn push_tagged(
        &self,
        desc: &Descriptor,
        content: BlobStream,
        reference: &str,
    ) -> Result<()> {
        self.push(desc, content).await?;
        self.tag(desc, reference).await
    }

    /// Deletes the content `desc` names, and any tag pointing at it.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) when the store does not have it;
    /// [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) where the store cannot delete
    /// (the default).
    async fn delete(&self, desc: &Descriptor) -> Result<()> {
        let _ = desc;
        Err(Error::unsupported("this store cannot delete"))
    }

    /// Removes a tag, keeping the content.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) when there is no such tag;
    /// [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) where the store cannot (the
    /// default).
    async fn untag(&self, reference: &str) -> Result<()> {
        let _ = reference;
        Err(Error::unsupported("this store cannot remove tags"))
    }

    /// Makes `desc` available here by linking it from another repository of the same registry,
    /// without transferring it. Returns `true` when mounted, `false` when the store declined and
    /// the caller should push instead.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) for stores that are not
    /// registries (the default).
    async fn mount(&self, desc: &Descriptor, from_repository: &str) -> Result<bool> {
        let _ = (desc, from_repository);
        Err(Error::unsupported("this store cannot mount"))
    }

    /// Whether storing content here is local work (files, memory) rather than requests to a
    /// service. A copy into such a store counts only the source's requests against its
    /// concurrency: a transfer gives its turn back once the source's answer is read, and its
    /// write (and sync) goes on beside the next requests, a bounded number at once. `false`
    /// (the default) counts every transfer whole.
    fn writes_locally(&self) -> bool {
        false
    }
}
