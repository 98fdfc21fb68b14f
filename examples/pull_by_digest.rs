//! Pull by digest: resolve a tag once, then pull the exact content that digest names, however
//! the tag moves later. A digest that names nothing is a clear error.
//!
//! ```sh
//! cargo run -p oci-examples --example pull_by_digest [-- --oci-layout DIR | --plain-http host/repo]
//! ```

use oci_artifact::files::{FileRef, PullFilesOptions, PushFilesOptions, pull_files, push_files};
use oci_artifact::pack::{PackOptions, pack_manifest};
use oci_spec_types::MediaType;
use oci_target::{ErrorKind, Result, Target};

/// Pushes `config.toml` twice under one tag, pulls the first version by digest; returns what
/// the pulled file says.
pub async fn run(target: &dyn Target) -> Result<String> {
    let work = tempfile::tempdir()?;
    let file = work.path().join("config.toml");
    let kind = MediaType::parse("application/vnd.example.config.v1")?;
    let mut digests = Vec::new();
    for version in ["1", "2"] {
        std::fs::write(&file, format!("version = {version}\n"))?;
        let layers = push_files(
            target,
            &[FileRef::new(&file).with_title("config.toml")],
            &PushFilesOptions::default(),
        )
        .await?;
        let manifest = pack_manifest(target, layers, &PackOptions::new(kind.clone())).await?;
        target.tag(&manifest, "stable").await?;
        digests.push(manifest.digest);
    }
    // `stable` now names version 2; the first digest still names version 1.
    assert_eq!(target.resolve("stable").await?.digest, digests[1]);
    let out = work.path().join("out");
    let first = digests[0].to_string();
    pull_files(target, &first, &out, &PullFilesOptions::default()).await?;
    let pulled = std::fs::read_to_string(out.join("config.toml"))?;
    println!("{first} says: {}", pulled.trim());

    let missing = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
    let err = pull_files(target, missing, &out, &PullFilesOptions::default())
        .await
        .expect_err("nothing has that digest");
    assert_eq!(err.kind(), ErrorKind::NotFound);
    println!("and {missing} is: {err}");
    Ok(pulled)
}

#[tokio::main]
async fn main() -> Result<()> {
    let t = oci_examples::target_from_args().await?;
    run(&*t.target).await.map(drop)
}
