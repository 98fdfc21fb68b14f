//! Layouts built by hand the way an attacker would: links where the layout's own directories
//! belong, unknown algorithms, indexes that repeat each other, an oversized `index.json`, blobs
//! left short by a crash, and a GC racing a writer.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use oci_layout::{GcOptions, LayoutOptions, OciLayout, Problem};
use oci_spec_types::Descriptor;
use oci_target::conformance::{describe, image_manifest};
use oci_target::{
    CopyOptions, ErrorKind, Limits, MemoryStore, ReadOnlyTarget, Target, TargetExt, copy,
};

const INDEX: &str = "application/vnd.oci.image.index.v1+json";
const CONFIG: &str = "application/vnd.oci.image.config.v1+json";

fn temp(name: &str) -> PathBuf {
    let dir = oci_test_registry::tools::temp_path(&format!("hostile-layout-{name}"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A directory outside the layout holding `victim` files named like blobs, to see that nothing
/// there is touched.
fn victims(dir: &Path, names: &[&str]) {
    std::fs::create_dir_all(dir).unwrap();
    for n in names {
        std::fs::write(dir.join(n), b"precious").unwrap();
    }
}

fn age(path: &Path, by: Duration) {
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(SystemTime::now() - by).unwrap();
}

const OLD: Duration = Duration::from_secs(3600);

#[tokio::test]
async fn gc_never_follows_a_linked_ingest_or_algorithm_directory() {
    let work = temp("gc-links");
    let outside = work.join("outside");
    let sha = "0".repeat(64);
    victims(&outside, &[&sha, "stale.partial"]);
    for f in [&sha as &str, "stale.partial"] {
        age(&outside.join(f), OLD);
    }

    // ingest/ is a link to the outside directory.
    let dir = work.join("a");
    let store = OciLayout::create(&dir, LayoutOptions::default())
        .await
        .unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("ingest")).unwrap();
    let err = store.gc(GcOptions::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnsafePath, "{err}");
    let data = Bytes::from_static(b"pushed");
    let err = store
        .push_bytes(&describe("text/plain", &data), data)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnsafePath, "{err}");

    // blobs/sha256 is a link to the outside directory.
    let dir = work.join("b");
    let store = OciLayout::create(&dir, LayoutOptions::default())
        .await
        .unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("blobs/sha256")).unwrap();
    let report = store.gc(GcOptions::default()).await.unwrap();
    assert!(report.blobs.is_empty(), "{report:?}");
    let problems = store.fsck().await.unwrap();
    assert!(
        problems.iter().any(|p| matches!(p, Problem::Unsafe { .. })),
        "{problems:?}"
    );

    // blobs/ itself is a link.
    let dir = work.join("c");
    OciLayout::create(&dir, LayoutOptions::default())
        .await
        .unwrap();
    std::fs::remove_dir(dir.join("blobs")).unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("blobs")).unwrap();
    let store = OciLayout::open(&dir, LayoutOptions::default())
        .await
        .unwrap();
    assert_eq!(
        store.gc(GcOptions::default()).await.unwrap_err().kind(),
        ErrorKind::UnsafePath
    );

    for f in [&sha as &str, "stale.partial"] {
        assert_eq!(std::fs::read(outside.join(f)).unwrap(), b"precious", "{f}");
    }
}

#[tokio::test]
async fn gc_leaves_unknown_algorithms_and_linked_blobs_alone() {
    let work = temp("gc-odd");
    let outside = work.join("outside");
    victims(&outside, &["secret"]);
    let dir = work.join("layout");
    let store = OciLayout::create(&dir, LayoutOptions::default())
        .await
        .unwrap();
    // An algorithm nobody can verify: its names are no blobs.
    let evil = dir.join("blobs/evil");
    std::fs::create_dir_all(&evil).unwrap();
    std::fs::write(evil.join("abc"), b"keep me").unwrap();
    age(&evil.join("abc"), OLD);
    // A blob that is a link to a file outside.
    let sha = dir.join("blobs/sha256");
    std::fs::create_dir_all(&sha).unwrap();
    let name = oci_digest::sha256(b"precious");
    std::os::unix::fs::symlink(outside.join("secret"), sha.join(name.encoded())).unwrap();

    let report = store.gc(GcOptions::default()).await.unwrap();
    assert!(report.blobs.is_empty(), "{report:?}");
    assert_eq!(std::fs::read(evil.join("abc")).unwrap(), b"keep me");
    assert_eq!(std::fs::read(outside.join("secret")).unwrap(), b"precious");
    assert!(sha.join(name.encoded()).symlink_metadata().is_ok());

    let linked = Descriptor::new(oci_spec_types::MediaType::octet_stream(), name, 8);
    assert_eq!(
        store.exists(&linked).await.unwrap_err().kind(),
        ErrorKind::UnsafePath
    );
    let unknown: oci_digest::Digest = "evil:abc".parse().unwrap();
    let d = Descriptor::new(oci_spec_types::MediaType::octet_stream(), unknown, 7);
    assert!(!store.exists(&d).await.unwrap());
    assert!(store.fetch(&d).await.is_err());
}

/// Pushes `levels` of indexes, each listing every index of the level below `repeats` times.
async fn push_repeating_indexes(store: &dyn Target, levels: usize, repeats: usize) -> Descriptor {
    let config = Bytes::from_static(br#"{"architecture":"amd64","os":"linux"}"#);
    let config_desc = describe(CONFIG, &config);
    store.push_bytes(&config_desc, config).await.unwrap();
    let (mut child, bytes) = image_manifest(&config_desc, &[], None, None, &[]);
    store.push_bytes(&child, bytes).await.unwrap();
    for level in 0..levels {
        let doc = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": INDEX,
            "manifests": vec![child.clone(); repeats],
            "annotations": {"level": level.to_string()},
        });
        let bytes = Bytes::from(serde_json::to_vec(&doc).unwrap());
        child = describe(INDEX, &bytes);
        store.push_bytes(&child, bytes).await.unwrap();
    }
    store.tag(&child, "top").await.unwrap();
    child
}

#[tokio::test]
async fn nested_indexes_that_repeat_each_other_resolve_quickly() {
    let dir = temp("repeat");
    let store = OciLayout::create(&dir, LayoutOptions::default().with_fsync(false))
        .await
        .unwrap();
    push_repeating_indexes(&store, 12, 60).await;
    // 60^12 paths, 13 distinct nodes: a walk that visits each index once answers at once.
    let missing = oci_digest::sha256(b"not there");
    let started = Instant::now();
    let err = store.resolve(missing.as_str()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn an_index_nested_deeper_than_the_limit_is_a_typed_error() {
    let dir = temp("deep");
    let mut limits = Limits::default();
    limits.graph_depth = 5;
    let options = LayoutOptions::default()
        .with_fsync(false)
        .with_limits(limits);
    let store = OciLayout::create(&dir, options).await.unwrap();
    push_repeating_indexes(&store, 8, 1).await;
    let err = store
        .resolve(oci_digest::sha256(b"absent").as_str())
        .await
        .unwrap_err();
    assert_eq!(err.limit(), Some("graph-depth"), "{err}");
}

#[tokio::test]
async fn an_index_json_over_its_limit_is_refused_before_it_is_read_whole() {
    let dir = temp("big-index");
    OciLayout::create(&dir, LayoutOptions::default())
        .await
        .unwrap();
    // A sparse file: 8 GiB by its size, nothing on disk, and nothing read.
    let f = std::fs::File::options()
        .write(true)
        .open(dir.join("index.json"))
        .unwrap();
    f.set_len(8 << 30).unwrap();
    let err = OciLayout::open(&dir, LayoutOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.limit(), Some("index-json-bytes"), "{err}");
}

#[tokio::test]
async fn a_short_blob_left_by_a_crash_counts_as_absent_and_is_replaced() {
    let dir = temp("short");
    let store = OciLayout::create(&dir, LayoutOptions::default())
        .await
        .unwrap();
    let data = Bytes::from_static(b"the whole content");
    let desc = describe("text/plain", &data);
    let path = store.blob_path(&desc.digest);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, b"").unwrap();
    assert!(!store.exists(&desc).await.unwrap());
    store.push_bytes(&desc, data.clone()).await.unwrap();
    assert!(store.exists(&desc).await.unwrap());
    assert_eq!(std::fs::read(&path).unwrap(), data);
}

#[tokio::test]
async fn a_blob_a_writer_relies_on_survives_gc_and_a_tag_never_dangles() {
    let work = temp("race");
    let src = MemoryStore::new();
    let config = Bytes::from_static(br#"{"architecture":"amd64","os":"linux"}"#);
    let config_desc = describe(CONFIG, &config);
    src.push_bytes(&config_desc, config.clone()).await.unwrap();
    let layer = Bytes::from(vec![7u8; 4096]);
    let layer_desc = describe("application/octet-stream", &layer);
    src.push_bytes(&layer_desc, layer.clone()).await.unwrap();
    let (manifest, bytes) = image_manifest(
        &config_desc,
        std::slice::from_ref(&layer_desc),
        None,
        None,
        &[],
    );
    src.push_bytes(&manifest, bytes.clone()).await.unwrap();
    src.tag(&manifest, "v1").await.unwrap();

    // The layout already has the whole graph, untagged and old: garbage, as far as GC knows.
    let dir = work.join("layout");
    let store = OciLayout::create(&dir, LayoutOptions::default())
        .await
        .unwrap();
    for (d, b) in [
        (&config_desc, config),
        (&layer_desc, layer),
        (&manifest, bytes),
    ] {
        store.push_bytes(d, b).await.unwrap();
        age(&store.blob_path(&d.digest), OLD);
    }
    // A writer checks what is there (the copy skips all three) ...
    for d in [&config_desc, &layer_desc, &manifest] {
        assert!(store.exists(d).await.unwrap());
    }
    // ... a GC runs before the writer tags ...
    let report = store.gc(GcOptions::default()).await.unwrap();
    assert!(
        report.blobs.is_empty(),
        "GC took what a writer relies on: {report:?}"
    );
    // ... and the copy completes with a tag on a whole graph.
    copy(&src, "v1", &store, "v1", &CopyOptions::default())
        .await
        .unwrap();
    assert!(store.fsck().await.unwrap().is_empty());

    // Without a writer, the same garbage goes once the grace period has passed; a tag asked
    // for afterwards is refused rather than left dangling.
    store.untag("v1").await.unwrap();
    for d in [&config_desc, &layer_desc, &manifest] {
        age(&store.blob_path(&d.digest), OLD);
    }
    let report = store.gc(GcOptions::default()).await.unwrap();
    assert_eq!(report.blobs.len(), 3, "{report:?}");
    let err = store.tag(&manifest, "v1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(store.resolve("v1").await.is_err());
}

#[tokio::test]
async fn planted_links_at_temporary_names_cannot_redirect_an_index_write() {
    let work = temp("planted");
    let dir = work.join("layout");
    let store = OciLayout::create(&dir, LayoutOptions::default())
        .await
        .unwrap();
    let target = work.join("target");
    std::fs::write(&target, b"untouched").unwrap();
    // The names earlier versions used, and any other guess, lead nowhere: the temporary file's
    // name is random and it is created exclusively.
    for name in [
        ".index.json.tmp",
        ".index.json.tmp-1-0",
        ".index.json.XXXXXX.tmp",
    ] {
        std::os::unix::fs::symlink(&target, dir.join(name)).unwrap();
    }
    let data = Bytes::from_static(b"x");
    let desc = describe("text/plain", &data);
    store.push_bytes(&desc, data).await.unwrap();
    store.tag(&desc, "t").await.unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), b"untouched");
    assert_eq!(store.resolve("t").await.unwrap().digest, desc.digest);
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.ends_with(".tmp") && e.path().symlink_metadata().is_ok_and(|m| m.is_file())
        })
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[tokio::test]
async fn blobs_land_whole_with_nothing_left_behind_in_ingest_whichever_way_they_are_written() {
    let dir = temp("placed");
    for fsync in [true, false] {
        let store = OciLayout::create(
            dir.join(fsync.to_string()),
            LayoutOptions::default().with_fsync(fsync),
        )
        .await
        .unwrap();
        // Small content (linked into place where the system can) and large (staged, renamed),
        // then the small one again over a short leftover of a crash.
        let small = Bytes::from(vec![3u8; 1000]);
        let large = Bytes::from(vec![4u8; 600 * 1024]);
        for data in [&small, &large] {
            let desc = describe("application/octet-stream", data);
            store.push_bytes(&desc, data.clone()).await.unwrap();
            assert_eq!(
                std::fs::read(store.blob_path(&desc.digest)).unwrap(),
                data.as_ref()
            );
        }
        let desc = describe("application/octet-stream", &small);
        let path = store.blob_path(&desc.digest);
        std::fs::write(&path, b"short").unwrap();
        store.push_bytes(&desc, small.clone()).await.unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), small.as_ref());
        let ingest = dir.join(fsync.to_string()).join("ingest");
        let left: Vec<_> = std::fs::read_dir(&ingest)
            .map(|d| d.map(|e| e.unwrap().file_name()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "left in ingest/: {left:?}");
        let problems = store.fsck().await.unwrap();
        assert!(problems.is_empty(), "{problems:?}");
    }
}
