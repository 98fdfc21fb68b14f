//! The registry probe against the real distribution registry: what it finds on Debian's
//! registry 2.8, and that it leaves nothing behind. What 2.8 cannot show (a referrers API, a
//! minimum chunk, mounts without `from`, tag pagination) is shown by a small in-process registry
//! that implements them.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use support::hostile::{Hostile, Recorded, Reply};

use oci_distribution_client::auth::{Credential, StaticCredentials};
use oci_distribution_client::{Client, ClientConfig, Support};
use oci_target::ReadOnlyTarget;
use oci_test_registry::Registry;

fn support(report: &oci_distribution_client::ProbeReport, name: &str) -> Support {
    report
        .get(name)
        .unwrap_or_else(|| panic!("no finding {name}: {report:?}"))
        .support
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_finds_what_the_distribution_registry_supports_and_cleans_up() {
    let r = Registry::anonymous();
    let client = Client::new(ClientConfig::default().with_plain_http(r.host())).unwrap();
    let report = client.probe(r.host(), "probe/anonymous").await.unwrap();

    assert_eq!(support(&report, "auth"), Support::No, "{report:?}");
    assert_eq!(
        support(&report, "http_version"),
        Support::No,
        "plain HTTP is HTTP/1.1"
    );
    assert_eq!(
        support(&report, "referrers_api"),
        Support::No,
        "2.8 has no referrers API"
    );
    assert_eq!(support(&report, "chunked_upload"), Support::Yes);
    assert_eq!(support(&report, "mount_from"), Support::Yes);
    assert_eq!(support(&report, "mount_without_from"), Support::No);
    // Registry 2.8 answers `tags/list?n=1` with every tag: pagination of tags came in 3.0.
    let pagination = report.get("tag_pagination").unwrap();
    assert_eq!(pagination.support, Support::No, "{report:#?}");
    assert!(pagination.detail.contains("n=1 ignored"), "{pagination:?}");
    assert_eq!(support(&report, "manifest_delete"), Support::Yes);
    assert_eq!(support(&report, "blob_delete"), Support::Yes);
    let single = support(&report, "single_post_upload");
    assert_ne!(single, Support::Unknown, "{report:?}");
    assert!(report.cleaned_up, "{report:?}");

    // Nothing of the probe is left to resolve.
    let repo = client.repository(r.host(), "probe/anonymous").unwrap();
    let tags = repo.tags().await.unwrap_or_default();
    for t in &tags {
        assert!(
            repo.resolve(t).await.is_err(),
            "tag {t} still resolves after the probe"
        );
    }
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(
        json["findings"].as_array().unwrap().len(),
        report.findings.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_names_the_auth_scheme() {
    let r = Registry::basic_auth();
    let (user, pass) = r.users()[0];
    let client = Client::new(
        ClientConfig::default()
            .with_plain_http(r.host())
            .with_credentials(
                StaticCredentials::new().with(r.host(), Credential::basic(user, pass)),
            ),
    )
    .unwrap();
    let report = client.probe(r.host(), "probe/basic").await.unwrap();
    let auth = report.get("auth").unwrap();
    assert_eq!(auth.support, Support::Yes);
    assert!(auth.detail.starts_with("Basic"), "{auth:?}");
    assert_eq!(support(&report, "chunked_upload"), Support::Yes);
    assert!(
        !format!("{report:?}").contains(pass),
        "no secret in the report"
    );

    let r = Registry::token_auth();
    let client = Client::new(
        ClientConfig::default()
            .with_plain_http(r.host())
            .with_plain_http(r.token_server().unwrap().host()),
    )
    .unwrap();
    let report = client.probe(r.host(), "public/probe").await.unwrap();
    let auth = report.get("auth").unwrap();
    assert!(auth.detail.starts_with("Bearer realm="), "{auth:?}");
}

/// A registry with what 2.8 lacks: single-POST uploads, `OCI-Chunk-Min-Length`, mounts without
/// `from`, the referrers API and tag pagination. It keeps blobs and manifests in memory.
async fn modern_registry() -> Hostile {
    #[derive(Default)]
    struct State {
        blobs: HashMap<String, usize>,
        manifests: HashMap<String, (String, Vec<u8>)>,
        tags: Vec<String>,
    }
    let state = Arc::new(Mutex::new(State::default()));
    Hostile::start(move |r: &Recorded| {
        let mut st = state.lock().unwrap();
        let path = r.path().to_owned();
        let query = r.target.split_once('?').map_or("", |(_, q)| q).to_owned();
        let param = |name: &str| {
            query
                .split('&')
                .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
                .map(|v| v.replace("%3A", ":"))
        };
        let sha = |body: &[u8]| oci_digest::sha256(body).to_string();
        let m = r.method.as_str();
        if path == "/v2/" {
            return Reply::new(200, &[], "{}");
        }
        let rest = path.strip_prefix("/v2/").unwrap_or("");
        if let Some((_, tail)) = rest.split_once("/blobs/uploads/") {
            let loc = format!("/v2/{}/blobs/uploads/session", rest.split("/blobs/").next().unwrap());
            return match (m, tail) {
                ("POST", "") => {
                    if let Some(d) = param("mount")
                        && st.blobs.contains_key(&d)
                    {
                        return Reply::new(201, &[("Docker-Content-Digest", &d)], "");
                    }
                    if let Some(d) = param("digest") {
                        st.blobs.insert(d.clone(), r.body.len());
                        return Reply::new(201, &[("Docker-Content-Digest", &d)], "");
                    }
                    Reply::new(202, &[("Location", &loc), ("OCI-Chunk-Min-Length", "2048")], "")
                }
                ("PATCH", _) => Reply::new(202, &[("Location", &loc), ("Range", "0-0")], ""),
                ("PUT", _) => {
                    let d = param("digest").unwrap_or_default();
                    st.blobs.insert(d.clone(), 1);
                    Reply::new(201, &[("Docker-Content-Digest", &d)], "")
                }
                ("DELETE", _) => Reply::new(204, &[], ""),
                _ => Reply::new(405, &[], ""),
            };
        }
        if let Some((_, d)) = rest.split_once("/blobs/") {
            return match m {
                "HEAD" | "GET" => match st.blobs.get(d) {
                    Some(_) => Reply::new(200, &[("Docker-Content-Digest", d)], ""),
                    None => Reply::new(404, &[], ""),
                },
                "DELETE" => {
                    st.blobs.remove(d);
                    Reply::new(202, &[], "")
                }
                _ => Reply::new(405, &[], ""),
            };
        }
        if let Some((_, reference)) = rest.split_once("/manifests/") {
            return match m {
                "PUT" => {
                    let digest = sha(&r.body);
                    let kind = r.header("content-type").unwrap_or(MANIFEST).to_owned();
                    st.manifests.insert(digest.clone(), (kind.clone(), r.body.clone()));
                    if !reference.contains(':') {
                        st.manifests.insert(reference.to_owned(), (kind, r.body.clone()));
                        st.tags.push(reference.to_owned());
                    }
                    Reply::new(201, &[("Docker-Content-Digest", &digest)], "")
                }
                "GET" | "HEAD" => match st.manifests.get(reference) {
                    Some((kind, body)) => {
                        let digest = sha(body);
                        let reply_body = if m == "GET" { body.clone() } else { Vec::new() };
                        let mut reply = Reply::new(
                            200,
                            &[("Content-Type", kind), ("Docker-Content-Digest", &digest)],
                            reply_body,
                        );
                        if m == "HEAD" {
                            reply = Reply::head_and_body(
                                &format!(
                                    "HTTP/1.1 200 OK\nContent-Type: {kind}\nDocker-Content-Digest: {digest}\nContent-Length: {}",
                                    body.len()
                                ),
                                b"",
                                false,
                            );
                        }
                        reply
                    }
                    None => Reply::new(404, &[], ""),
                },
                "DELETE" => {
                    st.manifests.retain(|_, (_, b)| sha(b) != reference);
                    Reply::new(202, &[], "")
                }
                _ => Reply::new(405, &[], ""),
            };
        }
        if rest.contains("/referrers/") {
            return Reply::new(
                200,
                &[("Content-Type", "application/vnd.oci.image.index.v1+json")],
                r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#,
            );
        }
        if rest.ends_with("/tags/list") {
            let first = st.tags.first().cloned().unwrap_or_default();
            let name = rest.trim_end_matches("/tags/list");
            let link = format!("</v2/{name}/tags/list?n=1&last={first}>; rel=\"next\"");
            return Reply::new(
                200,
                &[("Content-Type", "application/json"), ("Link", &link)],
                format!(r#"{{"name":"{name}","tags":["{first}"]}}"#),
            );
        }
        Reply::new(404, &[], "")
    })
    .await
}

const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_reports_what_a_newer_registry_has() {
    let server = modern_registry().await;
    let client = Client::new(ClientConfig::default().with_plain_http(server.host())).unwrap();
    let report = client.probe(&server.host(), "probe/modern").await.unwrap();
    for yes in [
        "single_post_upload",
        "chunked_upload",
        "mount_from",
        "mount_without_from",
        "referrers_api",
        "tag_pagination",
        "manifest_delete",
        "blob_delete",
    ] {
        assert_eq!(support(&report, yes), Support::Yes, "{yes}: {report:#?}");
    }
    let chunked = report.get("chunked_upload").unwrap();
    assert!(
        chunked.detail.contains("minimum chunk 2048 bytes"),
        "{chunked:?}"
    );
    // The chunks honoured the announced minimum.
    let patches: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH")
        .collect();
    assert!(!patches.is_empty());
    assert!(patches.iter().all(|p| {
        p.body.len() >= 2048
            || p.header("content-range")
                .is_some_and(|c| c.starts_with("4096-"))
    }));
}
