//! Layouts built from the input, as a hostile writer would: blobs under sha256, sha512 and
//! unknown algorithms with right or wrong names, indexes that nest and repeat each other, any
//! `index.json`, links in place of the layout's own directories, blobs, `index.json` and its
//! lock, pointing outside. Every read and maintenance call must return (an error is fine), never
//! panic or hang, and nothing outside the layout may change.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use oci_layout::{GcOptions, LayoutOptions, OciLayout};
use oci_spec_types::{Descriptor, MediaType};
use oci_target::{
    CopyOptions, Limits, MemoryStore, ReadOnlyTarget, ReadOnlyTargetExt, Target, TargetExt, copy,
};

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    })
}

/// Reads the input a byte or a slice at a time; zeros once it runs out.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }
    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let n = (self.byte() as usize).min(max).min(self.0.len());
        let (take, rest) = self.0.split_at(n);
        self.0 = rest;
        take.to_vec()
    }
    fn done(&self) -> bool {
        self.0.is_empty()
    }
}

const MEDIA: [&str; 4] = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/octet-stream",
    "application/vnd.oci.empty.v1+json",
];

/// Files outside the layout, named like blobs and staging files, that must survive.
fn plant_outside(outside: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    std::fs::create_dir_all(outside).unwrap();
    let names = [
        "0000000000000000000000000000000000000000000000000000000000000000".to_owned(),
        format!("{}", oci_digest::sha256(b"outside").encoded()),
        "x.partial".to_owned(),
        "index.json".to_owned(),
    ];
    let mut out = Vec::new();
    for n in names {
        let p = outside.join(&n);
        let content = format!("outside {n}").into_bytes();
        std::fs::write(&p, &content).unwrap();
        let f = std::fs::File::options().write(true).open(&p).unwrap();
        f.set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(86_400))
            .unwrap();
        out.push((p, content));
    }
    out
}

/// Writes a file of the layout as the harness builds it, never through a link it planted
/// (that would be the harness, not the library, touching what lies outside).
fn write(root: &Path, path: &Path, content: &[u8]) {
    let mut at = path.to_path_buf();
    while at.starts_with(root) && at != root {
        if std::fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink()) {
            return;
        }
        at.pop();
    }
    let _ = std::fs::write(path, content);
}

fn build(root: &Path, outside: &Path, input: &mut Input<'_>) -> Vec<Descriptor> {
    std::fs::create_dir_all(root.join("blobs/sha256")).unwrap();
    std::fs::write(root.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    std::fs::write(root.join("index.json"), br#"{"schemaVersion":2,"manifests":[]}"#).unwrap();
    let mut known: Vec<Descriptor> = Vec::new();
    let mut steps = 0;
    while !input.done() && steps < 24 {
        steps += 1;
        match input.byte() % 8 {
            // A blob under its right name, or a wrong one.
            0 | 1 => {
                let content = input.bytes(200);
                let alg = input.byte();
                let digest = if alg % 5 == 0 {
                    oci_digest::Algorithm::Sha512.digest(&content)
                } else {
                    oci_digest::sha256(&content)
                };
                let name = if alg % 7 == 0 {
                    format!("{:064x}", alg)
                } else {
                    digest.encoded().to_owned()
                };
                let dir = root.join("blobs").join(digest.algorithm());
                if std::fs::symlink_metadata(&dir).is_err() {
                    let _ = std::fs::create_dir_all(&dir);
                }
                write(root, &dir.join(name), &content);
                let media = MEDIA[input.byte() as usize % MEDIA.len()];
                known.push(Descriptor::new(
                    MediaType::parse(media).unwrap(),
                    digest,
                    content.len() as u64,
                ));
            }
            // An index over known nodes (so indexes nest and repeat), stored as a blob.
            2 | 3 => {
                let n = input.byte() as usize % 8;
                let mut manifests = Vec::new();
                for _ in 0..n {
                    if known.is_empty() {
                        break;
                    }
                    let d = &known[input.byte() as usize % known.len()];
                    manifests.push(serde_json::to_value(d).unwrap());
                }
                let doc = serde_json::json!({
                    "schemaVersion": 2,
                    "mediaType": MEDIA[0],
                    "manifests": manifests,
                });
                let bytes = serde_json::to_vec(&doc).unwrap();
                let digest = oci_digest::sha256(&bytes);
                write(root, &root.join("blobs/sha256").join(digest.encoded()), &bytes);
                known.push(Descriptor::new(
                    MediaType::parse(MEDIA[0]).unwrap(),
                    digest,
                    bytes.len() as u64,
                ));
            }
            // index.json listing known nodes, some tagged.
            4 => {
                let mut entries = Vec::new();
                for (i, d) in known.iter().enumerate() {
                    let mut v = serde_json::to_value(d).unwrap();
                    if input.byte() % 2 == 0 {
                        v["annotations"] =
                            serde_json::json!({"org.opencontainers.image.ref.name": format!("t{i}")});
                    }
                    entries.push(v);
                }
                let doc = serde_json::json!({"schemaVersion": 2, "manifests": entries});
                write(root, &root.join("index.json"), &serde_json::to_vec(&doc).unwrap());
            }
            // index.json as raw bytes.
            5 => {
                let raw = input.bytes(255);
                write(root, &root.join("index.json"), &raw);
            }
            // A link where the layout keeps its own things, pointing outside.
            6 => {
                let at = match input.byte() % 6 {
                    0 => root.join("ingest"),
                    1 => root.join("blobs/sha512"),
                    2 => root.join("blobs/evil"),
                    3 => root.join(".index.lock"),
                    4 => root.join("blobs/sha256").join(oci_digest::sha256(b"outside").encoded()),
                    _ => root.join("blobs/sha256/link"),
                };
                let _ = std::fs::remove_dir_all(&at);
                let _ = std::fs::remove_file(&at);
                let _ = std::os::unix::fs::symlink(outside, &at);
            }
            // Odd names and non-files in blob directories.
            _ => {
                let name = String::from_utf8_lossy(&input.bytes(40)).replace(['/', '\0'], "_");
                let sha = root.join("blobs/sha256");
                let linked = std::fs::symlink_metadata(&sha).is_ok_and(|m| m.file_type().is_symlink());
                if !name.is_empty() && name != "." && name != ".." && !linked {
                    let _ = std::fs::create_dir(sha.join(name));
                }
            }
        }
    }
    known
}

fuzz_target!(|data: &[u8]| {
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("layout");
    let outside = work.path().join("outside");
    let sentinels = plant_outside(&outside);
    let mut input = Input(data);
    let known = build(&root, &outside, &mut input);

    runtime().block_on(async {
        let options = LayoutOptions::default()
            .with_fsync(false)
            .with_limits(Limits::default());
        let Ok(store) = OciLayout::open(&root, options).await else {
            return;
        };
        let _ = store.tags().await;
        for d in known.iter().take(6) {
            let _ = store.exists(d).await;
            let _ = store.fetch_bytes(d, 1 << 16).await;
            let _ = store.resolve(d.digest.as_str()).await;
            let _ = store.referrers(d, None).await;
        }
        let _ = store.resolve(oci_digest::sha256(b"absent").as_str()).await;
        for t in ["t0", "t1", "t2"] {
            if store.resolve(t).await.is_ok() {
                let _ = copy(&store, t, &MemoryStore::new(), t, &CopyOptions::default()).await;
            }
        }
        let _ = store.fsck().await;
        let _ = store
            .gc(GcOptions::default().with_grace(std::time::Duration::ZERO))
            .await;
        let data = Bytes::from_static(b"pushed by the fuzzer");
        let desc = Descriptor::new(MediaType::octet_stream(), oci_digest::sha256(&data), 20);
        if store.push_bytes(&desc, data).await.is_ok() {
            let _ = store.tag(&desc, "pushed").await;
        }
    });

    for (path, content) in sentinels {
        assert_eq!(
            std::fs::read(&path).ok().as_deref(),
            Some(content.as_slice()),
            "{} outside the layout changed",
            path.display()
        );
    }
});
