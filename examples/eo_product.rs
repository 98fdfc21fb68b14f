//! Push a multi-file Earth-observation product: a Cloud-Optimised GeoTIFF and its STAC item,
//! each a layer with its own media type and file name, then pull it back.
//!
//! ```sh
//! cargo run -p oci-examples --example eo_product [-- --oci-layout DIR | --plain-http host/repo]
//! ```

use std::path::PathBuf;

use oci_artifact::files::{FileRef, PullFilesOptions, PushFilesOptions, pull_files, push_files};
use oci_artifact::pack::{PackOptions, pack_manifest};
use oci_spec_types::{Descriptor, MediaType};
use oci_target::{Result, Target};

/// Media type of a Cloud-Optimised GeoTIFF, as STAC recommends.
pub const COG: &str = "image/tiff; application=geotiff; profile=cloud-optimized";
/// Media type of a STAC item.
pub const STAC_ITEM: &str = "application/geo+json";

/// Pushes the product, tags it, pulls it into a fresh directory; returns the manifest and the
/// pulled paths.
pub async fn run(target: &dyn Target) -> Result<(Descriptor, Vec<PathBuf>)> {
    let work = tempfile::tempdir()?;
    let product = work.path().join("S2B_T32TLR_20250601");
    std::fs::create_dir_all(&product)?;
    // A little-endian TIFF header followed by made-up pixels: enough to show the shape.
    let mut tiff = b"II*\x00\x08\x00\x00\x00".to_vec();
    tiff.extend((0..64 * 1024u32).map(|i| (i % 256) as u8));
    std::fs::write(product.join("B04.tif"), &tiff)?;
    std::fs::write(
        product.join("item.json"),
        r#"{"type":"Feature","stac_version":"1.0.0","id":"S2B_T32TLR_20250601","properties":{"datetime":"2025-06-01T10:30:00Z","eo:cloud_cover":3.2},"geometry":null,"links":[],"assets":{"B04":{"href":"./B04.tif","type":"image/tiff; application=geotiff; profile=cloud-optimized","roles":["data"]}}}"#,
    )?;

    let files = [
        FileRef::new(product.join("B04.tif"))
            .with_title("S2B_T32TLR_20250601/B04.tif")
            .with_media_type(MediaType::parse(COG)?),
        FileRef::new(product.join("item.json"))
            .with_title("S2B_T32TLR_20250601/item.json")
            .with_media_type(MediaType::parse(STAC_ITEM)?),
    ];
    let layers = push_files(target, &files, &PushFilesOptions::default()).await?;
    let options = PackOptions::new(MediaType::parse(
        "application/vnd.example.eo.product.v1+json",
    )?)
    .with_annotation("org.example.stac.id", "S2B_T32TLR_20250601")
    .with_annotation("org.example.stac.datetime", "2025-06-01T10:30:00Z");
    let manifest = pack_manifest(target, layers, &options).await?;
    target.tag(&manifest, "S2B_T32TLR_20250601").await?;

    let out = work.path().join("pulled");
    let report = pull_files(
        target,
        "S2B_T32TLR_20250601",
        &out,
        &PullFilesOptions::default(),
    )
    .await?;
    let tif = std::fs::read(out.join("S2B_T32TLR_20250601/B04.tif"))?;
    assert_eq!(tif, tiff, "the GeoTIFF comes back byte for byte");
    let paths: Vec<PathBuf> = report.files.into_iter().map(|f| f.path).collect();
    for p in &paths {
        println!("pulled {}", p.display());
    }
    Ok((manifest, paths))
}

#[tokio::main]
async fn main() -> Result<()> {
    let t = oci_examples::target_from_args().await?;
    run(&*t.target).await.map(drop)
}
