//! The measured side of each tool in Rust: one process per run, so it is measured exactly as
//! the peer tools are.

use std::path::Path;

use futures_util::StreamExt;
use oci_distribution_client::{Client, ClientConfig};
use oci_spec_types::{Descriptor, Digest, MediaType};
use oci_target::{ReadOnlyTarget, Target};
use tokio::io::AsyncWriteExt;

/// `worker <kind> <host> <repo> <digest> <size> <file>`
pub(crate) fn run(args: &[String]) {
    let [kind, host, repo, digest, size, file] = args else {
        panic!("worker <kind> <host> <repo> <digest> <size> <file>");
    };
    let digest = Digest::parse(digest).unwrap();
    let size: u64 = size.parse().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        match kind.as_str() {
            "ours-pull" => ours_pull(host, repo, &digest, size, Path::new(file)).await,
            "ours-push" => ours_push(host, repo, &digest, size, Path::new(file)).await,
            "oci-client-pull" => oci_client_pull(host, repo, &digest, size, Path::new(file)).await,
            "oci-client-push" => oci_client_push(host, repo, &digest, size, Path::new(file)).await,
            "layout-write-read" => layout_write_read(host, &digest, size, Path::new(file)).await,
            other => panic!("unknown worker {other}"),
        }
    });
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
    let repo = client.repository(host, repo).unwrap();
    let mut stream = repo.fetch(&desc(digest, size)).await.unwrap();
    let mut out = tokio::fs::File::create(file).await.unwrap();
    while let Some(chunk) = stream.next().await {
        out.write_all(&chunk.unwrap()).await.unwrap();
    }
    out.flush().await.unwrap();
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

fn occ() -> oci_client::Client {
    oci_client::Client::new(oci_client::client::ClientConfig {
        protocol: oci_client::client::ClientProtocol::Http,
        ..Default::default()
    })
}

fn occ_ref(host: &str, repo: &str, digest: &Digest) -> oci_client::Reference {
    format!("{host}/{repo}@{digest}").parse().unwrap()
}

async fn oci_client_pull(host: &str, repo: &str, digest: &Digest, size: u64, file: &Path) {
    let client = occ();
    let reference = occ_ref(host, repo, digest);
    let layer = oci_client::manifest::OciDescriptor {
        media_type: "application/vnd.oci.image.layer.v1.tar".into(),
        digest: digest.to_string(),
        size: size as i64,
        ..Default::default()
    };
    client
        .auth(
            &reference,
            &oci_client::secrets::RegistryAuth::Anonymous,
            oci_client::RegistryOperation::Pull,
        )
        .await
        .unwrap();
    let out = tokio::fs::File::create(file).await.unwrap();
    client.pull_blob(&reference, &layer, out).await.unwrap();
}

async fn oci_client_push(host: &str, repo: &str, digest: &Digest, size: u64, file: &Path) {
    let client = occ();
    let reference = occ_ref(host, repo, digest);
    client
        .auth(
            &reference,
            &oci_client::secrets::RegistryAuth::Anonymous,
            oci_client::RegistryOperation::Push,
        )
        .await
        .unwrap();
    // The crate's main push API takes the blob whole, in memory.
    let data = tokio::fs::read(file).await.unwrap();
    assert_eq!(data.len() as u64, size);
    client
        .push_blob(&reference, data, digest.as_str())
        .await
        .unwrap();
}

/// Pushes the file into a new layout at `dir`, then reads it back to the end, verified.
async fn layout_write_read(dir: &str, digest: &Digest, size: u64, file: &Path) {
    let store = oci_layout::OciLayout::create(dir, oci_layout::LayoutOptions::default())
        .await
        .unwrap();
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
