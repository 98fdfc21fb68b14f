//! A store in memory.
//!
//! For tests, caches and staging: everything a store can do (tags, referrers, delete), safe to
//! share between tasks. Content is kept as `Bytes`, so fetches hand out the stored buffer without
//! copying it, still through a verifying stream.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use oci_digest::{Digest, Verifier, VerifyingStream};
use oci_spec_types::{Descriptor, MediaType};

use crate::graph::{self, is_manifest};
use crate::tag::{RefKind, parse_ref};
use crate::{BlobStream, Error, ErrorKind, ReadOnlyTarget, Result, Target, Unhashed};
use oci_spec_types::distribution::check_tag;

/// A store in memory. Cloning gives another handle to the same store.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    inner: Arc<RwLock<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    content: HashMap<Digest, Entry>,
    tags: BTreeMap<String, Descriptor>,
    /// subject digest → referrer digest → the referrer's listing descriptor.
    referrers: HashMap<Digest, BTreeMap<Digest, Descriptor>>,
}

#[derive(Debug, Clone)]
struct Entry {
    desc: Descriptor,
    data: Bytes,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many pieces of content (blobs and manifests) the store holds.
    pub fn len(&self) -> usize {
        self.read().content.len()
    }

    /// True when the store holds no content.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The descriptors of all content held, sorted by digest.
    pub fn descriptors(&self) -> Vec<Descriptor> {
        let inner = self.read();
        let mut out: Vec<_> = inner.content.values().map(|e| e.desc.clone()).collect();
        out.sort_by(|a, b| a.digest.cmp(&b.digest));
        out
    }

    /// Replaces the stored bytes of `digest` with `data` without checking them, to test that
    /// readers refuse corrupted content. Returns false when the store does not hold `digest`.
    #[cfg(feature = "conformance")]
    pub fn corrupt(&self, digest: &Digest, data: Bytes) -> bool {
        let mut inner = self.write();
        match inner.content.get_mut(digest) {
            Some(e) => {
                e.data = data;
                true
            }
            None => false,
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the maps half-updated (each update is one
        // insert or remove), so a poisoned lock is still sound to use.
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }
}

fn not_found(desc: &Descriptor) -> Error {
    Error::not_found(format!(
        "{} ({}) is not in the store",
        desc.digest, desc.media_type
    ))
}

#[async_trait]
impl ReadOnlyTarget for MemoryStore {
    async fn fetch(&self, desc: &Descriptor) -> Result<BlobStream> {
        Ok(self.fetch_verified(desc).await?.into_stream())
    }

    async fn fetch_verified(&self, desc: &Descriptor) -> Result<crate::Verified> {
        let data = self
            .read()
            .content
            .get(&desc.digest)
            .map(|e| e.data.clone())
            .ok_or_else(|| not_found(desc))?;
        crate::Verified::new(desc, crate::ext::bytes_stream(data))
    }

    async fn exists(&self, desc: &Descriptor) -> Result<bool> {
        Ok(self.read().content.contains_key(&desc.digest))
    }

    async fn describe(&self, digest: &oci_digest::Digest) -> Result<Descriptor> {
        self.read()
            .content
            .get(digest)
            .map(|e| e.desc.clone())
            .ok_or_else(|| Error::not_found(format!("{digest} is not in the store")))
    }

    async fn resolve(&self, reference: &str) -> Result<Descriptor> {
        let inner = self.read();
        match parse_ref(reference)? {
            RefKind::Tag(tag) => inner
                .tags
                .get(&tag)
                .cloned()
                .ok_or_else(|| Error::not_found(format!("tag {tag:?} is not in the store"))),
            RefKind::Digest(d) => inner
                .content
                .get(&d)
                .map(|e| e.desc.clone())
                .ok_or_else(|| Error::not_found(format!("{d} is not in the store"))),
        }
    }

    async fn tags(&self) -> Result<Vec<String>> {
        Ok(self.read().tags.keys().cloned().collect())
    }

    async fn referrers(
        &self,
        subject: &Descriptor,
        artifact_type: Option<&MediaType>,
    ) -> Result<Vec<Descriptor>> {
        let inner = self.read();
        let Some(found) = inner.referrers.get(&subject.digest) else {
            return Ok(Vec::new());
        };
        Ok(found
            .values()
            .filter(|d| artifact_type.is_none_or(|t| d.artifact_type.as_ref() == Some(t)))
            .cloned()
            .collect())
    }
}

#[async_trait]
impl Target for MemoryStore {
    async fn push(&self, desc: &Descriptor, content: BlobStream) -> Result<()> {
        // Refuse unverifiable digests before reading anything.
        Verifier::new(&desc.digest, desc.size)?;
        if self.read().content.contains_key(&desc.digest) {
            // Already held: drain nothing, store nothing.
            return Ok(());
        }
        let mut stream = VerifyingStream::new(content, &desc.digest, desc.size)?;
        // Size the buffer from the descriptor, but not blindly: a hostile size must not allocate.
        let mut buf = BytesMut::with_capacity(desc.size.min(16 << 20) as usize);
        while let Some(chunk) = stream.next().await {
            buf.extend_from_slice(&chunk?);
        }
        let data = buf.freeze();
        let links = if is_manifest(&desc.media_type) {
            Some(graph::links(desc, &data)?)
        } else {
            None
        };
        let mut inner = self.write();
        if let Some(subject) = links.as_ref().and_then(|l| l.subject.as_ref()) {
            let listing = links.as_ref().expect("links").referrer_descriptor(desc);
            inner
                .referrers
                .entry(subject.digest.clone())
                .or_default()
                .insert(desc.digest.clone(), listing);
        }
        let stored = Descriptor::new(desc.media_type.clone(), desc.digest.clone(), desc.size);
        inner
            .content
            .entry(desc.digest.clone())
            .or_insert(Entry { desc: stored, data });
        Ok(())
    }

    async fn push_stream(&self, new: &Unhashed, content: BlobStream) -> Result<Descriptor> {
        let (mut stream, hashed) = crate::hashing_stream(content, new.algorithm, new.size);
        let mut buf = BytesMut::new();
        while let Some(chunk) = stream.next().await {
            buf.extend_from_slice(&chunk?);
        }
        let (digest, len) = hashed.finish()?;
        let desc = Descriptor::new(new.media_type.clone(), digest, len);
        self.push(&desc, crate::bytes_stream(buf.freeze())).await?;
        Ok(desc)
    }

    async fn tag(&self, desc: &Descriptor, reference: &str) -> Result<()> {
        check_tag(reference)?;
        let mut inner = self.write();
        if !inner.content.contains_key(&desc.digest) {
            return Err(not_found(desc).context(format!("cannot tag {reference:?}")));
        }
        inner.tags.insert(reference.to_owned(), desc.clone());
        Ok(())
    }

    async fn delete(&self, desc: &Descriptor) -> Result<()> {
        let mut inner = self.write();
        let entry = inner
            .content
            .remove(&desc.digest)
            .ok_or_else(|| not_found(desc))?;
        inner.tags.retain(|_, d| d.digest != desc.digest);
        let subject = is_manifest(&entry.desc.media_type)
            .then(|| graph::links(&entry.desc, &entry.data).ok())
            .flatten()
            .and_then(|links| links.subject);
        if let Some(subject) = subject
            && let Some(list) = inner.referrers.get_mut(&subject.digest)
        {
            list.remove(&desc.digest);
            if list.is_empty() {
                inner.referrers.remove(&subject.digest);
            }
        }
        Ok(())
    }

    async fn untag(&self, reference: &str) -> Result<()> {
        check_tag(reference)?;
        self.write()
            .tags
            .remove(reference)
            .map(|_| ())
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::NotFound,
                    format!("tag {reference:?} is not in the store"),
                )
            })
    }

    fn writes_locally(&self) -> bool {
        true
    }
}
