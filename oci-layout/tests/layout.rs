//! The layout store: the conformance suite, concurrent writers in one process and across
//! processes, bad input, read-only use, and interop with skopeo and umoci.

use std::path::{Path, PathBuf};
use std::process::Command;

use bytes::Bytes;
use futures_util::StreamExt;
use oci_layout::{LayoutOptions, OciLayout};
use oci_spec_types::{Descriptor, ImageConfig, ImageIndex, ImageManifest, MediaType, Platform};
use oci_target::conformance::{self, Flags, describe};
use oci_target::{
    CopyOptions, ErrorKind, ReadOnlyTarget, ReadOnlyTargetExt, Target, TargetExt, copy,
};
use oci_test_registry::tools::tool_ok;

fn temp(name: &str) -> PathBuf {
    oci_test_registry::tools::temp_path(&format!("layout-{name}"))
}

/// A new layout in a fresh temporary directory, with the default options.
async fn layout(name: &str) -> (PathBuf, OciLayout) {
    let dir = temp(name);
    let store = OciLayout::create(&dir, LayoutOptions::default())
        .await
        .unwrap();
    (dir, store)
}

/// An image pushed by the conformance helper and tagged.
async fn tagged_image(store: &OciLayout, label: &str, tag: &str) -> Descriptor {
    let m = conformance::push_image(store, label).await;
    store.tag(&m, tag).await.unwrap();
    m
}

/// Pushes a manifest's bytes and tags them.
async fn push_tagged(
    store: &OciLayout,
    media_type: MediaType,
    bytes: &Bytes,
    tag: &str,
) -> Descriptor {
    let desc = store.push_content(media_type, bytes.clone()).await.unwrap();
    store.tag(&desc, tag).await.unwrap();
    desc
}

const SKOPEO: &str = "install it with `apt-get install skopeo`";
const UMOCI: &str = "install it with `apt-get install umoci`";

/// Runs `skopeo copy --quiet --preserve-digests ARGS`, failing the test with skopeo's output.
fn skopeo_copy(args: &[&str]) {
    let mut all = vec!["copy", "--quiet", "--preserve-digests"];
    all.extend_from_slice(args);
    tool_ok("skopeo", &all, SKOPEO);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passes_the_conformance_suite_with_a_large_blob() {
    let (dir, store) = layout("conformance").await;
    let behind = store.clone();
    let flags = Flags::all()
        .with_large_blob(1 << 30)
        .with_corrupt(move |digest, bytes| {
            std::fs::write(behind.blob_path(digest), bytes).unwrap();
        });
    assert!(flags.referrers && flags.delete && flags.untag);
    conformance::run_all(&store, &flags).await;
    let staging: Vec<_> = std::fs::read_dir(dir.join("ingest"))
        .map(|d| d.flatten().collect())
        .unwrap_or_default();
    assert!(staging.is_empty(), "staging files left behind: {staging:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_taggers_in_one_process_lose_nothing() {
    let (dir, store) = layout("tasks").await;
    let m = conformance::push_image(&store, "tasks").await;
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let s = store.clone();
            let m = m.clone();
            tokio::spawn(async move { s.tag(&m, &format!("t{i}")).await.unwrap() })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let tags = OciLayout::open(&dir, LayoutOptions::default())
        .await
        .unwrap()
        .tags()
        .await
        .unwrap();
    assert_eq!(tags.len(), 32, "{tags:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn concurrent_taggers_in_several_processes_lose_nothing() {
    if let Some(dir) = std::env::var_os("OCI_LAYOUT_CHILD_DIR") {
        // A child: tag 25 names with this process's prefix.
        let store = OciLayout::open(PathBuf::from(dir), LayoutOptions::default())
            .await
            .unwrap();
        let m = store.resolve("base").await.unwrap();
        let prefix = std::env::var("OCI_LAYOUT_CHILD_PREFIX").unwrap();
        for i in 0..25 {
            store.tag(&m, &format!("{prefix}-{i}")).await.unwrap();
        }
        return;
    }
    let (dir, store) = layout("processes").await;
    tagged_image(&store, "processes", "base").await;
    let children: Vec<_> = (0..4)
        .map(|p| {
            tokio::process::Command::new(std::env::current_exe().unwrap())
                .args([
                    "concurrent_taggers_in_several_processes_lose_nothing",
                    "--exact",
                    "--quiet",
                ])
                .env("OCI_LAYOUT_CHILD_DIR", &dir)
                .env("OCI_LAYOUT_CHILD_PREFIX", format!("p{p}"))
                .stdout(std::process::Stdio::null())
                .status()
        })
        .collect();
    for c in children {
        assert!(c.await.unwrap().success(), "a child failed");
    }
    let tags = store.tags().await.unwrap();
    assert_eq!(
        tags.len(),
        1 + 4 * 25,
        "entries were lost: {} tags",
        tags.len()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn bad_input_gives_typed_errors_and_changes_nothing() {
    let (dir, store) = layout("bad").await;
    let m = tagged_image(&store, "bad", "v1").await;
    let index_before = std::fs::read(dir.join("index.json")).unwrap();

    // A missing blob, a truncated one, one whose content does not match its name.
    let absent = describe("application/octet-stream", b"never pushed");
    assert_eq!(
        store.fetch(&absent).await.map(|_| ()).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    let (blob, data) = conformance::push_blob(&store, "victim", 1000).await;
    std::fs::write(store.blob_path(&blob.digest), &data[..500]).unwrap();
    assert_eq!(
        store.fetch_bytes(&blob, u64::MAX).await.unwrap_err().kind(),
        ErrorKind::SizeMismatch
    );
    let mut other = data.to_vec();
    other[0] ^= 1;
    std::fs::write(store.blob_path(&blob.digest), &other).unwrap();
    assert_eq!(
        store.fetch_bytes(&blob, u64::MAX).await.unwrap_err().kind(),
        ErrorKind::DigestMismatch
    );

    // A tag that breaks the ref.name grammar.
    assert_eq!(
        store.tag(&m, "bad//tag").await.unwrap_err().kind(),
        ErrorKind::InvalidReference
    );

    // A symlink pointing out of the layout.
    let outside = temp("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let secret = b"outside the layout";
    std::fs::write(outside.join("secret"), secret).unwrap();
    let sd = describe("application/octet-stream", secret);
    let link = store.blob_path(&sd.digest);
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(outside.join("secret"), &link).unwrap();
    let e = store.fetch(&sd).await.map(|_| ()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnsafePath, "{e}");
    assert!(e.to_string().contains("symbolic link"), "{e}");
    assert_eq!(
        std::fs::read(dir.join("index.json")).unwrap(),
        index_before,
        "index.json changed"
    );

    // index.json that is not JSON, or not an index; an unknown layout version.
    let open_fails = |index: &'static [u8]| {
        let dir = dir.clone();
        async move {
            std::fs::write(dir.join("index.json"), index).unwrap();
            OciLayout::open(&dir, LayoutOptions::default())
                .await
                .unwrap_err()
                .kind()
        }
    };
    assert_eq!(open_fails(b"{ not json").await, ErrorKind::InvalidManifest);
    assert_eq!(
        store.tag(&m, "v2").await.unwrap_err().kind(),
        ErrorKind::InvalidManifest
    );
    assert_eq!(
        std::fs::read(dir.join("index.json")).unwrap(),
        b"{ not json",
        "a broken index was overwritten"
    );
    assert_eq!(
        open_fails(br#"{"schemaVersion":2,"config":{}}"#).await,
        ErrorKind::InvalidManifest
    );
    std::fs::write(dir.join("index.json"), &index_before).unwrap();
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"2.0.0"}"#).unwrap();
    let e = OciLayout::open(&dir, LayoutOptions::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    assert!(e.to_string().contains("2.0.0"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_dir_all(&outside).unwrap();
}

fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn read_only_use_writes_nothing() {
    let (dir, store) = layout("ro").await;
    let m = tagged_image(&store, "ro", "v1").await;
    let before = tree(&dir);
    let ro = OciLayout::open_read_only(&dir).await.unwrap();
    let resolved = ro.resolve("v1").await.unwrap();
    ro.fetch_manifest(&resolved).await.unwrap();
    let dst = oci_target::MemoryStore::new();
    copy(&ro, "v1", &dst, "v1", &CopyOptions::default())
        .await
        .unwrap();
    assert_eq!(
        ro.push_bytes(&m, Bytes::new()).await.unwrap_err().kind(),
        ErrorKind::Unsupported
    );
    assert_eq!(
        ro.tag(&m, "v2").await.unwrap_err().kind(),
        ErrorKind::Unsupported
    );
    assert_eq!(tree(&dir), before, "a read-only layout changed");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A small real image: a tar layer made by `tar`, its config, a manifest.
async fn push_real_image(store: &OciLayout, work: &Path, arch: &str) -> Descriptor {
    let src = work.join(format!("src-{arch}"));
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("hello.txt"), format!("hello from {arch}\n")).unwrap();
    let tar = work.join(format!("layer-{arch}.tar"));
    let (tar_s, src_s) = (tar.display().to_string(), src.display().to_string());
    tool_ok(
        "tar",
        &["-cf", &tar_s, "-C", &src_s, "hello.txt"],
        "install tar",
    );
    let layer_bytes = Bytes::from(std::fs::read(&tar).unwrap());
    let layer = describe("application/vnd.oci.image.layer.v1.tar", &layer_bytes);
    store.push_bytes(&layer, layer_bytes).await.unwrap();
    let mut config = ImageConfig::new("linux", arch);
    config.rootfs.diff_ids.push(layer.digest.clone());
    let config_doc = config.to_document().unwrap();
    let config_desc = store
        .push_content(MediaType::image_config(), config_doc.bytes().clone())
        .await
        .unwrap();
    let manifest = ImageManifest::new(config_desc, vec![layer])
        .to_document()
        .unwrap();

    store
        .push_content(MediaType::image_manifest(), manifest.bytes().clone())
        .await
        .unwrap()
}

#[tokio::test]
async fn skopeo_and_umoci_read_what_we_write_and_we_read_what_skopeo_writes() {
    let work = temp("interop");
    let ours = work.join("ours");
    let store = OciLayout::create(&ours, LayoutOptions::default())
        .await
        .unwrap();
    let amd = push_real_image(&store, &work, "amd64").await;
    let arm = push_real_image(&store, &work, "arm64").await;
    store.tag(&amd, "v1").await.unwrap();
    store.tag(&amd, "stable").await.unwrap();
    let index = ImageIndex::new(vec![
        amd.clone().with_platform(Platform::new("linux", "amd64")),
        arm.clone().with_platform(Platform::new("linux", "arm64")),
    ])
    .to_document()
    .unwrap();
    let index_desc = push_tagged(&store, MediaType::image_index(), index.bytes(), "multi").await;
    // An artifact with a subject.
    let sbom = Bytes::from_static(br#"{"spdxVersion":"SPDX-2.3"}"#);
    let sbom_desc = describe("application/spdx+json", &sbom);
    store.push_bytes(&sbom_desc, sbom).await.unwrap();
    store
        .push_bytes(&Descriptor::empty(), Bytes::from_static(b"{}"))
        .await
        .unwrap();
    let artifact = ImageManifest::new(Descriptor::empty(), vec![sbom_desc])
        .with_artifact_type(MediaType::parse("application/spdx+json").unwrap())
        .with_subject(amd.clone())
        .to_document()
        .unwrap();
    let artifact_desc = push_tagged(
        &store,
        MediaType::image_manifest(),
        artifact.bytes(),
        "sbom",
    )
    .await;

    // skopeo copies what we wrote to another layout; umoci lists and stats it.
    let theirs = work.join("theirs");
    for tag in ["v1", "sbom"] {
        skopeo_copy(&[
            &format!("oci:{}:{tag}", ours.display()),
            &format!("oci:{}:{tag}", theirs.display()),
        ]);
    }
    skopeo_copy(&[
        "--all",
        &format!("oci:{}:multi", ours.display()),
        &format!("oci:{}:multi", theirs.display()),
    ]);
    let theirs_s = theirs.display().to_string();
    let listed = tool_ok("umoci", &["ls", "--layout", &theirs_s], UMOCI);
    assert!(
        listed.contains("v1") && listed.contains("multi"),
        "umoci ls: {listed}"
    );
    tool_ok(
        "umoci",
        &["stat", "--image", &format!("{theirs_s}:v1")],
        UMOCI,
    );

    // We read what skopeo wrote, verifying everything, and the round trip kept every digest.
    let back = OciLayout::open(&theirs, LayoutOptions::default())
        .await
        .unwrap();
    assert_eq!(back.resolve("v1").await.unwrap().digest, amd.digest);
    assert_eq!(
        back.resolve("multi").await.unwrap().digest,
        index_desc.digest
    );
    assert_eq!(
        back.resolve("sbom").await.unwrap().digest,
        artifact_desc.digest
    );
    let copied = oci_target::MemoryStore::new();
    copy(&back, "multi", &copied, "multi", &CopyOptions::default())
        .await
        .unwrap();
    assert!(copied.exists(&arm).await.unwrap());
    copy(&back, "sbom", &copied, "sbom", &CopyOptions::default())
        .await
        .unwrap();
    let referrers = copied.referrers(&amd, None).await.unwrap();
    assert_eq!(referrers.len(), 1);
    let platform = copy(
        &back,
        "multi",
        &oci_target::MemoryStore::new(),
        "arm",
        &CopyOptions::default().with_platform(Platform::new("linux", "arm64")),
    )
    .await
    .unwrap();
    assert_eq!(platform.root.digest, arm.digest);
    std::fs::remove_dir_all(&work).unwrap();
}

async fn attach_to(store: &OciLayout, subject: &Descriptor, kind: &str) -> Descriptor {
    store
        .push_bytes(&Descriptor::empty(), Bytes::from_static(b"{}"))
        .await
        .unwrap();
    let doc = ImageManifest::new(Descriptor::empty(), vec![Descriptor::empty()])
        .with_artifact_type(MediaType::parse(kind).unwrap())
        .with_subject(subject.clone())
        .to_document()
        .unwrap();
    let d = doc.descriptor(MediaType::image_manifest());
    store.push_bytes(&d, doc.bytes().clone()).await.unwrap();
    d
}

#[tokio::test]
async fn gc_keeps_what_tags_and_their_referrers_reach_and_removes_the_rest() {
    use oci_layout::GcOptions;
    let (dir, store) = layout("gc").await;
    let kept = conformance::push_image(&store, "kept").await;
    store.tag(&kept, "v1").await.unwrap();
    let sig = attach_to(&store, &kept, "application/vnd.example.sig").await;
    let sig_of_sig = attach_to(&store, &sig, "application/vnd.example.countersig").await;
    let orphan = conformance::push_image(&store, "orphan").await;
    let orphan_sbom = attach_to(&store, &orphan, "application/spdx+json").await;
    std::fs::create_dir_all(dir.join("ingest")).unwrap();
    std::fs::write(dir.join("ingest/sha256-dead.1-1.partial"), b"half a blob").unwrap();

    let now = GcOptions::default().with_grace(std::time::Duration::ZERO);
    // A generous grace period spares everything just written.
    assert_eq!(
        store
            .gc(GcOptions::default().with_dry_run(true))
            .await
            .unwrap()
            .blobs
            .len(),
        0
    );
    let plan = store.gc(now.with_dry_run(true)).await.unwrap();
    let tree_before = tree(&dir);
    assert!(
        plan.blobs.contains(&orphan.digest) && plan.blobs.contains(&orphan_sbom.digest),
        "{plan:?}"
    );
    assert!(
        !plan.blobs.contains(&kept.digest)
            && !plan.blobs.contains(&sig.digest)
            && !plan.blobs.contains(&sig_of_sig.digest)
    );
    assert_eq!(plan.entries, vec![orphan_sbom.digest.clone()]);
    assert_eq!(plan.staging.len(), 1);
    assert_eq!(tree(&dir), tree_before, "a dry run changed the layout");

    let done = store.gc(now).await.unwrap();
    assert_eq!(done.blobs, plan.blobs);
    for d in &plan.blobs {
        assert!(!store.blob_path(d).exists());
    }
    assert!(!dir.join("ingest/sha256-dead.1-1.partial").exists());
    assert!(
        store.fsck().await.unwrap().is_empty(),
        "{:?}",
        store.fsck().await.unwrap()
    );
    let copied = oci_target::MemoryStore::new();
    copy(&store, "v1", &copied, "v1", &CopyOptions::default())
        .await
        .unwrap();
    assert_eq!(store.referrers(&kept, None).await.unwrap().len(), 1);
    assert_eq!(store.referrers(&sig, None).await.unwrap().len(), 1);
    assert!(store.referrers(&orphan, None).await.unwrap().is_empty());
    // Nothing left to collect.
    assert_eq!(
        store.gc(now).await.unwrap(),
        oci_layout::GcReport::default()
    );
    let ro = OciLayout::open_read_only(&dir).await.unwrap();
    assert_eq!(ro.gc(now).await.unwrap_err().kind(), ErrorKind::Unsupported);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn fsck_reports_every_problem() {
    use oci_layout::Problem;
    let (dir, store) = layout("fsck").await;
    let m = tagged_image(&store, "fsck", "v1").await;
    assert!(store.fsck().await.unwrap().is_empty());
    let bytes = store.fetch_manifest(&m).await.unwrap();
    let links = oci_target::graph::links(&m, &bytes).unwrap();
    let (config, layer) = (links.config.unwrap(), links.layers[0].clone());
    std::fs::remove_file(store.blob_path(&config.digest)).unwrap();
    let mut corrupt = std::fs::read(store.blob_path(&layer.digest)).unwrap();
    corrupt[0] ^= 0xff;
    std::fs::write(store.blob_path(&layer.digest), &corrupt).unwrap();
    let (extra, _) = conformance::push_blob(&store, "truncated", 100).await;
    std::fs::write(store.blob_path(&extra.digest), b"short").unwrap();
    std::fs::write(dir.join("blobs/sha256/not-a-digest"), b"?").unwrap();
    let problems = store.fsck().await.unwrap();
    assert!(
        problems
            .iter()
            .any(|p| matches!(p, Problem::Missing { digest, .. } if *digest == config.digest)),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(
            |p| matches!(p, Problem::DigestMismatch { digest, .. } if *digest == layer.digest)
        ),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(
            |p| matches!(p, Problem::DigestMismatch { digest, .. } if *digest == extra.digest)
        ),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| matches!(p, Problem::StrayFile { .. })),
        "{problems:?}"
    );
    assert!(problems.len() >= 4);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn oci_archives_round_trip_with_skopeo_and_refuse_escaping_entries() {
    use oci_layout::OciArchive;
    let work = temp("archive");
    let store = OciLayout::create(work.join("layout"), LayoutOptions::default())
        .await
        .unwrap();
    let image = push_real_image(&store, &work, "amd64").await;
    store.tag(&image, "v1").await.unwrap();

    // Ours, read back without unpacking.
    let ours = work.join("ours.tar");
    store.write_archive(&ours).await.unwrap();
    let archive = OciArchive::open(&ours).await.unwrap();
    assert_eq!(archive.tags().await.unwrap(), vec!["v1".to_string()]);
    assert_eq!(archive.resolve("v1").await.unwrap().digest, image.digest);
    assert_eq!(
        archive
            .resolve(image.digest.as_str())
            .await
            .unwrap()
            .media_type,
        MediaType::image_manifest()
    );
    let copied = oci_target::MemoryStore::new();
    copy(&archive, "v1", &copied, "v1", &CopyOptions::default())
        .await
        .unwrap();
    assert_eq!(copied.len(), 3);

    // skopeo reads ours, and we read what skopeo packs.
    skopeo_copy(&[
        &format!("oci-archive:{}:v1", ours.display()),
        &format!("oci:{}:v1", work.join("from-archive").display()),
    ]);
    let theirs = work.join("theirs.tar");
    skopeo_copy(&[
        &format!("oci:{}:v1", work.join("layout").display()),
        &format!("oci-archive:{}:v1", theirs.display()),
    ]);
    let archive = OciArchive::open(&theirs).await.unwrap();
    assert_eq!(archive.resolve("v1").await.unwrap().digest, image.digest);
    copy(
        &archive,
        "v1",
        &oci_target::MemoryStore::new(),
        "v1",
        &CopyOptions::default(),
    )
    .await
    .unwrap();

    // Entries that climb out with .. or are absolute make the archive refused.
    let sub = work.join("sub/inner");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(work.join("sub/escape"), b"x").unwrap();
    let dotdot = work.join("dotdot.tar");
    let status = Command::new("tar")
        .current_dir(&sub)
        .args(["-cPf"])
        .arg(&dotdot)
        .arg("../escape")
        .status()
        .unwrap();
    assert!(status.success());
    let e = OciArchive::open(&dotdot).await.unwrap_err();
    assert!(e.to_string().contains("'..'"), "{e}");
    let absolute = work.join("absolute.tar");
    let status = Command::new("tar")
        .args(["-cPf"])
        .arg(&absolute)
        .arg(work.join("sub/escape"))
        .status()
        .unwrap();
    assert!(status.success());
    let e = OciArchive::open(&absolute).await.unwrap_err();
    assert!(e.to_string().contains("absolute"), "{e}");
    let e = OciArchive::open(work.join("sub/escape")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidManifest, "{e}");
    std::fs::remove_dir_all(&work).unwrap();
}

fn big_blob() -> Bytes {
    Bytes::from(
        (0..8_000_000u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 7) as u8)
            .collect::<Vec<u8>>(),
    )
}

#[tokio::test]
async fn a_push_killed_midway_leaves_a_staging_file_never_a_blob() {
    let data = big_blob();
    let desc = describe("application/octet-stream", &data);
    if let Some(dir) = std::env::var_os("OCI_LAYOUT_KILL_DIR") {
        // The child: push slowly, so the parent kills it midway.
        let store = OciLayout::open(PathBuf::from(dir), LayoutOptions::default())
            .await
            .unwrap();
        let slow: oci_target::BlobStream = Box::pin(
            futures_util::stream::iter((0..data.len()).step_by(64 * 1024)).then(move |i| {
                let piece = data.slice(i..(i + 64 * 1024).min(data.len()));
                async move {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    Ok(piece)
                }
            }),
        );
        store.push(&desc, slow).await.unwrap();
        return;
    }
    let (dir, store) = layout("kill").await;
    let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "a_push_killed_midway_leaves_a_staging_file_never_a_blob",
            "--exact",
            "--quiet",
        ])
        .env("OCI_LAYOUT_KILL_DIR", &dir)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the staging file has some bytes, then kill the process outright.
    let staging_dir = dir.join("ingest");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let grown = std::fs::read_dir(&staging_dir)
            .map(|d| {
                d.flatten()
                    .any(|e| e.metadata().map(|m| m.len() > 512 * 1024).unwrap_or(false))
            })
            .unwrap_or(false);
        if grown {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the child never started writing"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    child.kill().await.unwrap();
    assert!(
        !store.blob_path(&desc.digest).exists(),
        "a killed push left a blob"
    );
    assert!(!store.exists(&desc).await.unwrap());
    let left: Vec<_> = std::fs::read_dir(&staging_dir).unwrap().flatten().collect();
    assert_eq!(left.len(), 1, "the staging file should remain for GC");
    // The next push of that blob starts over and succeeds; GC then removes the dead staging file.
    store.push_bytes(&desc, big_blob()).await.unwrap();
    assert_eq!(
        store.fetch_bytes(&desc, u64::MAX).await.unwrap(),
        big_blob()
    );
    let report = store
        .gc(oci_layout::GcOptions::default().with_grace(std::time::Duration::ZERO))
        .await
        .unwrap();
    assert_eq!(report.staging.len(), 1);
    assert_eq!(std::fs::read_dir(&staging_dir).unwrap().count(), 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_short_leftover_under_a_blobs_name_is_replaced_by_the_next_push() {
    for fsync in [true, false] {
        let dir = temp(&format!("leftover-{fsync}"));
        let store = OciLayout::create(&dir, LayoutOptions::default().with_fsync(fsync))
            .await
            .unwrap();
        let (small, data) = conformance::push_blob(&store, "leftover", 1000).await;
        let path = store.blob_path(&small.digest);
        // What a crash between creating a blob and writing it can leave on some filesystems.
        std::fs::write(&path, b"short").unwrap();
        assert!(!store.exists(&small).await.unwrap());
        store.push_bytes(&small, data.clone()).await.unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), data, "fsync {fsync}");
        assert!(store.exists(&small).await.unwrap());
        let ingest: Vec<_> = std::fs::read_dir(dir.join("ingest"))
            .map(|d| d.collect())
            .unwrap_or_default();
        assert!(ingest.is_empty(), "staging files left: {ingest:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
