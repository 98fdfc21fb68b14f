//! Quickstart: push files as an artifact into a local OCI layout, tag it, find it again, pull it
//! back verified, and copy it to a second layout. No registry needed.
//!
//! ```sh
//! cargo run -p oci-examples --example quickstart            # in a temporary directory
//! cargo run -p oci-examples --example quickstart -- ./demo  # keep the layouts in ./demo
//! ```

use std::path::{Path, PathBuf};

use oci_artifact::files::{FileRef, PullFilesOptions, PushFilesOptions, pull_files, push_files};
use oci_artifact::pack::{Created, PackOptions, pack_manifest};
use oci_layout::{LayoutOptions, OciLayout};
use oci_spec_types::{MediaType, annotations};
use oci_target::{CopyOptions, ReadOnlyTarget, Result, Target, copy};

/// What the quickstart did, for the caller to check.
#[derive(Debug)]
pub struct Summary {
    /// The manifest's digest.
    pub digest: oci_digest::Digest,
    /// Files written by the pull.
    pub pulled: Vec<PathBuf>,
    /// Tags in the copy.
    pub copied_tags: Vec<String>,
}

/// Runs the whole tour under `work` (created if missing).
pub async fn run(work: &Path) -> Result<Summary> {
    // 1. Some files to ship: a README and a directory of data.
    let src = work.join("src");
    std::fs::create_dir_all(src.join("data"))?;
    std::fs::write(src.join("README.md"), "# Hello from an OCI artifact\n")?;
    std::fs::write(src.join("data/numbers.csv"), "n,square\n1,1\n2,4\n3,9\n")?;

    // 2. A layout is a directory; opening it creates `oci-layout` and `index.json`.
    let layout = OciLayout::create(work.join("layout"), LayoutOptions::default()).await?;

    // 3. Push the files as layers (the directory becomes a tar+gzip), then pack a manifest.
    let files = [
        FileRef::new(src.join("README.md")).with_title("README.md"),
        FileRef::new(src.join("data")).with_title("data"),
    ];
    let layers = push_files(&layout, &files, &PushFilesOptions::default()).await?;
    let options = PackOptions::new(MediaType::parse("application/vnd.example.quickstart.v1")?)
        .with_annotation(annotations::DESCRIPTION, "quickstart demo")
        .with_created(Created::At("2025-01-01T00:00:00Z".into()));
    let manifest = pack_manifest(&layout, layers, &options).await?;
    layout.tag(&manifest, "v1").await?;
    println!("pushed {} as v1 ({} bytes)", manifest.digest, manifest.size);

    // 4. Find it again by tag.
    let resolved = layout.resolve("v1").await?;
    assert_eq!(resolved.digest, manifest.digest);
    println!("tags: {:?}", layout.tags().await?);

    // 5. Pull into a fresh directory: every file verified before it appears.
    let out = work.join("pulled");
    let report = pull_files(
        &layout,
        "v1",
        &out,
        &PullFilesOptions::default().with_overwrite(true),
    )
    .await?;
    for f in &report.files {
        println!("pulled {}", f.path.display());
    }

    // 6. Copy to a second layout: what the destination has is skipped, the rest verified.
    let mirror = OciLayout::create(work.join("mirror"), LayoutOptions::default()).await?;
    let copied = copy(&layout, "v1", &mirror, "v1", &CopyOptions::default()).await?;
    println!(
        "copied {} to the mirror: {} blobs, {} bytes",
        copied.root.digest, copied.stats.copied, copied.stats.bytes
    );
    Ok(Summary {
        digest: manifest.digest,
        pulled: report.files.into_iter().map(|f| f.path).collect(),
        copied_tags: mirror.tags().await?,
    })
}

#[tokio::main]
async fn main() -> Result<()> {
    let keep = std::env::args().nth(1).map(PathBuf::from);
    let temp;
    let work = match keep {
        Some(dir) => dir,
        None => {
            temp = tempfile::tempdir()?;
            temp.path().to_path_buf()
        }
    };
    let summary = run(&work).await?;
    println!(
        "done: {} ({} files pulled)",
        summary.digest,
        summary.pulled.len()
    );
    Ok(())
}
