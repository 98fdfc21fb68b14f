//! Finding out what a registry supports by trying it.
//!
//! Registries differ in what they implement of the distribution-spec: the referrers API, chunked
//! and single-request uploads, mounts, pagination, deletes. Documentation is often silent or
//! wrong, so [`Client::probe`] asks the registry itself: it pushes a few small blobs and
//! manifests of its own to a repository, watches the answers, and deletes what it pushed where
//! the registry allows.

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use oci_spec_types::{Descriptor, MediaType};
use oci_target::{Error, ReadOnlyTarget, Result, Target, TargetExt, bytes_stream};
use reqwest::header::{CONTENT_RANGE, CONTENT_TYPE, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode};
use serde::Serialize;

use crate::auth::Challenge;
use crate::client::{Client, api_host};
use crate::errors::from_response;
use crate::repository::Repository;
use crate::upload::{cancel, location, post_mount};

/// What a probe pushed, to delete when the probe is over.
type Cleanup = Vec<(Repository, Descriptor)>;

/// Whether the registry does something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Support {
    /// It does.
    Yes,
    /// It does not.
    No,
    /// The probe could not tell (denied, an error, an answer the spec does not describe).
    Unknown,
}

/// One capability and what the probe found.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Finding {
    /// A stable name: `auth`, `http_version`, `referrers_api`, `chunked_upload`,
    /// `single_post_upload`, `mount_from`, `mount_without_from`, `tag_pagination`,
    /// `manifest_delete`, `blob_delete`.
    pub capability: &'static str,
    /// What was found.
    pub support: Support,
    /// A short account: the status seen, a minimum chunk size, the auth scheme.
    pub detail: String,
}

/// What [`Client::probe`] found.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ProbeReport {
    /// The registry host.
    pub registry: String,
    /// The repository written to.
    pub repository: String,
    /// One finding per capability, in a fixed order.
    pub findings: Vec<Finding>,
    /// True when everything the probe pushed was deleted again.
    pub cleaned_up: bool,
}

impl ProbeReport {
    /// The finding for `capability`, if probed.
    pub fn get(&self, capability: &str) -> Option<&Finding> {
        self.findings.iter().find(|f| f.capability == capability)
    }
}

fn finding(capability: &'static str, support: Support, detail: impl Into<String>) -> Finding {
    Finding {
        capability,
        support,
        detail: detail.into(),
    }
}

fn unknown(capability: &'static str, error: &Error) -> Finding {
    finding(capability, Support::Unknown, error.to_string())
}

/// Bytes no other probe run has pushed.
fn unique_blob(label: &str, len: usize) -> (Descriptor, Bytes) {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let seed = format!("registry probe {label} {nanos} {}", std::process::id());
    let mut data = Vec::with_capacity(len);
    let mut block = oci_digest::sha256(seed.as_bytes())
        .encoded()
        .as_bytes()
        .to_vec();
    while data.len() < len {
        data.extend_from_slice(&block);
        block = oci_digest::sha256(&block).encoded().as_bytes().to_vec();
    }
    data.truncate(len);
    let data = Bytes::from(data);
    let desc = Descriptor::new(
        MediaType::octet_stream(),
        oci_digest::sha256(&data),
        data.len() as u64,
    );
    (desc, data)
}

impl Client {
    /// Probes `registry` (`host[:port]`) by pushing small content of its own to `repository`
    /// (and to `<repository>-probe-src` for the mount tests), then deleting it where deletes
    /// work.
    ///
    /// Each capability gets a [`Finding`]; a refused or failed step is reported as
    /// [`Support::Unknown`] with the reason, not returned as an error.
    ///
    /// # Errors
    ///
    /// Only when the registry cannot be reached at all, or the names are invalid.
    pub async fn probe(&self, registry: &str, repository: &str) -> Result<ProbeReport> {
        let repo = self.repository(registry, repository)?;
        let source = self.repository(registry, &format!("{repository}-probe-src"))?;
        let mut findings = Vec::new();
        findings.extend(self.probe_endpoint(registry).await?);

        let mut cleanup: Vec<(Repository, Descriptor)> = Vec::new();
        findings.push(probe_single_post(&repo, &mut cleanup).await);
        findings.push(probe_chunked(&repo, &mut cleanup).await);
        let (with_from, without_from) = probe_mounts(&repo, &source, &mut cleanup).await;
        findings.push(with_from);
        findings.push(without_from);
        findings.push(probe_blob_redirect(&repo, &mut cleanup).await);

        // A small artifact, tagged three times, for pagination and the referrers API.
        let manifest = push_probe_manifest(&repo).await;
        match &manifest {
            Ok((desc, tags)) => {
                findings.push(probe_referrers(&repo, desc).await);
                findings.push(probe_pagination(&repo, tags).await);
            }
            Err(e) => {
                findings.push(unknown("referrers_api", e));
                findings.push(unknown("tag_pagination", e));
            }
        }

        // Deletes, which are also the clean-up.
        let mut cleaned_up = true;
        match &manifest {
            Ok((desc, _)) => {
                let f = probe_delete(&repo, desc, "manifest_delete").await;
                cleaned_up &= f.support == Support::Yes;
                findings.push(f);
            }
            Err(e) => {
                cleaned_up = false;
                findings.push(unknown("manifest_delete", e));
            }
        }
        let mut blob_finding = None;
        for (owner, desc) in &cleanup {
            let f = probe_delete(owner, desc, "blob_delete").await;
            cleaned_up &= f.support == Support::Yes;
            if blob_finding.is_none() {
                blob_finding = Some(f);
            }
        }
        findings.push(blob_finding.unwrap_or_else(|| {
            finding(
                "blob_delete",
                Support::Unknown,
                "no blob was pushed to try it on",
            )
        }));
        Ok(ProbeReport {
            registry: registry.to_owned(),
            repository: repository.to_owned(),
            findings,
            cleaned_up,
        })
    }

    /// `GET /v2/` without credentials: the auth scheme and the HTTP version.
    async fn probe_endpoint(&self, registry: &str) -> Result<Vec<Finding>> {
        let host = api_host(registry);
        let url = self.inner.api_base(&host)?;
        let response = self
            .inner
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| crate::errors::transport(&format!("reach {host}"), e))?;
        let version = format!("{:?}", response.version());
        let http2 = response.version() == reqwest::Version::HTTP_2;
        let auth = match response
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
        {
            None if response.status().is_success() => {
                finding("auth", Support::No, "none: anonymous access")
            }
            None => finding(
                "auth",
                Support::Unknown,
                format!("HTTP {} without a challenge", response.status().as_u16()),
            ),
            Some(challenge) => {
                let detail = match crate::auth::parse_challenge(challenge) {
                    Ok(Challenge::Basic { realm }) => {
                        format!("Basic realm={:?}", realm.unwrap_or_default())
                    }
                    Ok(Challenge::Bearer { realm, service, .. }) => format!(
                        "Bearer realm={realm:?} service={:?}",
                        service.unwrap_or_default()
                    ),
                    Err(_) => challenge
                        .split_whitespace()
                        .next()
                        .unwrap_or("?")
                        .to_owned(),
                };
                finding("auth", Support::Yes, detail)
            }
        };
        Ok(vec![
            auth,
            finding(
                "http_version",
                if http2 { Support::Yes } else { Support::No },
                format!("{version} (Yes means HTTP/2)"),
            ),
        ])
    }
}

async fn probe_single_post(repo: &Repository, cleanup: &mut Cleanup) -> Finding {
    const NAME: &str = "single_post_upload";
    let (desc, data) = unique_blob("single-post", 1024);
    let what = format!(
        "probe single-POST upload to {}/{}",
        repo.registry, repo.name
    );
    let result = async {
        let mut url = repo.url("blobs/uploads/")?;
        url.query_pairs_mut()
            .append_pair("digest", desc.digest.as_str());
        let response = repo
            .inner
            .send(
                repo.call(&what, repo.push_scopes(), Method::POST, url.clone())
                    .header(CONTENT_TYPE, "application/octet-stream")
                    .bytes(data),
            )
            .await?;
        match response.status() {
            StatusCode::CREATED => Ok(finding(NAME, Support::Yes, "201 Created")),
            StatusCode::ACCEPTED => {
                if let Ok(loc) = location(repo, &what, &url, &response) {
                    cancel(repo, &what, loc).await;
                }
                Ok(finding(
                    NAME,
                    Support::No,
                    "202 Accepted: the registry opened an upload session instead",
                ))
            }
            _ => Err(from_response(&what, response).await),
        }
    }
    .await;
    match result {
        Ok(f) => {
            if f.support == Support::Yes {
                cleanup.push((repo.clone(), desc));
            }
            f
        }
        Err(e) => unknown(NAME, &e),
    }
}

/// Does a blob GET answer with a redirect to another origin (object storage, a CDN)?
async fn probe_blob_redirect(repo: &Repository, cleanup: &mut Cleanup) -> Finding {
    const NAME: &str = "blob_redirect";
    let (desc, data) = unique_blob("redirect", 64);
    if let Err(e) = repo.push_bytes(&desc, data).await {
        return unknown(NAME, &e);
    }
    cleanup.push((repo.clone(), desc.clone()));
    let what = format!("probe {NAME}");
    let url = match repo.url(&format!("blobs/{}", desc.digest)) {
        Ok(u) => u,
        Err(e) => return unknown(NAME, &e),
    };
    let call = repo
        .call(&what, repo.pull_scopes(), Method::GET, url)
        .without_redirects();
    let response = match repo.inner.send(call).await {
        Ok(r) => r,
        Err(e) => return unknown(NAME, &e),
    };
    let status = response.status();
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .and_then(|l| response.url().join(l).ok());
    match location {
        Some(to) if status.is_redirection() => {
            let elsewhere = !crate::http::same_origin(&to, &repo.registry);
            let host = to.host_str().unwrap_or("?").to_owned();
            let host = match to.port() {
                Some(p) => format!("{host}:{p}"),
                None => host,
            };
            finding(
                NAME,
                Support::Yes,
                format!(
                    "{} to {}://{host}{}",
                    status.as_u16(),
                    to.scheme(),
                    if elsewhere { " (another origin)" } else { "" }
                ),
            )
        }
        _ => finding(
            NAME,
            Support::No,
            format!("served directly ({})", status.as_u16()),
        ),
    }
}

async fn probe_chunked(repo: &Repository, cleanup: &mut Cleanup) -> Finding {
    const NAME: &str = "chunked_upload";
    let what = format!("probe chunked upload to {}/{}", repo.registry, repo.name);
    let result: Result<Finding> = async {
        let url = repo.url("blobs/uploads/")?;
        let response = crate::upload::post_uploads(repo, &what, repo.push_scopes(), &url).await?;
        if response.status() != StatusCode::ACCEPTED {
            return Err(from_response(&what, response).await);
        }
        let min: Option<u64> = response
            .headers()
            .get("oci-chunk-min-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let chunk = min.unwrap_or(64 * 1024).clamp(1024, 16 << 20) as usize;
        let (desc, data) = unique_blob("chunked", chunk * 2 + 100);
        let mut loc = location(repo, &what, &url, &response)?;
        let mut offset = 0usize;
        while offset < data.len() {
            let end = (offset + chunk).min(data.len());
            let response = repo
                .inner
                .send(
                    repo.call(&what, repo.push_scopes(), Method::PATCH, loc.clone())
                        .header(CONTENT_TYPE, "application/octet-stream")
                        .header(CONTENT_RANGE, format!("{offset}-{}", end - 1))
                        .bytes(data.slice(offset..end)),
                )
                .await?;
            if response.status() != StatusCode::ACCEPTED {
                cancel(repo, &what, loc).await;
                return Err(from_response(&what, response).await);
            }
            loc = location(repo, &what, &loc, &response)?;
            offset = end;
        }
        let mut put = loc.clone();
        put.query_pairs_mut()
            .append_pair("digest", desc.digest.as_str());
        let response = repo
            .inner
            .send(
                repo.call(&what, repo.push_scopes(), Method::PUT, put)
                    .empty_body(),
            )
            .await?;
        if response.status() != StatusCode::CREATED {
            return Err(from_response(&what, response).await);
        }
        if !repo.exists(&desc).await? {
            return Ok(finding(
                NAME,
                Support::No,
                "the upload completed but the blob is missing",
            ));
        }
        cleanup.push((repo.clone(), desc));
        Ok(finding(
            NAME,
            Support::Yes,
            match min {
                Some(m) => format!("minimum chunk {m} bytes (OCI-Chunk-Min-Length)"),
                None => format!("no minimum chunk announced; {chunk}-byte chunks accepted"),
            },
        ))
    }
    .await;
    result.unwrap_or_else(|e| unknown(NAME, &e))
}

async fn try_mount(repo: &Repository, desc: &Descriptor, from: Option<&str>) -> Result<Support> {
    let what = format!(
        "probe mount of {} into {}/{}",
        desc.digest, repo.registry, repo.name
    );
    Ok(if post_mount(repo, &what, desc, from).await? {
        Support::Yes
    } else {
        Support::No
    })
}

async fn probe_mounts(
    repo: &Repository,
    source: &Repository,
    cleanup: &mut Cleanup,
) -> (Finding, Finding) {
    let mut results = Vec::new();
    for (name, label, with_from) in [
        ("mount_from", "mount-from", true),
        ("mount_without_from", "mount-no-from", false),
    ] {
        let (desc, data) = unique_blob(label, 2048);
        let outcome = async {
            source.push(&desc, bytes_stream(data)).await?;
            cleanup.push((source.clone(), desc.clone()));
            let from = with_from.then_some(source.name.as_str());
            let support = try_mount(repo, &desc, from).await?;
            if support == Support::Yes {
                cleanup.push((repo.clone(), desc.clone()));
            }
            Ok::<_, Error>(support)
        }
        .await;
        results.push(match outcome {
            Ok(Support::Yes) => finding(name, Support::Yes, "201 Created: mounted"),
            Ok(_) => finding(
                name,
                Support::No,
                "202 Accepted: an upload was opened instead",
            ),
            Err(e) => unknown(name, &e),
        });
    }
    let without = results.pop().expect("two results");
    let with = results.pop().expect("two results");
    (with, without)
}

/// Pushes an empty-config artifact tagged `probe-<n>-1..3`; returns it and its tags.
async fn push_probe_manifest(repo: &Repository) -> Result<(Descriptor, Vec<String>)> {
    let (layer, data) = unique_blob("manifest-layer", 64);
    repo.push(&layer, bytes_stream(data)).await?;
    let empty = Descriptor::empty();
    if !repo.exists(&empty).await? {
        repo.push_bytes(&empty, Bytes::from_static(b"{}")).await?;
    }
    let manifest = oci_spec_types::ImageManifest::new(empty, vec![layer])
        .with_artifact_type(MediaType::parse("application/vnd.oci-artifacts.probe.v1")?);
    let doc = manifest.to_document()?;
    let desc = doc.descriptor(MediaType::image_manifest());
    repo.push_bytes(&desc, doc.bytes().clone()).await?;
    let stamp = &desc.digest.encoded()[..12];
    let tags: Vec<String> = (1..=3).map(|i| format!("probe-{stamp}-{i}")).collect();
    for t in &tags {
        repo.tag(&desc, t).await?;
    }
    Ok((desc, tags))
}

async fn probe_referrers(repo: &Repository, subject: &Descriptor) -> Finding {
    const NAME: &str = "referrers_api";
    let what = format!("probe referrers API of {}/{}", repo.registry, repo.name);
    let result = async {
        let url = repo.url(&format!("referrers/{}", subject.digest))?;
        let response = repo
            .inner
            .send(repo.call(&what, repo.pull_scopes(), Method::GET, url))
            .await?;
        let status = response.status();
        let is_index = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with(oci_spec_types::media_types::IMAGE_INDEX));
        Ok::<_, Error>(match status {
            StatusCode::OK if is_index => finding(NAME, Support::Yes, "200 with an image index"),
            StatusCode::OK => finding(
                NAME,
                Support::Unknown,
                "200, but not an image index: clients fall back to the tag schema",
            ),
            StatusCode::NOT_FOUND => finding(
                NAME,
                Support::No,
                "404: clients use the referrers tag schema (sha256-<digest>)",
            ),
            other => finding(NAME, Support::Unknown, format!("HTTP {}", other.as_u16())),
        })
    }
    .await;
    result.unwrap_or_else(|e| unknown(NAME, &e))
}

async fn probe_pagination(repo: &Repository, tags: &[String]) -> Finding {
    const NAME: &str = "tag_pagination";
    let what = format!("probe tag pagination of {}/{}", repo.registry, repo.name);
    let result = async {
        let mut url = repo.url("tags/list")?;
        url.set_query(Some("n=1"));
        let response = repo
            .inner
            .send(repo.call(&what, repo.pull_scopes(), Method::GET, url.clone()))
            .await?;
        if !response.status().is_success() {
            return Err(from_response(&what, response).await);
        }
        let next = crate::listing::next_page(&response, &url, &repo.registry, &what)?;
        let body = response
            .bytes()
            .await
            .map_err(|e| crate::errors::transport(&what, e))?;
        let page: oci_spec_types::distribution::TagList =
            serde_json::from_slice(&body).unwrap_or_default();
        let count = page.tags.len();
        Ok::<_, Error>(match (next, count) {
            (Some(_), 1) => finding(
                NAME,
                Support::Yes,
                "n=1 gave one tag and a Link to the next page",
            ),
            (None, n) if n > 1 => finding(
                NAME,
                Support::No,
                format!("n=1 ignored: {n} tags in one page"),
            ),
            (None, _) => finding(
                NAME,
                Support::No,
                format!("no Link header with {} tags present", tags.len()),
            ),
            (Some(_), n) => finding(
                NAME,
                Support::Yes,
                format!("a Link to the next page, {n} tags on the first"),
            ),
        })
    }
    .await;
    result.unwrap_or_else(|e| unknown(NAME, &e))
}

async fn probe_delete(repo: &Repository, desc: &Descriptor, name: &'static str) -> Finding {
    match repo.delete(desc).await {
        Ok(()) => finding(name, Support::Yes, "202 Accepted"),
        Err(e) if e.is_unsupported() || e.status() == Some(405) => {
            finding(name, Support::No, e.to_string())
        }
        Err(e) => unknown(name, &e),
    }
}
