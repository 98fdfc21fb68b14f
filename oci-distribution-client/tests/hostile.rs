//! The client against servers that misbehave on purpose: every answer gives a typed error,
//! stores nothing, never panics and never hangs.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use oci_distribution_client::auth::{Credential, StaticCredentials};
use oci_distribution_client::{Client, ClientConfig, ParallelDownload, RetryPolicy};
use oci_spec_types::{Descriptor, MediaType};
use oci_target::{ErrorKind, ReadOnlyTarget, ReadOnlyTargetExt, TargetExt};
use support::hostile::{Hostile, Recorded, Reply, client_for, repo_with, within};

const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

fn blob_desc(data: &[u8]) -> Descriptor {
    Descriptor::new(
        MediaType::parse("application/octet-stream").unwrap(),
        oci_digest::sha256(data),
        data.len() as u64,
    )
}

fn manifest_body() -> Vec<u8> {
    format!(
        r#"{{"schemaVersion":2,"mediaType":"{MANIFEST}","config":{{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2}},"layers":[]}}"#
    )
    .into_bytes()
}

#[tokio::test]
async fn a_blob_with_the_wrong_digest_is_refused() {
    let server = Hostile::start(|_| Reply::new(200, &[], b"not what you asked for".to_vec())).await;
    let repo = repo_with(&server, |c| c);
    let mut desc = blob_desc(b"not what you asked for");
    desc.digest = oci_digest::sha256(b"something else!!!!!!!!");
    let err = within(repo.fetch_bytes(&desc, u64::MAX)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DigestMismatch, "{err}");
}

#[tokio::test]
async fn bodies_longer_or_shorter_than_promised_are_refused() {
    let data = b"0123456789".to_vec();
    let desc = blob_desc(&data);
    // Longer than the descriptor (honest Content-Length).
    let long = Hostile::start(|_| Reply::new(200, &[], b"0123456789abc".to_vec())).await;
    let repo = repo_with(&long, |c| c);
    let err = within(repo.fetch_bytes(&desc, u64::MAX)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SizeMismatch, "{err}");
    // More bytes than its own Content-Length says.
    let liar = Hostile::raw("HTTP/1.1 200 OK\nContent-Length: 10", b"0123456789EXTRA").await;
    let repo = repo_with(&liar, |c| c);
    let got = within(repo.fetch_bytes(&desc, u64::MAX)).await;
    assert_eq!(
        got.unwrap(),
        Bytes::from(data.clone()),
        "bytes past Content-Length are not content"
    );
    // Fewer bytes than Content-Length, then the connection closes: resumes are tried, then a typed error.
    let short = Hostile::raw(
        "HTTP/1.1 200 OK\nContent-Length: 10\nAccept-Ranges: bytes",
        b"01234",
    )
    .await;
    let repo = repo_with(&short, |c| c);
    let err = within(repo.fetch_bytes(&desc, u64::MAX)).await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Transport | ErrorKind::SizeMismatch),
        "{err}"
    );
}

#[tokio::test]
async fn an_interrupted_download_resumes_with_range_and_is_verified_whole() {
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let desc = blob_desc(&data);
    let served = data.clone();
    let server = Hostile::start(move |r: &Recorded| match r.header("range") {
        None => {
            let head = format!("HTTP/1.1 200 OK\nContent-Length: {}\nAccept-Ranges: bytes", served.len());
            Reply::head_and_body(&head, &served[..70_000], true)
        }
        Some(range) => {
            let from: usize = range.trim_start_matches("bytes=").trim_end_matches('-').parse().unwrap();
            let head = format!(
                "HTTP/1.1 206 Partial Content\nContent-Length: {}\nContent-Range: bytes {from}-{}/{}",
                served.len() - from,
                served.len() - 1,
                served.len()
            );
            Reply::head_and_body(&head, &served[from..], false)
        }
    })
    .await;
    let repo = repo_with(&server, |c| c);
    let got = within(repo.fetch_bytes(&desc, u64::MAX)).await.unwrap();
    assert!(got == data);
    let ranges: Vec<_> = server
        .requests()
        .iter()
        .filter_map(|r| r.header("range").map(str::to_owned))
        .collect();
    assert_eq!(ranges, vec!["bytes=70000-".to_string()]);
}

#[tokio::test]
async fn a_resumed_download_that_goes_wrong_is_still_caught() {
    let data = vec![7u8; 50_000];
    let desc = blob_desc(&data);
    let server = Hostile::start(move |r: &Recorded| match r.header("range") {
        None => Reply::head_and_body("HTTP/1.1 200 OK\nContent-Length: 50000\nAccept-Ranges: bytes", &[7u8; 20_000], true),
        Some(_) => Reply::head_and_body("HTTP/1.1 206 Partial Content\nContent-Length: 30000\nContent-Range: bytes 20000-49999/50000", &[8u8; 30_000], false),
    })
    .await;
    let repo = repo_with(&server, |c| c);
    let err = within(repo.fetch_bytes(&desc, u64::MAX)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DigestMismatch, "{err}");
}

#[tokio::test]
async fn parallel_ranged_download_assembles_in_order() {
    let data: Vec<u8> = (0..1_000_003u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let desc = blob_desc(&data);
    let served = data.clone();
    let server = Hostile::start(move |r: &Recorded| match r.header("range") {
        None => Reply::new(200, &[("Accept-Ranges", "bytes")], served.clone()),
        Some(range) => {
            let spec = range.trim_start_matches("bytes=");
            let (a, b) = spec.split_once('-').unwrap();
            let (a, b): (usize, usize) = (a.parse().unwrap(), b.parse().unwrap());
            let cr = format!("bytes {a}-{b}/{}", served.len());
            Reply::new(206, &[("Content-Range", &cr)], served[a..=b].to_vec())
        }
    })
    .await;
    let parallel = ParallelDownload::default()
        .with_connections(4)
        .with_segment_size(100_000)
        .with_min_size(0);
    let repo = repo_with(&server, |c| c.with_parallel_download(parallel));
    let got = within(repo.fetch_bytes(&desc, u64::MAX)).await.unwrap();
    assert!(got == data, "reassembled bytes differ");
    let ranged = server
        .requests()
        .iter()
        .filter(|r| r.header("range").is_some())
        .count();
    assert_eq!(ranged, 11, "1,000,003 bytes in 100,000-byte segments");
}

#[tokio::test]
async fn a_manifest_over_the_cap_is_refused() {
    let big = vec![b' '; 5 << 20];
    let server =
        Hostile::start(move |_| Reply::new(200, &[("Content-Type", MANIFEST)], big.clone())).await;
    let repo = repo_with(&server, |c| c);
    let err = within(repo.resolve("latest")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SizeLimitExceeded, "{err}");
    // Without Content-Length too (chunked), counted as it arrives.
    let chunked = Hostile::start(|_| {
        let mut body = Vec::new();
        for _ in 0..5 {
            body.extend_from_slice(format!("{:x}\r\n", 1 << 20).as_bytes());
            body.extend(std::iter::repeat_n(b' ', 1 << 20));
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(b"0\r\n\r\n");
        Reply::head_and_body(
            &format!("HTTP/1.1 200 OK\nContent-Type: {MANIFEST}\nTransfer-Encoding: chunked"),
            &body,
            false,
        )
    })
    .await;
    let repo = repo_with(&chunked, |c| c);
    let err = within(repo.fetch_manifest_ref("latest")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SizeLimitExceeded, "{err}");
}

/// The error of fetching the manifest `latest` from a server that answers with our manifest's
/// bytes and `headers`.
async fn manifest_fetch_error(headers: Vec<(&'static str, String)>) -> oci_target::Error {
    let body = manifest_body();
    let server = Hostile::start(move |_| {
        let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Reply::new(200, &h, body.clone())
    })
    .await;
    let repo = repo_with(&server, |c| c);
    within(repo.fetch_manifest_ref("latest")).await.unwrap_err()
}

#[tokio::test]
async fn content_type_disagreeing_with_media_type_is_refused() {
    let index = "application/vnd.oci.image.index.v1+json".to_owned();
    let err = manifest_fetch_error(vec![("Content-Type", index)]).await;
    assert_eq!(err.kind(), ErrorKind::InvalidMediaType, "{err}");
}

#[tokio::test]
async fn a_manifest_with_a_lying_docker_content_digest_is_refused() {
    let lie = oci_digest::sha256(b"other").to_string();
    let headers = vec![
        ("Content-Type", MANIFEST.to_owned()),
        ("Docker-Content-Digest", lie),
    ];
    let err = manifest_fetch_error(headers).await;
    assert_eq!(err.kind(), ErrorKind::DigestMismatch, "{err}");
}

#[tokio::test]
async fn a_redirect_loop_ends_with_an_error() {
    let server = Hostile::start(|r: &Recorded| {
        let next = if r.path().ends_with("/a") {
            "/v2/x/blobs/b"
        } else {
            "/v2/x/blobs/a"
        };
        Reply::new(307, &[("Location", next)], Vec::new())
    })
    .await;
    let repo = client_for(&[&server], Duration::from_secs(2), |c| c)
        .repository(&server.host(), "x")
        .unwrap();
    let err = within(repo.fetch_bytes(&blob_desc(b"x"), 10))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SizeLimitExceeded, "{err}");
    assert_eq!(err.limit(), Some("redirects"), "{err}");
    assert!(server.requests().len() <= 12);
}

#[tokio::test]
async fn a_redirect_to_another_host_carries_no_authorization() {
    let data = b"blob behind a redirect".to_vec();
    let served = data.clone();
    let storage = Hostile::start(move |_| Reply::new(200, &[], served.clone())).await;
    let target = format!("http://{}/storage/blob?sig=abc", storage.host());
    let registry = Hostile::start(move |r: &Recorded| {
        if r.header("authorization").is_none() {
            Reply::new(
                401,
                &[("WWW-Authenticate", "Basic realm=\"r\"")],
                Vec::new(),
            )
        } else {
            Reply::new(307, &[("Location", &target)], Vec::new())
        }
    })
    .await;
    let creds =
        StaticCredentials::new().with(registry.host(), Credential::basic("alice", "s3cret"));
    let repo = client_for(&[&registry, &storage], Duration::from_secs(2), |c| {
        c.with_credentials(creds)
    })
    .repository(&registry.host(), "a/b")
    .unwrap();
    let got = within(repo.fetch_bytes(&blob_desc(&data), u64::MAX))
        .await
        .unwrap();
    assert_eq!(got, Bytes::from(data));
    let at_storage = storage.requests();
    assert_eq!(at_storage.len(), 1);
    assert!(
        at_storage[0].header("authorization").is_none(),
        "Authorization leaked to another host: {:?}",
        at_storage[0].headers
    );
    assert!(registry.carrying("authorization") > 0);
}

#[tokio::test]
async fn a_plain_http_registry_may_send_blobs_to_plain_http_storage_it_names() {
    // As distribution on S3 or MinIO does: a 307 to a presigned URL on another port. Followed
    // (plain HTTP to plain HTTP downgrades nothing), verified, and without our Authorization.
    let data = b"blob kept in object storage".to_vec();
    let d = data.clone();
    let storage = Hostile::start(move |_| Reply::new(200, &[], d.clone())).await;
    let location = format!(
        "http://{}/bucket/blob?X-Amz-Signature=secret",
        storage.host()
    );
    let registry =
        Hostile::start(move |_| Reply::new(307, &[("Location", &location)], Vec::new())).await;
    let repo = repo_with(&registry, |c| {
        c.with_credentials(StaticCredentials::new().with(
            registry.host(),
            Credential::Basic {
                username: "u".into(),
                password: "p".into(),
            },
        ))
    });
    let got = within(repo.fetch_bytes(&blob_desc(&data), 1 << 20))
        .await
        .unwrap();
    assert_eq!(got.as_ref(), data.as_slice());
    let leaked = storage.carrying("authorization");
    assert_eq!(leaked, 0, "our Authorization reached the storage host");

    // When the storage fails, the error names it without the presigned signature.
    let location = format!(
        "http://{}/bucket/blob?X-Amz-Signature=secret",
        "127.0.0.1:1"
    );
    let registry =
        Hostile::start(move |_| Reply::new(307, &[("Location", &location)], Vec::new())).await;
    let repo = repo_with(&registry, |c| c.with_retry(RetryPolicy::none()));
    let err = within(repo.fetch_bytes(&blob_desc(&data), 1 << 20))
        .await
        .unwrap_err();
    assert!(!format!("{err} {err:?}").contains("secret"), "{err:?}");
}

#[tokio::test]
async fn an_upload_location_on_another_host_is_refused() {
    let elsewhere = Hostile::start(|_| Reply::new(201, &[], Vec::new())).await;
    let location = format!("http://{}/upload/123", elsewhere.host());
    let registry = Hostile::start(move |r: &Recorded| match r.method.as_str() {
        "HEAD" => Reply::new(404, &[], Vec::new()),
        "POST" => Reply::new(202, &[("Location", &location)], Vec::new()),
        _ => Reply::new(500, &[], Vec::new()),
    })
    .await;
    let repo = client_for(&[&registry, &elsewhere], Duration::from_secs(2), |c| c)
        .repository(&registry.host(), "a/b")
        .unwrap();
    let err = within(repo.push_bytes(
        &blob_desc(b"secret content"),
        Bytes::from_static(b"secret content"),
    ))
    .await
    .unwrap_err();
    assert!(err.to_string().contains("another host"), "{err}");
    assert!(
        elsewhere.requests().is_empty(),
        "content went to another host"
    );
}

#[tokio::test]
async fn a_link_to_another_host_and_endless_pages_are_refused() {
    let evil = Hostile::start(|_| Reply::new(200, &[], br#"{"tags":["stolen"]}"#.to_vec())).await;
    let link = format!(
        "<http://{}/v2/a/tags/list?last=x>; rel=\"next\"",
        evil.host()
    );
    let registry = Hostile::start(move |_| {
        Reply::new(
            200,
            &[("Link", &link)],
            br#"{"name":"a","tags":["v1"]}"#.to_vec(),
        )
    })
    .await;
    let repo = client_for(&[&registry, &evil], Duration::from_secs(2), |c| c)
        .repository(&registry.host(), "a")
        .unwrap();
    let err = within(repo.tags()).await.unwrap_err();
    assert!(err.to_string().contains("another host"), "{err}");
    assert!(evil.requests().is_empty());

    let counter = Arc::new(AtomicUsize::new(0));
    let c = counter.clone();
    let endless = Hostile::start(move |_| {
        let n = c.fetch_add(1, Ordering::SeqCst);
        let link = format!("</v2/a/tags/list?last=t{n}>; rel=\"next\"");
        Reply::new(
            200,
            &[("Link", &link)],
            format!(r#"{{"name":"a","tags":["t{n}"]}}"#).into_bytes(),
        )
    })
    .await;
    let repo = client_for(&[&endless], Duration::from_secs(2), |c| {
        c.with_max_pages(25)
    })
    .repository(&endless.host(), "a")
    .unwrap();
    let err = within(repo.tags()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SizeLimitExceeded, "{err}");
    assert_eq!(counter.load(Ordering::SeqCst), 25);
}

#[tokio::test]
async fn a_malformed_challenge_is_a_typed_error() {
    for header in [
        "Bearer service=\"x\"",
        "Bearer realm=\"unterminated",
        "Negotiate abc",
        "",
    ] {
        let h = header.to_owned();
        let server =
            Hostile::start(move |_| Reply::new(401, &[("WWW-Authenticate", &h)], Vec::new())).await;
        let repo = repo_with(&server, |c| c);
        let err = within(repo.resolve("latest")).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthorized, "{header}: {err}");
    }
}

#[tokio::test]
async fn token_server_failures_are_typed_errors() {
    for (status, body, kind) in [
        (500u16, &b"boom"[..], ErrorKind::Transport),
        (200, &b"<html>not json</html>"[..], ErrorKind::Unauthorized),
        (200, &br#"{"token":""}"#[..], ErrorKind::Unauthorized),
        (401, &b""[..], ErrorKind::Unauthorized),
    ] {
        let b = body.to_vec();
        let tokens = Hostile::start(move |_| Reply::new(status, &[], b.clone())).await;
        let challenge = format!(
            "Bearer realm=\"http://{}/token\",service=\"reg\"",
            tokens.host()
        );
        let registry = Hostile::start(move |_| {
            Reply::new(401, &[("WWW-Authenticate", &challenge)], Vec::new())
        })
        .await;
        let repo = client_for(&[&registry, &tokens], Duration::from_secs(2), |c| c)
            .repository(&registry.host(), "a/b")
            .unwrap();
        let err = within(repo.resolve("latest")).await.unwrap_err();
        assert_eq!(err.kind(), kind, "token server {status}: {err}");
    }
}

#[tokio::test]
async fn a_plain_http_token_server_on_an_unmarked_host_gets_no_credentials() {
    let registry = Hostile::start(|_| {
        Reply::new(
            401,
            &[(
                "WWW-Authenticate",
                "Bearer realm=\"http://192.0.2.1:9/token\",service=\"r\"",
            )],
            Vec::new(),
        )
    })
    .await;
    let creds = StaticCredentials::new().with(registry.host(), Credential::basic("alice", "pw"));
    let repo = repo_with(&registry, |c| c.with_credentials(creds));
    let err = within(repo.resolve("latest")).await.unwrap_err();
    assert!(err.to_string().contains("plain HTTP"), "{err}");
}

#[tokio::test]
async fn non_json_error_bodies_are_shown_and_typed() {
    let server = Hostile::start(|_| {
        Reply::new(
            403,
            &[("Content-Type", "text/html")],
            b"<h1>Forbidden by proxy</h1>".to_vec(),
        )
    })
    .await;
    let repo = repo_with(&server, |c| c);
    let err = within(repo.resolve("latest")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Denied, "HEAD: {err}");
    let err = within(repo.fetch_manifest_ref("latest")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Denied);
    assert!(err.to_string().contains("Forbidden by proxy"), "{err}");
    let json = Hostile::start(|_| Reply::new(404, &[], br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}}]}"#.to_vec())).await;
    let repo = repo_with(&json, |c| c);
    let err = within(repo.fetch_manifest_ref("x")).await.unwrap_err();
    assert!(
        err.is_not_found() && err.has_registry_code("MANIFEST_UNKNOWN"),
        "{err}"
    );
}

#[tokio::test]
async fn a_server_that_hangs_times_out() {
    let server = Hostile::start(|_| Reply::Hang).await;
    let repo = repo_with(&server, |c| {
        c.with_timeouts(Duration::from_millis(300), Duration::from_millis(300))
            .with_retry(RetryPolicy::none())
    });
    let err = within(repo.resolve("latest")).await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Cancelled | ErrorKind::Transport),
        "{err}"
    );
}

#[tokio::test]
async fn passing_failures_are_retried_honouring_retry_after() {
    let counter = Arc::new(AtomicUsize::new(0));
    let c = counter.clone();
    let body = manifest_body();
    let server = Hostile::start(move |_| {
        if c.fetch_add(1, Ordering::SeqCst) < 2 {
            Reply::new(503, &[("Retry-After", "0")], b"busy".to_vec())
        } else {
            Reply::new(200, &[("Content-Type", MANIFEST)], body.clone())
        }
    })
    .await;
    let repo = repo_with(&server, |c| c);
    within(repo.fetch_manifest_ref("latest")).await.unwrap();
    assert_eq!(counter.load(Ordering::SeqCst), 3);

    let always = Hostile::start(|_| Reply::new(429, &[], Vec::new())).await;
    let repo = repo_with(&always, |c| {
        c.with_retry(
            RetryPolicy::default()
                .with_max_retries(2)
                .with_backoff(Duration::from_millis(1), Duration::from_millis(5)),
        )
    });
    let err = within(repo.resolve("latest")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TooManyRequests);
    assert_eq!(always.requests().len(), 3, "one try and two retries");
}

#[tokio::test]
async fn a_request_that_keeps_being_put_off_ends_at_its_deadline() {
    // Busy forever, asking each time to come back later: in one second, or (for the tag
    // `dated`) at an HTTP date two seconds ahead.
    let server = Hostile::start(move |r| {
        let after = if r.target.contains("dated") {
            httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(2))
        } else {
            "1".to_owned()
        };
        Reply::new(503, &[("Retry-After", after.as_str())], b"busy".to_vec())
    })
    .await;
    let repo = repo_with(&server, |c| {
        c.with_retry(
            RetryPolicy::default()
                .with_max_retries(1000)
                .with_backoff(Duration::from_millis(1), Duration::from_secs(5))
                .with_deadline(Duration::from_millis(2500)),
        )
    });
    let started = std::time::Instant::now();
    let err = within(repo.resolve("latest")).await.unwrap_err();
    let took = started.elapsed();
    assert_eq!(err.kind(), ErrorKind::Cancelled, "{err}");
    assert!(err.to_string().contains("deadline"), "{err}");
    assert!(
        took >= Duration::from_millis(2400) && took < Duration::from_secs(5),
        "{took:?}"
    );
    // Retry-After was honoured: about one request a second, not a thousand.
    let n = server.requests().len();
    assert!((2..=4).contains(&n), "{n} requests");

    let dated = repo.fetch_manifest_ref("dated");
    let err = within(dated).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled, "{err}");
    assert!(
        server.requests().len() - n <= 4,
        "an HTTP-date Retry-After is a wait too"
    );
}

#[tokio::test]
async fn a_failed_push_stores_nothing_and_says_why() {
    // The registry accepts anything; our verification stops the wrong content first.
    let server = Hostile::start(|r: &Recorded| match r.method.as_str() {
        "HEAD" => Reply::new(404, &[], Vec::new()),
        "POST" => Reply::new(202, &[("Location", "/v2/a/b/blobs/uploads/1")], Vec::new()),
        "PUT" => Reply::new(201, &[], Vec::new()),
        _ => Reply::new(202, &[], Vec::new()),
    })
    .await;
    let repo = repo_with(&server, |c| c);
    let desc = blob_desc(b"expected");
    let err = within(repo.push_bytes(&desc, Bytes::from_static(b"tampered")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DigestMismatch);
    let puts: Vec<_> = server.with_method("PUT");
    assert!(puts.is_empty(), "wrong content was sent to be stored");
    // A small blob is read and verified before any upload is opened: nothing to cancel.
    assert!(
        server.requests().iter().all(|r| r.method != "POST"),
        "an upload was opened for content that was never going to be sent"
    );

    // Streamed (larger than the buffer), the session it opened is cancelled.
    let repo = repo_with(&server, |c| c.with_buffered_upload_max(4));
    let err = within(repo.push_bytes(&desc, Bytes::from_static(b"tampered")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DigestMismatch);
    assert!(
        server.requests().iter().any(|r| r.method == "DELETE"),
        "the upload session was not cancelled"
    );
}

fn referrer(artifact_type: &str, n: u8) -> serde_json::Value {
    serde_json::json!({
        "mediaType": MANIFEST,
        "digest": oci_digest::sha256(&[n]).to_string(),
        "size": 100 + n as u64,
        "artifactType": artifact_type,
    })
}

#[tokio::test]
async fn the_referrers_api_is_used_with_filter_and_pagination() {
    let subject = oci_digest::sha256(b"subject");
    let page1 = serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [referrer("application/spdx+json", 1), referrer("application/vnd.example.sig", 2)]});
    let page2 = serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [referrer("application/spdx+json", 3)]});
    let filtered = serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [referrer("application/spdx+json", 1), referrer("application/spdx+json", 3)]});
    let (p1, p2, f) = (page1.to_string(), page2.to_string(), filtered.to_string());
    let path = format!("/v2/a/b/referrers/{subject}");
    let server = Hostile::start(move |r: &Recorded| {
        if r.path() != path {
            return Reply::new(404, &[], Vec::new());
        }
        let ct = ("Content-Type", "application/vnd.oci.image.index.v1+json");
        if r.target.contains("artifactType=") {
            Reply::new(
                200,
                &[ct, ("OCI-Filters-Applied", "artifactType")],
                f.clone(),
            )
        } else if r.target.contains("page=2") {
            Reply::new(200, &[ct], p2.clone())
        } else {
            let link = format!("<{path}?page=2>; rel=\"next\"");
            Reply::new(200, &[ct, ("Link", &link)], p1.clone())
        }
    })
    .await;
    let repo = repo_with(&server, |c| c);
    let subject_desc = Descriptor::new(MediaType::parse(MANIFEST).unwrap(), subject.clone(), 10);
    let all = within(repo.referrers(&subject_desc, None)).await.unwrap();
    assert_eq!(all.len(), 3, "{all:?}");
    assert_eq!(repo.referrers_api_known(), Some(true));
    let sbom = MediaType::parse("application/spdx+json").unwrap();
    let only = within(repo.referrers(&subject_desc, Some(&sbom)))
        .await
        .unwrap();
    assert_eq!(only.len(), 2);
    assert!(only.iter().all(|d| d.artifact_type.as_ref() == Some(&sbom)));
    assert!(
        server
            .requests()
            .iter()
            .all(|r| !r.path().contains("/manifests/")),
        "the fallback tag was read although the API answered"
    );
}

#[tokio::test]
async fn without_the_api_the_fallback_tag_is_read_and_a_non_index_means_none() {
    let subject = oci_digest::sha256(b"subject");
    let tag = oci_spec_types::distribution::fallback_tag(&subject);
    let index = serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [referrer("application/spdx+json", 1), referrer("application/vnd.example.sig", 2)]})
    .to_string();
    let fallback_path = format!("/v2/a/b/manifests/{tag}");
    let other_path = format!("/v2/c/d/manifests/{tag}");
    let body = manifest_body();
    let server = Hostile::start(move |r: &Recorded| {
        if r.path() == fallback_path {
            Reply::new(
                200,
                &[("Content-Type", "application/vnd.oci.image.index.v1+json")],
                index.clone(),
            )
        } else if r.path() == other_path {
            Reply::new(200, &[("Content-Type", MANIFEST)], body.clone())
        } else {
            Reply::new(
                404,
                &[],
                br#"{"errors":[{"code":"NOT_FOUND","message":"no"}]}"#.to_vec(),
            )
        }
    })
    .await;
    let client = client_for(&[&server], Duration::from_secs(2), |c| c);
    let repo = client.repository(&server.host(), "a/b").unwrap();
    let subject_desc = Descriptor::new(MediaType::parse(MANIFEST).unwrap(), subject.clone(), 10);
    let sig = MediaType::parse("application/vnd.example.sig").unwrap();
    let found = within(repo.referrers(&subject_desc, Some(&sig)))
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(repo.referrers_api_known(), Some(false));
    let other = client.repository(&server.host(), "c/d").unwrap();
    let none = within(other.referrers(&subject_desc, None)).await.unwrap();
    assert!(
        none.is_empty(),
        "a fallback tag holding a manifest, not an index, means no referrers"
    );
}

#[tokio::test]
async fn pushing_a_referrer_to_a_registry_that_indexes_it_writes_no_fallback() {
    let server = Hostile::start(|r: &Recorded| match r.method.as_str() {
        "PUT" => Reply::new(201, &[("OCI-Subject", "sha256:whatever")], Vec::new()),
        _ => Reply::new(404, &[], Vec::new()),
    })
    .await;
    let repo = repo_with(&server, |c| c);
    let subject = Descriptor::new(
        MediaType::parse(MANIFEST).unwrap(),
        oci_digest::sha256(b"s"),
        1,
    );
    let doc = serde_json::json!({"schemaVersion": 2, "mediaType": MANIFEST, "artifactType": "application/vnd.example.sig",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", "size": 2},
        "layers": [], "subject": subject});
    let body = Bytes::from(serde_json::to_vec(&doc).unwrap());
    let desc = Descriptor::new(
        MediaType::parse(MANIFEST).unwrap(),
        oci_digest::sha256(&body),
        body.len() as u64,
    );
    within(repo.push_bytes(&desc, body)).await.unwrap();
    let puts: Vec<_> = server.with_method("PUT");
    assert_eq!(
        puts.len(),
        1,
        "a fallback index was written: {:?}",
        puts.iter().map(|r| &r.target).collect::<Vec<_>>()
    );
    assert_eq!(puts[0].header("content-type"), Some(MANIFEST));
}

#[tokio::test]
async fn registry_warnings_reach_the_caller() {
    let body = manifest_body();
    let server = Hostile::start(move |_| {
        Reply::new(
            200,
            &[
                ("Content-Type", MANIFEST),
                ("Warning", "299 - \"this repository is deprecated\""),
            ],
            body.clone(),
        )
    })
    .await;
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let s = seen.clone();
    let repo = repo_with(&server, |c| {
        c.with_on_warning(move |w: &str| s.lock().unwrap().push(w.to_owned()))
    });
    within(repo.fetch_manifest_ref("latest")).await.unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        vec!["this repository is deprecated".to_string()]
    );
}

/// A fake upload endpoint that keeps what PATCHes send, optionally refusing the second PATCH
/// once with 416 after keeping only part of it.
fn upload_server(
    min_chunk: Option<u64>,
    lose_part_of_second: bool,
) -> impl Fn(&Recorded) -> Reply + Send + Sync + 'static {
    let received = Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
    let patches = Arc::new(AtomicUsize::new(0));
    move |r: &Recorded| {
        let mut have = received.lock().unwrap();
        match r.method.as_str() {
            "HEAD" => Reply::new(404, &[], Vec::new()),
            "POST" => {
                let min = min_chunk.map(|m| m.to_string()).unwrap_or_default();
                let mut headers = vec![("Location", "/v2/a/b/blobs/uploads/s1?state=0")];
                if min_chunk.is_some() {
                    headers.push(("OCI-Chunk-Min-Length", min.as_str()));
                }
                Reply::new(202, &headers, Vec::new())
            }
            "PATCH" => {
                let n = patches.fetch_add(1, Ordering::SeqCst);
                let range = r.header("content-range").unwrap_or("").to_owned();
                let start: usize = range.split('-').next().unwrap().parse().unwrap();
                if start != have.len() {
                    let end = have.len().saturating_sub(1);
                    return Reply::new(416, &[("Range", &format!("0-{end}"))], Vec::new());
                }
                if lose_part_of_second && n == 1 {
                    // Keep half of this chunk, then claim the range was wrong.
                    have.extend_from_slice(&r.body[..r.body.len() / 2]);
                    let end = have.len() - 1;
                    return Reply::new(416, &[("Range", &format!("0-{end}"))], Vec::new());
                }
                have.extend_from_slice(&r.body);
                let end = have.len() - 1;
                let loc = format!("/v2/a/b/blobs/uploads/s1?state={}", have.len());
                Reply::new(
                    202,
                    &[("Location", &loc), ("Range", &format!("0-{end}"))],
                    Vec::new(),
                )
            }
            "GET" => {
                let end = have.len().saturating_sub(1);
                Reply::new(204, &[("Range", &format!("0-{end}"))], Vec::new())
            }
            "PUT" => {
                have.extend_from_slice(&r.body);
                let digest = oci_digest::sha256(&have).to_string();
                let asked = r
                    .target
                    .split("digest=")
                    .nth(1)
                    .unwrap_or("")
                    .replace("%3A", ":");
                if asked == digest {
                    Reply::new(201, &[("Docker-Content-Digest", &digest)], Vec::new())
                } else {
                    Reply::new(
                        400,
                        &[],
                        br#"{"errors":[{"code":"DIGEST_INVALID","message":"bad"}]}"#.to_vec(),
                    )
                }
            }
            _ => Reply::new(204, &[], Vec::new()),
        }
    }
}

#[tokio::test]
async fn chunked_uploads_honour_the_minimum_chunk_and_content_range() {
    let data: Vec<u8> = (0..250_000u32).map(|i| (i % 249) as u8).collect();
    let server = Hostile::start(upload_server(Some(100_000), false)).await;
    let repo = repo_with(&server, |c| {
        c.with_chunk_size(30_000).with_buffered_upload_max(1000)
    });
    within(repo.push_bytes(&blob_desc(&data), Bytes::from(data.clone())))
        .await
        .unwrap();
    let ranges: Vec<_> = server
        .requests()
        .iter()
        .filter(|r| r.method == "PATCH")
        .map(|r| r.header("content-range").unwrap().to_owned())
        .collect();
    assert_eq!(
        ranges,
        vec!["0-99999", "100000-199999", "200000-249999"],
        "chunks of at least the registry's minimum"
    );
    let put = server.first("PUT");
    assert!(
        put.target.contains("state=250000"),
        "the PUT goes to the last Location: {}",
        put.target
    );
}

#[tokio::test]
async fn a_416_is_recovered_from_by_asking_the_upload_status() {
    let data: Vec<u8> = (0..90_000u32).map(|i| (i % 241) as u8).collect();
    let server = Hostile::start(upload_server(None, true)).await;
    let repo = repo_with(&server, |c| {
        c.with_chunk_size(30_000).with_buffered_upload_max(1000)
    });
    within(repo.push_bytes(&blob_desc(&data), Bytes::from(data.clone())))
        .await
        .unwrap();
    let requests = server.requests();
    assert!(
        requests.iter().any(|r| r.method == "GET"),
        "the upload status was not asked"
    );
    let ranges: Vec<_> = requests
        .iter()
        .filter(|r| r.method == "PATCH")
        .map(|r| r.header("content-range").unwrap().to_owned())
        .collect();
    assert_eq!(
        ranges,
        // Resent from where the registry stopped, then on in whole chunks; the PUT succeeding
        // means the registry assembled exactly the blob.
        vec!["0-29999", "30000-59999", "45000-74999", "75000-89999"]
    );
}

#[tokio::test]
async fn single_post_uploads_and_falls_back_to_a_session() {
    let data = b"small blob for one POST".to_vec();
    let accepted = Hostile::start(|r: &Recorded| match r.method.as_str() {
        "HEAD" => Reply::new(404, &[], Vec::new()),
        "POST" if r.target.contains("digest=") => Reply::new(201, &[], Vec::new()),
        _ => Reply::new(500, &[], Vec::new()),
    })
    .await;
    let repo = repo_with(&accepted, |c| c.with_single_post_upload(true));
    within(repo.push_bytes(&blob_desc(&data), Bytes::from(data.clone())))
        .await
        .unwrap();
    let post = accepted.first("POST");
    assert_eq!(post.body, data);

    let session = Hostile::start(upload_server(None, false)).await;
    let repo = repo_with(&session, |c| c.with_single_post_upload(true));
    within(repo.push_bytes(&blob_desc(&data), Bytes::from(data.clone())))
        .await
        .unwrap();
    let put = session.first("PUT");
    assert_eq!(put.body, data, "the fallback PUT carries the blob");
}

/// The requests of pushing three small blobs, one after another, to a registry that answers a
/// single-POST upload with `single_post` (201: stored; 202: a session; else refused).
async fn three_small_pushes(single_post: u16) -> Vec<(String, bool)> {
    let server = Hostile::start(move |r: &Recorded| match r.method.as_str() {
        "POST" if r.target.contains("digest=") && single_post != 202 => {
            Reply::new(single_post, &[], Vec::new())
        }
        "POST" => Reply::new(202, &[("Location", "/v2/a/b/blobs/uploads/s1")], Vec::new()),
        "PUT" => Reply::new(201, &[], Vec::new()),
        _ => Reply::new(404, &[], Vec::new()),
    })
    .await;
    let repo = repo_with(&server, |c| c);
    for n in 0..3u8 {
        let data = vec![n; 100];
        within(repo.push_bytes(&blob_desc(&data), Bytes::from(data)))
            .await
            .unwrap();
    }
    server
        .requests()
        .into_iter()
        .map(|r| (r.method.clone(), r.target.contains("digest=")))
        .collect()
}

#[tokio::test]
async fn small_blobs_take_the_fewest_requests_the_registry_allows() {
    let post = |digest: bool| ("POST".to_owned(), digest);
    let put = ("PUT".to_owned(), true);
    // Single POST taken: one request per blob, no HEAD (the caller asks when it wants to).
    assert_eq!(three_small_pushes(201).await, vec![post(true); 3]);
    // A session opened instead: found once, then POST + PUT per blob.
    assert_eq!(
        three_small_pushes(202).await,
        vec![
            post(true),
            put.clone(),
            post(false),
            put.clone(),
            post(false),
            put.clone()
        ]
    );
    // Refused outright: the blob goes the usual way, and the refusal is remembered.
    assert_eq!(
        three_small_pushes(400).await,
        vec![
            post(true),
            post(false),
            put.clone(),
            post(false),
            put.clone(),
            post(false),
            put
        ]
    );
}

/// `push_absent` of `data` on `repo`: what it returned, and whether it opened the content.
async fn push_absent(repo: &oci_distribution_client::Repository, data: &[u8]) -> (bool, bool) {
    let opened = Arc::new(AtomicUsize::new(0));
    let seen = opened.clone();
    let bytes = Bytes::copy_from_slice(data);
    let desc = blob_desc(data);
    let checked_as = desc.clone();
    let open: oci_target::OpenContent<'_> = Box::pin(async move {
        seen.fetch_add(1, Ordering::SeqCst);
        oci_target::Verified::new(&checked_as, oci_target::bytes_stream(bytes))
    });
    let sent = within(oci_target::Target::push_absent(repo, &desc, open))
        .await
        .unwrap();
    (sent, opened.load(Ordering::SeqCst) == 1)
}

#[tokio::test]
async fn a_blob_pushed_unless_present_is_asked_about_and_sent_in_the_fewest_requests() {
    let have = vec![1u8; 100];
    let have_digest = oci_digest::sha256(&have).encoded().to_owned();
    // A registry that links what it has on a mount from the repository itself, and opens a
    // session otherwise.
    let server = Hostile::start(move |r: &Recorded| match r.method.as_str() {
        "POST" if r.target.contains(&have_digest) => Reply::new(201, &[], Vec::new()),
        "POST" => Reply::new(202, &[("Location", "/v2/a/b/blobs/uploads/s1")], Vec::new()),
        "PUT" => Reply::new(201, &[], Vec::new()),
        _ => Reply::new(404, &[], Vec::new()),
    })
    .await;
    let repo = repo_with(&server, |c| c.with_single_post_upload(false));
    assert_eq!(
        push_absent(&repo, &have).await,
        (false, false),
        "had it: nothing read"
    );
    assert_eq!(push_absent(&repo, &[2u8; 100]).await, (true, true));
    let seen: Vec<(String, String)> = server
        .requests()
        .into_iter()
        .map(|r| (r.method, r.target))
        .collect();
    assert_eq!(
        seen.len(),
        3,
        "one request for a blob it has, two for one it lacks: {seen:?}"
    );
    assert!(
        seen[0].1.contains("mount=sha256") && seen[0].1.contains("from=a%2Fb"),
        "{seen:?}"
    );
    assert_eq!(
        (seen[2].0.as_str(), seen[2].1.contains("digest=")),
        ("PUT", true)
    );

    // A registry refusing the mount: asked, then sent the usual way.
    let server = Hostile::start(|r: &Recorded| match r.method.as_str() {
        "POST" if r.target.contains("mount=") => Reply::new(405, &[], Vec::new()),
        "POST" => Reply::new(202, &[("Location", "/v2/a/b/blobs/uploads/s1")], Vec::new()),
        "PUT" => Reply::new(201, &[], Vec::new()),
        _ => Reply::new(404, &[], Vec::new()),
    })
    .await;
    let repo = repo_with(&server, |c| c.with_single_post_upload(false));
    assert_eq!(push_absent(&repo, &[3u8; 100]).await, (true, true));
    let methods: Vec<String> = server.requests().into_iter().map(|r| r.method).collect();
    assert_eq!(methods, ["POST", "HEAD", "POST", "PUT"]);

    // Single-POST uploads: one request, whether or not the registry had it.
    let server = Hostile::start(|r: &Recorded| match r.method.as_str() {
        "POST" => Reply::new(201, &[], Vec::new()),
        _ => Reply::new(500, &[], Vec::new()),
    })
    .await;
    let repo = repo_with(&server, |c| c.with_single_post_upload(true));
    assert_eq!(push_absent(&repo, &[4u8; 100]).await, (true, true));
    assert_eq!(server.requests().len(), 1);

    // Larger blobs are looked for first; found, nothing is read.
    let server = Hostile::start(|r: &Recorded| match r.method.as_str() {
        "HEAD" => Reply::new(200, &[("Content-Length", "300000")], Vec::new()),
        _ => Reply::new(500, &[], Vec::new()),
    })
    .await;
    let repo = repo_with(&server, |c| c.with_single_post_upload(true));
    assert_eq!(
        push_absent(&repo, &vec![5u8; 300_000]).await,
        (false, false)
    );
    let methods: Vec<String> = server.requests().into_iter().map(|r| r.method).collect();
    assert_eq!(methods, ["HEAD"]);
}

#[tokio::test]
async fn a_blob_larger_than_the_buffer_is_looked_for_before_it_is_sent() {
    let server = Hostile::start(|r: &Recorded| match r.method.as_str() {
        "HEAD" => Reply::new(200, &[("Content-Length", "100")], Vec::new()),
        _ => Reply::new(500, &[], Vec::new()),
    })
    .await;
    let repo = repo_with(&server, |c| c.with_buffered_upload_max(10));
    let data = vec![7u8; 100];
    within(repo.push_bytes(&blob_desc(&data), Bytes::from(data)))
        .await
        .unwrap();
    let methods: Vec<String> = server.requests().into_iter().map(|r| r.method).collect();
    assert_eq!(methods, ["HEAD"], "the registry has it: nothing is sent");
}

#[tokio::test]
async fn requests_go_through_the_configured_proxy() {
    let body = manifest_body();
    let proxy =
        Hostile::start(move |_| Reply::new(200, &[("Content-Type", MANIFEST)], body.clone())).await;
    let config = ClientConfig::default()
        .with_plain_http("registry.invalid:5000")
        .with_proxy(format!("http://{}", proxy.host()));
    let repo = Client::new(config)
        .unwrap()
        .repository("registry.invalid:5000", "a/b")
        .unwrap();
    within(repo.fetch_manifest_ref("latest")).await.unwrap();
    let seen = proxy.requests();
    assert_eq!(
        seen[0].target, "http://registry.invalid:5000/v2/a/b/manifests/latest",
        "absolute-form request to the proxy"
    );
}

#[tokio::test]
async fn proxies_come_from_the_environment() {
    // The variables are read when a client is built; set them for a child run of this test only.
    if std::env::var_os("OCI_PROXY_TEST_CHILD").is_some() {
        let config = ClientConfig::default()
            .with_plain_http("registry.invalid:5000")
            .with_retry(RetryPolicy::none());
        let repo = Client::new(config)
            .unwrap()
            .repository("registry.invalid:5000", "a/b")
            .unwrap();
        within(repo.fetch_manifest_ref("latest")).await.unwrap();
        return;
    }
    let body = manifest_body();
    let proxy =
        Hostile::start(move |_| Reply::new(200, &[("Content-Type", MANIFEST)], body.clone())).await;
    let status = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args(["proxies_come_from_the_environment", "--exact", "--quiet"])
        .env("OCI_PROXY_TEST_CHILD", "1")
        .env("HTTP_PROXY", format!("http://{}", proxy.host()))
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .stdout(std::process::Stdio::null())
        .status()
        .await
        .unwrap();
    assert!(status.success(), "the child run failed");
    let seen = proxy.requests();
    assert_eq!(
        seen.len(),
        1,
        "the request did not go through the proxy from HTTP_PROXY"
    );
    assert_eq!(
        seen[0].target,
        "http://registry.invalid:5000/v2/a/b/manifests/latest"
    );
}

#[tokio::test]
async fn a_refresh_token_falls_back_to_get_when_post_is_not_served() {
    let tokens = Hostile::start(|r: &Recorded| match r.method.as_str() {
        "POST" => Reply::new(404, &[], Vec::new()),
        _ => Reply::new(
            200,
            &[],
            br#"{"token":"from-get","expires_in":60}"#.to_vec(),
        ),
    })
    .await;
    let challenge = format!(
        "Bearer realm=\"http://{}/token\",service=\"reg\"",
        tokens.host()
    );
    let body = manifest_body();
    let registry = Hostile::start(move |r: &Recorded| {
        if r.header("authorization") == Some("Bearer from-get") {
            Reply::new(200, &[("Content-Type", MANIFEST)], body.clone())
        } else {
            Reply::new(401, &[("WWW-Authenticate", &challenge)], Vec::new())
        }
    })
    .await;
    let creds = StaticCredentials::new().with(
        registry.host(),
        Credential::RefreshToken("refresh-me".into()),
    );
    let repo = client_for(&[&registry, &tokens], Duration::from_secs(2), |c| {
        c.with_credentials(creds)
    })
    .repository(&registry.host(), "a/b")
    .unwrap();
    within(repo.fetch_manifest_ref("latest")).await.unwrap();
    let methods: Vec<_> = tokens.requests().iter().map(|r| r.method.clone()).collect();
    assert_eq!(methods, vec!["POST", "GET"]);
    let post = &tokens.requests()[0];
    let form = String::from_utf8_lossy(&post.body);
    assert!(
        form.contains("grant_type=refresh_token") && form.contains("refresh_token=refresh-me"),
        "{form}"
    );
}

/// A registry that stored a blob on the first PUT, whose answer was lost, and answers the PUT
/// sent again that the upload is unknown: the push is done if the blob is there, and fails
/// with the registry's error if it is not.
#[tokio::test]
async fn an_unknown_upload_after_a_resent_put_is_done_only_if_the_blob_is_there() {
    for stored in [true, false] {
        let put_seen = Arc::new(AtomicUsize::new(0));
        let seen = put_seen.clone();
        let server = Hostile::start(move |r: &Recorded| match r.method.as_str() {
            "HEAD" if stored && seen.load(Ordering::SeqCst) > 0 => Reply::new(
                200,
                &[("Content-Length", "6"), ("Content-Type", "application/octet-stream")],
                Vec::new(),
            ),
            "HEAD" => Reply::new(404, &[], Vec::new()),
            "POST" => Reply::new(202, &[("Location", "/v2/a/b/blobs/uploads/1")], Vec::new()),
            "PUT" => {
                seen.fetch_add(1, Ordering::SeqCst);
                let body = br#"{"errors":[{"code":"BLOB_UPLOAD_UNKNOWN","message":"blob upload unknown to registry"}]}"#;
                Reply::new(404, &[("Content-Type", "application/json")], body.to_vec())
            }
            _ => Reply::new(202, &[], Vec::new()),
        })
        .await;
        let repo = repo_with(&server, |c| c.with_single_post_upload(false));
        let desc = blob_desc(b"stored");
        let pushed = within(repo.push_bytes(&desc, Bytes::from_static(b"stored"))).await;
        assert_eq!(put_seen.load(Ordering::SeqCst), 1, "one PUT");
        if stored {
            pushed.unwrap();
        } else {
            let err = pushed.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
            assert!(err.to_string().contains("404"), "{err}");
        }
    }
}
