//! The copy engine, with counting and fault-injecting stores around the memory store.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use oci_digest::Digest;
use oci_spec_types::{Descriptor, MediaType, Platform};
use oci_target::conformance::{Faults, Instrumented, describe, image_manifest};
use oci_target::{
    BlobStream, CopyGraphOptions, CopyOptions, ErrorKind, ExtendedCopyOptions, MemoryStore,
    ProgressEvent, ReadOnlyTarget, ReadOnlyTargetExt, Target, TargetExt, copy, copy_graph,
    extended_copy,
};

const INDEX: &str = "application/vnd.oci.image.index.v1+json";
const CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// A graph in a store: an index of `manifests` manifests with `layers` layers each, all layers
/// distinct except one shared by every manifest, and one config shared by all.
struct Graph {
    root: Descriptor,
    all: Vec<Descriptor>,
    manifests: Vec<Descriptor>,
    shared_layer: Descriptor,
}

async fn push(store: &dyn Target, desc: &Descriptor, data: Bytes) {
    store.push_bytes(desc, data).await.expect("push");
}

async fn build_graph(
    store: &dyn Target,
    manifests: usize,
    layers: usize,
    platforms: bool,
) -> Graph {
    let mut all = Vec::new();
    let config_bytes = Bytes::from_static(
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#,
    );
    let config = describe(CONFIG, &config_bytes);
    push(store, &config, config_bytes).await;
    all.push(config.clone());
    let shared_bytes = Bytes::from(vec![42u8; 4096]);
    let shared_layer = describe(LAYER, &shared_bytes);
    push(store, &shared_layer, shared_bytes).await;
    all.push(shared_layer.clone());
    let mut manifest_descs = Vec::new();
    for m in 0..manifests {
        let mut ls = vec![shared_layer.clone()];
        for l in 0..layers.saturating_sub(1) {
            let data = Bytes::from(format!("layer {m}/{l} ").repeat(300));
            let d = describe(LAYER, &data);
            push(store, &d, data).await;
            all.push(d.clone());
            ls.push(d);
        }
        let (mut desc, bytes) = image_manifest(&config, &ls, None, None, &[]);
        push(store, &desc, bytes).await;
        all.push(desc.clone());
        if platforms {
            let arch = ["amd64", "arm64", "s390x"][m % 3];
            let mut p = Platform::new("linux", arch);
            if arch == "arm64" {
                p = p.with_variant("v8");
            }
            desc = desc.with_platform(p);
        }
        manifest_descs.push(desc);
    }
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": INDEX,
        "manifests": manifest_descs,
    });
    let bytes = Bytes::from(serde_json::to_vec(&index).unwrap());
    let root = describe(INDEX, &bytes);
    push(store, &root, bytes).await;
    store.tag(&root, "v1").await.unwrap();
    all.push(root.clone());
    Graph {
        root,
        all,
        manifests: manifest_descs,
        shared_layer,
    }
}

async fn assert_complete(store: &dyn Target, descs: &[Descriptor]) {
    for d in descs {
        assert!(
            store.exists(d).await.unwrap(),
            "destination lacks {}",
            d.digest
        );
        store
            .fetch_bytes(d, u64::MAX)
            .await
            .unwrap_or_else(|e| panic!("{} does not verify in the destination: {e}", d.digest));
    }
}

#[tokio::test]
async fn copies_an_index_moving_each_blob_exactly_once() {
    let src = Instrumented::new(MemoryStore::new());
    let graph = build_graph(&src, 5, 4, false).await;
    let dst = Instrumented::new(MemoryStore::new());
    let copied = copy(&src, "v1", &dst, "release", &CopyOptions::default())
        .await
        .unwrap();
    assert_eq!(copied.root, dst.resolve("release").await.unwrap());
    assert_eq!(copied.root.digest, graph.root.digest);
    assert_complete(&dst, &graph.all).await;
    assert_eq!(
        dst.inner().len(),
        graph.all.len(),
        "destination holds extra content"
    );
    assert!(
        dst.pushed_twice().is_empty(),
        "pushed twice: {:?}",
        dst.pushed_twice()
    );
    assert!(
        src.fetched_twice().is_empty(),
        "fetched twice: {:?}",
        src.fetched_twice()
    );
    assert_eq!(
        src.fetches(&graph.shared_layer.digest),
        1,
        "the shared layer moved more than once"
    );
    assert_eq!(copied.stats.copied as usize, graph.all.len());
    assert_eq!(copied.stats.skipped, 0);
}

#[tokio::test]
async fn skips_what_the_destination_has_without_fetching_it() {
    let src = Instrumented::new(MemoryStore::new());
    let graph = build_graph(&src, 3, 3, false).await;
    let dst = MemoryStore::new();
    // The destination already has the shared layer and the first manifest's whole graph.
    copy_graph(
        &MemoryStore::clone(src.inner()),
        &dst,
        &graph.manifests[0],
        &CopyGraphOptions::default(),
    )
    .await
    .unwrap();
    let had: HashSet<Digest> = dst.descriptors().into_iter().map(|d| d.digest).collect();
    assert!(had.contains(&graph.shared_layer.digest));

    let skipped = Arc::new(Mutex::new(Vec::new()));
    let seen = skipped.clone();
    let opts = CopyGraphOptions::default().with_progress(move |e: &ProgressEvent<'_>| {
        if let ProgressEvent::Skipped { desc } = e {
            seen.lock().unwrap().push(desc.digest.clone());
        }
    });
    let stats = copy_graph(&src, &dst, &graph.root, &opts).await.unwrap();
    assert_complete(&dst, &graph.all).await;
    for d in &had {
        assert_eq!(
            src.fetches(d),
            0,
            "{d} was in the destination but was fetched"
        );
    }
    let skipped = skipped.lock().unwrap();
    assert!(
        skipped.contains(&graph.manifests[0].digest),
        "the present manifest was not skipped"
    );
    assert_eq!(stats.skipped as usize, skipped.len());
    assert_eq!(stats.copied as usize + had.len(), graph.all.len());
}

#[tokio::test]
async fn an_interrupted_copy_completes_on_the_second_run_moving_only_what_is_missing() {
    let src = MemoryStore::new();
    let graph = build_graph(&src, 4, 3, false).await;
    let dst = MemoryStore::new();
    let flaky = Instrumented::new(dst.clone()).with_faults(Faults::default().fail_push(7));
    let opts = CopyOptions::default().with_graph(CopyGraphOptions::default().with_concurrency(1));
    let err = copy(&src, "v1", &flaky, "v1", &opts).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    assert!(
        dst.resolve("v1").await.is_err(),
        "the root was tagged after a failed copy"
    );
    assert!(
        !dst.exists(&graph.root).await.unwrap(),
        "the root was pushed before its children"
    );
    let after_first: HashSet<Digest> = dst.descriptors().into_iter().map(|d| d.digest).collect();
    assert!(!after_first.is_empty() && after_first.len() < graph.all.len());
    assert_complete(&dst, &dst.descriptors()).await;

    let counted = Instrumented::new(dst.clone());
    let copied = copy(&src, "v1", &counted, "v1", &opts).await.unwrap();
    assert_eq!(copied.root.digest, graph.root.digest);
    assert_complete(&dst, &graph.all).await;
    for d in &after_first {
        assert_eq!(
            counted.pushes(d),
            0,
            "{d} was pushed again on the second run"
        );
    }
    assert_eq!(counted.total_pushes(), graph.all.len() - after_first.len());
}

#[tokio::test]
async fn repair_recovers_children_of_a_manifest_the_destination_has() {
    let src = MemoryStore::new();
    let graph = build_graph(&src, 3, 3, false).await;
    let dst = MemoryStore::new();
    copy(&src, "v1", &dst, "v1", &CopyOptions::default())
        .await
        .unwrap();
    // Lose one layer, as an interrupted earlier copy by another tool might.
    let lost = graph.manifests[1].clone();
    let lost_layer = {
        let bytes = dst.fetch_manifest(&lost).await.unwrap();
        let links = oci_target::graph::links(&lost, &bytes).unwrap();
        links.layers.last().unwrap().clone()
    };
    dst.delete(&lost_layer).await.unwrap();

    // A plain copy sees the root present and stops there.
    let stats = copy_graph(&src, &dst, &graph.root, &CopyGraphOptions::default())
        .await
        .unwrap();
    assert_eq!((stats.copied, stats.skipped), (0, 1));
    assert!(!dst.exists(&lost_layer).await.unwrap());

    let counted = Instrumented::new(dst.clone());
    let stats = copy_graph(
        &src,
        &counted,
        &graph.root,
        &CopyGraphOptions::default().with_repair(true),
    )
    .await
    .unwrap();
    assert_complete(&dst, &graph.all).await;
    assert_eq!(stats.copied, 1, "repair moved more than the missing layer");
    assert_eq!(counted.total_pushes(), 1);
    assert_eq!(counted.pushes(&lost_layer.digest), 1);
}

#[tokio::test]
async fn wrong_bytes_from_the_source_are_refused_and_the_root_is_not_tagged() {
    let src = MemoryStore::new();
    let graph = build_graph(&src, 2, 3, false).await;
    let victim = graph
        .all
        .iter()
        .find(|d| d.media_type == LAYER && d.digest != graph.shared_layer.digest)
        .unwrap()
        .clone();
    let bad = Instrumented::new(src.clone())
        .with_faults(Faults::default().corrupt(victim.digest.clone()));
    let failures = Arc::new(AtomicUsize::new(0));
    let f = failures.clone();
    let opts = CopyOptions::default().with_graph(CopyGraphOptions::default().with_progress(
        move |e: &ProgressEvent<'_>| {
            if matches!(e, ProgressEvent::Failed { .. }) {
                f.fetch_add(1, Ordering::Relaxed);
            }
        },
    ));
    let dst = MemoryStore::new();
    let err = copy(&bad, "v1", &dst, "v1", &opts).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DigestMismatch, "{err}");
    assert!(
        !dst.exists(&victim).await.unwrap(),
        "corrupted content reached the destination"
    );
    assert!(dst.resolve("v1").await.is_err());
    assert!(failures.load(Ordering::Relaxed) >= 1, "no Failed event");
}

#[tokio::test]
async fn a_dropped_stream_fails_the_copy_and_leaves_no_partial_blob() {
    let src = MemoryStore::new();
    let big = Bytes::from(vec![7u8; 3 << 20]);
    let desc = describe(LAYER, &big);
    src.push_bytes(&desc, big).await.unwrap();
    let cut = Instrumented::new(src.clone())
        .with_faults(Faults::default().cut_after(vec![desc.digest.clone()], 1 << 20));
    let dst = MemoryStore::new();
    let err = copy_graph(&cut, &dst, &desc, &CopyGraphOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport);
    assert!(dst.is_empty(), "a partial blob is in the destination");
}

#[tokio::test]
async fn dropping_the_copy_future_leaves_only_whole_verified_content() {
    let src = MemoryStore::new();
    let graph = build_graph(&src, 4, 4, false).await;
    let slow = Instrumented::new(src.clone())
        .with_faults(Faults::default().slow(Duration::from_millis(5), 512));
    let dst = MemoryStore::new();
    let result = tokio::time::timeout(
        Duration::from_millis(150),
        copy(&slow, "v1", &dst, "v1", &CopyOptions::default()),
    )
    .await;
    assert!(
        result.is_err(),
        "the copy finished before it could be dropped"
    );
    let held = dst.descriptors();
    assert!(
        held.len() < graph.all.len(),
        "everything arrived before the drop"
    );
    assert_complete(&dst, &held).await;
    assert!(!dst.exists(&graph.root).await.unwrap());
    assert!(dst.resolve("v1").await.is_err());
}

#[tokio::test]
async fn concurrency_is_bounded_and_used() {
    let src = MemoryStore::new();
    let graph = build_graph(&src, 6, 5, false).await;
    for (limit, remote) in [(1usize, true), (3, true), (1, false), (3, false)] {
        let slow = Instrumented::new(src.clone())
            .with_faults(Faults::default().slow(Duration::from_millis(1), 1024));
        // Each write outlasts the fetch before it, as a sync to disk does.
        let faults = Faults::default().write_latency(Duration::from_millis(20));
        let faults = if remote { faults.remote() } else { faults };
        let dst = Instrumented::new(MemoryStore::new()).with_faults(faults);
        assert_eq!(dst.writes_locally(), !remote);
        let opts = CopyGraphOptions::default().with_concurrency(limit);
        copy_graph(&slow, &dst, &graph.root, &opts).await.unwrap();
        assert_complete(&dst, &graph.all).await;
        assert_eq!(
            slow.max_fetches_in_flight(),
            limit,
            "the source's requests in flight at concurrency {limit}"
        );
        let writes = dst.max_pushes_in_flight();
        if remote {
            // Into a store across a network, every transfer is counted whole.
            assert_eq!(writes, limit, "pushes in flight at concurrency {limit}");
        } else {
            // A local store's writes go on beside the next requests, a bounded number at once.
            assert!(
                writes > limit && writes <= 16 * limit,
                "{writes} local writes in flight at concurrency {limit}"
            );
        }
    }
    assert!(CopyGraphOptions::default().concurrency >= 4);
}

#[tokio::test]
async fn children_are_pushed_before_parents() {
    let src = MemoryStore::new();
    let graph = build_graph(&src, 3, 2, false).await;
    let order = Arc::new(Mutex::new(Vec::new()));
    let o = order.clone();
    let opts = CopyGraphOptions::default().with_progress(move |e: &ProgressEvent<'_>| {
        if let ProgressEvent::Done { desc } = e {
            o.lock().unwrap().push(desc.digest.clone());
        }
    });
    copy_graph(&src, &MemoryStore::new(), &graph.root, &opts)
        .await
        .unwrap();
    let order = order.lock().unwrap();
    let pos = |d: &Digest| order.iter().position(|x| x == d).unwrap();
    assert_eq!(
        order.last(),
        Some(&graph.root.digest),
        "the root is not last"
    );
    for m in &graph.manifests {
        assert!(
            pos(&m.digest) > pos(&graph.shared_layer.digest),
            "a manifest before its layer"
        );
    }
}

#[tokio::test]
async fn progress_reports_every_node_and_its_bytes() {
    let src = MemoryStore::new();
    let graph = build_graph(&src, 2, 3, false).await;
    let started = Arc::new(Mutex::new(HashSet::new()));
    let done = Arc::new(Mutex::new(HashSet::new()));
    let bytes = Arc::new(Mutex::new(std::collections::HashMap::new()));
    let (s, d, b) = (started.clone(), done.clone(), bytes.clone());
    let opts = CopyGraphOptions::default().with_progress(move |e: &ProgressEvent<'_>| match e {
        ProgressEvent::Started { desc } => {
            s.lock().unwrap().insert(desc.digest.clone());
        }
        ProgressEvent::Done { desc } => {
            d.lock().unwrap().insert(desc.digest.clone());
        }
        ProgressEvent::Bytes { desc, transferred } => {
            b.lock().unwrap().insert(desc.digest.clone(), *transferred);
        }
        _ => {}
    });
    copy_graph(&src, &MemoryStore::new(), &graph.root, &opts)
        .await
        .unwrap();
    let all: HashSet<Digest> = graph.all.iter().map(|d| d.digest.clone()).collect();
    assert_eq!(*started.lock().unwrap(), all);
    assert_eq!(*done.lock().unwrap(), all);
    for d in &graph.all {
        assert_eq!(
            bytes.lock().unwrap().get(&d.digest),
            Some(&d.size),
            "bytes reported for {}",
            d.digest
        );
    }
}

#[tokio::test]
async fn platform_filter_picks_one_manifest_by_the_image_spec_rules() {
    let src = MemoryStore::new();
    let graph = build_graph(&src, 3, 2, true).await;
    let dst = Instrumented::new(MemoryStore::new());
    let opts = CopyOptions::default().with_platform(Platform::new("linux", "arm64"));
    let copied = copy(&src, "v1", &dst, "arm", &opts).await.unwrap();
    assert_eq!(
        copied.root.digest, graph.manifests[1].digest,
        "picked the wrong manifest"
    );
    assert_eq!(
        dst.resolve("arm").await.unwrap().digest,
        graph.manifests[1].digest
    );
    assert!(
        !dst.exists(&graph.root).await.unwrap(),
        "the index was copied too"
    );
    assert!(!dst.exists(&graph.manifests[0]).await.unwrap());

    let err = copy(
        &src,
        "v1",
        &MemoryStore::new(),
        "x",
        &CopyOptions::default().with_platform(Platform::new("windows", "amd64")),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains("windows/amd64"), "{err}");

    let wrong_variant = Platform::new("linux", "arm64").with_variant("v9");
    let err = copy(
        &src,
        "v1",
        &MemoryStore::new(),
        "x",
        &CopyOptions::default().with_platform(wrong_variant),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn manifest_cap_refuses_larger_manifests() {
    let src = MemoryStore::new();
    let graph = build_graph(&src, 3, 2, false).await;
    let opts = CopyOptions::default()
        .with_graph(CopyGraphOptions::default().with_max_manifest_bytes(graph.root.size - 1));
    let err = copy(&src, "v1", &MemoryStore::new(), "v1", &opts)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SizeLimitExceeded, "{err}");
}

#[tokio::test]
async fn verify_catches_a_destination_that_serves_other_bytes() {
    let src = MemoryStore::new();
    let graph = build_graph(&src, 1, 1, false).await;
    let liar = Instrumented::new(MemoryStore::new())
        .with_faults(Faults::default().corrupt(graph.root.digest.clone()));
    let plain = copy_graph(&src, &liar, &graph.root, &CopyGraphOptions::default()).await;
    assert!(
        plain.is_ok(),
        "without verify the lie goes unnoticed: {plain:?}"
    );
    let liar = Instrumented::new(MemoryStore::new())
        .with_faults(Faults::default().corrupt(graph.root.digest.clone()));
    let err = copy_graph(
        &src,
        &liar,
        &graph.root,
        &CopyGraphOptions::default().with_verify(true),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DigestMismatch, "{err}");
}

/// Mounts whatever its `mountable` set holds by copying from a sibling store.
#[derive(Debug)]
struct Mountable {
    store: MemoryStore,
    sibling: MemoryStore,
    mounts: AtomicUsize,
}

#[oci_target::async_trait]
impl ReadOnlyTarget for Mountable {
    async fn fetch(&self, d: &Descriptor) -> oci_target::Result<BlobStream> {
        self.store.fetch(d).await
    }
    async fn exists(&self, d: &Descriptor) -> oci_target::Result<bool> {
        self.store.exists(d).await
    }
    async fn resolve(&self, r: &str) -> oci_target::Result<Descriptor> {
        self.store.resolve(r).await
    }
    async fn tags(&self) -> oci_target::Result<Vec<String>> {
        self.store.tags().await
    }
}

#[oci_target::async_trait]
impl Target for Mountable {
    async fn push(&self, d: &Descriptor, c: BlobStream) -> oci_target::Result<()> {
        self.store.push(d, c).await
    }
    async fn tag(&self, d: &Descriptor, r: &str) -> oci_target::Result<()> {
        self.store.tag(d, r).await
    }
    async fn mount(&self, d: &Descriptor, from: &str) -> oci_target::Result<bool> {
        if from != "library/base" || !self.sibling.exists(d).await? {
            return Ok(false);
        }
        self.mounts.fetch_add(1, Ordering::Relaxed);
        let data = self.sibling.fetch_bytes(d, u64::MAX).await?;
        self.store.push_bytes(d, data).await.map(|_| true)
    }
}

#[tokio::test]
async fn the_mount_hook_avoids_transfers() {
    let src = Instrumented::new(MemoryStore::new());
    let graph = build_graph(&src, 2, 3, false).await;
    let sibling = MemoryStore::new();
    copy_graph(
        src.inner(),
        &sibling,
        &graph.shared_layer,
        &CopyGraphOptions::default(),
    )
    .await
    .unwrap();
    let dst = Mountable {
        store: MemoryStore::new(),
        sibling,
        mounts: AtomicUsize::new(0),
    };
    let mounted = Arc::new(Mutex::new(Vec::new()));
    let m = mounted.clone();
    let opts = CopyGraphOptions::default()
        .with_mount_from(|_d: &Descriptor| {
            vec!["library/other".to_string(), "library/base".to_string()]
        })
        .with_progress(move |e: &ProgressEvent<'_>| {
            if let ProgressEvent::Mounted { desc, from } = e {
                m.lock()
                    .unwrap()
                    .push((desc.digest.clone(), from.to_string()));
            }
        });
    let stats = copy_graph(&src, &dst, &graph.root, &opts).await.unwrap();
    assert_complete(&dst, &graph.all).await;
    assert_eq!(stats.mounted, 1);
    assert_eq!(
        *mounted.lock().unwrap(),
        vec![(
            graph.shared_layer.digest.clone(),
            "library/base".to_string()
        )]
    );
    assert_eq!(
        src.fetches(&graph.shared_layer.digest),
        0,
        "a mounted blob was fetched"
    );
}

#[tokio::test]
async fn docker_v2_2_graphs_are_walked() {
    let src = MemoryStore::new();
    let config_bytes = Bytes::from_static(br#"{"architecture":"amd64","os":"linux"}"#);
    let config = describe(
        "application/vnd.docker.container.image.v1+json",
        &config_bytes,
    );
    src.push_bytes(&config, config_bytes).await.unwrap();
    let layer_bytes = Bytes::from(vec![1u8; 1000]);
    let layer = describe(
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
        &layer_bytes,
    );
    src.push_bytes(&layer, layer_bytes).await.unwrap();
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": config, "layers": [layer],
    });
    let mbytes = Bytes::from(serde_json::to_vec(&manifest).unwrap());
    let mdesc = describe(
        "application/vnd.docker.distribution.manifest.v2+json",
        &mbytes,
    );
    src.push_bytes(&mdesc, mbytes).await.unwrap();
    let list = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
        "manifests": [mdesc.clone().with_platform(Platform::new("linux", "amd64"))],
    });
    let lbytes = Bytes::from(serde_json::to_vec(&list).unwrap());
    let ldesc = describe(
        "application/vnd.docker.distribution.manifest.list.v2+json",
        &lbytes,
    );
    src.push_bytes(&ldesc, lbytes).await.unwrap();
    src.tag(&ldesc, "latest").await.unwrap();
    let dst = MemoryStore::new();
    copy(&src, "latest", &dst, "latest", &CopyOptions::default())
        .await
        .unwrap();
    assert_complete(&dst, &[config, layer, mdesc, ldesc]).await;
}

async fn attach(
    store: &MemoryStore,
    subject: &Descriptor,
    artifact_type: &str,
    payload: &str,
) -> Descriptor {
    let empty = Bytes::from_static(b"{}");
    let empty_desc = describe("application/vnd.oci.empty.v1+json", &empty);
    store.push_bytes(&empty_desc, empty).await.unwrap();
    let data = Bytes::from(payload.to_string());
    let blob = describe("application/octet-stream", &data);
    store.push_bytes(&blob, data).await.unwrap();
    let (desc, bytes) = image_manifest(
        &empty_desc,
        &[blob],
        Some(subject),
        Some(artifact_type),
        &[],
    );
    store.push_bytes(&desc, bytes).await.unwrap();
    desc
}

#[tokio::test]
async fn extended_copy_takes_referrers_cosign_tags_and_respects_depth_and_filter() {
    let src = MemoryStore::new();
    let graph = build_graph(&src, 2, 2, false).await;
    let sbom = attach(&src, &graph.root, "application/spdx+json", "sbom").await;
    let sig = attach(
        &src,
        &graph.root,
        "application/vnd.dev.cosign.artifact.sig.v1+json",
        "sig",
    )
    .await;
    let sig_of_sbom = attach(
        &src,
        &sbom,
        "application/vnd.dev.cosign.artifact.sig.v1+json",
        "sig of sbom",
    )
    .await;
    // A cosign tag-scheme signature: no subject, found by its tag.
    let cosign_sig = {
        let (d, b) = image_manifest(
            &graph.all[0],
            std::slice::from_ref(&graph.shared_layer),
            None,
            None,
            &[("dev.cosignproject.cosign/signature", "MEUC")],
        );
        src.push_bytes(&d, b).await.unwrap();
        d
    };
    let cosign_tag = format!("sha256-{}.sig", graph.root.digest.encoded());
    src.tag(&cosign_sig, &cosign_tag).await.unwrap();

    let dst = MemoryStore::new();
    extended_copy(&src, "v1", &dst, "v1", &ExtendedCopyOptions::default())
        .await
        .unwrap();
    assert_complete(&dst, &graph.all).await;
    for d in [&sbom, &sig, &sig_of_sbom, &cosign_sig] {
        assert!(
            dst.exists(d).await.unwrap(),
            "extended copy missed {}",
            d.digest
        );
    }
    assert_eq!(
        dst.resolve(&cosign_tag).await.unwrap().digest,
        cosign_sig.digest
    );
    assert_eq!(dst.referrers(&graph.root, None).await.unwrap().len(), 2);

    let shallow = MemoryStore::new();
    extended_copy(
        &src,
        "v1",
        &shallow,
        "v1",
        &ExtendedCopyOptions::default().with_depth(1),
    )
    .await
    .unwrap();
    assert!(shallow.exists(&sbom).await.unwrap());
    assert!(
        !shallow.exists(&sig_of_sbom).await.unwrap(),
        "depth 1 followed referrers of referrers"
    );

    let filtered = MemoryStore::new();
    let opts = ExtendedCopyOptions::default()
        .with_artifact_type(MediaType::parse("application/spdx+json").unwrap())
        .with_cosign_tags(false);
    extended_copy(&src, "v1", &filtered, "v1", &opts)
        .await
        .unwrap();
    assert!(filtered.exists(&sbom).await.unwrap());
    assert!(
        !filtered.exists(&sig).await.unwrap(),
        "the filter let a signature through"
    );
    assert!(
        !filtered.exists(&cosign_sig).await.unwrap(),
        "cosign tags were followed when off"
    );
    assert!(filtered.resolve(&cosign_tag).await.is_err());
}

#[tokio::test]
async fn works_through_trait_objects() {
    let src: Arc<dyn Target> = Arc::new(MemoryStore::new());
    let graph = build_graph(src.as_ref(), 1, 2, false).await;
    let dst: Arc<dyn Target> = Arc::new(MemoryStore::new());
    let copied = copy(
        src.as_ref(),
        "v1",
        dst.as_ref(),
        "v1",
        &CopyOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(copied.root.digest, graph.root.digest);
    let ro: Arc<dyn ReadOnlyTarget> = src.clone();
    assert_eq!(ro.resolve("v1").await.unwrap().digest, graph.root.digest);
}

/// Pushes an index nested `levels` deep (each index holding the next, the innermost holding one
/// image manifest) and tags the outermost `deep`.
async fn push_nested_indexes(store: &MemoryStore, levels: usize) -> Descriptor {
    let config = Bytes::from_static(br#"{"architecture":"arm64","os":"linux"}"#);
    let config_desc = describe(CONFIG, &config);
    push(store, &config_desc, config).await;
    let (child, bytes) = image_manifest(&config_desc, &[], None, None, &[]);
    push(store, &child, bytes).await;
    let mut child = child.with_platform(Platform::new("linux", "arm64"));
    for _ in 0..levels {
        let doc = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": INDEX,
            "manifests": [child],
        });
        let bytes = Bytes::from(serde_json::to_vec(&doc).unwrap());
        child = describe(INDEX, &bytes);
        push(store, &child, bytes).await;
    }
    store.tag(&child, "deep").await.unwrap();
    child
}

#[tokio::test]
async fn an_index_nested_thousands_deep_is_a_typed_error_not_a_stack_overflow() {
    let src = MemoryStore::new();
    push_nested_indexes(&src, 5_000).await;

    // The default depth limit stops the walk, with nothing tagged at the destination.
    let dst = MemoryStore::new();
    let err = copy(&src, "deep", &dst, "deep", &CopyOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SizeLimitExceeded, "{err}");
    assert_eq!(err.limit(), Some("graph-depth"));
    assert!(err.to_string().contains("--limit graph-depth="), "{err}");
    assert!(
        dst.resolve("deep").await.is_err(),
        "a tag on a partial graph"
    );

    // Platform selection walks the same nesting under the same limit.
    let by_platform = CopyOptions::default().with_platform(Platform::new("linux", "arm64"));
    let err = copy(&src, "deep", &MemoryStore::new(), "x", &by_platform)
        .await
        .unwrap_err();
    assert_eq!(err.limit(), Some("graph-depth"), "{err}");

    // Raised far enough, the same graph copies whole, on a work list rather than the stack.
    let mut limits = oci_target::Limits::default();
    limits.graph_depth = 10_000;
    let graph = CopyGraphOptions::default().with_limits(limits);
    let copied = copy(
        &src,
        "deep",
        &dst,
        "deep",
        &CopyOptions::default().with_graph(graph.clone()),
    )
    .await
    .unwrap();
    assert_eq!(copied.stats.copied, 5_002);
    assert_eq!(
        dst.resolve("deep").await.unwrap().digest,
        copied.root.digest
    );
    let picked = copy(
        &src,
        "deep",
        &MemoryStore::new(),
        "x",
        &CopyOptions::default()
            .with_graph(graph)
            .with_platform(Platform::new("linux", "arm64")),
    )
    .await
    .unwrap();
    assert!(picked.root.media_type.as_str().contains("manifest"));
}

#[tokio::test]
async fn a_graph_wider_than_the_node_budget_is_refused_before_it_is_copied() {
    let src = MemoryStore::new();
    build_graph(&src, 20, 5, false).await;
    let mut limits = oci_target::Limits::default();
    limits.graph_nodes = 50;
    let dst = Instrumented::new(MemoryStore::new());
    let err = copy(
        &src,
        "v1",
        &dst,
        "v1",
        &CopyOptions::default().with_graph(CopyGraphOptions::default().with_limits(limits)),
    )
    .await
    .unwrap_err();
    assert_eq!(err.limit(), Some("graph-nodes"), "{err}");
    assert!(dst.resolve("v1").await.is_err());
}
