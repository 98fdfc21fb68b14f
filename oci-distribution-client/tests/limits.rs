//! Every read from a registry or a token server is held to a limit, and every loop that waits
//! for a server to make progress ends: endless token answers, manifests and pages, listings
//! that come round, uploads refused without progress, ranges at the end of `u64`.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use oci_distribution_client::{Client, ClientConfig, RetryPolicy};
use oci_spec_types::{Descriptor, MediaType};
use oci_target::{ErrorKind, Limits, ReadOnlyTarget, TargetExt};
use support::hostile::{Hostile, Recorded, Reply, client_for, repo_with, within};

/// A body far over the limit under test, sent without a length until the connection closes.
fn flood(bytes: usize) -> Reply {
    Reply::head_and_body(
        "HTTP/1.1 200 OK\nContent-Type: application/json\nConnection: close",
        &vec![b' '; bytes],
        true,
    )
}

#[tokio::test]
async fn an_endless_token_response_stops_at_the_token_limit() {
    let tokens = Hostile::start(|_| flood(16 << 20)).await;
    let challenge = format!(
        "Bearer realm=\"http://{}/token\",service=\"r\"",
        tokens.host()
    );
    let registry =
        Hostile::start(move |_| Reply::new(401, &[("WWW-Authenticate", &challenge)], Vec::new()))
            .await;
    let repo = client_for(&[&registry, &tokens], Duration::from_secs(5), |c| c)
        .repository(&registry.host(), "a/b")
        .unwrap();
    let started = Instant::now();
    let err = within(repo.resolve("latest")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SizeLimitExceeded, "{err}");
    assert_eq!(err.limit(), Some("token-bytes"), "{err}");
    assert!(err.to_string().contains("1048576"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn an_endless_manifest_and_an_endless_page_stop_at_their_limits() {
    let registry = Hostile::start(|_| flood(8 << 20)).await;
    let repo = repo_with(&registry, |c| c);
    let err = within(repo.resolve("latest")).await.unwrap_err();
    assert_eq!(err.limit(), Some("manifest-bytes"), "{err}");

    let mut limits = Limits::default();
    limits.listing_bytes = 1 << 20;
    let repo = repo_with(&registry, |c| c.with_limits(limits));
    let err = within(repo.tags()).await.unwrap_err();
    assert_eq!(err.limit(), Some("listing-bytes"), "{err}");
}

/// Tag pages that link on for ever: page `n` lists `per_page` tags and links to page `n + 1`,
/// or back to the first page from page `back_at`.
fn paging(per_page: usize, back_at: Option<usize>) -> impl Fn(&Recorded) -> Reply + Send + Sync {
    move |r: &Recorded| {
        let n: usize = r
            .target
            .split("page=")
            .nth(1)
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        let next = match back_at {
            Some(b) if n == b => "/v2/a/tags/list?n=1000".to_owned(),
            _ => format!("/v2/a/tags/list?page={}", n + 1),
        };
        let tags: Vec<String> = (0..per_page).map(|i| format!("p{n}t{i}")).collect();
        let body = serde_json::json!({"name": "a", "tags": tags}).to_string();
        Reply::new(200, &[("Link", &format!("<{next}>; rel=\"next\""))], body)
    }
}

#[tokio::test]
async fn listings_are_bounded_across_pages_and_a_link_back_ends_them() {
    // Entries across pages.
    let registry = Hostile::start(paging(100, None)).await;
    let mut limits = Limits::default();
    limits.listing_items = 450;
    let repo = client_for(&[&registry], Duration::from_secs(5), |c| {
        c.with_limits(limits)
    })
    .repository(&registry.host(), "a")
    .unwrap();
    let err = within(repo.tags()).await.unwrap_err();
    assert_eq!(err.limit(), Some("listing-items"), "{err}");
    assert_eq!(registry.requests().len(), 5);

    // Pages.
    let registry = Hostile::start(paging(1, None)).await;
    let repo = client_for(&[&registry], Duration::from_secs(5), |c| {
        c.with_max_pages(25)
    })
    .repository(&registry.host(), "a")
    .unwrap();
    let err = within(repo.tags()).await.unwrap_err();
    assert_eq!(err.limit(), Some("listing-pages"), "{err}");
    assert_eq!(registry.requests().len(), 25);

    // A page that links back to the first: the listing ends with what it has.
    let registry = Hostile::start(paging(2, Some(3))).await;
    let repo = client_for(&[&registry], Duration::from_secs(5), |c| c)
        .repository(&registry.host(), "a")
        .unwrap();
    let tags = within(repo.tags()).await.unwrap();
    assert_eq!(tags.len(), 8, "{tags:?}");
    assert_eq!(registry.requests().len(), 4);
}

fn blob(data: &[u8]) -> Descriptor {
    Descriptor::new(
        MediaType::octet_stream(),
        oci_digest::sha256(data),
        data.len() as u64,
    )
}

/// An upload server that refuses every PATCH with 416 and reports `range` as what it holds.
fn refusing_uploads(range: &'static str, patches: Arc<AtomicUsize>) -> impl Fn(&Recorded) -> Reply {
    move |r: &Recorded| match r.method.as_str() {
        "HEAD" => Reply::new(404, &[], Vec::new()),
        "POST" => Reply::new(202, &[("Location", "/v2/a/b/blobs/uploads/s1")], Vec::new()),
        "PATCH" => {
            patches.fetch_add(1, Ordering::SeqCst);
            Reply::new(416, &[("Range", range)], Vec::new())
        }
        "GET" => Reply::new(204, &[("Range", range)], Vec::new()),
        _ => Reply::new(204, &[], Vec::new()),
    }
}

#[tokio::test]
async fn an_upload_refused_without_progress_ends_instead_of_looping() {
    let patches = Arc::new(AtomicUsize::new(0));
    let server = Hostile::start(refusing_uploads("0-0", patches.clone())).await;
    let repo = repo_with(&server, |c| {
        c.with_chunk_size(1000).with_buffered_upload_max(10)
    });
    let data = vec![5u8; 5000];
    let err = within(repo.push_bytes(&blob(&data), Bytes::from(data.clone())))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    assert!(err.to_string().contains("without"), "{err}");
    assert!(
        patches.load(Ordering::SeqCst) <= 3,
        "{} PATCHes",
        patches.load(Ordering::SeqCst)
    );
}

#[tokio::test]
async fn an_upload_range_at_the_end_of_u64_is_an_error_not_an_overflow() {
    let patches = Arc::new(AtomicUsize::new(0));
    let server = Hostile::start(refusing_uploads("0-18446744073709551615", patches.clone())).await;
    let repo = repo_with(&server, |c| {
        c.with_chunk_size(1000).with_buffered_upload_max(10)
    });
    let data = vec![6u8; 3000];
    let err = within(repo.push_bytes(&blob(&data), Bytes::from(data.clone())))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    assert!(err.to_string().contains("largest size"), "{err}");
}

#[tokio::test]
async fn an_unreachable_registry_names_the_cause_and_the_attempts() {
    // Nothing listens on port 1 of loopback.
    let repo = Client::new(
        ClientConfig::default()
            .with_plain_http("127.0.0.1:1")
            .with_retry(
                RetryPolicy::default()
                    .with_max_retries(2)
                    .with_backoff(Duration::from_millis(1), Duration::from_millis(2)),
            ),
    )
    .unwrap()
    .repository("127.0.0.1:1", "a/b")
    .unwrap();
    let err = within(repo.resolve("latest")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    assert!(
        err.to_string().to_lowercase().contains("refused"),
        "the cause is not named: {err}"
    );
    assert!(err.to_string().contains("after 3 attempts"), "{err}");
    // The cause stays reachable for a program, as the typed source.
    assert!(std::error::Error::source(&err).is_some());
}

#[tokio::test]
async fn an_endless_error_body_is_read_only_up_to_its_limit() {
    let mut text = br#"{"errors":[{"code":"DENIED","message":"no"}]}"#.to_vec();
    text.extend(std::iter::repeat_n(b' ', 32 << 20));
    let registry = Hostile::start(move |_| {
        Reply::head_and_body("HTTP/1.1 403 Forbidden\nConnection: close", &text, true)
    })
    .await;
    let mut limits = Limits::default();
    limits.error_body_bytes = 4096;
    let repo = repo_with(&registry, |c| c.with_limits(limits));
    let started = Instant::now();
    let err = within(repo.resolve("latest")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Denied, "{err}");
    assert_eq!(err.status(), Some(403));
    assert!(started.elapsed() < Duration::from_secs(10));
}
