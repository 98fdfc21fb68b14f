use std::sync::Mutex;

use bytes::Bytes;

use super::*;
use crate::pack::{PackOptions, pack_manifest};
use oci_target::conformance::{Faults, Instrumented};
use oci_target::{MemoryStore, TargetExt};

fn artifact_type() -> MediaType {
    MediaType::parse("application/vnd.example.files").unwrap()
}

/// A working directory with `hello.txt`, `nested/b.bin` and a directory `tree/`.
fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.txt"), b"hello, world\n").unwrap();
    std::fs::create_dir(dir.path().join("nested")).unwrap();
    std::fs::write(dir.path().join("nested/b.bin"), vec![3u8; 300_000]).unwrap();
    std::fs::create_dir_all(dir.path().join("tree/sub")).unwrap();
    std::fs::write(dir.path().join("tree/one"), b"1").unwrap();
    std::fs::write(dir.path().join("tree/sub/two"), b"22").unwrap();
    dir
}

async fn push_workdir(store: &dyn Target, dir: &Path) -> (Vec<Descriptor>, Descriptor) {
    let files = [
        FileRef::new(dir.join("hello.txt")).with_title("hello.txt"),
        FileRef::new(dir.join("nested/b.bin"))
            .with_title("nested/b.bin")
            .with_media_type(MediaType::octet_stream()),
        FileRef::new(dir.join("tree")).with_title("tree"),
    ];
    let layers = push_files(store, &files, &PushFilesOptions::default())
        .await
        .unwrap();
    let manifest = pack_manifest(store, layers.clone(), &PackOptions::new(artifact_type()))
        .await
        .unwrap();
    store.tag(&manifest, "v1").await.unwrap();
    (layers, manifest)
}

fn listing(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let rel = e.path().strip_prefix(dir).unwrap().display().to_string();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
                out.push(format!("{rel}/"));
            } else {
                out.push(rel);
            }
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn files_and_directories_round_trip() {
    let src = workdir();
    let store = MemoryStore::new();
    let (layers, _) = push_workdir(&store, src.path()).await;
    assert_eq!(layers[0].media_type.as_str(), media_types::LAYER_TAR);
    assert_eq!(layers[1].media_type, MediaType::octet_stream());
    assert_eq!(layers[2].media_type.as_str(), media_types::LAYER_TAR_GZIP);
    assert_eq!(
        layers[2].annotation(annotations::ORAS_CONTENT_UNPACK),
        Some("true")
    );
    assert!(
        layers[2]
            .annotation(annotations::ORAS_CONTENT_DIGEST)
            .is_some()
    );
    assert_eq!(
        layers[1].annotation(annotations::TITLE),
        Some("nested/b.bin")
    );

    let out = tempfile::tempdir().unwrap();
    let report = pull_files(&store, "v1", out.path(), &PullFilesOptions::default())
        .await
        .unwrap();
    assert_eq!(report.files.len(), 3);
    assert!(report.files[2].unpacked);
    assert_eq!(
        listing(out.path()),
        [
            "hello.txt",
            "nested/",
            "nested/b.bin",
            "tree/",
            "tree/one",
            "tree/sub/",
            "tree/sub/two"
        ]
    );
    for f in ["hello.txt", "nested/b.bin", "tree/one", "tree/sub/two"] {
        assert_eq!(
            std::fs::read(out.path().join(f)).unwrap(),
            std::fs::read(src.path().join(f)).unwrap(),
            "{f}"
        );
    }
}

#[tokio::test]
async fn titles_default_to_the_path_as_given_and_absolute_paths_are_refused() {
    assert_eq!(FileRef::new("a/./b.txt").title(false).unwrap(), "a/b.txt");
    let err = FileRef::new("/etc/passwd").title(false).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnsafePath);
    assert_eq!(FileRef::new("/etc/passwd").title(true).unwrap(), "passwd");
    assert_eq!(
        FileRef::new("../x").title(false).unwrap_err().kind(),
        ErrorKind::UnsafePath
    );

    let r = FileRef::parse("sbom.json:application/spdx+json");
    assert_eq!(r.path, Path::new("sbom.json"));
    assert_eq!(r.media_type.unwrap().as_str(), "application/spdx+json");
    let r = FileRef::parse("plain.txt");
    assert_eq!(
        (r.path.as_path(), r.media_type),
        (Path::new("plain.txt"), None)
    );
    let r = FileRef::parse("odd:name");
    assert_eq!(
        r.path,
        Path::new("odd:name"),
        "not a media type: part of the name"
    );

    let store = MemoryStore::new();
    let dup = [
        FileRef::new("a").with_title("x"),
        FileRef::new("b").with_title("x"),
    ];
    let err = push_files(&store, &dup, &PushFilesOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let missing = [FileRef::new("does/not/exist")];
    let err = push_files(&store, &missing, &PushFilesOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn existing_files_are_replaced_only_when_asked() {
    let src = workdir();
    let store = MemoryStore::new();
    push_workdir(&store, src.path()).await;
    let out = tempfile::tempdir().unwrap();
    std::fs::write(out.path().join("hello.txt"), b"mine").unwrap();
    let err = pull_files(&store, "v1", out.path(), &PullFilesOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    assert_eq!(
        std::fs::read(out.path().join("hello.txt")).unwrap(),
        b"mine"
    );
    assert_eq!(
        listing(out.path()),
        ["hello.txt"],
        "nothing else was written"
    );

    std::fs::create_dir(out.path().join("tree")).unwrap();
    std::fs::write(out.path().join("tree/stale"), b"old").unwrap();
    pull_files(
        &store,
        "v1",
        out.path(),
        &PullFilesOptions::default().with_overwrite(true),
    )
    .await
    .unwrap();
    assert_eq!(
        std::fs::read(out.path().join("hello.txt")).unwrap(),
        b"hello, world\n"
    );
    assert!(
        !out.path().join("tree/stale").exists(),
        "the directory was replaced whole"
    );
}

async fn manifest_with_titles(store: &MemoryStore, titles: &[&str]) -> Descriptor {
    let mut layers = Vec::new();
    for (i, t) in titles.iter().enumerate() {
        let d = store
            .push_content(
                MediaType::octet_stream(),
                Bytes::from(format!("content {i}")),
            )
            .await
            .unwrap()
            .with_annotation(annotations::TITLE, *t);
        layers.push(d);
    }
    let m = pack_manifest(store, layers, &PackOptions::new(artifact_type()))
        .await
        .unwrap();
    store.tag(&m, "hostile").await.unwrap();
    m
}

#[tokio::test]
async fn hostile_titles_write_nothing() {
    for title in ["../escape", "/abs/path", "a/../../b", "c:/x", "a\\..\\b"] {
        let store = MemoryStore::new();
        manifest_with_titles(&store, &["fine.txt", title]).await;
        let parent = tempfile::tempdir().unwrap();
        let out = parent.path().join("out");
        let err = pull_files(&store, "hostile", &out, &PullFilesOptions::default())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnsafePath, "{title}: {err}");
        assert_eq!(listing(parent.path()), ["out/"], "{title}: nothing written");
    }
}

#[tokio::test]
async fn a_link_in_the_output_directory_is_not_followed() {
    let store = MemoryStore::new();
    manifest_with_titles(&store, &["link/passwd"]).await;
    let out = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), out.path().join("link")).unwrap();
    let err = pull_files(&store, "hostile", out.path(), &PullFilesOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnsafePath);
    assert_eq!(listing(elsewhere.path()), Vec::<String>::new());
}

#[tokio::test]
async fn wrong_bytes_never_appear_under_the_name() {
    let src = workdir();
    let store = MemoryStore::new();
    let (layers, _) = push_workdir(&store, src.path()).await;
    for layer in [&layers[0], &layers[2]] {
        let faulty = Instrumented::new(store.clone())
            .with_faults(Faults::default().corrupt(layer.digest.clone()));
        let out = tempfile::tempdir().unwrap();
        let err = pull_files(
            &faulty,
            "v1",
            out.path(),
            &PullFilesOptions::default().with_concurrency(1),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DigestMismatch, "{err}");
        let title = layer.annotation(annotations::TITLE).unwrap();
        let text = err.to_string();
        assert_eq!(
            text.matches("digest mismatch").count(),
            1,
            "said more than once: {text}"
        );
        assert!(text.contains(title), "the file is not named: {text}");
        assert!(
            text.contains(layer.digest.as_str()),
            "the layer is not named: {text}"
        );
        assert!(!out.path().join(title).exists(), "{title} must not appear");
        assert!(
            listing(out.path())
                .iter()
                .all(|n| !n.contains(".oci-pull-")),
            "no staging file is left: {:?}",
            listing(out.path())
        );
    }
}

#[tokio::test]
async fn a_tampered_tar_digest_annotation_is_caught() {
    let src = workdir();
    let store = MemoryStore::new();
    let files = [FileRef::new(src.path().join("tree")).with_title("tree")];
    let mut layers = push_files(&store, &files, &PushFilesOptions::default())
        .await
        .unwrap();
    layers[0] = layers[0].clone().with_annotation(
        annotations::ORAS_CONTENT_DIGEST,
        oci_digest::sha256(b"x").as_str(),
    );
    let m = pack_manifest(&store, layers, &PackOptions::new(artifact_type()))
        .await
        .unwrap();
    let out = tempfile::tempdir().unwrap();
    let err = pull_files(
        &store,
        m.digest.as_ref(),
        out.path(),
        &PullFilesOptions::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DigestMismatch);
    assert!(listing(out.path()).is_empty(), "{:?}", listing(out.path()));
}

#[tokio::test]
async fn progress_reports_every_file() {
    let src = workdir();
    let store = MemoryStore::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = {
        let seen = Arc::clone(&seen);
        move |e: &ProgressEvent<'_>| {
            let what = match e {
                ProgressEvent::Started { .. } => "started",
                ProgressEvent::Done { .. } => "done",
                ProgressEvent::Skipped { .. } => "skipped",
                _ => return,
            };
            seen.lock().unwrap().push(what);
        }
    };
    let options = PushFilesOptions::default().with_progress(Arc::new(sink));
    let files = [FileRef::new(src.path().join("hello.txt")).with_title("hello.txt")];
    push_files(&store, &files, &options).await.unwrap();
    push_files(&store, &files, &options).await.unwrap();
    assert_eq!(*seen.lock().unwrap(), ["started", "done", "skipped"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_files_in_one_new_directory_pull_at_once() {
    let store = MemoryStore::new();
    let titles: Vec<String> = (0..32).map(|i| format!("new/dir/file-{i}")).collect();
    let refs: Vec<&str> = titles.iter().map(String::as_str).collect();
    manifest_with_titles(&store, &refs).await;
    for _ in 0..5 {
        let out = tempfile::tempdir().unwrap();
        let report = pull_files(
            &store,
            "hostile",
            out.path(),
            &PullFilesOptions::default().with_concurrency(16),
        )
        .await
        .unwrap();
        assert_eq!(report.files.len(), 32);
    }
}

#[tokio::test]
async fn one_shared_sink_serves_every_option_that_takes_progress() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let sink: oci_target::SharedProgress = Arc::new(move |_: &ProgressEvent<'_>| {
        counter.fetch_add(1, Ordering::Relaxed);
    });
    let src = workdir();
    let store = MemoryStore::new();
    let files = [FileRef::new(src.path().join("hello.txt")).with_title("hello.txt")];
    let push = PushFilesOptions::default().with_progress(sink.clone());
    let layers = push_files(&store, &files, &push).await.unwrap();
    let manifest = crate::pack::pack_manifest(
        &store,
        layers,
        &crate::pack::PackOptions::new(
            oci_spec_types::MediaType::parse("application/x.t").unwrap(),
        ),
    )
    .await
    .unwrap();
    store.tag(&manifest, "shared").await.unwrap();
    let after_push = seen.load(Ordering::Relaxed);
    assert!(after_push > 0);
    let copy_options = oci_target::CopyOptions::default()
        .with_graph(oci_target::CopyGraphOptions::default().with_progress(sink.clone()));
    oci_target::copy(
        &store,
        "shared",
        &MemoryStore::new(),
        "shared",
        &copy_options,
    )
    .await
    .unwrap();
    let after_copy = seen.load(Ordering::Relaxed);
    assert!(after_copy > after_push);
    let out = tempfile::tempdir().unwrap();
    pull_files(
        &store,
        "shared",
        out.path(),
        &PullFilesOptions::default().with_progress(sink),
    )
    .await
    .unwrap();
    assert!(seen.load(Ordering::Relaxed) > after_copy);
}

#[tokio::test]
async fn large_files_are_read_once_where_the_target_hashes_as_it_stores() {
    let dir = tempfile::tempdir().unwrap();
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.path().join("big.bin"), &data).unwrap();
    let file = FileRef::new(dir.path().join("big.bin"));
    let digest = oci_digest::sha256(&data);
    for (one_pass_min, asked) in [(1 << 20, 0), (u64::MAX, 1)] {
        let store = Instrumented::new(MemoryStore::new());
        let options = PushFilesOptions::default()
            .with_allow_absolute(true)
            .with_one_pass_min(one_pass_min);
        let layers = push_files(&store, std::slice::from_ref(&file), &options)
            .await
            .unwrap();
        assert_eq!(layers[0].digest, digest);
        assert_eq!(layers[0].size, data.len() as u64);
        assert_eq!(layers[0].annotation(annotations::TITLE), Some("big.bin"));
        assert_eq!(store.pushes(&digest), 1);
        // Hashed first, the target is asked whether it has the file; in one pass it is not.
        assert_eq!(store.exists_calls(), asked, "one_pass_min {one_pass_min}");
        let back = store.fetch_bytes(&layers[0], u64::MAX).await.unwrap();
        assert!(back == data);
    }
}
