//! Through a proxy that breaks things on a seeded schedule (busy answers with `Retry-After`,
//! responses cut mid-body, stalls past the read timeout, manifests cut short): a 256 MiB pull and
//! push, and a 1,000-blob copy each way, complete with every byte verified; a fault that outlasts
//! the retry policy ends in a typed error with nothing half-written at the destination.

use std::time::{Duration, Instant};

use bytes::Bytes;
use oci_distribution_client::{Client, ClientConfig, Repository, RetryPolicy};
use oci_layout::{LayoutOptions, OciLayout};
use oci_spec_types::{Descriptor, MediaType};
use oci_target::{
    CopyGraphOptions, CopyOptions, ErrorKind, ReadOnlyTarget, ReadOnlyTargetExt, Target, TargetExt,
    copy,
};
use oci_test_registry::{Config, FaultPlan, FaultProxy, Registry};

/// A client of the registry behind `proxy`, with `read` as its read timeout: short where the
/// proxy stalls, so a stall is a timeout.
fn through_with(proxy: &FaultProxy, name: &str, retries: u32, read: Duration) -> Repository {
    Client::new(
        ClientConfig::default()
            .with_plain_http(proxy.host())
            .with_timeouts(Duration::from_secs(2), read)
            .with_retry(
                RetryPolicy::default()
                    .with_max_retries(retries)
                    .with_backoff(Duration::from_millis(1), Duration::from_millis(20)),
            ),
    )
    .unwrap()
    .repository(proxy.host(), name)
    .unwrap()
}

fn through(proxy: &FaultProxy, name: &str, retries: u32) -> Repository {
    through_with(proxy, name, retries, Duration::from_secs(2))
}

/// The error of a client that gave up on a registry answering busy: typed, with the status.
fn assert_gave_up(err: &oci_target::Error) {
    assert!(
        matches!(
            err.kind(),
            ErrorKind::Transport | ErrorKind::TooManyRequests
        ),
        "{err}"
    );
    assert!(err.status().is_some(), "{err}");
}

fn direct(r: &Registry, name: &str) -> Repository {
    Client::new(ClientConfig::default().with_plain_http(r.host()))
        .unwrap()
        .repository(r.host(), name)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_256_mib_pull_and_push_survive_cuts_stalls_and_busy_answers() {
    let r = Registry::start(Config::new(oci_test_registry::Auth::Anonymous));
    let data: Vec<u8> = (0..256u32 << 20).map(|i| (i % 253) as u8).collect();
    let data = Bytes::from(data);
    let blob = Descriptor::new(
        MediaType::octet_stream(),
        oci_digest::sha256(&data),
        data.len() as u64,
    );

    // Push through busy answers to the existence check and the upload start. The registry's
    // commit of 256 MiB can outlast a short read timeout: this client waits as long as a default
    // one.
    let proxy = FaultProxy::start(r.host(), FaultPlan::new(7).with_rates(400, 0, 0));
    let started = Instant::now();
    through_with(&proxy, "faults/big", 8, Duration::from_secs(60))
        .push_bytes(&blob, data.clone())
        .await
        .unwrap();
    let push = proxy.counts();
    eprintln!("push of 256 MiB: {push:?} in {:?}", started.elapsed());
    assert!(direct(&r, "faults/big").exists(&blob).await.unwrap());

    let started = Instant::now();
    let clean = direct(&r, "faults/big")
        .fetch_bytes(&blob, u64::MAX)
        .await
        .unwrap();
    assert!(clean == data);
    eprintln!("clean pull of 256 MiB in {:?}", started.elapsed());

    // Pull through cuts every few megabytes, stalls and busy answers.
    let proxy = FaultProxy::start(
        r.host(),
        FaultPlan::new(11)
            .with_rates(100, 990, 20)
            .with_stall(Duration::from_secs(3)),
    );
    let started = Instant::now();
    let got = through(&proxy, "faults/big", 8)
        .fetch_bytes(&blob, u64::MAX)
        .await
        .unwrap();
    assert!(got == data, "the pulled bytes differ");
    let pull = proxy.counts();
    eprintln!("pull of 256 MiB: {pull:?} in {:?}", started.elapsed());
    assert!(pull.faults() >= 50, "only {pull:?}");
    assert!(pull.cut >= 40 && pull.busy >= 1, "{pull:?}");
}

/// A layout holding an image of `blobs` distinct 4 KiB layers, tagged `wide`.
async fn wide_layout(dir: &std::path::Path, blobs: usize) -> (OciLayout, Descriptor) {
    let layout = OciLayout::create(dir, LayoutOptions::default().with_fsync(false))
        .await
        .unwrap();
    let mut layers = Vec::new();
    for i in 0..blobs {
        let bytes = Bytes::from(format!("layer {i:05} ").repeat(372));
        layers.push(
            layout
                .push_content(MediaType::octet_stream(), bytes)
                .await
                .unwrap(),
        );
    }
    let desc = oci_test_registry::content::push_image(&layout, layers).await;
    layout.tag(&desc, "wide").await.unwrap();
    (layout, desc)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_1000_blob_copy_each_way_through_faults_completes_and_verifies() {
    let r = Registry::start(Config::new(oci_test_registry::Auth::Anonymous));
    let work = tempfile::tempdir().unwrap();
    let (src, root) = wide_layout(&work.path().join("src"), 1000).await;
    let options =
        CopyOptions::default().with_graph(CopyGraphOptions::default().with_concurrency(8));

    let proxy = FaultProxy::start(r.host(), FaultPlan::new(3).with_rates(60, 0, 0));
    let started = Instant::now();
    copy(
        &src,
        "wide",
        &through(&proxy, "faults/wide", 6),
        "wide",
        &options,
    )
    .await
    .unwrap();
    let up = proxy.counts();
    eprintln!(
        "1,002 nodes layout -> registry: {up:?} in {:?}",
        started.elapsed()
    );
    assert!(up.faults() >= 50, "{up:?}");

    let proxy = FaultProxy::start(r.host(), FaultPlan::new(5).with_rates(40, 80, 0));
    let dst = OciLayout::create(work.path().join("dst"), LayoutOptions::default())
        .await
        .unwrap();
    let started = Instant::now();
    copy(
        &through(&proxy, "faults/wide", 6),
        "wide",
        &dst,
        "wide",
        &options,
    )
    .await
    .unwrap();
    let down = proxy.counts();
    eprintln!(
        "1,002 nodes registry -> layout: {down:?} in {:?}",
        started.elapsed()
    );
    assert!(down.faults() >= 50, "{down:?}");
    assert_eq!(dst.resolve("wide").await.unwrap().digest, root.digest);
    assert!(
        dst.fsck().await.unwrap().is_empty(),
        "a blob does not verify"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_that_outlasts_the_retries_is_a_typed_error_and_nothing_is_half_written() {
    let r = Registry::anonymous();
    let work = tempfile::tempdir().unwrap();
    let (src, _) = wide_layout(&work.path().join("src"), 20).await;
    copy(
        &src,
        "wide",
        &direct(r, "faults/down"),
        "wide",
        &CopyOptions::default(),
    )
    .await
    .unwrap();
    // Every request is answered 503 or 429.
    let proxy = FaultProxy::start(r.host(), FaultPlan::new(1).with_rates(1000, 0, 0));
    let dst = OciLayout::create(work.path().join("dst"), LayoutOptions::default())
        .await
        .unwrap();
    let err = copy(
        &through(&proxy, "faults/down", 2),
        "wide",
        &dst,
        "wide",
        &CopyOptions::default(),
    )
    .await
    .unwrap_err();
    assert_gave_up(&err);
    assert!(
        dst.resolve("wide").await.is_err(),
        "a tag at the destination"
    );
    assert!(dst.fsck().await.unwrap().is_empty());
    // And the other way: nothing tagged at the registry.
    let err = copy(
        &src,
        "wide",
        &through(&proxy, "faults/up", 2),
        "wide",
        &CopyOptions::default(),
    )
    .await
    .unwrap_err();
    assert_gave_up(&err);
    assert!(direct(r, "faults/up").resolve("wide").await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manifest_cut_short_is_asked_for_again_and_then_refused() {
    let r = Registry::anonymous();
    let work = tempfile::tempdir().unwrap();
    let (src, root) = wide_layout(&work.path().join("src"), 3).await;
    copy(
        &src,
        "wide",
        &direct(r, "faults/manifest"),
        "wide",
        &CopyOptions::default(),
    )
    .await
    .unwrap();
    // Every manifest body is cut in half: asked again as often as the retry policy allows,
    // then a typed error (never a truncated manifest taken for a whole one).
    let proxy = FaultProxy::start(r.host(), FaultPlan::new(2).with_rates(0, 1000, 0));
    let repo = through(&proxy, "faults/manifest", 3);
    let err = repo
        .fetch_manifest_ref(root.digest.as_str())
        .await
        .unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Transport | ErrorKind::Cancelled),
        "{err}"
    );
    assert_eq!(proxy.counts().cut, 4, "{:?}", proxy.counts());
    // Cut half of the time: it comes whole in the end, and verified.
    let proxy = FaultProxy::start(r.host(), FaultPlan::new(9).with_rates(0, 500, 0));
    let repo = through(&proxy, "faults/manifest", 8);
    for _ in 0..10 {
        let (desc, _) = repo.fetch_manifest_ref(root.digest.as_str()).await.unwrap();
        assert_eq!(desc.digest, root.digest);
    }
    assert!(proxy.counts().cut >= 1, "{:?}", proxy.counts());
}
