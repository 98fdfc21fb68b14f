//! The client against the peer registries in `$OCI_PEERS_DIR`: distribution v3.1.1 and olareg
//! (the OCI 1.1 referrers API). Where the peers are absent each test says so in one line and
//! checks nothing else.

use std::time::Duration;

use bytes::Bytes;
use oci_distribution_client::{Client, ClientConfig, Repository, RetryPolicy, fallback_tag};
use oci_spec_types::{Descriptor, ImageManifest, MediaType};
use oci_target::conformance::{self, Flags};
use oci_target::{ReadOnlyTarget, ReadOnlyTargetExt, Target, TargetExt};
use oci_test_registry::{Peer, Registry};

fn repo(r: &Registry, name: &str) -> Repository {
    Client::new(
        ClientConfig::default()
            .with_plain_http(r.host())
            .with_retry(
                RetryPolicy::default()
                    .with_backoff(Duration::from_millis(5), Duration::from_millis(50)),
            ),
    )
    .unwrap()
    .repository(r.host(), name)
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_on_distribution_v3_and_olareg() {
    if let Some(r) = Registry::peer(Peer::RegistryV3) {
        let repo = repo(r, "conformance/v3");
        let flags = Flags::from_capabilities(&repo)
            .with_large_blob(256 << 20)
            .with_corrupt(move |digest, bytes| {
                let path = r.blob_path(digest.algorithm(), digest.encoded());
                std::fs::write(path, bytes).unwrap();
            });
        conformance::run_all(&repo, &flags).await;
    }
    if let Some(r) = Registry::peer(Peer::Olareg) {
        let repo = repo(r, "conformance/olareg");
        conformance::run_all(&repo, &Flags::from_capabilities(&repo)).await;
    }
}

/// Pushes a small image to `repo`, tagged `v1`.
async fn image(repo: &Repository) -> Descriptor {
    let layer = repo
        .push_content(MediaType::octet_stream(), Bytes::from_static(b"app"))
        .await
        .unwrap();
    let config = repo
        .push_content(MediaType::empty(), Bytes::from_static(b"{}"))
        .await
        .unwrap();
    let doc = ImageManifest::new(config, vec![layer])
        .to_document()
        .unwrap();
    let desc = doc.descriptor(MediaType::image_manifest());
    repo.push_bytes(&desc, doc.bytes().clone()).await.unwrap();
    repo.tag(&desc, "v1").await.unwrap();
    desc
}

/// Attaches an artifact of `artifact_type` to `subject`.
async fn attach(repo: &Repository, subject: &Descriptor, artifact_type: &str) -> Descriptor {
    let t = MediaType::parse(artifact_type).unwrap();
    let layer = repo
        .push_content(t.clone(), Bytes::from(artifact_type.as_bytes().to_vec()))
        .await
        .unwrap();
    let config = repo
        .push_content(MediaType::empty(), Bytes::from_static(b"{}"))
        .await
        .unwrap();
    let doc = ImageManifest::new(config, vec![layer])
        .with_artifact_type(t)
        .with_subject(subject.as_subject())
        .to_document()
        .unwrap();
    let desc = doc.descriptor(MediaType::image_manifest());
    repo.push_bytes(&desc, doc.bytes().clone()).await.unwrap();
    desc
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_referrers_api_on_olareg_is_detected_filtered_and_writes_no_fallback_tag() {
    let Some(r) = Registry::peer(Peer::Olareg) else {
        return;
    };
    let repo = repo(r, "referrers/api");
    let subject = image(&repo).await;
    let sbom = attach(&repo, &subject, "application/spdx+json").await;
    let sig = attach(
        &repo,
        &subject,
        "application/vnd.dev.cosign.artifact.sig.v1+json",
    )
    .await;

    let all = repo.referrers(&subject, None).await.unwrap();
    assert_eq!(all.len(), 2, "{all:?}");
    assert_eq!(repo.referrers_api_known(), Some(true));
    let spdx = MediaType::parse("application/spdx+json").unwrap();
    let only = repo.referrers(&subject, Some(&spdx)).await.unwrap();
    assert_eq!(only.len(), 1);
    assert_eq!(only[0].digest, sbom.digest);
    // The API indexes referrers itself: no fallback tag was written.
    let tags = repo.tags().await.unwrap();
    assert!(
        !tags.contains(&fallback_tag(&subject.digest)),
        "a fallback tag on a registry with the API: {tags:?}"
    );
    // Deleting a referrer removes it from the listing.
    repo.delete(&sig).await.unwrap();
    let left = repo.referrers(&subject, None).await.unwrap();
    assert_eq!(left.len(), 1);
    assert!(repo.fetch_manifest(&sig).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distribution_2_8_falls_back_to_the_referrers_tag() {
    let r = Registry::anonymous();
    let repo = repo(r, "referrers/fallback");
    let subject = image(&repo).await;
    attach(&repo, &subject, "application/spdx+json").await;
    assert_eq!(repo.referrers(&subject, None).await.unwrap().len(), 1);
    assert_eq!(repo.referrers_api_known(), Some(false));
    assert!(
        repo.tags()
            .await
            .unwrap()
            .contains(&fallback_tag(&subject.digest))
    );
}
