//! Referrers: the distribution-spec v1.1 API, and the tag-scheme fallback.
//!
//! A registry with the API answers `GET /v2/<name>/referrers/<digest>` with an index; one without
//! answers 404, and then referrers live in an index tagged `<alg>-<encoded>` that clients keep up
//! to date themselves. Which one a repository speaks is found once and remembered. After pushing a
//! manifest with a `subject` to a registry that did not answer with an `OCI-Subject` header, the
//! fallback index is read, merged and pushed back, one writer per subject at a time; deleting a
//! manifest removes its entry.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use oci_digest::Digest;
use oci_spec_types::distribution::{ReferrersIndex, fallback_tag};
use oci_spec_types::{Descriptor, MediaType, media_types};
use oci_target::graph;
use oci_target::{Error, ErrorKind, Result};
use reqwest::header::ACCEPT;
use reqwest::{Method, StatusCode};

use crate::errors::from_response;
use crate::repository::Repository;

/// (registry, repository, subject): the key of one fallback index.
type SubjectKey = (String, String, Digest);

/// What is known of each repository's referrers support, and the per-subject locks of fallback
/// writers. Shared by all repositories of a client.
#[derive(Debug, Default)]
pub(crate) struct ReferrersState {
    /// (registry, repository) → the API is served.
    api: Mutex<HashMap<(String, String), bool>>,
    /// (registry, repository, subject) → lock held while its fallback index is rewritten.
    locks: Mutex<HashMap<SubjectKey, Arc<tokio::sync::Mutex<()>>>>,
}

impl Repository {
    fn referrers_key(&self) -> (String, String) {
        (self.registry.clone(), self.name.clone())
    }

    /// Whether the registry serves the referrers API for this repository, if known.
    pub fn referrers_api_known(&self) -> Option<bool> {
        held(&self.inner.referrers.api)
            .get(&self.referrers_key())
            .copied()
    }

    fn remember_api(&self, served: bool) {
        held(&self.inner.referrers.api).insert(self.referrers_key(), served);
    }

    /// Lists the referrers of `subject`, by the API where served, else from the fallback tag.
    pub(crate) async fn list_referrers(
        &self,
        subject: &Descriptor,
        artifact_type: Option<&MediaType>,
    ) -> Result<Vec<Descriptor>> {
        if self.referrers_api_known() != Some(false) {
            match self.referrers_by_api(subject, artifact_type).await? {
                Some(found) => {
                    self.remember_api(true);
                    return Ok(found);
                }
                None => self.remember_api(false),
            }
        }
        let mut found = self
            .fallback_index(&subject.digest)
            .await?
            .unwrap_or_default();
        if let Some(t) = artifact_type {
            found.retain(|d| d.artifact_type.as_ref() == Some(t));
        }
        Ok(found)
    }

    /// `None` when the registry does not serve the API.
    async fn referrers_by_api(
        &self,
        subject: &Descriptor,
        artifact_type: Option<&MediaType>,
    ) -> Result<Option<Vec<Descriptor>>> {
        let what = format!(
            "list referrers of {} in {}/{}",
            subject.digest, self.registry, self.name
        );
        let mut url = self.url(&format!("referrers/{}", subject.digest))?;
        if let Some(t) = artifact_type {
            url.query_pairs_mut()
                .append_pair("artifactType", t.as_str());
        }
        let mut out = Vec::new();
        let mut next = Some(url);
        let mut pages = 0usize;
        let mut budget = crate::listing::Budget::new(&self.inner.config.limits, &what);
        while let Some(url) = next.take() {
            if !budget.page(&url)? {
                break;
            }
            pages += 1;
            let response = self
                .inner
                .send(
                    self.call(&what, self.pull_scopes(), Method::GET, url.clone())
                        .header(ACCEPT, media_types::IMAGE_INDEX),
                )
                .await?;
            match response.status() {
                StatusCode::NOT_FOUND if pages == 1 => return Ok(None),
                s if s.is_success() => {}
                _ => return Err(from_response(&what, response).await),
            }
            let filtered = response
                .headers()
                .get("oci-filters-applied")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.split(',').any(|f| f.trim() == "artifactType"));
            next = crate::listing::next_page(&response, &url, &self.registry, &what)?;
            let body = crate::repository::read_limited(
                response,
                "listing-bytes",
                budget.bytes_left(),
                &what,
            )
            .await?;
            let page = ReferrersIndex::from_slice(&body).map_err(|e| {
                Error::new(
                    ErrorKind::InvalidManifest,
                    format!("{what}: the answer is not an index: {e}"),
                )
            })?;
            budget.add(body.len(), page.manifests.len())?;
            let mut manifests = page.manifests;
            if let Some(t) = artifact_type
                && !filtered
            {
                manifests.retain(|d| d.artifact_type.as_ref() == Some(t));
            }
            out.extend(manifests);
        }
        Ok(Some(out))
    }

    /// The referrers listed in the fallback index of `subject`; `None` when there is none, or the
    /// tag holds something that is not an index.
    async fn fallback_index(&self, subject: &Digest) -> Result<Option<Vec<Descriptor>>> {
        let tag = fallback_tag(subject);
        let body = match self.fetch_manifest_ref(&tag).await {
            Ok((desc, body)) if desc.media_type == media_types::IMAGE_INDEX => body,
            Ok(_) => return Ok(None),
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e)
                if e.kind() == ErrorKind::InvalidManifest
                    || e.kind() == ErrorKind::InvalidMediaType =>
            {
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        match ReferrersIndex::from_slice(&body) {
            Ok(doc) if doc.is_oci_index() => Ok(Some(doc.manifests)),
            _ => Ok(None),
        }
    }

    fn subject_lock(&self, subject: &Digest) -> Arc<tokio::sync::Mutex<()>> {
        held(&self.inner.referrers.locks)
            .entry((self.registry.clone(), self.name.clone(), subject.clone()))
            .or_default()
            .clone()
    }

    /// After pushing `desc` (whose bytes are `body`) without an `OCI-Subject` answer: records it
    /// in its subject's fallback index, if it has a subject.
    pub(crate) async fn index_referrer(&self, desc: &Descriptor, body: &Bytes) -> Result<()> {
        let Ok(links) = graph::links(desc, body) else {
            return Ok(());
        };
        let Some(subject) = &links.subject else {
            return Ok(());
        };
        let entry = links.referrer_descriptor(desc);
        self.rewrite_fallback(&subject.digest, |list| {
            if list.iter().any(|d| d.digest == entry.digest) {
                return false;
            }
            list.push(entry.clone());
            true
        })
        .await
    }

    /// Before deleting `desc`: removes it from its subject's fallback index.
    pub(crate) async fn unindex_referrer(&self, desc: &Descriptor, body: &Bytes) -> Result<()> {
        let Ok(links) = graph::links(desc, body) else {
            return Ok(());
        };
        let Some(subject) = &links.subject else {
            return Ok(());
        };
        self.rewrite_fallback(&subject.digest, |list| {
            let before = list.len();
            list.retain(|d| d.digest != desc.digest);
            list.len() != before
        })
        .await
    }

    /// Reads, changes and writes back the fallback index of `subject`, one writer at a time.
    async fn rewrite_fallback(
        &self,
        subject: &Digest,
        change: impl FnOnce(&mut Vec<Descriptor>) -> bool,
    ) -> Result<()> {
        let lock = self.subject_lock(subject);
        let _held = lock.lock().await;
        let mut list = self.fallback_index(subject).await?.unwrap_or_default();
        if !change(&mut list) {
            return Ok(());
        }
        let doc = oci_spec_types::ImageIndex::new(list).to_document()?;
        let desc = doc.descriptor(MediaType::image_index());
        self.put_manifest_raw(&desc, doc.bytes().clone(), &fallback_tag(subject))
            .await
            .map(|_| ())
    }
}

/// True when a manifest push answer says the registry indexed the subject itself.
pub(crate) fn subject_indexed(response_headers: &reqwest::header::HeaderMap) -> bool {
    response_headers.contains_key("oci-subject")
}

/// The guarded state, whether or not a holder panicked: every change to it is one insert.
fn held<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
