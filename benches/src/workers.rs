//! The measured side of each tool in Rust: one process per run, so it is measured exactly as
//! the peer tools are.

use std::path::Path;

use futures_util::StreamExt;
use oci_distribution_client::{Client, ClientConfig};
use oci_spec_types::{Descriptor, Digest, MediaType};
use oci_target::{ReadOnlyTarget, Target};

/// `worker <kind> ARGS...`: one measured operation, in a process of its own.
pub(crate) fn run(args: &[String]) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let kind = args.first().map(String::as_str).unwrap_or_default();
    let a: Vec<&str> = args.iter().skip(1).map(String::as_str).collect();
    runtime.block_on(async {
        match (kind, a.as_slice()) {
            ("digest-verify", [file, digest, size]) => digest_verify(
                Path::new(file),
                &Digest::parse(digest).unwrap(),
                size.parse().unwrap(),
            ),
            ("copy", [src, src_ref, dst, dst_ref, concurrency]) => {
                copy_between(src, src_ref, dst, dst_ref, concurrency.parse().unwrap()).await
            }
            ("graph-layout", [dir]) => {
                crate::harness::graph_layout(Path::new(dir)).await;
            }
            (
                kind @ ("layout-write-read" | "layout-write-read-nosync"),
                [dir, digest, size, file],
            ) => {
                layout_write_read(
                    dir,
                    &Digest::parse(digest).unwrap(),
                    size.parse().unwrap(),
                    Path::new(file),
                    kind == "layout-write-read",
                )
                .await
            }
            ("ranged-pull", [host, repo, digest, size, file, connections]) => {
                ranged_pull(
                    host,
                    repo,
                    &Digest::parse(digest).unwrap(),
                    size.parse().unwrap(),
                    Path::new(file),
                    connections.parse().unwrap(),
                )
                .await
            }
            (kind, [host, repo, digest, size, file]) => {
                let digest = Digest::parse(digest).unwrap();
                let size: u64 = size.parse().unwrap();
                let file = Path::new(file);
                match kind {
                    "ours-pull" => ours_pull(host, repo, &digest, size, file).await,
                    "ours-push" => ours_push(host, repo, &digest, size, file).await,
                    "oci-client-pull" => oci_client_pull(host, repo, &digest, size, file).await,
                    "oci-client-push" => oci_client_push(host, repo, &digest, size, file).await,
                    other => panic!("unknown worker {other}"),
                }
            }
            _ => panic!("bad worker arguments: {args:?}"),
        }
    });
}

/// Reads `file` to the end through the verifying reader.
fn digest_verify(file: &Path, digest: &Digest, size: u64) {
    use std::io::Read;
    let f = std::fs::File::open(file).unwrap();
    let mut reader = oci_digest::VerifyingReader::new(f, digest, size).unwrap();
    let mut buf = vec![0u8; 1 << 16];
    while reader.read(&mut buf).unwrap() > 0 {}
}

/// A store from `layout:<dir>` or `registry:<host>/<repo>` (plain HTTP).
async fn store(spec: &str) -> Box<dyn Target> {
    if let Some(dir) = spec.strip_prefix("layout-nosync:") {
        let options = oci_layout::LayoutOptions::default().with_fsync(false);
        return Box::new(oci_layout::OciLayout::create(dir, options).await.unwrap());
    }
    if let Some(dir) = spec.strip_prefix("layout:") {
        return Box::new(
            oci_layout::OciLayout::create(dir, oci_layout::LayoutOptions::default())
                .await
                .unwrap(),
        );
    }
    let rest = spec
        .strip_prefix("registry:")
        .expect("layout: or registry:");
    let (host, repo) = rest.split_once('/').unwrap();
    let client = Client::new(ClientConfig::default().with_plain_http(host)).unwrap();
    Box::new(client.repository(host, repo).unwrap())
}

async fn copy_between(src: &str, src_ref: &str, dst: &str, dst_ref: &str, concurrency: usize) {
    let (src, dst) = (store(src).await, store(dst).await);
    let options = oci_target::CopyOptions::default()
        .with_graph(oci_target::CopyGraphOptions::default().with_concurrency(concurrency));
    oci_target::copy(&*src, src_ref, &*dst, dst_ref, &options)
        .await
        .unwrap();
}

async fn ranged_pull(
    host: &str,
    repo: &str,
    digest: &Digest,
    size: u64,
    file: &Path,
    connections: usize,
) {
    let parallel =
        oci_distribution_client::ParallelDownload::default().with_connections(connections);
    let client = Client::new(
        ClientConfig::default()
            .with_plain_http(host)
            .with_parallel_download(parallel),
    )
    .unwrap();
    fetch_to_file(&client, host, repo, &desc(digest, size), file).await;
}

/// Fetches `desc` from `host/repo` into `file`.
async fn fetch_to_file(client: &Client, host: &str, repo: &str, desc: &Descriptor, file: &Path) {
    let repo = client.repository(host, repo).unwrap();
    let stream = repo.fetch(desc).await.unwrap();
    let out = std::fs::File::create(file).unwrap();
    oci_target::write_stream(stream, out, file, false)
        .await
        .unwrap();
}

fn desc(digest: &Digest, size: u64) -> Descriptor {
    Descriptor::new(
        MediaType::parse("application/vnd.oci.image.layer.v1.tar").unwrap(),
        digest.clone(),
        size,
    )
}

async fn ours_pull(host: &str, repo: &str, digest: &Digest, size: u64, file: &Path) {
    let client = Client::new(ClientConfig::default().with_plain_http(host)).unwrap();
    fetch_to_file(&client, host, repo, &desc(digest, size), file).await;
}

async fn ours_push(host: &str, repo: &str, digest: &Digest, size: u64, file: &Path) {
    let client = Client::new(ClientConfig::default().with_plain_http(host)).unwrap();
    let repo = client.repository(host, repo).unwrap();
    repo.push(
        &desc(digest, size),
        oci_target::open_file_stream(file).unwrap(),
    )
    .await
    .unwrap();
}

/// An oci-client client over plain HTTP, signed in (anonymously) for `operation` on the blob.
async fn occ(
    host: &str,
    repo: &str,
    digest: &Digest,
    operation: oci_client::RegistryOperation,
) -> (oci_client::Client, oci_client::Reference) {
    let client = oci_client::Client::new(oci_client::client::ClientConfig {
        protocol: oci_client::client::ClientProtocol::Http,
        ..Default::default()
    });
    let reference = format!("{host}/{repo}@{digest}").parse().unwrap();
    let anonymous = oci_client::secrets::RegistryAuth::Anonymous;
    client
        .auth(&reference, &anonymous, operation)
        .await
        .unwrap();
    (client, reference)
}

async fn oci_client_pull(host: &str, repo: &str, digest: &Digest, size: u64, file: &Path) {
    let (client, reference) = occ(host, repo, digest, oci_client::RegistryOperation::Pull).await;
    let layer = oci_client::manifest::OciDescriptor {
        media_type: "application/vnd.oci.image.layer.v1.tar".into(),
        digest: digest.to_string(),
        size: size as i64,
        ..Default::default()
    };
    let out = tokio::fs::File::create(file).await.unwrap();
    client.pull_blob(&reference, &layer, out).await.unwrap();
}

async fn oci_client_push(host: &str, repo: &str, digest: &Digest, size: u64, file: &Path) {
    let (client, reference) = occ(host, repo, digest, oci_client::RegistryOperation::Push).await;
    // The crate's main push API takes the blob whole, in memory.
    let data = tokio::fs::read(file).await.unwrap();
    assert_eq!(data.len() as u64, size);
    client
        .push_blob(&reference, data, digest.as_str())
        .await
        .unwrap();
}

/// Pushes the file into a new layout at `dir`, then reads it back to the end, verified.
async fn layout_write_read(dir: &str, digest: &Digest, size: u64, file: &Path, fsync: bool) {
    let options = oci_layout::LayoutOptions::default().with_fsync(fsync);
    let store = oci_layout::OciLayout::create(dir, options).await.unwrap();
    let d = desc(digest, size);
    store
        .push(&d, oci_target::open_file_stream(file).unwrap())
        .await
        .unwrap();
    let mut back = store.fetch(&d).await.unwrap();
    let mut total = 0u64;
    while let Some(chunk) = back.next().await {
        total += chunk.unwrap().len() as u64;
    }
    assert_eq!(total, size);
}
