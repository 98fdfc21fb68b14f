//! The client against the real distribution registry, in each configuration users meet:
//! anonymous, Basic auth, Bearer tokens and TLS. Registries start once for this binary.

use std::time::Duration;

use bytes::Bytes;
use oci_distribution_client::auth::{Credential, StaticCredentials};
use oci_distribution_client::{Client, ClientConfig, ParallelDownload, RetryPolicy};
use oci_spec_types::MediaType;
use oci_target::conformance::{self, Flags, describe, unique_tag};
use oci_target::{ErrorKind, ReadOnlyTarget, ReadOnlyTargetExt, Target, TargetExt};
use oci_test_registry::{Failure, Registry};

fn config_for(r: &Registry) -> ClientConfig {
    let config = ClientConfig::default().with_retry(
        RetryPolicy::default().with_backoff(Duration::from_millis(5), Duration::from_millis(50)),
    );
    if r.is_tls() {
        config.with_ca_pem(r.ca_pem().as_bytes().to_vec())
    } else {
        let mut c = config.with_plain_http(r.host());
        if let Some(t) = r.token_server() {
            c = c.with_plain_http(t.host());
        }
        c
    }
}

/// Repository `name` of `r` through a client without credentials.
fn anonymous_repo(r: &Registry, name: &str) -> oci_distribution_client::Repository {
    Client::new(config_for(r))
        .unwrap()
        .repository(r.host(), name)
        .unwrap()
}

/// The registry said no to who we are: unauthorised or denied.
fn assert_refused(e: &oci_target::Error) {
    assert!(
        matches!(e.kind(), ErrorKind::Unauthorized | ErrorKind::Denied),
        "{e}"
    );
}

fn alice(r: &Registry) -> Client {
    let (user, pass) = r.users()[0];
    Client::new(
        config_for(r).with_credentials(
            StaticCredentials::new().with(r.host(), Credential::basic(user, pass)),
        ),
    )
    .unwrap()
}

/// Flags for a registry repository: every capability it has, and a corrupt hook that writes the
/// registry's own storage behind its back.
fn flags(r: &'static Registry) -> Flags {
    Flags::all()
        .with_untag(false)
        .with_corrupt(move |digest, bytes| {
            let path = r.blob_path(digest.algorithm(), digest.encoded());
            assert!(path.exists(), "no blob file at {}", path.display());
            std::fs::write(&path, bytes).unwrap();
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_anonymous_with_a_large_blob() {
    let r = Registry::anonymous();
    let repo = anonymous_repo(r, "conformance/anonymous");
    conformance::run_all(&repo, &flags(r).with_large_blob(1 << 30)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_basic_auth() {
    let r = Registry::basic_auth();
    let repo = alice(r).repository(r.host(), "conformance/basic").unwrap();
    conformance::run_all(&repo, &flags(r)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_token_auth() {
    let r = Registry::token_auth();
    let repo = alice(r).repository(r.host(), "conformance/token").unwrap();
    conformance::run_all(&repo, &flags(r)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_tls() {
    let r = Registry::tls();
    let repo = anonymous_repo(r, "conformance/tls");
    conformance::run_all(&repo, &flags(r)).await;
}

#[tokio::test]
async fn basic_auth_refuses_missing_and_wrong_credentials() {
    let r = Registry::basic_auth();
    let anonymous = anonymous_repo(r, "alice/x");
    let e = anonymous.tags().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized, "{e}");
    let wrong = Client::new(config_for(r).with_credentials(
        StaticCredentials::new().with(r.host(), Credential::basic("alice", "nope")),
    ))
    .unwrap()
    .repository(r.host(), "alice/x")
    .unwrap();
    let e = wrong.tags().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized, "{e}");
    assert!(!e.to_string().contains("nope"));
    alice(r).ping(r.host()).await.unwrap();
}

#[tokio::test]
async fn tokens_are_cached_per_scope_and_scoped_by_policy() {
    let r = Registry::token_auth();
    let server = r.token_server().unwrap();
    let client = alice(r);
    let repo = client.repository(r.host(), "alice/cache").unwrap();
    let before = server.served();
    let mut pushed = Vec::new();
    for i in 0..5 {
        let data = Bytes::from(format!("cached token blob {i} {}", unique_tag("c")));
        let d = describe("application/octet-stream", &data);
        repo.push_bytes(&d, data).await.unwrap();
        pushed.push(d);
    }
    for d in &pushed {
        assert!(repo.exists(d).await.unwrap());
    }
    let used = server.served() - before;
    assert!(
        used <= 2,
        "{used} token requests for one repository's pushes and checks: the cache is not used"
    );

    // bob may not push to alice's repositories, and anonymous may only pull public ones.
    let (bob_user, bob_pass) = r.users()[1];
    let bob = Client::new(config_for(r).with_credentials(
        StaticCredentials::new().with(r.host(), Credential::basic(bob_user, bob_pass)),
    ))
    .unwrap();
    let data = Bytes::from_static(b"bob was here");
    let d = describe("application/octet-stream", &data);
    let e = bob
        .repository(r.host(), "alice/cache")
        .unwrap()
        .push_bytes(&d, data.clone())
        .await
        .unwrap_err();
    assert_refused(&e);
    bob.repository(r.host(), "bob/own")
        .unwrap()
        .push_bytes(&d, data.clone())
        .await
        .unwrap();
    let anon = Client::new(config_for(r)).unwrap();
    let e = anon
        .repository(r.host(), "alice/cache")
        .unwrap()
        .exists(&pushed[0])
        .await
        .unwrap_err();
    assert_refused(&e);
}

#[tokio::test]
async fn mounts_across_repositories_ask_for_both_scopes() {
    let r = Registry::token_auth();
    let client = alice(r);
    let source = client.repository(r.host(), "alice/source").unwrap();
    let data = Bytes::from(format!("mount me {}", unique_tag("m")));
    let d = describe("application/octet-stream", &data);
    source.push_bytes(&d, data).await.unwrap();
    let target = client.repository(r.host(), "alice/target").unwrap();
    assert!(
        target.mount(&d, "alice/source").await.unwrap(),
        "the registry declined the mount"
    );
    assert!(target.exists(&d).await.unwrap());
    // Without pull rights on the source, the registry declines and nothing is mounted.
    let other = Bytes::from(format!("not mountable {}", unique_tag("n")));
    let od = describe("application/octet-stream", &other);
    assert!(!target.mount(&od, "alice/source").await.unwrap());
}

#[tokio::test]
async fn refresh_tokens_use_the_oauth2_form() {
    let r = Registry::token_auth();
    let server = r.token_server().unwrap();
    // Get a refresh token the way `docker login` does, with the password grant.
    let http = reqwest::Client::new();
    let body = http
        .post(server.realm())
        .form(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", r.users()[0].1),
            ("service", server.service()),
            ("client_id", "test"),
        ])
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let refresh = answer["refresh_token"].as_str().unwrap().to_owned();
    let client = Client::new(config_for(r).with_credentials(
        StaticCredentials::new().with(r.host(), Credential::RefreshToken(refresh.into())),
    ))
    .unwrap();
    let repo = client.repository(r.host(), "alice/refresh").unwrap();
    let data = Bytes::from(format!("pushed with a refresh token {}", unique_tag("r")));
    let d = describe("application/octet-stream", &data);
    repo.push_bytes(&d, data.clone()).await.unwrap();
    assert_eq!(repo.fetch_bytes(&d, 1 << 20).await.unwrap(), data);
}

#[tokio::test]
async fn token_server_failures_are_typed_errors() {
    let r = Registry::start(oci_test_registry::Config::new(
        oci_test_registry::Auth::Token,
    ));
    let server = r.token_server().unwrap();
    for (failure, kinds) in [
        (Failure::ServerError, &[ErrorKind::Transport][..]),
        (Failure::Garbage, &[ErrorKind::Unauthorized][..]),
        (Failure::Refuse, &[ErrorKind::Unauthorized][..]),
    ] {
        server.set_failure(failure);
        let client = Client::new(
            config_for(&r)
                .with_retry(RetryPolicy::none())
                .with_credentials(
                    StaticCredentials::new()
                        .with(r.host(), Credential::basic("alice", r.users()[0].1)),
                ),
        )
        .unwrap();
        let e = client
            .repository(r.host(), "alice/x")
            .unwrap()
            .tags()
            .await
            .unwrap_err();
        assert!(kinds.contains(&e.kind()), "{failure:?}: {e}");
    }
    server.set_failure(Failure::None);
    alice(&r)
        .repository(r.host(), "alice/x")
        .unwrap()
        .push_content(MediaType::octet_stream(), Bytes::from_static(b"ok again"))
        .await
        .unwrap();
}

#[tokio::test]
async fn tls_needs_the_ca_and_never_falls_back_to_plain_http() {
    let r = Registry::tls();
    let without = Client::new(ClientConfig::default().with_retry(RetryPolicy::none())).unwrap();
    let e = without.ping(r.host()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transport, "{e}");
    Client::new(config_for(r))
        .unwrap()
        .ping(r.host())
        .await
        .unwrap();
    // An anonymous plain-HTTP registry is refused unless marked.
    let plain = Registry::anonymous();
    let e = Client::new(ClientConfig::default().with_retry(RetryPolicy::none()))
        .unwrap()
        .ping(plain.host())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transport, "{e}");
}

#[tokio::test]
async fn chunked_and_parallel_transfers_against_the_registry() {
    let r = Registry::anonymous();
    let chunked = Client::new(
        config_for(r)
            .with_chunk_size(1 << 20)
            .with_buffered_upload_max(1 << 10),
    )
    .unwrap();
    let repo = chunked.repository(r.host(), "alice/chunked").unwrap();
    let data = Bytes::from(
        (0..5_000_000u32)
            .map(|i| (i % 253) as u8)
            .collect::<Vec<_>>(),
    );
    let d = describe("application/octet-stream", &data);
    repo.push_bytes(&d, data.clone()).await.unwrap();
    let unknown = repo
        .push_stream(
            &oci_target::Unhashed::new(MediaType::octet_stream()),
            oci_target::bytes_stream(data.slice(1..)),
        )
        .await
        .unwrap();
    assert_eq!(unknown.digest, oci_digest::sha256(&data[1..]));
    let parallel = Client::new(
        config_for(r).with_parallel_download(
            ParallelDownload::default()
                .with_connections(4)
                .with_segment_size(1 << 20)
                .with_min_size(0),
        ),
    )
    .unwrap();
    let got = parallel
        .repository(r.host(), "alice/chunked")
        .unwrap()
        .fetch_bytes(&d, u64::MAX)
        .await
        .unwrap();
    assert!(got == data);
}

#[tokio::test]
async fn catalog_and_tag_listing() {
    let r = Registry::basic_auth();
    let client = alice(r);
    let repo = client.repository(r.host(), "alice/listing").unwrap();
    let manifest = conformance::push_image(&repo, "listing").await;
    let tags: Vec<String> = (0..5).map(|i| format!("t{i}")).collect();
    for t in &tags {
        repo.tag(&manifest, t).await.unwrap();
    }
    let listed = repo.tags().await.unwrap();
    for t in &tags {
        assert!(listed.contains(t), "{listed:?}");
    }
    let repos = client.catalog(r.host()).await.unwrap();
    assert!(repos.contains(&"alice/listing".to_string()), "{repos:?}");
}

#[tokio::test]
async fn client_certificates_are_presented_when_required() {
    let r = Registry::start(
        oci_test_registry::Config::new(oci_test_registry::Auth::Anonymous).with_client_certs(),
    );
    let without = Client::new(config_for(&r).with_retry(RetryPolicy::none())).unwrap();
    let e = without.ping(r.host()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transport, "{e}");
    let with =
        Client::new(config_for(&r).with_client_identity_pem(r.client_identity_pem().into_bytes()))
            .unwrap();
    with.ping(r.host()).await.unwrap();
    let repo = with.repository(r.host(), "mtls/app").unwrap();
    repo.push_content(
        MediaType::octet_stream(),
        Bytes::from_static(b"over mutual TLS"),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn http2_is_used_where_the_registry_offers_it() {
    let tls = Registry::tls();
    assert_eq!(
        Client::new(config_for(tls))
            .unwrap()
            .http_version(tls.host())
            .await
            .unwrap(),
        "HTTP/2.0"
    );
    let plain = Registry::anonymous();
    assert_eq!(
        Client::new(config_for(plain))
            .unwrap()
            .http_version(plain.host())
            .await
            .unwrap(),
        "HTTP/1.1"
    );
}

#[tokio::test]
async fn anonymous_tokens_pull_what_anyone_may() {
    let r = Registry::token_auth();
    let data = Bytes::from(format!("public content {}", unique_tag("p")));
    let d = describe("application/octet-stream", &data);
    alice(r)
        .repository(r.host(), "public/app")
        .unwrap()
        .push_bytes(&d, data.clone())
        .await
        .unwrap();
    let anonymous = anonymous_repo(r, "public/app");
    assert_eq!(anonymous.fetch_bytes(&d, 1 << 20).await.unwrap(), data);
    let e = anonymous
        .push_bytes(
            &describe("application/octet-stream", b"nope"),
            Bytes::from_static(b"nope"),
        )
        .await
        .unwrap_err();
    assert_refused(&e);
}

#[tokio::test]
async fn deleting_a_referrer_removes_it_from_the_fallback_index() {
    let r = Registry::anonymous();
    let repo = anonymous_repo(r, "alice/referrers");
    let subject = conformance::push_image(&repo, "subject").await;
    repo.push_bytes(
        &oci_spec_types::Descriptor::empty(),
        Bytes::from_static(b"{}"),
    )
    .await
    .unwrap();
    let mut made = Vec::new();
    for kind in ["application/spdx+json", "application/vnd.example.sig"] {
        let (m, bytes) = conformance::image_manifest(
            &oci_spec_types::Descriptor::empty(),
            &[oci_spec_types::Descriptor::empty()],
            Some(&subject),
            Some(kind),
            &[],
        );
        repo.push_bytes(&m, bytes).await.unwrap();
        made.push(m);
    }
    assert_eq!(repo.referrers(&subject, None).await.unwrap().len(), 2);
    assert_eq!(
        repo.referrers_api_known(),
        Some(false),
        "distribution 2.8 has no referrers API"
    );
    repo.delete(&made[0]).await.unwrap();
    let left = repo.referrers(&subject, None).await.unwrap();
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0].digest, made[1].digest);
    // The fallback index is an ordinary index under the fallback tag.
    let tag = oci_spec_types::distribution::fallback_tag(&subject.digest);
    let (desc, _) = repo.fetch_manifest_ref(&tag).await.unwrap();
    assert_eq!(desc.media_type, "application/vnd.oci.image.index.v1+json");
}

#[tokio::test]
async fn not_found_carries_status_and_registry_code_on_every_path() {
    let r = Registry::anonymous();
    let repo = anonymous_repo(r, "errors/missing");
    let missing_tag = repo.resolve("no-such-tag").await.unwrap_err();
    let fetched = repo.fetch_manifest_ref("no-such-tag").await.unwrap_err();
    for e in [&missing_tag, &fetched] {
        assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
        assert_eq!(e.status(), Some(404), "{e}");
        assert!(
            e.has_registry_code("MANIFEST_UNKNOWN") || e.has_registry_code("NAME_UNKNOWN"),
            "{e:?}"
        );
    }
    let blob = describe("application/octet-stream", b"never pushed");
    let e = repo.stat_blob(&blob.digest).await.unwrap_err();
    assert_eq!(
        (e.kind(), e.status()),
        (ErrorKind::NotFound, Some(404)),
        "{e}"
    );
    let e = repo.fetch_bytes(&blob, 1024).await.unwrap_err();
    assert_eq!(
        (e.kind(), e.status()),
        (ErrorKind::NotFound, Some(404)),
        "{e}"
    );
    assert!(e.has_registry_code("BLOB_UNKNOWN"), "{e:?}");
}
