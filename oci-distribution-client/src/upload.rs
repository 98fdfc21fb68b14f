//! Blob uploads: buffered or streamed PUT, chunked PATCH, and cross-repository mounts.
//!
//! Small blobs are read into memory (verified) and sent in one PUT that can be retried. Large
//! ones stream straight from the caller's stream in one PUT, verified as they pass, so memory
//! stays flat whatever the size; if the content turns out wrong, the upload is aborted and
//! cancelled, and the registry keeps nothing. With a chunk size set, large blobs go as PATCH
//! chunks of at most that size, honouring the registry's `OCI-Chunk-Min-Length`.

use std::sync::{Arc, Mutex};

use bytes::BytesMut;
use futures_util::{StreamExt, TryStreamExt};
use oci_digest::Verifier;
use oci_spec_types::Descriptor;
use oci_target::{
    BlobStream, Error, ErrorKind, OpenContent, ReadOnlyTarget, Result, Verified, read_to_bytes,
};
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION, RANGE};
use reqwest::{Method, Response, StatusCode, Url};

use crate::auth::Scopes;
use crate::errors::from_response;
use crate::http::{CallBody, same_origin};
use crate::repository::{Repository, header_digest};

const OCTET: &str = "application/octet-stream";

/// Pushes a blob, as an upload checked as it streams.
///
/// A blob larger than the client buffers is first looked for (`HEAD`): the registry may have
/// it, and a round trip costs less than sending it. A small one is sent straight away, as
/// oras-go does: callers that may hold it already (the copy engine) have asked, and asking again
/// would cost as much as the upload. Small blobs go in one request where the registry takes
/// single-POST uploads.
pub(crate) async fn push_blob(
    repo: &Repository,
    desc: &Descriptor,
    content: BlobStream,
) -> Result<()> {
    Verifier::new(&desc.digest, desc.size)?;
    if desc.size > repo.inner.config.buffered_upload_max && repo.exists(desc).await? {
        return Ok(());
    }
    upload(repo, desc, Verified::new(desc, content)?).await
}

/// `content` if it is checked against `desc`, else `content` checked against `desc` as well.
fn checked(desc: &Descriptor, content: Verified) -> Result<Verified> {
    if content.is_for(desc) {
        Ok(content)
    } else {
        Verified::new(desc, content.into_stream())
    }
}

/// Blobs up to this size are sent without asking the registry first whether it has them, when
/// the caller leaves that to the push ([`push_absent`]): a round trip costs about as much as
/// sending them.
const SEND_WITHOUT_ASKING_MAX: u64 = 256 * 1024;

/// Pushes a blob unless the repository has it, in as few requests as the registry allows.
///
/// Small blobs are not asked about: a registry taking single-POST uploads gets one request; any
/// other gets `POST ?mount=<digest>&from=<this repository>` (which a registry holding the blob
/// may answer by linking it: nothing sent) and then the PUT of the content. Larger blobs are
/// looked for first (`HEAD`), then uploaded. `true` when content was sent.
pub(crate) async fn push_absent(
    repo: &Repository,
    desc: &Descriptor,
    open: OpenContent<'_>,
) -> Result<bool> {
    Verifier::new(&desc.digest, desc.size)?;
    if desc.size > SEND_WITHOUT_ASKING_MAX {
        if repo.exists(desc).await? {
            return Ok(false);
        }
        upload(repo, desc, checked(desc, open.await?)?).await?;
        return Ok(true);
    }
    if single_post_wanted(repo) {
        upload(repo, desc, checked(desc, open.await?)?).await?;
        return Ok(true);
    }
    let what = format!("push blob {}/{}@{}", repo.registry, repo.name, desc.digest);
    let mut url = repo.url("blobs/uploads/")?;
    url.query_pairs_mut()
        .append_pair("mount", desc.digest.as_str())
        .append_pair("from", &repo.name);
    let response = post_uploads(repo, &what, repo.push_scopes(), &url).await?;
    let location = match response.status() {
        StatusCode::CREATED => return Ok(false),
        StatusCode::ACCEPTED => location(repo, &what, &url, &response)?,
        status => {
            // Refused: ask, then upload the usual way, which says what is wrong if anything is.
            tracing::debug!(what, status = status.as_u16(), "upload with mount refused");
            if repo.exists(desc).await? {
                return Ok(false);
            }
            upload(repo, desc, checked(desc, open.await?)?).await?;
            return Ok(true);
        }
    };
    let sent = async {
        let content = checked(desc, open.await?)?;
        let body = read_to_bytes(content.into_stream(), desc.size).await?;
        let len = Some(body.len() as u64);
        finish(
            repo,
            &what,
            location.clone(),
            desc,
            CallBody::Bytes(body),
            len,
        )
        .await
    }
    .await;
    if sent.is_err() {
        cancel(repo, &what, location).await;
    }
    sent.map(|()| true)
}

/// Uploads a blob without asking whether the registry has it. The content is checked against
/// `desc` as it is read: a wrong blob fails before the upload is closed.
async fn upload(repo: &Repository, desc: &Descriptor, content: Verified) -> Result<()> {
    let config = &repo.inner.config;
    let small = desc.size <= config.buffered_upload_max;
    let what = format!("push blob {}/{}@{}", repo.registry, repo.name, desc.digest);
    let payload = if small {
        Payload::Whole(read_to_bytes(content.into_stream(), desc.size).await?)
    } else {
        Payload::Stream(content.into_stream())
    };
    if let Payload::Whole(body) = &payload
        && single_post_wanted(repo)
    {
        let outcome = single_post(repo, &what, desc, body.clone()).await?;
        if config.single_post_upload.is_none() {
            let stored = outcome == Some(true);
            lock_single_post(repo).insert(repo.registry.clone(), stored);
        }
        if outcome.is_some() {
            return Ok(());
        }
    }
    let (location, min_chunk) = start(repo, &what, repo.push_scopes(), None).await?;
    let result = match payload {
        Payload::Whole(body) => {
            let body = CallBody::Bytes(body);
            finish(repo, &what, location.clone(), desc, body, Some(desc.size)).await
        }
        Payload::Stream(content) => match config.chunk_size {
            Some(chunk) => {
                let chunk = chunk.max(min_chunk.unwrap_or(0));
                chunked(repo, &what, location.clone(), desc, content, chunk).await
            }
            None => streamed(repo, &what, location.clone(), desc, content).await,
        },
    };
    if result.is_err() {
        cancel(repo, &what, location).await;
    }
    result
}

/// A blob to upload: read whole (small, can be sent again) or a stream (sent once).
enum Payload {
    Whole(bytes::Bytes),
    Stream(BlobStream),
}

fn lock_single_post(
    repo: &Repository,
) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, bool>> {
    repo.inner
        .single_post
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// Is a single-POST upload worth trying here: as configured, else unless this registry was
/// found not to take them.
fn single_post_wanted(repo: &Repository) -> bool {
    match repo.inner.config.single_post_upload {
        Some(on) => on,
        None => lock_single_post(repo)
            .get(&repo.registry)
            .copied()
            .unwrap_or(true),
    }
}

/// `POST /blobs/uploads/?digest=…` with the whole blob; goes on with the session the registry
/// opens instead, if it does. `Some(true)` when the POST alone stored the blob, `Some(false)`
/// when the session did, `None` when the registry refused the request (the caller uploads the
/// usual way, which says what is wrong if anything is).
async fn single_post(
    repo: &Repository,
    what: &str,
    desc: &Descriptor,
    body: bytes::Bytes,
) -> Result<Option<bool>> {
    let mut url = repo.url("blobs/uploads/")?;
    url.query_pairs_mut()
        .append_pair("digest", desc.digest.as_str());
    let call = repo
        .call(what, repo.push_scopes(), Method::POST, url.clone())
        .header(CONTENT_TYPE, OCTET)
        .header(CONTENT_LENGTH, body.len().to_string())
        .body(CallBody::Bytes(body.clone()));
    let response = repo.inner.send(call).await?;
    match response.status() {
        StatusCode::CREATED => Ok(Some(true)),
        StatusCode::ACCEPTED => {
            let loc = location(repo, what, &url, &response)?;
            let len = body.len() as u64;
            let result = finish(
                repo,
                what,
                loc.clone(),
                desc,
                CallBody::Bytes(body),
                Some(len),
            )
            .await;
            if result.is_err() {
                cancel(repo, what, loc).await;
            }
            result.map(|()| Some(false))
        }
        status => {
            tracing::debug!(what, status = status.as_u16(), "single-POST upload refused");
            Ok(None)
        }
    }
}

/// Starts an upload session (`POST /blobs/uploads/`); returns its location and the registry's
/// minimum chunk length, if it states one.
async fn start(
    repo: &Repository,
    what: &str,
    scopes: &Scopes,
    query: Option<&str>,
) -> Result<(Url, Option<u64>)> {
    let mut url = repo.url("blobs/uploads/")?;
    url.set_query(query);
    let response = post_uploads(repo, what, scopes, &url).await?;
    if response.status() != StatusCode::ACCEPTED {
        return Err(from_response(what, response).await);
    }
    let min = response
        .headers()
        .get("oci-chunk-min-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    Ok((location(repo, what, &url, &response)?, min))
}

/// `POST <url>` (an uploads endpoint, with its query) without a body: the registry's answer as
/// it is, for the caller to read (a session opened, a blob stored or mounted, a refusal).
pub(crate) async fn post_uploads(
    repo: &Repository,
    what: &str,
    scopes: &Scopes,
    url: &Url,
) -> Result<Response> {
    let call = repo.call(what, scopes, Method::POST, url.clone());
    repo.inner.send(call.empty_body()).await
}

/// The upload location a response names, resolved and held to the registry's own host.
pub(crate) fn location(
    repo: &Repository,
    what: &str,
    base: &Url,
    response: &Response,
) -> Result<Url> {
    let raw = response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            Error::new(
                ErrorKind::Transport,
                format!("{what}: the registry gave no upload Location"),
            )
        })?;
    let url = base.join(raw).map_err(|e| {
        Error::new(
            ErrorKind::Transport,
            format!("{what}: malformed upload Location: {e}"),
        )
    })?;
    if !same_origin(&url, &repo.registry) || url.scheme() != base.scheme() {
        return Err(Error::new(
            ErrorKind::Transport,
            format!(
                "{what}: the upload Location is on another host ({}); refusing to send content there",
                url.host_str().unwrap_or("?")
            ),
        ));
    }
    Ok(url)
}

/// Completes an upload with `PUT <location>?digest=…`, carrying `body`.
async fn finish(
    repo: &Repository,
    what: &str,
    mut url: Url,
    desc: &Descriptor,
    body: CallBody,
    len: Option<u64>,
) -> Result<()> {
    url.query_pairs_mut()
        .append_pair("digest", desc.digest.as_str());
    let mut call = repo
        .call(what, repo.push_scopes(), Method::PUT, url)
        .header(CONTENT_TYPE, OCTET)
        .body(body);
    call = call.header(CONTENT_LENGTH, len.unwrap_or(0).to_string());
    let response = repo.inner.send(call).await?;
    if response.status() == StatusCode::NOT_FOUND {
        // The upload is unknown: when a dropped connection made the transport send the PUT
        // again after the first one completed the upload, the blob is stored. Its digest says
        // so; anything else is the registry's error.
        let error = from_response(what, response).await;
        return match repo.exists(desc).await {
            Ok(true) => Ok(()),
            _ => Err(error),
        };
    }
    if response.status() != StatusCode::CREATED {
        return Err(from_response(what, response).await);
    }
    if let Some(served) = header_digest(&response, what)?
        && served.algorithm() == desc.digest.algorithm()
        && served != desc.digest
    {
        return Err(Error::new(
            ErrorKind::DigestMismatch,
            format!("{what}: the registry stored {served}, not {}", desc.digest),
        ));
    }
    Ok(())
}

/// One PUT whose body is the caller's checked stream.
async fn streamed(
    repo: &Repository,
    what: &str,
    url: Url,
    desc: &Descriptor,
    content: BlobStream,
) -> Result<()> {
    let failure: Arc<Mutex<Option<Error>>> = Arc::default();
    let seen = failure.clone();
    let verified = content.inspect_err(move |e: &Error| {
        *seen.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.clone());
    });
    let body = reqwest::Body::wrap_stream(verified);
    let result = finish(
        repo,
        what,
        url,
        desc,
        CallBody::Once(Some(body)),
        Some(desc.size),
    )
    .await;
    // If our own stream failed (wrong content, a source error), say that, not the aborted request.
    let ours = failure.lock().unwrap_or_else(|p| p.into_inner()).take();
    match (result, ours) {
        (_, Some(e)) => Err(e),
        (r, None) => r,
    }
}

/// PATCH chunks of at most `chunk` bytes, then the closing PUT.
async fn chunked(
    repo: &Repository,
    what: &str,
    mut url: Url,
    desc: &Descriptor,
    content: BlobStream,
    chunk: u64,
) -> Result<()> {
    let chunk = chunk.max(1) as usize;
    let mut stream = content;
    let mut offset = 0u64;
    let mut buf = BytesMut::with_capacity(chunk.min(desc.size as usize));
    let mut done = false;
    let mut recoveries = 0u64;
    let mut last_refused: Option<u64> = None;
    while !done {
        done = fill(&mut buf, &mut stream, chunk).await?;
        if buf.is_empty() {
            break;
        }
        let take = buf.len().min(chunk);
        let piece = buf.split_to(take).freeze();
        let end = offset + piece.len() as u64 - 1;
        let response = patch(repo, what, &url, offset, piece.clone()).await?;
        match response.status() {
            StatusCode::ACCEPTED => {
                let next = location(repo, what, &url, &response)?;
                url = next;
                offset = end + 1;
            }
            StatusCode::RANGE_NOT_SATISFIABLE => {
                // Ask where the registry is, and resend from there if it's within this chunk.
                // Each recovery must move the upload on, and there are only so many.
                recoveries += 1;
                repo.inner
                    .config
                    .limits
                    .check("upload-recoveries", recoveries, what)?;
                let have = status(repo, what, &url).await?;
                if last_refused.is_some_and(|before| have <= before) {
                    return Err(Error::new(
                        ErrorKind::Transport,
                        format!(
                            "{what}: the registry refused the chunk at {offset} again without \
                             taking any more of the upload (it holds {have} bytes)"
                        ),
                    ));
                }
                last_refused = Some(have);
                if have < offset || have > end + 1 {
                    return Err(Error::new(
                        ErrorKind::Transport,
                        format!(
                            "{what}: the registry holds {have} bytes of the upload, which cannot be resumed from chunk {offset}-{end}"
                        ),
                    ));
                }
                let rest = piece.slice((have - offset) as usize..);
                let mut merged = BytesMut::from(&rest[..]);
                merged.extend_from_slice(&buf);
                buf = merged;
                offset = have;
                done = false;
            }
            _ => return Err(from_response(what, response).await),
        }
    }
    finish(repo, what, url, desc, CallBody::Empty, None).await
}

/// Pushes a stream whose digest is not known up front, hashing it as it goes, then closes the
/// upload with `PUT ?digest=` the digest computed: the content is read once. With its size
/// known (and no chunk size configured), it goes as one PATCH of the whole range; otherwise as
/// PATCH chunks (the configured chunk size, else 8 MiB, at least the registry's minimum),
/// memory holding one chunk.
pub(crate) async fn push_unknown(
    repo: &Repository,
    new: &oci_target::Unhashed,
    content: BlobStream,
) -> Result<Descriptor> {
    let size = new.size;
    let what = format!(
        "push a blob of unknown digest to {}/{}",
        repo.registry, repo.name
    );
    let (url, min_chunk) = start(repo, &what, repo.push_scopes(), None).await?;
    let (content, hashed) = oci_target::hashing_stream(content, new.algorithm, size);
    let sent = match (size, repo.inner.config.chunk_size) {
        (Some(size), None) => patch_whole(repo, &what, url.clone(), size, content).await,
        _ => {
            let chunk = repo
                .inner
                .config
                .chunk_size
                .unwrap_or(8 << 20)
                .max(min_chunk.unwrap_or(0))
                .max(1) as usize;
            patch_chunks(repo, &what, url.clone(), chunk, content).await
        }
    };
    let result = async {
        let url = sent?;
        let (digest, len) = hashed.finish()?;
        let desc = Descriptor::new(new.media_type.clone(), digest, len);
        finish(repo, &what, url, &desc, CallBody::Empty, None).await?;
        Ok(desc)
    }
    .await;
    if result.is_err() {
        cancel(repo, &what, url).await;
    }
    result
}

/// One PATCH carrying all `size` bytes of `content`; returns where the upload goes on.
async fn patch_whole(
    repo: &Repository,
    what: &str,
    url: Url,
    size: u64,
    content: BlobStream,
) -> Result<Url> {
    if size == 0 {
        return Ok(url);
    }
    let failure: Arc<Mutex<Option<Error>>> = Arc::default();
    let seen = failure.clone();
    let content = content.inspect_err(move |e: &Error| {
        *seen.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.clone());
    });
    let call = repo
        .call(what, repo.push_scopes(), Method::PATCH, url.clone())
        .header(CONTENT_TYPE, OCTET)
        .header(CONTENT_LENGTH, size.to_string())
        .header(reqwest::header::CONTENT_RANGE, format!("0-{}", size - 1))
        .body(CallBody::Once(Some(reqwest::Body::wrap_stream(content))));
    let response = repo.inner.send(call).await;
    // Our own stream's failure (a short or long file, a read error) says more than the request's.
    if let Some(e) = failure.lock().unwrap_or_else(|p| p.into_inner()).take() {
        return Err(e);
    }
    let response = response?;
    if response.status() != StatusCode::ACCEPTED {
        return Err(from_response(what, response).await);
    }
    location(repo, what, &url, &response)
}

/// PATCH chunks of `chunk` bytes from `content`; returns where the upload goes on.
async fn patch_chunks(
    repo: &Repository,
    what: &str,
    mut url: Url,
    chunk: usize,
    mut content: BlobStream,
) -> Result<Url> {
    let mut offset = 0u64;
    let mut buf = BytesMut::new();
    let mut ended = false;
    while !ended {
        ended = fill(&mut buf, &mut content, chunk).await?;
        if buf.is_empty() {
            break;
        }
        let piece = buf.split_to(buf.len().min(chunk)).freeze();
        let len = piece.len() as u64;
        let response = patch(repo, what, &url, offset, piece).await?;
        if response.status() != StatusCode::ACCEPTED {
            return Err(from_response(what, response).await);
        }
        url = location(repo, what, &url, &response)?;
        offset += len;
        if ended && !buf.is_empty() {
            ended = false;
        }
    }
    Ok(url)
}

/// Fills `buf` from `stream` up to `chunk` bytes. Returns true when the stream has ended.
async fn fill<S>(buf: &mut BytesMut, stream: &mut S, chunk: usize) -> Result<bool>
where
    S: futures_util::Stream<Item = Result<bytes::Bytes>> + Unpin,
{
    while buf.len() < chunk {
        match stream.next().await {
            Some(piece) => buf.extend_from_slice(&piece?),
            None => return Ok(true),
        }
    }
    Ok(false)
}

/// Sends `piece` as the bytes from `offset` of the upload at `url`.
async fn patch(
    repo: &Repository,
    what: &str,
    url: &Url,
    offset: u64,
    piece: bytes::Bytes,
) -> Result<Response> {
    let end = offset + piece.len() as u64 - 1;
    let call = repo
        .call(what, repo.push_scopes(), Method::PATCH, url.clone())
        .header(CONTENT_TYPE, OCTET)
        .header(CONTENT_LENGTH, piece.len().to_string())
        .header(reqwest::header::CONTENT_RANGE, format!("{offset}-{end}"))
        .body(CallBody::Bytes(piece));
    repo.inner.send(call).await
}

/// How many bytes of an upload the registry holds (`GET <location>` → `Range: 0-N`).
async fn status(repo: &Repository, what: &str, url: &Url) -> Result<u64> {
    let response = repo
        .inner
        .send(repo.call(what, repo.push_scopes(), Method::GET, url.clone()))
        .await?;
    if response.status() != StatusCode::NO_CONTENT {
        return Err(from_response(what, response).await);
    }
    let range = response
        .headers()
        .get(RANGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("0-0");
    let end: u64 = range
        .rsplit('-')
        .next()
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| {
            Error::new(
                ErrorKind::Transport,
                format!("{what}: malformed upload Range {range:?}"),
            )
        })?;
    if range == "0-0" {
        return Ok(0);
    }
    end.checked_add(1).ok_or_else(|| {
        Error::new(
            ErrorKind::Transport,
            format!("{what}: the upload Range {range:?} ends past the largest size"),
        )
    })
}

/// Abandons an upload session (best effort).
pub(crate) async fn cancel(repo: &Repository, what: &str, url: Url) {
    let call = repo.call(what, repo.push_scopes(), Method::DELETE, url);
    if let Err(e) = repo.inner.send(call).await {
        tracing::debug!(what, error = %e, "cancelling the upload failed");
    }
}

/// Mounts a blob from `from` (`POST /blobs/uploads/?mount=…&from=…`). `false` when the
/// registry declined and opened an upload instead (which is cancelled).
pub(crate) async fn mount(repo: &Repository, desc: &Descriptor, from: &str) -> Result<bool> {
    crate::repository::check_repository_name(from)?;
    let what = format!(
        "mount {} from {from} into {}/{}",
        desc.digest, repo.registry, repo.name
    );
    if post_mount(repo, &what, desc, Some(from)).await? {
        return Ok(true);
    }
    // Declined; some registries link the blob anyway.
    repo.exists(desc).await
}

/// `POST /blobs/uploads/?mount=…[&from=…]`: true when the registry mounted the blob (201),
/// false when it opened an upload session instead (202), which is cancelled.
pub(crate) async fn post_mount(
    repo: &Repository,
    what: &str,
    desc: &Descriptor,
    from: Option<&str>,
) -> Result<bool> {
    let mut scopes = repo.push_scopes().clone();
    let mut url = repo.url("blobs/uploads/")?;
    url.query_pairs_mut()
        .append_pair("mount", desc.digest.as_str());
    if let Some(from) = from {
        url.query_pairs_mut().append_pair("from", from);
        scopes.extend(&Scopes::repository(from, "pull"));
    }
    let response = post_uploads(repo, what, &scopes, &url).await?;
    match response.status() {
        StatusCode::CREATED => Ok(true),
        StatusCode::ACCEPTED => {
            if let Ok(loc) = location(repo, what, &url, &response) {
                cancel(repo, what, loc).await;
            }
            Ok(false)
        }
        _ => Err(from_response(what, response).await),
    }
}
