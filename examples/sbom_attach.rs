//! Push an SPDX SBOM and attach it to an image, then find it again through the referrers API
//! (or the tag fallback on registries without it).
//!
//! ```sh
//! cargo run -p oci-examples --example sbom_attach [-- --oci-layout DIR | --plain-http host/repo]
//! ```

use bytes::Bytes;
use oci_artifact::pack::{PackOptions, pack_manifest};
use oci_spec_types::{Descriptor, MediaType, annotations, media_types};
use oci_target::{ReadOnlyTargetExt, Result, Target, TargetExt};

/// Pushes an image, attaches an SBOM to it, and returns (image, SBOM manifest).
pub async fn run(target: &dyn Target) -> Result<(Descriptor, Descriptor)> {
    let image = oci_examples::push_demo_image(target, "sbom-example", "app-v1").await?;

    // The SBOM is one layer: the document itself, with its own media type and a file name.
    let sbom = Bytes::from_static(
        br#"{"spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0","SPDXID":"SPDXRef-DOCUMENT","name":"app-v1","packages":[{"name":"motd","SPDXID":"SPDXRef-motd","versionInfo":"1.0"}]}"#,
    );
    let spdx = MediaType::parse(media_types::SPDX_JSON)?;
    let layer = target
        .push_content(spdx.clone(), sbom)
        .await?
        .with_annotation(annotations::TITLE, "sbom.spdx.json");

    // `subject` makes the SBOM a referrer of the image; it needs no tag of its own.
    let subject = Descriptor::new(image.media_type.clone(), image.digest.clone(), image.size);
    let options = PackOptions::new(spdx.clone()).with_subject(subject);
    let attached = pack_manifest(target, vec![layer], &options).await?;

    let referrers = target.referrers(&image, Some(&spdx)).await?;
    assert!(referrers.iter().any(|r| r.digest == attached.digest));
    for r in &referrers {
        println!(
            "{} has a {} referrer: {}",
            image.digest,
            r.artifact_type.as_ref().map_or("?", |t| t.as_str()),
            r.digest
        );
    }
    // Reading it back is a normal fetch, verified.
    let manifest = target.fetch_manifest(&attached).await?;
    println!("SBOM manifest: {} bytes", manifest.len());
    Ok((image, attached))
}

#[tokio::main]
async fn main() -> Result<()> {
    run(&*oci_examples::target_from_args().await?.target).await?;
    Ok(())
}
