//! Push a model with an annotation, attach an SBOM, list referrers, copy both to a layout, pull
//! back with progress, handle three errors: `cargo run -p oci-examples --example embed -- HOST/REPO`
use oci_artifact::files::{FileRef, PullFilesOptions, PushFilesOptions, pull_files};
use oci_artifact::pack::{PackOptions, push_artifact};
use oci_distribution_client::{ClientConfig, Repository};
use oci_layout::{LayoutOptions, OciLayout};
use oci_spec_types::MediaType;
use oci_target::{ErrorKind, ExtendedCopyOptions, ProgressEvent as Event, ReadOnlyTarget, Result};

/// Runs the seven steps against `reference` (`host:port/repo`), working in `dir`.
pub async fn run(reference: &str, dir: &std::path::Path) -> Result<Vec<ErrorKind>> {
    let config = ClientConfig::default().with_plain_http_all();
    let repo = Repository::from_reference(reference, &config)?;
    let (model_file, sbom_file) = (dir.join("model.gguf"), dir.join("sbom.json"));
    std::fs::write(&model_file, vec![7u8; 20 << 20])?;
    std::fs::write(&sbom_file, br#"{"spdxVersion":"SPDX-2.3"}"#)?;
    let progress = |e: &Event<'_>| {
        if let Event::Done { desc } = e {
            println!("done {} ({} bytes)", desc.digest, desc.size);
        }
    };
    let push = PushFilesOptions::default().with_progress(progress);
    let pack = PackOptions::new(MediaType::parse("application/vnd.example.model")?)
        .with_annotation("org.example.quant", "q4");
    let model = push_artifact(&repo, &[FileRef::named(model_file)], &["v1"], &push, &pack).await?;
    let sbom =
        PackOptions::new(MediaType::parse("application/spdx+json")?).with_subject(model.clone());
    push_artifact(&repo, &[FileRef::named(sbom_file)], &[], &push, &sbom).await?;
    for r in repo.referrers(&model, None).await? {
        println!("referrer {} of type {:?}", r.digest, r.artifact_type);
    }
    let layout = OciLayout::create(dir.join("layout"), LayoutOptions::default()).await?;
    oci_target::extended_copy(&repo, "v1", &layout, "v1", &ExtendedCopyOptions::default()).await?;
    let pull = PullFilesOptions::default().with_progress(progress);
    pull_files(&layout, "v1", &dir.join("out"), &pull).await?;
    let mut seen = Vec::new(); // three errors a tool meets, told apart by kind, not by message

    if let Err(e) = repo.resolve("no-such-tag").await {
        println!("missing: HTTP {:?}, {:?}", e.status(), e.registry_errors());
        seen.push(e.kind());
    }
    if let Err(e) = Repository::from_reference("Not A Reference!", &config) {
        seen.push(e.kind());
    }
    if let Err(e) = pull_files(&layout, "v1", &dir.join("out"), &pull).await {
        println!("not overwritten: {e}");
        seen.push(e.kind());
    }
    Ok(seen)
}

#[tokio::main]
async fn main() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let reference = std::env::args().nth(1).unwrap_or_default();
    println!("errors handled: {:?}", run(&reference, dir.path()).await?);
    Ok(())
}
