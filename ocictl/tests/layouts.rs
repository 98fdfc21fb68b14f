//! `ocictl` on layouts: hostile input (titles made of terminal escapes, links where the layout's
//! own directories belong, indexes nested past the limits), maintenance, and multi-platform indexes.

mod support;

use std::path::Path;

use bytes::Bytes;
use oci_layout::{LayoutOptions, OciLayout};
use oci_spec_types::Descriptor;
use oci_target::{Target, TargetExt};
use support::{fails, ocictl_in, ok};

/// True when `bytes` holds anything that would steer a terminal: ESC, CSI (C1), BEL, or a
/// bidirectional override.
fn steers_a_terminal(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(bytes);
    text.chars().any(|c| {
        (c.is_control() && c != '\n')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    })
}

#[test]
fn hostile_titles_never_reach_the_terminal_raw() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    // A file name that clears the screen, sets the window title and reverses the text after it.
    let name = "evil\x1b[2J\x1b]0;pwned\x07\u{202e}txt.exe";
    std::fs::write(dir.join(name), b"payload").unwrap();
    ok(dir, &["push", "--oci-layout", "store:v1", name]);

    let out = ocictl_in(dir, &["pull", "--oci-layout", "store:v1", "-o", "out"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        assert!(
            !steers_a_terminal(bytes),
            "{stream} carries raw control characters: {:?}",
            String::from_utf8_lossy(bytes)
        );
    }
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.contains("\\u001b[2J"), "{shown}");
    assert!(shown.contains("\\u202e"), "{shown}");
    // The file itself is written under its real name: escaping is for the terminal only.
    assert_eq!(
        std::fs::read(dir.join("out").join(name)).unwrap(),
        b"payload"
    );

    // JSON output stays valid JSON, with the name intact once parsed.
    let out = ocictl_in(
        dir,
        &[
            "pull",
            "--oci-layout",
            "store:v1",
            "-o",
            "out2",
            "--format",
            "json",
        ],
    );
    assert!(!steers_a_terminal(&out.stdout));
    let parsed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(parsed.to_string().contains("pwned"), "{parsed}");
}

fn age_everything(dir: &Path) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let meta = std::fs::symlink_metadata(&p).unwrap();
        if meta.is_dir() {
            age_everything(&p);
        } else if meta.is_file() {
            let f = std::fs::File::options().write(true).open(&p).unwrap();
            f.set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(7200))
                .unwrap();
        }
    }
}

#[test]
fn layout_gc_and_fsck_on_a_hostile_layout() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    std::fs::write(dir.join("keep.txt"), b"tagged").unwrap();
    std::fs::write(dir.join("drop.txt"), b"untagged").unwrap();
    ok(dir, &["push", "--oci-layout", "store:v1", "keep.txt"]);
    ok(dir, &["push", "--oci-layout", "store:v2", "drop.txt"]);
    ok(dir, &["tag", "--oci-layout", "store:v1", "v1"]);
    let index = std::fs::read_to_string(dir.join("store/index.json")).unwrap();
    let without_v2 = {
        let mut v: serde_json::Value = serde_json::from_str(&index).unwrap();
        v["manifests"]
            .as_array_mut()
            .unwrap()
            .retain(|m| m["annotations"]["org.opencontainers.image.ref.name"] != "v2");
        v.to_string()
    };
    std::fs::write(dir.join("store/index.json"), without_v2).unwrap();
    age_everything(&dir.join("store"));

    // A dry run lists the untagged artifact's blobs and removes nothing.
    let listed = ok(dir, &["layout", "gc", "store", "--dry-run"]);
    assert!(listed.contains("Would remove 2 blobs"), "{listed}");
    assert!(ok(dir, &["layout", "fsck", "store"]).contains("0 problems"));
    // The real run removes them; the tagged artifact still pulls.
    let removed = ok(dir, &["layout", "gc", "store"]);
    assert!(removed.contains("Removed 2 blobs"), "{removed}");
    ok(dir, &["pull", "--oci-layout", "store:v1", "-o", "back"]);

    // ingest/ as a link to a directory outside: GC refuses, and the outside files stay.
    let outside = dir.join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("stale.partial"), b"precious").unwrap();
    age_everything(&outside);
    let _ = std::fs::remove_dir_all(dir.join("store/ingest"));
    std::os::unix::fs::symlink(&outside, dir.join("store/ingest")).unwrap();
    let said = fails(dir, &["layout", "gc", "store"], 6);
    assert!(said.contains("symbolic link"), "{said}");
    assert_eq!(
        std::fs::read(outside.join("stale.partial")).unwrap(),
        b"precious"
    );

    // A blob replaced by a link: fsck names it and fails.
    std::fs::remove_file(dir.join("store/ingest")).unwrap();
    let blobs = dir.join("store/blobs/sha256");
    let victim = std::fs::read_dir(&blobs)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::remove_file(&victim).unwrap();
    std::os::unix::fs::symlink(outside.join("stale.partial"), &victim).unwrap();
    let out = ocictl_in(dir, &["layout", "fsck", "store"]);
    assert_eq!(out.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&out.stdout).contains("unsafe path"));
}

/// A layout at `dir` whose tag `top` names an index nested `levels` deep.
fn nested_layout(dir: &Path, levels: usize) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = OciLayout::create(dir, LayoutOptions::default().with_fsync(false))
            .await
            .unwrap();
        let layer = Bytes::from_static(b"leaf");
        let mut child = store
            .push_content(oci_spec_types::MediaType::octet_stream(), layer)
            .await
            .unwrap();
        let config = store
            .push_content(
                oci_spec_types::MediaType::empty(),
                Bytes::from_static(b"{}"),
            )
            .await
            .unwrap();
        let manifest = oci_spec_types::ImageManifest::new(config, vec![child]);
        let doc = manifest.to_document().unwrap();
        child = doc.descriptor(oci_spec_types::MediaType::image_manifest());
        store.push_bytes(&child, doc.bytes().clone()).await.unwrap();
        for _ in 0..levels {
            let index = oci_spec_types::ImageIndex::new(vec![child.clone()]);
            let doc = index.to_document().unwrap();
            let desc: Descriptor = doc.descriptor(oci_spec_types::MediaType::image_index());
            store.push_bytes(&desc, doc.bytes().clone()).await.unwrap();
            child = desc;
        }
        store.tag(&child, "top").await.unwrap();
    });
}

#[test]
fn limits_are_set_from_the_command_line() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    nested_layout(&dir.join("deep"), 100);
    let copy = [
        "cp",
        "--from-oci-layout",
        "--to-oci-layout",
        "deep:top",
        "copy:top",
    ];
    let said = fails(dir, &copy, 1);
    assert!(said.contains("graph-depth limit of 64"), "{said}");
    assert!(said.contains("--limit graph-depth="), "{said}");
    ok(dir, &[&copy[..], &["--limit", "graph-depth=200"]].concat());
    let said = fails(
        dir,
        &["resolve", "--oci-layout", "deep:top", "--limit", "nope=1"],
        2,
    );
    assert!(said.contains("no limit is called"), "{said}");
}

/// Pushes an image for `os/arch` with one layer `content` to the layout at `dir`, tagged `tag`.
fn push_image(dir: &Path, os: &str, arch: &str, content: &'static [u8], tag: &str) -> Descriptor {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = OciLayout::create(dir, LayoutOptions::default())
            .await
            .unwrap();
        let layer = store
            .push_content(
                oci_spec_types::MediaType::octet_stream(),
                Bytes::from_static(content),
            )
            .await
            .unwrap();
        let config = oci_spec_types::ImageConfig::new(os, arch)
            .to_document()
            .unwrap();
        let config_desc = config.descriptor(oci_spec_types::MediaType::image_config());
        store
            .push_bytes(&config_desc, config.bytes().clone())
            .await
            .unwrap();
        let doc = oci_spec_types::ImageManifest::new(config_desc, vec![layer])
            .to_document()
            .unwrap();
        let desc = doc.descriptor(oci_spec_types::MediaType::image_manifest());
        store.push_bytes(&desc, doc.bytes().clone()).await.unwrap();
        store.tag(&desc, tag).await.unwrap();
        desc
    })
}

#[test]
fn manifest_index_create_and_update_by_platform() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let store = dir.join("store");
    let amd = push_image(&store, "linux", "amd64", b"amd", "amd");
    push_image(&store, "linux", "arm64", b"arm", "arm");
    ok(
        dir,
        &[
            "manifest",
            "index",
            "create",
            "--oci-layout",
            "store:multi",
            "amd",
            "arm",
        ],
    );
    let index: serde_json::Value = serde_json::from_str(&ok(
        dir,
        &["manifest", "fetch", "--oci-layout", "store:multi"],
    ))
    .unwrap();
    let platforms: Vec<String> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| format!("{}/{}", m["platform"]["os"], m["platform"]["architecture"]))
        .collect();
    assert_eq!(platforms, ["\"linux\"/\"amd64\"", "\"linux\"/\"arm64\""]);

    // A new arm64 build takes the old one's place; amd64 is removed by digest.
    let arm2 = push_image(&store, "linux", "arm64", b"arm, rebuilt", "arm2");
    ok(
        dir,
        &[
            "manifest",
            "index",
            "update",
            "--oci-layout",
            "store:multi",
            "--add",
            "arm2",
            "--remove",
            amd.digest.as_str(),
        ],
    );
    let index: serde_json::Value = serde_json::from_str(&ok(
        dir,
        &["manifest", "fetch", "--oci-layout", "store:multi"],
    ))
    .unwrap();
    let entries = index["manifests"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{index}");
    assert_eq!(entries[0]["digest"], arm2.digest.as_str());
    ok(
        dir,
        &[
            "cp",
            "--from-oci-layout",
            "--to-oci-layout",
            "store:multi",
            "copy:arm",
            "--platform",
            "linux/arm64",
        ],
    );
}
