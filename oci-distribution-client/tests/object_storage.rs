//! The client against the distribution registry on object storage (S3, through a local
//! `moto_server`), the way registries run at scale: every blob GET is a 307 to a presigned URL
//! on the S3 endpoint's port, which the client follows without sending anything of its own.

use std::time::Duration;

use bytes::Bytes;
use oci_distribution_client::{Client, ClientConfig, ParallelDownload, Repository, RetryPolicy};
use oci_layout::{LayoutOptions, OciLayout};
use oci_spec_types::MediaType;
use oci_target::conformance::{self, Flags};
use oci_target::{CopyOptions, ReadOnlyTarget, ReadOnlyTargetExt, Target, TargetExt, copy};
use oci_test_registry::Registry;

fn config(r: &Registry) -> ClientConfig {
    ClientConfig::default()
        .with_plain_http(r.host())
        .with_retry(
            RetryPolicy::default()
                .with_backoff(Duration::from_millis(5), Duration::from_millis(50)),
        )
}

/// The presigned blob GETs the object store received since `from` requests were recorded.
fn presigned_gets(r: &Registry, from: usize) -> Vec<serde_json::Value> {
    r.s3_requests()
        .into_iter()
        .skip(from)
        .filter(|q| {
            q["method"] == "GET"
                && q["url"]
                    .as_str()
                    .is_some_and(|u| u.contains("X-Amz-Signature="))
        })
        .collect()
}

/// Pushes `len` bytes to `repo`, pulls them back whole and checks them; returns how many
/// requests the object store had recorded before the pull.
async fn push_and_pull(r: &Registry, repo: &Repository, len: u32) -> usize {
    let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    let blob = repo
        .push_content(MediaType::octet_stream(), Bytes::from(data.clone()))
        .await
        .unwrap();
    let before = r.s3_requests().len();
    let got = repo.fetch_bytes(&blob, u64::MAX).await.unwrap();
    assert!(got == data, "the bytes differ");
    before
}

/// The presigned GETs since `from` that asked for a range.
fn ranged_gets(r: &Registry, from: usize) -> usize {
    presigned_gets(r, from)
        .into_iter()
        .filter(|q| {
            q["headers"]
                .to_string()
                .to_ascii_lowercase()
                .contains("\"range\"")
        })
        .count()
}

/// Held by the tests that hold tens of megabytes at once: the conformance suite measures the
/// process's peak memory around its large blob, which another test's buffers must not raise.
static MEMORY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_on_object_storage() {
    let _alone = MEMORY.lock().await;
    let r = Registry::s3();
    let repo = Client::new(config(r))
        .unwrap()
        .repository(r.host(), "conformance/s3")
        .unwrap();
    let mut flags = Flags::all().with_untag(false).with_large_blob(64 << 20);
    // Distribution 2.8's S3 driver answers 500 to the upload of an empty blob (the same upload
    // with curl does too); the blobs live in S3, out of reach of a corruption hook.
    flags.no_empty_blob = true;
    conformance::run_all(&repo, &flags).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulls_follow_presigned_redirects_whole_and_in_ranges_without_our_credentials() {
    let _alone = MEMORY.lock().await;
    let r = Registry::s3();
    let repo = Client::new(config(r))
        .unwrap()
        .repository(r.host(), "s3/pull")
        .unwrap();
    let before = push_and_pull(r, &repo, 6_000_000).await;
    let gets = presigned_gets(r, before);
    assert!(
        !gets.is_empty(),
        "the blob did not come from the object store"
    );

    // Parallel ranged downloads, each on a presigned URL of its own.
    let parallel = Client::new(
        config(r).with_parallel_download(
            ParallelDownload::default()
                .with_connections(4)
                .with_segment_size(1 << 20)
                .with_min_size(0),
        ),
    )
    .unwrap()
    .repository(r.host(), "s3/pull")
    .unwrap();
    let before = push_and_pull(r, &parallel, 6_000_000).await;
    let ranged = ranged_gets(r, before);
    assert!(
        ranged >= 4,
        "only {ranged} ranged GETs reached the object store"
    );

    // Nothing of ours went to the object store: its presigned GETs carry a query signature and
    // no Authorization header.
    for q in presigned_gets(r, 0) {
        let headers = q["headers"].to_string().to_ascii_lowercase();
        assert!(!headers.contains("\"authorization\""), "{q}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_in_and_out_of_a_registry_on_object_storage() {
    let r = Registry::s3();
    let repo = Client::new(config(r))
        .unwrap()
        .repository(r.host(), "s3/copy")
        .unwrap();
    let layer = repo
        .push_content(MediaType::octet_stream(), Bytes::from(vec![9u8; 3 << 20]))
        .await
        .unwrap();
    let manifest = oci_test_registry::content::push_image(&repo, vec![layer.clone()]).await;
    repo.tag(&manifest, "v1").await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let layout = OciLayout::create(dir.path().join("out"), LayoutOptions::default())
        .await
        .unwrap();
    copy(&repo, "v1", &layout, "v1", &CopyOptions::default())
        .await
        .unwrap();
    assert!(layout.fsck().await.unwrap().is_empty());
    assert_eq!(layout.resolve("v1").await.unwrap().digest, manifest.digest);

    let back = Client::new(config(r))
        .unwrap()
        .repository(r.host(), "s3/copy-back")
        .unwrap();
    copy(&layout, "v1", &back, "v1", &CopyOptions::default())
        .await
        .unwrap();
    assert_eq!(back.resolve("v1").await.unwrap().digest, manifest.digest);
    assert!(back.exists(&layer).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_probe_reports_blob_redirects_to_another_origin() {
    let s3 = Registry::s3();
    let report = Client::new(config(s3))
        .unwrap()
        .probe(s3.host(), "probe/s3")
        .await
        .unwrap();
    let f = report.get("blob_redirect").unwrap();
    assert_eq!(f.support, oci_distribution_client::Support::Yes, "{f:?}");
    assert!(f.detail.contains("another origin"), "{f:?}");
    assert!(f.detail.contains(s3.s3_endpoint().unwrap()), "{f:?}");

    let plain = Registry::anonymous();
    let report = Client::new(config(plain))
        .unwrap()
        .probe(plain.host(), "probe/plain")
        .await
        .unwrap();
    let f = report.get("blob_redirect").unwrap();
    assert_eq!(f.support, oci_distribution_client::Support::No, "{f:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_cut_on_the_presigned_url_resumes_with_range_on_a_fresh_redirect() {
    use oci_test_registry::{Auth, Config, FaultPlan};
    let _alone = MEMORY.lock().await;
    // Downloads from presigned URLs (never the registry's own calls to S3) are cut every few
    // megabytes, 7 times in 10. The schedule counts presigned requests alone, and with this
    // seed it cuts the first five of them.
    let plan = FaultPlan::new(28)
        .with_rates(0, 700, 0)
        .only_targets_with("X-Amz-Signature=");
    let r = Registry::start(Config::new(Auth::Anonymous).with_s3_faults(plan));
    let repo = Client::new(config(&r))
        .unwrap()
        .repository(r.host(), "s3/cuts")
        .unwrap();
    let before = push_and_pull(&r, &repo, 48_000_000).await;
    let cuts = r.s3_faults().unwrap();
    let resumed = ranged_gets(&r, before);
    eprintln!("48 MB through cuts on the presigned URL: {cuts:?}, {resumed} ranged presigned GETs");
    assert!(cuts.cut >= 3, "{cuts:?}");
    assert!(
        resumed >= 3,
        "only {resumed} resumed GETs reached the object store"
    );
}
