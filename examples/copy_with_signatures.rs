//! Copy an image with its signatures and SBOMs from one repository to another: the extended
//! copy follows referrers (and referrers of referrers) and skips what the destination has.
//!
//! ```sh
//! # Two layouts in a temporary directory:
//! cargo run -p oci-examples --example copy_with_signatures
//! # Or a source repository; the copy goes to <repo>-copy:
//! cargo run -p oci-examples --example copy_with_signatures -- --plain-http host/repo
//! ```

use bytes::Bytes;
use oci_artifact::pack::{PackOptions, pack_manifest};
use oci_spec_types::{Descriptor, MediaType, media_types};
use oci_target::{ExtendedCopyOptions, Result, Target, TargetExt, extended_copy};

async fn attach(
    target: &dyn Target,
    subject: &Descriptor,
    kind: &str,
    body: &'static [u8],
) -> Result<Descriptor> {
    let kind = MediaType::parse(kind)?;
    let layer = target
        .push_content(kind.clone(), Bytes::from_static(body))
        .await?;
    let subject = Descriptor::new(
        subject.media_type.clone(),
        subject.digest.clone(),
        subject.size,
    );
    pack_manifest(
        target,
        vec![layer],
        &PackOptions::new(kind).with_subject(subject),
    )
    .await
}

/// Signs an image and attaches an SBOM (also signed) in `src`, copies everything to `dst` as
/// `v1`, and returns the referrers found at the destination.
pub async fn run(src: &dyn Target, dst: &dyn Target) -> Result<Vec<Descriptor>> {
    let image = oci_examples::push_demo_image(src, "signed", "v1").await?;
    attach(
        src,
        &image,
        media_types::NOTARY_SIGNATURE,
        b"a detached signature",
    )
    .await?;
    let sbom = attach(
        src,
        &image,
        media_types::CYCLONEDX_JSON,
        br#"{"bomFormat":"CycloneDX","specVersion":"1.6"}"#,
    )
    .await?;
    attach(
        src,
        &sbom,
        media_types::NOTARY_SIGNATURE,
        b"the SBOM's signature",
    )
    .await?;

    let copied = extended_copy(src, "v1", dst, "v1", &ExtendedCopyOptions::default()).await?;
    println!(
        "copied {}: {} nodes, {} bytes, {} already there",
        copied.root.digest, copied.stats.copied, copied.stats.bytes, copied.stats.skipped
    );
    let referrers = dst.referrers(&image, None).await?;
    for r in &referrers {
        println!(
            "  referrer {} {}",
            r.artifact_type.as_ref().map_or("?", |t| t.as_str()),
            r.digest
        );
    }
    assert_eq!(
        dst.referrers(&sbom, None).await?.len(),
        1,
        "the SBOM's signature came too"
    );
    Ok(referrers)
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let plain_http = args.iter().any(|a| a == "--plain-http");
    match args.iter().find(|a| !a.starts_with('-')) {
        Some(repo) => {
            let src = oci_examples::registry_target(repo, plain_http)?;
            let dst = oci_examples::registry_target(&format!("{repo}-copy"), plain_http)?;
            run(&*src, &*dst).await?;
        }
        None => {
            let dir = tempfile::tempdir()?;
            let opts = oci_layout::LayoutOptions::default();
            let src = oci_layout::OciLayout::create(dir.path().join("src"), opts).await?;
            let dst = oci_layout::OciLayout::create(dir.path().join("dst"), opts).await?;
            run(&src, &dst).await?;
        }
    }
    Ok(())
}
