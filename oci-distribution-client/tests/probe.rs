//! The registry probe against the real distribution registry: what it finds on Debian's
//! registry 2.8, and that it leaves nothing behind.

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
