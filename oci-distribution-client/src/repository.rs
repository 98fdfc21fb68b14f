//! One repository of a registry, as a store.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use oci_digest::{Digest, VerifyingStream};
use oci_spec_types::distribution::{self, TagList, check_tag};
use oci_spec_types::{Descriptor, MediaType};
use oci_target::graph::is_manifest;
use oci_target::{
    BlobStream, Error, ErrorKind, OpenContent, ReadOnlyTarget, Result, Target, Unhashed, Verified,
    bytes_stream, parse_ref, read_to_bytes,
};
use reqwest::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE};
use reqwest::{Method, Response, StatusCode, Url};

use crate::auth::Scopes;
use crate::client::bad_url;
use crate::errors::from_response;
use crate::http::{Call, CallBody, Inner};

const DOCKER_CONTENT_DIGEST: &str = "docker-content-digest";

/// A repository of a registry: a [`Target`] over the distribution API.
#[derive(Debug, Clone)]
pub struct Repository {
    pub(crate) inner: Arc<Inner>,
    pub(crate) registry: String,
    pub(crate) name: String,
    pull: Scopes,
    push: Scopes,
}

impl Repository {
    /// The repository a reference string names (`host[:port]/name[:tag][@digest]`), with a
    /// client of its own built from `config`. The host is written once: to speak plain HTTP to
    /// it, mark it in `config` (or use [`ClientConfig::with_plain_http_all`]).
    ///
    /// ```
    /// use oci_distribution_client::{ClientConfig, Repository};
    /// let config = ClientConfig::default().with_plain_http("localhost:5000");
    /// let repo = Repository::from_reference("localhost:5000/demo/app:v1", &config).unwrap();
    /// assert_eq!(repo.name(), "demo/app");
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidReference`] for a string that is not a reference; as
    /// [`Client::new`](crate::Client::new).
    pub fn from_reference(reference: &str, config: &crate::ClientConfig) -> Result<Self> {
        let parsed = oci_spec_types::Reference::parse(reference).map_err(|e| {
            Error::new(
                ErrorKind::InvalidReference,
                format!("{reference:?} is not a reference: {e}"),
            )
        })?;
        crate::Client::new(config.clone())?.repository_for(&parsed)
    }

    pub(crate) fn new(inner: Arc<Inner>, registry: String, name: &str) -> Self {
        Repository {
            inner,
            pull: Scopes::repository(name, "pull"),
            push: Scopes::repository(name, "pull,push"),
            registry,
            name: name.to_owned(),
        }
    }

    /// The registry host (`host[:port]`).
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The repository name, such as `library/ubuntu`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// One request to this repository's registry: `what` names it in errors.
    pub(crate) fn call<'a>(
        &'a self,
        what: &'a str,
        scopes: &'a Scopes,
        method: Method,
        url: Url,
    ) -> Call<'a> {
        Call::new(what, &self.registry, scopes, method, url)
    }

    pub(crate) fn url(&self, path: &str) -> Result<Url> {
        self.inner
            .api_base(&self.registry)?
            .join(&format!("{}/{path}", self.name))
            .map_err(bad_url)
    }

    pub(crate) fn pull_scopes(&self) -> &Scopes {
        &self.pull
    }

    pub(crate) fn push_scopes(&self) -> &Scopes {
        &self.push
    }

    fn endpoint(desc: &Descriptor) -> &'static str {
        if is_manifest(&desc.media_type) {
            "manifests"
        } else {
            "blobs"
        }
    }

    fn what(&self, verb: &str, reference: &str) -> String {
        let sep = if reference.contains(':') { '@' } else { ':' };
        format!("{verb} {}/{}{sep}{reference}", self.registry, self.name)
    }

    /// Fetches a manifest by tag or digest, whole, checked: against the digest asked for, the
    /// `Docker-Content-Digest` header, the size cap, and the `mediaType` in the body against the
    /// `Content-Type` served.
    pub async fn fetch_manifest_ref(&self, reference: &str) -> Result<(Descriptor, Bytes)> {
        let what = self.what("fetch manifest", reference);
        let requested = match parse_ref(reference)? {
            oci_target::RefKind::Digest(d) => Some(d),
            oci_target::RefKind::Tag(_) => None,
        };
        let url = self.url(&format!("manifests/{reference}"))?;
        // A body cut short is asked for again, as many times as the retry policy allows.
        let mut cuts = 0u32;
        let (served_digest, content_type, body) = loop {
            let response = self
                .inner
                .send(
                    self.call(&what, &self.pull, Method::GET, url.clone())
                        .header(ACCEPT, distribution::MANIFEST_ACCEPT),
                )
                .await?;
            if !response.status().is_success() {
                return Err(from_response(&what, response).await);
            }
            let served_digest = header_digest(&response, &what)?;
            let content_type = response
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            match read_capped(response, self.inner.config.limits.manifest_bytes, &what).await {
                Ok(body) => break (served_digest, content_type, body),
                Err(e)
                    if matches!(e.kind(), ErrorKind::Transport | ErrorKind::Cancelled)
                        && cuts < self.inner.config.retry.max_retries =>
                {
                    cuts += 1;
                    tracing::debug!(what, cuts, error = %e, "manifest body cut short; asking again");
                }
                Err(e) => return Err(e),
            }
        };
        let algorithm = requested
            .as_ref()
            .or(served_digest.as_ref())
            .map(|d| d.hash_algorithm())
            .transpose()?
            .unwrap_or_default();
        let digest = algorithm.digest(&body);
        for (source, expected) in [
            ("the digest asked for", &requested),
            ("Docker-Content-Digest", &served_digest),
        ] {
            if let Some(expected) = expected
                && *expected != digest
            {
                return Err(Error::new(
                    ErrorKind::DigestMismatch,
                    format!("{what}: the body hashes to {digest}, but {source} is {expected}"),
                ));
            }
        }
        let media_type = check_media_type(&what, &body, content_type.as_deref())?;
        Ok((Descriptor::new(media_type, digest, body.len() as u64), body))
    }

    /// The descriptor of a blob known only by digest (`HEAD /v2/<name>/blobs/<digest>`): its
    /// size from `Content-Length`, media type `application/octet-stream` (registries keep none).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`] when the repository lacks it; the registry's errors.
    pub async fn stat_blob(&self, digest: &Digest) -> Result<Descriptor> {
        let what = self.what("check", digest.as_str());
        let Some(response) = self.head("blobs", digest.as_str(), &self.pull).await? else {
            // A HEAD answer has no body: GET for the registry's code (BLOB_UNKNOWN) and message.
            let desc = Descriptor::new(MediaType::octet_stream(), digest.clone(), 0);
            return match self.get_blob(&desc, None).await {
                Err(e) => Err(e),
                Ok(_) => Err(Error::not_found(format!("{what}: no such blob")).with_status(404)),
            };
        };
        let size = content_length(&response).ok_or_else(|| {
            Error::new(
                ErrorKind::Transport,
                format!("{what}: the registry gave no Content-Length"),
            )
        })?;
        Ok(Descriptor::new(
            MediaType::octet_stream(),
            digest.clone(),
            size,
        ))
    }

    async fn fetch_manifest_desc(&self, desc: &Descriptor) -> Result<Verified> {
        if desc.size > self.inner.config.limits.manifest_bytes {
            return Err(Error::new(
                ErrorKind::SizeLimitExceeded,
                format!(
                    "manifest {} is {} bytes, over the limit of {} bytes",
                    desc.digest, desc.size, self.inner.config.limits.manifest_bytes
                ),
            ));
        }
        let (_, body) = self.fetch_manifest_ref(desc.digest.as_str()).await?;
        // The digest matched; the size must too.
        Verified::new(desc, bytes_stream(body))
    }

    async fn fetch_blob(&self, desc: &Descriptor) -> Result<Verified> {
        desc.digest.hash_algorithm()?;
        let stream = self.resumable_blob(desc).await?;
        Verified::new(desc, stream)
    }

    async fn push_manifest(
        &self,
        desc: &Descriptor,
        content: BlobStream,
        reference: &str,
    ) -> Result<()> {
        let what = self.what("push manifest", reference);
        if desc.size > self.inner.config.limits.manifest_bytes {
            return Err(Error::new(
                ErrorKind::SizeLimitExceeded,
                format!(
                    "{what}: {} bytes, over the limit of {} bytes",
                    desc.size, self.inner.config.limits.manifest_bytes
                ),
            ));
        }
        let verified = VerifyingStream::new(content, &desc.digest, desc.size)?;
        let body = read_to_bytes(Box::pin(verified), desc.size).await?;
        self.put_manifest(desc, body, reference).await
    }

    /// PUTs a manifest and, unless the registry says it indexed the subject itself, records it
    /// in its subject's fallback referrers index.
    pub(crate) async fn put_manifest(
        &self,
        desc: &Descriptor,
        body: Bytes,
        reference: &str,
    ) -> Result<()> {
        let indexed = self.put_manifest_raw(desc, body.clone(), reference).await?;
        if !indexed {
            self.index_referrer(desc, &body).await?;
        }
        Ok(())
    }

    /// PUTs a manifest, checking the digest the registry says it stored. Returns whether the
    /// registry answered with `OCI-Subject` (it indexed the subject itself).
    pub(crate) async fn put_manifest_raw(
        &self,
        desc: &Descriptor,
        body: Bytes,
        reference: &str,
    ) -> Result<bool> {
        let what = self.what("push manifest", reference);
        let url = self.url(&format!("manifests/{reference}"))?;
        let call = self
            .call(&what, &self.push, Method::PUT, url)
            .header(CONTENT_TYPE, desc.media_type.as_str())
            .body(CallBody::Bytes(body));
        let response = self.inner.send(call).await?;
        if !response.status().is_success() {
            return Err(from_response(&what, response).await);
        }
        if let Some(served) = header_digest(&response, &what)?
            && served.algorithm() == desc.digest.algorithm()
            && served != desc.digest
        {
            return Err(Error::new(
                ErrorKind::DigestMismatch,
                format!("{what}: the registry stored {served}, not {}", desc.digest),
            ));
        }
        Ok(crate::referrers::subject_indexed(response.headers()))
    }

    async fn head(
        &self,
        endpoint: &str,
        reference: &str,
        scopes: &Scopes,
    ) -> Result<Option<Response>> {
        let what = self.what("check", reference);
        let url = self.url(&format!("{endpoint}/{reference}"))?;
        let response = self
            .inner
            .send(
                self.call(&what, scopes, Method::HEAD, url)
                    .header(ACCEPT, distribution::MANIFEST_ACCEPT),
            )
            .await?;
        match response.status() {
            s if s.is_success() => Ok(Some(response)),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(from_response(&what, response).await),
        }
    }
}

/// Reads a response body whole, refusing more than `max` bytes (by `Content-Length` up front,
/// and by counting as it arrives).
pub(crate) async fn read_capped(response: Response, max: u64, what: &str) -> Result<Bytes> {
    read_limited(response, "manifest-bytes", max, what).await
}

/// Reads a response body whole, refusing more than `max` bytes (the value of the limit called
/// `limit`) before more is read: by its `Content-Length` when it gives one, else as it streams.
///
/// # Errors
///
/// [`ErrorKind::SizeLimitExceeded`] naming the limit; transport errors.
pub(crate) async fn read_limited(
    response: Response,
    limit: &'static str,
    max: u64,
    what: &str,
) -> Result<Bytes> {
    if let Some(len) = content_length(&response)
        && len > max
    {
        return Err(Error::limit_exceeded(
            limit,
            max,
            format_args!("{what} ({len} bytes)"),
        ));
    }
    let mut buf = BytesMut::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| crate::errors::transport(what, e))?;
        if buf.len() as u64 + chunk.len() as u64 > max {
            return Err(Error::limit_exceeded(limit, max, what));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// Reads a JSON body already read whole; a body that does not parse is an error of `kind`,
/// said by `describe`.
pub(crate) fn decode_json<T: serde::de::DeserializeOwned>(
    body: &[u8],
    kind: ErrorKind,
    describe: impl FnOnce(serde_json::Error) -> String,
) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| Error::new(kind, describe(e)))
}

fn content_length(response: &Response) -> Option<u64> {
    response
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

/// The `Docker-Content-Digest` header, parsed, when present.
pub(crate) fn header_digest(response: &Response, what: &str) -> Result<Option<Digest>> {
    let Some(value) = response.headers().get(DOCKER_CONTENT_DIGEST) else {
        return Ok(None);
    };
    let text = value.to_str().map_err(|_| {
        Error::new(
            ErrorKind::InvalidDigest,
            format!("{what}: Docker-Content-Digest is not text"),
        )
    })?;
    Digest::parse(text.trim()).map(Some).map_err(|e| {
        Error::new(
            ErrorKind::InvalidDigest,
            format!("{what}: Docker-Content-Digest: {e}"),
        )
    })
}

/// The media type of a manifest body, checked against the `Content-Type` it was served with.
fn check_media_type(what: &str, body: &[u8], content_type: Option<&str>) -> Result<MediaType> {
    #[derive(serde::Deserialize)]
    struct Head {
        #[serde(rename = "mediaType", default)]
        media_type: Option<String>,
    }
    let head: Head = serde_json::from_slice(body).map_err(|e| {
        Error::new(
            ErrorKind::InvalidManifest,
            format!("{what}: the manifest is not JSON: {e}"),
        )
    })?;
    let served = content_type
        .map(|c| c.split(';').next().unwrap_or("").trim().to_owned())
        .filter(|c| !c.is_empty());
    match (head.media_type, served) {
        (Some(inside), Some(served)) if inside != served => Err(Error::new(
            ErrorKind::InvalidMediaType,
            format!("{what}: served as {served} but its mediaType is {inside}"),
        )),
        (Some(inside), _) => Ok(MediaType::parse(&inside)?),
        (None, Some(served)) => Ok(MediaType::parse(&served)?),
        (None, None) => Err(Error::new(
            ErrorKind::InvalidMediaType,
            format!("{what}: neither a mediaType nor a Content-Type says what this manifest is"),
        )),
    }
}

/// Checks a repository name by the distribution grammar.
pub(crate) fn check_repository_name(name: &str) -> Result<()> {
    oci_spec_types::check_repository(name).map_err(|e| {
        Error::new(
            ErrorKind::InvalidReference,
            format!("invalid repository name: {e}"),
        )
    })
}

#[async_trait]
impl ReadOnlyTarget for Repository {
    #[tracing::instrument(level = "debug", name = "registry.fetch", skip_all, fields(registry = %self.registry, repository = %self.name, digest = %desc.digest, size = desc.size))]
    async fn fetch(&self, desc: &Descriptor) -> Result<BlobStream> {
        Ok(self.fetch_verified(desc).await?.into_stream())
    }

    async fn fetch_verified(&self, desc: &Descriptor) -> Result<Verified> {
        if is_manifest(&desc.media_type) {
            self.fetch_manifest_desc(desc).await
        } else {
            self.fetch_blob(desc).await
        }
    }

    #[tracing::instrument(level = "debug", name = "registry.exists", skip_all, fields(registry = %self.registry, repository = %self.name, digest = %desc.digest))]
    async fn exists(&self, desc: &Descriptor) -> Result<bool> {
        Ok(self
            .head(Self::endpoint(desc), desc.digest.as_str(), &self.pull)
            .await?
            .is_some())
    }

    async fn describe(&self, digest: &Digest) -> Result<Descriptor> {
        match self.stat_blob(digest).await {
            // A manifest lives under /manifests/: a registry may not serve it as a blob.
            Err(e) if e.is_not_found() => match self.resolve(digest.as_str()).await {
                Ok(desc) => Ok(desc),
                Err(_) => Err(e),
            },
            other => other,
        }
    }

    #[tracing::instrument(level = "debug", name = "registry.resolve", skip_all, fields(registry = %self.registry, repository = %self.name, reference))]
    async fn resolve(&self, reference: &str) -> Result<Descriptor> {
        let requested = match parse_ref(reference)? {
            oci_target::RefKind::Digest(d) => Some(d),
            oci_target::RefKind::Tag(_) => None,
        };
        let what = self.what("resolve", reference);
        let Some(response) = self.head("manifests", reference, &self.pull).await? else {
            // A HEAD answer has no body: ask again with GET, whose 404 carries the registry's
            // code (MANIFEST_UNKNOWN, NAME_UNKNOWN) and message.
            return Ok(self.fetch_manifest_ref(reference).await?.0);
        };
        let digest = header_digest(&response, &what)?;
        let media_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| MediaType::parse(v.split(';').next().unwrap_or("").trim()).ok());
        let size = content_length(&response);
        match (digest, media_type, size) {
            (Some(d), Some(m), Some(s)) if requested.as_ref().is_none_or(|r| *r == d) => {
                Ok(Descriptor::new(m, d, s))
            }
            // Missing or odd headers: fetch and see for ourselves.
            _ => Ok(self.fetch_manifest_ref(reference).await?.0),
        }
    }

    #[tracing::instrument(level = "debug", name = "registry.tags", skip_all, fields(registry = %self.registry, repository = %self.name))]
    async fn tags(&self) -> Result<Vec<String>> {
        let what = format!("list tags of {}/{}", self.registry, self.name);
        let mut url = self.url("tags/list")?;
        url.set_query(Some("n=1000"));
        let pages: Vec<TagList> = crate::listing::paginate(
            &self.inner,
            &what,
            &self.registry,
            &self.pull,
            url,
            |p: &TagList| p.tags.len(),
        )
        .await?;
        let mut tags: Vec<String> = pages.into_iter().flat_map(|p| p.tags).collect();
        tags.sort();
        tags.dedup();
        Ok(tags)
    }

    async fn referrers(
        &self,
        subject: &Descriptor,
        artifact_type: Option<&MediaType>,
    ) -> Result<Vec<Descriptor>> {
        self.list_referrers(subject, artifact_type).await
    }
}

#[async_trait]
impl Target for Repository {
    #[tracing::instrument(level = "debug", name = "registry.push", skip_all, fields(registry = %self.registry, repository = %self.name, digest = %desc.digest, size = desc.size))]
    async fn push(&self, desc: &Descriptor, content: BlobStream) -> Result<()> {
        desc.digest.hash_algorithm()?;
        if is_manifest(&desc.media_type) {
            self.push_manifest(desc, content, desc.digest.as_str())
                .await
        } else {
            crate::upload::push_blob(self, desc, content).await
        }
    }

    /// Hashed as it is uploaded (`POST`, `PATCH`, `PUT ?digest=`): the content is read once.
    async fn push_stream(&self, new: &Unhashed, content: BlobStream) -> Result<Descriptor> {
        crate::upload::push_unknown(self, new, content).await
    }

    async fn push_absent(&self, desc: &Descriptor, open: OpenContent<'_>) -> Result<bool> {
        if is_manifest(&desc.media_type) {
            if self.exists(desc).await? {
                return Ok(false);
            }
            self.push(desc, open.await?.into_stream()).await?;
            return Ok(true);
        }
        crate::upload::push_absent(self, desc, open).await
    }

    /// One manifest PUT by tag; a blob is pushed, then tagged.
    async fn push_tagged(&self, desc: &Descriptor, body: BlobStream, tag: &str) -> Result<()> {
        check_tag(tag)?;
        if is_manifest(&desc.media_type) {
            self.push_manifest(desc, body, tag).await
        } else {
            self.push(desc, body).await?;
            self.tag(desc, tag).await
        }
    }

    #[tracing::instrument(level = "debug", name = "registry.tag", skip_all, fields(registry = %self.registry, repository = %self.name, digest = %desc.digest, reference))]
    async fn tag(&self, desc: &Descriptor, reference: &str) -> Result<()> {
        check_tag(reference)?;
        let (found, body) = self.fetch_manifest_ref(desc.digest.as_str()).await?;
        self.put_manifest(
            &Descriptor::new(desc.media_type.clone(), found.digest, found.size),
            body,
            reference,
        )
        .await
    }

    #[tracing::instrument(level = "debug", name = "registry.delete", skip_all, fields(registry = %self.registry, repository = %self.name, digest = %desc.digest))]
    async fn delete(&self, desc: &Descriptor) -> Result<()> {
        // A referrer leaves its subject's fallback index too; read it before it is gone.
        let manifest_body =
            if is_manifest(&desc.media_type) && self.referrers_api_known() != Some(true) {
                self.fetch_manifest_ref(desc.digest.as_str())
                    .await
                    .ok()
                    .map(|(_, b)| b)
            } else {
                None
            };
        let what = self.what("delete", desc.digest.as_str());
        let url = self.url(&format!("{}/{}", Self::endpoint(desc), desc.digest))?;
        let scopes = Scopes::repository(&self.name, "delete");
        let mut all = self.push.clone();
        all.extend(&scopes);
        let response = self
            .inner
            .send(self.call(&what, &all, Method::DELETE, url))
            .await?;
        if !response.status().is_success() {
            return Err(from_response(&what, response).await);
        }
        if let Some(body) = manifest_body {
            self.unindex_referrer(desc, &body).await?;
        }
        Ok(())
    }

    async fn untag(&self, reference: &str) -> Result<()> {
        check_tag(reference)?;
        let what = self.what("delete tag", reference);
        let url = self.url(&format!("manifests/{reference}"))?;
        let mut scopes = self.push.clone();
        scopes.extend(&Scopes::repository(&self.name, "delete"));
        let response = self
            .inner
            .send(self.call(&what, &scopes, Method::DELETE, url))
            .await?;
        match response.status() {
            s if s.is_success() => Ok(()),
            // Registries that delete manifests only by digest say so in several ways.
            status @ (StatusCode::METHOD_NOT_ALLOWED | StatusCode::BAD_REQUEST) => {
                let err = from_response(&what, response).await;
                let codes: Vec<&str> = err
                    .registry_errors()
                    .iter()
                    .map(|e| e.code.as_str())
                    .collect();
                Err(Error::new(
                    ErrorKind::Unsupported,
                    format!("{what}: this registry deletes manifests only by digest (it answered {} {})", status.as_u16(), codes.join(",")),
                )
                .with_status(status.as_u16())
                .with_registry_errors(err.registry_errors().to_vec()))
            }
            _ => Err(from_response(&what, response).await),
        }
    }

    #[tracing::instrument(level = "debug", name = "registry.mount", skip_all, fields(registry = %self.registry, repository = %self.name, digest = %desc.digest, from = from_repository))]
    async fn mount(&self, desc: &Descriptor, from_repository: &str) -> Result<bool> {
        crate::upload::mount(self, desc, from_repository).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_names() {
        for ok in ["a", "library/ubuntu", "a-b/c__d/e.f", "a--b", "x0/y1/z2"] {
            check_repository_name(ok).unwrap();
        }
        for bad in [
            "",
            "A",
            "a//b",
            "/a",
            "a/",
            "-a",
            "a-",
            "a..b",
            "a___b",
            "a:b",
            &"a".repeat(256),
        ] {
            assert_eq!(
                check_repository_name(bad).unwrap_err().kind(),
                ErrorKind::InvalidReference,
                "{bad}"
            );
        }
    }

    #[test]
    fn media_type_checks() {
        let body = br#"{"mediaType":"application/vnd.oci.image.manifest.v1+json"}"#;
        assert!(
            check_media_type(
                "x",
                body,
                Some("application/vnd.oci.image.manifest.v1+json")
            )
            .is_ok()
        );
        assert!(check_media_type("x", body, None).is_ok());
        let e = check_media_type("x", body, Some("application/vnd.oci.image.index.v1+json"))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidMediaType);
        assert!(
            check_media_type(
                "x",
                b"{}",
                Some("application/vnd.docker.distribution.manifest.v2+json")
            )
            .is_ok()
        );
        assert!(check_media_type("x", b"{}", None).is_err());
        assert_eq!(
            check_media_type("x", b"<html>", None).unwrap_err().kind(),
            ErrorKind::InvalidManifest
        );
    }
}
