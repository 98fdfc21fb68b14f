//! The client against the peer registries in `$OCI_PEERS_DIR`: distribution v3.1.1 and olareg
//! (the OCI 1.1 referrers API). Where the peers are absent each test says so in one line and
//! checks nothing else.

use std::time::Duration;

use bytes::Bytes;
use oci_distribution_client::{Client, ClientConfig, Repository, RetryPolicy};
use oci_spec_types::distribution::fallback_tag;
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
        let flags = Flags::all()
            .with_untag(false)
            .with_large_blob(256 << 20)
            .with_corrupt(move |digest, bytes| {
                let path = r.blob_path(digest.algorithm(), digest.encoded());
                std::fs::write(path, bytes).unwrap();
            });
        conformance::run_all(&repo, &flags).await;
    }
    if let Some(r) = Registry::peer(Peer::Olareg) {
        let repo = repo(r, "conformance/olareg");
        conformance::run_all(&repo, &Flags::all().with_untag(false)).await;
    }
}

/// Pushes a manifest over one layer of `layer_type` holding `content`, with the empty config,
/// and the artifact type and subject given.
async fn push_manifest(
    repo: &Repository,
    layer_type: MediaType,
    content: &'static [u8],
    artifact_type: Option<MediaType>,
    subject: Option<&Descriptor>,
) -> Descriptor {
    let layer = repo
        .push_content(layer_type, Bytes::from_static(content))
        .await
        .unwrap();
    let config = oci_test_registry::content::empty_config(repo).await;
    let mut manifest = ImageManifest::new(config, vec![layer]);
    if let Some(t) = artifact_type {
        manifest = manifest.with_artifact_type(t);
    }
    if let Some(s) = subject {
        manifest = manifest.with_subject(s.as_subject());
    }
    oci_test_registry::content::push_manifest(repo, &manifest).await
}

/// Pushes a small image to `repo`, tagged `v1`.
async fn image(repo: &Repository) -> Descriptor {
    let desc = push_manifest(repo, MediaType::octet_stream(), b"app", None, None).await;
    repo.tag(&desc, "v1").await.unwrap();
    desc
}

/// Attaches an artifact of `artifact_type` to `subject`.
async fn attach(
    repo: &Repository,
    subject: &Descriptor,
    artifact_type: &'static str,
) -> Descriptor {
    let t = MediaType::parse(artifact_type).unwrap();
    push_manifest(
        repo,
        t.clone(),
        artifact_type.as_bytes(),
        Some(t),
        Some(subject),
    )
    .await
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

/// Every registry of the matrix that runs here: 2.8, 2.8 on S3, and the peers where present.
fn matrix() -> Vec<(&'static str, &'static Registry)> {
    let mut all = vec![
        ("distribution 2.8", Registry::anonymous()),
        ("distribution 2.8 on S3", Registry::s3()),
    ];
    if let Some(r) = Registry::peer(Peer::RegistryV3) {
        all.push(("distribution v3.1.1", r));
    }
    if let Some(r) = Registry::peer(Peer::Olareg) {
        all.push(("olareg", r));
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_and_listings_on_every_registry_of_the_matrix() {
    let data: Vec<u8> = (0..5_000_000u32).map(|i| (i % 241) as u8).collect();
    for (name, r) in matrix() {
        let config = ClientConfig::default()
            .with_plain_http(r.host())
            .with_chunk_size(1 << 20)
            .with_buffered_upload_max(0)
            .with_parallel_download(
                oci_distribution_client::ParallelDownload::default()
                    .with_connections(3)
                    .with_segment_size(1 << 20)
                    .with_min_size(0),
            );
        let repo = Client::new(config)
            .unwrap()
            .repository(r.host(), "matrix/transfers")
            .unwrap();
        // Chunked upload, then a parallel ranged download.
        let blob = Descriptor::new(
            MediaType::octet_stream(),
            oci_digest::sha256(&data),
            data.len() as u64,
        );
        repo.push_bytes(&blob, Bytes::from(data.clone()))
            .await
            .unwrap_or_else(|e| panic!("{name}: chunked push: {e}"));
        let got = repo
            .fetch_bytes(&blob, u64::MAX)
            .await
            .unwrap_or_else(|e| panic!("{name}: ranged pull: {e}"));
        assert!(got == data, "{name}: the bytes differ");
        // Tags, listed whole however the registry pages them.
        let subject = image(&repo).await;
        for t in ["a", "b", "c"] {
            repo.tag(&subject, t).await.unwrap();
        }
        let tags = repo.tags().await.unwrap();
        for t in ["a", "b", "c", "v1"] {
            assert!(tags.iter().any(|x| x == t), "{name}: {tags:?}");
        }
        // Not found, typed, with the status.
        let e = repo.resolve("no-such-tag").await.unwrap_err();
        assert_eq!(e.kind(), oci_target::ErrorKind::NotFound, "{name}: {e}");
        assert_eq!(e.status(), Some(404), "{name}: {e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_with_referrers_leaves_olareg_for_a_layout_and_distribution() {
    let Some(r) = Registry::peer(Peer::Olareg) else {
        return;
    };
    let src = repo(r, "referrers/copy");
    let subject = image(&src).await;
    let sbom = attach(&src, &subject, "application/spdx+json").await;
    let dir = tempfile::tempdir().unwrap();
    let layout = oci_layout::OciLayout::create(dir.path(), oci_layout::LayoutOptions::default())
        .await
        .unwrap();
    let options = oci_target::ExtendedCopyOptions::default();
    oci_target::extended_copy(&src, "v1", &layout, "v1", &options)
        .await
        .unwrap();
    let found = layout.referrers(&subject, None).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].digest, sbom.digest);
    let dst = repo(Registry::anonymous(), "referrers/from-olareg");
    oci_target::extended_copy(&src, "v1", &dst, "v1", &options)
        .await
        .unwrap();
    assert_eq!(dst.referrers(&subject, None).await.unwrap().len(), 1);
}
